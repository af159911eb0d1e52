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
import { ROOT } from './root';
import { median, table } from './timing';

export interface Bundle {
  file: string;
  /** The names the bundle exports: a Lambda entry point exports `handler`. */
  exports: string[];
  /** Bytes of the minified output by origin: keymend's folders, the AWS SDK, each other package. */
  composition: Record<string, number>;
}

/** `functions/core`, `aws-sdk` (@aws-sdk and @smithy), or the package's name. */
function originOf(input: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1];
  if (pkg) return pkg.startsWith('@aws-sdk/') || pkg.startsWith('@smithy/') ? 'aws-sdk' : pkg;
  const folder = /(functions\/[^/]+|bench|infra)\//.exec(input)?.[1];
  return folder ?? input;
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
  const output = Object.entries(result.metafile.outputs).find(([file]) => file.endsWith('.mjs'))?.[1];
  const composition: Record<string, number> = {};
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const origin = originOf(input);
    composition[origin] = (composition[origin] ?? 0) + bytesInOutput;
  }
  return { file: outfile, exports: output?.exports ?? [], composition };
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
  approvalBytes: number;
  floorBytes: number;
  ratio: number;
}

export function bundleSizes(bundles: Bundles): BundleSizes {
  const remediateBytes = statSync(bundles.remediate.file).size;
  for (const [name, bundle] of [
    ['remediate', bundles.remediate],
    ['approval', bundles.approval],
  ] as const) {
    if (!bundle.exports.includes('handler'))
      throw new Error(`the ${name} bundle exports no Lambda \`handler\``);
  }
  const approvalBytes = statSync(bundles.approval.file).size;
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
  KEYMEND_DECISION_KEY_ID: 'arn:aws:kms:us-east-1:111122223333:key/1111aaaa-22bb-33cc-44dd-555555eeeeee',
  KEYMEND_APPROVAL_URL: 'https://abcdefghij.lambda-url.us-east-1.on.aws/',
  KEYMEND_RETIRING_PRINCIPAL: 'arn:aws:iam::111122223333:role/keymend/KeymendApprovalRole',
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
interface ColdRun {
  /** Milliseconds from the import to the end of the first invocation. */
  total: number;
  /** Of which the import. */
  imported: number;
  /** CPU milliseconds (all threads) of the same: less disturbed by other processes on the machine. */
  cpu: number;
}

function importOnce(file: string): ColdRun {
  const script = [
    `const context = ${JSON.stringify(CONTEXT)};`,
    'context.getRemainingTimeInMillis = () => 30000;',
    'const c = process.cpuUsage();',
    'const t = performance.now();',
    `const m = await import(${JSON.stringify(file)});`,
    'const imported = performance.now() - t;',
    'await m.handler({}, context);',
    'const total = performance.now() - t;',
    'const cpu = process.cpuUsage(c);',
    "process.stdout.write('\\nbench-ms ' + total + ' ' + imported + ' ' + (cpu.user + cpu.system) / 1000);",
  ].join('\n');
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', ...LAMBDA_ENV },
    encoding: 'utf8',
  });
  const ms = /\nbench-ms ([\d.]+) ([\d.]+) ([\d.]+)$/.exec(run.stdout);
  if (run.status !== 0 || !ms) throw new Error(`importing ${file} failed: ${run.stderr.trim()}`);
  return { total: Number(ms[1]), imported: Number(ms[2]), cpu: Number(ms[3]) };
}

export interface ColdStart {
  remediateMs: number;
  floorMs: number;
  ratio: number;
  /** Of remediateMs, the import alone (the rest is the first invocation: configuration, clients). */
  remediateImportMs: number;
  floorImportMs: number;
  /** Median CPU milliseconds of each, and their ratio. */
  remediateCpuMs: number;
  floorCpuMs: number;
  cpuRatio: number;
  runs: number;
}

/** Median cold start of the remediate bundle and the floor, in alternating runs. */
export function coldStart(bundles: Bundles, runs = 15): ColdStart {
  const remediate: ColdRun[] = [];
  const floor: ColdRun[] = [];
  importOnce(bundles.floor.file); // warms the file cache for both, once
  importOnce(bundles.remediate.file);
  for (let i = 0; i < runs; i++) {
    remediate.push(importOnce(bundles.remediate.file));
    floor.push(importOnce(bundles.floor.file));
  }
  const remediateMs = median(remediate.map((r) => r.total));
  const floorMs = median(floor.map((r) => r.total));
  const remediateCpuMs = median(remediate.map((r) => r.cpu));
  const floorCpuMs = median(floor.map((r) => r.cpu));
  return {
    remediateMs,
    floorMs,
    ratio: remediateMs / floorMs,
    remediateImportMs: median(remediate.map((r) => r.imported)),
    floorImportMs: median(floor.map((r) => r.imported)),
    remediateCpuMs,
    floorCpuMs,
    cpuRatio: remediateCpuMs / floorCpuMs,
    runs,
  };
}

/** What the remediate bundle holds beyond the floor, by origin, largest first. */
export function beyondFloor(bundles: Bundles): string[] {
  const { remediate, floor } = bundles;
  const origins = new Set([...Object.keys(remediate.composition), ...Object.keys(floor.composition)]);
  const rows = [...origins]
    .map((origin) => ({
      origin,
      remediate: remediate.composition[origin] ?? 0,
      floor: floor.composition[origin] ?? 0,
    }))
    .filter((r) => r.remediate - r.floor !== 0)
    .sort((a, b) => b.remediate - b.floor - (a.remediate - a.floor));
  const beyond = rows.reduce((sum, r) => sum + r.remediate - r.floor, 0);
  return [
    `  the remediate bundle beyond the floor, by origin (${beyond} B of code; the rest is the banner and the file's framing):`,
    ...table(
      ['origin', 'remediate B', 'floor B', 'beyond B'],
      rows.map((r) => [r.origin, String(r.remediate), String(r.floor), String(r.remediate - r.floor)]),
    ).map((line) => `    ${line}`),
  ];
}
