/**
 * The scan figures come from bench/scan.ts (`benchScan()`), written with `keymend scan`. Until that
 * file exists they are reported as missing, never made up.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface ScanFigures {
  recordsPerSec: number;
  baselineRecordsPerSec: number;
  peakRssMb: number;
}

/** The module path is computed, so this file compiles before bench/scan.ts exists. */
const SCAN_MODULE = path.join(__dirname, 'scan');

/** The scan figures, or null with the reason when bench/scan.ts does not exist yet. */
export async function scanFigures(): Promise<ScanFigures | { missing: string }> {
  if (!existsSync(`${SCAN_MODULE}.ts`)) return { missing: 'bench/scan.ts (benchScan) does not exist yet' };
  const module = require(SCAN_MODULE) as { benchScan?: () => Promise<ScanFigures> };
  if (typeof module.benchScan !== 'function') return { missing: 'bench/scan.ts exports no benchScan()' };
  const figures = await module.benchScan();
  return {
    recordsPerSec: figures.recordsPerSec,
    baselineRecordsPerSec: figures.baselineRecordsPerSec,
    peakRssMb: figures.peakRssMb,
  };
}
