/**
 * keymend's own powers, judged by keymend's own evaluator: the stack is synthesized (no bundling, no
 * built-in validation, as the infra tests do), each function role's policy is taken from the
 * template with its intrinsics resolved to concrete ARNs, compiled with `compilePolicy` and asked
 * about every write keymend's adapters can make. A KMS key policy that delegates to the account (the
 * default one) stands behind every KMS question, so the role's own policy is what decides.
 */
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

const PARTITION = 'aws';
const REGION = 'us-east-1';
const ACCOUNT = '111122223333';
const OTHER_ACCOUNT = '444455556666';

const KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const STREAM = `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/orders`;
const CONSUMER = `arn:aws:iam::${ACCOUNT}:role/service-role/orders-consumer`;
const APP_ROLE = `arn:aws:iam::${ACCOUNT}:role/app-orders`;
const OUTSIDE_ROLE = `arn:aws:iam::${ACCOUNT}:role/admin`;
const CI_USER = `arn:aws:iam::${ACCOUNT}:user/ci`;
const ALICE = `arn:aws:iam::${ACCOUNT}:user/alice`;

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
};

// ---------------------------------------------------------------------------------------------
// From the template to compiled policies

type Json = unknown;

/** A concrete ARN for a resource of the template, by its type: what `Ref` / `Fn::GetAtt Arn` would give. */
function arnOf(template: Template, logicalId: string): string {
  const resources = template.toJSON().Resources as Record<string, { Type: string }>;
  const type = resources[logicalId]?.Type;
  const id = logicalId.toLowerCase();
  switch (type) {
    case 'AWS::KMS::Key':
      return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;
    case 'AWS::DynamoDB::Table':
      return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${id}`;
    case 'AWS::SNS::Topic':
      return `arn:aws:sns:${REGION}:${ACCOUNT}:${id}`;
    case 'AWS::SecretsManager::Secret':
      return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${id}-AbCdEf`;
    case 'AWS::Logs::LogGroup':
      return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${id}:*`;
    case 'AWS::SQS::Queue':
      return `arn:aws:sqs:${REGION}:${ACCOUNT}:${id}`;
    default:
      throw new Error(`no ARN for ${logicalId} of type ${type}`);
  }
}

/** The template's intrinsics in a policy, resolved: pseudo parameters to this account and Region. */
function resolve(template: Template, value: Json): Json {
  if (Array.isArray(value)) return value.map((v) => resolve(template, v));
  if (typeof value !== 'object' || value === null) return value;
  const obj = value as Record<string, Json>;
  const keys = Object.keys(obj);
  if (keys.length === 1 && keys[0] === 'Ref') {
    const ref = obj.Ref as string;
    const pseudo: Record<string, string> = {
      'AWS::Partition': PARTITION,
      'AWS::Region': REGION,
      'AWS::AccountId': ACCOUNT,
      'AWS::URLSuffix': 'amazonaws.com',
    };
    return pseudo[ref] ?? arnOf(template, ref);
  }
  if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
    const [logicalId, attribute] = obj['Fn::GetAtt'] as [string, string];
    if (attribute !== 'Arn') throw new Error(`unexpected Fn::GetAtt ${logicalId}.${attribute}`);
    return arnOf(template, logicalId);
  }
  if (keys.length === 1 && keys[0] === 'Fn::Join') {
    const [separator, parts] = obj['Fn::Join'] as [string, Json[]];
    return parts.map((part) => resolve(template, part)).join(separator);
  }
  const unknown = keys.find((k) => k.startsWith('Fn::'));
  if (unknown) throw new Error(`unresolved intrinsic ${unknown}`);
  return Object.fromEntries(keys.map((k) => [k, resolve(template, obj[k])]));
}

interface Role {
  principal: RequestPrincipal;
  policies: CompiledPolicy[];
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
    Action: string | string[];
  }[];
  const document = { Version: '2012-10-17', Statement: statements };
  const roleName = fn === 'remediateFunction' ? 'keymend-remediate' : 'keymend-approval';
  return {
    principal: {
      arn: `arn:aws:iam::${ACCOUNT}:role/${roleName}`,
      sessionArn: `arn:aws:sts::${ACCOUNT}:assumed-role/${roleName}/${roleName}-fn`,
      accountId: ACCOUNT,
      type: 'AssumedRole',
      userId: `AROAEXAMPLE${roleName.length}:${roleName}-fn`,
    },
    policies: [compilePolicy(document, `${roleName}-policy`, 'identity-based')],
    actions: statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])),
  };
}

/** The default key policy: the account delegates to IAM, so the role's policy alone decides. */
const DELEGATING_KEY_POLICY = compilePolicy(
  {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  },
  'key-policy',
  'resource-based',
);

function decide(role: Role, request: AuthorizationRequest): Decision {
  const isKms = request.action.toLowerCase().startsWith('kms:');
  const policies: PolicySet<CompiledPolicy> = {
    identityPolicies: role.policies,
    resourceAccountId: isKms ? (request.resource.split(':')[4] ?? ACCOUNT) : ACCOUNT,
    ...(isKms ? { resourcePolicy: DELEGATING_KEY_POLICY } : {}),
  };
  return evaluate(request, policies).decision;
}

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
  ['kms:RevokeGrant', KEY],
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

  it('is refused for an AWS resource (a grant an AWS service would use on the grantee`s behalf)', () => {
    expect(decide(role(), grant(role(), { forAwsResource: true }))).not.toBe('allowed');
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
    // Decrypt and GenerateDataKey on keymend's own topic key (publishing to an encrypted topic), nothing else.
    expect([...new Set(others)].sort()).toEqual([
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'secretsmanager:GetSecretValue',
    ]);
    expect(decide(propose(), call(propose(), 'kms:Decrypt', KEY))).toBe('implicit-deny');
  });
});

describe('auto mode: the remediate function writes only grants and allow-listed inline policies', () => {
  const auto = () => functionRole(EVERYTHING, 'everything', 'remediateFunction');

  it.each([
    ['kms:PutKeyPolicy', KEY],
    ['kms:RevokeGrant', KEY],
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
  ])('%s on %s: refused', (action, resource) => {
    expect(decide(role(), call(role(), action, resource))).toBe('implicit-deny');
  });
});
