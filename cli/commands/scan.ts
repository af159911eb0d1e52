/**
 * `keymend scan PATH...`: CloudTrail log files as delivered to S3, streamed, summarised by problem
 * (fingerprint): how many denials, when, how many sessions, what AWS blamed; with `--diagnose`, what
 * keymend would do about each. Memory does not grow with the input (see cli/scan-summary.ts).
 */
import { LogFileError, logFilesUnder, scanCloudTrailLog } from '../../functions/adapters/cloudtrail-log';
import { KeymendError, UsageError } from '../../functions/commons/errors';
import { diagnose } from '../../functions/core/diagnose';
import { gatherState } from '../../functions/core/gather';
import { MECHANISMS, type Mechanism } from '../../functions/core/plan';
import type { KinesisKmsRequest } from '../../functions/core/request';
import { maxBytesOption, parseCommandLine } from '../args';
import { oneLine } from '../input';
import type { CliIo, Command } from '../io';
import { LIMITS_HELP, limitsFor, openInput } from '../log-input';
import { accountReaders, type ReaderFor } from '../readers';
import {
  PREFILTERED,
  type ProblemDiagnosis,
  type ProblemSummary,
  ScanAggregator,
  type ScanSummary,
  SESSION_CAP,
} from '../scan-summary';
import { count, deniedByText, minute, printable, shortArn, WIDTH, wrap } from '../text';

const HELP = `Usage: keymend scan PATH... [--format text|json] [--json]
         [--diagnose (--account SNAPSHOT.json | --aws) [--prefer MECHANISM]]
         [--progress] [--max-bytes SIZE]

Reads CloudTrail log files as CloudTrail delivers them to S3
({"Records": [...]}, .json or .json.gz; a directory is walked recursively for
those) and summarises the denied KMS calls that Kinesis made for a principal,
by problem: the same principal, operation, key, stream, account and Region (the
fingerprint; never the session, which every AssumeRole renews). For each: how
many denials, first and last seen, how many distinct sessions (exact up to
${SESSION_CAP}, then "${SESSION_CAP}+"), and what AWS's error message blamed.
Files are read one record at a time, several files at once: memory stays flat
however large the input. Only records whose bytes can be a denied KMS call
(they hold kms.amazonaws.com and AccessDenied, or a \\u escape) are parsed; the
others are counted as ignored, ${PREFILTERED}, unparsed. A file that is
corrupt, truncated or over a limit is reported on stderr (one line naming it)
and skipped whole; the others are still summarised. (Corrupt JSON inside a
record skipped unparsed is not noticed; a broken file structure is.)

Options:
  PATH                a log file, a directory, or '-' for standard input.
  --format text|json  text (the default): a table for an 80-column terminal.
                      json: {"files", "skipped": [{"file", "problem"}],
                      "records", "denials", "ignored": {REASON: COUNT},
                      "problems": [{"fingerprint", "accountId", "region",
                      "principalArn", "operation", "keyArn", "streamArn",
                      "count", "firstSeen", "lastSeen", "sessions",
                      "sessionsCapped"?, "deniedBy": [...], "diagnosis"?}]}
  --json              the same as --format json.
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
  --progress          a progress line on stderr (the default when stderr is a
                      terminal).
  --max-bytes SIZE    the limit for one input and for what a gzip expands to,
                      e.g. 2GiB (default 1GiB).
  -h, --help          show this help.

${LIMITS_HELP}

Exit status:
  0  every input was read and summarised;
  1  some input was skipped, or an account could not be read for --diagnose
     (the summary of the rest is still printed);
  2  the options are wrong, or the snapshot cannot be read or is invalid.

Examples:
  npm run --silent keymend -- scan logs/AWSLogs/111122223333/CloudTrail/
  npm run --silent keymend -- scan events/ --json
  npm run --silent keymend -- scan logs/ --diagnose \\
    --account events/accounts/demo.json
`;

interface Options {
  paths: string[];
  format: 'text' | 'json';
  diagnose: boolean;
  account?: string;
  aws: boolean;
  prefer: Mechanism;
  progress: boolean | undefined;
  maxBytes?: number;
}

function options(argv: string[]): Options {
  const parsed = parse(argv);
  const v = parsed.values;
  if (parsed.positionals.length === 0)
    throw new UsageError('give at least one PATH (a file, a directory or -)');
  if (parsed.positionals.filter((p) => p === '-').length > 1) throw new UsageError('- may be given once');
  const format = v.json ? 'json' : (v.format ?? 'text');
  if (format !== 'text' && format !== 'json') {
    throw new UsageError(`--format must be text or json (got ${JSON.stringify(format)})`);
  }
  if (v.json && v.format === 'text') throw new UsageError('--json and --format text contradict each other');
  const diagnoseWanted = v.diagnose ?? false;
  if (diagnoseWanted) {
    if (v.account === undefined && !v.aws)
      throw new UsageError('--diagnose needs --account SNAPSHOT.json or --aws');
    if (v.account !== undefined && v.aws) throw new UsageError('give --account or --aws, not both');
    if (v.account === '') throw new UsageError('--account needs a FILE');
    if (v.account === '-' && parsed.positionals.includes('-')) {
      throw new UsageError('a PATH and --account cannot both read standard input');
    }
  } else if (v.account !== undefined || v.aws || v.prefer !== undefined) {
    throw new UsageError('--account, --aws and --prefer go with --diagnose');
  }
  const prefer = v.prefer ?? 'kms-grant';
  if (!(MECHANISMS as readonly string[]).includes(prefer)) {
    throw new UsageError(`--prefer must be one of ${MECHANISMS.join(', ')} (got ${JSON.stringify(prefer)})`);
  }
  const maxBytes = maxBytesOption(v);
  return {
    paths: parsed.positionals,
    format,
    diagnose: diagnoseWanted,
    ...(v.account !== undefined ? { account: v.account } : {}),
    aws: v.aws ?? false,
    prefer: prefer as Mechanism,
    progress: v.progress,
    ...maxBytes,
  };
}

function parse(argv: string[]) {
  return parseCommandLine(
    argv,
    {
      format: { type: 'string' },
      json: { type: 'boolean' },
      diagnose: { type: 'boolean' },
      account: { type: 'string' },
      aws: { type: 'boolean' },
      prefer: { type: 'string' },
      progress: { type: 'boolean' },
      'max-bytes': { type: 'string' },
    },
    { positionals: true },
  );
}

/** A progress line on stderr, at most twice a second; rewritten in place on a terminal. */
function progressLine(io: CliIo, enabled: boolean, tty: boolean) {
  let last = 0;
  let shown = false;
  return {
    update(files: number, done: ScanAggregator, current: ScanAggregator | null, force = false) {
      if (!enabled) return;
      const now = Date.now();
      if (!force && now - last < 500) return;
      last = now;
      const records = done.records + (current?.records ?? 0);
      const denials = done.denials + (current?.denials ?? 0);
      const text = `scan: ${count(files)} files, ${count(records)} records, ${count(denials)} denials, ${count(done.problemCount)} problems`;
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

/**
 * Reads every input, FILES_AT_ONCE at a time, merging each file's counts only when the whole file
 * was read, in the order the files were named (so the output does not depend on which read ended
 * first).
 */
async function scanInputs(
  o: Options,
  io: CliIo,
): Promise<{ agg: ScanAggregator; files: number; skipped: ScanSummary['skipped'] }> {
  const limits = limitsFor(o.maxBytes);
  const tty = Boolean(process.stderr.isTTY);
  const progress = progressLine(io, o.progress ?? tty, tty);
  const total = new ScanAggregator();
  const skipped: ScanSummary['skipped'] = [];
  const reading: Promise<FileOutcome>[] = [];
  let files = 0;
  for await (const file of logFilesUnder(o.paths.filter((p) => p !== '-'))) {
    files++;
    reading.push(scanOne(file));
    if (reading.length >= FILES_AT_ONCE) settle(await (reading.shift() as Promise<FileOutcome>));
  }
  if (o.paths.includes('-')) {
    files++;
    reading.push(scanOne('-'));
  }
  for (const outcome of reading) settle(await outcome);
  progress.update(files, total, null, true);
  progress.done();
  return { agg: total, files, skipped };

  function settle(outcome: FileOutcome): void {
    if ('error' in outcome) throw outcome.error;
    if ('agg' in outcome) {
      total.merge(outcome.agg);
      return;
    }
    skipped.push({ file: outcome.name, problem: outcome.problem });
    progress.done();
    io.stderr(`keymend scan: skipped ${printable(outcome.problem)}\n`);
  }

  /** Never rejects (a rejection waiting behind another file's would be unhandled): errors are data. */
  async function scanOne(file: string): Promise<FileOutcome> {
    const name = file === '-' ? 'standard input' : file;
    const agg = new ScanAggregator();
    try {
      const input = await openInput(file, io, limits);
      let nextProgress = 4096;
      for await (const item of scanCloudTrailLog(input, limits)) {
        if (item.kind === 'skipped') agg.skip(item.count);
        else agg.add(item.kind === 'record' ? item.record : item.event);
        if (agg.records >= nextProgress) {
          nextProgress = agg.records + 4096;
          progress.update(files, total, agg);
        }
      }
      return { name, agg };
    } catch (error) {
      if (!(error instanceof LogFileError)) return { error };
      return { name, problem: oneLine(error) };
    }
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
      ...(result.diagnosis?.notes?.length ? { notes: result.diagnosis.notes.map((n) => n.message) } : {}),
    };
  } catch (error) {
    if (!(error instanceof KeymendError)) throw error;
    return { verdict: 'error', code: error.name, reason: oneLine(error), plan: null };
  }
}

async function run(o: Options, io: CliIo): Promise<number> {
  const readerFor = o.diagnose ? await accountReaders(o.account, io) : null;
  const { agg, files, skipped } = await scanInputs(o, io);
  const problems: ProblemSummary[] = [];
  let unreadable = false;
  for (const { summary, latest } of agg.list()) {
    if (readerFor) {
      summary.diagnosis = await diagnoseProblem(latest, readerFor, o.prefer);
      if (summary.diagnosis.verdict === 'error') unreadable = true;
    }
    problems.push(summary);
  }
  const summary: ScanSummary = {
    files,
    skipped,
    records: agg.records,
    denials: agg.denials,
    ignored: Object.fromEntries([...agg.ignored].sort((a, b) => b[1] - a[1])),
    problems,
  };
  io.stdout(o.format === 'json' ? `${JSON.stringify(summary, null, 2)}\n` : renderText(summary));
  return skipped.length || unreadable ? 1 : 0;
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
  const lines: string[] = [];
  const skipped = s.skipped.length ? ` (${count(s.skipped.length)} skipped)` : '';
  lines.push(
    ...wrap(
      `Scanned ${count(s.files)} ${s.files === 1 ? 'file' : 'files'}${skipped}, ${count(s.records)} records: ${count(s.denials)} denied KMS calls made through Kinesis, in ${count(s.problems.length)} ${s.problems.length === 1 ? 'problem' : 'problems'}.`,
      0,
    ),
  );
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
    lines.push(...wrap(`fingerprint ${p.fingerprint}`, 5));
  });
  return `${lines.map((l) => l.slice(0, WIDTH)).join('\n')}\n`;
}

export const scanCommand: Command = {
  name: 'scan',
  summary: 'Summarise the denied Kinesis KMS calls in CloudTrail log files, by problem',
  help: HELP,
  async run(argv, io) {
    try {
      return await run(options(argv), io);
    } catch (error) {
      if (error instanceof UsageError) {
        io.stderr(`keymend scan: ${oneLine(error)}. See 'keymend scan --help'.\n`);
        return 2;
      }
      if (error instanceof KeymendError) {
        io.stderr(`keymend scan: ${oneLine(error)}\n`);
        return error.name === 'InputError' || error.name === 'SnapshotError' ? 2 : 1;
      }
      throw error;
    }
  },
};
