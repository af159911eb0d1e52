/**
 * A storm: `events` denials of which `distinct` are distinct problems, through `keymend local` (the
 * real remediate handler over dynalite, the snapshot account and an outbox), posted over HTTP as
 * EventBridge would deliver them (the server handles them a few at a time, concurrently).
 *
 * 1. One new problem alone: the AWS reads and DynamoDB requests of one diagnosis (`readsPerDiagnosis`).
 * 2. The rest shuffled together (the other first denials among the repeats), in batches.
 * Then the repeats the warm function still holds are written back (runtime.writeBack), and: every AWS
 * read the account served, every publish per topic, and the DynamoDB requests per repeat (all
 * requests, the write-backs included, less those of the new problems, each costing what the isolated
 * one did).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { type LocalRuntime, type LocalStats, startLocal } from '../cli/local/runtime';
import type { OutgoingMessage } from '../functions/core/ports';
import type { RemediateResult } from '../functions/flows/remediate';
import { ROOT } from './root';
import { denial, shuffled, stormAccount } from './storm-denials';
import { table } from './timing';

export interface StormOptions {
  /** @default 10_000 */
  events?: number;
  /** @default 100 */
  distinct?: number;
  /** Events per POST. @default 1000 */
  batch?: number;
}

export interface StormFigures {
  events: number;
  distinct: number;
  /** AWS reads (IAM, KMS, Kinesis) the whole storm made. */
  accountReads: number;
  /** AWS reads one diagnosis makes, measured by one new problem alone. */
  readsPerDiagnosis: number;
  /** Publishes on the busiest topic; `publishesByTopic` has each. */
  publishes: number;
  publishesByTopic: Record<string, number>;
  /** DynamoDB requests of one new problem, measured alone. */
  dynamoRequestsPerNew: number;
  /** KMS reads among readsPerDiagnosis (KMS bills each request). */
  kmsReadsPerDiagnosis: number;
  /** Milliseconds of one new problem alone, posted and answered (diagnosis, proposal, notification). */
  msPerNewProblem: number;
  /** Milliseconds per event of the rest of the storm, posted in batches (mostly repeats). */
  msPerEvent: number;
  dynamoRequestsPerRepeat: number;
  outcomes: Record<string, number>;
  seconds: number;
  lines: string[];
}

/** Writes the local account counts too (grants, policies); none happen in propose mode. */
const WRITE = /^[a-z]+:(Create|Put|Delete|Revoke|Retire|Update|Tag|Untag)/;

export const accountReadsOf = (stats: LocalStats): number =>
  Object.entries(stats.aws)
    .filter(([action]) => !WRITE.test(action))
    .reduce((sum, [, n]) => sum + n, 0);

async function post(runtime: LocalRuntime, events: unknown[]): Promise<RemediateResult[]> {
  const response = await fetch(`${runtime.url}/_local/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(events),
  });
  if (response.status !== 200) throw new Error(`POST /_local/events answered ${response.status}`);
  return (await response.json()) as RemediateResult[];
}

const tally = (results: RemediateResult[], into: Record<string, number>) => {
  for (const r of results) into[r.outcome] = (into[r.outcome] ?? 0) + 1;
};

/** Outcomes of a problem diagnosed afresh (the others are repeats and duplicates). */
const DIAGNOSED = new Set(['proposed', 'refused', 'applied', 'ignored', 'failed']);

export async function stormBench(options: StormOptions = {}): Promise<StormFigures> {
  const events = options.events ?? 10_000;
  const distinct = options.distinct ?? 100;
  const batch = options.batch ?? 1000;
  if (distinct < 1 || events < distinct) throw new Error('a storm needs 1 <= distinct <= events');
  const runtime = await startLocal({ snapshot: stormAccount(distinct), port: 0, log: () => {} });
  const started = performance.now();
  try {
    const outcomes: Record<string, number> = {};
    const zero = runtime.stats();
    const firstStarted = performance.now();
    tally(await post(runtime, [denial(0, 0)]), outcomes);
    const msPerNewProblem = performance.now() - firstStarted;
    const one = runtime.stats();
    const kmsReadsPerDiagnosis = Object.entries(one.aws)
      .filter(([action]) => action.startsWith('kms:') && !WRITE.test(action))
      .reduce((sum, [action, n]) => sum + n - (zero.aws[action] ?? 0), 0);
    const readsPerDiagnosis = accountReadsOf(one) - accountReadsOf(zero);
    const dynamoRequestsPerNew = one.dynamodb - zero.dynamodb;

    const rest = shuffled([
      ...Array.from({ length: distinct - 1 }, (_, n) => denial(n + 1, 0)),
      ...Array.from({ length: events - distinct }, (_, k) =>
        denial(k % distinct, 1 + Math.floor(k / distinct)),
      ),
    ]);
    const restStarted = performance.now();
    for (let i = 0; i < rest.length; i += batch)
      tally(await post(runtime, rest.slice(i, i + batch)), outcomes);
    const msPerEvent = rest.length ? (performance.now() - restStarted) / rest.length : 0;
    // The repeats the warm function still holds in memory are written back, and counted here.
    await runtime.writeBack();
    const end = runtime.stats();
    const seconds = (performance.now() - started) / 1000;

    const diagnosed = Object.entries(outcomes)
      .filter(([outcome]) => DIAGNOSED.has(outcome))
      .reduce((sum, [, n]) => sum + n, 0);
    const repeats = events - diagnosed;
    const dynamoRequestsPerRepeat =
      repeats === 0 ? 0 : (end.dynamodb - zero.dynamodb - diagnosed * dynamoRequestsPerNew) / repeats;
    const publishesByTopic: Record<string, number> = {};
    for (const message of runtime.outbox() as OutgoingMessage[]) {
      publishesByTopic[message.topic] = (publishesByTopic[message.topic] ?? 0) + 1;
    }
    const accountReads = accountReadsOf(end) - accountReadsOf(zero);
    return {
      events,
      distinct,
      accountReads,
      readsPerDiagnosis,
      publishes: Math.max(0, ...Object.values(publishesByTopic)),
      publishesByTopic,
      dynamoRequestsPerNew,
      kmsReadsPerDiagnosis,
      msPerNewProblem,
      msPerEvent,
      dynamoRequestsPerRepeat,
      outcomes,
      seconds,
      lines: [
        `Storm: ${events} denials of ${distinct} problems through keymend local over HTTP, ${seconds.toFixed(1)} s (${Math.round(events / seconds)} events/s)`,
        `  outcomes: ${Object.entries(outcomes)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
        `  one new problem alone: ${readsPerDiagnosis} AWS reads, ${dynamoRequestsPerNew} DynamoDB requests`,
        ...table(
          ['AWS call (whole storm)', 'count'],
          Object.entries(end.aws).map(([action, n]) => [action, String(n - (zero.aws[action] ?? 0))]),
        ).map((line) => `  ${line}`),
        `  publishes by topic: ${Object.entries(publishesByTopic)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
        `  DynamoDB requests: ${end.dynamodb - zero.dynamodb}: ${diagnosed} new problems x ${dynamoRequestsPerNew}, and ${repeats} repeats at ${dynamoRequestsPerRepeat.toFixed(4)} each`,
        "  (repeats are counted in the warm function's memory and written back in batches: every 100 of a problem, after a minute, and at the end of the storm)",
      ],
    };
  } finally {
    await runtime.close();
  }
}

/** The storm in its own process under tsx (bench/storm-main.ts); its figures as stormBench gives them. */
export async function stormInChild(options: { events: number; distinct: number }): Promise<StormFigures> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(ROOT, 'bench', 'storm-main.ts'),
      String(options.events),
      String(options.distinct),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`the storm process failed: ${stderr.trim().split('\n')[0]}`);
  return JSON.parse(stdout) as StormFigures;
}
