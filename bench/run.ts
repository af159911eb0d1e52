/**
 * `npm run bench`: what keymend costs, each figure against a floor or a peer measured in the same run
 * (absolute times on a shared machine are noise). Issue 14.
 *
 *   npm run bench                      the figures, then a table: figure, value, target, PASS/MISS
 *   npm run --silent bench -- --json   one JSON object on stdout, nothing else (progress on stderr)
 *
 * One module per figure: bundle.ts (bundle sizes and cold start), evaluator.ts, pipeline.ts,
 * storm.ts and round-trips.ts, scan-figure.ts (bench/scan.ts). A figure that cannot be measured yet is
 * reported as missing (null in the JSON), never estimated.
 *
 * `npm run bench` runs an esbuild bundle of this file (bench/.bundle/run.cjs, packages external), so the
 * evaluator and pipeline are measured as bundled code, not under tsx; the storm (bench/storm-main.ts)
 * and bench/scan.ts run in their own processes under tsx.
 *
 * Environment: BENCH_SECONDS (evaluator seconds per engine, default 3), BENCH_CASES (2000),
 * BENCH_STORM_EVENTS (10000), BENCH_STORM_DISTINCT (100), BENCH_COLD_RUNS (31).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { beyondFloor, buildBundles, bundleSizes, coldStart } from './bundle';
import { type Cost, costOf } from './cost';
import { evaluatorBench } from './evaluator';
import { pipelineBench } from './pipeline';
import { roundTripsBench } from './round-trips';
import { scanFigures } from './scan-figure';
import { stormInChild } from './storm';
import { table } from './timing';

const JSON_OUTPUT = process.argv.includes('--json');
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

type Value = number | null;
type Check = (value: number, all: Figures) => boolean;

interface Row {
  key: string;
  target?: { text: string; met: Check };
  /** How the value is shown in the table. */
  format?: (value: number) => string;
}

interface Figures {
  bundle: { remediateBytes: Value; approvalBytes: Value; floorBytes: Value; ratio: Value };
  coldStart: { remediateMs: Value; floorMs: Value; ratio: Value };
  evaluator: { keymendPerSec: Value; iamSimulatePerSec: Value; ratio: Value };
  pipeline: { decisionsPerSec: Value };
  storm: {
    events: Value;
    distinct: Value;
    accountReads: Value;
    readsPerDiagnosis: Value;
    publishes: Value;
    dynamoRequestsPerRepeat: Value;
    roundTripsNewFingerprint: Value;
  };
  scan: {
    recordsPerSec: Value;
    baselineRecordsPerSec: Value;
    ratio: Value;
    gunzipRatio: Value;
    cpuRatio: Value;
    peakRssMb: Value;
  };
  cost: Cost | null;
  machine: { cpu: string; cores: number; node: string; loadAverage1m: number };
}

const fixed = (digits: number) => (v: number) => v.toFixed(digits);
const whole = (v: number) => Math.round(v).toLocaleString('en-US');

/** Publishes per topic, kept apart for the target (the JSON has the busiest topic's). */
let publishesByTopic: Record<string, number> = {};

const ROWS: Row[] = [
  { key: 'bundle.remediateBytes', format: whole },
  { key: 'bundle.approvalBytes', format: whole },
  { key: 'bundle.floorBytes', format: whole },
  // No target: cold start, what users feel, has one (issue 24).
  { key: 'bundle.ratio', format: fixed(3) },
  { key: 'coldStart.remediateMs', format: fixed(1) },
  { key: 'coldStart.floorMs', format: fixed(1) },
  { key: 'coldStart.ratio', format: fixed(3), target: { text: '<= 1.3', met: (v) => v <= 1.3 } },
  { key: 'evaluator.keymendPerSec', format: whole },
  { key: 'evaluator.iamSimulatePerSec', format: whole },
  { key: 'evaluator.ratio', format: fixed(1), target: { text: '>= 80', met: (v) => v >= 80 } },
  { key: 'pipeline.decisionsPerSec', format: whole },
  { key: 'storm.events', format: whole },
  { key: 'storm.distinct', format: whole },
  {
    key: 'storm.accountReads',
    format: whole,
    target: {
      text: '= distinct x readsPerDiagnosis',
      met: (v, f) => v === (f.storm.distinct ?? Number.NaN) * (f.storm.readsPerDiagnosis ?? Number.NaN),
    },
  },
  { key: 'storm.readsPerDiagnosis', format: whole },
  {
    key: 'storm.publishes',
    format: whole,
    target: {
      text: '= distinct, per topic',
      met: (_v, f) =>
        Object.keys(publishesByTopic).length > 0 &&
        Object.values(publishesByTopic).every((n) => n === f.storm.distinct),
    },
  },
  {
    key: 'storm.dynamoRequestsPerRepeat',
    format: fixed(3),
    target: { text: '<= 0.1', met: (v) => v <= 0.1 },
  },
  {
    key: 'storm.roundTripsNewFingerprint',
    format: whole,
    target: { text: '<= 5', met: (v) => v <= 5 },
  },
  { key: 'scan.recordsPerSec', format: whole },
  { key: 'scan.baselineRecordsPerSec', format: whole },
  { key: 'scan.ratio', format: fixed(2), target: { text: '>= 2', met: (v) => v >= 2 } },
  { key: 'scan.gunzipRatio', format: fixed(2) },
  { key: 'scan.cpuRatio', format: fixed(2) },
  { key: 'scan.peakRssMb', format: fixed(1), target: { text: '<= 512', met: (v) => v <= 512 } },
];

function valueAt(figures: Figures, key: string): Value {
  const [group, name] = key.split('.') as [keyof Figures, string];
  return (figures[group] as unknown as Record<string, Value>)[name] ?? null;
}

/** Progress and details: stdout for people, stderr under --json (stdout holds the object only). */
const say = (lines: string | string[]) =>
  (JSON_OUTPUT ? process.stderr : process.stdout).write(`${([] as string[]).concat(lines).join('\n')}\n`);

/** Runs one figure; a failure is reported and leaves its values missing. */
async function measure<T>(
  name: string,
  missing: Map<string, string>,
  run: () => Promise<T>,
): Promise<T | null> {
  const start = performance.now();
  try {
    const result = await run();
    if (!JSON_OUTPUT) say(`(${name}: ${((performance.now() - start) / 1000).toFixed(1)} s)\n`);
    return result;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    missing.set(name, `failed: ${reason}`);
    process.stderr.write(`bench: ${name} failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    return null;
  }
}

/**
 * CPU seconds of this process and of its children that have ended (the cold-start processes, the
 * storm, the scan): Linux's /proc/self/stat, in clock ticks of 1/100 s; null elsewhere.
 */
function cpuSecondsWithChildren(): number | null {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8')
      .replace(/^.*\) /, '')
      .split(' ');
    // After the command name: state is field 3, utime 14, stime 15, cutime 16, cstime 17.
    return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) / 100;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const missing = new Map<string, string>();
  const figures: Figures = {
    bundle: { remediateBytes: null, approvalBytes: null, floorBytes: null, ratio: null },
    coldStart: { remediateMs: null, floorMs: null, ratio: null },
    evaluator: { keymendPerSec: null, iamSimulatePerSec: null, ratio: null },
    pipeline: { decisionsPerSec: null },
    storm: {
      events: null,
      distinct: null,
      accountReads: null,
      readsPerDiagnosis: null,
      publishes: null,
      dynamoRequestsPerRepeat: null,
      roundTripsNewFingerprint: null,
    },
    scan: {
      recordsPerSec: null,
      baselineRecordsPerSec: null,
      ratio: null,
      gunzipRatio: null,
      cpuRatio: null,
      peakRssMb: null,
    },
    cost: null,
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: availableParallelism(),
      node: process.version,
      loadAverage1m: Number(loadavg()[0]?.toFixed(2)),
    },
  };
  const m = figures.machine;
  say(`keymend bench on ${m.cpu}, ${m.cores} cores, node ${m.node}, load average ${m.loadAverage1m}\n`);

  await measure('bundle', missing, async () => {
    const bundles = await buildBundles();
    const sizes = bundleSizes(bundles);
    figures.bundle = sizes;
    const cold = coldStart(bundles, env('BENCH_COLD_RUNS', 31));
    figures.coldStart = { remediateMs: cold.remediateMs, floorMs: cold.floorMs, ratio: cold.ratio };
    say([
      `Bundles (infra/bundling.ts options, minified ESM): remediate ${sizes.remediateBytes} B, approval ${sizes.approvalBytes} B, floor (bench/floor.ts: the SDK clients only) ${sizes.floorBytes} B`,
      ...beyondFloor(bundles),
      `Cold start, median of ${cold.runs} alternating fresh processes (import + first invocation with an ignored event):`,
      `  remediate ${cold.remediateMs.toFixed(1)} ms (import ${cold.remediateImportMs.toFixed(1)}), floor ${cold.floorMs.toFixed(1)} ms (import ${cold.floorImportMs.toFixed(1)})`,
      `  CPU time of the same: remediate ${cold.remediateCpuMs.toFixed(1)} ms, floor ${cold.floorCpuMs.toFixed(1)} ms, ratio ${cold.cpuRatio.toFixed(3)} (less disturbed by a busy machine)`,
      '',
    ]);
  });
  await measure('evaluator', missing, async () => {
    const result = await evaluatorBench({
      cases: env('BENCH_CASES', 2000),
      seconds: env('BENCH_SECONDS', 3),
    });
    figures.evaluator = {
      keymendPerSec: result.keymendPerSec,
      iamSimulatePerSec: result.iamSimulatePerSec,
      ratio: result.ratio,
    };
    say([...result.lines, '']);
  });
  await measure('pipeline', missing, async () => {
    const result = await pipelineBench({ seconds: env('BENCH_SECONDS', 3) / 2 });
    figures.pipeline = { decisionsPerSec: result.decisionsPerSec };
    say([...result.lines, '']);
  });
  await measure('round trips', missing, async () => {
    const result = await roundTripsBench();
    figures.storm.roundTripsNewFingerprint = result.newFingerprint;
    say([...result.lines, '']);
  });
  await measure('storm', missing, async () => {
    const result = await stormInChild({
      events: env('BENCH_STORM_EVENTS', 10_000),
      distinct: env('BENCH_STORM_DISTINCT', 100),
    });
    publishesByTopic = result.publishesByTopic;
    figures.cost = costOf({
      msPerRepeat: result.msPerEvent,
      dynamoRequestsPerRepeat: result.dynamoRequestsPerRepeat,
      msPerNewProblem: result.msPerNewProblem,
      dynamoRequestsPerNew: result.dynamoRequestsPerNew,
      kmsReadsPerNew: result.kmsReadsPerDiagnosis,
      // keymend local signs in process; deployed, a pending proposal's approve and reject links are
      // two KMS GenerateMac calls.
      kmsSignaturesPerNew: 2,
      publishesPerNew: Object.keys(result.publishesByTopic).length,
    });
    Object.assign(figures.storm, {
      events: result.events,
      distinct: result.distinct,
      accountReads: result.accountReads,
      readsPerDiagnosis: result.readsPerDiagnosis,
      publishes: result.publishes,
      dynamoRequestsPerRepeat: result.dynamoRequestsPerRepeat,
    });
    const c = figures.cost;
    say([
      ...result.lines,
      `  durations: one new problem ${result.msPerNewProblem.toFixed(0)} ms, the rest ${result.msPerEvent.toFixed(2)} ms per event (keymend local, this machine)`,
      `Cost at ${c.lambdaMemoryMb} MB, ${c.region} list prices of ${c.pricesAsOf} (bench/cost.ts): idle $${c.idleMonthlyUsd}/month, $${c.perMillionStormDenialsUsd} per million storm denials, $${c.perNewProblemUsd} per new problem`,
      '',
    ]);
  });
  await measure('scan', missing, async () => {
    const result = scanFigures();
    if ('missing' in result) {
      missing.set('scan', result.missing);
      return;
    }
    figures.scan = {
      recordsPerSec: result.recordsPerSec,
      baselineRecordsPerSec: result.baselineRecordsPerSec,
      ratio: Number(result.ratio.toFixed(3)),
      gunzipRatio: Number(result.gunzipRatio.toFixed(3)),
      cpuRatio: Number(result.cpuRatio.toFixed(3)),
      peakRssMb: result.peakRssMb,
    };
    say([
      `Scan: keymend scan over ${result.megabytes} MB of generated CloudTrail logs (${result.records} records, a trail's mix: ${result.parsed} parsed) against a bare read + gunzip + JSON.parse of the same files, and against read + gunzip alone (best of 3 each)`,
      `  scan ${Math.round(result.recordsPerSec)} records/s, JSON.parse ${Math.round(result.baselineRecordsPerSec)} records/s (ratio ${result.ratio.toFixed(2)}), gunzip alone ${Math.round(result.gunzipRecordsPerSec)} records/s (ratio ${result.gunzipRatio.toFixed(2)}), CPU time JSON.parse / scan ${result.cpuRatio.toFixed(2)}, scan's peak RSS ${result.peakRssMb} MB`,
      '',
    ]);
  });

  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuAll = cpuSecondsWithChildren();
  if (JSON_OUTPUT) {
    process.stdout.write(`${JSON.stringify(figures)}\n`);
    return;
  }
  const why = (key: string) => missing.get(key) ?? missing.get(key.split('.')[0] as string);
  const rows = ROWS.map((row) => {
    const value = valueAt(figures, row.key);
    const result =
      value === null
        ? `missing: ${why(row.key) ?? 'not measured'}`
        : row.target
          ? row.target.met(value, figures)
            ? 'PASS'
            : 'MISS'
          : '';
    return [row.key, value === null ? '-' : (row.format ?? String)(value), row.target?.text ?? '', result];
  });
  say([
    `Summary (${new Date().toISOString().slice(0, 10)}: ${seconds.toFixed(0)} s; CPU ${((cpu.user + cpu.system) / 1e6).toFixed(0)} s in this process${cpuAll === null ? '' : `, ${cpuAll.toFixed(0)} s with its child processes`}; load average ${loadavg()[0]?.toFixed(1)} at the end)`,
    ...table(['figure', 'value', 'target', 'result'], rows, { right: 2 }).map((line) =>
      line.replace(/ +$/, ''),
    ),
    `machine: ${m.cpu}, ${m.cores} cores, node ${m.node}`,
  ]);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
