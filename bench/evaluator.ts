/**
 * The policy evaluator against @cloud-copilot/iam-simulate on the same generated requests (the
 * differential test's generator, fixed seed), timed in interleaved rounds.
 *   - keymend evaluate: policies compiled once, then evaluated (how diagnose and proof use it). The
 *     target (issue 3, issue 14) is on this one.
 *   - keymend compile + evaluate: every policy set compiled anew per request, reported beside it.
 *   - iam-simulate runSimulation: its public entry point. (Its runUnsafeSimulation cannot run these
 *     cases: it loads the resource policy without a name and then fails reading it.) At a few
 *     milliseconds a request it gets through part of the cases in its rounds, from the first on;
 *     the cases are drawn alike, so its rate is over the same mix.
 * `npm run bench` runs this from the esbuild bundle of bench/run.ts, not under tsx.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { CompiledPolicy } from '../functions/policy/compile';
import { evaluate } from '../functions/policy/evaluate';
import type { PolicySet } from '../functions/policy/types';
import { type DiffCase, sampleCases, toPolicySet, toSimulation } from './fixtures/differential-cases';
import { type Engine, engine, interleave, rate, round, table, thousands } from './timing';

export const SEED = 20260611;
const SIMULATE_SLICE = 25;

export interface EvaluatorFigures {
  keymendPerSec: number;
  iamSimulatePerSec: number;
  ratio: number;
  /** keymend with a new policy set compiled for each request. */
  compileAndEvaluatePerSec: number;
  lines: string[];
}

export async function evaluatorBench(options: { cases: number; seconds: number }): Promise<EvaluatorFigures> {
  const cases = sampleCases(options.cases, SEED);
  const simulations = cases.map(toSimulation);
  let compiled: PolicySet<CompiledPolicy>[] = [];
  const sync = (name: string, once: (c: DiffCase, i: number) => unknown): Engine =>
    engine(name, async () => {
      for (let i = 0; i < cases.length; i++) once(cases[i] as DiffCase, i);
      return cases.length;
    });
  const once = sync('keymend evaluate (compiled once)', (c, i) =>
    evaluate(c.request, compiled[i] as PolicySet<CompiledPolicy>),
  );
  const fresh = sync('keymend compile + evaluate', (c) => evaluate(c.request, toPolicySet(c)));
  // iam-simulate takes milliseconds per request: its passes take a slice of the cases in turn, so a
  // round lasts about its time, not a whole pass over thousands of requests.
  let next = 0;
  const simulate = engine('iam-simulate runSimulation', async () => {
    for (let n = 0; n < SIMULATE_SLICE; n++, next = (next + 1) % simulations.length) {
      await runSimulation(simulations[next] as never, {});
    }
    return SIMULATE_SLICE;
  });
  // Warm-up: let the JIT compile the hot paths. The compiled-once policy sets live for the whole run, so
  // they are built only after compile + evaluate has warmed up: built first, their survival makes V8
  // pretenure the compiler's allocation sites, and compile + evaluate then measures old-generation
  // garbage collection of the policies it discards, about 3x its own cost.
  await round(fresh, 0.5);
  await round(simulate, 0.5);
  compiled = cases.map(toPolicySet);
  await round(once, 0.5);
  const engines = [once, fresh, simulate];
  await interleave(engines, options.seconds);
  const reference = rate(simulate);
  return {
    keymendPerSec: rate(once),
    iamSimulatePerSec: reference,
    ratio: rate(once) / reference,
    compileAndEvaluatePerSec: rate(fresh),
    lines: [
      `Policy evaluator: ${cases.length} generated requests (seed ${SEED}), interleaved rounds`,
      ...table(
        ['engine', 'evaluations', 'seconds', 'evals/s', 'us/eval', 'x runSimulation'],
        engines.map((e) => [
          e.name,
          String(e.operations),
          e.seconds.toFixed(2),
          thousands(rate(e)),
          (1e6 / rate(e)).toFixed(2),
          (rate(e) / reference).toFixed(1),
        ]),
      ),
    ],
  };
}
