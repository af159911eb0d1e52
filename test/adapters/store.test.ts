/**
 * The DynamoDB store against a real DynamoDB API (dynalite, in process): conditional transitions,
 * TTLs, races between concurrent invocations, leases, and the request budget of a repeat.
 */
import { DescribeTableCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  AUDIT_APPEND_LIMIT,
  DEFAULT_LEASE_MS,
  DynamoProposalStore,
  EVENT_TTL_SECONDS,
  StoreError,
  storeKeys,
} from '../../functions/adapters/store';
import {
  type AuditEntry,
  canTransition,
  type Proposal,
  type ProposalStatus,
  TRANSITIONS,
} from '../../functions/core/proposal';
import { type Dynalite, startDynalite } from '../helpers/dynalite';
import { sampleProposal } from '../helpers/proposals';

const T0 = new Date('2026-12-03T09:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const STATUSES = Object.keys(TRANSITIONS) as ProposalStatus[];

let db: Dynalite;
let base: Proposal;
let clock = T0;
let ids = 0;

beforeAll(async () => {
  db = await startDynalite();
  base = await sampleProposal({ now: T0 });
});
afterAll(async () => {
  await db.stop();
});

async function newStore(): Promise<{ store: DynamoProposalStore; table: string }> {
  const table = await db.createTable();
  return { store: new DynamoProposalStore(db.client, table, { now: () => clock }), table };
}

function proposal(overrides: Partial<Proposal> = {}): Proposal {
  ids += 1;
  return {
    ...structuredClone(base),
    id: `p-${ids}`,
    fingerprint: `fp-${ids}`,
    ...overrides,
  };
}

function entry(action: string, actor = 'approval-link', time = T0): AuditEntry {
  return { at: time.toISOString(), actor, action, outcome: 'ok', sourceIp: '192.0.2.1', userAgent: 'test' };
}

async function rawItem(table: string, pk: string) {
  const out = await db.client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: pk } } }));
  return out.Item;
}

describe('createTable', () => {
  it('creates the key schema the stack creates: pk (string) only', async () => {
    const { table } = await newStore();
    const out = await db.client.send(new DescribeTableCommand({ TableName: table }));
    expect(out.Table?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(out.Table?.AttributeDefinitions).toEqual([{ AttributeName: 'pk', AttributeType: 'S' }]);
    expect(out.Table?.TableStatus).toBe('ACTIVE');
  });
});

describe('claimEvent', () => {
  it('records an event id once, with a TTL a day later', async () => {
    const { store, table } = await newStore();
    expect(await store.claimEvent('e-1', T0)).toBe(true);
    expect(await store.claimEvent('e-1', at(MINUTE))).toBe(false);
    expect(await store.claimEvent('e-2', T0)).toBe(true);
    const item = await rawItem(table, storeKeys.event('e-1'));
    expect(item?.ttl?.N).toBe(String(T0.getTime() / 1000 + EVENT_TTL_SECONDS));
  });

  it('processes the same event delivered ten times at once exactly once', async () => {
    const { store } = await newStore();
    const results = await Promise.all(Array.from({ length: 10 }, () => store.claimEvent('e-twice', T0)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});

describe('fingerprints', () => {
  it('touches only a fingerprint with a live proposal', async () => {
    const { store } = await newStore();
    const p = proposal();
    expect(await store.touchFingerprint(p.fingerprint, T0)).toBeNull();
    expect(await store.claimFingerprint(p.fingerprint, T0)).toEqual({ claimed: true });
    // Claimed but not yet diagnosed: not live, so a repeat is not counted by touch.
    expect(await store.touchFingerprint(p.fingerprint, at(1000))).toBeNull();
    await store.createProposal(p, at(HOUR));
    expect(await store.touchFingerprint(p.fingerprint, at(2000))).toEqual({
      fingerprint: p.fingerprint,
      proposalId: p.id,
      count: 2,
      firstSeen: T0.toISOString(),
      lastSeen: at(2000).toISOString(),
      liveUntil: at(HOUR).toISOString(),
    });
    expect(await store.touchFingerprint(p.fingerprint, at(HOUR))).toBeNull();
  });

  it('adds up fifty concurrent touches of one fingerprint', async () => {
    const { store } = await newStore();
    const p = proposal();
    await store.claimFingerprint(p.fingerprint, T0);
    await store.createProposal(p, at(HOUR));
    const records = await Promise.all(
      Array.from({ length: 50 }, (_, i) => store.touchFingerprint(p.fingerprint, at(1000 + i))),
    );
    expect(new Set(records.map((r) => r?.count))).toEqual(
      new Set(Array.from({ length: 50 }, (_, i) => i + 2)),
    );
    expect((await store.getProposal(p.id))?.count).toBe(51);
  });

  it('lets exactly one of ten concurrent callers claim a new fingerprint; the others count as repeats', async () => {
    const { store } = await newStore();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => store.claimFingerprint('fp-race', at(i))),
    );
    expect(results.filter((r) => r.claimed)).toHaveLength(1);
    const losers = results.filter((r) => !r.claimed);
    expect(losers).toHaveLength(9);
    for (const loser of losers) {
      expect(loser).toMatchObject({ claimed: false, record: { fingerprint: 'fp-race', proposalId: null } });
    }
    const p = proposal({ fingerprint: 'fp-race' });
    await store.createProposal(p, at(HOUR));
    expect((await store.touchFingerprint('fp-race', at(MINUTE)))?.count).toBe(11);
  });

  it('holds a claim for the lease, then lets another invocation claim it', async () => {
    const { store } = await newStore();
    expect(await store.claimFingerprint('fp-lease', T0)).toEqual({ claimed: true });
    expect(await store.claimFingerprint('fp-lease', at(DEFAULT_LEASE_MS - 1))).toMatchObject({
      claimed: false,
    });
    // The first invocation crashed: after its lease the problem is claimed afresh, counted from one.
    expect(await store.claimFingerprint('fp-lease', at(DEFAULT_LEASE_MS))).toEqual({ claimed: true });
    const p = proposal({ fingerprint: 'fp-lease' });
    await store.createProposal(p, at(HOUR));
    expect(await store.touchFingerprint('fp-lease', at(DEFAULT_LEASE_MS + 1))).toMatchObject({
      count: 2,
      firstSeen: at(DEFAULT_LEASE_MS).toISOString(),
    });
  });

  it('counts a claim of a live fingerprint as a repeat of its proposal', async () => {
    const { store } = await newStore();
    const p = proposal();
    await store.claimFingerprint(p.fingerprint, T0);
    await store.createProposal(p, at(HOUR));
    expect(await store.claimFingerprint(p.fingerprint, at(DEFAULT_LEASE_MS * 2))).toEqual({
      claimed: false,
      record: expect.objectContaining({ proposalId: p.id, count: 2 }),
    });
  });

  it('starts a new period once the live proposal has expired', async () => {
    const { store } = await newStore();
    const first = proposal();
    await store.claimFingerprint(first.fingerprint, T0);
    await store.createProposal(first, at(HOUR));
    await store.touchFingerprint(first.fingerprint, at(MINUTE));
    expect(await store.claimFingerprint(first.fingerprint, at(HOUR))).toEqual({
      claimed: true,
      previousProposalId: first.id,
    });
    const second = proposal({ fingerprint: first.fingerprint, firstSeen: at(HOUR).toISOString() });
    await store.createProposal(second, at(2 * HOUR));
    expect((await store.getProposal(second.id))?.count).toBe(1);
    // The old proposal keeps the counts it was stored with; the fingerprint counts for the new one now.
    expect((await store.getProposal(first.id))?.count).toBe(first.count);
  });

  it('keeps a fingerprint quiet until setFingerprintLiveUntil says, and ends it early too', async () => {
    const { store } = await newStore();
    const p = proposal();
    await store.claimFingerprint(p.fingerprint, T0);
    await store.createProposal(p, at(HOUR));
    await store.setFingerprintLiveUntil(p.fingerprint, at(7 * 24 * HOUR));
    expect(await store.touchFingerprint(p.fingerprint, at(2 * HOUR))).toMatchObject({ proposalId: p.id });
    await store.setFingerprintLiveUntil(p.fingerprint, at(3 * HOUR));
    expect(await store.touchFingerprint(p.fingerprint, at(3 * HOUR))).toBeNull();
    expect(await store.claimFingerprint(p.fingerprint, at(3 * HOUR))).toEqual({
      claimed: true,
      previousProposalId: p.id,
    });
  });

  it('puts a TTL on the fingerprint beyond its live period and the proposal', async () => {
    const { store, table } = await newStore();
    const p = proposal();
    await store.claimFingerprint(p.fingerprint, T0);
    await store.createProposal(p, at(HOUR));
    const item = await rawItem(table, storeKeys.fingerprint(p.fingerprint));
    expect(Number(item?.ttl?.N)).toBeGreaterThanOrEqual(Math.max(p.ttl, at(HOUR).getTime() / 1000));
    expect(item?.leaseUntil).toBeUndefined();
  });
});

describe('a repeat denial', () => {
  it('costs exactly two DynamoDB requests: claimEvent and touchFingerprint', async () => {
    const { store } = await newStore();
    const p = proposal();
    await store.claimEvent('e-first', T0);
    await store.claimFingerprint(p.fingerprint, T0);
    await store.createProposal(p, at(HOUR));
    const before = db.requestsByOperation();
    const total = db.requests();
    expect(await store.claimEvent('e-repeat', at(MINUTE))).toBe(true);
    expect(await store.touchFingerprint(p.fingerprint, at(MINUTE))).not.toBeNull();
    expect(db.requests() - total).toBe(2);
    const after = db.requestsByOperation();
    expect((after.PutItem ?? 0) - (before.PutItem ?? 0)).toBe(1);
    expect((after.UpdateItem ?? 0) - (before.UpdateItem ?? 0)).toBe(1);
  });
});

describe('proposals', () => {
  it('stores a proposal and reads it back as it was, with its TTL', async () => {
    const { store, table } = await newStore();
    const p = proposal();
    await store.createProposal(p, at(HOUR));
    expect(await store.getProposal(p.id)).toEqual(p);
    const item = await rawItem(table, storeKeys.proposal(p.id));
    expect(item?.ttl?.N).toBe(String(p.ttl));
    expect(await store.getProposal('p-unknown')).toBeNull();
  });

  it('makes a proposal created without a claim the live one, counted from its own counts', async () => {
    const { store } = await newStore();
    const p = proposal({ count: 4, firstSeen: T0.toISOString(), lastSeen: at(1000).toISOString() });
    await store.createProposal(p, at(HOUR));
    expect(await store.touchFingerprint(p.fingerprint, at(2000))).toMatchObject({
      proposalId: p.id,
      count: 5,
      firstSeen: T0.toISOString(),
    });
  });

  it('refuses to create a proposal id twice', async () => {
    const { store } = await newStore();
    const p = proposal();
    await store.createProposal(p, at(HOUR));
    await expect(store.createProposal(p, at(HOUR))).rejects.toThrow(StoreError);
  });

  it('merges the fingerprint count and first/last seen into the proposal', async () => {
    const { store } = await newStore();
    const p = proposal();
    await store.claimFingerprint(p.fingerprint, T0);
    await store.claimFingerprint(p.fingerprint, at(1000));
    await store.createProposal(p, at(HOUR));
    await store.touchFingerprint(p.fingerprint, at(5000));
    expect(await store.getProposal(p.id)).toMatchObject({
      count: 3,
      firstSeen: T0.toISOString(),
      lastSeen: at(5000).toISOString(),
    });
  });

  describe.each(STATUSES)('from %s', (from) => {
    it.each(STATUSES)(
      'to %s: moves exactly when TRANSITIONS allows and the status is the expected one',
      async (to) => {
        const { store } = await newStore();
        const p = proposal({ status: from });
        await store.createProposal(p, at(HOUR));
        const audit = entry(`move-${to}`, 'approval-link', at(MINUTE));
        if (!canTransition(from, to)) {
          await expect(store.transition(p.id, from, to, {}, audit)).rejects.toThrow(StoreError);
          expect((await store.getProposal(p.id))?.status).toBe(from);
          return;
        }
        // A status other than `from` refuses the write.
        const other = STATUSES.find((status) => status !== from && canTransition(status, to));
        if (other) {
          expect(await store.transition(p.id, other, to, {}, audit)).toBeNull();
          expect((await store.getProposal(p.id))?.status).toBe(from);
        }
        const moved = await store.transition(p.id, from, to, { reason: `now ${to}` }, audit);
        expect(moved).toMatchObject({ id: p.id, status: to, reason: `now ${to}`, updatedAt: audit.at });
        expect(moved?.audit).toEqual([...p.audit, audit]);
        expect(await store.getProposal(p.id)).toEqual(moved);
        // The same move again loses: the status is no longer `from` (unless from === to, which no rule allows).
        expect(await store.transition(p.id, from, to, {}, audit)).toBeNull();
      },
    );
  });

  it('refuses a transition of an unknown proposal', async () => {
    const { store } = await newStore();
    expect(await store.transition('p-none', 'pending', 'applying', {}, entry('approve'))).toBeNull();
  });

  it('lets one of ten simultaneous approvals move pending to applying', async () => {
    const { store } = await newStore();
    const p = proposal();
    await store.createProposal(p, at(HOUR));
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        store.transition(p.id, 'pending', 'applying', {}, entry(`approve-${i}`, 'approval-link', at(i))),
      ),
    );
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect((await store.getProposal(p.id))?.audit).toHaveLength(p.audit.length + 1);
  });

  it('records the applied change with the transition, and keeps it', async () => {
    const { store } = await newStore();
    const p = proposal({ status: 'applying' });
    await store.createProposal(p, at(HOUR));
    const applied = {
      mechanism: 'kms-grant' as const,
      keyArn: p.scope.keyArn,
      grantId: 'g-1',
      grantName: 'keymend-Decrypt-orders',
    };
    const appliedAt = at(MINUTE).toISOString();
    await store.transition(p.id, 'applying', 'applied', { applied, appliedAt }, entry('apply', 'keymend'));
    const revoked = await store.transition(p.id, 'applied', 'revoked', {}, entry('revoke'));
    expect(revoked).toMatchObject({ status: 'revoked', applied, appliedAt });
  });

  it('appends audit entries up to the limit, without changing the status', async () => {
    const { store } = await newStore();
    // The proposal starts a few entries short of the limit: the limit under concurrency is what is
    // tested, and filling 200 entries one write at a time (dynalite serializes writes to one item)
    // only made the test slow enough to time out on a busy machine.
    const earlier = Array.from({ length: AUDIT_APPEND_LIMIT - 4 }, (_, i) => entry(`earlier-${i}`));
    const p = proposal({ audit: earlier });
    await store.createProposal(p, at(HOUR));
    await store.appendAudit(p.id, entry('refused-token'));
    const read = await store.getProposal(p.id);
    expect(read?.audit).toEqual([...earlier, entry('refused-token')]);
    expect(read?.status).toBe('pending');
    const flood = Array.from({ length: 12 }, (_, i) => entry(`flood-${i}`));
    await Promise.all(flood.map((e) => store.appendAudit(p.id, e)));
    const full = (await store.getProposal(p.id))?.audit ?? [];
    expect(full).toHaveLength(AUDIT_APPEND_LIMIT);
    // Exactly the three free places were taken, each by a different entry of the flood.
    const added = full.slice(AUDIT_APPEND_LIMIT - 3).map((e) => e.action);
    expect(new Set(added).size).toBe(3);
    for (const action of added) expect(action).toMatch(/^flood-\d+$/);
    // A transition still records itself past the limit.
    const moved = await store.transition(p.id, 'pending', 'rejected', {}, entry('reject'));
    expect(moved?.audit).toHaveLength(AUDIT_APPEND_LIMIT + 1);
    await expect(store.appendAudit('p-none', entry('x'))).resolves.toBeUndefined();
  });

  it('marks "still failing" notified once', async () => {
    const { store } = await newStore();
    const p = proposal({ status: 'applied' });
    await store.createProposal(p, at(HOUR));
    expect(await store.markStillFailingNotified(p.id, at(MINUTE))).toBe(true);
    expect(await store.markStillFailingNotified(p.id, at(2 * MINUTE))).toBe(false);
    expect((await store.getProposal(p.id))?.stillFailingNotifiedAt).toBe(at(MINUTE).toISOString());
    expect(await store.markStillFailingNotified('p-none', at(MINUTE))).toBe(false);
  });
});

describe('countAutoAppliesSince', () => {
  it('counts the applies keymend started by itself, not approvals, in the window asked', async () => {
    const { store, table } = await newStore();
    clock = at(2 * HOUR);
    const times = [at(30 * MINUTE), at(70 * MINUTE), at(80 * MINUTE), at(110 * MINUTE)];
    for (const time of times) {
      const p = proposal();
      await store.createProposal(p, at(3 * HOUR));
      await store.transition(p.id, 'pending', 'applying', {}, entry('auto-apply', 'keymend', time));
    }
    const approved = proposal();
    await store.createProposal(approved, at(3 * HOUR));
    await store.transition(
      approved.id,
      'pending',
      'applying',
      {},
      entry('approve', 'approval-link', at(100 * MINUTE)),
    );
    // Created directly as applying (auto mode skipping pending) counts too.
    await store.createProposal(
      proposal({ status: 'applying', createdAt: at(115 * MINUTE).toISOString() }),
      at(3 * HOUR),
    );

    expect(await store.countAutoAppliesSince(at(HOUR))).toBe(4);
    expect(await store.countAutoAppliesSince(at(70 * MINUTE))).toBe(4);
    expect(await store.countAutoAppliesSince(at(71 * MINUTE))).toBe(3);
    expect(await store.countAutoAppliesSince(T0)).toBe(5);
    expect(await store.countAutoAppliesSince(at(2 * HOUR))).toBe(0);
    const bucket = await rawItem(table, storeKeys.autoApplies('2026-12-03T10'));
    expect(Number(bucket?.ttl?.N)).toBeGreaterThan(at(HOUR).getTime() / 1000);
    clock = T0;
  });
});
