/**
 * The member accounts of an organization deployment, as the hub's functions reach them: the member
 * role (`/keymend/keymend-member`, the same name in every account, created by the member StackSet)
 * assumed through STS with `SourceIdentity` and session name `keymend-<proposal id>`, so the member
 * account's CloudTrail names the proposal that read or wrote there. Implements core's AccountDirectory:
 * the flows never see STS.
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { KMSClient } from '@aws-sdk/client-kms';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, type AssumeRoleCommandOutput, type STSClient } from '@aws-sdk/client-sts';
import { setBounded } from '../commons/bounded-map';
import { MEMBER_ROLE } from '../commons/constants';
import { AccountUnreachableError } from '../commons/errors';
import type { AccountReader } from '../core/account';
import type { AccountDirectory, AccountWriter } from '../core/ports';
import { AwsAccountWriter } from './account-writer';
import { AwsAccountReader } from './aws-account';
import { clientConfig } from './client-config';
import type { PolicyVersionCache } from './iam';
import { organizationsApi, RefusalMemory, rememberingRefusals } from './organization';

/** Temporary credentials, as the SDK clients take them. */
interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export interface MemberAccountsOptions {
  /** `o-...`: the organization the member roles belong to (the hub's IAM admits no other). */
  organizationId: string;
  partition: string;
  region: string;
  /** The hub function's STS client (its own credentials). */
  sts: STSClient;
  /** The retiring principal of the grants keymend creates in a member: the hub's approval role. */
  retiringPrincipal: string;
  /**
   * The hub function's own KMS client: it retires keymend's grants in member accounts, since the grants
   * name the hub's approval role (not the member role) as retiring principal.
   */
  hubKms?: KMSClient;
  /**
   * Sessions that may only read (the remediate function in propose mode): the source identity is
   * `keymend-read-<id>`, which the member role denies every write, and `writer` answers null.
   */
  readOnly?: boolean;
  /**
   * Sessions of the remediate function in auto mode: the source identity is `keymend-auto-<id>`, which
   * the member role lets create grants and put inline policies only (what auto mode applies).
   */
  autoApply?: boolean;
  /**
   * Managed policy versions already read (iam.ts PolicyVersionCache, keyed by the policy's ARN, so by
   * account): the hub's own readers' cache, so a member's policies are not read again per proposal.
   */
  policyVersions?: PolicyVersionCache;
  /** Builds the clients of one member session; default: the one client configuration over them. */
  clients?: (credentials: () => Promise<Credentials>) => MemberClients;
}

/** The clients a member account is read and written with. */
export interface MemberClients {
  iam: IAMClient;
  kms: KMSClient;
  kinesis: KinesisClient;
  organizations: OrganizationsClient;
}

/** Sessions kept (credentials and clients) per execution environment; the oldest goes first. */
const MAX_SESSIONS = 32;
/** Credentials are renewed this long before they expire. */
const RENEW_BEFORE_MS = 60_000;
/** The shortest session STS grants: a proposal's reads and writes take seconds. */
const SESSION_SECONDS = 900;

/** The member role's ARN in `accountId`. */
export function memberRoleArn(partition: string, accountId: string): string {
  return `arn:${partition}:iam::${accountId}:role${MEMBER_ROLE.path}${MEMBER_ROLE.name}`;
}

/** STS errors that mean "no member role keymend may assume there", not "STS is down". */
const REFUSED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'InvalidClientTokenId',
  'RegionDisabledException',
]);

/** Member accounts whose refused Organizations reads an environment remembers; the oldest goes first. */
const MAX_REFUSAL_MEMORIES = 1000;

export class MemberAccounts implements AccountDirectory {
  readonly organizationId: string;
  private readonly sessions = new Map<string, MemberClients>();
  /** Per member account, the Organizations reads refused there (each proposal has its own session). */
  private readonly refusals = new Map<string, RefusalMemory>();

  constructor(private readonly options: MemberAccountsOptions) {
    this.organizationId = options.organizationId;
  }

  reader(accountId: string, session: string): AccountReader | null {
    const clients = this.clientsFor(accountId, session);
    if (clients === null) return null;
    // A reader per gather: the AWS reader caches what it read, so it must not outlive one diagnosis.
    return new AwsAccountReader({
      accountId,
      region: this.options.region,
      iam: clients.iam,
      kms: clients.kms,
      kinesis: clients.kinesis,
      organizations: rememberingRefusals(
        organizationsApi(clients.organizations),
        Date.now,
        this.refusalsOf(accountId),
      ),
      ...(this.options.policyVersions ? { policyVersions: this.options.policyVersions } : {}),
    });
  }

  writer(accountId: string, session: string): AccountWriter | null {
    if (this.options.readOnly) return null;
    const clients = this.clientsFor(accountId, session);
    if (clients === null) return null;
    return new AwsAccountWriter({
      kms: clients.kms,
      iam: clients.iam,
      retiringPrincipal: this.options.retiringPrincipal,
      ...(this.options.hubKms ? { retireKms: this.options.hubKms } : {}),
    });
  }

  /** What `accountId`'s sessions were refused by Organizations, kept for the environment's life. */
  private refusalsOf(accountId: string): RefusalMemory {
    let memory = this.refusals.get(accountId);
    if (memory === undefined) {
      memory = new RefusalMemory();
      setBounded(this.refusals, accountId, memory, MAX_REFUSAL_MEMORIES);
    }
    return memory;
  }

  /** The clients of one member session, made once; null for a name that is not an account or session. */
  private clientsFor(accountId: string, session: string): MemberClients | null {
    // Both come from event text (an account id) or keymend's own ids: check before they reach STS.
    if (!/^\d{12}$/.test(accountId) || !isSessionName(session)) return null;
    const prefix = this.options.readOnly
      ? MEMBER_ROLE.readOnlySourceIdentityPrefix
      : this.options.autoApply
        ? MEMBER_ROLE.autoSourceIdentityPrefix
        : MEMBER_ROLE.sourceIdentityPrefix;
    const name = `${prefix}${session.slice(MEMBER_ROLE.sourceIdentityPrefix.length)}`;
    // The name STS receives is checked too: a longer prefix must not push it past 64 characters.
    if (!/^[\w+=,.@-]{2,64}$/.test(name)) return null;
    const key = `${accountId} ${name}`;
    const known = this.sessions.get(key);
    if (known) return known;
    const credentials = renewing(() => this.assume(accountId, name));
    const made = (this.options.clients ?? defaultClients(this.options.region))(credentials);
    setBounded(this.sessions, key, made, MAX_SESSIONS);
    return made;
  }

  /** AssumeRole on the member role, naming the proposal as source identity and session name. */
  private async assume(accountId: string, session: string): Promise<Credentials> {
    const roleArn = memberRoleArn(this.options.partition, accountId);
    let out: AssumeRoleCommandOutput;
    try {
      out = await this.options.sts.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: session,
          SourceIdentity: session,
          DurationSeconds: SESSION_SECONDS,
        }),
      );
    } catch (error) {
      const name = (error as { name?: unknown }).name;
      if (typeof name === 'string' && REFUSED.has(name)) {
        throw new AccountUnreachableError(
          accountId,
          `cannot assume ${roleArn} (${name}): the account is outside organization ${this.organizationId}, or its member stack is not deployed`,
          { cause: error },
        );
      }
      throw error;
    }
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new AccountUnreachableError(accountId, `STS returned no credentials for ${roleArn}`);
    }
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    };
  }
}

/** SourceIdentity and RoleSessionName: 2 to 64 of `[\w+=,.@-]`, and keymend's prefix. */
function isSessionName(session: string): boolean {
  return /^[\w+=,.@-]{2,64}$/.test(session) && session.startsWith(MEMBER_ROLE.sourceIdentityPrefix);
}

/** A credentials provider that assumes once and again shortly before the credentials expire. */
function renewing(assume: () => Promise<Credentials>): () => Promise<Credentials> {
  let current: Promise<Credentials> | null = null;
  return async () => {
    const held = current ? await current.catch(() => null) : null;
    if (held && held.expiration.getTime() - RENEW_BEFORE_MS > Date.now()) return held;
    current = assume();
    return current;
  };
}

function defaultClients(region: string) {
  return (credentials: () => Promise<Credentials>): MemberClients => {
    const config = { ...clientConfig({ region }), credentials };
    return {
      iam: new IAMClient(config),
      kms: new KMSClient(config),
      kinesis: new KinesisClient(config),
      organizations: new OrganizationsClient(config),
    };
  };
}
