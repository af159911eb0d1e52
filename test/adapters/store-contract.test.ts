/**
 * The ProposalStore contract, run on both stores: the in-memory one the flow tests use
 * (test/helpers/memory-store.ts) and DynamoProposalStore over a real DynamoDB API (dynalite, in process).
 * Every method of the port is here; what only DynamoDB has (TTL attributes, item layout, request kinds)
 * is in store.test.ts.
 */
import {
  AUDIT_APPEND_LIMIT,
  DEFAULT_LEASE_MS,
  DynamoProposalStore,
  StoreError,
} from '../../functions/adapters/store';
import {
  CLAIM_LEASE_SECONDS,
  FUNCTION_TIMEOUT_SECONDS,
  SESSION_CAP,
} from '../../functions/commons/constants';
import type { ProposalStore } from '../../functions/core/ports';
import {
  type AuditEntry,
  canTransition,
  PROPOSAL_RETENTION_DAYS,
  type Proposal,
  type ProposalStatus,
  TRANSITIONS,
} from '../../functions/core/proposal';
import { type Dynalite, startDynalite } from '../helpers/dynalite';
import { MemoryStore } from '../helpers/memory-store';
import { sampleProposal } from '../helpers/proposals';

const T0 = new Date('2026-12-03T09:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const STATUSES = Object.keys(TRANSITIONS) as ProposalStatus[];

/** A store under test, and how many requests it has sent so far. */
interface Subject {
  store: ProposalStore;
  requests(): number;
}

interface Backend {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A new, empty store. */
  open(): Promise<Subject>;
}

const memory = (): Backend => ({
  start: async () => {},
  stop: async () => {},
  open: async () => {
    const store = new MemoryStore();
    return { store, requests: () => store.requests };
  },
});

const dynamo = (): Backend => {
  let db: Dynalite | undefined;
  const started = () => {
    if (!db) throw new Error('dynalite is not started');
    return db;
  };
  return {
    start: async () => {
      db = await startDynalite();
    },
    stop: async () => {
      await db?.stop();
    },
    open: async () => {
      const server = started();
      return {
        store: new DynamoProposalStore(server.client, await server.createTable()),
        requests: server.requests,
      };
    },
  };
};

let base: Proposal;
let ids = 0;
beforeAll(async () => {
  base = await sampleProposal({ now: T0 });
});

function proposal(overrides: Partial<Proposal> = {}): Proposal {
  ids += 1;
  return { ...structuredClone(base), id: `p-${ids}`, fingerprint: `fp-${ids}`, ...overrides };
}

function entry(action: string, actor = 'approval-link', time = T0): AuditEntry {
  return { at: time.toISOString(), actor, action, outcome: 'ok', sourceIp: '192.0.2.1', userAgent: 'test' };
}

describe.each([
  ['the in-memory store', memory()],
  ['DynamoProposalStore on dynalite', dynamo()],
])('%s', (_name, backend) => {
  beforeAll(() => backend.start());
  afterAll(() => backend.stop());
  const open = async () => (await backend.open()).store;

  describe('claimEvent and releaseClaim', () => {
    it('claims an event id once within its lease', async () => {
      const store = await open();
      expect(await store.claimEvent('e-1', T0)).toBe('first');
      expect(await store.claimEvent('e-1', at(MINUTE))).toBe('duplicate');
      expect(await store.claimEvent('e-2', T0)).toBe('first');
    });

    it('lets exactly one of ten simultaneous deliveries of one event claim it', async () => {
      const store = await open();
      const results = await Promise.all(Array.from({ length: 10 }, () => store.claimEvent('e-twice', T0)));
      expect(results.filter((r) => r === 'first')).toHaveLength(1);
      expect(results.filter((r) => r === 'duplicate')).toHaveLength(9);
    });

    it('frees an event claim after the lease, which outlasts the function: the retry of a killed invocation is a retry', async () => {
      const store = await open();
      expect(DEFAULT_LEASE_MS).toBe(CLAIM_LEASE_SECONDS * 1000);
      expect(CLAIM_LEASE_SECONDS).toBeGreaterThan(FUNCTION_TIMEOUT_SECONDS.remediate);
      expect(await store.claimEvent('e-killed', T0)).toBe('first');
      // The invocation is killed: nothing releases its claim. Until the lease ends it holds...
      expect(await store.claimEvent('e-killed', at(DEFAULT_LEASE_MS - 1))).toBe('duplicate');
      // ...then Lambda's retry claims it again, and knows it is one.
      expect(await store.claimEvent('e-killed', at(DEFAULT_LEASE_MS))).toBe('retry');
      expect(await store.claimEvent('e-killed', at(DEFAULT_LEASE_MS + 1))).toBe('duplicate');
    });

    it('releaseClaim forgets the event id and frees the fingerprint a failed invocation leased', async () => {
      const store = await open();
      expect(await store.claimEvent('evt-1', T0)).toBe('first');
      expect(await store.claimFingerprint('fp-1', T0)).toEqual({ claimed: true });
      expect((await store.claimFingerprint('fp-1', T0)).claimed).toBe(false);
      await store.releaseClaim('evt-1', 'fp-1');
      expect(await store.claimEvent('evt-1', T0)).toBe('retry');
      expect(await store.claimFingerprint('fp-1', T0)).toEqual({ claimed: true });
    });

    it('releaseClaim never frees a fingerprint that holds a proposal', async () => {
      const store = await open();
      const p = proposal();
      await store.claimFingerprint(p.fingerprint, T0);
      await store.createProposal(p, at(72 * HOUR));
      await store.releaseClaim('evt-2', p.fingerprint);
      expect((await store.touchFingerprint(p.fingerprint, T0))?.proposalId).toBe(p.id);
      expect((await store.claimFingerprint(p.fingerprint, T0)).claimed).toBe(false);
    });

    it('releaseClaim without a fingerprint releases only the event id', async () => {
      const store = await open();
      await store.claimEvent('evt-3', T0);
      await store.claimFingerprint('fp-3', T0);
      await store.releaseClaim('evt-3', null);
      expect(await store.claimEvent('evt-3', T0)).toBe('retry');
      expect((await store.claimFingerprint('fp-3', T0)).claimed).toBe(false);
    });
  });

  describe('touchFingerprint and claimFingerprint', () => {
    it('touches only a fingerprint with a live proposal', async () => {
      const store = await open();
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
        // A claim without the denial's time and session: the proposal made live brings its own.
        firstDenialAt: p.firstDenialAt,
        lastDenialAt: p.lastDenialAt,
        sessions: 1,
      });
      expect(await store.touchFingerprint(p.fingerprint, at(HOUR))).toBeNull();
    });

    it('adds up fifty concurrent touches of one fingerprint', async () => {
      const store = await open();
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
      const store = await open();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.claimFingerprint('fp-race', at(i))),
      );
      expect(results.filter((r) => r.claimed)).toHaveLength(1);
      const losers = results.filter((r) => !r.claimed);
      expect(losers).toHaveLength(9);
      for (const loser of losers) {
        expect(loser).toMatchObject({ claimed: false, record: { fingerprint: 'fp-race', proposalId: null } });
      }
      await store.createProposal(proposal({ fingerprint: 'fp-race' }), at(HOUR));
      expect((await store.touchFingerprint('fp-race', at(MINUTE)))?.count).toBe(11);
    });

    it('holds a claim for the lease, then lets another invocation claim it', async () => {
      const store = await open();
      expect(await store.claimFingerprint('fp-lease', T0)).toEqual({ claimed: true });
      expect(await store.claimFingerprint('fp-lease', at(DEFAULT_LEASE_MS - 1))).toMatchObject({
        claimed: false,
      });
      // The first invocation crashed: after its lease the problem is claimed afresh, counted from one.
      expect(await store.claimFingerprint('fp-lease', at(DEFAULT_LEASE_MS))).toEqual({ claimed: true });
      await store.createProposal(proposal({ fingerprint: 'fp-lease' }), at(HOUR));
      expect(await store.touchFingerprint('fp-lease', at(DEFAULT_LEASE_MS + 1))).toMatchObject({
        count: 2,
        firstSeen: at(DEFAULT_LEASE_MS).toISOString(),
      });
    });

    it('counts a claim of a live fingerprint as a repeat of its proposal', async () => {
      const store = await open();
      const p = proposal();
      await store.claimFingerprint(p.fingerprint, T0);
      await store.createProposal(p, at(HOUR));
      expect(await store.claimFingerprint(p.fingerprint, at(DEFAULT_LEASE_MS * 2))).toEqual({
        claimed: false,
        record: expect.objectContaining({ proposalId: p.id, count: 2 }),
      });
    });

    it('starts a new period once the live proposal has expired, and names the proposal it replaces', async () => {
      const store = await open();
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

    it("counts a warm environment's batch of denials in one touch, or in the claim that finds the problem held", async () => {
      const { store, requests } = await backend.open();
      const p = proposal();
      await store.claimFingerprint(p.fingerprint, T0, { eventId: 'e-1' });
      const before = requests();
      await store.storeProposal(p);
      expect(await store.touchFingerprint(p.fingerprint, at(MINUTE))).toBeNull();
      await store.makeLive(p, at(HOUR));
      expect(requests() - before).toBe(3);
      expect(await store.touchFingerprint(p.fingerprint, at(MINUTE), 40)).toMatchObject({ count: 41 });
      expect(
        await store.claimFingerprint(p.fingerprint, at(2 * MINUTE), { eventId: 'e-2', count: 9 }),
      ).toEqual({
        claimed: false,
        record: expect.objectContaining({
          proposalId: p.id,
          count: 50,
          lastSeen: at(2 * MINUTE).toISOString(),
        }),
      });
      expect((await store.getProposal(p.id))?.count).toBe(50);
    });

    it('keeps the earliest and latest CloudTrail eventTime and the distinct sessions, one request for a later batch', async () => {
      const { store, requests } = await backend.open();
      const p = proposal();
      const seenAt = (minute: number, ...sessions: string[]) => ({
        firstAt: at(minute * MINUTE).toISOString(),
        lastAt: at(minute * MINUTE).toISOString(),
        sessions,
      });
      await store.claimFingerprint(p.fingerprint, at(10 * MINUTE), {
        eventId: 'e-1',
        seen: seenAt(10, 'aa'),
      });
      await store.createProposal(p, at(HOUR));
      // A later batch (two denials, eventTimes 11 and 12 minutes): times move forward in the one count.
      let before = requests();
      const batch = {
        firstAt: at(11 * MINUTE).toISOString(),
        lastAt: at(12 * MINUTE).toISOString(),
        sessions: ['aa', 'bb'],
      };
      expect(await store.touchFingerprint(p.fingerprint, at(13 * MINUTE), 2, batch)).toMatchObject({
        count: 3,
        firstDenialAt: at(10 * MINUTE).toISOString(),
        lastDenialAt: at(12 * MINUTE).toISOString(),
        sessions: 2,
      });
      expect(requests() - before).toBe(1);
      // Delivered out of order: an earlier denial moves the first back and leaves the last.
      before = requests();
      expect(await store.touchFingerprint(p.fingerprint, at(14 * MINUTE), 1, seenAt(5, 'cc'))).toMatchObject({
        count: 4,
        firstDenialAt: at(5 * MINUTE).toISOString(),
        lastDenialAt: at(12 * MINUTE).toISOString(),
        sessions: 3,
      });
      // The count, then the first denial and the sessions (the last needs nothing): never counted twice.
      expect(requests() - before).toBe(4);
      // Between the two: only counted.
      expect(
        await store.claimFingerprint(p.fingerprint, at(15 * MINUTE), {
          eventId: 'e-2',
          seen: seenAt(7, 'bb'),
        }),
      ).toMatchObject({
        claimed: false,
        record: {
          count: 5,
          firstDenialAt: at(5 * MINUTE).toISOString(),
          lastDenialAt: at(12 * MINUTE).toISOString(),
          sessions: 3,
        },
      });
      expect(await store.getProposal(p.id)).toMatchObject({
        count: 5,
        firstDenialAt: at(5 * MINUTE).toISOString(),
        lastDenialAt: at(12 * MINUTE).toISOString(),
        sessions: 3,
      });
      // A new period starts from its own first denial.
      expect(
        await store.claimFingerprint(p.fingerprint, at(2 * HOUR), {
          eventId: 'e-3',
          seen: seenAt(119, 'dd'),
        }),
      ).toMatchObject({ claimed: true });
      const next = proposal({ fingerprint: p.fingerprint });
      await store.createProposal(next, at(3 * HOUR));
      expect(await store.getProposal(next.id)).toMatchObject({
        count: 1,
        firstDenialAt: at(119 * MINUTE).toISOString(),
        lastDenialAt: at(119 * MINUTE).toISOString(),
        sessions: 1,
      });
    });

    it(`keeps at most about ${SESSION_CAP} sessions: past the cap the set stops growing`, async () => {
      const { store, requests } = await backend.open();
      const p = proposal();
      await store.claimFingerprint(p.fingerprint, T0, {
        seen: { firstAt: T0.toISOString(), lastAt: T0.toISOString(), sessions: ['s-0'] },
      });
      await store.createProposal(p, at(HOUR));
      const batchOf = (from: number) => Array.from({ length: 25 }, (_, i) => `s-${from + i}`);
      let record = null;
      for (let from = 1; from < 400; from += 25) {
        const time = at(from * 1000).toISOString();
        record = await store.touchFingerprint(p.fingerprint, at(from * 1000), 25, {
          firstAt: time,
          lastAt: time,
          sessions: batchOf(from),
        });
      }
      expect(record?.count).toBe(401);
      expect(record?.lastDenialAt).toBe(at(376 * 1000).toISOString());
      // Below the cap when a batch was added, so at most one batch beyond it.
      expect(record?.sessions).toBeGreaterThanOrEqual(SESSION_CAP);
      expect(record?.sessions).toBeLessThan(SESSION_CAP + 25);
      // Once full, a later batch still counts, and moves the last denial, in two requests.
      const before = requests();
      const later = at(500 * 1000).toISOString();
      expect(
        await store.touchFingerprint(p.fingerprint, at(500 * 1000), 1, {
          firstAt: later,
          lastAt: later,
          sessions: ['s-new'],
        }),
      ).toMatchObject({ count: 402, lastDenialAt: later, sessions: record?.sessions });
      expect(requests() - before).toBe(3);
    });

    it('tells the redelivery of the event that claimed a problem: a duplicate, nothing counted', async () => {
      const store = await open();
      const p = proposal();
      expect(await store.claimFingerprint(p.fingerprint, T0, { eventId: 'e-first' })).toEqual({
        claimed: true,
      });
      expect(await store.claimFingerprint(p.fingerprint, at(1000), { eventId: 'e-first' })).toEqual({
        claimed: false,
        duplicate: true,
      });
      await store.createProposal(p, at(HOUR));
      expect(await store.claimFingerprint(p.fingerprint, at(MINUTE), { eventId: 'e-first' })).toEqual({
        claimed: false,
        duplicate: true,
      });
      expect(await store.claimFingerprint(p.fingerprint, at(MINUTE), { eventId: 'e-other' })).toMatchObject({
        claimed: false,
        record: { count: 2 },
      });
    });

    it('a repeat denial costs two requests: claimEvent and touchFingerprint', async () => {
      const { store, requests } = await backend.open();
      const p = proposal();
      await store.claimEvent('e-first', T0);
      await store.claimFingerprint(p.fingerprint, T0);
      await store.createProposal(p, at(HOUR));
      const before = requests();
      expect(await store.claimEvent('e-repeat', at(MINUTE))).toBe('first');
      expect(await store.touchFingerprint(p.fingerprint, at(MINUTE))).not.toBeNull();
      expect(requests() - before).toBe(2);
    });
  });

  describe('claimDenial: the event and the problem at once', () => {
    it("claims a new problem's first event and the problem in two requests sent at once, recording the event id", async () => {
      const { store, requests } = await backend.open();
      const before = requests();
      expect(await store.claimDenial('e-new', 'fp-d1', T0)).toEqual({ claimed: true, delivery: 'first' });
      expect(requests() - before).toBe(2);
      // Both are claimed: the event id on its own item, the problem with its lease.
      expect(await store.claimEvent('e-new', at(1000))).toBe('duplicate');
      expect(await store.claimFingerprint('fp-d1', at(1000))).toMatchObject({
        claimed: false,
        record: { proposalId: null, count: 2 },
      });
    });

    it('a redelivery of the first event is a duplicate that counts nothing, while the problem is held and once it is live', async () => {
      const store = await open();
      const p = proposal();
      expect(await store.claimDenial('e-first', p.fingerprint, T0)).toMatchObject({ claimed: true });
      expect(await store.claimDenial('e-first', p.fingerprint, at(1000))).toEqual({
        claimed: false,
        duplicate: true,
        delivery: 'duplicate',
      });
      await store.createProposal(p, at(HOUR));
      expect(await store.claimDenial('e-first', p.fingerprint, at(MINUTE))).toEqual({
        claimed: false,
        duplicate: true,
        delivery: 'duplicate',
      });
      expect(await store.claimDenial('e-second', p.fingerprint, at(MINUTE))).toEqual({
        claimed: false,
        delivery: 'first',
        record: expect.objectContaining({ proposalId: p.id, count: 2 }),
      });
      // A duplicate of that repeat counts nothing either.
      expect(await store.claimDenial('e-second', p.fingerprint, at(MINUTE + 1))).toMatchObject({
        claimed: false,
        duplicate: true,
      });
      expect((await store.getProposal(p.id))?.count).toBe(2);
    });

    it('of ten simultaneous deliveries of one new event, exactly one diagnoses; the nine others are duplicates and count nothing', async () => {
      const store = await open();
      const results = await Promise.all(
        Array.from({ length: 10 }, () => store.claimDenial('e-twin', 'fp-twins', T0)),
      );
      expect(results.filter((r) => r.claimed)).toHaveLength(1);
      expect(results.filter((r) => !r.claimed && r.duplicate)).toHaveLength(9);
      expect(results.filter((r) => r.delivery === 'first')).toHaveLength(1);
      // Only the one denial is counted: the next event is the second.
      expect(await store.claimDenial('e-after', 'fp-twins', at(1000))).toMatchObject({
        claimed: false,
        record: { count: 2 },
      });
    });

    it('of ten different events of one new problem at once, one claims it and nine are counted as its repeats', async () => {
      const store = await open();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.claimDenial(`e-many-${i}`, 'fp-many', at(i))),
      );
      expect(results.filter((r) => r.claimed)).toHaveLength(1);
      const counted = results.flatMap((r) => (!r.claimed && r.record ? [r.record.count] : []));
      expect(counted).toHaveLength(9);
      expect(Math.max(...counted)).toBe(10);
      expect(results.every((r) => r.delivery === 'first')).toBe(true);
    });

    it("a retry of the event that made a live problem's claim is counted, and says it is a retry", async () => {
      const store = await open();
      const p = proposal();
      await store.claimDenial('e-killed', p.fingerprint, T0);
      await store.createProposal(p, at(HOUR));
      // Killed after the proposal was stored: Lambda's retry comes after the lease.
      expect(await store.claimDenial('e-killed', p.fingerprint, at(DEFAULT_LEASE_MS))).toEqual({
        claimed: false,
        delivery: 'retry',
        record: expect.objectContaining({ proposalId: p.id, count: 2 }),
      });
    });

    it('starts a new period once the live proposal has expired, and names the proposal it replaces', async () => {
      const store = await open();
      const first = proposal();
      await store.claimDenial('e-1', first.fingerprint, T0);
      await store.createProposal(first, at(HOUR));
      expect(await store.claimDenial('e-2', first.fingerprint, at(HOUR))).toEqual({
        claimed: true,
        previousProposalId: first.id,
        delivery: 'first',
      });
    });

    it("when the event's claim fails, throws and puts the problem back as the claim found it", async () => {
      const store = await open();
      const first = proposal();
      await store.claimDenial('e-1', first.fingerprint, T0);
      await store.createProposal(first, at(HOUR));
      await store.touchFingerprint(first.fingerprint, at(MINUTE), 4);
      const failing = store as { claimEvent: ProposalStore['claimEvent'] };
      failing.claimEvent = async () => {
        throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
      };
      await expect(store.claimDenial('e-2', first.fingerprint, at(2 * HOUR))).rejects.toThrow('throttled');
      delete (failing as Partial<typeof failing>).claimEvent;
      // The expired proposal is still the problem's, with its counts: the next claim names it.
      expect((await store.getProposal(first.id))?.count).toBe(5);
      expect(await store.claimDenial('e-2', first.fingerprint, at(2 * HOUR))).toEqual({
        claimed: true,
        previousProposalId: first.id,
        delivery: 'first',
      });
    });

    it('a new problem whose event claim fails is left for releaseClaim, which frees it for the retry', async () => {
      const store = await open();
      const failing = store as { claimEvent: ProposalStore['claimEvent'] };
      failing.claimEvent = async () => {
        throw new Error('timed out');
      };
      await expect(store.claimDenial('e-lost', 'fp-lost', T0)).rejects.toThrow('timed out');
      delete (failing as Partial<typeof failing>).claimEvent;
      await store.releaseClaim('e-lost', 'fp-lost');
      expect(await store.claimDenial('e-lost', 'fp-lost', at(MINUTE))).toEqual({
        claimed: true,
        delivery: 'first',
      });
    });

    it("releaseClaim with no event id frees only the fingerprint (the event was another delivery's)", async () => {
      const store = await open();
      expect(await store.claimDenial('e-held', 'fp-held', T0)).toMatchObject({ claimed: true });
      await store.releaseClaim(null, 'fp-held');
      expect(await store.claimEvent('e-held', at(1000))).toBe('duplicate');
      expect(await store.claimFingerprint('fp-held', at(1000))).toEqual({ claimed: true });
    });
  });

  describe('setFingerprintLiveUntil and setFingerprintApplied', () => {
    it('keeps a fingerprint quiet until setFingerprintLiveUntil says, and ends it early too', async () => {
      const store = await open();
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
      await expect(store.setFingerprintLiveUntil('fp-unknown', at(HOUR))).resolves.toBeUndefined();
      expect(await store.touchFingerprint('fp-unknown', T0)).toBeNull();
    });

    it('sets and removes appliedAt, which a repeat reads with no extra request', async () => {
      const { store, requests } = await backend.open();
      const p = proposal();
      await store.claimFingerprint(p.fingerprint, T0);
      await store.createProposal(p, at(72 * HOUR));
      expect((await store.touchFingerprint(p.fingerprint, T0))?.appliedAt).toBeUndefined();
      await store.setFingerprintApplied(p.fingerprint, at(MINUTE).toISOString());
      const before = requests();
      expect((await store.touchFingerprint(p.fingerprint, T0))?.appliedAt).toBe(at(MINUTE).toISOString());
      expect(requests() - before).toBe(1);
      await store.setFingerprintApplied(p.fingerprint, null);
      expect((await store.touchFingerprint(p.fingerprint, T0))?.appliedAt).toBeUndefined();
    });

    it('a new period of the fingerprint starts unapplied', async () => {
      const store = await open();
      const p = proposal();
      await store.claimFingerprint(p.fingerprint, T0);
      await store.createProposal(p, at(HOUR));
      await store.setFingerprintApplied(p.fingerprint, T0.toISOString());
      expect(await store.claimFingerprint(p.fingerprint, at(2 * HOUR))).toEqual({
        claimed: true,
        previousProposalId: p.id,
      });
      await store.createProposal({ ...p, id: `${p.id}-next` }, at(3 * HOUR));
      expect((await store.touchFingerprint(p.fingerprint, at(2 * HOUR)))?.appliedAt).toBeUndefined();
    });

    it('setting appliedAt on an unknown fingerprint does nothing', async () => {
      const store = await open();
      await expect(store.setFingerprintApplied('fp-unknown', T0.toISOString())).resolves.toBeUndefined();
      expect(await store.touchFingerprint('fp-unknown', T0)).toBeNull();
    });
  });

  describe('createProposal and getProposal', () => {
    it('stores a proposal and reads it back as it was; an unknown id reads null', async () => {
      const store = await open();
      const p = proposal();
      await store.createProposal(p, at(HOUR));
      expect(await store.getProposal(p.id)).toEqual(p);
      expect(await store.getProposal('p-unknown')).toBeNull();
    });

    it('makes a proposal created without a claim the live one, counted from its own counts', async () => {
      const store = await open();
      const p = proposal({ count: 4, firstSeen: T0.toISOString(), lastSeen: at(1000).toISOString() });
      await store.createProposal(p, at(HOUR));
      expect(await store.touchFingerprint(p.fingerprint, at(2000))).toMatchObject({
        proposalId: p.id,
        count: 5,
        firstSeen: T0.toISOString(),
      });
    });

    it('refuses to create a proposal id twice', async () => {
      const store = await open();
      const p = proposal();
      await store.createProposal(p, at(HOUR));
      await expect(store.createProposal(p, at(HOUR))).rejects.toThrow(StoreError);
    });

    it('merges the fingerprint count and first/last seen into the proposal', async () => {
      const store = await open();
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
  });

  describe('transition', () => {
    describe.each(STATUSES)('from %s', (from) => {
      it.each(STATUSES)(
        'to %s: moves exactly when TRANSITIONS allows and the status is the expected one',
        async (to) => {
          const store = await open();
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
          // The same move again loses: the status is no longer `from`.
          expect(await store.transition(p.id, from, to, {}, audit)).toBeNull();
        },
      );
    });

    it('refuses a transition of an unknown proposal', async () => {
      const store = await open();
      expect(await store.transition('p-none', 'pending', 'applying', {}, entry('approve'))).toBeNull();
    });

    it('lets one of ten simultaneous approvals move pending to applying', async () => {
      const store = await open();
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
      const store = await open();
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
  });

  describe('reclaimApplying', () => {
    it('takes over a proposal applying past the lease, once; never a fresh one or another status', async () => {
      const store = await open();
      const p = proposal();
      await store.createProposal(p, at(HOUR));
      const started = entry('auto-apply', 'keymend', at(MINUTE));
      await store.transition(p.id, 'pending', 'applying', {}, started);
      const reclaim = (time: Date) => store.reclaimApplying(p.id, time, entry('reclaim', 'keymend', time));
      // The invocation applying it may still be working.
      expect(await reclaim(at(MINUTE + DEFAULT_LEASE_MS - 1))).toBeNull();
      const taken = await reclaim(at(MINUTE + DEFAULT_LEASE_MS));
      expect(taken).toMatchObject({
        id: p.id,
        status: 'applying',
        updatedAt: at(MINUTE + DEFAULT_LEASE_MS).toISOString(),
      });
      expect(taken?.audit.map((a) => a.action)).toEqual([
        ...p.audit.map((a) => a.action),
        'auto-apply',
        'reclaim',
      ]);
      expect(await store.getProposal(p.id)).toEqual(taken);
      // The lease restarts with the takeover: a second reclaimer loses.
      expect(await reclaim(at(MINUTE + DEFAULT_LEASE_MS))).toBeNull();
      await store.transition(p.id, 'applying', 'pending', {}, entry('settle', 'keymend', at(2 * HOUR)));
      expect(await reclaim(at(3 * HOUR))).toBeNull();
      expect(await store.reclaimApplying('p-none', at(3 * HOUR), entry('reclaim'))).toBeNull();
    });
  });

  describe('TTL', () => {
    it('an applied proposal never expires while its change is live: TTL removed on apply, set again on revoke', async () => {
      const store = await open();
      const p = proposal({ status: 'applying' });
      expect(p.ttl).toEqual(expect.any(Number));
      await store.createProposal(p, at(HOUR));
      const applied = {
        mechanism: 'kms-grant' as const,
        keyArn: p.scope.keyArn,
        grantId: 'g-1',
        grantName: 'keymend-Decrypt-orders',
      };
      const onApply = await store.transition(
        p.id,
        'applying',
        'applied',
        { applied },
        entry('apply', 'keymend'),
      );
      expect(onApply?.ttl).toBeUndefined();
      expect((await store.getProposal(p.id))?.ttl).toBeUndefined();
      const revokedAt = at(DAY * 200);
      const revoked = await store.transition(
        p.id,
        'applied',
        'revoked',
        {},
        entry('revoke', 'approval-link', revokedAt),
      );
      const expected = Math.floor(revokedAt.getTime() / 1000) + PROPOSAL_RETENTION_DAYS * 86_400;
      expect(revoked?.ttl).toBe(expected);
      expect((await store.getProposal(p.id))?.ttl).toBe(expected);
    });

    it('other moves keep the TTL the proposal was created with', async () => {
      const store = await open();
      const p = proposal();
      await store.createProposal(p, at(HOUR));
      const rejected = await store.transition(p.id, 'pending', 'rejected', {}, entry('reject'));
      expect(rejected?.ttl).toBe(p.ttl);
    });
  });

  describe('appendAudit and markStillFailingNotified', () => {
    it('appends audit entries up to the limit, without changing the status', async () => {
      const store = await open();
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
      const store = await open();
      const p = proposal({ status: 'applied' });
      await store.createProposal(p, at(HOUR));
      expect(await store.markStillFailingNotified(p.id, at(MINUTE))).toBe(true);
      expect(await store.markStillFailingNotified(p.id, at(2 * MINUTE))).toBe(false);
      expect((await store.getProposal(p.id))?.stillFailingNotifiedAt).toBe(at(MINUTE).toISOString());
      expect(await store.markStillFailingNotified('p-none', at(MINUTE))).toBe(false);
    });
  });

  describe('recordAutoApply and countAutoAppliesSince', () => {
    it('counts what recordAutoApply recorded in the window asked, each apply once', async () => {
      const store = await open();
      const times = [at(30 * MINUTE), at(70 * MINUTE), at(80 * MINUTE), at(110 * MINUTE)];
      for (const [i, time] of times.entries()) await store.recordAutoApply(`auto-${i}`, time);
      // Recorded twice (a retried invocation): counted once.
      await store.recordAutoApply('auto-3', at(110 * MINUTE));
      const now = at(2 * HOUR);
      expect(await store.countAutoAppliesSince(at(HOUR), now)).toBe(3);
      expect(await store.countAutoAppliesSince(at(70 * MINUTE), now)).toBe(3);
      expect(await store.countAutoAppliesSince(at(71 * MINUTE), now)).toBe(2);
      expect(await store.countAutoAppliesSince(T0, now)).toBe(4);
      expect(await store.countAutoAppliesSince(at(2 * HOUR), now)).toBe(0);
    });

    it('a proposal moved to applying is not counted unless recorded: approvals do not count', async () => {
      const store = await open();
      const approved = proposal();
      await store.createProposal(approved, at(3 * HOUR));
      await store.transition(
        approved.id,
        'pending',
        'applying',
        {},
        entry('approve', 'approval-link', at(MINUTE)),
      );
      const automatic = proposal();
      await store.createProposal(automatic, at(3 * HOUR));
      await store.transition(
        automatic.id,
        'pending',
        'applying',
        {},
        entry('auto-apply', 'keymend', at(MINUTE)),
      );
      expect(await store.countAutoAppliesSince(T0, at(HOUR))).toBe(0);
      await store.recordAutoApply(automatic.id, at(MINUTE));
      expect(await store.countAutoAppliesSince(T0, at(HOUR))).toBe(1);
    });
  });
});
