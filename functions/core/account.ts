/**
 * Account state as keymend reads it, from a snapshot file or a real account, behind one interface.
 * Policy documents are kept as parsed JSON (`unknown`) and compiled by the evaluator when used.
 */
import type { KmsGrant } from '../policy';

export type { KmsGrant };

export type PolicyDocumentJson = unknown;

export interface PrincipalState {
  /** Role ARN (with path) or user ARN. */
  arn: string;
  /**
   * Inline policies by name. A user's group inline policies are here too, named
   * `group/GROUP/POLICY` (IAM names cannot contain `/`); they do not count toward the user's own
   * 10,240-character inline limit.
   */
  inlinePolicies: Record<string, PolicyDocumentJson>;
  /** Managed policies by ARN, at their default version (a user's groups' included). */
  managedPolicies: Record<string, PolicyDocumentJson>;
  permissionsBoundary?: PolicyDocumentJson;
  tags?: Record<string, string>;
}

export interface KeyState {
  arn: string;
  keyManager: 'AWS' | 'CUSTOMER';
  keyState: string;
  aliases?: string[];
  policy: PolicyDocumentJson;
  grants?: KmsGrant[];
  /**
   * The key's tags (aws:ResourceTag/KEY). Absent when not visible (the reader may not call
   * kms:ListResourceTags); `{}` when the key has none.
   */
  tags?: Record<string, string>;
  /** DescribeKey `KeySpec` (kms:KeySpec); absent when unknown. */
  keySpec?: string;
  /** DescribeKey `KeyUsage` (kms:KeyUsage); absent when unknown. */
  keyUsage?: string;
  /** DescribeKey `Origin` (kms:KeyOrigin): AWS_KMS, EXTERNAL, AWS_CLOUDHSM, EXTERNAL_KEY_STORE; absent when unknown. */
  origin?: string;
  /** DescribeKey `MultiRegion` (kms:MultiRegion); absent when unknown. */
  multiRegion?: boolean;
  /** DescribeKey `MultiRegionConfiguration.MultiRegionKeyType` (kms:MultiRegionKeyType), for multi-Region keys. */
  multiRegionKeyType?: 'PRIMARY' | 'REPLICA';
}

export interface StreamState {
  arn: string;
  /** The key the stream encrypts with; null when unencrypted or the AWS-managed key is unknown. */
  keyArn: string | null;
  /** How long the stream keeps records, in hours (DescribeStreamSummary RetentionPeriodHours); absent when not known. */
  retentionPeriodHours?: number;
}

export interface OrganizationState {
  /**
   * The organization of the account keymend runs in (aws:PrincipalOrgID / aws:ResourceOrgID for
   * principals and keys of that account): `o-...`; null when the account belongs to no organization;
   * absent when not visible.
   */
  id?: string | null;
  /**
   * The account's path in the organization (aws:PrincipalOrgPaths / aws:ResourceOrgPaths):
   * `o-ID/r-ROOT/ou-.../` down to the account's parent OU, ending in `/`; absent when not visible.
   */
  path?: string;
  /**
   * Other accounts' organization and path, by account id, where known (a cross-account caller or key):
   * `{ id: null }` for an account in no organization. An account not listed is not known.
   */
  accounts?: Record<string, { id: string | null; path?: string }>;
  /**
   * One array of policies per level, from the root to the account: each a policy document, or the
   * document with the policy's id, name and target where they were visible (OrganizationPolicy).
   */
  serviceControlPolicies?: Array<Array<PolicyDocumentJson | OrganizationPolicy>>;
  resourceControlPolicies?: Array<Array<PolicyDocumentJson | OrganizationPolicy>>;
}

/** An SCP or RCP with what names it for people: its id, its name, and the root, OU or account it is attached to. */
export interface OrganizationPolicy {
  /** `p-...` (or `p-FullAWSAccess`). */
  id?: string;
  name?: string;
  /** The root (`r-...`), OU (`ou-...`) or account id the policy is attached to at this level. */
  target?: string;
  document: PolicyDocumentJson;
}

/** Whether an organization policy entry carries its id, name or target beside its document. */
export function isOrganizationPolicy(entry: unknown): entry is OrganizationPolicy {
  return (
    typeof entry === 'object' &&
    entry !== null &&
    !Array.isArray(entry) &&
    Object.hasOwn(entry, 'document') &&
    !Object.hasOwn(entry, 'Statement')
  );
}

/** The document of an organization policy entry. */
export function organizationPolicyDocument(entry: unknown): PolicyDocumentJson {
  return isOrganizationPolicy(entry) ? entry.document : entry;
}

/**
 * How an organization policy is named for people: `p-123 (Name, attached to ou-...)` with what is known,
 * else `fallback` (its position, `service-control-policies[1][0]`).
 */
export function organizationPolicyLabel(entry: unknown, fallback: string): string {
  if (!isOrganizationPolicy(entry)) return fallback;
  const details = [entry.name, entry.target ? `attached to ${entry.target}` : undefined].filter(
    (d): d is string => typeof d === 'string' && d !== '',
  );
  const head = entry.id ?? fallback;
  return details.length > 0 ? `${head} (${details.join(', ')})` : head;
}

/** The snapshot file format (docs/snapshot.md). */
export interface AccountSnapshot {
  accountId: string;
  /** The account's alias (iam:ListAccountAliases), shown in subjects; absent when not known. */
  accountAlias?: string;
  region: string;
  principals: PrincipalState[];
  keys: KeyState[];
  streams?: StreamState[];
  organization?: OrganizationState;
}

/**
 * Reads the state that bears on one denial. Both the snapshot reader and the AWS reader implement it.
 * A `null` result means "not found / not visible", never an error; errors are thrown as KeymendError.
 */
export interface AccountReader {
  readonly accountId: string;
  readonly region: string;
  getPrincipal(arn: string): Promise<PrincipalState | null>;
  /** `ref` is a key ARN, key id, alias name (`alias/x`) or alias ARN. */
  getKey(ref: string): Promise<KeyState | null>;
  getStream(arn: string): Promise<StreamState | null>;
  /** null when the reader cannot see the organization's policies (then SCP questions are unanswerable). */
  getOrganization(): Promise<OrganizationState | null>;
  /** The account's alias, for people; null when it has none or it is not visible. Optional: absent, not read. */
  getAccountAlias?(): Promise<string | null>;
}
