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
import { HANDLED_KMS_EVENT_NAMES, MEMBER_ROLE } from '../functions/commons/constants';

/** Where keymend runs and the resources it owns. */
/** The organization policy types whose content keymend reads (DescribePolicy): SCPs and RCPs. */
const ORGANIZATION_POLICY_TYPES = ['resource_control_policy', 'service_control_policy'] as const;

/**
 * The ARNs of SCPs and RCPs, whose content keymend may read: any organization's (the management
 * account and organization ids are not known at deploy time) and AWS's own. cdk-nag names them with
 * the partition `<AWS::Partition>`.
 */
export function organizationPolicyResources(partition: string): string[] {
  // Sorted: the hub's StackSet carries the member template with these sorted, and the two must match.
  return [
    ...ORGANIZATION_POLICY_TYPES.map((type) => `arn:${partition}:organizations::*:policy/o-*/${type}/p-*`),
    ...ORGANIZATION_POLICY_TYPES.map((type) => `arn:${partition}:organizations::aws:policy/${type}/p-*`),
  ];
}

export interface IamScope {
  partition: string;
  region: string;
  account: string;
  /** The proposals table. */
  tableArn: string;
  /** The KMS HMAC key that signs approve and reject links (both functions). */
  decisionKeyArn: string;
  /** The KMS HMAC key that signs revoke links (the approval function only). */
  revokeKeyArn: string;
  /** The topics keymend publishes to (e-mail, and chat when configured). */
  topicArns: string[];
  /** The customer managed key encrypting keymend's own topic, when it has one. */
  topicKeyArn?: string;
  /**
   * The approval function's role: the retiring principal of every grant keymend creates, so that it
   * (and only it) can retire them (RetireGrant is authorized by the grant, not by IAM).
   */
  approvalRoleArn: string;
  /** keymend's own roles, exactly (the Deny statements name them beside KEYMEND_ROLE_PATH). */
  ownRoleArns: string[];
}

/**
 * The IAM path of keymend's roles. Denies on keymend's own roles name `role/keymend/*`, which needs no
 * reference to the roles themselves (a permissions boundary naming the roles it is attached to would be
 * a circular dependency).
 */
export const KEYMEND_ROLE_PATH = '/keymend/';

/** Every role under keymend's path in this account. */
export function ownRolesPattern(scope: Pick<IamScope, 'partition' | 'account'>): string {
  return `arn:${scope.partition}:iam::${scope.account}:role${KEYMEND_ROLE_PATH}*`;
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
export function keyArnPattern(scope: Pick<IamScope, 'partition' | 'region' | 'account'>): string {
  return `arn:${scope.partition}:kms:${scope.region}:${scope.account}:key/*`;
}

function iamArn(
  scope: Pick<IamScope, 'partition' | 'account'>,
  resource: string,
  account = scope.account,
): string {
  return `arn:${scope.partition}:iam::${account}:${resource}`;
}

/** The operations a grant keymend creates may carry: the denied operation, one of these. */
export const GRANTABLE_OPERATIONS: readonly string[] = [...HANDLED_KMS_EVENT_NAMES];

/** Reads the account reader makes (functions/adapters/iam.ts, kms.ts, kinesis.ts, organization.ts). */
export function readStatements(
  scope: Pick<IamScope, 'partition' | 'region' | 'account'>,
): PolicyStatementProps[] {
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
      // For aws:PrincipalOrgID/OrgPaths and the SCPs and RCPs (functions/adapters/organization.ts).
      // DescribeOrganization and ListRoots support no resource-level permission, and the organization's,
      // root's and OUs' ids are not known at deploy time: `*`. ListParents and ListPoliciesForTarget
      // answer only in the management account or a delegated administrator; elsewhere the path and the
      // policies are "not visible". All read-only.
      actions: [
        'organizations:DescribeOrganization',
        'organizations:ListParents',
        'organizations:ListPoliciesForTarget',
        'organizations:ListRoots',
      ],
      resources: ['*'],
    },
    {
      sid: 'ReadOrganizationPolicies',
      effect: Effect.ALLOW,
      // The content of SCPs and RCPs only (not of tag, backup or other policy types): the organization's
      // own (policy/o-ID/TYPE/p-ID) and AWS's (FullAWSAccess, RCPFullAWSAccess).
      actions: ['organizations:DescribePolicy'],
      resources: organizationPolicyResources(scope.partition),
    },
  ];
}

/** The store and the topics: keymend's own resources, each by its ARN. */
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
 * `kms:CreateGrant` only for the grants keymend makes (functions/core/plan.ts `planGrant`): grantee a
 * role or user of this account; operations within the Kinesis data-key ones; an
 * `EncryptionContextSubset` constraint whose only key is `aws:kinesis:arn` and whose value is a stream
 * of this account and Region; retiring principal the approval function's role; never a grant an AWS
 * service asks for on the grantee's behalf. For CreateGrant, `kms:EncryptionContextKeys` and
 * `kms:EncryptionContext:KEY` are the keys and values of the grant's constraint
 * (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html). Whether a direct call
 * carries `kms:GrantIsForAWSResource` as false or omits it is not documented: `BoolIfExists` holds
 * either way, and refuses only `true`.
 */
export function createGrantStatement(
  scope: Pick<IamScope, 'partition' | 'region' | 'account' | 'approvalRoleArn'>,
): PolicyStatementProps {
  const iamPrefix = `arn:${scope.partition}:iam::${scope.account}:`;
  return {
    sid: 'CreateKinesisGrants',
    effect: Effect.ALLOW,
    actions: ['kms:CreateGrant'],
    resources: [keyArnPattern(scope)],
    conditions: {
      // ForAllValues holds for an empty set too: ForAnyValue below makes aws:kinesis:arn required.
      'ForAllValues:StringEquals': {
        'kms:GrantOperations': [...GRANTABLE_OPERATIONS],
        'kms:EncryptionContextKeys': [KINESIS_CONTEXT_KEY],
      },
      'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': [KINESIS_CONTEXT_KEY] },
      StringEquals: {
        'kms:GrantConstraintType': 'EncryptionContextSubset',
        'kms:RetiringPrincipal': scope.approvalRoleArn,
      },
      StringLike: {
        'kms:GranteePrincipal': [`${iamPrefix}role/*`, `${iamPrefix}user/*`],
        [`kms:EncryptionContext:${KINESIS_CONTEXT_KEY}`]: `arn:${scope.partition}:kinesis:${scope.region}:${scope.account}:stream/*`,
      },
      BoolIfExists: { 'kms:GrantIsForAWSResource': 'false' },
    },
  };
}

/** The encryption-context key Kinesis passes, the only one a keymend grant's constraint holds. */
export const KINESIS_CONTEXT_KEY = 'aws:kinesis:arn';

/**
 * The explicit Denies both roles carry whatever the options: no grant to keymend's own roles (which
 * would let a compromised function give itself data-key power), and no IAM write of any kind on them
 * (no self-granted inline policy, no stripped Deny, no trust-policy change).
 */
export function ownRoleDenies(
  scope: Pick<IamScope, 'partition' | 'account' | 'ownRoleArns'>,
): PolicyStatementProps[] {
  const own = ownRolesPattern(scope);
  const exact: PolicyStatementProps[] =
    scope.ownRoleArns.length === 0
      ? []
      : [
          {
            sid: 'NeverGrantToKeymendRoles',
            effect: Effect.DENY,
            actions: ['kms:CreateGrant'],
            resources: ['*'],
            // Role names are case-insensitive in IAM: compare the exact ARNs without case too.
            conditions: { StringEqualsIgnoreCase: { 'kms:GranteePrincipal': [...scope.ownRoleArns] } },
          },
        ];
  return [
    {
      sid: 'NeverGrantToKeymend',
      effect: Effect.DENY,
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: {
        StringLike: { 'kms:GranteePrincipal': [own] },
      },
    },
    ...exact,
    {
      sid: 'NeverChangeKeymendRoles',
      effect: Effect.DENY,
      actions: [...OWN_ROLE_WRITES],
      resources: [own, ...scope.ownRoleArns],
    },
  ];
}

/** The verbs of every Organizations action that changes something (reads are Describe and List). */
const ORGANIZATIONS_WRITES = [
  'Accept',
  'Attach',
  'Cancel',
  'Close',
  'Create',
  'Decline',
  'Delete',
  'Deregister',
  'Detach',
  'Disable',
  'Enable',
  'Invite',
  'Leave',
  'Move',
  'Put',
  'Register',
  'Remove',
  'Tag',
  'Untag',
  'Update',
];

/** Every IAM action that changes a role or what it may do (and assuming it). */
export const OWN_ROLE_WRITES: readonly string[] = [
  'iam:AttachRolePolicy',
  'iam:CreateRole',
  'iam:DeleteRole',
  'iam:DeleteRolePermissionsBoundary',
  'iam:DeleteRolePolicy',
  'iam:DetachRolePolicy',
  'iam:PassRole',
  'iam:PutRolePermissionsBoundary',
  'iam:PutRolePolicy',
  'iam:TagRole',
  'iam:UntagRole',
  'iam:UpdateAssumeRolePolicy',
  'iam:UpdateRole',
  'iam:UpdateRoleDescription',
  'sts:AssumeRole',
];

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
 * The consumer's lag for the impact of a new problem: the stream's GetRecords.IteratorAgeMilliseconds and
 * a Lambda function's IteratorAge, in one GetMetricData request. GetMetricData supports no resource-level
 * permission and no condition on the namespace: `*`, read-only. A denial only leaves the lag out.
 */
export function consumerLagStatement(): PolicyStatementProps {
  return {
    sid: 'ReadConsumerLag',
    effect: Effect.ALLOW,
    actions: ['cloudwatch:GetMetricData'],
    resources: ['*'],
  };
}

/**
 * Approval links are signed by KMS HMAC keys (functions/adapters/link-signer.ts). The remediate
 * function, which parses event text, may make approve and reject links (GenerateMac with the decision
 * key) and never a revoke link: the revoke key is denied to it explicitly. The approval function signs
 * and checks both.
 */
export function remediateSigningStatements(scope: IamScope): PolicyStatementProps[] {
  return [
    {
      sid: 'SignDecisionLinks',
      effect: Effect.ALLOW,
      actions: ['kms:GenerateMac'],
      resources: [scope.decisionKeyArn],
    },
    {
      sid: 'NeverSignRevokeLinks',
      effect: Effect.DENY,
      actions: ['kms:GenerateMac', 'kms:VerifyMac'],
      resources: [scope.revokeKeyArn],
    },
  ];
}

/** The approval function signs and checks the links of both keys. */
export function approvalSigningStatements(scope: IamScope): PolicyStatementProps[] {
  return [
    {
      sid: 'SignAndCheckLinks',
      effect: Effect.ALLOW,
      actions: ['kms:GenerateMac', 'kms:VerifyMac'],
      resources: [scope.decisionKeyArn, scope.revokeKeyArn],
    },
  ];
}

/** The remediate function: reads and state always; writes only in auto mode, never key policies. */
export function remediateStatements(scope: IamScope, powers: WritePowers): PolicyStatementProps[] {
  const statements = [
    ...readStatements(scope),
    ...stateStatements(scope),
    consumerLagStatement(),
    ...remediateSigningStatements(scope),
  ];
  if (powers.mode === 'auto') {
    statements.push(
      createGrantStatement(scope),
      ...inlinePolicyStatements(powers.inlinePolicyPrincipals, false),
    );
  }
  statements.push(...ownRoleDenies(scope));
  return statements;
}

/**
 * The approval function: applies what a person approved (grant, inline policy, key policy when
 * enabled) and undoes what keymend applied (retire the grant, delete the inline policy, restore the
 * key policy). No `kms:RevokeGrant`: keymend's grants name this role as their retiring principal, and
 * RetireGrant is authorized by the grant itself, so it can undo keymend's grants and no other.
 */
export function approvalStatements(scope: IamScope, powers: WritePowers): PolicyStatementProps[] {
  const statements: PolicyStatementProps[] = [
    ...readStatements(scope),
    ...stateStatements(scope),
    ...approvalSigningStatements(scope),
    createGrantStatement(scope),
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
  statements.push(...ownRoleDenies(scope));
  return statements;
}

/**
 * The permissions boundary of both roles: the most either may ever do (the approval function's
 * statements are a superset of the remediate function's), plus RetireGrant (authorized by the grant;
 * listed so that a boundary cannot stand in its way), writing the functions' own logs and the
 * dead-letter queue, and explicit Denies: nothing on keymend's own roles, no role assumed, no
 * Organizations write. A policy attached to either role later cannot reach past it.
 */
export function boundaryStatements(
  scope: IamScope,
  powers: WritePowers,
  own: { logGroupArns: string[]; deadLetterQueueArn: string },
  hub?: HubScope,
): PolicyStatementProps[] {
  // The boundary is attached to the approval role, so it cannot name that role's ARN (a circular
  // dependency): there the retiring principal is any role under keymend's path.
  const allowed = approvalStatements(scope, powers)
    .filter((s) => s.effect !== Effect.DENY)
    .map((s) => (s.sid === 'CreateKinesisGrants' ? boundaryCreateGrant(scope) : s));
  return [
    ...allowed,
    {
      sid: 'RetireOwnGrants',
      effect: Effect.ALLOW,
      actions: ['kms:RetireGrant'],
      resources: [keyArnPattern(scope)],
    },
    {
      sid: 'WriteOwnLogs',
      effect: Effect.ALLOW,
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [...own.logGroupArns],
    },
    {
      sid: 'DeadLetters',
      effect: Effect.ALLOW,
      actions: ['sqs:SendMessage'],
      resources: [own.deadLetterQueueArn],
    },
    ...(hub ? [assumeMemberRoleStatement(hub), retireMemberGrantsStatement(hub)] : []),
    ...approvalStatements(scope, powers).filter((s) => s.effect === Effect.DENY),
    ...boundaryDenies(hub),
  ];
}

/**
 * The hub's approval role retires keymend's grants in member accounts itself: those grants name it as
 * their retiring principal (RetireGrant is authorized by the grant, and works across accounts with the
 * key ARN). Only on keys of the organization's accounts.
 */
export function retireMemberGrantsStatement(hub: HubScope): PolicyStatementProps {
  return {
    sid: 'RetireMemberGrants',
    effect: Effect.ALLOW,
    actions: ['kms:RetireGrant'],
    resources: [`arn:${hub.partition}:kms:*:*:key/*`],
    conditions: { StringEquals: { 'aws:ResourceOrgID': hub.organizationId } },
  };
}

/** An organization deployment's hub: its partition and its organization. */
export interface HubScope {
  partition: string;
  /** `o-...` */
  organizationId: string;
}

/** Every member account's member role (the StackSet gives it the same path and name everywhere). */
export function memberRolePattern(partition: string): string {
  return `arn:${partition}:iam::*:role${KEYMEND_ROLE_PATH}${MEMBER_ROLE.name}`;
}

/**
 * The sessions a hub function may open in member accounts: `read` (the remediate function in propose
 * mode: `keymend-read-...`, which the member role lets write nothing), `auto` (the remediate function in
 * auto mode: `keymend-auto-...`, which it lets make only what auto mode applies), `any` (`keymend-...`).
 */
export type MemberSessions = 'read' | 'auto' | 'any';

const SESSION_PREFIX: Record<MemberSessions, string> = {
  read: MEMBER_ROLE.readOnlySourceIdentityPrefix,
  auto: MEMBER_ROLE.autoSourceIdentityPrefix,
  any: MEMBER_ROLE.sourceIdentityPrefix,
};

/**
 * The hub's functions assume the member roles, and nothing else: only roles of the organization
 * (`aws:ResourceOrgID`), only while setting a source identity `keymend-...` (the proposal, named in
 * the member account's CloudTrail), as the member role's trust policy requires too; the remediate
 * function only with the narrower prefix of its mode (`sessions`).
 */
export function assumeMemberRoleStatement(
  hub: HubScope,
  sessions: MemberSessions = 'any',
): PolicyStatementProps {
  const prefix = SESSION_PREFIX[sessions];
  return {
    sid: 'AssumeMemberRoles',
    effect: Effect.ALLOW,
    actions: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
    resources: [memberRolePattern(hub.partition)],
    conditions: {
      StringEquals: { 'aws:ResourceOrgID': hub.organizationId },
      StringLike: { 'sts:SourceIdentity': `${prefix}*` },
    },
  };
}

/**
 * The Denies every keymend boundary ends with: no role assumed (in an organization hub's boundary, none
 * but the member roles of its organization), no Organizations write.
 */
function boundaryDenies(hub?: HubScope): PolicyStatementProps[] {
  const assume: PolicyStatementProps[] = hub
    ? [
        {
          sid: 'NeverAssumeRoles',
          effect: Effect.DENY,
          actions: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
          notResources: [memberRolePattern(hub.partition)],
        },
        {
          sid: 'NeverAssumeRolesOutsideTheOrganization',
          effect: Effect.DENY,
          actions: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
          resources: [memberRolePattern(hub.partition)],
          conditions: { StringNotEquals: { 'aws:ResourceOrgID': hub.organizationId } },
        },
        {
          sid: 'NeverAssumeFederatedRoles',
          effect: Effect.DENY,
          actions: ['sts:AssumeRoleWithSAML', 'sts:AssumeRoleWithWebIdentity'],
          resources: ['*'],
        },
      ]
    : [
        {
          sid: 'NeverAssumeRoles',
          effect: Effect.DENY,
          actions: ['sts:AssumeRole', 'sts:AssumeRoleWithSAML', 'sts:AssumeRoleWithWebIdentity'],
          resources: ['*'],
        },
      ];
  return [
    ...assume,
    {
      sid: 'NeverChangeOrganizations',
      effect: Effect.DENY,
      actions: ORGANIZATIONS_WRITES.map((verb) => `organizations:${verb}*`),
      resources: ['*'],
    },
  ];
}

/** createGrantStatement with the retiring principal any role under keymend's path. */
function boundaryCreateGrant(scope: IamScope): PolicyStatementProps {
  const statement = createGrantStatement(scope);
  const conditions = statement.conditions as Record<string, Record<string, unknown>>;
  const { 'kms:RetiringPrincipal': _exact, ...equals } = conditions.StringEquals ?? {};
  return {
    ...statement,
    conditions: {
      ...conditions,
      StringEquals: equals,
      StringLike: { ...conditions.StringLike, 'kms:RetiringPrincipal': ownRolesPattern(scope) },
    },
  };
}

/** Every action that changes something outside keymend's own resources. */
export const WRITE_ACTIONS: readonly string[] = [
  'kms:CreateGrant',
  'kms:RetireGrant',
  'kms:PutKeyPolicy',
  'iam:PutRolePolicy',
  'iam:DeleteRolePolicy',
  'iam:PutUserPolicy',
  'iam:DeleteUserPolicy',
];

// ---------------------------------------------------------------------------------------------
// The member role of an organization deployment (infra/keymend-member.ts)

/** The member role's name, the same in every member account (the hub assumes it by name). */
export const MEMBER_ROLE_NAME = MEMBER_ROLE.name;

/**
 * What the hub sets as `sts:SourceIdentity` when it assumes a member role: this prefix and the
 * proposal id, so the member account's CloudTrail names the proposal that acted. The trust policy
 * refuses a session without it.
 */
export const SOURCE_IDENTITY_PREFIX = MEMBER_ROLE.sourceIdentityPrefix;

/** A member account as its role sees it. The role is global; the Regions are the StackSet's. */
export interface MemberScope {
  partition: string;
  account: string;
  /** The Regions the member stacks are deployed to: grants are made on keys of these only. */
  regions: readonly string[];
  /** The hub's approval function role: the retiring principal of every grant made in the member. */
  retiringPrincipalArn: string;
  /** The member role itself (also under KEYMEND_ROLE_PATH). */
  memberRoleArn: string;
}

/** A Region as a statement id suffix (Sids are alphanumeric). */
function regionSid(region: string): string {
  return region.replace(/[^A-Za-z0-9]/g, '');
}

/**
 * The member role's statements: the reads of the single-account functions and the writes issue 19
 * allows the approval function (a grant with the same conditions and retiring principal, inline
 * policies only on the configured patterns, key policies only when enabled), one grant statement per
 * Region so that a key and the stream its grant names are always in the same Region. No state, no
 * signing: the table, topics and link keys stay in the hub. keymend's own Denies apply to the member
 * role too.
 */
export function memberStatements(scope: MemberScope, powers: WritePowers): PolicyStatementProps[] {
  const statements: PolicyStatementProps[] = [];
  scope.regions.forEach((region, index) => {
    const regional = { partition: scope.partition, account: scope.account, region };
    for (const read of readStatements(regional)) {
      // Region-independent reads (IAM, aliases, organization) once; keys and streams per Region.
      const perRegion = read.sid === 'ReadKeys' || read.sid === 'ReadStreams';
      if (perRegion) statements.push({ ...read, sid: `${read.sid}${regionSid(region)}` });
      else if (index === 0) statements.push(read);
    }
  });
  for (const region of scope.regions) {
    const grant = createGrantStatement({
      partition: scope.partition,
      account: scope.account,
      region,
      approvalRoleArn: scope.retiringPrincipalArn,
    });
    statements.push({ ...grant, sid: `${grant.sid}${regionSid(region)}` });
  }
  statements.push(...inlinePolicyStatements(powers.inlinePolicyPrincipals, true));
  if (powers.keyPolicyChanges) {
    const keys = scope.regions.map((region) =>
      keyArnPattern({ partition: scope.partition, account: scope.account, region }),
    );
    statements.push(
      { sid: 'PutKeyPolicy', effect: Effect.ALLOW, actions: ['kms:PutKeyPolicy'], resources: keys },
      {
        sid: 'NeverBypassLockoutCheck',
        effect: Effect.DENY,
        actions: ['kms:PutKeyPolicy'],
        resources: keys,
        conditions: { Bool: { 'kms:BypassPolicyLockoutSafetyCheck': 'true' } },
      },
    );
  }
  statements.push(
    ...ownRoleDenies({
      partition: scope.partition,
      account: scope.account,
      ownRoleArns: [scope.memberRoleArn],
    }),
    {
      // The hub's remediate function in propose mode may assume this role only as keymend-read-<id>:
      // the function that parses event text writes nothing here either.
      sid: 'NeverWriteFromReadSessions',
      effect: Effect.DENY,
      actions: [...WRITE_ACTIONS].sort(),
      resources: ['*'],
      conditions: { StringLike: { 'aws:SourceIdentity': `${MEMBER_ROLE.readOnlySourceIdentityPrefix}*` } },
    },
    {
      // The hub's remediate function in auto mode may assume this role only as keymend-auto-<id>: as
      // at home (remediateStatements), it makes grants and puts inline policies, and never changes a
      // key policy, deletes an inline policy or retires a grant (those wait for a person's approval).
      sid: 'OnlyAutoFixesFromAutoSessions',
      effect: Effect.DENY,
      actions: WRITE_ACTIONS.filter((a) => a !== 'kms:CreateGrant' && !/^iam:Put/.test(a)).sort(),
      resources: ['*'],
      conditions: { StringLike: { 'aws:SourceIdentity': `${MEMBER_ROLE.autoSourceIdentityPrefix}*` } },
    },
  );
  return statements;
}

/**
 * The member role's permissions boundary: its own statements' Allows (the most it may ever do), the
 * Denies, and the Denies every keymend boundary carries (no role assumed, no Organizations write).
 */
export function memberBoundaryStatements(scope: MemberScope, powers: WritePowers): PolicyStatementProps[] {
  const statements = memberStatements(scope, powers);
  return [
    ...statements.filter((s) => s.effect !== Effect.DENY),
    ...statements.filter((s) => s.effect === Effect.DENY),
    ...boundaryDenies(),
  ];
}
