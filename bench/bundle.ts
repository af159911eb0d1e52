/**
 * Builds the production bundles exactly as the CDK stack does (infra/bundling.ts) and the floor bundle
 * (bench/floor.ts), and measures their size and their cold start in fresh Node processes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { HANDLER_ENTRIES } from '../functions/commons/constants';
import { BUNDLING } from '../infra/bundling';

const ROOT = path.resolve(__dirname, '..');

/** Bundles one entry file into `dir` as Lambda would run it; returns the bundle's path. */
export async function bundleEntry(entry: string, dir: string, name: string): Promise<string> {
  const outfile = path.join(dir, `${name}.mjs`);
  await build({
    entryPoints: [path.resolve(ROOT, entry)],
    outfile,
    bundle: true,
    format: BUNDLING.format,
    platform: BUNDLING.platform,
    target: BUNDLING.target,
    minify: BUNDLING.minify,
    sourcemap: BUNDLING.sourcemap,
    mainFields: [...BUNDLING.mainFields],
    banner: { js: BUNDLING.banner },
    logLevel: 'error',
  });
  return outfile;
}

export interface Bundles {
  remediate: string;
  approval: string;
  floor: string;
}

export async function buildBundles(): Promise<Bundles> {
  const dir = mkdtempSync(path.join(tmpdir(), 'keymend-bench-bundles-'));
  const [remediate, approval, floor] = await Promise.all([
    bundleEntry(HANDLER_ENTRIES.remediate, dir, 'remediate'),
    bundleEntry(HANDLER_ENTRIES.approval, dir, 'approval'),
    bundleEntry('bench/floor.ts', dir, 'floor'),
  ]);
  return { remediate, approval, floor };
}

export function bundleSizes(bundles: Bundles) {
  const remediateBytes = statSync(bundles.remediate).size;
  const approvalBytes = statSync(bundles.approval).size;
  const floorBytes = statSync(bundles.floor).size;
  return { remediateBytes, approvalBytes, floorBytes, ratio: remediateBytes / floorBytes };
}

/** The environment the stack gives the functions, with placeholder values: cold start checks it. */
export const LAMBDA_ENV: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  AWS_LAMBDA_FUNCTION_NAME: 'keymend-bench',
  KEYMEND_TABLE: 'keymend',
  KEYMEND_EMAIL_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:keymend-email',
  KEYMEND_CHAT_TOPIC_ARN: '',
  KEYMEND_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:keymend-AbCdEf',
  KEYMEND_APPROVAL_URL: 'https://abcdefghij.lambda-url.us-east-1.on.aws/',
  KEYMEND_MODE: 'propose',
};

/** Milliseconds for a fresh Node process to import the bundle and run its initialisation. */
function importOnce(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(file)}); process.stdout.write(String(performance.now() - t));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', ...LAMBDA_ENV },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`importing ${file} failed: ${run.stderr.trim()}`);
  return Number(run.stdout);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Median cold start of the remediate bundle and the floor, in alternating runs. */
export function coldStart(bundles: Bundles, runs = 15) {
  const remediate: number[] = [];
  const floor: number[] = [];
  importOnce(bundles.floor); // warms the file cache for both, once
  importOnce(bundles.remediate);
  for (let i = 0; i < runs; i++) {
    remediate.push(importOnce(bundles.remediate));
    floor.push(importOnce(bundles.floor));
  }
  const remediateMs = median(remediate);
  const floorMs = median(floor);
  return { remediateMs, floorMs, ratio: remediateMs / floorMs, runs };
}
