/**
 * The ports the flows run over. Adapters implement them against AWS (DynamoDB, KMS, IAM, SNS,
 * KMS HMAC link keys) and `keymend local` against in-process stand-ins (dynalite, the snapshot account,
 * an outbox). Interfaces only: no SDK types cross this line.
 */
import type { AccountReader } from './account';
import type { DenialsSeen } from './denials-seen';
import type { AppliedChange, AuditEntry, ConsumerLag, Proposal, ProposalStatus } from './proposal';
import type { SigningKeyName, TokenCheck, TokenClaims } from './token';

/** The fingerprint item: how often a problem was seen, and which proposal is its live one. */
export interface FingerprintRecord {
  fingerprint: string;
  /** The live proposal, or null while the first invocation is still diagnosing (see `claimFingerprint`). */
  proposalId: string | null;
  count: number;
  firstSeen: string;
  lastSeen: string;
  /** After this time (ISO) the fingerprint is no longer live: the next denial starts a new proposal. */
  liveUntil: string;
  /**
   * When the live proposal was applied (ISO), kept here so a repeat can tell a fix that has not
   * helped ("still failing") without reading the proposal; absent when not applied or once the
   * still-failing notice is settled (see `setFingerprintApplied`).
   */
  appliedAt?: string;
  /**
   * The earliest and latest CloudTrail eventTime of the period's denials (kept as a conditional min and
   * max); absent on records written before keymend kept them.
   */
  firstDenialAt?: string;
  lastDenialAt?: string;
  /** Distinct sessions denied in the period (hashes kept up to SESSION_CAP: then a lower bound). */
  sessions?: number;
}

export type { DenialsSeen };

export type ClaimResult =
  /** This invocation owns the new problem: read the account, diagnose, then `createProposal`. */
  | {
      claimed: true;
      /** The fingerprint's previous proposal, no longer live: a pending one has expired unapproved. */
      previousProposalId?: string;
    }
  /** Another invocation owns it (or it is live): the denial was counted as a repeat. */
  | { claimed: false; record: FingerprintRecord; duplicate?: never }
  /** This event id claimed the fingerprint already: a redelivery of the problem's first event. Nothing counted. */
  | { claimed: false; duplicate: true; record?: never };

/** What `claimFingerprint` is told about the denial. */
export interface ClaimOptions {
  /** The event's id, recorded with the claim: its redelivery is then a duplicate, not a repeat. */
  eventId?: string;
  /** Denials to count when the fingerprint is held by someone else (a warm environment's batch). @default 1 */
  count?: number;
  /** The eventTimes and sessions of those denials (this one's, and a warm environment's batch). */
  seen?: DenialsSeen;
}

/**
 * What `claimEvent` found: `first`, a new event id; `retry`, an id whose earlier claim was released or
 * ran out of its lease (the invocation that held it failed, was killed or timed out); `duplicate`, an
 * id claimed within its lease (a second delivery while, or just after, the first is processed).
 */
export type EventClaim = 'first' | 'retry' | 'duplicate';

/**
 * What `claimDenial` found: the event id's claim (`delivery`, as `claimEvent` answers) and the
 * problem's claim made at the same time. `claimed` is this invocation's to diagnose whatever the
 * delivery: a `duplicate` that claimed the problem raced its twin delivery, which finds this event
 * id on the problem and answers a duplicate. Not claimed: a `duplicate` delivery counted nothing
 * (`duplicate: true`); a `first` one was counted as a repeat, unless its own event id made the claim
 * (a twin delivery diagnoses it: `duplicate: true`); a `retry` was counted as a repeat.
 */
export type DenialClaim = ClaimResult & { delivery: EventClaim };

/**
 * keymend's store (one DynamoDB table; docs/store.md). Every status change is a conditional write.
 * A repeat a warm environment has seen costs no request (core/warm-repeats.ts); one it has not, one or
 * two (`touchFingerprint`, or a claim that finds the fingerprint held and counts it).
 */
export interface ProposalStore {
  /**
   * Claims an event id for CLAIM_LEASE_SECONDS (commons/constants.ts), longer than the function may
   * run: a second delivery within it is a `duplicate`; after it, the id can be claimed again, so the
   * retry of an invocation that was killed is processed, not lost.
   */
  claimEvent(eventId: string, now: Date): Promise<EventClaim>;
  /**
   * Undoes `claimEvent` (when `eventId` is given: null when the event's claim is another delivery's)
   * and, when `fingerprint` is given, the lease `claimFingerprint` took (only while the fingerprint
   * holds no proposal), so that the retry of an invocation that failed before it recorded anything
   * starts over instead of being taken for a duplicate (and lost).
   */
  releaseClaim(eventId: string | null, fingerprint: string | null): Promise<void>;
  /**
   * Counts `count` more denials (default 1) of a live fingerprint (lastSeen = now) in one conditional
   * update, and returns the record; null when the fingerprint is unknown or no longer live. `seen`:
   * their eventTimes (the record's first and last denial move to include them) and sessions.
   */
  touchFingerprint(
    fingerprint: string,
    now: Date,
    count?: number,
    seen?: DenialsSeen,
  ): Promise<FingerprintRecord | null>;
  /**
   * Claims a fingerprint that is not live, with a short lease so a crashed invocation does not hold it
   * for ever, recording the claiming event's id. When another invocation holds it, counts the denial
   * as a repeat of it instead; when this event id made the claim, answers a duplicate.
   */
  claimFingerprint(fingerprint: string, now: Date, options?: ClaimOptions): Promise<ClaimResult>;
  /**
   * `claimEvent` and `claimFingerprint` (recording the event id on the problem) at once: one round
   * trip where the two in turn take two (DynamoDB writes two items in one request only in a
   * transaction, which dynalite lacks). The problem's count waits for the event's answer (a duplicate
   * delivery counts nothing), so a repeat takes two round trips. Throws only after undoing what it
   * took: the event id released, the problem put back as it was before this claim.
   */
  claimDenial(
    eventId: string,
    fingerprint: string,
    now: Date,
    options?: Omit<ClaimOptions, 'eventId'>,
  ): Promise<DenialClaim>;
  /** Stores a new proposal and makes it the fingerprint's live one: storeProposal, then makeLive. */
  createProposal(proposal: Proposal, liveUntil: Date): Promise<void>;
  /** Stores a new proposal (a new id only), not yet the fingerprint's live one. */
  storeProposal(proposal: Proposal): Promise<void>;
  /** Makes a stored proposal the fingerprint's live one (live until `liveUntil`), ending the claim's lease. */
  makeLive(proposal: Proposal, liveUntil: Date): Promise<void>;
  /** The proposal, with the fingerprint's count and first/last seen merged in; null when unknown. */
  getProposal(id: string): Promise<Proposal | null>;
  /**
   * Moves a proposal from `from` to `to` in one conditional write, with `patch` merged in and `audit`
   * appended. Returns the updated proposal, or null when its status was not `from` (someone else won).
   */
  transition(
    id: string,
    from: ProposalStatus,
    to: ProposalStatus,
    patch: Partial<Pick<Proposal, 'applied' | 'appliedAt' | 'reason' | 'stillFailingNotifiedAt'>>,
    audit: AuditEntry,
  ): Promise<Proposal | null>;
  /**
   * Takes over a proposal left `applying` longer than CLAIM_LEASE_SECONDS (its `updatedAt`): the
   * invocation applying it is gone. One conditional write that keeps it `applying`, restarts the lease
   * and appends `audit`; null when the proposal is not `applying` or its lease has not run out. The
   * caller then settles it (flows/apply.ts `settleInterruptedApply`).
   */
  reclaimApplying(id: string, now: Date, audit: AuditEntry): Promise<Proposal | null>;
  /** Appends an audit entry without changing the status (a refused token, a failed notification). */
  appendAudit(id: string, audit: AuditEntry): Promise<void>;
  /** Ends a fingerprint's live period now (after reject it stays suppressed until `until`). */
  setFingerprintLiveUntil(fingerprint: string, until: Date): Promise<void>;
  /**
   * Sets (or, with null, removes) the fingerprint item's `appliedAt`: set after its live proposal is
   * applied, removed once the still-failing notice is sent or the fix is revoked.
   */
  setFingerprintApplied(fingerprint: string, appliedAt: string | null): Promise<void>;
  /** Sets `stillFailingNotifiedAt` once; false when it was already set. */
  markStillFailingNotified(id: string, now: Date): Promise<boolean>;
  /**
   * Counts one automatic apply of proposal `id`, started at `at`, toward auto mode's hourly cap. The
   * flow calls it when auto mode (never an approval) moves a proposal to `applying`; counting the same
   * apply twice counts it once.
   */
  recordAutoApply(id: string, at: Date): Promise<void>;
  /** How many automatic applies `recordAutoApply` counted from `since` up to `now` (auto mode's hourly cap). */
  countAutoAppliesSince(since: Date, now: Date): Promise<number>;
}

/** A grant as keymend creates it (functions/core/plan.ts `GrantPlan`), to recognise it before retiring. */
export interface ExpectedGrant {
  name: string;
  granteePrincipal: string;
  operations: readonly string[];
  encryptionContextSubset: Readonly<Record<string, string>>;
}

/**
 * Every write keymend can make to an account, in one place (audit it against infra's IAM). Each write
 * is idempotent: a retry after a crash finds what the first attempt wrote and does not write twice.
 */
export interface AccountWriter {
  /** Creates the grant unless a grant of this name for this grantee exists (ListGrants first). */
  createGrant(args: {
    keyArn: string;
    name: string;
    granteePrincipal: string;
    operations: string[];
    encryptionContextSubset: Record<string, string>;
  }): Promise<{ grantId: string; created: boolean }>;
  /**
   * Retires keymend's grant (RetireGrant, as the grant's retiring principal), after checking with
   * ListGrants that the grant of that id is the one keymend created: `expected` (name, grantee,
   * operations, constraint) as recorded. A grant that is gone already is success; one that does not
   * match is refused with a NotKeymendsChangeError and left alone.
   */
  retireGrant(args: { keyArn: string; grantId: string; expected: ExpectedGrant }): Promise<void>;
  putPrincipalPolicy(args: { principalArn: string; policyName: string; document: string }): Promise<void>;
  deletePrincipalPolicy(args: { principalArn: string; policyName: string }): Promise<void>;
  /** The key policy as stored now (the text), for the compare-before-write that PutKeyPolicy lacks. */
  getKeyPolicy(keyArn: string): Promise<string>;
  /** Never with BypassPolicyLockoutSafetyCheck. */
  putKeyPolicy(args: { keyArn: string; policy: string }): Promise<void>;
}

/** One message for people. `topic` picks the SNS topic: e-mail (plain text) or chat (Chatbot JSON). */
export interface OutgoingMessage {
  topic: 'email' | 'chat';
  subject: string;
  message: string;
  /**
   * The problem's account and the route its proposal kept (core/routing.ts), for a publisher with a
   * routing map: an e-mail goes to the routed topic, else to the e-mail topic.
   */
  routing?: { accountId: string; route?: string };
}

/**
 * Which notification route applies to a problem in an account (core/routing.ts `routeFor`), reading
 * the OUs above the account where the map names OUs. Best effort: null (the e-mail topic) when none
 * applies or the OUs cannot be read; never throws.
 */
export interface NotificationRouter {
  routeOf(accountId: string): Promise<string | null>;
}

export interface Publisher {
  /** Publishes to the topic; a topic that is not configured (no chat topic) is skipped. */
  publish(message: OutgoingMessage): Promise<void>;
}

/** The approval links of a proposal, each with its own signed token. */
export interface ProposalLinks {
  /** Opens the review page and decides nothing by itself: the one link chat carries. */
  review: string;
  /** Opens the page with Approve and Reject (GET renders only; the page's forms POST). */
  approve?: string;
  reject?: string;
  revoke?: string;
  expiresAt: string;
}

/**
 * Signs and checks approval-link tokens (core/token.ts), each with the key its action needs
 * (`signingKeyFor`): the decision key for approve and reject, the revoke key for revoke. The remediate
 * function's signer holds no revoke key.
 */
export interface LinkSigner {
  /** The keys this function may sign with (the remediate function: the decision key only). */
  readonly keys: readonly SigningKeyName[];
  /** The token for `claims`; throws when this function holds no key for its action. */
  sign(claims: TokenClaims): Promise<string>;
  /** Checks the token's MAC with the key its action needs (bad-signature without it), then its expiry. */
  verify(token: unknown, nowSeconds: number): Promise<TokenCheck>;
}

/**
 * The other accounts keymend may read and change, by account id: the member accounts of an organization
 * deployment (the hub assumes each one's member role) or the accounts of `keymend local`'s snapshots.
 * `session` names who acts there (`keymend-` and the proposal id, the member role's required source
 * identity). Flows never learn how the access is obtained.
 */
export interface AccountDirectory {
  /** The organization keymend serves: a caller or key owner outside it is refused. Null: not known. */
  readonly organizationId: string | null;
  /** The account's reader, or null when keymend has no access there. */
  reader(accountId: string, session: string): AccountReader | null;
  /** The account's writer, or null when keymend has no access there. */
  writer(accountId: string, session: string): AccountWriter | null;
}

/** What the flows need from the outside world, passed in: no SDK, no environment, no global clock. */
export interface FlowPorts {
  store: ProposalStore;
  /** The account keymend runs in (the hub's, in an organization deployment). */
  reader: AccountReader;
  writer: AccountWriter;
  /** Other accounts (organization deployment, several local snapshots); absent: only `reader`'s account. */
  accounts?: AccountDirectory;
  publisher: Publisher;
  signer: LinkSigner;
  now: () => Date;
  /** Where the impact's consumer lag is read from (CloudWatch when deployed); absent: not read. */
  metrics?: MetricsReader;
  /** Picks a new problem's notification route; absent: no routing map, every e-mail to the e-mail topic. */
  router?: NotificationRouter;
}

/** Metrics people are told of; best effort: null when not readable. */
export interface MetricsReader {
  /**
   * How far behind the stream's consumers are, as of `now`, and, given `functionName`, that Lambda
   * function's event source mappings: in one request.
   */
  consumerLag(query: LagQuery, now: Date): Promise<ConsumerLags>;
}

/** Whose lag to read: the stream's, and the function the denied session may belong to. */
export interface LagQuery {
  streamArn: string;
  functionName?: string;
}

/** The lags read; each null when CloudWatch has no data point for it (or the read failed). */
export interface ConsumerLags {
  stream: ConsumerLag | null;
  function: ConsumerLag | null;
}

export type { AppliedChange };
