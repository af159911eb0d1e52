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
    for (let n = 0; n < 50; n++) expect(flat(fuzzedEvent(a, n))).toBe(flat(fuzzedEvent(b, n)));
  });
});

/**
 * A value as text, walked with an explicit stack: some fuzzed events are nested thousands of levels
 * deep on purpose, past what JSON.stringify's recursion survives.
 */
function flat(value: unknown): string {
  const out: string[] = [];
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const next = stack.pop();
    if (Array.isArray(next)) {
      out.push(`[${next.length}`);
      for (let i = next.length - 1; i >= 0; i--) stack.push(next[i]);
    } else if (typeof next === 'object' && next !== null) {
      const entries = Object.entries(next);
      out.push(`{${entries.length}`);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i] as [string, unknown];
        stack.push(child, JSON.stringify(key));
      }
    } else {
      out.push(typeof next === 'string' ? JSON.stringify(next) : String(next));
    }
  }
  return out.join(',');
}
