import { SESSION_CAP } from '../../functions/commons/constants';
import type { FingerprintRecord } from '../../functions/core/ports';
import { WarmRepeats } from '../../functions/core/warm-repeats';

const T0 = Date.parse('2026-12-07T03:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const MINUTE = 60_000;

function live(overrides: Partial<FingerprintRecord> = {}): FingerprintRecord {
  return {
    fingerprint: 'fp1',
    proposalId: 'p1',
    count: 1,
    firstSeen: at(0).toISOString(),
    lastSeen: at(0).toISOString(),
    liveUntil: at(24 * 3600).toISOString(),
    ...overrides,
  };
}

const warm = () => new WarmRepeats({ refreshMs: 60_000, maxPending: 5, stillFailingAfterMs: 10 * MINUTE });

describe('WarmRepeats', () => {
  it('sends a problem it has not seen to the store, then counts its repeats itself', () => {
    const w = warm();
    expect(w.denial('fp1', 'e1', at(0))).toEqual({ kind: 'ask-store', pending: 0, live: false, seen: null });
    w.stored('fp1', live(), 0, at(0), 'e1');
    expect(w.denial('fp1', 'e2', at(1))).toEqual({
      kind: 'repeat',
      record: live({ count: 2, lastSeen: at(1).toISOString() }),
    });
    expect(w.denial('fp1', 'e3', at(2))).toMatchObject({ kind: 'repeat', record: { count: 3 } });
    expect(w.pendingFor('fp1')).toBe(2);
  });

  it('tells a redelivered event id within the environment', () => {
    const w = warm();
    w.stored('fp1', live(), 0, at(0), 'e1');
    expect(w.denial('fp1', 'e2', at(1)).kind).toBe('repeat');
    expect(w.denial('fp1', 'e2', at(2))).toEqual({ kind: 'duplicate' });
    expect(w.denial('fp1', 'e1', at(3))).toEqual({ kind: 'duplicate' });
    expect(w.pendingFor('fp1')).toBe(1);
  });

  it('counts the repeats racing its own diagnosis, and keeps them pending once the proposal is stored', () => {
    const w = warm();
    w.diagnosing('fp1', 'e1', at(0));
    expect(w.denial('fp1', 'e1', at(0))).toEqual({ kind: 'duplicate' });
    expect(w.denial('fp1', 'e2', at(1))).toMatchObject({
      kind: 'repeat',
      record: { proposalId: null, count: 1 },
    });
    w.stored('fp1', live(), 0, at(2));
    expect(w.pendingFor('fp1')).toBe(1);
    expect(w.denial('fp1', 'e3', at(3))).toMatchObject({ kind: 'repeat', record: { count: 3 } });
  });

  it('asks the store once the count held reaches the limit, or the record is stale, not live or applied long ago', () => {
    const full = warm();
    full.stored('fp1', live(), 0, at(0));
    for (let n = 1; n <= 4; n++) expect(full.denial('fp1', `e${n}`, at(n)).kind).toBe('repeat');
    expect(full.denial('fp1', 'e5', at(5))).toEqual({
      kind: 'ask-store',
      pending: 4,
      live: true,
      seen: null,
    });
    full.stored('fp1', live({ count: 6 }), 4, at(5), 'e5');
    expect(full.pendingFor('fp1')).toBe(0);

    const stale = warm();
    stale.stored('fp1', live(), 0, at(0));
    expect(stale.denial('fp1', 'e1', at(60))).toEqual({
      kind: 'ask-store',
      pending: 0,
      live: true,
      seen: null,
    });

    const expired = warm();
    expired.stored('fp1', live({ liveUntil: at(10).toISOString() }), 0, at(0));
    expect(expired.denial('fp1', 'e1', at(10))).toEqual({
      kind: 'ask-store',
      pending: 0,
      live: false,
      seen: null,
    });

    const applied = warm();
    applied.stored('fp1', live({ appliedAt: at(0).toISOString() }), 0, at(0));
    expect(applied.denial('fp1', 'e1', at(30)).kind).toBe('repeat');
    const later = warm();
    later.stored('fp1', live({ appliedAt: at(-11 * 60).toISOString() }), 0, at(0));
    expect(later.denial('fp1', 'e1', at(1)).kind).toBe('ask-store');
  });

  it('hands over the counts to write back: those older than the refresh interval, and all on request', () => {
    const w = warm();
    w.stored('fp1', live(), 0, at(0));
    w.stored('fp2', live({ fingerprint: 'fp2', proposalId: 'p2' }), 0, at(0));
    w.denial('fp1', 'a', at(1));
    w.denial('fp1', 'b', at(2));
    w.denial('fp2', 'c', at(30));
    expect(w.due(at(60))).toEqual([]);
    expect(w.due(at(61))).toEqual([{ fingerprint: 'fp1', count: 2, lastSeen: at(2).toISOString() }]);
    expect(w.all()).toEqual([
      { fingerprint: 'fp1', count: 2, lastSeen: at(2).toISOString() },
      { fingerprint: 'fp2', count: 1, lastSeen: at(30).toISOString() },
    ]);
  });

  it("carries the held denials' earliest and latest eventTime and their sessions to the store write", () => {
    const w = warm();
    const seen = (second: number, session: string) => ({
      firstAt: at(second).toISOString(),
      lastAt: at(second).toISOString(),
      sessions: [session],
    });
    w.stored('fp1', live(), 0, at(0));
    w.denial('fp1', 'a', at(1), seen(-30, 's1'));
    w.denial('fp1', 'b', at(2), seen(2, 's2'));
    w.denial('fp1', 'c', at(3), seen(1, 's1'));
    expect(w.due(at(61))).toEqual([
      {
        fingerprint: 'fp1',
        count: 3,
        lastSeen: at(3).toISOString(),
        seen: { firstAt: at(-30).toISOString(), lastAt: at(2).toISOString(), sessions: ['s1', 's2'] },
      },
    ]);
    // The store wrote two of them while a third came: all the times and sessions stay (writing them twice
    // changes nothing), only the count is split.
    w.denial('fp1', 'd', at(4), seen(4, 's3'));
    expect(w.denial('fp1', 'e', at(61))).toMatchObject({
      kind: 'ask-store',
      pending: 4,
      seen: { firstAt: at(-30).toISOString(), lastAt: at(4).toISOString() },
    });
    w.stored('fp1', live({ count: 5 }), 3, at(61));
    expect(w.all()).toEqual([
      expect.objectContaining({ count: 1, seen: expect.objectContaining({ sessions: ['s1', 's2', 's3'] }) }),
    ]);
    w.stored('fp1', live({ count: 6 }), 1, at(62));
    expect(w.all()).toEqual([]);
  });

  it('stops collecting sessions once the store says its set is full', () => {
    const w = warm();
    w.stored('fp1', live({ sessions: SESSION_CAP }), 0, at(0));
    w.denial('fp1', 'a', at(1), {
      firstAt: at(1).toISOString(),
      lastAt: at(1).toISOString(),
      sessions: ['s9'],
    });
    expect(w.all()).toEqual([
      expect.objectContaining({
        seen: { firstAt: at(1).toISOString(), lastAt: at(1).toISOString(), sessions: [] },
      }),
    ]);
  });

  it('forgets the least recently seen problem past its limit, handing over its count', () => {
    const w = new WarmRepeats({ maxProblems: 2, stillFailingAfterMs: MINUTE });
    w.stored('fp1', live(), 0, at(0));
    w.denial('fp1', 'a', at(1));
    w.stored('fp2', live({ fingerprint: 'fp2' }), 0, at(2));
    w.stored('fp3', live({ fingerprint: 'fp3' }), 0, at(3));
    expect(w.denial('fp1', 'b', at(4))).toEqual({ kind: 'ask-store', pending: 0, live: false, seen: null });
    expect(w.due(at(4))).toEqual([{ fingerprint: 'fp1', count: 1, lastSeen: at(1).toISOString() }]);
  });

  it('forgets a problem the store says is not live', () => {
    const w = warm();
    w.stored('fp1', live(), 0, at(0));
    w.denial('fp1', 'a', at(1));
    w.stored('fp1', null, 1, at(2));
    expect(w.denial('fp1', 'b', at(3))).toEqual({ kind: 'ask-store', pending: 0, live: false, seen: null });
    expect(w.all()).toEqual([]);
  });
});
