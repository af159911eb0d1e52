/**
 * The AccountReader over a real account, through the AWS SDK v3, read-only. Every call it makes
 * is a Get, List or Describe; the IAM permissions it needs are listed in docs/snapshot.md.
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { KMSClient } from '@aws-sdk/client-kms';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import {
  isAliasName,
  isKeyId,
  type Partition,
  parseAliasArn,
  parseKeyArn,
  parsePrincipalArn,
  parseStreamArn,
  partitionOfRegion,
  type StreamArn,
} from '../commons/arn';
import { InputError, KeyUnreadableError } from '../commons/errors';
import { deepFreeze } from '../commons/freeze';
import type {
  AccountReader,
  KeyState,
  OrganizationState,
  PrincipalState,
  StreamState,
} from '../core/account';
import { AwsReadError } from './aws-read';
import { clientConfig } from './client-config';
import { type PolicyVersionCache, readAccountAlias, readIamPrincipal } from './iam';
import { readStreamEncryption } from './kinesis';
import { describeKmsKey, type KeyMetadata, type KeyParts, keyStateOf, readKeyParts } from './kms';
import { type OrganizationsApi, organizationsApi, readOrganization } from './organization';

export interface AwsAccountReaderOptions {
  /** The account whose IAM and KMS the credentials read. */
  accountId: string;
  /** The region of the KMS and Kinesis clients. */
  region: string;
  iam: IAMClient;
  kms: KMSClient;
  kinesis: KinesisClient;
  /** Read only this principal's grants (ListGrants `GranteePrincipal`); all grants when absent. */
  grantee?: string;
  /**
   * Organizations, for the organization's id and the account's path (organization.ts). Without it,
   * or without permission, the organization is not visible.
   */
  organizations?: OrganizationsApi;
  /**
   * Managed policy versions already read, shared by the readers of one execution environment
   * (iam.ts PolicyVersionCache: a version's document never changes, so this is no stale state).
   */
  policyVersions?: PolicyVersionCache;
}

/**
 * Reads principals, keys and streams of one account and region, on demand. Each thing is read
 * once per reader (concurrent asks share the call), so make one reader per batch of events, not
 * one per process: a long-lived reader would keep answering with the state before a fix.
 *
 * What it cannot see it reports as null, as the interface asks: principals of other accounts
 * (IAM is readable only from inside), keys of other accounts (GetKeyPolicy works only in the
 * key's own account) or regions, streams of other regions, and the organization's SCPs and RCPs,
 * which only the management account (or a delegated administrator) can read. With no
 * organization, diagnose refuses when AWS's message names an SCP or RCP.
 *
 * Results are deep-frozen and shared; `structuredClone` before changing them.
 */
export class AwsAccountReader implements AccountReader {
  readonly accountId: string;
  readonly region: string;
  private readonly partition: Partition;
  private readonly cache = new Map<string, Promise<unknown>>();

  /** @throws InputError when `options.region` is not a Region of any AWS partition. */
  constructor(private readonly options: AwsAccountReaderOptions) {
    this.accountId = options.accountId;
    this.region = options.region;
    const partition = partitionOfRegion(options.region);
    if (partition === null) throw new InputError(`not an AWS Region: ${JSON.stringify(options.region)}`);
    this.partition = partition;
  }

  /** A reader with the same clients that lists only `grantee`'s grants (its own cache). */
  forGrantee(grantee: string): AwsAccountReader {
    return new AwsAccountReader({ ...this.options, grantee });
  }

  async getPrincipal(arn: string): Promise<PrincipalState | null> {
    const parsed = parsePrincipalArn(arn);
    if (!parsed || parsed.accountId !== this.accountId || parsed.partition !== this.partition) return null;
    return this.once(`principal ${arn}`, () =>
      readIamPrincipal(this.options.iam, arn, { policyVersions: this.options.policyVersions }),
    );
  }

  /**
   * `ref` is a key ARN, key id, alias name or alias ARN; DescribeKey resolves the last three.
   * @throws KeyUnreadableError when KMS denies a read of the key (its key policy does not admit the
   * credentials' role): the key is there, keymend may not look at it.
   */
  async getKey(ref: string): Promise<KeyState | null> {
    // A key ARN of this account and Region names everything the other reads need: the key's policy,
    // grants, aliases and tags go out with DescribeKey, not after it. Their answers count only once
    // DescribeKey says the key is this account's (a key that is not there fails them: not used).
    const early = this.readableKeyArn(ref) ? this.keyParts(ref) : null;
    early?.catch(() => {});
    try {
      const meta = await this.describe(ref);
      if (!meta || meta.accountId !== this.accountId) return null;
      return await this.once(`key ${meta.arn}`, async () =>
        keyStateOf(meta, await (meta.arn === ref && early ? early : this.keyParts(meta.arn))),
      ).catch((error) => {
        throw unreadable(meta.arn, error);
      });
    } catch (error) {
      throw unreadable(ref, error);
    }
  }

  /** The policy, grants, aliases and tags of the key `arn`, read once per reader. */
  private keyParts(arn: string): Promise<KeyParts> {
    return this.once(`key parts ${arn}`, () =>
      readKeyParts(this.options.kms, arn, { grantee: this.options.grantee }),
    );
  }

  /** True when `ref` is the ARN of a key (not an alias) of this account and Region. */
  private readableKeyArn(ref: string): boolean {
    const arn = parseKeyArn(ref);
    return (
      arn !== null &&
      arn.accountId === this.accountId &&
      arn.region === this.region &&
      arn.partition === this.partition
    );
  }

  async getStream(arn: string): Promise<StreamState | null> {
    const parsed = parseStreamArn(arn);
    if (!parsed || parsed.region !== this.region || parsed.partition !== this.partition) return null;
    return this.once(`stream ${arn}`, async () => {
      const encryption = await readStreamEncryption(this.options.kinesis, arn);
      if (!encryption) return null;
      const keyArn = encryption.keyId === null ? null : await this.streamKeyArn(encryption.keyId, parsed);
      return encryption.retentionPeriodHours === undefined
        ? { arn, keyArn }
        : { arn, keyArn, retentionPeriodHours: encryption.retentionPeriodHours };
    });
  }

  /** The account's alias (iam:ListAccountAliases), read once; null when none or not readable. */
  async getAccountAlias(): Promise<string | null> {
    return this.once('account alias', () => readAccountAlias(this.options.iam));
  }

  /**
   * The organization's id, the account's path and its SCPs and RCPs (with id, name and target) where
   * Organizations lets this reader see them (organization.ts); null when nothing is visible.
   */
  async getOrganization(): Promise<OrganizationState | null> {
    const organizations = this.options.organizations;
    if (!organizations) return null;
    return this.once('organization', () => readOrganization(organizations, this.accountId));
  }

  /** The key's metadata when `ref` names a key this account and region can read, else null. */
  private async describe(ref: string): Promise<KeyMetadata | null> {
    const arn = parseKeyArn(ref) ?? parseAliasArn(ref);
    if (arn) {
      const readable =
        arn.accountId === this.accountId && arn.region === this.region && arn.partition === this.partition;
      if (!readable) return null;
    } else if (!isKeyId(ref) && !isAliasName(ref)) {
      return null;
    }
    return this.once(`describe ${ref}`, () => describeKmsKey(this.options.kms, ref));
  }

  /**
   * The key ARN behind a stream's KeyId. Kinesis may report an alias (`alias/aws/kinesis`), an
   * alias ARN, a key id or a key ARN, all relative to the stream's account.
   */
  private async streamKeyArn(keyId: string, stream: StreamArn): Promise<string | null> {
    if (parseKeyArn(keyId)) return keyId;
    if (isKeyId(keyId))
      return `arn:${stream.partition}:kms:${stream.region}:${stream.accountId}:key/${keyId}`;
    // An alias of another account's stream would resolve in ours: leave it unknown.
    const alias = parseAliasArn(keyId);
    if (alias ? alias.accountId !== this.accountId : stream.accountId !== this.accountId) return null;
    return (await this.describe(keyId))?.arn ?? null;
  }

  private once<T>(key: string, read: () => Promise<T>): Promise<T> {
    const cached = this.cache.get(key);
    if (cached) return cached as Promise<T>;
    const promise = read().then(deepFreeze);
    this.cache.set(key, promise);
    // A failed read is not remembered: the next ask tries again.
    promise.catch(() => this.cache.delete(key));
    return promise;
  }
}

/**
 * A KMS AccessDeniedException (wrapped by awsRead, which names the call: `cannot read kms:X ...`) as
 * a KeyUnreadableError naming the key and the call; any other error as it is.
 */
function unreadable(key: string, error: unknown): unknown {
  if (error instanceof KeyUnreadableError) return error;
  const cause = error instanceof AwsReadError ? error.cause : error;
  if ((cause as Error | undefined)?.name !== 'AccessDeniedException') return error;
  const call = /^cannot read (kms:[A-Za-z]+)/.exec((error as Error).message)?.[1] ?? 'kms:DescribeKey';
  return new KeyUnreadableError(key, call, { cause: error });
}

/** Clients are built once per region and shared: SDK clients are costly to build, cheap to keep. */
const clients = new Map<
  string,
  { iam: IAMClient; kms: KMSClient; kinesis: KinesisClient; organizations: OrganizationsApi }
>();

/**
 * An AwsAccountReader with the default credential chain, for the CLI's `--aws` and the Lambda
 * handlers. The clients use the one client configuration (client-config.ts): the SDK's adaptive
 * retry, and connection and request timeouts.
 */
export function createAwsAccountReader(opts: {
  region: string;
  accountId: string;
  grantee?: string;
}): AwsAccountReader {
  let set = clients.get(opts.region);
  if (!set) {
    const config = clientConfig({ region: opts.region });
    set = {
      iam: new IAMClient(config),
      kms: new KMSClient(config),
      kinesis: new KinesisClient(config),
      organizations: organizationsApi(new OrganizationsClient(config)),
    };
    clients.set(opts.region, set);
  }
  return new AwsAccountReader({
    accountId: opts.accountId,
    region: opts.region,
    ...set,
    grantee: opts.grantee,
  });
}
