/**
 * `npm run bench`: evaluations per second for keymend and for @cloud-copilot/iam-simulate on the same
 * generated requests (the differential test's generator, fixed seed), measured in one run.
 *
 * Rows:
 * - keymend evaluate: policies compiled once, then evaluated (how diagnose and proof use it).
 * - keymend compile + evaluate: every policy set compiled anew per request (a candidate fix changes
 *   one policy, so diagnose pays this for each candidate).
 * - iam-simulate runSimulation: its public entry point. (Its runUnsafeSimulation cannot run these
 *   cases: it loads the resource policy without a name and then fails reading it.)
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { evaluate } from '../functions/policy/evaluate';
import { type DiffCase, sampleCases, toPolicySet, toSimulation } from '../test/policy/differential-cases';

const CASES = Number(process.env.BENCH_CASES ?? 2000);
const SEED = 20260611;
const MIN_SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
/** Warm-up time for the synchronous engines, so the JIT has compiled the hot paths before timing. */
const WARM_UP_SECONDS = 1;
const TARGET = 50;

interface Row {
  engine: string;
  evaluations: number;
  seconds: number;
}

/** Runs `once` over the cases repeatedly until at least MIN_SECONDS have passed. */
async function measure(
  engine: string,
  cases: DiffCase[],
  once: (c: DiffCase, i: number) => unknown,
): Promise<Row> {
  for (let i = 0; i < Math.min(cases.length, 200); i++) await once(cases[i] as DiffCase, i); // warm-up
  let evaluations = 0;
  const start = process.hrtime.bigint();
  let seconds = 0;
  do {
    for (let i = 0; i < cases.length; i++) await once(cases[i] as DiffCase, i);
    evaluations += cases.length;
    seconds = Number(process.hrtime.bigint() - start) / 1e9;
  } while (seconds < MIN_SECONDS);
  return { engine, evaluations, seconds };
}

/** Same as measure, for synchronous work (no await per call, which would dominate a fast engine). */
function measureSync(engine: string, cases: DiffCase[], once: (c: DiffCase, i: number) => unknown): Row {
  const warm = process.hrtime.bigint();
  do {
    for (let i = 0; i < cases.length; i++) once(cases[i] as DiffCase, i);
  } while (Number(process.hrtime.bigint() - warm) / 1e9 < WARM_UP_SECONDS);
  let evaluations = 0;
  const start = process.hrtime.bigint();
  let seconds = 0;
  do {
    for (let i = 0; i < cases.length; i++) once(cases[i] as DiffCase, i);
    evaluations += cases.length;
    seconds = Number(process.hrtime.bigint() - start) / 1e9;
  } while (seconds < MIN_SECONDS);
  return { engine, evaluations, seconds };
}

async function main(): Promise<void> {
  const cases = sampleCases(CASES, SEED);
  const compiled = cases.map(toPolicySet);
  const simulations = cases.map(toSimulation);

  const rows: Row[] = [
    measureSync('keymend evaluate (compiled once)', cases, (c, i) =>
      evaluate(c.request, compiled[i] as never),
    ),
    measureSync('keymend compile + evaluate', cases, (c) => evaluate(c.request, toPolicySet(c))),
    await measure('iam-simulate runSimulation', cases, (_c, i) => runSimulation(simulations[i] as never, {})),
  ];

  const rate = (r: Row) => r.evaluations / r.seconds;
  const reference = rate(rows[2] as Row);
  const header = ['engine', 'evaluations', 'seconds', 'evals/s', 'x runSimulation'];
  const table = rows.map((r) => [
    r.engine,
    String(r.evaluations),
    r.seconds.toFixed(2),
    Math.round(rate(r)).toLocaleString('en-US'),
    (rate(r) / reference).toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
      .join('  ');
  const out = [
    `keymend policy evaluator benchmark: ${CASES} generated requests (seed ${SEED}), node ${process.version}`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...table.map(line),
    '',
  ];
  const speedup = rate(rows[0] as Row) / reference;
  out.push(
    `keymend vs iam-simulate runSimulation: ${speedup.toFixed(0)}x (target ${TARGET}x: ${speedup >= TARGET ? 'met' : 'NOT met'})`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
