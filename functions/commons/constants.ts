/**
 * Names that the functions and the CDK stack (infra/) share, so a rename cannot leave them disagreeing.
 * Node builtins only: infra/ imports this file.
 */

/** Environment variables the functions read once, at cold start. */
export const ENV = {
  /** DynamoDB table name. */
  tableName: 'KEYMEND_TABLE',
  /** SNS topic ARN for e-mail (plain text). */
  emailTopicArn: 'KEYMEND_EMAIL_TOPIC_ARN',
  /** SNS topic ARN for chat (AWS Chatbot custom notifications); empty when there is none. */
  chatTopicArn: 'KEYMEND_CHAT_TOPIC_ARN',
  /** The KMS HMAC key (ARN) that signs approve and reject links: every function may use it. */
  decisionKeyId: 'KEYMEND_DECISION_KEY_ID',
  /**
   * The KMS HMAC key (ARN) that signs revoke links: set for the approval function only, which alone
   * may use it (the remediate function parses event text and must not be able to make a revoke link).
   */
  revokeKeyId: 'KEYMEND_REVOKE_KEY_ID',
  /** The approval function's base URL (its function URL), for the links in notifications. */
  approvalUrl: 'KEYMEND_APPROVAL_URL',
  /** `propose` (default) or `auto`. */
  mode: 'KEYMEND_MODE',
  /** Comma-separated ARN patterns of principals auto mode may fix. */
  autoApplyPrincipals: 'KEYMEND_AUTO_APPLY_PRINCIPALS',
  /** The mechanism to try first: kms-grant (default), iam-inline-policy, key-policy-statement. */
  preferMechanism: 'KEYMEND_PREFER_MECHANISM',
  /** How long approval links work, in hours (default 72). */
  linkTtlHours: 'KEYMEND_LINK_TTL_HOURS',
  /** At most this many automatic applies per hour (default 10). */
  autoApplyHourlyLimit: 'KEYMEND_AUTO_APPLY_HOURLY_LIMIT',
  /** `true` lets auto mode fix principals managed by CloudFormation (default false). */
  autoApplyCloudFormation: 'KEYMEND_AUTO_APPLY_CLOUDFORMATION',
  /** Which mechanisms may be applied at all (comma-separated); key-policy-statement is off by default. */
  enabledMechanisms: 'KEYMEND_ENABLED_MECHANISMS',
  /** How long a rejected fingerprint stays quiet, in hours (default 168: seven days). */
  rejectSuppressHours: 'KEYMEND_REJECT_SUPPRESS_HOURS',
  /**
   * The role ARN every grant keymend creates names as its retiring principal: the approval function's,
   * which alone can then retire it (RetireGrant is authorized by the grant).
   */
  retiringPrincipal: 'KEYMEND_RETIRING_PRINCIPAL',
  /**
   * The organization of an organization deployment's hub (`o-...`): the functions then read and write
   * member accounts through their member role. Unset in a single-account stack.
   */
  organizationId: 'KEYMEND_ORGANIZATION_ID',
  /**
   * The notification routes (commons/settings.ts `ROUTES`): `KEY=TOPIC,...` in order, KEY an account id
   * or an OU id, TOPIC a topic ARN or the name of a topic in the e-mail topic's account and Region.
   * Empty or unset: every e-mail goes to the e-mail topic.
   */
  notificationRoutes: 'KEYMEND_NOTIFICATION_ROUTES',
} as const;

/** The DynamoDB table's key attributes and TTL attribute. */
export const TABLE = {
  partitionKey: 'pk',
  ttlAttribute: 'ttl',
  /**
   * The status index (a sparse global secondary index: only proposal items carry `status`), newest
   * change first: `keymend list --aws` reads it; the functions never query it.
   */
  statusIndex: 'status-index',
  statusAttribute: 'status',
  updatedAttribute: 'updatedAt',
} as const;

/** The tag that opts a principal into auto mode. */
export const AUTO_REMEDIATE_TAG = { key: 'keymend:auto-remediate', value: 'true' } as const;
/** CloudFormation's tag on the resources it manages. */
export const CLOUDFORMATION_STACK_TAG = 'aws:cloudformation:stack-name';

/** The KMS operations keymend handles: the EventBridge rule's `detail.eventName` values. */
export const HANDLED_KMS_EVENT_NAMES = [
  'Decrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
] as const;
/** The service principal Kinesis appears as in CloudTrail's `invokedBy` and `sourceIPAddress`. */
export const KINESIS_SERVICE_PRINCIPAL = 'kinesis.amazonaws.com';

/** The errorCode values of a KMS denial in CloudTrail. */
export const ACCESS_DENIED_ERROR_CODES = ['AccessDenied', 'AccessDeniedException'] as const;

/** Grants take up to five minutes to be effective everywhere (KMS eventual consistency). */
export const GRANT_PROPAGATION_NOTE =
  'KMS grants take effect within about five minutes: denials may go on for a few minutes after the grant is created.';

/** The Lambda functions' timeouts, in seconds: infra sets them, and the store's leases outlast them. */
export const FUNCTION_TIMEOUT_SECONDS = { remediate: 60, approval: 30 } as const;

/**
 * How long an invocation's claim holds while it works: an event id (claimEvent), a new fingerprint
 * (claimFingerprint), a proposal it moved to `applying`. Longer than any keymend function may run, so
 * a live invocation never loses its claim; one that was killed or timed out frees it then. Shorter
 * than the minute Lambda waits before retrying a failed asynchronous invocation plus the remediate
 * timeout, so that retry finds the event free (infra's test checks both).
 */
export const CLAIM_LEASE_SECONDS = 90;

/** Handler entry files, relative to the repository root, for infra/ and the bundle tests. */
export const HANDLER_ENTRIES = {
  remediate: 'functions/handlers/remediate.ts',
  approval: 'functions/handlers/approval.ts',
} as const;

/**
 * The member role of an organization deployment: its name (the same in every member account, under
 * keymend's role path `/keymend/`), and the prefix of the `sts:SourceIdentity` the hub sets when it
 * assumes it (the prefix and the proposal id, so the member account's CloudTrail names the proposal
 * that acted; the role's trust policy refuses a session without it).
 */
export const MEMBER_ROLE = {
  name: 'keymend-member',
  path: '/keymend/',
  sourceIdentityPrefix: 'keymend-',
  /**
   * The source identity of a session that may only read (`keymend-read-<proposal id>`): the hub's
   * remediate function in propose mode may set no other, and the member role denies every write to
   * such a session, so the function that parses event text cannot write in a member account either.
   */
  readOnlySourceIdentityPrefix: 'keymend-read-',
  /**
   * The source identity of the hub's remediate function in auto mode (`keymend-auto-<proposal id>`): it
   * may set no other, and the member role lets such a session make only what auto mode applies (a grant,
   * an inline policy), never change a key policy or delete, as the remediate role cannot at home.
   */
  autoSourceIdentityPrefix: 'keymend-auto-',
} as const;

/**
 * Distinct sessions denied are kept exactly up to this many per problem and period (as hashes on its
 * fingerprint item, core/denials-seen.ts); past it, people are told "at least" this many. It bounds the
 * item: 100 hashes of 16 characters are under 2 KB.
 */
export const SESSION_CAP = 100;
