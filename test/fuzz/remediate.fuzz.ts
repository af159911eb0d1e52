/**
 * `npm run test:fuzz`: 100,000 seeded fuzzed events through the remediate handler (test/fuzz/events.ts).
 * A smaller run of the same generator is part of `npm test` (test/security/fuzz.test.ts).
 */
import { fuzzRemediate } from './events';

const SEED = Number(process.env.KEYMEND_FUZZ_SEED ?? 20261203);
const COUNT = Number(process.env.KEYMEND_FUZZ_EVENTS ?? 100_000);

it(`${COUNT} fuzzed events (seed ${SEED}): no exception, no AWS write, every no-match with a reason`, async () => {
  const report = await fuzzRemediate(SEED, COUNT);
  expect(report.thrown).toEqual([]);
  expect(report.unexplained).toEqual([]);
  expect(report.writes).toEqual({});
  expect(report.writerCalls).toBe(0);
  expect(Object.values(report.outcomes).reduce((a, b) => a + b, 0)).toBe(COUNT);
  // The generator reaches every stage: ignored events, diagnosed ones, repeats and duplicates.
  for (const outcome of ['ignored', 'proposed', 'refused', 'repeat']) {
    expect(report.outcomes[outcome] ?? 0).toBeGreaterThan(0);
  }
}, 900_000);
