/**
 * `keymend scan`: CloudTrail records summarised by problem (fingerprint): how many denials, when, how
 * many sessions, what AWS blamed; with `--diagnose`, what keymend would do about each. The records
 * come from log files (local, or straight from a trail's S3 bucket) or from the account's Event
 * history (LookupEvents). Memory does not grow with the input (see cli/scan-summary.ts).
 */
import { stat } from 'node:fs/promises';
import { AthenaClient } from '@aws-sdk/client-athena';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { S3Client } from '@aws-sdk/client-s3';
import { clientConfig } from '../../functions/adapters/client-config';
import {
  formatBytes,
  LogFileError,
  logFilesUnder,
  type ScanItem,
} from '../../functions/adapters/cloudtrail-log';
import { isAccountId, isRegion } from '../../functions/commons/arn';
import { InputError, KeymendError, UsageError } from '../../functions/commons/errors';
import { diagnose } from '../../functions/core/diagnose';
import { gatherState } from '../../functions/core/gather';
import { MECHANISMS, type Mechanism } from '../../functions/core/plan';
import type { KinesisKmsRequest } from '../../functions/core/request';
import {
  maxBytesOption,
  OUTPUT_OPTIONS,
  type OutputFormat,
  outputHelp,
  outputOption,
  parseCommandLine,
} from '../args';
import { type AthenaProgress, kmsDenialsFromAthena } from '../aws/athena';
import { kmsDenialQuery, parseTableName, type TableName } from '../aws/athena-query';
import {
  EVENT_HISTORY_DAYS,
  type EventHistoryProgress,
  kmsDenialsFromEventHistory,
} from '../aws/event-history';
import { openTrailObject, parseS3Url, trailObjects } from '../aws/trail-bucket';
import { helpText } from '../help';
import { oneLine } from '../input';
import type { CliIo, Command } from '../io';
import { LIMITS_HELP, limitsFor, openInput } from '../log-input';
import { accountReaders, type ReaderFor } from '../readers';
import { scanInputItems } from '../records';
import { EXIT, EXIT_STATUS_HELP, runCommand } from '../run-command';
import {
  type AthenaSummary,
  PREFILTERED,
  type ProblemDiagnosis,
  type ProblemSummary,
  ScanAggregator,
  type ScanSummary,
  SESSION_CAP,
} from '../scan-summary';
import {
  count,
  deniedByText,
  manualText,
  minute,
  nextStepText,
  printable,
  shortArn,
  WIDTH,
  wrap,
} from '../text';

const FORMATS = ['text', 'json', 'jsonl'] as const;
/** Objects read from S3 at once. */
const S3_CONCURRENCY = 4;

const HELP = `Usage: keymend scan PATH... [options]
       keymend scan s3://BUCKET/PREFIX [--since WHEN] [--until WHEN] [options]
       keymend scan --aws --since WHEN [--until WHEN] [--region R] [options]
       keymend scan --athena DB.TABLE --since WHEN [--until WHEN]
                    [--workgroup W] [--output-location s3://BUCKET/PREFIX/]
                    [--region R] [--only-accounts ID,...]
                    [--only-regions R,...] [options]
Options: [--output text|json|jsonl] [--progress] [--max-bytes SIZE]
         [--diagnose (--account SNAPSHOT.json | --aws) [--prefer MECHANISM]]

Summarises the denied KMS calls that Kinesis made for a principal, by problem:
the same principal, operation, key, stream, account and Region (the
fingerprint; never the session, which every AssumeRole renews). For each: how
many denials, first and last seen, how many distinct sessions (exact up to
${SESSION_CAP}, then "${SESSION_CAP}+"), and what AWS's error message blamed.

Where the records come from:
  PATH              a CloudTrail log file as delivered to S3
                    ({"Records": [...]}, .json or .json.gz), the output of 'aws
                    cloudtrail lookup-events', a directory (walked for .json
                    and .json.gz), or '-' for standard input.
  s3://BUCKET/PREFIX
                    a trail's bucket, read in place (no 'aws s3 sync' first):
                    the listing is paged, ${S3_CONCURRENCY} objects are read at a time as
                    streams. With --since, a PREFIX ending at a Region's folder
                    (.../CloudTrail/us-east-1/) is listed day by day; any other
                    PREFIX is listed whole and its files chosen by the time in
                    their names. Needs s3:ListBucket and s3:GetObject.
  --aws             with no PATH: the account's CloudTrail Event history
                    (LookupEvents, the last ${EVENT_HISTORY_DAYS} days of one Region), filtered on
                    EventSource kms.amazonaws.com; the denials are kept here.
                    LookupEvents answers 2 requests a second and 50 events a
                    request: a busy account's KMS events take a while, so keep
                    --since short. Needs cloudtrail:LookupEvents.
  --athena DB.TABLE the CloudTrail table in Athena, partitioned by account,
                    region and timestamp (docs/scan.md has its DDL): one query
                    whose WHERE clause holds keymend's filter (KMS, access
                    denied, an operation Kinesis calls, Kinesis's evidence) and
                    the days of --since/--until, so only those partitions are
                    read. Athena bills the data it scans (shown at the end).
                    Ctrl-C stops the query. Needs athena:StartQueryExecution,
                    GetQueryExecution, GetQueryResults, StopQueryExecution,
                    glue:GetTable, s3 reads of the trail and writes to the
                    result location (docs/scan.md).
Files are read one record at a time, several files at once: memory stays flat
however large the input. Only records whose bytes can be a denied KMS call
(they hold kms.amazonaws.com and AccessDenied, or a \\u escape) are parsed; the
others are counted as ignored, ${PREFILTERED}, unparsed. A file that is
corrupt, truncated or over a limit is reported on stderr (one line naming it)
and skipped whole; the others are still summarised. (Corrupt JSON inside a
record skipped unparsed is not noticed; a broken file structure is.)
An input with no log file, or with no CloudTrail record in it, is an error (one
line saying what was found), never "0 problems".

Options:
  --since WHEN        only records from WHEN: a duration back from now (90m,
                      6h, 2d, 1w) or a time (2026-11-30T12:00Z). Required with
                      --aws (no PATH) and with --athena.
  --until WHEN        only records up to WHEN (the same forms; default now).
  --region R          with --aws (no PATH): the Region whose Event history to
                      read; with --athena, the Region of Athena's table and
                      workgroup (default: the SDK's, from AWS_REGION or the
                      profile).
  --workgroup W       with --athena: the Athena workgroup (default: primary).
  --output-location s3://BUCKET/PREFIX/
                      with --athena: where Athena writes the results (needed
                      unless the workgroup has a query result location).
  --only-accounts ID,...
  --only-regions R,...
                      with --athena: only these accounts' or Regions'
                      partitions (less data scanned; required for a partition
                      projected as "injected").
${outputHelp(FORMATS, 'text')}
                      text: a table for an 80-column terminal; json:
                      {"files", "skipped": [{"file", "problem"}],
                      "records", "denials", "ignored": {REASON: COUNT},
                      "problems": [{"fingerprint", "accountId", "region",
                      "principalArn", "operation", "keyArn", "streamArn",
                      "count", "firstSeen", "lastSeen", "sessions",
                      "sessionsCapped"?, "deniedBy": [...], "diagnosis"?}],
                      "athena"?: {"table", "queryExecutionId",
                      "dataScannedBytes", "rows"}} (with --athena, "files"
                      is 0: Athena read them);
                      jsonl: the same object on one line.
  --diagnose          diagnose each problem once (its latest denial) against
                      the account: adds {"verdict", "code", "reason", "plan"}
                      (verdict propose, refuse or ignore; see
                      'keymend diagnose --help'). Needs one of:
  --account FILE      the account snapshot (docs/snapshot.md), or
  --aws               read the account through the AWS SDK (read-only), the
                      one the default credential chain is for: other
                      accounts' problems are refused (wrong-account).
  --prefer MECHANISM  with --diagnose, the fix to try first: kms-grant (the
                      default), iam-inline-policy or key-policy-statement.
  --progress          a progress line on stderr: files done of total, bytes,
                      records, denials, problems (the default when stderr is
                      a terminal).
  --max-bytes SIZE    the limit for one input and for what a gzip expands to,
                      e.g. 2GiB (default 1GiB).
  -h, --help          show this help.

${LIMITS_HELP}

${EXIT_STATUS_HELP}
Here a failure is also a file skipped or an account unreadable for --diagnose
(the summary of the rest is still printed), and a finding refused is a
problem whose diagnosis is "refuse".

Examples:
  keymend scan logs/AWSLogs/111122223333/CloudTrail/
  keymend scan --since 1d \\
    s3://my-trail-bucket/AWSLogs/111122223333/CloudTrail/us-east-1/
  keymend scan --aws --since 6h --region us-east-1 --diagnose --aws
  keymend scan --athena security.cloudtrail_org --since 30d \\
    --workgroup keymend --diagnose --aws
  keymend scan events/ --output json
  keymend scan logs/ --diagnose --account events/accounts/demo.json
`;

interface Options {
  paths: string[];
  /** Event history (--aws with no PATH). */
  history: boolean;
  /** The Athena table (--athena). */
  athena?: TableName;
  workgroup?: string;
  outputLocation?: string;
  onlyAccounts?: string[];
  onlyRegions?: string[];
  since?: Date;
  until?: Date;
  region?: string;
  format: OutputFormat;
  diagnose: boolean;
  account?: string;
  /** The account is read through AWS for --diagnose. */
  awsAccount: boolean;
  prefer: Mechanism;
  progress: boolean | undefined;
  maxBytes?: number;
}

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * `--since`/`--until` WHEN: a duration back from `now` (`90m`, `6h`, `2d`, `1w`) or an ISO 8601 time.
 * @throws UsageError naming the option.
 */
export function parseWhen(option: string, text: string, now: number): Date {
  const duration = /^(\d+)\s*([mhdw])$/.exec(text.trim());
  if (duration) return new Date(now - Number(duration[1]) * (UNITS[duration[2] as string] as number));
  if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) {
    const time = new Date(text.trim());
    if (!Number.isNaN(time.getTime())) return time;
  }
  throw new UsageError(
    `${option} takes a duration back from now (90m, 6h, 2d, 1w) or a time such as 2026-11-30T12:00Z (got ${JSON.stringify(printable(text))})`,
  );
}

function options(argv: string[], now = Date.now()): Options {
  const parsed = parseCommandLine(
    argv,
    {
      ...OUTPUT_OPTIONS,
      diagnose: { type: 'boolean' },
      account: { type: 'string' },
      aws: { type: 'boolean' },
      prefer: { type: 'string' },
      progress: { type: 'boolean' },
      'max-bytes': { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      region: { type: 'string' },
      athena: { type: 'string' },
      workgroup: { type: 'string' },
      'output-location': { type: 'string' },
      'only-accounts': { type: 'string' },
      'only-regions': { type: 'string' },
    },
    { positionals: true },
  );
  const v = parsed.values;
  const paths = parsed.positionals;
  const athena = athenaOptions(v, paths);
  const history = v.aws === true && paths.length === 0 && !athena;
  if (paths.length === 0 && !history && !athena) {
    throw new UsageError(
      'give at least one PATH (a file, a directory, s3://BUCKET/PREFIX or -), --aws --since or --athena DB.TABLE --since',
    );
  }
  if (paths.filter((p) => p === '-').length > 1) throw new UsageError('- may be given once');
  for (const p of paths) {
    if (p.startsWith('s3://') && !parseS3Url(p)) {
      throw new UsageError(`${JSON.stringify(printable(p))} is not s3://BUCKET/PREFIX`);
    }
  }
  const since = v.since === undefined ? undefined : parseWhen('--since', v.since, now);
  const until = v.until === undefined ? undefined : parseWhen('--until', v.until, now);
  if (since && until && since >= until) throw new UsageError('--since must be before --until');
  if (history) {
    if (!since) throw new UsageError('--aws (Event history) needs --since, such as --since 6h');
    if (now - since.getTime() > EVENT_HISTORY_DAYS * 86_400_000) {
      throw new UsageError(`Event history keeps ${EVENT_HISTORY_DAYS} days: --since must be within them`);
    }
  }
  if (athena && !since) throw new UsageError('--athena needs --since, such as --since 30d');
  if (v.region !== undefined && !history && !athena)
    throw new UsageError('--region goes with --aws and no PATH (Event history) or --athena');
  if (v.region !== undefined && !isRegion(v.region)) {
    throw new UsageError(
      `--region must be a Region such as us-east-1 (got ${JSON.stringify(printable(v.region))})`,
    );
  }
  const diagnoseWanted = v.diagnose ?? false;
  // --aws names the account for --diagnose when PATHs are given, or when --account is not.
  const awsAccount = diagnoseWanted && v.aws === true && v.account === undefined;
  if (diagnoseWanted) {
    if (v.account === undefined && !v.aws)
      throw new UsageError('--diagnose needs --account SNAPSHOT.json or --aws');
    if (v.account !== undefined && v.aws && !history)
      throw new UsageError('give --account or --aws, not both');
    if (v.account === '') throw new UsageError('--account needs a FILE');
    if (v.account === '-' && paths.includes('-')) {
      throw new UsageError('a PATH and --account cannot both read standard input');
    }
  } else if (v.account !== undefined || (v.aws && !history) || v.prefer !== undefined) {
    throw new UsageError('--account, --aws (with a PATH or --athena) and --prefer go with --diagnose');
  }
  const prefer = v.prefer ?? 'kms-grant';
  if (!(MECHANISMS as readonly string[]).includes(prefer)) {
    throw new UsageError(`--prefer must be one of ${MECHANISMS.join(', ')} (got ${JSON.stringify(prefer)})`);
  }
  return {
    paths,
    history,
    ...athena,
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
    ...(v.region !== undefined ? { region: v.region } : {}),
    format: outputOption(v, FORMATS, 'text'),
    diagnose: diagnoseWanted,
    ...(v.account !== undefined ? { account: v.account } : {}),
    awsAccount,
    prefer: prefer as Mechanism,
    progress: v.progress,
    ...maxBytesOption(v),
  };
}

/** Athena's workgroup names (StartQueryExecution's documented pattern). */
const WORKGROUP = /^[a-zA-Z0-9._-]{1,128}$/;

/** A comma-separated list of `what`, each checked by `valid`. */
function listOption(option: string, text: string, valid: (v: string) => boolean, what: string): string[] {
  const items = text.split(',').map((s) => s.trim());
  for (const item of items) {
    if (!valid(item)) {
      throw new UsageError(
        `${option} takes ${what} separated by commas (got ${JSON.stringify(printable(item))})`,
      );
    }
  }
  return [...new Set(items)];
}

/**
 * The --athena options, checked: DB.TABLE two identifiers (letters, digits, underscores), the
 * workgroup a workgroup name, the output location an s3:// URL, the lists account ids and Regions.
 * Nothing here reaches the SQL but as a checked identifier or an execution parameter.
 */
function athenaOptions(
  v: {
    athena?: string;
    workgroup?: string;
    'output-location'?: string;
    'only-accounts'?: string;
    'only-regions'?: string;
  },
  paths: string[],
): Pick<Options, 'athena' | 'workgroup' | 'outputLocation' | 'onlyAccounts' | 'onlyRegions'> | undefined {
  if (v.athena === undefined) {
    for (const option of ['workgroup', 'output-location', 'only-accounts', 'only-regions'] as const) {
      if (v[option] !== undefined) throw new UsageError(`--${option} goes with --athena DB.TABLE`);
    }
    return undefined;
  }
  const table = parseTableName(v.athena);
  if (!table) {
    throw new UsageError(
      `--athena takes DATABASE.TABLE, each letters, digits and underscores only (got ${JSON.stringify(printable(v.athena))})`,
    );
  }
  if (paths.length) throw new UsageError('--athena reads the table: give no PATH with it');
  if (v.workgroup !== undefined && !WORKGROUP.test(v.workgroup)) {
    throw new UsageError(
      `--workgroup takes a workgroup name: letters, digits, '.', '_' and '-' (got ${JSON.stringify(printable(v.workgroup))})`,
    );
  }
  const location = v['output-location'];
  if (location !== undefined && !parseS3Url(location)) {
    throw new UsageError(
      `--output-location takes s3://BUCKET/PREFIX/ (got ${JSON.stringify(printable(location))})`,
    );
  }
  return {
    athena: table,
    ...(v.workgroup !== undefined ? { workgroup: v.workgroup } : {}),
    ...(location !== undefined ? { outputLocation: location } : {}),
    ...(v['only-accounts'] !== undefined
      ? {
          onlyAccounts: listOption(
            '--only-accounts',
            v['only-accounts'],
            isAccountId,
            '12-digit account ids',
          ),
        }
      : {}),
    ...(v['only-regions'] !== undefined
      ? { onlyRegions: listOption('--only-regions', v['only-regions'], isRegion, 'Regions') }
      : {}),
  };
}

/** One input to read: a local file, an S3 object, standard input, or the Event history. */
interface ScanUnit {
  name: string;
  /** Its size when known (a file, an object). */
  bytes: number | null;
  items(): AsyncIterable<ScanItem>;
}

/** How far the scan is, for the progress line. */
interface Tally {
  files: number;
  /** Files known so far (the total once listing is over). */
  listed: number;
  listing: boolean;
  bytes: number;
  bytesListed: number;
  history?: EventHistoryProgress;
  athena?: AthenaProgress;
}

/** A progress line on stderr, at most twice a second; rewritten in place on a terminal. */
function progressLine(io: CliIo, enabled: boolean, tty: boolean) {
  let last = 0;
  let shown = false;
  let lastText = '';
  return {
    update(t: Tally, done: ScanAggregator, current: readonly ScanAggregator[], force = false) {
      if (!enabled) return;
      const now = Date.now();
      if (!force && now - last < 500) return;
      last = now;
      const records = done.records + current.reduce((n, a) => n + a.records, 0);
      const denials = done.denials + current.reduce((n, a) => n + a.denials, 0);
      let where: string;
      if (t.athena) {
        const id = t.athena.queryExecutionId ? ` ${t.athena.queryExecutionId}` : '';
        where = `Athena query${id} ${t.athena.state}, ${formatBytes(t.athena.dataScannedBytes)} scanned, ${count(t.athena.rows)} rows`;
      } else if (t.history) {
        const back = t.history.reachedBack ? `, back to ${minute(t.history.reachedBack.toISOString())}` : '';
        where = `${count(t.history.pages)} pages, ${count(t.history.events)} KMS events${back}`;
      } else {
        const of = t.listing ? ` of ${count(t.listed)}+` : ` of ${count(t.listed)}`;
        where = `${count(t.files)}${of} files, ${formatBytes(t.bytes)} of ${formatBytes(t.bytesListed)}${t.listing ? '+' : ''}`;
      }
      const text = `scan: ${where}, ${count(records)} records, ${count(denials)} denials, ${count(done.problemCount)} problems`;
      if (text === lastText) return;
      lastText = text;
      io.stderr(tty ? `\r\x1b[K${text}` : `${text}\n`);
      shown = true;
    },
    done() {
      if (enabled && tty && shown) io.stderr('\r\x1b[K');
    },
  };
}

/**
 * Files read at once: while one file's records are scanned, others are read and inflated (gzip
 * runs on libuv's thread pool), so reading overlaps scanning. Each holds at most one record.
 */
const FILES_AT_ONCE = 4;

/** One input read to its end (its counts), or the problem that made it skipped. */
type FileOutcome =
  | { name: string; agg: ScanAggregator }
  | { name: string; problem: string }
  | { error: unknown };

/** The local files (and standard input) of `paths`, listed first so that progress has a total. */
async function localUnits(paths: string[], o: Options, io: CliIo, tally: Tally): Promise<ScanUnit[]> {
  const limits = limitsFor(o.maxBytes);
  const units: ScanUnit[] = [];
  for await (const file of logFilesUnder(paths.filter((p) => p !== '-' && !p.startsWith('s3://')))) {
    const bytes = await stat(file).then(
      (s) => (s.isFile() ? s.size : null),
      () => null,
    );
    units.push({
      name: file,
      bytes,
      items: async function* () {
        yield* scanInputItems(await openInput(file, io, limits), limits);
      },
    });
    tally.listed++;
    tally.bytesListed += bytes ?? 0;
  }
  if (paths.includes('-')) {
    units.push({
      name: 'standard input',
      bytes: null,
      items: async function* () {
        yield* scanInputItems(await openInput('-', io, limits), limits);
      },
    });
    tally.listed++;
  }
  return units;
}

/** The objects of one `s3://` path, as they are listed. */
async function* s3Units(url: string, o: Options, client: S3Client, tally: Tally): AsyncGenerator<ScanUnit> {
  const limits = limitsFor(o.maxBytes);
  const { bucket, prefix } = parseS3Url(url) as { bucket: string; prefix: string };
  for await (const object of trailObjects({
    client,
    bucket,
    prefix,
    ...(o.since ? { since: o.since } : {}),
    ...(o.until ? { until: o.until } : {}),
  })) {
    tally.listed++;
    tally.bytesListed += object.bytes;
    yield {
      name: `s3://${bucket}/${object.key}`,
      bytes: object.bytes,
      items: async function* () {
        if (object.bytes > limits.maxInputBytes) {
          throw new LogFileError(
            `s3://${bucket}/${object.key}`,
            `s3://${bucket}/${object.key} is ${formatBytes(object.bytes)}, over the ${formatBytes(limits.maxInputBytes)} limit for one input`,
          );
        }
        yield* scanInputItems(await openTrailObject(client, bucket, object), limits);
      },
    };
  }
}

/**
 * Reads `units` with at most `limit` at once, and settles their outcomes in the order the units came
 * (so the output does not depend on which read ended first).
 */
async function inOrder(
  units: AsyncIterable<ScanUnit> | Iterable<ScanUnit>,
  limit: number,
  read: (unit: ScanUnit) => Promise<FileOutcome>,
  settle: (outcome: FileOutcome) => void,
): Promise<void> {
  const reading: Promise<FileOutcome>[] = [];
  for await (const unit of units) {
    reading.push(read(unit));
    if (reading.length >= limit) settle(await (reading.shift() as Promise<FileOutcome>));
  }
  for (const outcome of reading) settle(await outcome);
}

interface ScanRead {
  agg: ScanAggregator;
  files: number;
  skipped: ScanSummary['skipped'];
  /** What the input was, for "holds no CloudTrail record" messages. */
  where: string;
  /** KMS events Event history returned (all of them, denials or not). */
  historyEvents?: number;
  /** The Athena query, once it ended. */
  athena?: AthenaSummary;
}

/** Reads every input, merging each file's counts only when the whole file was read. */
async function scanInputs(o: Options, io: CliIo, clients: Clients): Promise<ScanRead> {
  const tty = Boolean(process.stderr.isTTY);
  const progress = progressLine(io, o.progress ?? tty, tty);
  const total = new ScanAggregator();
  const current = new Set<ScanAggregator>();
  const skipped: ScanSummary['skipped'] = [];
  const tally: Tally = { files: 0, listed: 0, listing: true, bytes: 0, bytesListed: 0 };
  // Event history and Athena are asked for the range already; files are narrowed here, record by record.
  const inRange = (record: unknown) => {
    if (o.history || o.athena || (!o.since && !o.until)) return true;
    const time = Date.parse(String((record as { eventTime?: unknown } | null)?.eventTime));
    if (Number.isNaN(time)) return true;
    return !((o.since && time < o.since.getTime()) || (o.until && time > o.until.getTime()));
  };

  /** Never rejects (a rejection waiting behind another file's would be unhandled): errors are data. */
  const readUnit = async (unit: ScanUnit): Promise<FileOutcome> => {
    const agg = new ScanAggregator();
    current.add(agg);
    try {
      let nextProgress = 4096;
      for await (const item of unit.items()) {
        if (item.kind === 'skipped') agg.skip(item.count);
        else {
          const doc = item.kind === 'record' ? item.record : item.event;
          if (inRange(doc)) agg.add(doc);
        }
        if (agg.records >= nextProgress) {
          nextProgress = agg.records + 4096;
          progress.update(tally, total, [...current]);
        }
      }
      return { name: unit.name, agg };
    } catch (error) {
      if (!(error instanceof LogFileError)) return { error };
      return { name: unit.name, problem: oneLine(error) };
    } finally {
      current.delete(agg);
      tally.files++;
      tally.bytes += unit.bytes ?? 0;
    }
  };
  const settle = (outcome: FileOutcome) => {
    if ('error' in outcome) throw outcome.error;
    if ('agg' in outcome) total.merge(outcome.agg);
    else {
      skipped.push({ file: outcome.name, problem: outcome.problem });
      progress.done();
      io.stderr(`keymend scan: skipped ${printable(outcome.problem)}\n`);
    }
    progress.update(tally, total, [...current]);
  };

  let where: string;
  let historyEvents: number | undefined;
  let athena: AthenaSummary | undefined;
  if (o.athena) {
    const table = `${o.athena.database}.${o.athena.table}`;
    const since = o.since as Date;
    const until = o.until ?? new Date();
    where = `the Athena table ${table} from ${since.toISOString()} to ${until.toISOString()}`;
    const query = kmsDenialQuery(o.athena, {
      since,
      until,
      ...(o.onlyAccounts ? { accounts: o.onlyAccounts } : {}),
      ...(o.onlyRegions ? { regions: o.onlyRegions } : {}),
    });
    // Ctrl-C stops the query (it would go on scanning, and billing); tests stand in for it.
    const interrupt = new AbortController();
    const onSignal = () => interrupt.abort();
    if (!clients.interrupt) process.once('SIGINT', onSignal);
    tally.listing = false;
    tally.athena = { state: 'STARTING', dataScannedBytes: 0, rows: 0, pages: 0 };
    const records = kmsDenialsFromAthena({
      client: athenaClient(clients),
      query,
      database: o.athena.database,
      ...(o.workgroup !== undefined ? { workgroup: o.workgroup } : {}),
      ...(o.outputLocation !== undefined ? { outputLocation: o.outputLocation } : {}),
      onProgress: (p) => {
        tally.athena = p;
        progress.update(tally, total, [...current]);
      },
      signal: clients.interrupt ?? interrupt.signal,
      ...(clients.sleep ? { sleep: clients.sleep } : {}),
    });
    const unit: ScanUnit = {
      name: `Athena table ${table}`,
      bytes: null,
      items: async function* () {
        for await (const record of records) yield { kind: 'record', record };
      },
    };
    try {
      settle(await readUnit(unit));
    } finally {
      process.off('SIGINT', onSignal);
    }
    const p = tally.athena;
    athena = {
      table,
      queryExecutionId: p.queryExecutionId ?? '',
      dataScannedBytes: p.dataScannedBytes,
      rows: p.rows,
    };
  } else if (o.history) {
    const until = o.until ?? new Date();
    const since = o.since as Date;
    const region = await clients
      .cloudTrail()
      .config.region()
      .catch(() => o.region ?? 'the default Region');
    where = `the CloudTrail Event history of ${region} from ${since.toISOString()} to ${until.toISOString()}`;
    tally.history = { pages: 0, events: 0, denials: 0 };
    const records = kmsDenialsFromEventHistory({
      client: clients.cloudTrail(),
      start: since,
      end: until,
      onPage: (p) => {
        tally.history = p;
        historyEvents = p.events;
        progress.update(tally, total, [...current]);
      },
      ...(clients.sleep ? { sleep: clients.sleep } : {}),
    });
    historyEvents = 0;
    const history: ScanUnit = {
      name: 'Event history',
      bytes: null,
      items: async function* () {
        for await (const record of records) yield { kind: 'record', record };
      },
    };
    settle(await readUnit(history));
  } else {
    where = o.paths.map((p) => (p === '-' ? 'standard input' : p)).join(', ');
    const local = await localUnits(o.paths, o, io, tally);
    const s3Paths = o.paths.filter((p) => p.startsWith('s3://'));
    if (s3Paths.length === 0) tally.listing = false;
    await inOrder(local, FILES_AT_ONCE, readUnit, settle);
    for (const url of s3Paths)
      await inOrder(s3Units(url, o, clients.s3(), tally), S3_CONCURRENCY, readUnit, settle);
    tally.listing = false;
  }
  progress.update(tally, total, [], true);
  progress.done();
  return {
    agg: total,
    files: tally.files,
    skipped,
    where,
    ...(historyEvents !== undefined ? { historyEvents } : {}),
    ...(athena ? { athena } : {}),
  };
}

/**
 * @throws InputError when the input held no log file, or no CloudTrail record: a summary of nothing
 * would read as "no problem".
 */
function checkSomethingRead(read: ScanRead): void {
  const where = printable(read.where);
  if (read.athena) {
    // Zero rows from data read is the answer "no denial"; zero rows from nothing read is a table
    // whose LOCATION or projection points where no log file is.
    if (read.athena.rows === 0 && read.athena.dataScannedBytes === 0) {
      throw new InputError(
        `${where}: the query read no data, so the table holds no log file for that range (check its LOCATION, storage.location.template and projection ranges against docs/scan.md)`,
      );
    }
    return;
  }
  if (read.historyEvents !== undefined) {
    if (read.historyEvents === 0) throw new InputError(`${where} holds no KMS event`);
    return;
  }
  if (read.files === 0) {
    throw new InputError(`no log file in ${where} (a directory is searched for .json and .json.gz files)`);
  }
  if (read.skipped.length === read.files) return;
  const cloudTrail = read.agg.records - (read.agg.ignored.get('not-cloudtrail') ?? 0);
  if (read.agg.records === 0)
    throw new InputError(
      `${where} holds no CloudTrail record (${count(read.files)} ${read.files === 1 ? 'file' : 'files'}, no records)`,
    );
  if (cloudTrail === 0) {
    throw new InputError(
      `${where} holds no CloudTrail record: ${count(read.agg.records)} JSON ${read.agg.records === 1 ? 'document' : 'documents'} read, none a CloudTrail API-call record`,
    );
  }
}

async function diagnoseProblem(
  request: KinesisKmsRequest,
  readerFor: ReaderFor,
  prefer: Mechanism,
): Promise<ProblemDiagnosis> {
  try {
    const state = await gatherState(await readerFor(request), request);
    const result = diagnose(request, state, { prefer });
    return {
      verdict: result.verdict,
      code: result.code,
      reason: result.reason,
      plan: result.plan,
      ...(result.verdict === 'refuse' ? { nextSteps: result.nextSteps } : {}),
      ...(result.diagnosis?.notes?.length ? { notes: result.diagnosis.notes.map((n) => n.message) } : {}),
      ...(result.verdict === 'propose' ? { denial: request } : {}),
    };
  } catch (error) {
    if (!(error instanceof KeymendError)) throw error;
    return { verdict: 'error', code: error.name, reason: oneLine(error), plan: null };
  }
}

function athenaClient(clients: Clients): AthenaClient {
  if (!clients.athena) throw new Error('scan --athena was given no Athena client');
  return clients.athena();
}

/** The AWS clients scan may need, built when first needed (tests pass their own). */
export interface Clients {
  cloudTrail(): CloudTrailClient;
  s3(): S3Client;
  /** Optional so that callers that never scan Athena need not build one. */
  athena?(): AthenaClient;
  sleep?(ms: number): Promise<void>;
  /** Stands in for Ctrl-C (tests): when given, SIGINT is not listened to. */
  interrupt?: AbortSignal;
}

function awsClients(region: string | undefined): Clients {
  let cloudTrail: CloudTrailClient | undefined;
  let s3: S3Client | undefined;
  let athena: AthenaClient | undefined;
  return {
    athena: () => {
      athena ??= new AthenaClient(clientConfig(region ? { region } : {}));
      return athena;
    },
    cloudTrail: () => {
      cloudTrail ??= new CloudTrailClient(clientConfig(region ? { region } : {}));
      return cloudTrail;
    },
    // A bucket may be in any Region: S3 follows its redirect when the client's Region differs.
    s3: () => {
      s3 ??= new S3Client({ ...clientConfig(region ? { region } : {}), followRegionRedirects: true });
      return s3;
    },
  };
}

async function run(o: Options, io: CliIo, clients: Clients): Promise<number> {
  const readerFor = o.diagnose ? await accountReaders(o.awsAccount ? undefined : o.account, io) : null;
  const read = await scanInputs(o, io, clients);
  checkSomethingRead(read);
  const { agg, files, skipped } = read;
  const problems: ProblemSummary[] = [];
  let unreadable = false;
  let refused = false;
  for (const { summary, latest } of agg.list()) {
    if (readerFor) {
      summary.diagnosis = await diagnoseProblem(latest, readerFor, o.prefer);
      if (summary.diagnosis.verdict === 'error') unreadable = true;
      if (summary.diagnosis.verdict === 'refuse') refused = true;
    }
    problems.push(summary);
  }
  const summary: ScanSummary = {
    // Athena read the log files, not keymend: what it read is in `athena`.
    files: read.athena ? 0 : files,
    skipped,
    records: agg.records,
    denials: agg.denials,
    ignored: Object.fromEntries([...agg.ignored].sort((a, b) => b[1] - a[1])),
    problems,
    ...(read.athena ? { athena: read.athena } : {}),
  };
  if (o.format === 'text') io.stdout(renderText(summary));
  else io.stdout(`${JSON.stringify(summary, null, o.format === 'json' ? 2 : undefined)}\n`);
  return skipped.length || unreadable || refused ? EXIT.failed : EXIT.ok;
}

/** What AWS's messages blamed: the reasons, most frequent first, with counts when they differ. */
function awsSays(p: ProblemSummary): string {
  if (p.deniedBy.length === 1) return deniedByText(p.deniedBy[0] as ProblemSummary['deniedBy'][number]);
  const shown = p.deniedBy.slice(0, 3).map((d) => `${deniedByText(d)} (${count(d.count)})`);
  const more = p.deniedBy.length - shown.length;
  return `${shown.join('; ')}${more > 0 ? `; ${more} other ${more === 1 ? 'reason' : 'reasons'}` : ''}`;
}

/** The summary as text for an 80-column terminal; event-derived text made printable. */
export function renderText(s: ScanSummary): string {
  // Commands are kept whole (they must stay runnable when copied); every other line is cut to WIDTH.
  const lines: Array<string | { command: string }> = [];
  const skipped = s.skipped.length ? ` (${count(s.skipped.length)} skipped)` : '';
  const found = `${count(s.denials)} denied KMS calls made through Kinesis, in ${count(s.problems.length)} ${s.problems.length === 1 ? 'problem' : 'problems'}.`;
  if (s.athena) {
    const a = s.athena;
    lines.push(
      ...wrap(
        `Athena query ${printable(a.queryExecutionId)} read ${formatBytes(a.dataScannedBytes)} of ${a.table} (the data it bills) and returned ${count(a.rows)} ${a.rows === 1 ? 'row' : 'rows'}: ${found}`,
        0,
      ),
    );
  } else {
    lines.push(
      ...wrap(
        `Scanned ${count(s.files)} ${s.files === 1 ? 'file' : 'files'}${skipped}, ${count(s.records)} records: ${found}`,
        0,
      ),
    );
  }
  const ignored = Object.entries(s.ignored);
  if (ignored.length) {
    lines.push(
      ...wrap(`Not denials through Kinesis: ${ignored.map(([r, n]) => `${count(n)} ${r}`).join(', ')}.`, 0),
    );
  }
  for (const skip of s.skipped) lines.push(...wrap(`Skipped: ${printable(skip.problem)}`, 0));
  if (s.problems.length) {
    lines.push('');
    lines.push('  #      DENIALS  SESSIONS  FIRST SEEN (UTC)  LAST SEEN (UTC)');
  }
  s.problems.forEach((p, i) => {
    const sessions = p.sessionsCapped ? `${p.sessions}+` : String(p.sessions);
    lines.push(
      `${String(i + 1).padStart(3)}  ${count(p.count).padStart(11)}  ${sessions.padStart(8)}  ${minute(p.firstSeen).padEnd(16)}  ${minute(p.lastSeen)}`,
    );
    const scope = (arn: string) => shortArn(arn || null, p.accountId, p.region);
    lines.push(
      ...wrap(`${printable(p.operation)} by ${scope(p.principalArn)} on ${scope(p.streamArn)}`, 5),
      ...wrap(`${scope(p.keyArn)} in ${printable(p.accountId)} ${printable(p.region)}`, 5),
      ...wrap(`AWS: ${awsSays(p)}`, 5),
    );
    if (p.diagnosis) {
      const d = p.diagnosis;
      const mechanism = d.plan ? ` ${d.plan.mechanism}` : '';
      lines.push(
        ...wrap(
          `keymend: ${d.verdict}${d.code === d.verdict ? '' : ` (${d.code})`}${mechanism}. ${printable(d.reason)}`,
          5,
        ),
      );
      for (const note of d.notes ?? []) lines.push(...wrap(`check first: ${printable(note)}`, 5));
    }
    for (const step of p.diagnosis?.nextSteps ?? []) lines.push(...nextStepText(step, 5));
    if (p.diagnosis?.plan) {
      lines.push(...manualText(p.diagnosis.plan, false).map((line) => ({ command: `   ${line}` })));
    }
    lines.push(...wrap(`fingerprint ${p.fingerprint}`, 5));
  });
  return `${lines.map((l) => (typeof l === 'string' ? l.slice(0, WIDTH) : l.command)).join('\n')}\n`;
}

/** The scan command over `clients` (the AWS SDK's, unless a test passes its own). */
export function makeScanCommand(clientsFor: (region: string | undefined) => Clients = awsClients): Command {
  return {
    name: 'scan',
    summary:
      'summarise the denied Kinesis KMS calls in CloudTrail logs, S3, Event history or Athena, by problem',
    help: helpText(HELP),
    run: (argv, io) =>
      runCommand('scan', io, async () => {
        const o = options(argv);
        return (await run(o, io, clientsFor(o.region))) as 0 | 1;
      }),
  };
}

export const scanCommand: Command = makeScanCommand();
