/**
 * Reads a KMS key, read-only: its metadata, key policy, grants and aliases.
 */
import {
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  type GrantListEntry,
  type KMSClient,
  ListAliasesCommand,
  ListGrantsCommand,
  ListResourceTagsCommand,
} from '@aws-sdk/client-kms';
import type { KeyState, KmsGrant } from '../core/account';
import { AwsReadError, awsRead, awsReadRequired, collectPages } from './aws-read';

const NOT_FOUND = ['NotFoundException'];
/** What a read that may be denied reports when it is: the thing is then "not visible". */
const ACCESS_DENIED = ['AccessDeniedException'];

export interface KeyMetadata {
  arn: string;
  accountId: string;
  keyManager: 'AWS' | 'CUSTOMER';
  keyState: string;
  /** DescribeKey's KeySpec, KeyUsage, Origin, MultiRegion and MultiRegionKeyType, when given. */
  attributes?: Pick<KeyState, 'keySpec' | 'keyUsage' | 'origin' | 'multiRegion' | 'multiRegionKeyType'>;
}

export interface ReadKeyOptions {
  /** List only this principal's grants (ListGrants `GranteePrincipal`); all grants when absent. */
  grantee?: string;
}

/**
 * Resolves a key ARN, key id, alias name (`alias/x`) or alias ARN to the key's metadata, or null
 * when KMS has no such key or alias. DescribeKey accepts all four forms.
 */
export async function describeKmsKey(kms: KMSClient, ref: string): Promise<KeyMetadata | null> {
  const out = await awsRead(
    `kms:DescribeKey ${ref}`,
    () => kms.send(new DescribeKeyCommand({ KeyId: ref })),
    { notFound: NOT_FOUND },
  );
  if (!out) return null;
  const meta = out.KeyMetadata;
  if (!meta?.Arn || !meta.AWSAccountId || !meta.KeyState) {
    throw new AwsReadError(`kms:DescribeKey ${ref} returned no key ARN, account or state`);
  }
  if (meta.KeyManager !== 'AWS' && meta.KeyManager !== 'CUSTOMER') {
    throw new AwsReadError(
      `kms:DescribeKey ${ref} returned an unknown KeyManager ${String(meta.KeyManager)}`,
    );
  }
  const attributes: NonNullable<KeyMetadata['attributes']> = {};
  if (meta.KeySpec) attributes.keySpec = meta.KeySpec;
  if (meta.KeyUsage) attributes.keyUsage = meta.KeyUsage;
  if (meta.Origin) attributes.origin = meta.Origin;
  if (meta.MultiRegion !== undefined) attributes.multiRegion = meta.MultiRegion;
  const type = meta.MultiRegionConfiguration?.MultiRegionKeyType;
  if (meta.MultiRegion && (type === 'PRIMARY' || type === 'REPLICA')) attributes.multiRegionKeyType = type;
  return {
    arn: meta.Arn,
    accountId: meta.AWSAccountId,
    keyManager: meta.KeyManager,
    keyState: meta.KeyState,
    ...(Object.keys(attributes).length > 0 ? { attributes } : {}),
  };
}

/**
 * The state of the key `ref` (any form DescribeKey accepts) in the caller's account, or null
 * when there is no such key. The policy, grants and aliases are read in parallel. With
 * `grantee`, `grants` holds only that principal's grants.
 *
 * Grants with a constraint keymend cannot model (`SourceArn`) are left out: a grant only ever
 * allows, so leaving one out can make keymend find a denial that is not there (and propose a
 * redundant fix), never find an allow that is not there.
 *
 * @throws AwsReadError when KMS refuses or fails after retries.
 */
export async function readKmsKey(
  kms: KMSClient,
  ref: string,
  options: ReadKeyOptions = {},
): Promise<KeyState | null> {
  const meta = await describeKmsKey(kms, ref);
  return meta ? readKeyDetails(kms, meta, options) : null;
}

/** The rest of a described key's state: its policy, grants and aliases, read in parallel. */
export async function readKeyDetails(
  kms: KMSClient,
  meta: KeyMetadata,
  options: ReadKeyOptions = {},
): Promise<KeyState> {
  return keyStateOf(meta, await readKeyParts(kms, meta.arn, options));
}

/** What a key's ARN alone lets keymend read: its policy, grants, aliases and tags. */
export interface KeyParts {
  policy: unknown;
  grants: KmsGrant[];
  aliases: string[];
  tags: Record<string, string> | null;
}

/** The key policy, grants, aliases and tags of the key `keyArn`, read in parallel. */
export async function readKeyParts(
  kms: KMSClient,
  keyArn: string,
  options: ReadKeyOptions = {},
): Promise<KeyParts> {
  const [policy, grants, aliases, tags] = await Promise.all([
    readKeyPolicy(kms, keyArn),
    listKeyGrants(kms, keyArn, options),
    listKeyAliases(kms, keyArn),
    listKeyTags(kms, keyArn),
  ]);
  return { policy, grants, aliases, tags };
}

/** The KeyState of a described key and what was read of it. */
export function keyStateOf(meta: KeyMetadata, parts: KeyParts): KeyState {
  const key: KeyState = {
    arn: meta.arn,
    keyManager: meta.keyManager,
    keyState: meta.keyState,
    policy: parts.policy,
    grants: parts.grants,
    ...meta.attributes,
  };
  if (parts.aliases.length > 0) key.aliases = parts.aliases;
  if (parts.tags !== null) key.tags = parts.tags;
  return key;
}

/** The key policy (`default`, the only name KMS has). KMS returns it as plain JSON, not URL-encoded. */
export async function readKeyPolicy(kms: KMSClient, keyArn: string): Promise<unknown> {
  const what = `kms:GetKeyPolicy ${keyArn}`;
  const out = await awsReadRequired(what, () =>
    kms.send(new GetKeyPolicyCommand({ KeyId: keyArn, PolicyName: 'default' })),
  );
  if (out.Policy === undefined) throw new AwsReadError(`${what} returned no Policy`);
  try {
    return JSON.parse(out.Policy);
  } catch (error) {
    throw new AwsReadError(`${what}: the key policy is not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Every grant on the key (all pages), or only `grantee`'s, in the KmsGrant shape. */
export async function listKeyGrants(
  kms: KMSClient,
  keyArn: string,
  options: ReadKeyOptions = {},
): Promise<KmsGrant[]> {
  const entries = await awsReadRequired(`kms:ListGrants ${keyArn}`, () =>
    collectPages(async (Marker) => {
      const out = await kms.send(
        new ListGrantsCommand({ KeyId: keyArn, GranteePrincipal: options.grantee, Marker, Limit: 100 }),
      );
      return { items: out.Grants ?? [], next: out.Truncated ? out.NextMarker : undefined };
    }),
  );
  return entries.flatMap((entry) => {
    const grant = toKmsGrant(entry);
    return grant ? [grant] : [];
  });
}

/** The alias names (`alias/x`) pointing at the key, all pages. */
export async function listKeyAliases(kms: KMSClient, keyArn: string): Promise<string[]> {
  const aliases = await awsReadRequired(`kms:ListAliases ${keyArn}`, () =>
    collectPages(async (Marker) => {
      const out = await kms.send(new ListAliasesCommand({ KeyId: keyArn, Marker }));
      return { items: out.Aliases ?? [], next: out.Truncated ? out.NextMarker : undefined };
    }),
  );
  return aliases.flatMap((a) => (a.AliasName ? [a.AliasName] : []));
}

/**
 * The key's tags (aws:ResourceTag/KEY), all pages; null when keymend may not read them
 * (kms:ListResourceTags denied): then a policy testing a tag is reported as unknowable, not guessed.
 */
export async function listKeyTags(kms: KMSClient, keyArn: string): Promise<Record<string, string> | null> {
  const tags = await awsRead(
    `kms:ListResourceTags ${keyArn}`,
    () =>
      collectPages(async (Marker) => {
        const out = await kms.send(new ListResourceTagsCommand({ KeyId: keyArn, Marker }));
        return { items: out.Tags ?? [], next: out.Truncated ? out.NextMarker : undefined };
      }),
    { notFound: ACCESS_DENIED },
  );
  if (tags === null) return null;
  const out: Record<string, string> = {};
  for (const tag of tags) if (tag.TagKey !== undefined) out[tag.TagKey] = tag.TagValue ?? '';
  return out;
}
/** ListGrants' entry as a KmsGrant; null when it cannot be represented faithfully. */
export function toKmsGrant(entry: GrantListEntry): KmsGrant | null {
  const granteePrincipal = entry.GranteePrincipal ?? entry.GranteeServicePrincipal;
  if (!entry.GrantId || !granteePrincipal || !entry.Operations?.length) return null;
  if (entry.Constraints?.SourceArn !== undefined) return null;
  const grant: KmsGrant = { grantId: entry.GrantId, granteePrincipal, operations: [...entry.Operations] };
  if (entry.Name) grant.name = entry.Name;
  const retiring = entry.RetiringPrincipal ?? entry.RetiringServicePrincipal;
  if (retiring) grant.retiringPrincipal = retiring;
  const subset = entry.Constraints?.EncryptionContextSubset;
  const equals = entry.Constraints?.EncryptionContextEquals;
  // KMS treats an empty constraint map as no constraint.
  if ((subset && Object.keys(subset).length > 0) || (equals && Object.keys(equals).length > 0)) {
    grant.constraints = {};
    if (subset && Object.keys(subset).length > 0) grant.constraints.encryptionContextSubset = { ...subset };
    if (equals && Object.keys(equals).length > 0) grant.constraints.encryptionContextEquals = { ...equals };
  }
  return grant;
}
