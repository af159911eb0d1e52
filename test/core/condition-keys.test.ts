// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} here is IAM policy-variable syntax.
/**
 * Every condition key AWS puts on a KMS call Kinesis makes, tested in every layer that can test it: a
 * policy with a positive, a negated, an ...IfExists and (multivalued keys) a set operator, each row
 * citing the AWS page that fixes its answer. The request is the one diagnose and `keymend evaluate`
 * build (functions/core/context-keys.ts `kinesisCall`).
 */
import type { KeyState, OrganizationState, PrincipalState } from '../../functions/core/account';
import { buildPolicySet, requestPrincipal } from '../../functions/core/authorization';
import { kinesisCall, kmsKeyFacts } from '../../functions/core/context-keys';
import { type Decision, evaluate, type PolicyLayer } from '../../functions/policy';

const KMS_KEYS = 'https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html';
const GLOBAL_KEYS = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html';
const OPERATORS =
  'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html';
const MULTIVALUED =
  'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html';
const SYMMETRIC = 'https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKey.html';

const ACCOUNT = '111122223333';
const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const STREAM = 'arn:aws:kinesis:us-east-1:111122223333:stream/orders';
const ROLE = 'arn:aws:iam::111122223333:role/service-role/orders-consumer';
const SESSION = 'arn:aws:sts::111122223333:assumed-role/orders-consumer/i-0abc123';
const ORG = 'o-a1b2c3d4e5';
const ORG_PATH = 'o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/';

const doc = (...Statement: unknown[]) => ({ Version: '2012-10-17', Statement });
const ALLOW_DECRYPT = { Sid: 'AllowDecrypt', Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' };
const DELEGATE = {
  Sid: 'Enable IAM User Permissions',
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
  Action: 'kms:*',
  Resource: '*',
};
const FULL_ACCESS = { Effect: 'Allow', Action: '*', Resource: '*' };
const RCP_FULL_ACCESS = { Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' };

/** An account where the consumer may decrypt with the key: every layer allows, none denies. */
function baseState(): { principal: PrincipalState; key: KeyState; organization: OrganizationState } {
  return {
    principal: {
      arn: ROLE,
      inlinePolicies: { 'kms-decrypt': doc(ALLOW_DECRYPT) },
      managedPolicies: {},
      permissionsBoundary: doc(FULL_ACCESS),
      tags: { team: 'orders' },
    },
    key: {
      arn: KEY,
      keyManager: 'CUSTOMER',
      keyState: 'Enabled',
      aliases: ['alias/orders'],
      policy: doc(DELEGATE),
      tags: { project: 'orders', 'dp:exclude:identity': 'false' },
      keySpec: 'SYMMETRIC_DEFAULT',
      keyUsage: 'ENCRYPT_DECRYPT',
      origin: 'AWS_KMS',
      multiRegion: true,
      multiRegionKeyType: 'PRIMARY',
    },
    organization: {
      id: ORG,
      path: ORG_PATH,
      serviceControlPolicies: [[doc(FULL_ACCESS)], [doc(FULL_ACCESS)]],
      resourceControlPolicies: [[doc(RCP_FULL_ACCESS)]],
    },
  };
}

type Layer = Extract<
  PolicyLayer,
  'identity-based' | 'resource-based' | 'permissions-boundary' | 'service-control' | 'resource-control'
>;
const LAYERS: readonly Layer[] = [
  'identity-based',
  'resource-based',
  'permissions-boundary',
  'service-control',
  'resource-control',
];

/** The state with `statement` added to `layer` (a Principal added where the layer needs one). */
function withStatement(layer: Layer, statement: Record<string, unknown>) {
  const state = baseState();
  const withPrincipal = { ...statement, Principal: '*' };
  switch (layer) {
    case 'identity-based':
      state.principal.inlinePolicies.extra = doc(statement);
      break;
    case 'permissions-boundary':
      state.principal.permissionsBoundary = doc(FULL_ACCESS, statement);
      break;
    case 'resource-based':
      state.key.policy = doc(DELEGATE, withPrincipal);
      break;
    case 'service-control':
      state.organization.serviceControlPolicies = [[doc(FULL_ACCESS)], [doc(FULL_ACCESS), doc(statement)]];
      break;
    case 'resource-control':
      state.organization.resourceControlPolicies = [[doc(RCP_FULL_ACCESS), doc(withPrincipal)]];
      break;
  }
  return state;
}

/**
 * The state with `layer`'s allow replaced by `statement` (an Allow): the request is allowed only if it
 * holds. RCPs allow through RCPFullAWSAccess, which cannot be detached: no such row for them.
 */
function withOnlyAllow(layer: Exclude<Layer, 'resource-control'>, statement: Record<string, unknown>) {
  const state = baseState();
  switch (layer) {
    case 'identity-based':
      state.principal.inlinePolicies = { only: doc(statement) };
      break;
    case 'permissions-boundary':
      state.principal.permissionsBoundary = doc(statement);
      break;
    case 'resource-based':
      // The key policy then names the role itself, so identity policies need not count.
      state.key.policy = doc({ ...statement, Principal: { AWS: ROLE } });
      break;
    case 'service-control':
      state.organization.serviceControlPolicies = [[doc(FULL_ACCESS)], [doc(statement)]];
      break;
  }
  return state;
}

type State = ReturnType<typeof baseState>;

/** The decision AWS would reach on the consumer's kms:Decrypt through Kinesis, as diagnose builds it. */
function decisionOf(
  state: State,
  options: { forwardAccessSession?: boolean; keyArn?: string } = {},
): Decision {
  const keyArn = options.keyArn ?? state.key.arn;
  const key = { ...state.key, arn: keyArn };
  const principal = {
    ...requestPrincipal({ arn: ROLE, sessionArn: SESSION, state: state.principal }),
    userId: 'AROAEXAMPLE:i-0abc123',
  };
  const { request } = kinesisCall({
    principal,
    action: 'kms:Decrypt',
    keyArn,
    streamArn: STREAM,
    region: 'us-east-1',
    viaKinesis: true,
    forwardAccessSession: options.forwardAccessSession ?? false,
    key,
    organization: state.organization,
    organizationAccountId: ACCOUNT,
  });
  const policies = buildPolicySet({
    principal: state.principal,
    key,
    organization: state.organization,
    resourceAccountId: keyArn.split(':')[4] as string,
    organizationAccountId: ACCOUNT,
  });
  return evaluate(request, policies).decision;
}

interface KeyCase {
  key: string;
  cite: string;
  /** The value AWS sets for the base state, and one it does not. */
  value: string;
  other: string;
  /** The operator family: String for most, Bool for kms:MultiRegion. */
  family: 'String' | 'Bool';
  multivalued?: boolean;
}

const KEYS: KeyCase[] = [
  {
    key: 'aws:ResourceAccount',
    cite: `${GLOBAL_KEYS}#condition-keys-resourceaccount`,
    value: ACCOUNT,
    other: '444455556666',
    family: 'String',
  },
  {
    key: 'aws:ResourceTag/project',
    cite: `${GLOBAL_KEYS}#condition-keys-resourcetag`,
    value: 'orders',
    other: 'billing',
    family: 'String',
  },
  {
    key: 'kms:ResourceAliases',
    cite: `${KMS_KEYS}#conditions-kms-resource-aliases`,
    value: 'alias/orders',
    other: 'alias/billing',
    family: 'String',
    multivalued: true,
  },
  {
    key: 'kms:KeySpec',
    cite: `${KMS_KEYS}#conditions-kms-key-spec`,
    value: 'SYMMETRIC_DEFAULT',
    other: 'RSA_2048',
    family: 'String',
  },
  {
    key: 'kms:KeyUsage',
    cite: `${KMS_KEYS}#conditions-kms-key-usage`,
    value: 'ENCRYPT_DECRYPT',
    other: 'SIGN_VERIFY',
    family: 'String',
  },
  {
    key: 'kms:KeyOrigin',
    cite: `${KMS_KEYS}#conditions-kms-key-origin`,
    value: 'AWS_KMS',
    other: 'EXTERNAL',
    family: 'String',
  },
  {
    key: 'kms:MultiRegion',
    cite: `${KMS_KEYS}#conditions-kms-multiregion`,
    value: 'true',
    other: 'false',
    family: 'Bool',
  },
  {
    key: 'kms:MultiRegionKeyType',
    cite: `${KMS_KEYS}#conditions-kms-multiregion-key-type`,
    value: 'PRIMARY',
    other: 'REPLICA',
    family: 'String',
  },
  {
    key: 'kms:EncryptionAlgorithm',
    cite: `${KMS_KEYS}#conditions-kms-encryption-algorithm`,
    value: 'SYMMETRIC_DEFAULT',
    other: 'RSAES_OAEP_SHA_256',
    family: 'String',
  },
  {
    key: 'aws:PrincipalOrgID',
    cite: `${GLOBAL_KEYS}#condition-keys-principalorgid`,
    value: ORG,
    other: 'o-0000000000',
    family: 'String',
  },
  {
    key: 'aws:PrincipalOrgPaths',
    cite: `${GLOBAL_KEYS}#condition-keys-principalorgpaths`,
    value: ORG_PATH,
    other: 'o-a1b2c3d4e5/r-ab12/ou-ab12-22222222/',
    family: 'String',
    multivalued: true,
  },
  {
    key: 'aws:ResourceOrgID',
    cite: `${GLOBAL_KEYS}#condition-keys-resourceorgid`,
    value: ORG,
    other: 'o-0000000000',
    family: 'String',
  },
  {
    key: 'aws:ResourceOrgPaths',
    cite: `${GLOBAL_KEYS}#condition-keys-resourceorgpaths`,
    value: ORG_PATH,
    other: 'o-a1b2c3d4e5/r-ab12/ou-ab12-22222222/',
    family: 'String',
    multivalued: true,
  },
];

type Row = [
  name: string,
  layer: Layer,
  condition: Record<string, unknown>,
  expected: Decision,
  mode: 'deny' | 'only-allow',
];

/** For each key and layer: Deny rows (positive, negated, IfExists, set operators) and, where a layer allows, Allow-only rows. */
function rows(): Row[] {
  const out: Row[] = [];
  for (const c of KEYS) {
    const eq = c.family === 'Bool' ? 'Bool' : 'StringEquals';
    // Bool has no negated form: a Bool test of the other value is its negation.
    const neq = c.family === 'Bool' ? 'Bool' : 'StringNotEquals';
    const negatedValue = c.family === 'Bool' ? c.other : c.value;
    const cond = (op: string, value: string) => ({ [op]: { [c.key]: value } });
    const single = c.multivalued
      ? [
          [
            `ForAnyValue:StringEquals ${c.key} = AWS's value matches (${c.cite}, ${MULTIVALUED})`,
            cond('ForAnyValue:StringEquals', c.value),
            'explicit-deny',
          ],
          [
            `ForAnyValue:StringEquals ${c.key} = another value does not (${c.cite}, ${MULTIVALUED})`,
            cond('ForAnyValue:StringEquals', c.other),
            'allowed',
          ],
          [
            `ForAllValues:StringNotEquals ${c.key} = AWS's value does not match (${c.cite}, ${MULTIVALUED})`,
            cond('ForAllValues:StringNotEquals', c.value),
            'allowed',
          ],
          [
            `ForAnyValue:StringNotEqualsIfExists ${c.key} = another value matches (${c.cite}, ${OPERATORS})`,
            cond('ForAnyValue:StringNotEqualsIfExists', c.other),
            'explicit-deny',
          ],
          [
            `ForAnyValue:StringLike ${c.key} with a wildcard matches (${c.cite}, ${OPERATORS})`,
            cond('ForAnyValue:StringLike', `${c.value.slice(0, 6)}*`),
            'explicit-deny',
          ],
        ]
      : [
          [`${eq} ${c.key} = AWS's value matches (${c.cite})`, cond(eq, c.value), 'explicit-deny'],
          [`${eq} ${c.key} = another value does not (${c.cite})`, cond(eq, c.other), 'allowed'],
          [
            `${neq} ${c.key} = AWS's value does not match: the data-perimeter form (${c.cite}, ${OPERATORS})`,
            cond(neq, negatedValue),
            'allowed',
          ],
          [
            `${eq}IfExists ${c.key} = another value does not match a present key (${c.cite}, ${OPERATORS})`,
            cond(`${eq}IfExists`, c.other),
            'allowed',
          ],
          [
            `Null ${c.key} = true does not match: the key is present (${c.cite}, ${OPERATORS})`,
            cond('Null', 'true'),
            'allowed',
          ],
        ];
    for (const layer of LAYERS) {
      for (const [name, condition, expected] of single) {
        out.push([
          `${layer}: Deny if ${name}`,
          layer,
          condition as Record<string, unknown>,
          expected as Decision,
          'deny',
        ]);
      }
      if (layer === 'resource-control') continue;
      const allowOp = c.multivalued ? 'ForAnyValue:StringEquals' : `${eq}IfExists`;
      out.push([
        `${layer}: Allow only if ${allowOp} ${c.key} = AWS's value (${c.cite})`,
        layer,
        cond(allowOp, c.value),
        'allowed',
        'only-allow',
      ]);
      out.push([
        `${layer}: Allow only if ${allowOp} ${c.key} = another value (${c.cite})`,
        layer,
        cond(allowOp, c.other),
        'implicit-deny',
        'only-allow',
      ]);
    }
  }
  return out;
}

describe('every key AWS puts on a Kinesis KMS call, in every layer', () => {
  it.each(rows())('%s', (_name, layer, condition, expected, mode) => {
    const state =
      mode === 'deny'
        ? withStatement(layer, { Effect: 'Deny', Action: 'kms:Decrypt', Resource: '*', Condition: condition })
        : withOnlyAllow(layer as Exclude<Layer, 'resource-control'>, {
            Effect: 'Allow',
            Action: 'kms:Decrypt',
            Resource: '*',
            Condition: condition,
          });
    expect(decisionOf(state)).toBe(expected);
  });

  it(`the base account allows the call (${GLOBAL_KEYS})`, () => {
    expect(decisionOf(baseState())).toBe('allowed');
  });
});

describe('keys derived where the state is silent', () => {
  it(`a key without keySpec/keyUsage is read as the symmetric encryption key Kinesis requires (${SYMMETRIC})`, () => {
    const state = withStatement('service-control', {
      Effect: 'Deny',
      Action: 'kms:*',
      Resource: '*',
      Condition: {
        StringNotEquals: { 'kms:KeySpec': 'SYMMETRIC_DEFAULT', 'kms:KeyUsage': 'ENCRYPT_DECRYPT' },
      },
    });
    const { keySpec: _s, keyUsage: _u, ...rest } = state.key;
    expect(decisionOf({ ...state, key: rest })).toBe('allowed');
  });

  it(`kms:MultiRegionKeyType is absent for a single-Region key: a positive operator fails, a negated IfExists one holds (${KMS_KEYS}#conditions-kms-multiregion-key-type, ${OPERATORS})`, () => {
    const denyReplica = withStatement('resource-based', {
      Effect: 'Deny',
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: { StringEquals: { 'kms:MultiRegionKeyType': 'REPLICA' } },
    });
    const denyNonPrimary = withStatement('resource-based', {
      Effect: 'Deny',
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: { StringNotEqualsIfExists: { 'kms:MultiRegionKeyType': 'PRIMARY' } },
    });
    for (const state of [denyReplica, denyNonPrimary]) {
      state.key.multiRegion = false;
      delete state.key.multiRegionKeyType;
    }
    expect(decisionOf(denyReplica)).toBe('allowed');
    expect(decisionOf(denyNonPrimary)).toBe('explicit-deny');
    denyReplica.key.multiRegion = true;
    denyReplica.key.multiRegionKeyType = 'REPLICA';
    expect(decisionOf(denyReplica)).toBe('explicit-deny');
  });

  it(`an account in no organization carries no aws:PrincipalOrgID: the identity-perimeter Deny applies, IfExists or not (${GLOBAL_KEYS}#condition-keys-principalorgid, ${OPERATORS})`, () => {
    const state = withStatement('resource-based', {
      Effect: 'Deny',
      Action: 'kms:*',
      Resource: '*',
      Condition: { StringNotEqualsIfExists: { 'aws:PrincipalOrgID': ORG } },
    });
    expect(decisionOf(state)).toBe('allowed');
    expect(decisionOf({ ...state, organization: { ...state.organization, id: null } })).toBe('explicit-deny');
    const strict = withStatement('resource-based', {
      Effect: 'Deny',
      Action: 'kms:*',
      Resource: '*',
      Condition: { StringNotEquals: { 'aws:PrincipalOrgID': ORG } },
    });
    expect(decisionOf({ ...strict, organization: { ...strict.organization, id: null } })).toBe(
      'explicit-deny',
    );
  });
});

// AWS's data perimeter examples (github.com/aws-samples/data-perimeter-policy-examples), reduced to
// the statements that bear on a KMS call, with this account's organization filled in.
const PERIMETER =
  'https://docs.aws.amazon.com/whitepapers/latest/building-a-data-perimeter-on-aws/perimeter-implementation.html';

describe("AWS's data perimeter examples give the verdict AWS would", () => {
  it(`resource perimeter SCP (aws:ResourceOrgID, StringNotEqualsIfExists): our key is inside (${PERIMETER})`, () => {
    const state = withStatement('service-control', {
      Sid: 'EnforceResourcePerimeterAWSResources',
      Effect: 'Deny',
      Action: '*',
      Resource: '*',
      Condition: {
        StringNotEqualsIfExists: { 'aws:ResourceOrgID': ORG, 'aws:PrincipalTag/dp:exclude:resource': 'true' },
      },
    });
    expect(decisionOf(state)).toBe('allowed');
  });

  it(`"only our own accounts' keys" SCP (aws:ResourceAccount vs \${aws:PrincipalAccount}): own key allowed, another account's denied (${GLOBAL_KEYS}#condition-keys-resourceaccount)`, () => {
    const state = withStatement('service-control', {
      Effect: 'Deny',
      Action: 'kms:*',
      Resource: '*',
      Condition: { StringNotEquals: { 'aws:ResourceAccount': '${aws:PrincipalAccount}' } },
    });
    expect(decisionOf(state)).toBe('allowed');
    expect(decisionOf(state, { keyArn: KEY.replace(ACCOUNT, '444455556666') })).toBe('explicit-deny');
  });

  it(`identity perimeter RCP (aws:PrincipalOrgID, aws:ResourceTag, aws:PrincipalIsAWSService): our role is inside (${PERIMETER})`, () => {
    const state = withStatement('resource-control', {
      Sid: 'EnforceOrgIdentities',
      Effect: 'Deny',
      Action: ['s3:*', 'sqs:*', 'kms:*', 'secretsmanager:*'],
      Resource: '*',
      Condition: {
        StringNotEqualsIfExists: {
          'aws:PrincipalOrgID': ORG,
          'aws:PrincipalAccount': ['444455556666'],
          'aws:ResourceTag/dp:exclude:identity': 'true',
        },
        BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' },
      },
    });
    expect(decisionOf(state)).toBe('allowed');
    // A caller of another organization is outside it.
    expect(decisionOf({ ...state, organization: { ...state.organization, id: 'o-0000000000' } })).toBe(
      'explicit-deny',
    );
  });

  it(`the KMS guide's symmetric-only policy (StringNotEquals kms:EncryptionAlgorithm SYMMETRIC_DEFAULT) allows Kinesis (${KMS_KEYS}#conditions-kms-encryption-algorithm)`, () => {
    const state = withStatement('identity-based', {
      Effect: 'Deny',
      Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'],
      Resource: '*',
      Condition: { StringNotEquals: { 'kms:EncryptionAlgorithm': 'SYMMETRIC_DEFAULT' } },
    });
    expect(decisionOf(state)).toBe('allowed');
  });

  it(`ABAC by alias: a Deny on kms:ResourceAliases matches the key's alias (${KMS_KEYS}#conditions-kms-resource-aliases)`, () => {
    const state = withStatement('service-control', {
      Effect: 'Deny',
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: { 'ForAnyValue:StringLike': { 'kms:ResourceAliases': 'alias/ord*' } },
    });
    expect(decisionOf(state)).toBe('explicit-deny');
  });

  it(`network perimeter RCP: exempt in a forward access session (aws:ViaAWSService), denied outside one as keymend reads an absent aws:SourceIp (${PERIMETER}, ${GLOBAL_KEYS}#condition-keys-viaawsservice)`, () => {
    const state = withStatement('resource-control', NETWORK_PERIMETER_RCP);
    state.principal.tags = { ...state.principal.tags, 'dp:include:network': 'true' };
    expect(decisionOf(state, { forwardAccessSession: true })).toBe('allowed');
    expect(decisionOf(state, { forwardAccessSession: false })).toBe('explicit-deny');
  });
});

const NETWORK_PERIMETER_RCP = {
  Sid: 'EnforceNetworkPerimeter',
  Effect: 'Deny',
  Action: ['s3:*', 'sqs:*', 'kms:*', 'secretsmanager:*'],
  Resource: '*',
  Condition: {
    NotIpAddressIfExists: { 'aws:SourceIp': '192.0.2.0/24' },
    StringNotEqualsIfExists: { 'aws:SourceVpc': 'vpc-0123456789abcdef0' },
    BoolIfExists: { 'aws:PrincipalIsAWSService': 'false', 'aws:ViaAWSService': 'false' },
    StringEquals: { 'aws:PrincipalTag/dp:include:network': 'true' },
  },
};

describe('organization keys of other accounts', () => {
  const OTHER_KEY = KEY.replace(ACCOUNT, '444455556666');
  const facts = (organization: OrganizationState) =>
    kmsKeyFacts({
      principal: requestPrincipal({ arn: ROLE, sessionArn: SESSION }),
      action: 'kms:Decrypt',
      keyArn: OTHER_KEY,
      key: { ...baseState().key, arn: OTHER_KEY },
      organization,
      organizationAccountId: ACCOUNT,
    });

  it(`a key of an account the state does not describe: aws:ResourceOrgID and aws:ResourceOrgPaths are unknown (${GLOBAL_KEYS}#condition-keys-resourceorgid)`, () => {
    const { context, unknown } = facts(baseState().organization);
    expect(context['aws:ResourceOrgID']).toBeUndefined();
    expect(unknown).toEqual(expect.arrayContaining(['aws:resourceorgid', 'aws:resourceorgpaths']));
    expect(context['aws:PrincipalOrgID']).toBe(ORG);
  });

  it(`organization.accounts records it: known, or known absent for an account in no organization (${GLOBAL_KEYS}#condition-keys-resourceorgpaths)`, () => {
    const same = facts({
      ...baseState().organization,
      accounts: { '444455556666': { id: ORG, path: `${ORG}/r-ab12/` } },
    });
    expect(same.context['aws:ResourceOrgID']).toBe(ORG);
    expect(same.context['aws:ResourceOrgPaths']).toEqual([`${ORG}/r-ab12/`]);
    expect(same.unknown).not.toContain('aws:resourceorgid');
    const none = facts({ ...baseState().organization, accounts: { '444455556666': { id: null } } });
    expect(none.context['aws:ResourceOrgID']).toBeUndefined();
    expect(none.unknown).not.toContain('aws:resourceorgid');
  });
});
