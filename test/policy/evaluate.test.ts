// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} here is IAM policy-variable syntax.
/**
 * Evaluation logic: each layer, the KMS rules, grants, cross-account requests, decidedBy, and the cases
 * where keymend and iam-simulate disagree (with the AWS page that fixes the answer).
 */
import { type CompiledPolicy, compilePolicy } from '../../functions/policy/compile';
import { kinesisKmsRequest } from '../../functions/policy/context';
import { evaluate } from '../../functions/policy/evaluate';
import type {
  AuthorizationRequest,
  EvaluationResult,
  KmsGrant,
  PolicyLayer,
  PolicySet,
  RequestPrincipal,
} from '../../functions/policy/types';
import {
  ALICE,
  ACCOUNT as HOME,
  ORDERS_KEY as KEY,
  OTHER_ACCOUNT as OTHER,
  CLICKS_KEY as OTHER_KEY,
  CONSUMER as ROLE,
  CONSUMER_SESSION as SESSION_ARN,
  ORDERS as STREAM,
} from '../helpers/arns';

const EVAL = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html';
const KEY_POLICY = 'https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html';
const CROSS =
  'https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html';
const GRANTS = 'https://docs.aws.amazon.com/kms/latest/APIReference/API_GrantConstraints.html';
const BOUNDARY = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html';
const SESSION = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session';
const SCP =
  'https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html';
const RCP = 'https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html';
const NOT_PRINCIPAL =
  'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html';
const ACTION = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html';
const NOT_ACTION =
  'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html';
const RESOURCE = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html';
const NOT_RESOURCE =
  'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html';
const VARS = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html';
const OPS =
  'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html';

const READER = 'arn:aws:iam::444455556666:role/analytics-reader';
const READER_SESSION = 'arn:aws:sts::444455556666:assumed-role/analytics-reader/reader-1';

const consumer: RequestPrincipal = {
  arn: ROLE,
  sessionArn: SESSION_ARN,
  accountId: HOME,
  type: 'AssumedRole',
};
const alice: RequestPrincipal = { arn: ALICE, accountId: HOME, type: 'IAMUser', username: 'alice' };
const reader: RequestPrincipal = {
  arn: READER,
  sessionArn: READER_SESSION,
  accountId: OTHER,
  type: 'AssumedRole',
};

type Statement = Record<string, unknown>;
const doc = (...Statement: Statement[]) => ({ Version: '2012-10-17', Statement });
const compile = (name: string, layer: PolicyLayer, ...statements: Statement[]) =>
  compilePolicy(doc(...statements), name, layer);

const enableIam: Statement = {
  Sid: 'Enable IAM User Permissions',
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${HOME}:root` },
  Action: 'kms:*',
  Resource: '*',
};
const allowDecrypt: Statement = { Sid: 'Decrypt', Effect: 'Allow', Action: 'kms:Decrypt', Resource: KEY };
const keyPolicy = (...s: Statement[]) => compile('key-policy', 'resource-based', ...s);
const identity = (...s: Statement[]) => compile('consumer-inline', 'identity-based', ...s);
const fullAccess = (name: string) =>
  compile(name, 'service-control', { Sid: 'FullAWSAccess', Effect: 'Allow', Action: '*', Resource: '*' });

const decrypt = (principal: RequestPrincipal, viaKinesis = true, keyArn = KEY): AuthorizationRequest =>
  kinesisKmsRequest({
    principal,
    action: 'kms:Decrypt',
    keyArn,
    streamArn: STREAM,
    region: 'us-east-1',
    viaKinesis,
  });

const set = (p: Partial<PolicySet<CompiledPolicy>>): PolicySet<CompiledPolicy> => ({
  identityPolicies: [],
  resourceAccountId: HOME,
  ...p,
});

interface Row {
  name: string;
  request: AuthorizationRequest;
  policies: PolicySet<CompiledPolicy>;
  expected: EvaluationResult;
}

const grant = (g: Partial<KmsGrant>): KmsGrant => ({
  grantId: 'grant-1',
  granteePrincipal: ROLE,
  operations: ['Decrypt'],
  ...g,
});

const rows: Row[] = [
  // The key policy and IAM delegation
  {
    name: `identity policy counts when the key policy allows the account (${KEY_POLICY})`,
    request: decrypt(consumer),
    policies: set({ identityPolicies: [identity(allowDecrypt)], resourcePolicy: keyPolicy(enableIam) }),
    expected: {
      decision: 'allowed',
      decidedBy: [
        { policyType: 'resource-based', policy: 'key-policy', statement: 'Enable IAM User Permissions' },
        { policyType: 'identity-based', policy: 'consumer-inline', statement: 'Decrypt' },
      ],
    },
  },
  {
    name: `identity policy does not count without the account in the key policy (${KEY_POLICY})`,
    request: decrypt(consumer),
    policies: set({
      identityPolicies: [identity(allowDecrypt)],
      resourcePolicy: keyPolicy({
        Effect: 'Allow',
        Principal: { AWS: ALICE },
        Action: 'kms:*',
        Resource: '*',
      }),
    }),
    expected: {
      decision: 'implicit-deny',
      decidedBy: [{ policyType: 'resource-based', policy: 'key-policy', statement: '' }],
    },
  },
  {
    name: `the account as a bare id delegates too (${KEY_POLICY})`,
    request: decrypt(consumer),
    policies: set({
      identityPolicies: [identity(allowDecrypt)],
      resourcePolicy: keyPolicy({
        Sid: 'Acct',
        Effect: 'Allow',
        Principal: { AWS: HOME },
        Action: 'kms:Decrypt',
        Resource: '*',
      }),
    }),
    expected: {
      decision: 'allowed',
      decidedBy: [
        { policyType: 'resource-based', policy: 'key-policy', statement: 'Acct' },
        { policyType: 'identity-based', policy: 'consumer-inline', statement: 'Decrypt' },
      ],
    },
  },
  {
    name: `delegation is per action: a key policy allowing the account only DescribeKey does not enable Decrypt (${KEY_POLICY})`,
    request: decrypt(consumer),
    policies: set({
      identityPolicies: [identity(allowDecrypt)],
      resourcePolicy: keyPolicy({
        Effect: 'Allow',
        Principal: { AWS: HOME },
        Action: 'kms:DescribeKey',
        Resource: '*',
      }),
    }),
    expected: {
      decision: 'implicit-deny',
      decidedBy: [{ policyType: 'resource-based', policy: 'key-policy', statement: '' }],
    },
  },
  {
    name: `no identity allow with delegation in place names the identity layer (${EVAL})`,
    request: decrypt(consumer),
    policies: set({ resourcePolicy: keyPolicy(enableIam) }),
    expected: {
      decision: 'implicit-deny',
      decidedBy: [{ policyType: 'identity-based', policy: ROLE, statement: '' }],
    },
  },
  {
    name: `neither layer allows: both named (${EVAL})`,
    request: decrypt(consumer),
    policies: set({
      resourcePolicy: keyPolicy({
        Effect: 'Allow',
        Principal: { AWS: ALICE },
        Action: 'kms:*',
        Resource: '*',
      }),
    }),
    expected: {
      decision: 'implicit-deny',
      decidedBy: [
        { policyType: 'resource-based', policy: 'key-policy', statement: '' },
        { policyType: 'identity-based', policy: ROLE, statement: '' },
      ],
    },
  },
  {
    name: `the key policy naming the role ARN allows its sessions without IAM (${KEY_POLICY})`,
    request: decrypt(consumer),
    policies: set({
      resourcePolicy: keyPolicy({
        Sid: 'Role',
        Effect: 'Allow',
        Principal: { AWS: ROLE },
        Action: 'kms:Decrypt',
        Resource: '*',
      }),
    }),
    expected: {
      decision: 'allowed',
      decidedBy: [{ policyType: 'resource-based', policy: 'key-policy', statement: 'Role' }],
    },
  },
  {
    name: `the key policy naming one session allows that session only (${EVAL})`,
    request: decrypt({
      ...consumer,
      sessionArn: 'arn:aws:sts::111122223333:assumed-role/orders-consumer/other',
    }),
    policies: set({
      resourcePolicy: keyPolicy({
        Effect: 'Allow',
        Principal: { AWS: SESSION_ARN },
        Action: 'kms:Decrypt',
        Resource: '*',
      }),
    }),
    expected: {
      decision: 'implicit-deny',
      decidedBy: [
        { policyType: 'resource-based', policy: 'key-policy', statement: '' },
        { policyType: 'identity-based', policy: ROLE, statement: '' },
      ],
    },
  },
  {
    name: `Principal "*" with a kms:CallerAccount condition allows callers of that account (${KEY_POLICY})`,
    request: decrypt(alice),
    policies: set({
      resourcePolicy: keyPolicy({
        Sid: 'Any',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringEquals: { 'kms:CallerAccount': HOME } },
      }),
    }),
    expected: {
      decision: 'allowed',
      decidedBy: [{ policyType: 'resource-based', policy: 'key-policy', statement: 'Any' }],
    },
  },
  // Explicit deny anywhere wins
  {
    name: `an identity deny beats a key-policy allow (${EVAL})`,
    request: decrypt(consumer),
    policies: set({
      identityPolicies: [identity({ Sid: 'No', Effect: 'Deny', Action: 'kms:*', Resource: '*' })],
      resourcePolicy: keyPolicy({
        Effect: 'Allow',
        Principal: { AWS: ROLE },
        Action: 'kms:Decrypt',
        Resource: '*',
      }),
    }),
    expected: {
      decision: 'explicit-deny',
      decidedBy: [{ policyType: 'identity-based', policy: 'consumer-inline', statement: 'No' }],
    },
  },
  {
    name: `a key-policy deny for the account denies every principal in it (${EVAL})`,
    request: decrypt(consumer),
    policies: set({
      identityPolicies: [identity(allowDecrypt)],
      resourcePolicy: keyPolicy(enableIam, {
        Sid: 'NoViaS3',
        Effect: 'Deny',
        Principal: { AWS: HOME },
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringNotLike: { 'kms:ViaService': 'kinesis.*' } },
      }),
    }),
    expected: {
      decision: 'allowed',
      decidedBy: [
        { policyType: 'resource-based', policy: 'key-policy', statement: 'Enable IAM User Permissions' },
        { policyType: 'identity-based', policy: 'consumer-inline', statement: 'Decrypt' },
      ],
    },
  },
  {
    name: `the same deny applies to a direct call without kms:ViaService (${OPS})`,
    request: decrypt(consumer, false),
    policies: set({
      identityPolicies: [identity(allowDecrypt)],
      resourcePolicy: keyPolicy(enableIam, {
        Sid: 'NoViaS3',
        Effect: 'Deny',
        Principal: { AWS: HOME },
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringNotLike: { 'kms:ViaService': 'kinesis.*' } },
      }),
    }),
    expected: {
      decision: 'explicit-deny',
      decidedBy: [{ policyType: 'resource-based', policy: 'key-policy', statement: 'NoViaS3' }],
    },
  },
  {
    name: `every applying deny is listed, across layers (${EVAL})`,
    request: decrypt(consumer),
    policies: set({
      identityPolicies: [identity({ Sid: 'D1', Effect: 'Deny', Action: 'kms:Decrypt', Resource: '*' })],
      resourcePolicy: keyPolicy({
        Sid: 'D2',
        Effect: 'Deny',
        Principal: '*',
        Action: 'kms:*',
        Resource: '*',
      }),
      serviceControlPolicies: [
        [
          compile('deny-kms', 'service-control', {
            Sid: 'D3',
            Effect: 'Deny',
            Action: 'kms:*',
            Resource: '*',
          }),
        ],
      ],
    }),
    expected: {
      decision: 'explicit-deny',
      decidedBy: [
        { policyType: 'identity-based', policy: 'consumer-inline', statement: 'D1' },
        { policyType: 'resource-based', policy: 'key-policy', statement: 'D2' },
        { policyType: 'service-control', policy: 'deny-kms', statement: 'D3' },
      ],
    },
  },
  // Actions, NotAction, resources, NotResource
  {
    name: `action names and service prefixes are case-insensitive, with * and ? (${ACTION})`,
    request: decrypt(consumer),
    policies: set({
      identityPolicies: [identity({ Sid: 'W', Effect: 'Allow', Action: ['KMS:De?RYPT'], Resource: '*' })],
      resourcePolicy: keyPolicy(enableIam),
    }),
    expected: {
      decision: 'allowed',
      decidedBy: [
        { policyType: 'resource-based', policy: 'key-policy', statement: 'Enable IAM User Permissions' },
        { policyType: 'identity-based', policy: 'consumer-inline', statement: 'W' },
      ],
    },
  },
  {
    name: `NotAction allows every action but those listed (${NOT_ACTION})`,
    request: decrypt(consumer),
    policies: set({
      identityPolicies: [identity({ Effect: 'Allow', NotAction: ['kms:Decrypt'], Resource: '*' })],
      resourcePolicy: keyPolicy(enableIam),
    }),
    expected: {
      decision: 'implicit-deny',
      decidedBy: [{ policyType: 'identity-based', policy: ROLE, statement: '' }],
    },
  },
  {
    name: `a resource wildcard matches within ARN segments (${RESOURCE})`,
    request: decrypt(consumer),
    policies: set({
      identityPolicies: [
        identity({
          Sid: 'R',
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: 'arn:aws:kms:*:111122223333:key/1234abcd-*',
        }),
      ],
      resourcePolicy: keyPolicy(enableIam),
    }),
    expected: {
      decision: 'allowed',
      decidedBy: [
        { policyType: 'resource-based', policy: 'key-policy', statement: 'Enable IAM User Permissions' },
        { policyType: 'identity-based', policy: 'consumer-inline', statement: 'R' },
      ],
    },
  },
  {
    name: `a pattern of fewer than six segments is matched as one string (${RESOURCE})`,
    request: decrypt(consumer),
    policies: set({
      identityPolicies: [
        identity({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: 'arn:aws:kms:us-east-1:*' }),
      ],
      resourcePolicy: keyPolicy(enableIam),
    }),
    expected: {
      decision: 'allowed',
      decidedBy: [
        { policyType: 'resource-based', policy: 'key-policy', statement: 'Enable IAM User Permissions' },
        { policyType: 'identity-based', policy: 'consumer-inline', statement: '0' },
      ],
    },
  },
  {
    name: `NotResource denies everything but the listed key (${NOT_RESOURCE})`,
    request: decrypt(consumer, true, OTHER_KEY),
    policies: set({
      identityPolicies: [
        identity(
          { Effect: 'Allow', Action: 'kms:*', Resource: '*' },
          { Sid: 'OnlyOrders', Effect: 'Deny', Action: 'kms:*', NotResource: KEY },
        ),
      ],
      resourcePolicy: keyPolicy(enableIam),
    }),
    expected: {
      decision: 'explicit-deny',
      decidedBy: [{ policyType: 'identity-based', policy: 'consumer-inline', statement: 'OnlyOrders' }],
    },
  },
  {
    name: `a variable in a Resource resolves from the request (${VARS})`,
    request: decrypt(alice),
    policies: set({
      identityPolicies: [
        compile('alice', 'identity-based', {
          Sid: 'V',
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: 'arn:aws:kms:us-east-1:${aws:PrincipalAccount}:key/*',
        }),
      ],
      resourcePolicy: keyPolicy(enableIam),
    }),
    expected: {
      decision: 'allowed',
      decidedBy: [
        { policyType: 'resource-based', policy: 'key-policy', statement: 'Enable IAM User Permissions' },
        { policyType: 'identity-based', policy: 'alice', statement: 'V' },
      ],
    },
  },
  // Grants
  {
    name: `a grant to the role allows its sessions without any policy naming them (${GRANTS})`,
    request: decrypt(consumer),
    policies: set({ resourcePolicy: keyPolicy(enableIam), grants: [grant({})] }),
    expected: {
      decision: 'allowed',
      decidedBy: [{ policyType: 'grant', policy: 'grant-1', statement: 'Decrypt' }],
    },
  },
  {
    name: `a grant without the operation does not allow (${GRANTS})`,
    request: decrypt(consumer),
    policies: set({
      resourcePolicy: keyPolicy(enableIam),
      grants: [grant({ operations: ['GenerateDataKey'] })],
    }),
    expected: {
      decision: 'implicit-deny',
      decidedBy: [{ policyType: 'identity-based', policy: ROLE, statement: '' }],
    },
  },
  {
    name: `a grant to another principal does not allow (${GRANTS})`,
    request: decrypt(consumer),
    policies: set({ resourcePolicy: keyPolicy(enableIam), grants: [grant({ granteePrincipal: ALICE })] }),
    expected: {
      decision: 'implicit-deny',
      decidedBy: [{ policyType: 'identity-based', policy: ROLE, statement: '' }],
    },
  },
  {
    name: `EncryptionContextSubset holds when every pair is in the request's context (${GRANTS})`,
    request: decrypt(consumer),
    policies: set({
      grants: [grant({ constraints: { encryptionContextSubset: { 'aws:kinesis:arn': STREAM } } })],
    }),
    expected: {
      decision: 'allowed',
      decidedBy: [{ policyType: 'grant', policy: 'grant-1', statement: 'Decrypt' }],
    },
  },
  {
    name: `EncryptionContextSubset fails for another stream (${GRANTS})`,
    request: decrypt(consumer),
    policies: set({
      grants: [grant({ constraints: { encryptionContextSubset: { 'aws:kinesis:arn': `${STREAM}-x` } } })],
    }),
    expected: {
      decision: 'implicit-deny',
      decidedBy: [
        { policyType: 'resource-based', policy: 'key-policy', statement: '' },
        { policyType: 'identity-based', policy: ROLE, statement: '' },
      ],
    },
  },
  {
    name: `EncryptionContextEquals holds for exactly the same context (${GRANTS})`,
    request: decrypt(consumer),
    policies: set({
      grants: [grant({ constraints: { encryptionContextEquals: { 'aws:kinesis:arn': STREAM } } })],
    }),
    expected: {
      decision: 'allowed',
      decidedBy: [{ policyType: 'grant', policy: 'grant-1', statement: 'Decrypt' }],
    },
  },
  {
    name: `EncryptionContextEquals fails when the request carries more pairs (${GRANTS})`,
    request: {
      ...decrypt(consumer),
      context: { ...decrypt(consumer).context, 'kms:EncryptionContext:extra': 'x' },
    },
    policies: set({
      grants: [grant({ constraints: { encryptionContextEquals: { 'aws:kinesis:arn': STREAM } } })],
    }),
    expected: {
      decision: 'implicit-deny',
      decidedBy: [
        { policyType: 'resource-based', policy: 'key-policy', statement: '' },
        { policyType: 'identity-based', policy: ROLE, statement: '' },
      ],
    },
  },
  {
    name: `a grant constraint's keys match whatever their case; its values do not (${GRANTS}: "in a grant constraint, the key in each key-value pair is not case sensitive, but the value is case sensitive")`,
    request: decrypt(consumer),
    policies: set({
      grants: [
        grant({ constraints: { encryptionContextSubset: { 'AWS:Kinesis:ARN': STREAM } } }),
        grant({
          grantId: 'grant-2',
          constraints: { encryptionContextEquals: { 'aws:KINESIS:arn': STREAM } },
        }),
        grant({
          grantId: 'grant-3',
          constraints: { encryptionContextSubset: { 'aws:kinesis:arn': STREAM.toUpperCase() } },
        }),
      ],
    }),
    expected: {
      decision: 'allowed',
      decidedBy: [
        { policyType: 'grant', policy: 'grant-1', statement: 'Decrypt' },
        { policyType: 'grant', policy: 'grant-2', statement: 'Decrypt' },
      ],
    },
  },
  {
    name: `grant constraints do not apply to operations without an encryption context, such as DescribeKey (${GRANTS})`,
    request: {
      principal: consumer,
      action: 'kms:DescribeKey',
      resource: KEY,
      context: { 'kms:CallerAccount': HOME },
    },
    policies: set({
      grants: [
        grant({
          operations: ['DescribeKey'],
          constraints: { encryptionContextSubset: { 'aws:kinesis:arn': `${STREAM}-x` } },
        }),
      ],
    }),
    expected: {
      decision: 'allowed',
      decidedBy: [{ policyType: 'grant', policy: 'grant-1', statement: 'DescribeKey' }],
    },
  },
  {
    name: `a grant to one session allows that session only, not another session of the role (${GRANTS}; https://docs.aws.amazon.com/kms/latest/developerguide/grants.html "grantee principal")`,
    request: decrypt({
      ...consumer,
      sessionArn: 'arn:aws:sts::111122223333:assumed-role/orders-consumer/other',
    }),
    policies: set({ grants: [grant({ granteePrincipal: SESSION_ARN })] }),
    expected: {
      decision: 'implicit-deny',
      decidedBy: [
        { policyType: 'resource-based', policy: 'key-policy', statement: '' },
        { policyType: 'identity-based', policy: ROLE, statement: '' },
      ],
    },
  },
  {
    name: `a grant to one session allows that session (${GRANTS})`,
    request: decrypt(consumer),
    policies: set({ grants: [grant({ granteePrincipal: SESSION_ARN })] }),
    expected: {
      decision: 'allowed',
      decidedBy: [{ policyType: 'grant', policy: 'grant-1', statement: 'Decrypt' }],
    },
  },
  {
    name: `Principal "*" limited by kms:CallerAccount does not allow a caller of another account, whatever its IAM allows (${KEY_POLICY})`,
    request: decrypt(reader),
    policies: set({
      identityPolicies: [identity({ Effect: 'Allow', Action: 'kms:*', Resource: '*' })],
      resourcePolicy: keyPolicy({
        Effect: 'Allow',
        Principal: '*',
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringEquals: { 'kms:CallerAccount': HOME } },
      }),
    }),
    expected: {
      decision: 'implicit-deny',
      decidedBy: [{ policyType: 'resource-based', policy: 'key-policy', statement: '' }],
    },
  },
  {
    name: `a key policy naming the IAM user in a Principal list is not limited by the user's boundary (${EVAL})`,
    request: decrypt(alice),
    policies: set({
      resourcePolicy: keyPolicy({
        Sid: 'Users',
        Effect: 'Allow',
        Principal: { AWS: [ROLE, ALICE] },
        Action: 'kms:Decrypt',
        Resource: '*',
      }),
      permissionsBoundary: compile('boundary', 'permissions-boundary', {
        Effect: 'Allow',
        Action: 's3:*',
        Resource: '*',
      }),
    }),
    expected: {
      decision: 'allowed',
      decidedBy: [{ policyType: 'resource-based', policy: 'key-policy', statement: 'Users' }],
    },
  },
  {
    name: `a grant does not override an explicit deny (${EVAL})`,
    request: decrypt(consumer),
    policies: set({
      identityPolicies: [identity({ Sid: 'No', Effect: 'Deny', Action: 'kms:Decrypt', Resource: '*' })],
      grants: [grant({})],
    }),
    expected: {
      decision: 'explicit-deny',
      decidedBy: [{ policyType: 'identity-based', policy: 'consumer-inline', statement: 'No' }],
    },
  },
  // Permissions boundaries and session policies
  {
    name: `a boundary that does not allow blocks the identity path (${BOUNDARY})`,
    request: decrypt(consumer),
    policies: set({
      identityPolicies: [identity(allowDecrypt)],
      resourcePolicy: keyPolicy(enableIam),
      permissionsBoundary: compile('boundary', 'permissions-boundary', {
        Effect: 'Allow',
        Action: 's3:*',
        Resource: '*',
      }),
    }),
    expected: {
      decision: 'implicit-deny',
      decidedBy: [{ policyType: 'permissions-boundary', policy: 'boundary', statement: '' }],
    },
  },
  {
    name: `a boundary that does not allow limits a key policy naming the role ARN (${EVAL})`,
    request: decrypt(consumer),
    policies: set({
      resourcePolicy: keyPolicy({
        Effect: 'Allow',
        Principal: { AWS: ROLE },
        Action: 'kms:Decrypt',
        Resource: '*',
      }),
      permissionsBoundary: compile('boundary', 'permissions-boundary', {
        Effect: 'Allow',
        Action: 's3:*',
        Resource: '*',
      }),
    }),
    expected: {
      decision: 'implicit-deny',
      decidedBy: [{ policyType: 'permissions-boundary', policy: 'boundary', statement: '' }],
    },
  },
  {
    name: `a boundary does not limit a key policy naming the session ARN (${EVAL})`,
    request: decrypt(consumer),
    policies: set({
      resourcePolicy: keyPolicy({
        Sid: 'S',
        Effect: 'Allow',
        Principal: { AWS: SESSION_ARN },
        Action: 'kms:Decrypt',
        Resource: '*',
      }),
      permissionsBoundary: compile('boundary', 'permissions-boundary', {
        Effect: 'Allow',
        Action: 's3:*',
        Resource: '*',
      }),
    }),
    expected: {
      decision: 'allowed',
      decidedBy: [{ policyType: 'resource-based', policy: 'key-policy', statement: 'S' }],
    },
  },
  {
    name: `a boundary that does not allow blocks a grant (unconfirmed for grants: keymend's choice) (${BOUNDARY})`,
    request: decrypt(consumer),
    policies: set({
      grants: [grant({})],
      permissionsBoundary: compile('boundary', 'permissions-boundary', {
        Effect: 'Allow',
        Action: 's3:*',
        Resource: '*',
      }),
    }),
    expected: {
      decision: 'implicit-deny',
      decidedBy: [
        { policyType: 'resource-based', policy: 'key-policy', statement: '' },
        { policyType: 'identity-based', policy: ROLE, statement: '' },
        { policyType: 'permissions-boundary', policy: 'boundary', statement: '' },
      ],
    },
  },
  {
    name: `a session policy that does not allow blocks identity allows (${SESSION})`,
    request: decrypt(consumer),
    policies: set({
      identityPolicies: [identity(allowDecrypt)],
      resourcePolicy: keyPolicy(enableIam),
      sessionPolicies: [compile('session', 'session', { Effect: 'Allow', Action: 's3:*', Resource: '*' })],
    }),
    expected: {
      decision: 'implicit-deny',
      decidedBy: [{ policyType: 'session', policy: 'session', statement: '' }],
    },
  },
  {
    name: `a session policy does not limit a key policy naming the session (${SESSION})`,
    request: decrypt(consumer),
    policies: set({
      resourcePolicy: keyPolicy({
        Sid: 'S',
        Effect: 'Allow',
        Principal: { AWS: SESSION_ARN },
        Action: 'kms:Decrypt',
        Resource: '*',
      }),
      sessionPolicies: [compile('session', 'session', { Effect: 'Allow', Action: 's3:*', Resource: '*' })],
    }),
    expected: {
      decision: 'allowed',
      decidedBy: [{ policyType: 'resource-based', policy: 'key-policy', statement: 'S' }],
    },
  },
  // SCPs and RCPs
  {
    name: `every SCP level must allow (${SCP})`,
    request: decrypt(consumer),
    policies: set({
      identityPolicies: [identity(allowDecrypt)],
      resourcePolicy: keyPolicy(enableIam),
      serviceControlPolicies: [
        [fullAccess('FullAWSAccess')],
        [compile('s3-only', 'service-control', { Effect: 'Allow', Action: 's3:*', Resource: '*' })],
      ],
    }),
    expected: {
      decision: 'implicit-deny',
      decidedBy: [{ policyType: 'service-control', policy: 's3-only', statement: '' }],
    },
  },
  {
    name: `SCPs that allow at every level let the request through (${SCP})`,
    request: decrypt(consumer),
    policies: set({
      identityPolicies: [identity(allowDecrypt)],
      resourcePolicy: keyPolicy(enableIam),
      serviceControlPolicies: [[fullAccess('root')], [fullAccess('ou')]],
    }),
    expected: {
      decision: 'allowed',
      decidedBy: [
        { policyType: 'resource-based', policy: 'key-policy', statement: 'Enable IAM User Permissions' },
        { policyType: 'identity-based', policy: 'consumer-inline', statement: 'Decrypt' },
      ],
    },
  },
  {
    name: `an RCP deny blocks; RCPs need no allow of their own (${RCP})`,
    request: decrypt(reader),
    policies: set({
      identityPolicies: [identity(allowDecrypt)],
      resourcePolicy: keyPolicy({
        Effect: 'Allow',
        Principal: { AWS: OTHER },
        Action: 'kms:Decrypt',
        Resource: '*',
      }),
      resourceControlPolicies: [
        [
          compile('perimeter', 'resource-control', {
            Sid: 'EnforceOrgIdentities',
            Effect: 'Deny',
            Principal: '*',
            Action: 'kms:*',
            Resource: '*',
            Condition: { StringNotEqualsIfExists: { 'aws:PrincipalAccount': HOME } },
          }),
        ],
      ],
    }),
    expected: {
      decision: 'explicit-deny',
      decidedBy: [{ policyType: 'resource-control', policy: 'perimeter', statement: 'EnforceOrgIdentities' }],
    },
  },
  // Cross-account
  {
    name: `cross-account: key policy for the account AND the caller's IAM policy (${CROSS})`,
    request: decrypt(reader),
    policies: set({
      identityPolicies: [identity(allowDecrypt)],
      resourcePolicy: keyPolicy({
        Sid: 'Ext',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${OTHER}:root` },
        Action: 'kms:Decrypt',
        Resource: '*',
      }),
    }),
    expected: {
      decision: 'allowed',
      decidedBy: [
        { policyType: 'resource-based', policy: 'key-policy', statement: 'Ext' },
        { policyType: 'identity-based', policy: 'consumer-inline', statement: 'Decrypt' },
      ],
    },
  },
  {
    name: `cross-account: the key policy alone is not enough, even naming the role (${CROSS})`,
    request: decrypt(reader),
    policies: set({
      resourcePolicy: keyPolicy({
        Effect: 'Allow',
        Principal: { AWS: READER },
        Action: 'kms:Decrypt',
        Resource: '*',
      }),
    }),
    expected: {
      decision: 'implicit-deny',
      decidedBy: [{ policyType: 'identity-based', policy: READER, statement: '' }],
    },
  },
  {
    name: `cross-account: the caller's IAM policy alone is not enough (${CROSS})`,
    request: decrypt(reader),
    policies: set({ identityPolicies: [identity(allowDecrypt)], resourcePolicy: keyPolicy(enableIam) }),
    expected: {
      decision: 'implicit-deny',
      decidedBy: [{ policyType: 'resource-based', policy: 'key-policy', statement: '' }],
    },
  },
  // NotPrincipal
  {
    name: `NotPrincipal deny spares a caller only when account, role and session are all listed (${NOT_PRINCIPAL})`,
    request: decrypt(consumer),
    policies: set({
      resourcePolicy: keyPolicy(
        { Sid: 'S', Effect: 'Allow', Principal: { AWS: SESSION_ARN }, Action: 'kms:Decrypt', Resource: '*' },
        {
          Sid: 'Others',
          Effect: 'Deny',
          NotPrincipal: { AWS: [`arn:aws:iam::${HOME}:root`, ROLE, SESSION_ARN] },
          Action: 'kms:*',
          Resource: '*',
        },
      ),
    }),
    expected: {
      decision: 'allowed',
      decidedBy: [{ policyType: 'resource-based', policy: 'key-policy', statement: 'S' }],
    },
  },
  // Disagreements with iam-simulate, each with the page that shows keymend right.
  {
    name: `disagreement with iam-simulate: NotPrincipal listing only the role still denies its session, the account is not listed (${NOT_PRINCIPAL})`,
    request: decrypt(consumer),
    policies: set({
      resourcePolicy: keyPolicy(
        { Sid: 'S', Effect: 'Allow', Principal: { AWS: SESSION_ARN }, Action: 'kms:Decrypt', Resource: '*' },
        { Sid: 'Others', Effect: 'Deny', NotPrincipal: { AWS: ROLE }, Action: 'kms:*', Resource: '*' },
      ),
    }),
    expected: {
      decision: 'explicit-deny',
      decidedBy: [{ policyType: 'resource-based', policy: 'key-policy', statement: 'Others' }],
    },
  },
  {
    name: `disagreement with iam-simulate: NotPrincipal with Deny always denies a caller that has a permissions boundary (${NOT_PRINCIPAL})`,
    request: decrypt(consumer),
    policies: set({
      resourcePolicy: keyPolicy({
        Sid: 'Others',
        Effect: 'Deny',
        NotPrincipal: { AWS: [`arn:aws:iam::${HOME}:root`, ROLE, SESSION_ARN] },
        Action: 'kms:*',
        Resource: '*',
      }),
      permissionsBoundary: compile('boundary', 'permissions-boundary', {
        Effect: 'Allow',
        Action: '*',
        Resource: '*',
      }),
    }),
    expected: {
      decision: 'explicit-deny',
      decidedBy: [{ policyType: 'resource-based', policy: 'key-policy', statement: 'Others' }],
    },
  },
  {
    name: `disagreement with iam-simulate: a variable in the account segment of a Resource is resolved before matching (${VARS})`,
    request: decrypt(alice),
    policies: set({
      identityPolicies: [
        compile(
          'alice',
          'identity-based',
          { Effect: 'Allow', Action: 'kms:*', Resource: '*' },
          {
            Sid: 'V',
            Effect: 'Deny',
            Action: 'kms:Decrypt',
            Resource: 'arn:aws:kms:us-east-1:${aws:PrincipalAccount}:key/*',
          },
        ),
      ],
      resourcePolicy: keyPolicy(enableIam),
    }),
    expected: {
      decision: 'explicit-deny',
      decidedBy: [{ policyType: 'identity-based', policy: 'alice', statement: 'V' }],
    },
  },
  {
    name: `disagreement with iam-simulate: \${*} in a Resource is a literal asterisk, not a wildcard (${VARS})`,
    request: decrypt(alice),
    policies: set({
      identityPolicies: [
        compile('alice', 'identity-based', {
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: 'arn:aws:kms:us-east-1:111122223333:key/${*}',
        }),
      ],
      resourcePolicy: keyPolicy(enableIam),
    }),
    expected: {
      decision: 'implicit-deny',
      decidedBy: [{ policyType: 'identity-based', policy: ALICE, statement: '' }],
    },
  },
  {
    name: `disagreement with iam-simulate: NotIpAddress with a bare IPv4 address holds for an IPv6 caller (${OPS})`,
    request: { ...decrypt(alice), context: { ...decrypt(alice).context, 'aws:SourceIp': '2001:db8::1' } },
    policies: set({
      identityPolicies: [
        compile(
          'alice',
          'identity-based',
          { Effect: 'Allow', Action: 'kms:*', Resource: '*' },
          {
            Sid: 'Office',
            Effect: 'Deny',
            Action: 'kms:*',
            Resource: '*',
            Condition: { NotIpAddress: { 'aws:SourceIp': '203.0.113.7' } },
          },
        ),
      ],
      resourcePolicy: keyPolicy(enableIam),
    }),
    expected: {
      decision: 'explicit-deny',
      decidedBy: [{ policyType: 'identity-based', policy: 'alice', statement: 'Office' }],
    },
  },
  // Another service's resource, no resource policy passed: plain IAM identity evaluation
  {
    name: `a Kinesis action on a same-account stream is allowed by an identity policy alone (${EVAL})`,
    request: { principal: consumer, action: 'kinesis:GetRecords', resource: STREAM, context: {} },
    policies: set({
      identityPolicies: [
        identity({ Sid: 'Read', Effect: 'Allow', Action: 'kinesis:GetRecords', Resource: STREAM }),
      ],
    }),
    expected: {
      decision: 'allowed',
      decidedBy: [{ policyType: 'identity-based', policy: 'consumer-inline', statement: 'Read' }],
    },
  },
  {
    name: `a Kinesis action without an identity allow is an implicit deny in the identity layer (${EVAL})`,
    request: { principal: consumer, action: 'kinesis:PutRecord', resource: STREAM, context: {} },
    policies: set({
      identityPolicies: [
        identity({ Sid: 'Read', Effect: 'Allow', Action: 'kinesis:GetRecords', Resource: STREAM }),
      ],
    }),
    expected: {
      decision: 'implicit-deny',
      decidedBy: [{ policyType: 'identity-based', policy: ROLE, statement: '' }],
    },
  },
  {
    name: `a Kinesis action is limited by the permissions boundary (${BOUNDARY})`,
    request: { principal: consumer, action: 'kinesis:GetRecords', resource: STREAM, context: {} },
    policies: set({
      identityPolicies: [
        identity({ Sid: 'Read', Effect: 'Allow', Action: 'kinesis:GetRecords', Resource: STREAM }),
      ],
      permissionsBoundary: compile('boundary', 'permissions-boundary', {
        Effect: 'Allow',
        Action: 'logs:*',
        Resource: '*',
      }),
    }),
    expected: {
      decision: 'implicit-deny',
      decidedBy: [{ policyType: 'permissions-boundary', policy: 'boundary', statement: '' }],
    },
  },
  {
    name: `a cross-account stream needs a resource policy the caller did not pass (${EVAL})`,
    request: { principal: reader, action: 'kinesis:GetRecords', resource: STREAM, context: {} },
    policies: set({
      identityPolicies: [
        identity({ Sid: 'Read', Effect: 'Allow', Action: 'kinesis:GetRecords', Resource: STREAM }),
      ],
    }),
    expected: {
      decision: 'implicit-deny',
      decidedBy: [{ policyType: 'resource-based', policy: 'resource-policy', statement: '' }],
    },
  },
];

describe('evaluate', () => {
  it.each(rows)('$name', ({ request, policies, expected }) => {
    expect(evaluate(request, policies)).toEqual(expected);
  });

  it('evaluates the same compiled policies for many requests without state between them', () => {
    const policies = set({
      identityPolicies: [identity(allowDecrypt)],
      resourcePolicy: keyPolicy(enableIam),
    });
    const results = [decrypt(consumer), decrypt(reader), decrypt(consumer)].map(
      (r) => evaluate(r, policies).decision,
    );
    expect(results).toEqual(['allowed', 'implicit-deny', 'allowed']);
  });
});
