/**
 * Strict ARN shape checks. Every ARN keymend reads comes from an event or an account and is
 * untrusted: these functions take `unknown`, never throw, and return null for anything that is
 * not exactly the expected shape, so a malformed ARN can never reach a policy keymend writes.
 */

/** ARNs longer than this are rejected: IAM's own limit for resource ARNs is 2048 characters. */
export const MAX_ARN_LENGTH = 2048;

export interface Arn {
  /** `aws`, `aws-cn`, `aws-us-gov`, `aws-iso`, ... */
  partition: string;
  service: string;
  /** Empty for global services (IAM, Organizations). */
  region: string;
  /** Twelve digits, `aws` (AWS-managed policies) or empty. */
  accountId: string;
  resource: string;
}

const PARTITION = /^aws(?:-[a-z]+)*$/;
const SERVICE = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** us-east-1, eu-central-2, us-gov-west-1, cn-north-1, us-isob-east-1, ... */
const REGION = /^[a-z]{2}(?:-[a-z]+){1,2}-\d{1,2}$/;
const ACCOUNT = /^\d{12}$/;
/** Printable ASCII without spaces or quotes: nothing a real resource id contains. */
const RESOURCE = /^[\x21\x23-\x26\x28-\x7e]+$/;
/** IAM names and path segments (roles, users): the characters IAM allows. */
const IAM_NAME = /^[\w+=,.@-]{1,128}$/;
/** A KMS key id: a UUID (AWS's documentation examples use letters beyond hex) or a multi-Region id. */
const KEY_ID =
  /^(?:[A-Za-z0-9]{8}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{12}|mrk-[0-9a-f]{32})$/;
const ALIAS_NAME = /^alias\/[A-Za-z0-9/_-]{1,250}$/;
const STREAM_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

/** True for a twelve-digit AWS account id. */
export function isAccountId(value: unknown): value is string {
  return typeof value === 'string' && ACCOUNT.test(value);
}

/** True for a Region code such as `us-east-1` (shape only, not a list of Regions). */
export function isRegion(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 32 && REGION.test(value);
}

/**
 * Splits an ARN into its parts: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
 * Returns null for non-strings, strings over {@link MAX_ARN_LENGTH}, and any part out of shape.
 */
export function parseArn(value: unknown): Arn | null {
  if (typeof value !== 'string' || value.length > MAX_ARN_LENGTH || !value.startsWith('arn:')) return null;
  const parts = value.split(':');
  if (parts.length < 6) return null;
  const [, partition = '', service = '', region = '', accountId = ''] = parts;
  const resource = parts.slice(5).join(':');
  if (!PARTITION.test(partition) || !SERVICE.test(service)) return null;
  if (region !== '' && !isRegion(region)) return null;
  if (accountId !== '' && accountId !== 'aws' && !ACCOUNT.test(accountId)) return null;
  if (!RESOURCE.test(resource)) return null;
  return { partition, service, region, accountId, resource };
}

/** An ARN of `service` with an account id, and a Region exactly when the service is regional. */
function serviceArn(value: unknown, service: string, regional: boolean): Arn | null {
  const arn = parseArn(value);
  if (arn === null || arn.service !== service || !ACCOUNT.test(arn.accountId)) return null;
  return (arn.region !== '') === regional ? arn : null;
}

/** A KMS key ARN: `arn:P:kms:REGION:ACCOUNT:key/KEY_ID`. */
export function parseKeyArn(value: unknown): (Arn & { keyId: string }) | null {
  const arn = serviceArn(value, 'kms', true);
  if (arn === null) return null;
  const keyId = arn.resource.startsWith('key/') ? arn.resource.slice(4) : '';
  return KEY_ID.test(keyId) ? Object.assign(arn, { keyId }) : null;
}

/** A KMS alias ARN: `arn:P:kms:REGION:ACCOUNT:alias/NAME`. */
export function parseAliasArn(value: unknown): (Arn & { aliasName: string }) | null {
  const arn = serviceArn(value, 'kms', true);
  if (arn === null) return null;
  return ALIAS_NAME.test(arn.resource) ? Object.assign(arn, { aliasName: arn.resource }) : null;
}

/** A bare KMS key id (UUID or `mrk-...`), as `requestParameters.keyId` may carry it. */
export function isKeyId(value: unknown): value is string {
  return typeof value === 'string' && KEY_ID.test(value);
}

/** An alias name, `alias/NAME`. */
export function isAliasName(value: unknown): value is string {
  return typeof value === 'string' && ALIAS_NAME.test(value);
}

/**
 * A Kinesis data stream ARN: `arn:P:kinesis:REGION:ACCOUNT:stream/NAME`. The form without
 * `stream/` (as in an old AWS example) is rejected: no real stream has it.
 */
export function parseStreamArn(value: unknown): (Arn & { streamName: string }) | null {
  const arn = serviceArn(value, 'kinesis', true);
  if (arn === null) return null;
  const streamName = arn.resource.startsWith('stream/') ? arn.resource.slice(7) : '';
  return STREAM_NAME.test(streamName) ? Object.assign(arn, { streamName }) : null;
}

/** Splits an IAM `TYPE/PATH.../NAME` resource; null unless every segment is a valid IAM name. */
function iamPathAndName(resource: string, type: string): { path: string; name: string } | null {
  if (!resource.startsWith(`${type}/`)) return null;
  const segments = resource.slice(type.length + 1).split('/');
  if (segments.length > 32 || !segments.every((s) => IAM_NAME.test(s))) return null;
  const name = segments.pop() as string;
  if (name.length > 64) return null;
  return { path: segments.length === 0 ? '/' : `/${segments.join('/')}/`, name };
}

/** An IAM role ARN, path included: `arn:P:iam::ACCOUNT:role/PATH/NAME`. */
export function parseRoleArn(value: unknown): (Arn & { path: string; roleName: string }) | null {
  const arn = serviceArn(value, 'iam', false);
  const parts = arn && iamPathAndName(arn.resource, 'role');
  return arn && parts ? Object.assign(arn, { path: parts.path, roleName: parts.name }) : null;
}

/** An IAM user ARN: `arn:P:iam::ACCOUNT:user/PATH/NAME`. */
export function parseUserArn(value: unknown): (Arn & { path: string; userName: string }) | null {
  const arn = serviceArn(value, 'iam', false);
  const parts = arn && iamPathAndName(arn.resource, 'user');
  return arn && parts ? Object.assign(arn, { path: parts.path, userName: parts.name }) : null;
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
  if (roleName.length > 64 || !IAM_NAME.test(roleName) || !IAM_NAME.test(sessionName)) return null;
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
