/**
 * The scan figures come from bench/scan.ts (`benchScan()`, written with `keymend scan`), run as its
 * own process under tsx as its header says (`node --expose-gc --import tsx bench/scan.ts` prints
 * its figures as JSON): it spawns its own child for the peak RSS, by a path relative to itself, which a bundle would move.
 * Until that file exists the figures are reported as missing, never made up.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './root';

export interface ScanFigures {
  recordsPerSec: number;
  baselineRecordsPerSec: number;
  gunzipRecordsPerSec: number;
  ratio: number;
  gunzipRatio: number;
  /** The baseline's CPU time over scan's. */
  cpuRatio: number;
  /** Records parsed (their bytes can be a denied KMS call). */
  parsed: number;
  peakRssMb: number;
  /** Records in the generated log set, and its size as JSON. */
  records: number;
  megabytes: number;
}

const SCAN_BENCH = path.join(ROOT, 'bench', 'scan.ts');

/** The scan figures, or the reason they are missing. */
export function scanFigures(): ScanFigures | { missing: string } {
  if (!existsSync(SCAN_BENCH)) return { missing: 'bench/scan.ts (benchScan) does not exist yet' };
  // --expose-gc: each timed run starts from a collected heap (bench/scan.ts).
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', SCAN_BENCH], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (run.status !== 0) return { missing: `bench/scan.ts failed: ${run.stderr.trim().split('\n')[0]}` };
  const figures = JSON.parse(run.stdout) as Partial<ScanFigures>;
  const number = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : Number.NaN);
  const out = {
    recordsPerSec: number(figures.recordsPerSec),
    baselineRecordsPerSec: number(figures.baselineRecordsPerSec),
    gunzipRecordsPerSec: number(figures.gunzipRecordsPerSec),
    ratio: number(figures.ratio),
    gunzipRatio: number(figures.gunzipRatio),
    cpuRatio: number(figures.cpuRatio),
    parsed: number(figures.parsed),
    peakRssMb: number(figures.peakRssMb),
    records: number(figures.records),
    megabytes: number(figures.megabytes),
  };
  if (Object.values(out).some(Number.isNaN)) return { missing: `bench/scan.ts printed ${run.stdout.trim()}` };
  return out;
}
