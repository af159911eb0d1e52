/**
 * The one in-memory ProposalStore of the tests. It keeps DynamoProposalStore's contract (the contract
 * test, test/adapters/store-contract.test.ts, runs the same cases on both): conditional transitions that
 * throw StoreError on a move TRANSITIONS forbids, fingerprint claims with a lease, the fingerprint's
 * counts merged into a proposal, the audit limit, and the automatic applies counted per hour.
 *
 * Each method checks and writes with no await in between, after one await that stands for the network
 * round trip: racing callers see what DynamoDB's condition expressions give (one wins). `requests`
 * counts the DynamoDB requests the real store would send for the same calls.
 *
 * Tests put state in through the ProposalStore methods only; the maps below are read-only views.
 */
import {
  AUDIT_APPEND_LIMIT,
  DEFAULT_LEASE_MS,
  StoreError,
  withRecordCounts,
} from '../../functions/adapters/store';
import { settleDenialClaim } from '../../functions/core/denial-claim';
import { type DenialsSeen, denialSeen, SESSION_CAP } from '../../functions/core/denials-seen';
import type {
  ClaimOptions,
  ClaimResult,
  DenialClaim,
  EventClaim,
  FingerprintRecord,
  ProposalStore,
} from '../../functions/core/ports';
import {
  type AuditEntry,
  canTransition,
  type Proposal,
  type ProposalStatus,
  ttlChange,
} from '../../functions/core/proposal';

type Patch = Parameters<ProposalStore['transition']>[3];
type FingerprintItem = Omit<FingerprintRecord, 'proposalId' | 'sessions'> & {
  proposalId?: string;
  leaseUntil?: string;
  firstEventId?: string;
  /** The session hashes, as the DynamoDB item's string set holds them. */
  sessionHashes?: string[];
};
interface EventItem {
  released: boolean;
  leaseUntil: string;
}

const HOUR_MS = 60 * 60 * 1000;

export class MemoryStore implements ProposalStore {
  private readonly eventItems = new Map<string, EventItem>();
  private readonly fingerprintItems = new Map<string, FingerprintItem>();
  private readonly proposalItems = new Map<string, Proposal>();
  /** `<at>|<proposalId>` of each automatic apply, as the DynamoDB store's hour buckets hold them. */
  private readonly autoApplies = new Set<string>();

  /** DynamoDB requests the real store would have sent. */
  requests = 0;
  /** Of those, the writes (PutItem, UpdateItem), whether or not their condition held. */
  writes = 0;
  /** Set to make `transition` to this status throw once, before writing (a crash before the record). */
  crashOnTransitionTo: ProposalStatus | null = null;

  constructor(private readonly leaseMs = DEFAULT_LEASE_MS) {}

  /** The stored proposals, as stored (without the fingerprint's counts that `getProposal` merges in). */
  get proposals(): ReadonlyMap<string, Readonly<Proposal>> {
    return this.proposalItems;
  }

  /** The fingerprint records, by fingerprint. */
  get fingerprints(): ReadonlyMap<string, Readonly<FingerprintRecord>> {
    return new Map([...this.fingerprintItems].map(([key, item]) => [key, recordOf(item)]));
  }

  /** The event ids claimed and not released. */
  get events(): ReadonlySet<string> {
    return new Set([...this.eventItems].filter(([, item]) => !item.released).map(([id]) => id));
  }

  /** Everything stored, as text: equal texts mean an unchanged store. */
  dump(): string {
    return JSON.stringify({
      events: [...this.eventItems].sort(),
      fingerprints: [...this.fingerprintItems].sort(),
      proposals: [...this.proposalItems].sort(),
      autoApplies: [...this.autoApplies].sort(),
    });
  }

  async claimEvent(eventId: string, now: Date): Promise<EventClaim> {
    await this.write();
    const item = this.eventItems.get(eventId);
    if (item && !item.released && item.leaseUntil > now.toISOString()) return 'duplicate';
    this.eventItems.set(eventId, { released: false, leaseUntil: this.leaseEnd(now) });
    return item ? 'retry' : 'first';
  }

  async releaseClaim(eventId: string | null, fingerprint: string | null): Promise<void> {
    if (eventId !== null) {
      await this.write();
      const event = this.eventItems.get(eventId);
      if (event) event.released = true;
    }
    if (fingerprint === null) return;
    await this.write();
    const record = this.fingerprintItems.get(fingerprint);
    if (record && record.proposalId === undefined) delete record.leaseUntil;
  }

  async touchFingerprint(
    fingerprint: string,
    now: Date,
    count = 1,
    seen?: DenialsSeen,
  ): Promise<FingerprintRecord | null> {
    await this.write();
    const record = this.fingerprintItems.get(fingerprint);
    if (!record || record.proposalId === undefined || record.liveUntil <= now.toISOString()) {
      // The real store's first UpdateItem (with the times) failed; its second one, alone, fails too.
      if (seen) await this.write();
      return null;
    }
    return this.countDenial(record, now, count, seen);
  }

  async claimFingerprint(fingerprint: string, now: Date, options: ClaimOptions = {}): Promise<ClaimResult> {
    return (await this.claimProblem(fingerprint, now, options)).result;
  }

  async claimDenial(
    eventId: string,
    fingerprint: string,
    now: Date,
    options: Omit<ClaimOptions, 'eventId'> = {},
  ): Promise<DenialClaim> {
    // The two writes at once, as the DynamoDB store sends them.
    const event = this.claimEvent(eventId, now);
    const problem = this.claimProblem(fingerprint, now, { ...options, eventId }, event);
    return settleDenialClaim(event, problem, async (previous) => {
      // Put back as the claim found it, while the item still holds this claim.
      await this.write();
      const current = this.fingerprintItems.get(fingerprint);
      const lease = this.leaseEnd(now);
      if (
        current?.proposalId === undefined &&
        current?.leaseUntil === lease &&
        current.firstEventId === eventId
      )
        this.fingerprintItems.set(fingerprint, previous);
    });
  }

  /** claimFingerprint, with the item it replaced; a held problem is counted once `delivery` answers. */
  private async claimProblem(
    fingerprint: string,
    now: Date,
    options: ClaimOptions,
    delivery?: Promise<EventClaim>,
  ): Promise<{ result: ClaimResult; previous?: FingerprintItem }> {
    await this.write();
    const at = now.toISOString();
    const record = this.fingerprintItems.get(fingerprint);
    const live = record?.proposalId !== undefined && record.liveUntil > at;
    const leased = record?.leaseUntil !== undefined && record.leaseUntil > at;
    if (record && (live || leased)) {
      // Someone else holds it: nothing more for a duplicate delivery; else a second request counts
      // this denial as a repeat of theirs, unless this event made their claim (then a third,
      // consistent read tells the duplicate) and it is not a retry.
      const seenAs = await delivery;
      if (seenAs === 'duplicate') return { result: { claimed: false, duplicate: true } };
      await this.write();
      // The item as it is when the count arrives (the same one: it is deleted only by TTL).
      const current = this.fingerprintItems.get(fingerprint) ?? record;
      if (options.eventId !== undefined && seenAs !== 'retry' && current.firstEventId === options.eventId) {
        await this.read();
        return { result: { claimed: false, duplicate: true } };
      }
      return {
        result: { claimed: false, record: this.countDenial(current, now, options.count ?? 1, options.seen) },
      };
    }
    const previousProposalId = record?.proposalId;
    const previous = record ? structuredClone(record) : undefined;
    const seen = options.seen;
    this.fingerprintItems.set(fingerprint, {
      fingerprint,
      count: 1,
      firstSeen: at,
      lastSeen: at,
      liveUntil: at,
      leaseUntil: this.leaseEnd(now),
      ...(options.eventId !== undefined ? { firstEventId: options.eventId } : {}),
      ...(seen ? { firstDenialAt: seen.firstAt, lastDenialAt: seen.lastAt } : {}),
      ...(seen && seen.sessions.length > 0 ? { sessionHashes: seen.sessions.slice(0, SESSION_CAP) } : {}),
    });
    const result: ClaimResult = previousProposalId
      ? { claimed: true, previousProposalId }
      : { claimed: true };
    return previous ? { result, previous } : { result };
  }

  async createProposal(proposal: Proposal, liveUntil: Date): Promise<void> {
    await this.storeProposal(proposal);
    await this.makeLive(proposal, liveUntil);
  }

  async storeProposal(proposal: Proposal): Promise<void> {
    await this.write();
    if (this.proposalItems.has(proposal.id)) throw new StoreError(`proposal ${proposal.id} exists already`);
    this.proposalItems.set(proposal.id, structuredClone(proposal));
  }

  async makeLive(proposal: Proposal, liveUntil: Date): Promise<void> {
    await this.write();
    const record = this.fingerprintItems.get(proposal.fingerprint);
    const { leaseUntil: _lease, ...kept } = record ?? {};
    const seen = denialSeen(proposal.request);
    this.fingerprintItems.set(proposal.fingerprint, {
      ...kept,
      fingerprint: proposal.fingerprint,
      proposalId: proposal.id,
      liveUntil: liveUntil.toISOString(),
      count: record?.count ?? proposal.count,
      firstSeen: record?.firstSeen ?? proposal.firstSeen,
      lastSeen: record?.lastSeen ?? proposal.lastSeen,
      ...(seen
        ? {
            firstDenialAt: record?.firstDenialAt ?? seen.firstAt,
            lastDenialAt: record?.lastDenialAt ?? seen.lastAt,
            sessionHashes: record?.sessionHashes ?? seen.sessions,
          }
        : {}),
    });
  }

  async getProposal(id: string): Promise<Proposal | null> {
    await this.read();
    const proposal = this.proposalItems.get(id);
    if (!proposal) return null;
    this.requests++;
    return this.withCounts(proposal);
  }

  async transition(
    id: string,
    from: ProposalStatus,
    to: ProposalStatus,
    patch: Patch,
    audit: AuditEntry,
  ): Promise<Proposal | null> {
    if (!canTransition(from, to)) throw new StoreError(`a proposal may not go from ${from} to ${to}`);
    if (this.crashOnTransitionTo === to) {
      this.crashOnTransitionTo = null;
      throw new Error('simulated crash before the record');
    }
    await this.write();
    const current = this.proposalItems.get(id);
    if (!current || current.status !== from) return null;
    const defined = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
    const next: Proposal = {
      ...current,
      ...structuredClone(defined),
      status: to,
      updatedAt: audit.at,
      audit: [...current.audit, structuredClone(audit)],
    };
    const ttl = ttlChange(to, audit.at);
    if (ttl === 'remove') delete next.ttl;
    else if (ttl !== 'keep') next.ttl = ttl.set;
    this.proposalItems.set(id, next);
    this.requests++;
    return this.withCounts(next);
  }

  async reclaimApplying(id: string, now: Date, audit: AuditEntry): Promise<Proposal | null> {
    await this.write();
    const current = this.proposalItems.get(id);
    const staleBefore = new Date(now.getTime() - this.leaseMs).toISOString();
    if (current?.status !== 'applying' || current.updatedAt > staleBefore) return null;
    const next: Proposal = {
      ...current,
      updatedAt: now.toISOString(),
      audit: [...current.audit, structuredClone(audit)],
    };
    this.proposalItems.set(id, next);
    this.requests++;
    return this.withCounts(next);
  }

  async appendAudit(id: string, audit: AuditEntry): Promise<void> {
    await this.write();
    const current = this.proposalItems.get(id);
    if (!current || current.audit.length >= AUDIT_APPEND_LIMIT) return;
    this.proposalItems.set(id, { ...current, audit: [...current.audit, structuredClone(audit)] });
  }

  async setFingerprintLiveUntil(fingerprint: string, until: Date): Promise<void> {
    await this.write();
    const record = this.fingerprintItems.get(fingerprint);
    if (record) record.liveUntil = until.toISOString();
  }

  async setFingerprintApplied(fingerprint: string, appliedAt: string | null): Promise<void> {
    await this.write();
    const record = this.fingerprintItems.get(fingerprint);
    if (!record) return;
    if (appliedAt === null) delete record.appliedAt;
    else record.appliedAt = appliedAt;
  }

  async markStillFailingNotified(id: string, now: Date): Promise<boolean> {
    await this.write();
    const current = this.proposalItems.get(id);
    if (!current || current.stillFailingNotifiedAt !== undefined) return false;
    this.proposalItems.set(id, { ...current, stillFailingNotifiedAt: now.toISOString() });
    return true;
  }

  async recordAutoApply(id: string, at: Date): Promise<void> {
    await this.write();
    this.autoApplies.add(`${at.toISOString()}|${id}`);
  }

  async countAutoAppliesSince(since: Date, now: Date): Promise<number> {
    await this.read();
    // As the DynamoDB store: the hour buckets from `since`'s to `now`'s, entries at or after `since`.
    const lastHour = Math.max(Math.floor(since.getTime() / HOUR_MS), Math.floor(now.getTime() / HOUR_MS));
    return [...this.autoApplies]
      .map((entry) => entry.slice(0, entry.indexOf('|')))
      .filter((at) => at >= since.toISOString() && Math.floor(Date.parse(at) / HOUR_MS) <= lastHour).length;
  }

  private leaseEnd(now: Date): string {
    return new Date(now.getTime() + this.leaseMs).toISOString();
  }

  /**
   * As the DynamoDB store: with `seen`, one write when the batch moves the times forward and the session
   * set has room; otherwise a second write counts, and one more per time or session set still to fix.
   */
  private countDenial(record: FingerprintItem, now: Date, count = 1, seen?: DenialsSeen): FingerprintRecord {
    record.count += count;
    record.lastSeen = now.toISOString();
    if (!seen) return recordOf(record);
    const sessions = record.sessionHashes ?? [];
    const forward =
      (record.lastDenialAt === undefined || record.lastDenialAt <= seen.lastAt) &&
      (record.firstDenialAt === undefined || record.firstDenialAt <= seen.firstAt) &&
      (seen.sessions.length === 0 || sessions.length < SESSION_CAP);
    if (!forward) {
      this.requests++;
      this.writes++;
      if (record.firstDenialAt === undefined || seen.firstAt < record.firstDenialAt) this.requests++;
      if (record.lastDenialAt === undefined || seen.lastAt > record.lastDenialAt) this.requests++;
      if (seen.sessions.length > 0 && sessions.length < SESSION_CAP) this.requests++;
    }
    if (record.firstDenialAt === undefined || seen.firstAt < record.firstDenialAt)
      record.firstDenialAt = seen.firstAt;
    if (record.lastDenialAt === undefined || seen.lastAt > record.lastDenialAt)
      record.lastDenialAt = seen.lastAt;
    if (seen.sessions.length > 0 && sessions.length < SESSION_CAP) {
      record.sessionHashes = [...new Set([...sessions, ...seen.sessions])];
    }
    return recordOf(record);
  }

  private withCounts(proposal: Proposal): Proposal {
    const record = this.fingerprintItems.get(proposal.fingerprint);
    const copy = structuredClone(proposal);
    // A later period of the fingerprint counts for a later proposal, not this one.
    if (!record || record.proposalId !== proposal.id) return copy;
    return withRecordCounts(copy, recordOf(record));
  }

  /** One request's round trip: other callers run first, as they would while it is on the network. */
  private async read(): Promise<void> {
    this.requests++;
    await Promise.resolve();
  }

  private async write(): Promise<void> {
    this.writes++;
    await this.read();
  }
}

function recordOf(item: FingerprintItem): FingerprintRecord {
  const { leaseUntil: _lease, firstEventId: _event, proposalId, sessionHashes, ...rest } = item;
  return structuredClone({
    ...rest,
    proposalId: proposalId ?? null,
    ...(sessionHashes ? { sessions: sessionHashes.length } : {}),
  });
}
