/**
 * A small in-memory ProposalStore for flow tests (the real one is DynamoDB: functions/adapters/store.ts).
 * It keeps the store's contract (conditional transitions, live fingerprints, leases) and counts requests.
 */
import type { ClaimResult, FingerprintRecord, ProposalStore } from '../../functions/core/ports';
import type { AuditEntry, Proposal, ProposalStatus } from '../../functions/core/proposal';
import { canTransition } from '../../functions/core/proposal';

/** As the DynamoDB store's default: a claim without a proposal holds this long. */
const LEASE_MS = 2 * 60_000;

type Fingerprint = FingerprintRecord & { leaseUntil?: string };

export class MemoryStore implements ProposalStore {
  readonly events = new Set<string>();
  readonly fingerprints = new Map<string, Fingerprint>();
  readonly proposals = new Map<string, Proposal>();
  requests = 0;
  /** Set to make `transition` to this status throw once (a crash between the write and the record). */
  crashOnTransitionTo: ProposalStatus | null = null;

  async claimEvent(eventId: string): Promise<boolean> {
    this.requests++;
    if (this.events.has(eventId)) return false;
    this.events.add(eventId);
    return true;
  }

  async releaseClaim(eventId: string, fingerprint: string | null): Promise<void> {
    this.requests++;
    this.events.delete(eventId);
    if (fingerprint === null) return;
    this.requests++;
    const record = this.fingerprints.get(fingerprint);
    if (record && !record.proposalId) delete record.leaseUntil;
  }

  async touchFingerprint(fingerprint: string, now: Date): Promise<FingerprintRecord | null> {
    this.requests++;
    const record = this.fingerprints.get(fingerprint);
    if (!record?.proposalId || Date.parse(record.liveUntil) <= now.getTime()) return null;
    record.count++;
    record.lastSeen = now.toISOString();
    return this.copy(record);
  }

  async claimFingerprint(fingerprint: string, now: Date): Promise<ClaimResult> {
    this.requests++;
    const record = this.fingerprints.get(fingerprint);
    const live = record?.proposalId && Date.parse(record.liveUntil) > now.getTime();
    const leased = record?.leaseUntil && Date.parse(record.leaseUntil) > now.getTime();
    if (record && (live || leased)) {
      this.requests++;
      record.count++;
      record.lastSeen = now.toISOString();
      return { claimed: false, record: this.copy(record) };
    }
    const at = now.toISOString();
    const previousProposalId = record?.proposalId ?? undefined;
    this.fingerprints.set(fingerprint, {
      fingerprint,
      proposalId: null,
      count: 1,
      firstSeen: at,
      lastSeen: at,
      liveUntil: at,
      leaseUntil: new Date(now.getTime() + LEASE_MS).toISOString(),
    });
    return previousProposalId ? { claimed: true, previousProposalId } : { claimed: true };
  }

  async createProposal(proposal: Proposal, liveUntil: Date): Promise<void> {
    this.requests++;
    this.proposals.set(proposal.id, structuredClone(proposal));
    const record = this.fingerprints.get(proposal.fingerprint);
    this.fingerprints.set(proposal.fingerprint, {
      fingerprint: proposal.fingerprint,
      proposalId: proposal.id,
      count: record?.count ?? 1,
      firstSeen: record?.firstSeen ?? proposal.firstSeen,
      lastSeen: record?.lastSeen ?? proposal.lastSeen,
      liveUntil: liveUntil.toISOString(),
    });
  }

  private copy(record: Fingerprint): FingerprintRecord {
    const { leaseUntil: _lease, ...rest } = record;
    return structuredClone(rest);
  }

  async getProposal(id: string): Promise<Proposal | null> {
    this.requests++;
    const proposal = this.proposals.get(id);
    return proposal ? structuredClone(proposal) : null;
  }

  async transition(
    id: string,
    from: ProposalStatus,
    to: ProposalStatus,
    patch: Partial<Proposal>,
    audit: AuditEntry,
  ): Promise<Proposal | null> {
    this.requests++;
    if (this.crashOnTransitionTo === to) {
      this.crashOnTransitionTo = null;
      throw new Error('simulated crash before the record');
    }
    const proposal = this.proposals.get(id);
    if (!proposal || proposal.status !== from || !canTransition(from, to)) return null;
    Object.assign(proposal, patch, { status: to, updatedAt: audit.at });
    proposal.audit.push(audit);
    return structuredClone(proposal);
  }

  async appendAudit(id: string, audit: AuditEntry): Promise<void> {
    this.requests++;
    this.proposals.get(id)?.audit.push(audit);
  }

  async setFingerprintLiveUntil(fingerprint: string, until: Date): Promise<void> {
    this.requests++;
    const record = this.fingerprints.get(fingerprint);
    if (record) record.liveUntil = until.toISOString();
  }

  async setFingerprintApplied(fingerprint: string, appliedAt: string | null): Promise<void> {
    this.requests++;
    const record = this.fingerprints.get(fingerprint);
    if (!record) return;
    if (appliedAt === null) delete record.appliedAt;
    else record.appliedAt = appliedAt;
  }

  async markStillFailingNotified(id: string, now: Date): Promise<boolean> {
    this.requests++;
    const proposal = this.proposals.get(id);
    if (!proposal || proposal.stillFailingNotifiedAt) return false;
    proposal.stillFailingNotifiedAt = now.toISOString();
    return true;
  }

  async countAutoAppliesSince(since: Date): Promise<number> {
    this.requests++;
    return [...this.proposals.values()].filter(
      (p) =>
        p.appliedAt !== undefined &&
        Date.parse(p.appliedAt) >= since.getTime() &&
        p.audit.some((a) => a.action === 'auto-apply'),
    ).length;
  }
}
