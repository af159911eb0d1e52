/**
 * `keymend scan` throughput: records per second over a generated log set of at least 100 MB (half
 * its files gzipped; a trail's mix, TRAIL_SAMPLES: 1 record in 25 can be a denied KMS call),
 * against a bare `JSON.parse` of the same files (read whole, gunzipped, parsed; no intake) and
 * against reading and gunzipping alone (the floor: no scan can be faster than inflating its
 * input); and scan's peak RSS, measured in a child process so the generator and the baselines do
 * not count. The three are timed in the same process, in turn, ROUNDS times, the fastest of each
 * kept, so their ratios compare like with like on a busy machine; so is the CPU time of scan and
 * of the baseline (cpuRatio), which scan's reading several files at once does not change. Run
 * alone: `node --expose-gc --import tsx bench/scan.ts`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { scanCommand } from '../cli/commands/scan';
import type { CliIo } from '../cli/io';
import { PREFILTERED } from '../cli/scan-summary';
import { TRAIL_SAMPLES, writeLargeLogSet } from './fixtures/cloudtrail-logs';

const MiB = 1024 * 1024;

export interface ScanBench {
  /** Records per second through `keymend scan --json` (intake and aggregation included). */
  recordsPerSec: number;
  /** Records per second of the bare baseline: read, gunzip and JSON.parse each file whole. */
  baselineRecordsPerSec: number;
  /** Records per second of reading and gunzipping each file whole, without parsing: the floor. */
  gunzipRecordsPerSec: number;
  /** scan / baseline (records per second), one run. */
  ratio: number;
  /** scan / gunzip alone (records per second), one run: at most about 1. */
  gunzipRatio: number;
  /**
   * The baseline's CPU time over scan's (all threads of the process: gzip inflates on libuv's pool
   * while scan frames records), one run: the work saved, whatever the files read at once gain on
   * a machine with cores to spare or lose on a loaded one.
   */
  cpuRatio: number;
  /** Records the scan parsed: those whose bytes can be a denied KMS call. */
  parsed: number;
  /** Peak resident set size of a child process running the scan, in MB (node and tsx included). */
  peakRssMb: number;
  records: number;
  /** Size of the log set as JSON, before gzip. */
  megabytes: number;
}

const quietIo: CliIo = {
  stdout: () => {},
  stderr: () => {},
  readInput: async () => Buffer.alloc(0),
};

/** How many times each of scan, the baseline and gunzip alone is timed. */
const ROUNDS = 5;

/**
 * The wall-clock and CPU seconds (user and system, every thread of the process) of one run, from a
 * collected heap when node runs with --expose-gc (as scan-figure.ts runs this file): otherwise the
 * run after the baseline pays for collecting the hundreds of MB of objects its JSON.parse left.
 */
async function seconds(run: () => Promise<void>): Promise<{ wall: number; cpu: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await run();
  const used = process.cpuUsage(cpu);
  return { wall: Number(process.hrtime.bigint() - started) / 1e9, cpu: (used.user + used.system) / 1e6 };
}

/** Generates the log set, times scan and the baselines on it, and measures scan's peak RSS. */
export async function benchScan(options: { bytes?: number } = {}): Promise<ScanBench> {
  const dir = mkdtempSync(path.join(tmpdir(), 'keymend-bench-scan-'));
  try {
    const set = await writeLargeLogSet(dir, options.bytes ?? 100 * MiB, { samples: TRAIL_SAMPLES });

    let scanParsed = 0;
    const scan = async () => {
      let output = '';
      const code = await scanCommand.run([dir, '--json'], { ...quietIo, stdout: (text) => (output += text) });
      if (code !== 0) throw new Error(`scan exited ${code}`);
      const summary = JSON.parse(output) as { records: number; ignored: Record<string, number> };
      if (summary.records !== set.records) throw new Error(`scan read ${summary.records} of ${set.records}`);
      scanParsed = set.records - (summary.ignored[PREFILTERED] ?? 0);
    };
    const gunzipAlone = async () => {
      let inflated = 0;
      for (const file of set.files) {
        let bytes = await readFile(file);
        if (file.endsWith('.gz')) bytes = gunzipSync(bytes);
        inflated += bytes.length;
      }
      if (inflated < set.bytes) throw new Error(`gunzip read ${inflated} bytes of ${set.bytes}`);
    };
    const baseline = async () => {
      let parsed = 0;
      for (const file of set.files) {
        let bytes = await readFile(file);
        if (file.endsWith('.gz')) bytes = gunzipSync(bytes);
        parsed += (JSON.parse(bytes.toString('utf8')) as { Records: unknown[] }).Records.length;
      }
      if (parsed !== set.records) throw new Error(`baseline read ${parsed} records of ${set.records}`);
    };
    // Each timed ROUNDS times, the three in turn, and the fastest of each kept: on a shared machine
    // a run is only ever slowed down by the others, and alternating spreads that over all three.
    const best = { scan: Infinity, gunzip: Infinity, baseline: Infinity };
    const cpu = { scan: Infinity, baseline: Infinity };
    for (let round = 0; round < ROUNDS; round++) {
      const scanRun = await seconds(scan);
      best.scan = Math.min(best.scan, scanRun.wall);
      cpu.scan = Math.min(cpu.scan, scanRun.cpu);
      best.gunzip = Math.min(best.gunzip, (await seconds(gunzipAlone)).wall);
      const baselineRun = await seconds(baseline);
      best.baseline = Math.min(best.baseline, baselineRun.wall);
      cpu.baseline = Math.min(cpu.baseline, baselineRun.cpu);
    }
    const scanSeconds = best.scan;
    const gunzipSeconds = best.gunzip;
    const baselineSeconds = best.baseline;

    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.resolve(__dirname, '../test/helpers/scan-child.ts'), dir, '--json'],
      { encoding: 'utf8', maxBuffer: 64 * MiB },
    );
    const maxRssKb = Number(/maxRSS=(\d+)/.exec(child.stderr ?? '')?.[1]);
    if (child.status !== 0 || !maxRssKb) throw new Error(`scan child failed: ${child.stderr}`);

    return {
      recordsPerSec: Math.round(set.records / scanSeconds),
      baselineRecordsPerSec: Math.round(set.records / baselineSeconds),
      gunzipRecordsPerSec: Math.round(set.records / gunzipSeconds),
      ratio: baselineSeconds / scanSeconds,
      gunzipRatio: gunzipSeconds / scanSeconds,
      cpuRatio: cpu.baseline / cpu.scan,
      parsed: scanParsed,
      peakRssMb: Math.round(maxRssKb / 1024),
      records: set.records,
      megabytes: Math.round(set.bytes / MiB),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchScan().then(
    (result) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`),
    (error: unknown) => {
      process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
