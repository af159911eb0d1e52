/**
 * Fixtures for the approval tests: a real proposal (a sample denial diagnosed against the demo
 * snapshot), the demo account (LocalAccount, which the real apply and revoke steps write to), the
 * in-memory store, and recording stand-ins for the publisher and the secret.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LocalAccount } from '../../functions/adapters/local-account';
import { parseSnapshot, SnapshotReader } from '../../functions/adapters/snapshot';
import type { AccountReader } from '../../functions/core/account';
import { diagnose } from '../../functions/core/diagnose';
import { gatherState } from '../../functions/core/gather';
import { intake } from '../../functions/core/intake';
import type { Mechanism } from '../../functions/core/plan';
import type {
  AccountWriter,
  FlowPorts,
  OutgoingMessage,
  ProposalStore,
  Publisher,
} from '../../functions/core/ports';
import { fingerprintOf, type NotificationKind, type Proposal, planHash } from '../../functions/core/proposal';
import { loadAccount } from './denials';
import { EVENTS_DIR, loadEvent } from './events';
import { approvalSigner, kindOf, LINK_KEYS, remediateSigner } from './flow-ports';
import { MemoryStore } from './memory-store';

/** The in-process stand-ins of the two KMS HMAC keys (helpers/flow-ports.ts LINK_KEYS). */
export const SECRET = LINK_KEYS.decision;
export const REVOKE_SECRET = LINK_KEYS.revoke;
export { approvalSigner, remediateSigner };
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
  options: {
    event?: string;
    edit?: (event: Record<string, unknown>) => void;
    id?: string;
    prefer?: Mechanism;
  } = {},
): Promise<Proposal> {
  const event = loadEvent(options.event ?? 'consumer-decrypt-denied-service-role.eventbridge.json');
  options.edit?.(event);
  const read = intake(event);
  if (!read.match) throw new Error(`sample event does not match: ${read.reason}`);
  const request = read.request;
  const reader = demoReader();
  const state = await gatherState(reader, request);
  const result = diagnose(request, state, options.prefer ? { prefer: options.prefer } : {});
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

export class RecordingPublisher implements Publisher {
  readonly sent: OutgoingMessage[] = [];
  async publish(message: OutgoingMessage): Promise<void> {
    this.sent.push(message);
  }

  /** The e-mails published, in order. */
  get emails(): OutgoingMessage[] {
    return this.sent.filter((message) => message.topic === 'email');
  }

  /** The kind of each e-mail, read from its subject. */
  kinds(): (NotificationKind | 'unknown')[] {
    return this.emails.map(kindOf);
  }
}

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

/** Every grant in the account (LocalAccount holds what AWS would). */
export function grantsIn(account: LocalAccount): number {
  return account.snapshot().keys.flatMap((key) => key.grants ?? []).length;
}

export interface ApprovalPorts<S extends ProposalStore> {
  ports: FlowPorts;
  store: S;
  publisher: RecordingPublisher;
  account: LocalAccount;
}

/**
 * FlowPorts over `store` (default a new MemoryStore), the demo account as AWS would hold it (reads and
 * writes through LocalAccount: the real apply and revoke steps run over it), a recording publisher and
 * a fixed clock.
 */
export function approvalPorts(): ApprovalPorts<MemoryStore>;
export function approvalPorts<S extends ProposalStore>(store: S, now?: () => Date): ApprovalPorts<S>;
export function approvalPorts(
  store: ProposalStore = new MemoryStore(),
  now = () => NOW,
): ApprovalPorts<ProposalStore> {
  const account = new LocalAccount(loadAccount('demo.json'));
  const publisher = new RecordingPublisher();
  const ports: FlowPorts = {
    store,
    reader: account,
    writer: account,
    publisher,
    signer: approvalSigner,
    now,
  };
  return { ports, store, publisher, account };
}
