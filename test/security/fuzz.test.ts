/**
 * The fuzz of test/fuzz/events.ts, 2,000 events per seed inside `npm test` (`npm run test:fuzz` runs
 * 100,000): mutated samples and random JSON through the remediate handler in propose mode.
 */
import { fuzzedEvent, fuzzRemediate, prng } from '../fuzz/events';

describe('fuzzed events through the remediate handler', () => {
  it.each([1, 2])(
    'seed %i, 2,000 events: no exception, no AWS write, every no-match with a reason',
    async (seed) => {
      const report = await fuzzRemediate(seed, 2_000);
      expect(report.thrown).toEqual([]);
      expect(report.unexplained).toEqual([]);
      expect(report.writes).toEqual({});
      expect(report.writerCalls).toBe(0);
      expect(report.outcomes.ignored).toBeGreaterThan(0);
      expect((report.outcomes.proposed ?? 0) + (report.outcomes.refused ?? 0)).toBeGreaterThan(0);
    },
  );

  it('is reproducible: a seed gives the same events', () => {
    const a = prng(7);
    const b = prng(7);
    for (let n = 0; n < 50; n++)
      expect(JSON.stringify(fuzzedEvent(a, n))).toBe(JSON.stringify(fuzzedEvent(b, n)));
  });
});
