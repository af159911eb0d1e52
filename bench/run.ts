/**
 * `npm run bench`: how fast keymend decides, measured in one run.
 *
 * 1. The policy evaluator against @cloud-copilot/iam-simulate on the same generated requests (the
 *    differential test's generator, fixed seed). The engines are timed in interleaved rounds, so a
 *    busy machine slows them alike and the ratio stays fair.
 *    - keymend evaluate: policies compiled once, then evaluated (how diagnose and proof use it).
 *    - keymend compile + evaluate: every policy set compiled anew per request.
 *    Each is compared with runSimulation; us/eval is the mean time of one evaluation.
 *    - iam-simulate runSimulation: its public entry point. (Its runUnsafeSimulation cannot run these
 *      cases: it loads the resource policy without a name and then fails reading it.)
 *    Measured on an esbuild bundle, as Lambda runs the code (`npm run bench` bundles first), not under tsx.
 * 2. The whole diagnosis of the sample events against their snapshots (intake, reading the snapshot,
 *    evaluation, plans and proofs): events per second.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { parseSnapshot, SnapshotReader } from '../functions/adapters/snapshot';
import { diagnose } from '../functions/core/diagnose';
import { gatherState } from '../functions/core/gather';
import { intake } from '../functions/core/intake';
import type { KinesisKmsRequest } from '../functions/core/request';
import type { CompiledPolicy } from '../functions/policy/compile';
import { evaluate } from '../functions/policy/evaluate';
import type { PolicySet } from '../functions/policy/types';
import { type DiffCase, sampleCases, toPolicySet, toSimulation } from './fixtures/differential-cases';

const CASES = Number(process.env.BENCH_CASES ?? 2000);
const SEED = 20260611;
/** Seconds of timed rounds per engine. */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUND_SECONDS = 0.25;
const TARGET = 100;

interface Engine {
  name: string;
  /** One pass over the cases; returns how many evaluations it made. */
  pass(): Promise<number>;
  evaluations: number;
  seconds: number;
}

function syncEngine(name: string, cases: DiffCase[], once: (c: DiffCase, i: number) => unknown): Engine {
  return {
    name,
    evaluations: 0,
    seconds: 0,
    async pass() {
      for (let i = 0; i < cases.length; i++) once(cases[i] as DiffCase, i);
      return cases.length;
    },
  };
}

function asyncEngine(
  name: string,
  cases: DiffCase[],
  once: (c: DiffCase, i: number) => Promise<unknown>,
): Engine {
  return {
    name,
    evaluations: 0,
    seconds: 0,
    async pass() {
      for (let i = 0; i < cases.length; i++) await once(cases[i] as DiffCase, i);
      return cases.length;
    },
  };
}

/** Runs one engine for about `seconds`, whole passes at a time, adding to its totals. */
async function round(engine: Engine, seconds: number): Promise<void> {
  const start = process.hrtime.bigint();
  let elapsed = 0;
  do {
    engine.evaluations += await engine.pass();
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  } while (elapsed < seconds);
  engine.seconds += elapsed;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
      .join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

async function evaluatorBench(): Promise<string[]> {
  const cases = sampleCases(CASES, SEED);
  const simulations = cases.map(toSimulation);
  let compiled: PolicySet<CompiledPolicy>[] = [];
  const [once, fresh, simulate] = [
    syncEngine('keymend evaluate (compiled once)', cases, (c, i) =>
      evaluate(c.request, compiled[i] as PolicySet<CompiledPolicy>),
    ),
    syncEngine('keymend compile + evaluate', cases, (c) => evaluate(c.request, toPolicySet(c))),
    asyncEngine('iam-simulate runSimulation', cases, (_c, i) => runSimulation(simulations[i] as never, {})),
  ] as const;
  const engines = [once, fresh, simulate];
  // Warm-up: let the JIT compile the hot paths. The compiled-once policy sets live for the whole run, so
  // they are built only after compile + evaluate has warmed up: built first, their survival makes V8
  // pretenure the compiler's allocation sites (allocation-site pretenuring), and compile + evaluate then
  // measures old-generation garbage collection of the policies it discards, about 3x its own cost.
  await round(fresh, 0.5);
  await round(simulate, 0.5);
  compiled = cases.map(toPolicySet);
  await round(once, 0.5);
  for (const engine of engines) Object.assign(engine, { evaluations: 0, seconds: 0 });
  for (let t = 0; t < SECONDS; t += ROUND_SECONDS) {
    for (const engine of engines) await round(engine, ROUND_SECONDS);
  }
  const rate = (e: Engine) => e.evaluations / e.seconds;
  const reference = rate(simulate);
  // The target (issue 3, raised to 100x by issue 7) is on evaluation as keymend does it: policies compiled once, then many requests
  // (every probe of every plan). Compiling per request is reported beside it, without a target.
  const speedup = (e: Engine) => rate(e) / reference;
  return [
    `Policy evaluator: ${CASES} generated requests (seed ${SEED}), interleaved rounds, node ${process.version}`,
    '',
    ...table(
      ['engine', 'evaluations', 'seconds', 'evals/s', 'us/eval', 'x runSimulation'],
      engines.map((e) => [
        e.name,
        String(e.evaluations),
        e.seconds.toFixed(2),
        Math.round(rate(e)).toLocaleString('en-US'),
        (1e6 / rate(e)).toFixed(2),
        (rate(e) / reference).toFixed(1),
      ]),
    ),
    '',
    `keymend evaluate vs iam-simulate runSimulation: ${speedup(once).toFixed(0)}x (target ${TARGET}x: ${speedup(once) >= TARGET ? 'met' : 'NOT met'})`,
    `keymend compile + evaluate, a new policy set per request: ${speedup(fresh).toFixed(0)}x`,
  ];
}

/** Every sample event that the intake matches, paired with the snapshot of the account it names. */
function sampleDenials(): { request: KinesisKmsRequest; reader: SnapshotReader }[] {
  // npm runs scripts at the repository root; the bundle itself lives in bench/.bundle/.
  const events = path.resolve('events');
  const readers = new Map<string, SnapshotReader>();
  for (const name of ['demo', 'cross-account']) {
    const snapshot = parseSnapshot(
      JSON.parse(readFileSync(path.join(events, 'accounts', `${name}.json`), 'utf8')),
    );
    readers.set(snapshot.accountId, new SnapshotReader(snapshot));
  }
  const out: { request: KinesisKmsRequest; reader: SnapshotReader }[] = [];
  for (const file of readdirSync(events).filter((f) => f.endsWith('.json'))) {
    const result = intake(JSON.parse(readFileSync(path.join(events, file), 'utf8')));
    const reader = result.match ? readers.get(result.request.accountId) : undefined;
    if (result.match && reader) out.push({ request: result.request, reader });
  }
  return out;
}

async function diagnoseBench(): Promise<string[]> {
  const denials = sampleDenials();
  const states = await Promise.all(denials.map((d) => gatherState(d.reader, d.request)));
  const engines: Engine[] = [
    {
      name: 'diagnose (state read)',
      evaluations: 0,
      seconds: 0,
      async pass() {
        for (const [i, d] of denials.entries()) diagnose(d.request, states[i] as never);
        return denials.length;
      },
    },
    {
      name: 'read snapshot + diagnose',
      evaluations: 0,
      seconds: 0,
      async pass() {
        for (const d of denials) diagnose(d.request, await gatherState(d.reader, d.request));
        return denials.length;
      },
    },
  ];
  for (const engine of engines) await round(engine, 0.5);
  for (const engine of engines) Object.assign(engine, { evaluations: 0, seconds: 0 });
  for (let t = 0; t < SECONDS / 2; t += ROUND_SECONDS) {
    for (const engine of engines) await round(engine, ROUND_SECONDS);
  }
  return [
    `Diagnosis: ${denials.length} sample denials from events/ against events/accounts/ (each with its plan and proof)`,
    '',
    ...table(
      ['pipeline', 'events', 'seconds', 'events/s', 'ms/event'],
      engines.map((e) => [
        e.name,
        String(e.evaluations),
        e.seconds.toFixed(2),
        Math.round(e.evaluations / e.seconds).toLocaleString('en-US'),
        ((1000 * e.seconds) / e.evaluations).toFixed(3),
      ]),
    ),
  ];
}

async function main(): Promise<void> {
  const out = [...(await evaluatorBench()), '', ...(await diagnoseBench())];
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
