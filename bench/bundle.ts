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
import { median } from './timing';

const ROOT = path.resolve(__dirname, '..');

export interface Bundle {
  file: string;
  /** The names the bundle exports: a Lambda entry point exports `handler`. */
  exports: string[];
}

/** Bundles one entry file into `dir` as Lambda would run it. */
export async function bundleEntry(entry: string, dir: string, name: string): Promise<Bundle> {
  const outfile = path.join(dir, `${name}.mjs`);
  const result = await build({
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
    metafile: true,
    logLevel: 'error',
  });
  const output = Object.entries(result.metafile.outputs).find(([file]) => file.endsWith('.mjs'));
  return { file: outfile, exports: output?.[1].exports ?? [] };
}

export interface Bundles {
  remediate: Bundle;
  approval: Bundle;
  floor: Bundle;
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

export interface BundleSizes {
  remediateBytes: number;
  /** null while the approval entry exports no Lambda `handler` (its bundle would be wiring only). */
  approvalBytes: number | null;
  floorBytes: number;
  ratio: number;
}

export function bundleSizes(bundles: Bundles): BundleSizes {
  const remediateBytes = statSync(bundles.remediate.file).size;
  const approvalBytes = bundles.approval.exports.includes('handler')
    ? statSync(bundles.approval.file).size
    : null;
  const floorBytes = statSync(bundles.floor.file).size;
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

/** What Lambda passes as the context (the fields Powertools reads). */
const CONTEXT = {
  functionName: 'keymend-bench',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:keymend-bench',
  memoryLimitInMB: '512',
  awsRequestId: '00000000-0000-4000-8000-000000000000',
  getRemainingTimeInMillis: () => 30_000,
};

/**
 * Milliseconds for a fresh Node process to import the bundle and run its initialisation: the import,
 * then the first invocation with an event keymend ignores (the remediate function reads its
 * configuration and builds its clients there; the floor builds its clients on import). Log lines go
 * to stdout as in Lambda; the time is the last line.
 */
function importOnce(file: string): { total: number; imported: number } {
  const script = [
    `const context = ${JSON.stringify(CONTEXT)};`,
    'context.getRemainingTimeInMillis = () => 30000;',
    'const t = performance.now();',
    `const m = await import(${JSON.stringify(file)});`,
    'const imported = performance.now() - t;',
    'await m.handler({}, context);',
    "process.stdout.write('\\nbench-ms ' + (performance.now() - t) + ' ' + imported);",
  ].join('\n');
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', ...LAMBDA_ENV },
    encoding: 'utf8',
  });
  const ms = /\nbench-ms ([\d.]+) ([\d.]+)$/.exec(run.stdout);
  if (run.status !== 0 || !ms) throw new Error(`importing ${file} failed: ${run.stderr.trim()}`);
  return { total: Number(ms[1]), imported: Number(ms[2]) };
}

export interface ColdStart {
  remediateMs: number;
  floorMs: number;
  ratio: number;
  /** Of remediateMs, the import alone (the rest is the first invocation: configuration, clients). */
  remediateImportMs: number;
  floorImportMs: number;
  runs: number;
}

/** Median cold start of the remediate bundle and the floor, in alternating runs. */
export function coldStart(bundles: Bundles, runs = 15): ColdStart {
  const remediate: { total: number; imported: number }[] = [];
  const floor: { total: number; imported: number }[] = [];
  importOnce(bundles.floor.file); // warms the file cache for both, once
  importOnce(bundles.remediate.file);
  for (let i = 0; i < runs; i++) {
    remediate.push(importOnce(bundles.remediate.file));
    floor.push(importOnce(bundles.floor.file));
  }
  const remediateMs = median(remediate.map((r) => r.total));
  const floorMs = median(floor.map((r) => r.total));
  return {
    remediateMs,
    floorMs,
    ratio: remediateMs / floorMs,
    remediateImportMs: median(remediate.map((r) => r.imported)),
    floorImportMs: median(floor.map((r) => r.imported)),
    runs,
  };
}
