/**
 * Fixtures for the approval tests: a real proposal (a sample denial diagnosed against the demo
 * snapshot), an in-memory store whose status changes are conditional like DynamoDB's, and recording
 * stand-ins for the publisher, the secret and the apply/revoke steps.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseSnapshot, SnapshotReader } from '../../functions/adapters/snapshot';
import type { AccountReader } from '../../functions/core/account';
import { diagnose } from '../../functions/core/diagnose';
import { gatherState } from '../../functions/core/gather';
import { intake } from '../../functions/core/intake';
import { proposalLinks } from '../../functions/core/links';
import type {
  AccountWriter,
  ClaimResult,
  FingerprintRecord,
  FlowPorts,
  OutgoingMessage,
  ProposalStore,
  Publisher,
  SecretSource,
} from '../../functions/core/ports';
import {
  type AuditEntry,
  canTransition,
  fingerprintOf,
  type NotificationKind,
  type Proposal,
  type ProposalStatus,
  planHash,
} from '../../functions/core/proposal';
import type { ApprovalSteps, AuditContext, StepPorts } from '../../functions/flows/approve';
import { EVENTS_DIR, loadEvent } from './events';

export const SECRET = new Uint8Array(Buffer.from('test-signing-key-0123456789abcdef-0123456789'));
export const NOW = new Date('2026-12-03T09:00:00.000Z');

/** The demo account as a reader. */
export function demoReader(): AccountReader {
  const text = readFileSync(path.join(EVENTS_DIR, 'accounts/demo.json'), 'utf8');
  return new SnapshotReader(parseSnapshot(JSON.parse(text)));
}

/**
 * A pending proposal for `event` (default: the consumer denied kms:Decrypt on stream orders), diagnosed
 * against the demo account. `edit` may change the event (structuredClone'd) before the intake reads it.
 */
export async function sampleProposal(
  options: { event?: string; edit?: (event: Record<string, unknown>) => void; id?: string } = {},
): Promise<Proposal> {
  const event = loadEvent(options.event ?? 'consumer-decrypt-denied-service-role.eventbridge.json');
  options.edit?.(event);
  const read = intake(event);
  if (!read.match) throw new Error(`sample event does not match: ${read.reason}`);
  const request = read.request;
  const reader = demoReader();
  const state = await gatherState(reader, request);
  const result = diagnose(request, state);
  if (result.verdict !== 'propose') throw new Error(`sample does not propose: ${result.reason}`);
  const scope = {
    accountId: request.accountId,
    region: request.region,
    principalArn: request.principalArn,
    operation: request.operation,
    keyArn: state.key?.arn ?? '',
    streamArn: request.streamArn ?? '',
  };
  return {
    id: options.id ?? 'p-0123456789abcdef',
    fingerprint: fingerprintOf(scope),
    scope,
    status: 'pending',
    verdict: 'propose',
    code: 'propose',
    reason: result.reason,
    request,
    keyAliases: state.key?.aliases ?? [],
    diagnosis: result.diagnosis,
    plan: result.plan,
    planHash: planHash(result.plan),
    proof: result.proof,
    count: 42,
    firstSeen: '2026-12-03T08:10:00.000Z',
    lastSeen: '2026-12-03T08:55:00.000Z',
    createdAt: '2026-12-03T08:10:01.000Z',
    updatedAt: '2026-12-03T08:10:01.000Z',
    expiresAt: '2026-12-06T08:10:01.000Z',
    ttl: Math.floor(Date.parse('2026-12-20T00:00:00Z') / 1000),
    audit: [],
  };
}

/**
 * An in-memory ProposalStore. Each status change checks and writes with no await in between, so racing
 * callers see what DynamoDB's condition expressions give: one wins, the others get null.
 */
export class MemoryStore implements ProposalStore {
  readonly proposals = new Map<string, Proposal>();
  readonly fingerprints = new Map<string, FingerprintRecord>();
  readonly events = new Set<string>();
  writes = 0;

  /** Everything stored, as text: equal texts mean an unchanged store. */
  dump(): string {
    return JSON.stringify({
      proposals: [...this.proposals.entries()].sort(),
      fingerprints: [...this.fingerprints.entries()].sort(),
      events: [...this.events].sort(),
    });
  }

  async claimEvent(eventId: string): Promise<boolean> {
    this.writes++;
    if (this.events.has(eventId)) return false;
    this.events.add(eventId);
    return true;
  }

  async releaseClaim(eventId: string, fingerprint: string | null): Promise<void> {
    this.writes++;
    this.events.delete(eventId);
    const record = fingerprint === null ? undefined : this.fingerprints.get(fingerprint);
    if (fingerprint !== null && record && record.proposalId === null) this.fingerprints.delete(fingerprint);
  }

  async touchFingerprint(fingerprint: string, now: Date): Promise<FingerprintRecord | null> {
    const record = this.fingerprints.get(fingerprint);
    if (!record || Date.parse(record.liveUntil) <= now.getTime()) return null;
    this.writes++;
    const next = { ...record, count: record.count + 1, lastSeen: now.toISOString() };
    this.fingerprints.set(fingerprint, next);
    return structuredClone(next);
  }

  async claimFingerprint(fingerprint: string, now: Date): Promise<ClaimResult> {
    this.writes++;
    this.fingerprints.set(fingerprint, {
      fingerprint,
      proposalId: null,
      count: 1,
      firstSeen: now.toISOString(),
      lastSeen: now.toISOString(),
      liveUntil: new Date(now.getTime() + 60_000).toISOString(),
    });
    return { claimed: true };
  }

  async createProposal(proposal: Proposal, liveUntil: Date): Promise<void> {
    this.writes++;
    this.proposals.set(proposal.id, structuredClone(proposal));
    this.fingerprints.set(proposal.fingerprint, {
      fingerprint: proposal.fingerprint,
      proposalId: proposal.id,
      count: proposal.count,
      firstSeen: proposal.firstSeen,
      lastSeen: proposal.lastSeen,
      liveUntil: liveUntil.toISOString(),
    });
  }

  async getProposal(id: string): Promise<Proposal | null> {
    await Promise.resolve();
    const found = this.proposals.get(id);
    return found ? structuredClone(found) : null;
  }

  async transition(
    id: string,
    from: ProposalStatus,
    to: ProposalStatus,
    patch: Partial<Pick<Proposal, 'applied' | 'appliedAt' | 'reason' | 'stillFailingNotifiedAt'>>,
    audit: AuditEntry,
  ): Promise<Proposal | null> {
    // Let other callers run first, as a network round trip would.
    await Promise.resolve();
    const current = this.proposals.get(id);
    if (!current || current.status !== from) return null;
    if (!canTransition(from, to)) throw new Error(`illegal transition ${from} -> ${to}`);
    this.writes++;
    const next: Proposal = {
      ...current,
      ...patch,
      status: to,
      updatedAt: audit.at,
      audit: [...current.audit, audit],
    };
    this.proposals.set(id, next);
    return structuredClone(next);
  }

  async appendAudit(id: string, audit: AuditEntry): Promise<void> {
    const current = this.proposals.get(id);
    if (!current) return;
    this.writes++;
    this.proposals.set(id, { ...current, audit: [...current.audit, audit] });
  }

  async setFingerprintLiveUntil(fingerprint: string, until: Date): Promise<void> {
    this.writes++;
    const record = this.fingerprints.get(fingerprint);
    if (record) this.fingerprints.set(fingerprint, { ...record, liveUntil: until.toISOString() });
  }

  async setFingerprintApplied(fingerprint: string, appliedAt: string | null): Promise<void> {
    const record = this.fingerprints.get(fingerprint);
    if (!record) return;
    this.writes++;
    const { appliedAt: _old, ...rest } = record as FingerprintRecord & { appliedAt?: string };
    this.fingerprints.set(
      fingerprint,
      appliedAt === null ? rest : ({ ...rest, appliedAt } as FingerprintRecord),
    );
  }

  async markStillFailingNotified(id: string, now: Date): Promise<boolean> {
    const current = this.proposals.get(id);
    if (!current || current.stillFailingNotifiedAt) return false;
    this.writes++;
    this.proposals.set(id, { ...current, stillFailingNotifiedAt: now.toISOString() });
    return true;
  }

  async countAutoAppliesSince(): Promise<number> {
    return 0;
  }
}

export class RecordingPublisher implements Publisher {
  readonly sent: OutgoingMessage[] = [];
  async publish(message: OutgoingMessage): Promise<void> {
    this.sent.push(message);
  }
}

export const fixedSecret: SecretSource = { signingKey: async () => SECRET };

/** A writer that fails the test if anything calls it. */
export const noWriter: AccountWriter = {
  createGrant: async () => {
    throw new Error('unexpected createGrant');
  },
  retireGrant: async () => {
    throw new Error('unexpected retireGrant');
  },
  putPrincipalPolicy: async () => {
    throw new Error('unexpected putPrincipalPolicy');
  },
  deletePrincipalPolicy: async () => {
    throw new Error('unexpected deletePrincipalPolicy');
  },
  getKeyPolicy: async () => {
    throw new Error('unexpected getKeyPolicy');
  },
  putKeyPolicy: async () => {
    throw new Error('unexpected putKeyPolicy');
  },
};

/** Renders a notification as plain JSON and publishes it: the stand-in for flows/notify.ts. */
async function publishJson(
  ports: StepPorts,
  kind: NotificationKind,
  proposal: Proposal,
  links: { settings: { baseUrl: string; ttlHours: number }; expiresAt: Date } | null,
): Promise<boolean> {
  const signed = links
    ? proposalLinks(await ports.secret.signingKey(), proposal, links.settings.baseUrl, links.expiresAt)
    : null;
  const lines = [`keymend ${kind}`];
  if (signed?.approve) lines.push(`Approve: ${signed.approve}`);
  if (signed?.reject) lines.push(`Reject: ${signed.reject}`);
  if (signed?.revoke) lines.push(`Revoke: ${signed.revoke}`);
  await ports.publisher.publish({
    topic: 'email',
    subject: `${kind} ${proposal.id}`,
    message: lines.join('\n'),
  });
  return true;
}

/**
 * Apply and revoke steps that record their calls and do what flows/apply.ts does to the store and the
 * outbox (applying -> applied with a grant, then notify; applied -> revoked, then notify), with the
 * grant written to `writer` when one is given.
 */
export function recordingSteps() {
  const calls = {
    apply: [] as Array<{ id: string; actor: string; allowKeyPolicy: boolean; auditContext?: AuditContext }>,
    revoke: 0,
  };
  const steps: ApprovalSteps = {
    async apply(ports, proposal, actor, options) {
      calls.apply.push({
        id: proposal.id,
        actor,
        allowKeyPolicy: options.allowKeyPolicy,
        ...(options.auditContext ? { auditContext: options.auditContext } : {}),
      });
      const plan = proposal.plan;
      if (plan?.mechanism !== 'kms-grant') throw new Error('the double applies grants only');
      const { grantId } =
        ports.writer === noWriter
          ? { grantId: 'grant-1' }
          : await ports.writer.createGrant({
              keyArn: plan.keyArn,
              name: plan.name,
              granteePrincipal: plan.granteePrincipal,
              operations: [...plan.operations],
              encryptionContextSubset: plan.constraints.encryptionContextSubset,
            });
      const at = ports.now().toISOString();
      const after = await ports.store.transition(
        proposal.id,
        'applying',
        'applied',
        {
          applied: { mechanism: 'kms-grant', keyArn: plan.keyArn, grantId, grantName: plan.name },
          appliedAt: at,
        },
        { at, actor, action: 'apply', outcome: 'applied', ...options.auditContext },
      );
      if (!after) return { outcome: 'conflict', reason: 'lost the applying proposal' };
      await publishJson(ports, options.kind, after, {
        settings: options.links,
        expiresAt: new Date(ports.now().getTime() + options.links.ttlHours * 3_600_000),
      });
      return { outcome: 'applied', proposal: after, verified: true };
    },
    async revoke(ports, proposal, actor, auditContext) {
      calls.revoke++;
      const applied = proposal.applied;
      if (applied?.mechanism !== 'kms-grant') return { outcome: 'refused', reason: 'nothing to undo' };
      if (ports.writer !== noWriter)
        await ports.writer.retireGrant({
          keyArn: applied.keyArn,
          grantId: applied.grantId,
          expected: expectedGrantOf(proposal),
        });
      const after = await ports.store.transition(
        proposal.id,
        'applied',
        'revoked',
        {},
        { at: ports.now().toISOString(), actor, action: 'revoke', outcome: 'revoked', ...auditContext },
      );
      if (!after) return { outcome: 'conflict', reason: 'another actor revoked it first' };
      await publishJson(ports, 'revoked', after, null);
      return { outcome: 'revoked', proposal: after };
    },
    notify: publishJson,
  };
  return { steps, calls };
}

/** FlowPorts over a MemoryStore, the demo reader, no writer, a recording publisher and a fixed clock. */
export function memoryPorts(store = new MemoryStore(), now = () => NOW) {
  const publisher = new RecordingPublisher();
  const ports: FlowPorts = {
    store,
    reader: demoReader(),
    writer: noWriter,
    publisher,
    secret: fixedSecret,
    now,
  };
  return { ports, store, publisher };
}

/** What keymend created for a grant proposal, as revokeProposal passes it to retireGrant. */
function expectedGrantOf(proposal: Proposal) {
  const plan = proposal.plan;
  if (plan?.mechanism !== 'kms-grant') throw new Error('not a grant proposal');
  return {
    name: plan.name,
    granteePrincipal: plan.granteePrincipal,
    operations: plan.operations,
    encryptionContextSubset: plan.constraints.encryptionContextSubset,
  };
}
