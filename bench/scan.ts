/**
 * `keymend scan` throughput: records per second over a generated log set of at least 100 MB (half
 * its files gzipped, three denials to one success), against a bare `JSON.parse` of the same files
 * (read whole, gunzipped, parsed; no intake); and scan's peak RSS, measured in a child process so
 * the generator and the baseline do not count. Run alone: `npx tsx bench/scan.ts`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { scanCommand } from '../cli/commands/scan';
import type { CliIo } from '../cli/io';
import { writeLargeLogSet } from './fixtures/cloudtrail-logs';

const MiB = 1024 * 1024;

export interface ScanBench {
  /** Records per second through `keymend scan --json` (intake and aggregation included). */
  recordsPerSec: number;
  /** Records per second of the bare baseline: read, gunzip and JSON.parse each file whole. */
  baselineRecordsPerSec: number;
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

/** Generates the log set, times scan and the baseline on it, and measures scan's peak RSS. */
export async function benchScan(options: { bytes?: number } = {}): Promise<ScanBench> {
  const dir = mkdtempSync(path.join(tmpdir(), 'keymend-bench-scan-'));
  try {
    const set = await writeLargeLogSet(dir, options.bytes ?? 100 * MiB);

    let started = process.hrtime.bigint();
    const code = await scanCommand.run([dir, '--json'], quietIo);
    const scanSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (code !== 0) throw new Error(`scan exited ${code}`);

    started = process.hrtime.bigint();
    let parsed = 0;
    for (const file of set.files) {
      let bytes = await readFile(file);
      if (file.endsWith('.gz')) bytes = gunzipSync(bytes);
      parsed += (JSON.parse(bytes.toString('utf8')) as { Records: unknown[] }).Records.length;
    }
    const baselineSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (parsed !== set.records) throw new Error(`baseline read ${parsed} records of ${set.records}`);

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
