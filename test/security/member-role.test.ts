/**
 * The organization's member role (infra/keymend-member.ts), judged by keymend's own evaluator as
 * least-privilege.test.ts judges the single-account roles: its policy and boundary are taken from the
 * member template with the StackSet's parameters resolved, and asked about the legitimate writes and
 * the abuse cases of issue 19. Its trust policy is asked who may assume it.
 */
import { Template } from 'aws-cdk-lib/assertions';
import {
  type AuthorizationRequest,
  type CompiledPolicy,
  compilePolicy,
  createGrantRequest,
  type Decision,
  evaluate,
  principalContext,
  type RequestPrincipal,
} from '../../functions/policy';
import { synthOrganization } from '../infra/organization';
import { ACCOUNT, DELEGATING_KEY_POLICY, REGION, resolve } from './template-policies';

const HUB_ACCOUNT = '999988887777';
const OTHER_ACCOUNT = '444455556666';
const HUB_APPROVAL = `arn:aws:iam::${HUB_ACCOUNT}:role/keymend/KeymendHub-ApprovalRole`;
const HUB_REMEDIATE = `arn:aws:iam::${HUB_ACCOUNT}:role/keymend/KeymendHub-RemediateRole`;
const MEMBER_ROLE = `arn:aws:iam::${ACCOUNT}:role/keymend/keymend-member`;
const SECOND_REGION = 'eu-west-1';

const KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const STREAM = `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/orders`;
const CONSUMER = `arn:aws:iam::${ACCOUNT}:role/service-role/orders-consumer`;
const APP_ROLE = `arn:aws:iam::${ACCOUNT}:role/app-orders`;
const OUTSIDE_ROLE = `arn:aws:iam::${ACCOUNT}:role/admin`;

const KINESIS_OPERATIONS = ['Decrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext'];
const OTHER_OPERATIONS = [
  'Encrypt',
  'ReEncryptFrom',
  'CreateGrant',
  'RetireGrant',
  'DescribeKey',
  'GenerateMac',
];

interface Member {
  template: Template;
  policy: CompiledPolicy;
  boundary: CompiledPolicy;
  trust: CompiledPolicy;
}

function member(context: Record<string, unknown>): Member {
  const { memberTemplate } = synthOrganization(context);
  const template = Template.fromJSON(memberTemplate);
  const parameters = { HubRoleArns: [HUB_APPROVAL, HUB_REMEDIATE] };
  const resources = memberTemplate.Resources;
  const role = resources.MemberRole.Properties;
  const policy = resolve(template, role.Policies[0].PolicyDocument, parameters);
  const boundary = resolve(template, resources.RoleBoundary.Properties.PolicyDocument, parameters);
  // A trust policy has no Resource: it is about the role itself. keymend's evaluator reads a
  // resource-based statement without one as KMS does (matching nothing), so the role is named here.
  const trustDocument = resolve(template, role.AssumeRolePolicyDocument, parameters) as {
    Statement: Record<string, unknown>[];
  };
  const trust = {
    ...trustDocument,
    Statement: trustDocument.Statement.map((statement) => {
      expect(statement.Resource).toBeUndefined();
      return { ...statement, Resource: MEMBER_ROLE };
    }),
  };
  return {
    template,
    policy: compilePolicy(policy, 'keymend-member', 'identity-based'),
    boundary: compilePolicy(boundary, 'keymend-member-boundary', 'permissions-boundary'),
    trust: compilePolicy(trust, 'keymend-member-trust', 'resource-based'),
  };
}

const GRANTS_ONLY = member({});
const EVERYTHING = member({
  mode: 'auto',
  autoApplyPrincipals: `arn:aws:iam::${ACCOUNT}:role/app-*`,
  enableInlinePolicy: 'true',
  enableKeyPolicyChanges: 'true',
});

const SESSION: RequestPrincipal = {
  arn: MEMBER_ROLE,
  sessionArn: `arn:aws:sts::${ACCOUNT}:assumed-role/keymend-member/keymend-AbCdEf012345`,
  accountId: ACCOUNT,
  type: 'AssumedRole',
  userId: 'AROAMEMBEREXAMPLE:keymend-AbCdEf012345',
};

function decide(m: Member, request: AuthorizationRequest): Decision {
  const isKms = request.action.startsWith('kms:');
  return evaluate(request, {
    identityPolicies: [m.policy],
    permissionsBoundary: m.boundary,
    resourceAccountId: isKms ? (request.resource.split(':')[4] ?? ACCOUNT) : ACCOUNT,
    ...(isKms ? { resourcePolicy: DELEGATING_KEY_POLICY } : {}),
  }).decision;
}

function grant(overrides: Partial<Parameters<typeof createGrantRequest>[0]> = {}): AuthorizationRequest {
  return createGrantRequest({
    principal: SESSION,
    keyArn: KEY,
    granteePrincipal: CONSUMER,
    operations: ['Decrypt'],
    constraints: { encryptionContextSubset: { 'aws:kinesis:arn': STREAM } },
    retiringPrincipal: HUB_APPROVAL,
    ...overrides,
  });
}

function call(action: string, resource: string): AuthorizationRequest {
  const context = principalContext(SESSION);
  if (action.startsWith('kms:')) context['kms:CallerAccount'] = ACCOUNT;
  return { principal: SESSION, action, resource, context };
}

describe.each([
  ['grants only', GRANTS_ONLY],
  ['everything enabled', EVERYTHING],
])('member role (%s): kms:CreateGrant', (_, m) => {
  it('is allowed for the Kinesis operations on a stream of the key`s Region, the hub approval role retiring', () => {
    for (const op of KINESIS_OPERATIONS) expect(decide(m, grant({ operations: [op] }))).toBe('allowed');
    const key2 = KEY.replace(REGION, SECOND_REGION);
    const stream2 = STREAM.replace(REGION, SECOND_REGION);
    expect(
      decide(
        m,
        grant({ keyArn: key2, constraints: { encryptionContextSubset: { 'aws:kinesis:arn': stream2 } } }),
      ),
    ).toBe('allowed');
  });

  it.each([
    ['a role of another account', `arn:aws:iam::${OTHER_ACCOUNT}:role/attacker`],
    ['the hub account', `arn:aws:iam::${HUB_ACCOUNT}:root`],
    ['this account`s root', `arn:aws:iam::${ACCOUNT}:root`],
    ['a service principal', 'kinesis.amazonaws.com'],
  ])('is refused for a grantee that is %s', (_name, grantee) => {
    expect(decide(m, grant({ granteePrincipal: grantee }))).not.toBe('allowed');
  });

  it('is refused, by an explicit Deny, for the member role or any role under keymend`s path (any case)', () => {
    for (const own of [
      MEMBER_ROLE,
      MEMBER_ROLE.toUpperCase().replace('ARN:AWS:IAM', 'arn:aws:iam'),
      `arn:aws:iam::${ACCOUNT}:role/keymend/other`,
    ]) {
      expect(decide(m, grant({ granteePrincipal: own }))).toBe('explicit-deny');
    }
  });

  it.each([
    ['an S3 object`s context', { 'aws:s3:arn': 'arn:aws:s3:::payroll/salaries.csv' }],
    ['the stream and one more key', { 'aws:kinesis:arn': STREAM, purpose: 'anything' }],
    ['a stream of another account', { 'aws:kinesis:arn': STREAM.replace(ACCOUNT, OTHER_ACCOUNT) }],
    ['a stream of the other deployed Region', { 'aws:kinesis:arn': STREAM.replace(REGION, SECOND_REGION) }],
    ['a stream of a Region not deployed', { 'aws:kinesis:arn': STREAM.replace(REGION, 'ap-south-1') }],
    ['a value that is no stream ARN', { 'aws:kinesis:arn': '*' }],
  ])('is refused with %s as the constraint', (_name, context) => {
    expect(decide(m, grant({ constraints: { encryptionContextSubset: context } }))).not.toBe('allowed');
  });

  it('is refused without a constraint, for an AWS resource, or unless the hub approval role retires it', () => {
    expect(decide(m, grant({ constraints: {} }))).not.toBe('allowed');
    expect(decide(m, grant({ forAwsResource: true }))).not.toBe('allowed');
    expect(decide(m, grant({ retiringPrincipal: undefined }))).not.toBe('allowed');
    expect(decide(m, grant({ retiringPrincipal: HUB_REMEDIATE }))).not.toBe('allowed');
    expect(decide(m, grant({ retiringPrincipal: CONSUMER }))).not.toBe('allowed');
  });

  it.each(OTHER_OPERATIONS)('is refused for %s, alone or beside Decrypt', (op) => {
    expect(decide(m, grant({ operations: [op] }))).not.toBe('allowed');
    expect(decide(m, grant({ operations: ['Decrypt', op] }))).not.toBe('allowed');
  });

  it('is refused on a key of another account or of a Region not deployed', () => {
    expect(decide(m, grant({ keyArn: KEY.replace(ACCOUNT, OTHER_ACCOUNT) }))).not.toBe('allowed');
    const far = KEY.replace(REGION, 'ap-south-1');
    const farStream = STREAM.replace(REGION, 'ap-south-1');
    expect(
      decide(
        m,
        grant({ keyArn: far, constraints: { encryptionContextSubset: { 'aws:kinesis:arn': farStream } } }),
      ),
    ).not.toBe('allowed');
  });

  it.each([
    ['iam:PutRolePolicy', MEMBER_ROLE],
    ['iam:UpdateAssumeRolePolicy', MEMBER_ROLE],
    ['iam:DeleteRolePermissionsBoundary', MEMBER_ROLE],
    ['iam:AttachRolePolicy', MEMBER_ROLE],
    ['iam:PutRolePolicy', `arn:aws:iam::${ACCOUNT}:role/keymend/other`],
    ['sts:AssumeRole', OUTSIDE_ROLE],
    ['organizations:LeaveOrganization', '*'],
    ['organizations:CreateAccount', '*'],
    ['kms:RevokeGrant', KEY],
    ['kms:ScheduleKeyDeletion', KEY],
    ['iam:CreateUser', `arn:aws:iam::${ACCOUNT}:user/backdoor`],
    ['iam:PutRolePolicy', OUTSIDE_ROLE],
  ])('%s on %s is refused', (action, resource) => {
    expect(decide(m, call(action, resource))).not.toBe('allowed');
  });

  it('reads what the single-account functions read', () => {
    for (const [action, resource] of [
      ['iam:GetRole', CONSUMER],
      ['iam:GetRolePolicy', CONSUMER],
      ['kms:GetKeyPolicy', KEY],
      ['kms:ListGrants', KEY.replace(REGION, SECOND_REGION)],
      ['kinesis:DescribeStreamSummary', STREAM],
      ['organizations:DescribeOrganization', '*'],
    ] as const) {
      expect(decide(m, call(action, resource))).toBe('allowed');
    }
  });
});

describe('member role: a keymend-read- session (the hub remediate function in propose mode) writes nothing', () => {
  const READ_SESSION: RequestPrincipal = {
    ...SESSION,
    sessionArn: `arn:aws:sts::${ACCOUNT}:assumed-role/keymend-member/keymend-read-AbCdEf012345`,
  };
  const asReader = (request: AuthorizationRequest): AuthorizationRequest => ({
    ...request,
    principal: READ_SESSION,
    context: { ...request.context, 'aws:SourceIdentity': 'keymend-read-AbCdEf012345' },
  });
  const asWriter = (request: AuthorizationRequest): AuthorizationRequest => ({
    ...request,
    context: { ...request.context, 'aws:SourceIdentity': 'keymend-AbCdEf012345' },
  });

  it.each<[string, () => AuthorizationRequest]>([
    ['kms:CreateGrant', () => grant()],
    ['iam:PutRolePolicy', () => call('iam:PutRolePolicy', APP_ROLE)],
    ['iam:DeleteRolePolicy', () => call('iam:DeleteRolePolicy', APP_ROLE)],
    ['kms:PutKeyPolicy', () => call('kms:PutKeyPolicy', KEY)],
  ])(
    '%s: allowed to a keymend-<id> session, an explicit deny to a keymend-read-<id> one',
    (_action, request) => {
      expect(decide(EVERYTHING, asWriter(request()))).toBe('allowed');
      expect(decide(EVERYTHING, asReader(request()))).toBe('explicit-deny');
    },
  );

  it('reads stay allowed to a keymend-read-<id> session', () => {
    expect(decide(EVERYTHING, asReader(call('kms:GetKeyPolicy', KEY)))).toBe('allowed');
    expect(decide(EVERYTHING, asReader(call('iam:GetRole', APP_ROLE)))).toBe('allowed');
  });
});

describe('member role: a keymend-auto- session (the hub remediate function in auto mode) makes only what auto mode applies', () => {
  const asAuto = (request: AuthorizationRequest): AuthorizationRequest => ({
    ...request,
    principal: {
      ...SESSION,
      sessionArn: `arn:aws:sts::${ACCOUNT}:assumed-role/keymend-member/keymend-auto-AbCdEf012345`,
    },
    context: { ...request.context, 'aws:SourceIdentity': 'keymend-auto-AbCdEf012345' },
  });

  it.each<[string, () => AuthorizationRequest]>([
    ['kms:CreateGrant', () => grant()],
    ['iam:PutRolePolicy', () => call('iam:PutRolePolicy', APP_ROLE)],
  ])('%s: allowed, as to the remediate role at home in auto mode', (_action, request) => {
    expect(decide(EVERYTHING, asAuto(request()))).toBe('allowed');
  });

  it.each<[string, () => AuthorizationRequest]>([
    ['kms:PutKeyPolicy', () => call('kms:PutKeyPolicy', KEY)],
    ['iam:DeleteRolePolicy', () => call('iam:DeleteRolePolicy', APP_ROLE)],
    ['iam:DeleteUserPolicy', () => call('iam:DeleteUserPolicy', `arn:aws:iam::${ACCOUNT}:user/app-user`)],
    ['kms:RetireGrant', () => call('kms:RetireGrant', KEY)],
  ])(
    '%s: an explicit deny (it waits for an approval, which opens a keymend-<id> session)',
    (_action, request) => {
      expect(decide(EVERYTHING, asAuto(request()))).toBe('explicit-deny');
    },
  );
});

describe('member role: writes beyond grants only when enabled', () => {
  it('inline policies only with enableInlinePolicy, only on the configured patterns', () => {
    expect(decide(GRANTS_ONLY, call('iam:PutRolePolicy', APP_ROLE))).toBe('implicit-deny');
    expect(decide(EVERYTHING, call('iam:PutRolePolicy', APP_ROLE))).toBe('allowed');
    expect(decide(EVERYTHING, call('iam:DeleteRolePolicy', APP_ROLE))).toBe('allowed');
    expect(decide(EVERYTHING, call('iam:PutRolePolicy', CONSUMER))).toBe('implicit-deny');
  });

  it('key policies only with enableKeyPolicyChanges, never bypassing the lockout check', () => {
    expect(decide(GRANTS_ONLY, call('kms:PutKeyPolicy', KEY))).toBe('implicit-deny');
    expect(decide(EVERYTHING, call('kms:PutKeyPolicy', KEY))).toBe('allowed');
    const bypass = call('kms:PutKeyPolicy', KEY);
    bypass.context['kms:BypassPolicyLockoutSafetyCheck'] = true;
    expect(decide(EVERYTHING, bypass)).toBe('explicit-deny');
  });

  it('the boundary caps the role: a full-admin policy attached later reaches none of the refusals', () => {
    const admin = compilePolicy(
      { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
      'AdministratorAccess',
      'identity-based',
    );
    const withAdmin: Member = { ...GRANTS_ONLY, policy: admin };
    expect(decide(withAdmin, call('kms:ScheduleKeyDeletion', KEY))).not.toBe('allowed');
    expect(decide(withAdmin, call('iam:CreateUser', `arn:aws:iam::${ACCOUNT}:user/backdoor`))).not.toBe(
      'allowed',
    );
    expect(decide(withAdmin, call('sts:AssumeRole', OUTSIDE_ROLE))).toBe('explicit-deny');
    expect(decide(withAdmin, grant({ granteePrincipal: `arn:aws:iam::${OTHER_ACCOUNT}:role/x` }))).not.toBe(
      'allowed',
    );
    expect(decide(withAdmin, grant())).toBe('allowed');
  });
});

describe('member role trust policy', () => {
  const hubSession = (roleArn: string): RequestPrincipal => {
    const name = roleArn.split('/').pop() as string;
    return {
      arn: roleArn,
      sessionArn: `arn:aws:sts::${HUB_ACCOUNT}:assumed-role/${name}/fn`,
      accountId: roleArn.split(':')[4] as string,
      type: 'AssumedRole',
      userId: `AROAHUB:${name}`,
    };
  };
  const anything = compilePolicy(
    { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:*', Resource: '*' }] },
    'caller',
    'identity-based',
  );
  const assume = (principal: RequestPrincipal, action: string, sourceIdentity?: string): Decision => {
    const context = principalContext(principal);
    if (sourceIdentity !== undefined) context['sts:SourceIdentity'] = sourceIdentity;
    return evaluate(
      { principal, action, resource: MEMBER_ROLE, context },
      { identityPolicies: [anything], resourcePolicy: GRANTS_ONLY.trust, resourceAccountId: ACCOUNT },
    ).decision;
  };

  it('admits the hub roles setting a keymend source identity', () => {
    for (const role of [HUB_APPROVAL, HUB_REMEDIATE]) {
      expect(assume(hubSession(role), 'sts:AssumeRole', 'keymend-AbCdEf012345')).toBe('allowed');
      expect(assume(hubSession(role), 'sts:SetSourceIdentity', 'keymend-AbCdEf012345')).toBe('allowed');
    }
  });

  it('refuses the hub roles without a source identity, or with another one', () => {
    expect(assume(hubSession(HUB_APPROVAL), 'sts:AssumeRole')).not.toBe('allowed');
    expect(assume(hubSession(HUB_APPROVAL), 'sts:AssumeRole', 'alice')).not.toBe('allowed');
  });

  it('refuses any other principal, even one of the hub account, even with the source identity', () => {
    for (const other of [
      `arn:aws:iam::${HUB_ACCOUNT}:role/admin`,
      `arn:aws:iam::${ACCOUNT}:role/admin`,
      `arn:aws:iam::${OTHER_ACCOUNT}:role/keymend/KeymendHub-ApprovalRole`,
    ]) {
      expect(assume(hubSession(other), 'sts:AssumeRole', 'keymend-AbCdEf012345')).not.toBe('allowed');
    }
  });
});
