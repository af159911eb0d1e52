/**
 * keymend against @cloud-copilot/iam-simulate on 10,000 generated policy sets and requests (seeded, so a
 * failure reproduces). The generator (bench/fixtures/differential-cases.ts) stays on what both model. Where the two
 * disagree and AWS documentation shows keymend right, the case is kept in evaluate.test.ts
 * ("disagreements with iam-simulate") and left out of the generator.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import fc from 'fast-check';
import {
  diffCaseArb,
  FROM_SIMULATE,
  toPolicySet,
  toSimulation,
} from '../../bench/fixtures/differential-cases';
import { evaluate } from '../../functions/policy/evaluate';

const SEED = 20260611;

describe('differential: keymend vs iam-simulate', () => {
  it('agrees on 10,000 generated policy sets and requests', async () => {
    const seen = { allowed: 0, 'implicit-deny': 0, 'explicit-deny': 0 };
    await fc.assert(
      fc.asyncProperty(diffCaseArb, async (c) => {
        const ours = evaluate(c.request, toPolicySet(c)).decision;
        const theirs = await runSimulation(toSimulation(c), {});
        if (theirs.resultType !== 'single') throw new Error(`iam-simulate: ${JSON.stringify(theirs)}`);
        // Every context key must reach iam-simulate, or the comparison would be hollow.
        expect(theirs.result.ignoredContextKeys).toEqual([]);
        expect(ours).toBe(FROM_SIMULATE[theirs.overallResult]);
        seen[ours]++;
      }),
      { seed: SEED, numRuns: 10_000, endOnFailure: true },
    );
    // The generator must exercise every outcome, not only denials.
    expect(seen.allowed).toBeGreaterThan(500);
    expect(seen['implicit-deny']).toBeGreaterThan(500);
    expect(seen['explicit-deny']).toBeGreaterThan(500);
  }, 120_000);
});
