/**
 * ARN shapes keymend reads: IAM roles and users, managed policies, KMS keys and aliases, Kinesis
 * streams. Pure string parsing, shared by the snapshot validator and the AWS readers.
 */

/** The partitions keymend accepts in ARNs. */
export const PARTITIONS = ['aws', 'aws-cn', 'aws-us-gov'] as const;
export type Partition = (typeof PARTITIONS)[number];

const PARTITION = '(aws|aws-cn|aws-us-gov)';
const ACCOUNT = '(\\d{12})';
const REGION = '([a-z]{2}(?:-[a-z]+)+-\\d{1,2})';
// IAM names: letters, digits and +=,.@_- (IAM user guide, IAM identifiers).
const IAM_NAME = '([\\w+=,.@-]{1,128})';
// IAM paths: `/`, or `/` + segments of printable ASCII except `/`, each followed by `/`.
const IAM_PATH = '(/(?:[\\x21-\\x2e\\x30-\\x7e]+/)*)';
// Key ids are UUIDs (AWS examples use letters beyond hex, e.g. `EXAMPLE11111`) or multi-Region `mrk-` ids.
const KEY_ID =
  '([0-9A-Za-z]{8}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{12}|mrk-[0-9A-Za-z]{32})';
const ALIAS_NAME = '(alias/[\\w/-]{1,250})';

const REGION_RE = new RegExp(`^${REGION}$`);
const PRINCIPAL_RE = new RegExp(`^arn:${PARTITION}:iam::${ACCOUNT}:(role|user)${IAM_PATH}${IAM_NAME}$`);
const POLICY_RE = new RegExp(`^arn:${PARTITION}:iam::(\\d{12}|aws):policy${IAM_PATH}${IAM_NAME}$`);
const KEY_RE = new RegExp(`^arn:${PARTITION}:kms:${REGION}:${ACCOUNT}:key/${KEY_ID}$`);
const ALIAS_RE = new RegExp(`^arn:${PARTITION}:kms:${REGION}:${ACCOUNT}:${ALIAS_NAME}$`);
const STREAM_RE = new RegExp(`^arn:${PARTITION}:kinesis:${REGION}:${ACCOUNT}:stream/([\\w.-]{1,128})$`);
const KEY_ID_RE = new RegExp(`^${KEY_ID}$`);
const ALIAS_NAME_RE = new RegExp(`^${ALIAS_NAME}$`);
const ACCOUNT_ROOT_RE = new RegExp(`^arn:${PARTITION}:iam::${ACCOUNT}:root$`);
const STS_RE = new RegExp(`^arn:${PARTITION}:sts::${ACCOUNT}:(assumed-role|federated-user)/[\\w+=,.@/-]+$`);
const SERVICE_PRINCIPAL_RE = /^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$/;

export interface PrincipalArn {
  partition: Partition;
  accountId: string;
  kind: 'role' | 'user';
  /** `/` or `/a/b/`. */
  path: string;
  name: string;
}

export interface RegionalArn {
  partition: Partition;
  region: string;
  accountId: string;
}

export interface KeyArn extends RegionalArn {
  keyId: string;
}

export interface AliasArn extends RegionalArn {
  /** `alias/NAME`. */
  aliasName: string;
}

export interface StreamArn extends RegionalArn {
  streamName: string;
}

/** The partition a region belongs to (`cn-*` is aws-cn, `us-gov-*` is aws-us-gov, the rest aws). */
export function partitionOfRegion(region: string): Partition {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

export function isRegion(value: string): boolean {
  return REGION_RE.test(value);
}

/** An IAM role ARN (with its path) or IAM user ARN; null for anything else, session ARNs included. */
export function parsePrincipalArn(arn: string): PrincipalArn | null {
  const m = PRINCIPAL_RE.exec(arn);
  if (!m) return null;
  const [, partition, accountId, kind, path, name] = m as unknown as [
    string,
    Partition,
    string,
    'role' | 'user',
    string,
    string,
  ];
  // Role and user names are at most 64 characters; the shared IAM_NAME allows policy names' 128.
  if (name.length > 64) return null;
  return { partition, accountId, kind, path, name };
}

/** A managed policy ARN, customer (`iam::ACCOUNT:policy/...`) or AWS (`iam::aws:policy/...`). */
export function parsePolicyArn(arn: string): { partition: Partition; owner: string; name: string } | null {
  const m = POLICY_RE.exec(arn);
  if (!m) return null;
  const [, partition, owner, , name] = m as unknown as [string, Partition, string, string, string];
  return { partition, owner, name };
}

export function parseKeyArn(arn: string): KeyArn | null {
  const m = KEY_RE.exec(arn);
  if (!m) return null;
  const [, partition, region, accountId, keyId] = m as unknown as [string, Partition, string, string, string];
  return { partition, region, accountId, keyId };
}

export function parseAliasArn(arn: string): AliasArn | null {
  const m = ALIAS_RE.exec(arn);
  if (!m) return null;
  const [, partition, region, accountId, aliasName] = m as unknown as [
    string,
    Partition,
    string,
    string,
    string,
  ];
  return { partition, region, accountId, aliasName };
}

export function parseStreamArn(arn: string): StreamArn | null {
  const m = STREAM_RE.exec(arn);
  if (!m) return null;
  const [, partition, region, accountId, streamName] = m as unknown as [
    string,
    Partition,
    string,
    string,
    string,
  ];
  return { partition, region, accountId, streamName };
}

/** A bare key id such as `1234abcd-12ab-34cd-56ef-1234567890ab` or `mrk-...`. */
export function isKeyId(value: string): boolean {
  return KEY_ID_RE.test(value);
}

/** An alias name such as `alias/orders` or `alias/aws/kinesis`. */
export function isAliasName(value: string): boolean {
  return ALIAS_NAME_RE.test(value);
}

/**
 * A principal a KMS grant can name as grantee or retiring principal: an account root, a role or
 * user, an STS session or federated user, or a service principal. Returns the partition for ARNs,
 * `service` for service principals, null for anything else.
 */
export function grantPrincipalKind(value: string): Partition | 'service' | null {
  if (SERVICE_PRINCIPAL_RE.test(value)) return 'service';
  const principal = parsePrincipalArn(value);
  if (principal) return principal.partition;
  const m = ACCOUNT_ROOT_RE.exec(value) ?? STS_RE.exec(value);
  return m ? (m[1] as Partition) : null;
}
