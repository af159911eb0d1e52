/**
 * keymend's own permissions, written out as data so a security review (and the tests) can read every
 * statement in one place. The writes here must match functions/adapters' one writer file: each action
 * it calls, and nothing more.
 *
 * Every function returns `PolicyStatementProps`; the construct turns them into `PolicyStatement`s.
 * The ARN parts (partition, Region, account) may be CDK tokens or literals.
 */
import { Effect, type PolicyStatementProps } from 'aws-cdk-lib/aws-iam';
import { principalPatternKind } from '../functions/commons/arn';
import { HANDLED_KMS_EVENT_NAMES } from '../functions/commons/constants';

/** Where keymend runs and the resources it owns. */
export interface IamScope {
  partition: string;
  region: string;
  account: string;
  /** The proposals table. */
  tableArn: string;
  /** The approval-token signing secret. */
  secretArn: string;
  /** The topics keymend publishes to (e-mail, and chat when configured). */
  topicArns: string[];
  /** The customer managed key encrypting keymend's own topic, when it has one. */
  topicKeyArn?: string;
}

/** The write powers a deployment grants; everything off but grants by default. */
export interface WritePowers {
  /** `auto` gives the remediate function its write actions; `propose` gives it none. */
  mode: 'propose' | 'auto';
  /**
   * ARN patterns of the roles and users whose inline policies keymend may write; empty when the
   * inline-policy mechanism is disabled.
   */
  inlinePolicyPrincipals: readonly string[];
  /** Whether the approval function may replace key policies. */
  keyPolicyChanges: boolean;
}

/** A KMS key in keymend's own account and Region: keys are not known in advance. */
export function keyArnPattern(scope: IamScope): string {
  return `arn:${scope.partition}:kms:${scope.region}:${scope.account}:key/*`;
}

function iamArn(scope: IamScope, resource: string, account = scope.account): string {
  return `arn:${scope.partition}:iam::${account}:${resource}`;
}

/** The operations a grant keymend creates may carry: the denied operation, one of these. */
export const GRANTABLE_OPERATIONS: readonly string[] = [...HANDLED_KMS_EVENT_NAMES];

/** Reads the account reader makes (functions/adapters/iam.ts, kms.ts, kinesis.ts, organization.ts). */
export function readStatements(scope: IamScope): PolicyStatementProps[] {
  return [
    {
      sid: 'ReadRoles',
      effect: Effect.ALLOW,
      actions: ['iam:GetRole', 'iam:GetRolePolicy', 'iam:ListAttachedRolePolicies', 'iam:ListRolePolicies'],
      resources: [iamArn(scope, 'role/*')],
    },
    {
      sid: 'ReadUsers',
      effect: Effect.ALLOW,
      actions: [
        'iam:GetUser',
        'iam:GetUserPolicy',
        'iam:ListAttachedUserPolicies',
        'iam:ListGroupsForUser',
        'iam:ListUserPolicies',
      ],
      resources: [iamArn(scope, 'user/*')],
    },
    {
      sid: 'ReadGroups',
      effect: Effect.ALLOW,
      actions: ['iam:GetGroupPolicy', 'iam:ListAttachedGroupPolicies', 'iam:ListGroupPolicies'],
      resources: [iamArn(scope, 'group/*')],
    },
    {
      sid: 'ReadManagedPolicies',
      effect: Effect.ALLOW,
      actions: ['iam:GetPolicy', 'iam:GetPolicyVersion'],
      // The account's own managed policies and AWS managed policies.
      resources: [iamArn(scope, 'policy/*'), iamArn(scope, 'policy/*', 'aws')],
    },
    {
      sid: 'ReadKeys',
      effect: Effect.ALLOW,
      // ListResourceTags: for key policies that test aws:ResourceTag (degrades to unknowable when denied).
      actions: ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:ListGrants', 'kms:ListResourceTags'],
      resources: [keyArnPattern(scope)],
    },
    {
      sid: 'ListAliases',
      effect: Effect.ALLOW,
      // ListAliases supports no resource-level permission: `*` is the only resource it accepts.
      actions: ['kms:ListAliases'],
      resources: ['*'],
    },
    {
      sid: 'ReadForPeople',
      effect: Effect.ALLOW,
      // The account's alias, for the subjects people triage by. ListAccountAliases supports no
      // resource-level permission: `*`. A denial only leaves the alias out.
      actions: ['iam:ListAccountAliases'],
      resources: ['*'],
    },
    {
      sid: 'ReadStreams',
      effect: Effect.ALLOW,
      actions: ['kinesis:DescribeStreamSummary'],
      resources: [`arn:${scope.partition}:kinesis:${scope.region}:${scope.account}:stream/*`],
    },
    {
      sid: 'ReadOrganization',
      effect: Effect.ALLOW,
      // For aws:PrincipalOrgID/OrgPaths. DescribeOrganization supports no resource-level permission, and
      // the organization's and OUs' ids are not known at deploy time: `*`. ListParents answers only in the
      // management account or a delegated administrator; elsewhere the path is "not visible".
      actions: ['organizations:DescribeOrganization', 'organizations:ListParents'],
      resources: ['*'],
    },
  ];
}

/** The store, the topics and the secret: keymend's own resources, each by its ARN. */
export function stateStatements(scope: IamScope): PolicyStatementProps[] {
  const statements: PolicyStatementProps[] = [
    {
      sid: 'ProposalTable',
      effect: Effect.ALLOW,
      actions: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      resources: [scope.tableArn],
    },
    {
      sid: 'Notify',
      effect: Effect.ALLOW,
      actions: ['sns:Publish'],
      resources: [...scope.topicArns],
    },
    {
      sid: 'ApprovalSecret',
      effect: Effect.ALLOW,
      actions: ['secretsmanager:GetSecretValue'],
      resources: [scope.secretArn],
    },
  ];
  if (scope.topicKeyArn !== undefined) {
    statements.push({
      sid: 'EncryptNotifications',
      effect: Effect.ALLOW,
      // Publishing to an SSE-KMS topic needs a data key from the topic's key.
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [scope.topicKeyArn],
    });
  }
  return statements;
}

/**
 * `kms:CreateGrant` for the one operation, constrained to an encryption context (the stream's), never
 * for an AWS service acting on the grantee's behalf.
 */
export function createGrantStatement(scope: IamScope): PolicyStatementProps {
  return {
    sid: 'CreateKinesisGrants',
    effect: Effect.ALLOW,
    actions: ['kms:CreateGrant'],
    resources: [keyArnPattern(scope)],
    conditions: {
      'ForAllValues:StringEquals': { 'kms:GrantOperations': [...GRANTABLE_OPERATIONS] },
      StringEquals: { 'kms:GrantConstraintType': 'EncryptionContextSubset' },
      Bool: { 'kms:GrantIsForAWSResource': 'false' },
    },
  };
}

/** The inline-policy writes, split by principal type; only on the configured ARN patterns. */
function inlinePolicyStatements(patterns: readonly string[], withDelete: boolean): PolicyStatementProps[] {
  const roles = patterns.filter((p) => principalPatternKind(p) === 'role');
  const users = patterns.filter((p) => principalPatternKind(p) === 'user');
  const statements: PolicyStatementProps[] = [];
  if (roles.length > 0) {
    statements.push({
      sid: 'WriteRoleInlinePolicies',
      effect: Effect.ALLOW,
      actions: withDelete ? ['iam:DeleteRolePolicy', 'iam:PutRolePolicy'] : ['iam:PutRolePolicy'],
      resources: roles,
    });
  }
  if (users.length > 0) {
    statements.push({
      sid: 'WriteUserInlinePolicies',
      effect: Effect.ALLOW,
      actions: withDelete ? ['iam:DeleteUserPolicy', 'iam:PutUserPolicy'] : ['iam:PutUserPolicy'],
      resources: users,
    });
  }
  return statements;
}

/**
 * The consumer's lag (GetRecords.IteratorAgeMilliseconds) for the impact of a new problem. GetMetricData
 * supports no resource-level permission and no condition on the namespace: `*`, read-only. A denial only
 * leaves the lag out.
 */
export function consumerLagStatement(): PolicyStatementProps {
  return {
    sid: 'ReadConsumerLag',
    effect: Effect.ALLOW,
    actions: ['cloudwatch:GetMetricData'],
    resources: ['*'],
  };
}

/** The remediate function: reads and state always; writes only in auto mode, never key policies. */
export function remediateStatements(scope: IamScope, powers: WritePowers): PolicyStatementProps[] {
  const statements = [...readStatements(scope), ...stateStatements(scope), consumerLagStatement()];
  if (powers.mode === 'auto') {
    statements.push(
      createGrantStatement(scope),
      ...inlinePolicyStatements(powers.inlinePolicyPrincipals, false),
    );
  }
  return statements;
}

/**
 * The approval function: applies what a person approved (grant, inline policy, key policy when
 * enabled) and revokes what keymend applied (revoke the grant, delete the inline policy, restore the
 * key policy).
 */
export function approvalStatements(scope: IamScope, powers: WritePowers): PolicyStatementProps[] {
  const statements = [
    ...readStatements(scope),
    ...stateStatements(scope),
    createGrantStatement(scope),
    {
      sid: 'RevokeGrants',
      effect: Effect.ALLOW,
      // RevokeGrant, not RetireGrant: the writer revokes the grant id keymend recorded when it created it.
      actions: ['kms:RevokeGrant'],
      resources: [keyArnPattern(scope)],
    },
    ...inlinePolicyStatements(powers.inlinePolicyPrincipals, true),
  ];
  if (powers.keyPolicyChanges) {
    statements.push(
      {
        sid: 'PutKeyPolicy',
        effect: Effect.ALLOW,
        actions: ['kms:PutKeyPolicy'],
        resources: [keyArnPattern(scope)],
      },
      {
        sid: 'NeverBypassLockoutCheck',
        effect: Effect.DENY,
        actions: ['kms:PutKeyPolicy'],
        resources: [keyArnPattern(scope)],
        conditions: { Bool: { 'kms:BypassPolicyLockoutSafetyCheck': 'true' } },
      },
    );
  }
  return statements;
}

/** Every action that changes something outside keymend's own resources. */
export const WRITE_ACTIONS: readonly string[] = [
  'kms:CreateGrant',
  'kms:RetireGrant',
  'kms:RevokeGrant',
  'kms:PutKeyPolicy',
  'iam:PutRolePolicy',
  'iam:DeleteRolePolicy',
  'iam:PutUserPolicy',
  'iam:DeleteUserPolicy',
];
