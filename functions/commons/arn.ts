/**
 * Strict ARN shape checks, the one place keymend decides what an ARN, key id, alias or Region is:
 * the intake, the snapshot validator and the AWS readers all ask here, so the same ARN means the
 * same thing everywhere. Every ARN keymend reads comes from an event or an account and is
 * untrusted: these functions take `unknown`, never throw, and return null (or false) for anything
 * that is not exactly the expected shape, so a malformed ARN can never reach a policy keymend writes.
 */

/** ARNs longer than this are rejected: IAM's own limit for resource ARNs is 2048 characters. */
export const MAX_ARN_LENGTH = 2048;

/**
 * AWS's partitions. The ARN reference names the first three; the AWS SDKs' partition table adds
 * the isolated (ISO) partitions and the European Sovereign Cloud, whose ARNs have the same shape.
 */
export const PARTITIONS = [
  'aws',
  'aws-cn',
  'aws-us-gov',
  'aws-iso',
  'aws-iso-b',
  'aws-iso-e',
  'aws-iso-f',
  'aws-eusc',
] as const;
export type Partition = (typeof PARTITIONS)[number];

/**
 * The Regions of each partition, after the `regionRegex` of the SDKs' partition table; the first
 * match wins, so `cn-` is tried before the commercial rule. Commercial Regions are any two-letter
 * prefix (new country codes keep appearing) with one word: `us-gov-`, `us-iso-` and the like have
 * two and belong to their own partition, and a two-word Region of no known partition is refused.
 */
const REGION_PARTITIONS: ReadonlyArray<readonly [RegExp, Partition]> = [
  [/^cn-[a-z]+-\d{1,2}$/, 'aws-cn'],
  [/^us-gov-[a-z]+-\d{1,2}$/, 'aws-us-gov'],
  [/^us-iso-[a-z]+-\d{1,2}$/, 'aws-iso'],
  [/^us-isob-[a-z]+-\d{1,2}$/, 'aws-iso-b'],
  [/^eu-isoe-[a-z]+-\d{1,2}$/, 'aws-iso-e'],
  [/^us-isof-[a-z]+-\d{1,2}$/, 'aws-iso-f'],
  [/^eusc-de-[a-z]+-\d{1,2}$/, 'aws-eusc'],
  [/^[a-z]{2}-[a-z]+-\d{1,2}$/, 'aws'],
];
/** KMS's own limit for a Region name. */
const MAX_REGION_LENGTH = 32;

export interface Arn {
  partition: Partition;
  service: string;
  /** Empty for global services (IAM, STS, Organizations). */
  region: string;
  /** Twelve digits, `aws` (AWS-managed policies) or empty. */
  accountId: string;
  resource: string;
}

export type KeyArn = Arn & { keyId: string };
export type AliasArn = Arn & { aliasName: string };
export type StreamArn = Arn & { streamName: string };
export type RoleArn = Arn & { path: string; roleName: string };
export type UserArn = Arn & { path: string; userName: string };
/** A role or a user: the principals that own IAM policies. */
export type PrincipalArn = Arn & { kind: 'role' | 'user'; path: string; name: string };
/** A managed policy; `owner` is the account id, or `aws` for AWS-managed policies. */
export type PolicyArn = Arn & { owner: string; path: string; name: string };

const SERVICE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const ACCOUNT = /^\d{12}$/;
/** Printable ASCII without spaces or quotes: nothing a real resource id contains. */
const RESOURCE = /^[\x21\x23-\x26\x28-\x7e]+$/;
/** IAM names (roles, users, policies, sessions): letters, digits and +=,.@_- (IAM identifiers). */
const IAM_NAME = /^[\w+=,.@-]{1,128}$/;
/** Role and user names are at most 64 characters; policy names 128. */
const MAX_PRINCIPAL_NAME = 64;
/**
 * One segment of an IAM path. IAM allows any printable ASCII (CreateRole's Path pattern); keymend
 * also refuses `*`, `?` and `$`, which a policy reads as wildcards or a variable, so that every ARN
 * accepted here can be written into a policy literally. RESOURCE has already kept out spaces and quotes.
 */
const IAM_PATH_SEGMENT = /^[^/*?$]+$/;
/** IAM's limit for a path, slashes included. */
const MAX_IAM_PATH = 512;
/**
 * A KMS key id: a UUID, or `mrk-` and 32 characters for a multi-Region key. Real ids are lowercase
 * hex; both forms take any letter because AWS's documentation examples do (`...-EXAMPLE11111`).
 */
const KEY_ID =
  /^(?:[A-Za-z0-9]{8}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{12}|mrk-[A-Za-z0-9]{32})$/;
/** `alias/` and up to 250 of letters, digits, `/`, `_` and `-` (CreateAlias: 256 in all). */
const ALIAS_NAME = /^alias\/[A-Za-z0-9/_-]{1,250}$/;
/** Kinesis StreamName: `[a-zA-Z0-9_.-]+`, 1 to 128 characters. */
const STREAM_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
/** A service principal such as `kinesis.amazonaws.com` (`.com.cn` in China). */
const SERVICE_PRINCIPAL = /^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(?:\.cn)?$/;

/** True for a twelve-digit AWS account id. */
export function isAccountId(value: unknown): value is string {
  return typeof value === 'string' && ACCOUNT.test(value);
}

/**
 * The partition a Region belongs to (`cn-north-1` is `aws-cn`, `us-gov-west-1` is `aws-us-gov`,
 * `us-isob-east-1` is `aws-iso-b`, ...), or null when `value` is not a Region of any partition.
 */
export function partitionOfRegion(value: unknown): Partition | null {
  if (typeof value !== 'string' || value.length > MAX_REGION_LENGTH) return null;
  for (const [pattern, partition] of REGION_PARTITIONS) if (pattern.test(value)) return partition;
  return null;
}

/** True for a Region code of some partition, such as `us-east-1` (shape only, not a list of Regions). */
export function isRegion(value: unknown): value is string {
  return partitionOfRegion(value) !== null;
}

function isPartition(value: string): value is Partition {
  return (PARTITIONS as readonly string[]).includes(value);
}

/**
 * Splits an ARN into its parts: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`. Returns null for
 * non-strings, strings over {@link MAX_ARN_LENGTH}, any part out of shape, and a Region of another
 * partition than the ARN's (each account, and so each resource, lives in one partition).
 */
export function parseArn(value: unknown): Arn | null {
  if (typeof value !== 'string' || value.length > MAX_ARN_LENGTH || !value.startsWith('arn:')) return null;
  const parts = value.split(':');
  if (parts.length < 6) return null;
  const [, partition = '', service = '', region = '', accountId = ''] = parts;
  const resource = parts.slice(5).join(':');
  if (!isPartition(partition) || !SERVICE.test(service)) return null;
  if (region !== '' && partitionOfRegion(region) !== partition) return null;
  if (accountId !== '' && accountId !== 'aws' && !ACCOUNT.test(accountId)) return null;
  if (!RESOURCE.test(resource)) return null;
  return { partition, service, region, accountId, resource };
}

/** The account id of an ARN (twelve digits, or `aws` for AWS-managed policies); null for none or no ARN. */
export function arnAccount(value: unknown): string | null {
  const arn = parseArn(value);
  return arn === null || arn.accountId === '' ? null : arn.accountId;
}

/** The partition of an ARN, or null for no ARN. */
export function arnPartition(value: unknown): Partition | null {
  return parseArn(value)?.partition ?? null;
}

/** An ARN of `service` with an account id, and a Region exactly when the service is regional. */
function serviceArn(value: unknown, service: string, regional: boolean): Arn | null {
  const arn = parseArn(value);
  if (arn === null || arn.service !== service || !ACCOUNT.test(arn.accountId)) return null;
  return (arn.region !== '') === regional ? arn : null;
}

/** A KMS key ARN: `arn:P:kms:REGION:ACCOUNT:key/KEY_ID`. */
export function parseKeyArn(value: unknown): KeyArn | null {
  const arn = serviceArn(value, 'kms', true);
  if (arn === null) return null;
  const keyId = arn.resource.startsWith('key/') ? arn.resource.slice(4) : '';
  return KEY_ID.test(keyId) ? Object.assign(arn, { keyId }) : null;
}

/** A KMS alias ARN: `arn:P:kms:REGION:ACCOUNT:alias/NAME`. */
export function parseAliasArn(value: unknown): AliasArn | null {
  const arn = serviceArn(value, 'kms', true);
  if (arn === null) return null;
  return ALIAS_NAME.test(arn.resource) ? Object.assign(arn, { aliasName: arn.resource }) : null;
}

/** A bare KMS key id (UUID or `mrk-...`), as `requestParameters.keyId` may carry it. */
export function isKeyId(value: unknown): value is string {
  return typeof value === 'string' && KEY_ID.test(value);
}

/** An alias name, `alias/NAME`, `alias/aws/kinesis` included. */
export function isAliasName(value: unknown): value is string {
  return typeof value === 'string' && ALIAS_NAME.test(value);
}

/**
 * A Kinesis data stream ARN: `arn:P:kinesis:REGION:ACCOUNT:stream/NAME`. The form without
 * `stream/` (as in an old AWS example) is rejected: no real stream has it.
 */
export function parseStreamArn(value: unknown): StreamArn | null {
  const arn = serviceArn(value, 'kinesis', true);
  if (arn === null) return null;
  const streamName = arn.resource.startsWith('stream/') ? arn.resource.slice(7) : '';
  return STREAM_NAME.test(streamName) ? Object.assign(arn, { streamName }) : null;
}

/** Splits an IAM `TYPE/PATH.../NAME` resource; null unless the path and the name are IAM's. */
function iamPathAndName(
  resource: string,
  type: string,
  maxName: number,
): { path: string; name: string } | null {
  if (!resource.startsWith(`${type}/`)) return null;
  const segments = resource.slice(type.length + 1).split('/');
  const name = segments.pop() ?? '';
  if (name.length > maxName || !IAM_NAME.test(name)) return null;
  if (!segments.every((s) => IAM_PATH_SEGMENT.test(s))) return null;
  const path = segments.length === 0 ? '/' : `/${segments.join('/')}/`;
  return path.length <= MAX_IAM_PATH ? { path, name } : null;
}

/** An IAM role ARN, path included: `arn:P:iam::ACCOUNT:role/PATH/NAME`. */
export function parseRoleArn(value: unknown): RoleArn | null {
  const arn = serviceArn(value, 'iam', false);
  const parts = arn && iamPathAndName(arn.resource, 'role', MAX_PRINCIPAL_NAME);
  return arn && parts ? Object.assign(arn, { path: parts.path, roleName: parts.name }) : null;
}

/** An IAM user ARN: `arn:P:iam::ACCOUNT:user/PATH/NAME`. */
export function parseUserArn(value: unknown): UserArn | null {
  const arn = serviceArn(value, 'iam', false);
  const parts = arn && iamPathAndName(arn.resource, 'user', MAX_PRINCIPAL_NAME);
  return arn && parts ? Object.assign(arn, { path: parts.path, userName: parts.name }) : null;
}

/**
 * An IAM role ARN (with its path) or user ARN, the principals whose policies IAM can list, with
 * `kind` saying which; null for anything else, role-session ARNs included.
 */
export function parsePrincipalArn(value: unknown): PrincipalArn | null {
  const role = parseRoleArn(value);
  if (role) return Object.assign(role, { kind: 'role' as const, name: role.roleName });
  const user = parseUserArn(value);
  return user && Object.assign(user, { kind: 'user' as const, name: user.userName });
}

/** A managed policy ARN, customer (`iam::ACCOUNT:policy/PATH/NAME`) or AWS (`iam::aws:policy/...`). */
export function parsePolicyArn(value: unknown): PolicyArn | null {
  const arn = parseArn(value);
  if (arn === null || arn.service !== 'iam' || arn.region !== '') return null;
  if (arn.accountId !== 'aws' && !ACCOUNT.test(arn.accountId)) return null;
  const parts = iamPathAndName(arn.resource, 'policy', 128);
  return parts && Object.assign(arn, { owner: arn.accountId, path: parts.path, name: parts.name });
}

/** The account root: `arn:P:iam::ACCOUNT:root`. */
export function parseRootArn(value: unknown): Arn | null {
  const arn = serviceArn(value, 'iam', false);
  return arn && arn.resource === 'root' ? arn : null;
}

/** An STS role-session ARN: `arn:P:sts::ACCOUNT:assumed-role/ROLE_NAME/SESSION_NAME` (no path). */
export function parseAssumedRoleArn(
  value: unknown,
): (Arn & { roleName: string; sessionName: string }) | null {
  const arn = serviceArn(value, 'sts', false);
  if (arn === null) return null;
  const segments = arn.resource.split('/');
  if (segments.length !== 3 || segments[0] !== 'assumed-role') return null;
  const [, roleName = '', sessionName = ''] = segments;
  if (roleName.length > MAX_PRINCIPAL_NAME || !IAM_NAME.test(roleName) || !IAM_NAME.test(sessionName)) {
    return null;
  }
  return Object.assign(arn, { roleName, sessionName });
}

/** An STS federated-user ARN: `arn:P:sts::ACCOUNT:federated-user/NAME`. */
export function parseFederatedUserArn(value: unknown): (Arn & { userName: string }) | null {
  const arn = serviceArn(value, 'sts', false);
  if (arn === null) return null;
  const segments = arn.resource.split('/');
  if (segments.length !== 2 || segments[0] !== 'federated-user') return null;
  const userName = segments[1] ?? '';
  return IAM_NAME.test(userName) ? Object.assign(arn, { userName }) : null;
}

/** SNS topic names: letters, digits, `_` and `-`, 1 to 256 characters (CreateTopic, standard topics). */
export const TOPIC_NAME = /^[A-Za-z0-9_-]{1,256}$/;

/** An SNS topic ARN: `arn:P:sns:REGION:ACCOUNT:NAME` (a standard topic: no `.fifo`). */
export function parseTopicArn(value: unknown): (Arn & { topicName: string }) | null {
  const arn = serviceArn(value, 'sns', true);
  return arn && TOPIC_NAME.test(arn.resource) ? Object.assign(arn, { topicName: arn.resource }) : null;
}

/** A Secrets Manager secret's name (with the six-character suffix AWS adds): the characters it allows. */
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

/** A Secrets Manager secret ARN: `arn:P:secretsmanager:REGION:ACCOUNT:secret:NAME-SUFFIX`. */
export function parseSecretArn(value: unknown): (Arn & { secretName: string }) | null {
  const arn = serviceArn(value, 'secretsmanager', true);
  if (arn === null || !arn.resource.startsWith('secret:')) return null;
  const secretName = arn.resource.slice('secret:'.length);
  return SECRET_NAME.test(secretName) ? Object.assign(arn, { secretName }) : null;
}

/**
 * An ARN as it stands in prose, such as AWS's access-denied messages: `arn:` up to the next space or
 * quote. The source of a regular expression, to be embedded in a larger one; what it captures is
 * still untrusted and goes through one of the parsers here.
 */
export const ARN_IN_TEXT = String.raw`arn:[^\s"']+`;

/**
 * What an IAM principal ARN pattern (`*` and `?` wildcards, as in auto mode's principal list) names:
 * `role` or `user`, or undefined when it names neither, or is no ARN pattern.
 */
export function principalPatternKind(pattern: string): 'role' | 'user' | undefined {
  const match = /^arn:[a-z-]+:iam::(?:\d{12}|\*):(role|user)\/[\x21-\x7e]+$/.exec(pattern);
  return match?.[1] as 'role' | 'user' | undefined;
}

/**
 * Why a principal pattern may not be given write power (auto mode, inline policies), or undefined when
 * it may: its account must be one literal account id (never `*`, `?` or a partial one), and its name
 * must hold at least one character that is not a wildcard or a path separator (`role/*`, `role/?*`
 * and `role/*` + `/*` name every role).
 */
export function unsafePrincipalPattern(pattern: string): string | undefined {
  const match = /^arn:[a-z-]+:iam::([^:]*):(?:role|user)\/(.*)$/.exec(pattern);
  if (!match) return 'it is not a role or user ARN pattern';
  const [, account = '', name = ''] = match;
  if (!/^\d{12}$/.test(account)) return `its account '${account}' is not one 12-digit account id`;
  if (/^[*?/]*$/.test(name)) return 'its name is only wildcards: it would name every principal';
  return undefined;
}

/**
 * What a KMS grant may name as grantee or retiring principal: an account root, a role or user, a
 * role session or federated user (the ARN's partition is returned), or a service principal
 * (`service`); null for anything else.
 */
export function grantPrincipalKind(value: unknown): Partition | 'service' | null {
  if (typeof value === 'string' && value.length <= MAX_ARN_LENGTH && SERVICE_PRINCIPAL.test(value)) {
    return 'service';
  }
  const arn =
    parsePrincipalArn(value) ??
    parseRootArn(value) ??
    parseAssumedRoleArn(value) ??
    parseFederatedUserArn(value);
  return arn?.partition ?? null;
}
