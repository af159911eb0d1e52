/**
 * keymend's own powers, judged by keymend's own evaluator: the stack is synthesized (no bundling, no
 * built-in validation, as the infra tests do), each function role's policy and the roles' permissions
 * boundary are taken from the template with their intrinsics resolved to concrete ARNs, compiled with
 * `compilePolicy` and asked about every write keymend's adapters can make, and about each abuse a
 * compromised function could try (issue 19). A KMS key policy that delegates to the account (the
 * default one) stands behind every KMS question, so the role's own policies are what decide.
 */
import type { CfnElement } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import {
  type AuthorizationRequest,
  type CompiledPolicy,
  compilePolicy,
  createGrantRequest,
  type Decision,
  evaluate,
  type PolicySet,
  principalContext,
  type RequestPrincipal,
} from '../../functions/policy';
import { WRITE_ACTIONS } from '../../infra/iam';
import type { KeymendRemediationProps } from '../../infra/keymend-remediation';
import type { KeymendStack } from '../../infra/keymend-stack';
import { roleStatements, synth } from '../infra/synth';
import { ACCOUNT, DELEGATING_KEY_POLICY, REGION, resolve } from './template-policies';

const OTHER_ACCOUNT = '444455556666';

const KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const STREAM = `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/orders`;
const CONSUMER = `arn:aws:iam::${ACCOUNT}:role/service-role/orders-consumer`;
const APP_ROLE = `arn:aws:iam::${ACCOUNT}:role/app-orders`;
const OUTSIDE_ROLE = `arn:aws:iam::${ACCOUNT}:role/admin`;
const CI_USER = `arn:aws:iam::${ACCOUNT}:user/ci`;
const ALICE = `arn:aws:iam::${ACCOUNT}:user/alice`;
const SCP = 'arn:aws:organizations::999988887777:policy/o-a1b2c3d4e5/service_control_policy/p-kmsguard01';

/** Every operation CreateGrant accepts (the KMS API reference's GrantOperation values). */
const GRANT_OPERATIONS = [
  'Decrypt',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'ReEncryptFrom',
  'ReEncryptTo',
  'Sign',
  'Verify',
  'GetPublicKey',
  'CreateGrant',
  'RetireGrant',
  'DescribeKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'GenerateMac',
  'VerifyMac',
  'DeriveSharedSecret',
  'Encapsulate',
  'Decapsulate',
];
/** The operations Kinesis asks KMS for: the only ones a keymend grant may carry. */
const KINESIS_OPERATIONS = ['Decrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext'];

const EVERYTHING: KeymendRemediationProps = {
  mode: 'auto',
  autoApplyPrincipals: ['arn:aws:iam::111122223333:role/app-*'],
  enableInlinePolicy: true,
  inlinePolicyPrincipals: ['arn:aws:iam::111122223333:role/app-*', 'arn:aws:iam::111122223333:user/ci'],
  enableKeyPolicyChanges: true,
  chatTopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:keymend-chat`,
  signIn: {
    issuer: 'https://idp.example.com',
    clientId: 'keymend',
    clientSecretArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:keymend-oidc-AbCdEf`,
    approverEmails: ['alice@example.com'],
  },
};

// ---------------------------------------------------------------------------------------------
// From the template to compiled policies

interface Role {
  principal: RequestPrincipal;
  policies: CompiledPolicy[];
  /** The permissions boundary the template attaches to the role. */
  boundary: CompiledPolicy;
  actions: string[];
}

const deployments = new Map<string, { stack: KeymendStack; template: Template }>();
function deployment(name: string, props: KeymendRemediationProps) {
  let found = deployments.get(name);
  if (!found) {
    found = synth(props);
    deployments.set(name, found);
  }
  return found;
}

/** The function's role as keymend's evaluator sees it: its one policy, resolved and compiled. */
function functionRole(
  props: KeymendRemediationProps,
  name: string,
  fn: 'remediateFunction' | 'approvalFunction',
): Role {
  const { stack, template } = deployment(name, props);
  const statements = resolve(template, roleStatements(stack, template, fn)) as {
    Effect: string;
    Action: string | string[];
  }[];
  const document = { Version: '2012-10-17', Statement: statements };
  const roleArn = roleArnOf(props, name, fn);
  const roleName = roleArn.split('/').pop() as string;
  const role = template.toJSON().Resources[roleLogicalId(props, name, fn)] as {
    Properties: { Path?: string; PermissionsBoundary?: unknown };
  };
  expect(role.Properties.Path).toBe('/keymend/');
  const boundaryId = (role.Properties.PermissionsBoundary as { Ref: string }).Ref;
  const boundaryDocument = resolve(
    template,
    (template.toJSON().Resources[boundaryId] as { Properties: { PolicyDocument: unknown } }).Properties
      .PolicyDocument,
  );
  return {
    principal: {
      arn: roleArn,
      sessionArn: `arn:aws:sts::${ACCOUNT}:assumed-role/${roleName}/${roleName}-fn`,
      accountId: ACCOUNT,
      type: 'AssumedRole',
      userId: `AROAEXAMPLE${roleName.length}:${roleName}-fn`,
    },
    policies: [compilePolicy(document, `${roleName}-policy`, 'identity-based')],
    boundary: compilePolicy(boundaryDocument, `${roleName}-boundary`, 'permissions-boundary'),
    actions: statements
      .filter((s) => s.Effect === 'Allow')
      .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])),
  };
}

function roleLogicalId(
  props: KeymendRemediationProps,
  name: string,
  fn: 'remediateFunction' | 'approvalFunction',
): string {
  const { stack } = deployment(name, props);
  return stack.getLogicalId(stack.remediation[fn].role?.node.defaultChild as CfnElement);
}

/** The role's ARN as `resolve` gives it. */
function roleArnOf(
  props: KeymendRemediationProps,
  name: string,
  fn: 'remediateFunction' | 'approvalFunction',
): string {
  return `arn:aws:iam::${ACCOUNT}:role/keymend/${roleLogicalId(props, name, fn)}`;
}

/** The role's decision: its policy, under its permissions boundary (and `extra` identity policies). */
function decide(role: Role, request: AuthorizationRequest, extra: CompiledPolicy[] = []): Decision {
  const isKms = request.action.toLowerCase().startsWith('kms:');
  const policies: PolicySet<CompiledPolicy> = {
    identityPolicies: [...role.policies, ...extra],
    permissionsBoundary: role.boundary,
    resourceAccountId: isKms ? (request.resource.split(':')[4] ?? ACCOUNT) : ACCOUNT,
    ...(isKms ? { resourcePolicy: DELEGATING_KEY_POLICY } : {}),
  };
  return evaluate(request, policies).decision;
}

/** The approval role of the everything-enabled deployment: the retiring principal of keymend's grants. */
const approvalRoleArn = () => roleArnOf(EVERYTHING, 'everything', 'approvalFunction');

/**
 * CreateGrant as keymend's writer makes it (functions/adapters/account-writer.ts): the consumer, one
 * operation, the stream's context, the approval role retiring. kms:GrantIsForAWSResource false.
 */
function grant(
  role: Role,
  overrides: Partial<Parameters<typeof createGrantRequest>[0]> = {},
): AuthorizationRequest {
  return createGrantRequest({
    principal: role.principal,
    keyArn: KEY,
    granteePrincipal: CONSUMER,
    operations: ['Decrypt'],
    constraints: { encryptionContextSubset: { 'aws:kinesis:arn': STREAM } },
    retiringPrincipal: approvalRoleArn(),
    ...overrides,
  });
}

function call(role: Role, action: string, resource: string, extra: AuthorizationRequest['context'] = {}) {
  const context = { ...principalContext(role.principal), ...extra };
  if (action.startsWith('kms:')) context['kms:CallerAccount'] = ACCOUNT;
  return { principal: role.principal, action, resource, context };
}

/** Each write action keymend's adapters make, on a resource it would make it on. */
const WRITES: [string, string, AuthorizationRequest['context']?][] = [
  ['kms:CreateGrant', KEY],
  ['kms:RetireGrant', KEY],
  ['kms:PutKeyPolicy', KEY],
  ['iam:PutRolePolicy', APP_ROLE],
  ['iam:DeleteRolePolicy', APP_ROLE],
  ['iam:PutUserPolicy', CI_USER],
  ['iam:DeleteUserPolicy', CI_USER],
];

// ---------------------------------------------------------------------------------------------

describe('what the template holds', () => {
  it('each function role has exactly one policy (its statements) and no managed policy', () => {
    const { template } = deployment('everything', EVERYTHING);
    const roles = Object.values(template.findResources('AWS::IAM::Role')).filter((r) =>
      JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('lambda.amazonaws.com'),
    );
    expect(roles.length).toBeGreaterThanOrEqual(2);
    for (const role of roles) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    // roleStatements throws unless exactly one AWS::IAM::Policy names the role.
    expect(functionRole(EVERYTHING, 'everything', 'remediateFunction').actions.length).toBeGreaterThan(0);
    expect(functionRole(EVERYTHING, 'everything', 'approvalFunction').actions.length).toBeGreaterThan(0);
  });

  it('no kms:RevokeGrant anywhere in the template, every option on', () => {
    const { template } = deployment('everything', EVERYTHING);
    expect(JSON.stringify(template.toJSON())).not.toMatch(/RevokeGrant/);
  });

  it('the list of writes here is the list infra/iam.ts keeps of what the adapters call', () => {
    expect(WRITES.map(([action]) => action).sort()).toEqual([...WRITE_ACTIONS].sort());
  });
});

describe.each([
  ['remediate (auto, everything enabled)', 'remediateFunction' as const],
  ['approval (everything enabled)', 'approvalFunction' as const],
])('%s: kms:CreateGrant', (_name, fn) => {
  const role = () => functionRole(EVERYTHING, 'everything', fn);

  it('is allowed for the Kinesis operations, constrained to the stream, for the denied principal', () => {
    for (const op of KINESIS_OPERATIONS)
      expect(decide(role(), grant(role(), { operations: [op] }))).toBe('allowed');
    expect(decide(role(), grant(role(), { granteePrincipal: ALICE }))).toBe('allowed');
  });

  it('the legitimate grant is allowed whether kms:GrantIsForAWSResource is false or absent; never when true', () => {
    expect(decide(role(), grant(role(), { forAwsResource: false }))).toBe('allowed');
    expect(decide(role(), grant(role(), { forAwsResource: null }))).toBe('allowed');
    expect(decide(role(), grant(role(), { forAwsResource: true }))).not.toBe('allowed');
  });

  it.each([
    ['a role of another account', `arn:aws:iam::${OTHER_ACCOUNT}:role/attacker`],
    ['another account', `arn:aws:iam::${OTHER_ACCOUNT}:root`],
    ['this account`s root', `arn:aws:iam::${ACCOUNT}:root`],
    ['a role session', `arn:aws:sts::${ACCOUNT}:assumed-role/app-orders/s`],
    ['a service principal', 'kinesis.amazonaws.com'],
  ])('is refused for a grantee that is %s', (_, grantee) => {
    expect(decide(role(), grant(role(), { granteePrincipal: grantee }))).not.toBe('allowed');
  });

  it('is refused, by an explicit Deny, for keymend`s own roles as grantee (any case)', () => {
    for (const own of [
      roleArnOf(EVERYTHING, 'everything', 'remediateFunction'),
      roleArnOf(EVERYTHING, 'everything', 'approvalFunction'),
      `arn:aws:iam::${ACCOUNT}:role/keymend/anything-under-its-path`,
    ]) {
      expect(decide(role(), grant(role(), { granteePrincipal: own }))).toBe('explicit-deny');
      expect(decide(role(), grant(role(), { granteePrincipal: own.replace('role/', 'role/') }))).toBe(
        'explicit-deny',
      );
    }
    const approval = roleArnOf(EVERYTHING, 'everything', 'approvalFunction');
    const shouted = approval.replace(/[A-Za-z]+$/, (name) => name.toUpperCase());
    expect(decide(role(), grant(role(), { granteePrincipal: shouted }))).toBe('explicit-deny');
  });

  it.each([
    ['an S3 object`s context', { 'aws:s3:arn': `arn:aws:s3:::payroll/${ACCOUNT}/salaries.csv` }],
    ['a secret`s context', { SecretARN: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:db-AbCdEf` }],
    ['the stream and one more key', { 'aws:kinesis:arn': STREAM, purpose: 'anything' }],
    ['a stream of another account', { 'aws:kinesis:arn': STREAM.replace(ACCOUNT, OTHER_ACCOUNT) }],
    ['a stream of another Region', { 'aws:kinesis:arn': STREAM.replace(REGION, 'eu-west-1') }],
    ['a value that is no stream ARN', { 'aws:kinesis:arn': '*' }],
  ])('is refused with %s as the constraint', (_, context) => {
    expect(decide(role(), grant(role(), { constraints: { encryptionContextSubset: context } }))).not.toBe(
      'allowed',
    );
  });

  it('is refused unless the approval role is the retiring principal', () => {
    expect(decide(role(), grant(role(), { retiringPrincipal: undefined }))).not.toBe('allowed');
    expect(decide(role(), grant(role(), { retiringPrincipal: CONSUMER }))).not.toBe('allowed');
    expect(
      decide(
        role(),
        grant(role(), { retiringPrincipal: roleArnOf(EVERYTHING, 'everything', 'remediateFunction') }),
      ),
    ).not.toBe('allowed');
  });

  it.each(GRANT_OPERATIONS.filter((op) => !KINESIS_OPERATIONS.includes(op)))(
    'is refused for %s, alone or beside Decrypt',
    (op) => {
      expect(decide(role(), grant(role(), { operations: [op] }))).not.toBe('allowed');
      expect(decide(role(), grant(role(), { operations: ['Decrypt', op] }))).not.toBe('allowed');
    },
  );

  it('is refused without an encryption-context constraint, or with EncryptionContextEquals', () => {
    expect(decide(role(), grant(role(), { constraints: {} }))).not.toBe('allowed');
    expect(
      decide(
        role(),
        grant(role(), { constraints: { encryptionContextEquals: { 'aws:kinesis:arn': STREAM } } }),
      ),
    ).not.toBe('allowed');
  });

  it('is refused on a key of another account or Region', () => {
    expect(decide(role(), grant(role(), { keyArn: KEY.replace(ACCOUNT, OTHER_ACCOUNT) }))).not.toBe(
      'allowed',
    );
    expect(decide(role(), grant(role(), { keyArn: KEY.replace(REGION, 'eu-west-1') }))).not.toBe('allowed');
  });
});

describe('propose mode: the remediate function cannot write at all', () => {
  const propose = () =>
    functionRole({ ...EVERYTHING, mode: 'propose' }, 'propose-everything', 'remediateFunction');
  const defaults = () => functionRole({}, 'defaults', 'remediateFunction');

  it.each(WRITES)(
    '%s on %s: refused, with every mechanism enabled and with the defaults',
    (action, resource) => {
      const request = action === 'kms:CreateGrant' ? grant(propose()) : call(propose(), action, resource);
      expect(decide(propose(), request)).toBe('implicit-deny');
      expect(decide(defaults(), { ...request, principal: defaults().principal })).toBe('implicit-deny');
    },
  );

  it('holds no action that changes anything but its own table, topics and logs', () => {
    const own =
      /^(dynamodb:(ConditionCheckItem|DeleteItem|GetItem|PutItem|Query|UpdateItem)|sns:Publish|dynamodb:BatchGetItem|logs:(CreateLogStream|PutLogEvents)|sqs:SendMessage)$/;
    const reads = /^(iam|kms|kinesis|organizations|cloudwatch):(Get|List|Describe)[A-Za-z]*$/;
    const others = propose().actions.filter((a) => !own.test(a) && !reads.test(a));
    // Decrypt and GenerateDataKey on keymend's own topic key (publishing to an encrypted topic), and
    // GenerateMac on the decision link key (approve and reject links), nothing else.
    expect([...new Set(others)].sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey', 'kms:GenerateMac']);
    expect(decide(propose(), call(propose(), 'kms:Decrypt', KEY))).toBe('implicit-deny');
  });
});

describe('auto mode: the remediate function writes only grants and allow-listed inline policies', () => {
  const auto = () => functionRole(EVERYTHING, 'everything', 'remediateFunction');

  it.each([
    ['kms:PutKeyPolicy', KEY],
    ['kms:RetireGrant', KEY],
    ['iam:DeleteRolePolicy', APP_ROLE],
    ['iam:DeleteUserPolicy', CI_USER],
  ])('%s: refused (key policies and revocations go through an approval)', (action, resource) => {
    expect(decide(auto(), call(auto(), action, resource))).toBe('implicit-deny');
  });

  it('iam:PutRolePolicy / PutUserPolicy only on the configured principals', () => {
    expect(decide(auto(), call(auto(), 'iam:PutRolePolicy', APP_ROLE))).toBe('allowed');
    expect(decide(auto(), call(auto(), 'iam:PutUserPolicy', CI_USER))).toBe('allowed');
    expect(decide(auto(), call(auto(), 'iam:PutRolePolicy', OUTSIDE_ROLE))).toBe('implicit-deny');
    expect(decide(auto(), call(auto(), 'iam:PutUserPolicy', ALICE))).toBe('implicit-deny');
    expect(decide(auto(), call(auto(), 'iam:PutRolePolicy', APP_ROLE.replace(ACCOUNT, OTHER_ACCOUNT)))).toBe(
      'implicit-deny',
    );
  });

  it('without enableInlinePolicy, no inline policy write at all', () => {
    const grantsOnly = functionRole({ mode: 'auto' }, 'auto-grants', 'remediateFunction');
    expect(decide(grantsOnly, call(grantsOnly, 'iam:PutRolePolicy', APP_ROLE))).toBe('implicit-deny');
    expect(decide(grantsOnly, grant(grantsOnly))).toBe('allowed');
  });
});

describe('the approval function', () => {
  const approval = () => functionRole(EVERYTHING, 'everything', 'approvalFunction');

  it('never bypasses the key policy lockout safety check (an explicit deny)', () => {
    expect(decide(approval(), call(approval(), 'kms:PutKeyPolicy', KEY))).toBe('allowed');
    expect(
      decide(
        approval(),
        call(approval(), 'kms:PutKeyPolicy', KEY, { 'kms:BypassPolicyLockoutSafetyCheck': true }),
      ),
    ).toBe('explicit-deny');
  });

  it('replaces no key policy unless key-policy changes are enabled', () => {
    const grantsOnly = functionRole({ mode: 'auto' }, 'auto-grants', 'approvalFunction');
    expect(decide(grantsOnly, call(grantsOnly, 'kms:PutKeyPolicy', KEY))).toBe('implicit-deny');
    expect(decide(grantsOnly, call(grantsOnly, 'iam:PutRolePolicy', APP_ROLE))).toBe('implicit-deny');
  });
});

describe.each([
  ['remediate', 'remediateFunction' as const],
  ['approval', 'approvalFunction' as const],
])('%s, everything enabled: no power beyond the plan', (_name, fn) => {
  const role = () => functionRole(EVERYTHING, 'everything', fn);

  it.each([
    ['iam:AttachRolePolicy', APP_ROLE],
    ['iam:CreatePolicyVersion', `arn:aws:iam::${ACCOUNT}:policy/readers`],
    ['iam:UpdateAssumeRolePolicy', APP_ROLE],
    ['iam:PassRole', APP_ROLE],
    ['iam:CreateAccessKey', ALICE],
    ['iam:PutRolePermissionsBoundary', APP_ROLE],
    ['iam:DeleteRolePermissionsBoundary', APP_ROLE],
    ['kms:RevokeGrant', KEY],
    ['kms:RevokeGrant', `arn:aws:kms:${REGION}:${ACCOUNT}:key/ebs-volume-key`],
    ['sts:AssumeRole', OUTSIDE_ROLE],
    ['organizations:LeaveOrganization', '*'],
    ['kms:ScheduleKeyDeletion', KEY],
    ['kms:DisableKey', KEY],
    ['kms:Decrypt', KEY],
    ['kms:Encrypt', KEY],
    ['kms:ReEncryptFrom', KEY],
    ['kinesis:GetRecords', STREAM],
    ['kinesis:PutRecord', STREAM],
    ['sns:Publish', `arn:aws:sns:${REGION}:${ACCOUNT}:someone-elses-topic`],
    ['secretsmanager:GetSecretValue', `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:prod-db-AbCdEf`],
    ['dynamodb:Scan', `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`],
    ['dynamodb:PutItem', `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`],
    ['organizations:UpdatePolicy', SCP],
    ['organizations:DetachPolicy', SCP],
    ['organizations:AttachPolicy', SCP],
    ['organizations:DeletePolicy', SCP],
    // Reads the content of SCPs and RCPs only, not of the organization's other policy types.
    [
      'organizations:DescribePolicy',
      'arn:aws:organizations::999988887777:policy/o-a1b2c3d4e5/tag_policy/p-tag00001',
    ],
    [
      'organizations:DescribePolicy',
      'arn:aws:organizations::999988887777:policy/o-a1b2c3d4e5/backup_policy/p-bkp00001',
    ],
  ])('%s on %s: refused', (action, resource) => {
    // Implicitly, or explicitly by the boundary's Denies (sts:AssumeRole, Organizations writes).
    expect(decide(role(), call(role(), action, resource))).not.toBe('allowed');
  });

  it.each([
    ['organizations:DescribePolicy', SCP],
    [
      'organizations:DescribePolicy',
      'arn:aws:organizations::999988887777:policy/o-a1b2c3d4e5/resource_control_policy/p-rcp00001',
    ],
    [
      'organizations:DescribePolicy',
      'arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess',
    ],
    ['organizations:ListPoliciesForTarget', '*'],
    ['organizations:ListRoots', '*'],
  ])('%s on %s: allowed (read-only, to name SCPs and RCPs in refusals)', (action, resource) => {
    expect(decide(role(), call(role(), action, resource))).toBe('allowed');
  });
});

describe('inline policies: wildcards refused at synth, keymend`s own roles never written', () => {
  it.each([
    ['autoApplyPrincipals', { autoApplyPrincipals: ['arn:aws:iam::*:role/*'] }],
    ['autoApplyPrincipals', { autoApplyPrincipals: [`arn:aws:iam::${ACCOUNT}:role/*`] }],
    ['autoApplyPrincipals', { autoApplyPrincipals: ['arn:aws:iam::*:role/app-*'] }],
    [
      'inlinePolicyPrincipals',
      { enableInlinePolicy: true, inlinePolicyPrincipals: [`arn:aws:iam::${ACCOUNT}:user/?*`] },
    ],
  ] as [string, KeymendRemediationProps][])(
    'synth refuses a wildcard %s pattern, naming the key',
    (key, props) => {
      expect(() => synth({ mode: 'auto', ...props })).toThrow(new RegExp(`KeymendRemediation: ${key}`));
    },
  );

  // A pattern broad enough to cover keymend's own roles (role/k* matches role/keymend/...): the explicit
  // Deny on them holds whatever the pattern says.
  const BROAD: KeymendRemediationProps = {
    ...EVERYTHING,
    autoApplyPrincipals: [`arn:aws:iam::${ACCOUNT}:role/k*`],
    inlinePolicyPrincipals: [`arn:aws:iam::${ACCOUNT}:role/k*`],
  };
  it.each([
    ['remediate', 'remediateFunction' as const],
    ['approval', 'approvalFunction' as const],
  ])('%s: no IAM write on keymend`s own roles, even under a pattern that names them', (_n, fn) => {
    const role = functionRole(BROAD, 'broad', fn);
    expect(decide(role, call(role, 'iam:PutRolePolicy', `arn:aws:iam::${ACCOUNT}:role/kafka-consumer`))).toBe(
      'allowed',
    );
    for (const own of ['remediateFunction', 'approvalFunction'] as const) {
      const target = roleArnOf(BROAD, 'broad', own);
      for (const action of ['iam:PutRolePolicy', 'iam:DeleteRolePolicy', 'iam:AttachRolePolicy']) {
        expect(decide(role, call(role, action, target))).toBe('explicit-deny');
      }
    }
  });
});

describe('the permissions boundary caps both roles, whatever is attached to them later', () => {
  // As if someone attached AdministratorAccess to a keymend role: the boundary still decides.
  const ADMIN = compilePolicy(
    { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
    'AdministratorAccess',
    'identity-based',
  );
  it.each([
    ['remediate', 'remediateFunction' as const],
    ['approval', 'approvalFunction' as const],
  ])('%s', (_n, fn) => {
    const role = functionRole(EVERYTHING, 'everything', fn);
    for (const [action, resource] of [
      ['sts:AssumeRole', OUTSIDE_ROLE],
      ['iam:CreateUser', ALICE],
      ['iam:AttachRolePolicy', APP_ROLE],
      ['iam:PutRolePolicy', OUTSIDE_ROLE],
      ['organizations:CreateAccount', '*'],
      ['kms:Decrypt', KEY],
      ['kms:GenerateDataKey', KEY],
      ['kms:RevokeGrant', KEY],
      ['s3:GetObject', 'arn:aws:s3:::payroll/salaries.csv'],
      ['secretsmanager:GetSecretValue', `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:prod-db-AbCdEf`],
    ] as const) {
      expect([action, decide(role, call(role, action, resource), [ADMIN])]).not.toEqual([action, 'allowed']);
    }
    // What keymend is for stays possible under the boundary.
    expect(decide(role, grant(role), [ADMIN])).toBe('allowed');
    expect(decide(role, call(role, 'iam:PutRolePolicy', APP_ROLE), [ADMIN])).toBe('allowed');
    expect(
      decide(role, grant(role, { granteePrincipal: roleArnOf(EVERYTHING, 'everything', fn) }), [ADMIN]),
    ).toBe('explicit-deny');
  });
});

describe('link signing: the remediate function can never make a revoke link', () => {
  // The two KMS HMAC keys of the template, as `resolve` names them.
  const keyArn = (name: 'decisionLinkKey' | 'revokeLinkKey') => {
    const { stack } = deployment('everything', EVERYTHING);
    const id = stack.getLogicalId(stack.remediation[name].node.defaultChild as CfnElement);
    return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id.toLowerCase()}`;
  };
  it.each([
    ['propose mode', { ...EVERYTHING, mode: 'propose' as const }, 'propose-everything'],
    ['auto mode', EVERYTHING, 'everything'],
  ])('%s: GenerateMac with the decision key only; the revoke key explicitly denied', (_m, props, name) => {
    const remediate = functionRole(props, name, 'remediateFunction');
    const approval = functionRole(props, name, 'approvalFunction');
    expect(decide(remediate, call(remediate, 'kms:GenerateMac', keyArn('decisionLinkKey')))).toBe('allowed');
    for (const action of ['kms:GenerateMac', 'kms:VerifyMac']) {
      expect(decide(remediate, call(remediate, action, keyArn('revokeLinkKey')))).toBe('explicit-deny');
      expect(decide(approval, call(approval, action, keyArn('revokeLinkKey')))).toBe('allowed');
      expect(decide(approval, call(approval, action, keyArn('decisionLinkKey')))).toBe('allowed');
    }
    // Nor any other HMAC key of the account, nor a secret (there is none: no key material outside KMS).
    expect(decide(remediate, call(remediate, 'kms:GenerateMac', KEY))).toBe('implicit-deny');
    expect(decide(approval, call(approval, 'kms:GenerateMac', KEY))).toBe('implicit-deny');
    expect(deployment(name, props).template.findResources('AWS::SecretsManager::Secret')).toEqual({});
  });
});

describe('sign-in (every option on): the approval function reads its one client secret, nothing else does', () => {
  const OIDC_SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:keymend-oidc-AbCdEf`;
  it('GetSecretValue: the approval role on that secret only (its boundary lets it); the remediate role never', () => {
    const approval = functionRole(EVERYTHING, 'everything', 'approvalFunction');
    const remediate = functionRole(EVERYTHING, 'everything', 'remediateFunction');
    expect(decide(approval, call(approval, 'secretsmanager:GetSecretValue', OIDC_SECRET))).toBe('allowed');
    expect(decide(remediate, call(remediate, 'secretsmanager:GetSecretValue', OIDC_SECRET))).toBe(
      'implicit-deny',
    );
    const other = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:prod-db-AbCdEf`;
    expect(decide(approval, call(approval, 'secretsmanager:GetSecretValue', other))).toBe('implicit-deny');
  });
});
