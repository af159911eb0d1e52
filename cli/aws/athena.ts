/**
 * `keymend scan --athena DB.TABLE`: the query of athena-query.ts run in Athena (StartQueryExecution
 * with its execution parameters), its state polled with backoff until it ends, its results read page
 * by page (GetQueryResults, 1,000 rows a page) and each row turned back into a CloudTrail record.
 * A query that fails or is cancelled is an error carrying Athena's reason; Ctrl-C stops the query
 * (StopQueryExecution) so that it does not go on scanning, and billing, after keymend has gone.
 */
import {
  type AthenaClient,
  type Datum,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type QueryExecution,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { AwsReadError, awsReadRequired } from '../../functions/adapters/aws-read';
import { KeymendError } from '../../functions/commons/errors';
import { printableLine } from '../../functions/commons/text';
import { type AthenaQuery, RECORD_FIELDS, rowToRecord } from './athena-query';

/** An Athena query that ended FAILED or CANCELLED, or was stopped by Ctrl-C. */
export class AthenaQueryError extends KeymendError {
  override readonly name: string = 'AthenaQueryError';
}

/** GetQueryResults' largest page. */
export const RESULTS_PAGE = 1000;
/** The first wait between two GetQueryExecution calls, doubled up to POLL_MAX_MS. */
export const POLL_FIRST_MS = 250;
export const POLL_MAX_MS = 5000;

export interface AthenaProgress {
  queryExecutionId?: string;
  state: string;
  /** What Athena has read so far (what the query is billed on). */
  dataScannedBytes: number;
  /** Result rows read (the header row not counted). */
  rows: number;
  pages: number;
}

export interface AthenaRunOptions {
  client: Pick<AthenaClient, 'send'>;
  query: AthenaQuery;
  database: string;
  workgroup?: string;
  /** `s3://...` where Athena writes the results (else the workgroup's). */
  outputLocation?: string;
  /** Called when the state, the bytes scanned or the rows read change. */
  onProgress?(progress: AthenaProgress): void;
  /** Waits `ms` (tests pass one that records and returns at once). */
  sleep?(ms: number): Promise<void>;
  /** Aborted on Ctrl-C: the query is stopped and the run ends with an error. */
  signal?: AbortSignal;
}

/** What Athena's reason says, and what to do about it when keymend can tell. */
function failureHint(reason: string): string {
  if (/CONSTRAINT_VIOLATION.*injected/i.test(reason)) {
    return ' (the table projects a partition as "injected": name its values with --only-accounts or --only-regions)';
  }
  if (/output location|OutputLocation/i.test(reason)) {
    return ' (give --output-location s3://BUCKET/PREFIX/, or a --workgroup that has a query result location)';
  }
  if (/WorkGroup/i.test(reason)) {
    return ' (check --workgroup and --region: the workgroup must exist in the Region Athena is called in)';
  }
  if (/COLUMN_NOT_FOUND|TABLE_NOT_FOUND|SCHEMA_NOT_FOUND|EntityNotFound/i.test(reason)) {
    return ' (keymend reads a table partitioned by account, region and timestamp: see docs/scan.md for its DDL)';
  }
  return '';
}

function send<T>(what: string, call: () => Promise<T>): Promise<T> {
  return awsReadRequired(what, call).catch((error: unknown) => {
    if (error instanceof AwsReadError) {
      throw new AwsReadError(`${error.message}${failureHint(error.message)}`, { cause: error.cause });
    }
    throw error;
  });
}

/** Starts the query; its id. */
async function start(o: AthenaRunOptions): Promise<string> {
  const answer = await send('athena:StartQueryExecution', () =>
    o.client.send(
      new StartQueryExecutionCommand({
        QueryString: o.query.sql,
        QueryExecutionContext: { Database: o.database },
        ...(o.query.parameters.length ? { ExecutionParameters: o.query.parameters } : {}),
        ...(o.workgroup !== undefined ? { WorkGroup: o.workgroup } : {}),
        ...(o.outputLocation !== undefined
          ? { ResultConfiguration: { OutputLocation: o.outputLocation } }
          : {}),
      }),
    ),
  );
  const id = answer.QueryExecutionId;
  if (!id) throw new AwsReadError('athena:StartQueryExecution answered no QueryExecutionId');
  return id;
}

/** Stops the query, best effort (it may have ended meanwhile). */
async function stop(o: AthenaRunOptions, id: string): Promise<void> {
  await o.client.send(new StopQueryExecutionCommand({ QueryExecutionId: id })).catch(() => undefined);
}

/** Waits `ms`, or less when `signal` aborts (Ctrl-C is answered at once, not after the next poll). */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Waits for the query to end, with backoff; the execution once SUCCEEDED. */
async function waitFor(o: AthenaRunOptions, id: string, progress: AthenaProgress): Promise<QueryExecution> {
  const sleep = o.sleep ?? ((ms: number) => pause(ms, o.signal));
  let wait = POLL_FIRST_MS;
  for (;;) {
    if (o.signal?.aborted) {
      await stop(o, id);
      throw new AthenaQueryError(`interrupted: the Athena query ${id} was stopped`);
    }
    const answer = await send(`athena:GetQueryExecution ${id}`, () =>
      o.client.send(new GetQueryExecutionCommand({ QueryExecutionId: id })),
    );
    const execution = answer.QueryExecution ?? {};
    const state = execution.Status?.State ?? 'UNKNOWN';
    const scanned = execution.Statistics?.DataScannedInBytes ?? progress.dataScannedBytes;
    if (state !== progress.state || scanned !== progress.dataScannedBytes) {
      progress.state = state;
      progress.dataScannedBytes = scanned;
      o.onProgress?.({ ...progress });
    }
    if (state === 'SUCCEEDED') return execution;
    if (state === 'FAILED' || state === 'CANCELLED') {
      const error = execution.Status?.AthenaError;
      const reason = execution.Status?.StateChangeReason ?? error?.ErrorMessage ?? 'Athena gave no reason';
      const type = error?.ErrorType !== undefined ? ` (error type ${error.ErrorType})` : '';
      throw new AthenaQueryError(
        `the Athena query ${id} ${state === 'FAILED' ? 'failed' : 'was cancelled'}: ${printableLine(reason, 600)}${type}${failureHint(reason)}`,
      );
    }
    if (state !== 'QUEUED' && state !== 'RUNNING') {
      throw new AwsReadError(`athena:GetQueryExecution ${id} answered the state ${printableLine(state, 40)}`);
    }
    await sleep(wait);
    wait = Math.min(wait * 2, POLL_MAX_MS);
  }
}

const datumText = (datum: Datum | undefined): string | null => datum?.VarCharValue ?? null;

/**
 * The records of the query's results, page by page (memory holds one page). Athena puts the column
 * names in the first row of the first page: it is recognised against the column metadata and left out.
 * @throws AthenaQueryError when the query fails or is cancelled (with Athena's reason), or on Ctrl-C;
 *   AwsReadError when Athena cannot be called or its results lack a column the query selects.
 */
export async function* kmsDenialsFromAthena(o: AthenaRunOptions): AsyncGenerator<unknown> {
  const progress: AthenaProgress = { state: 'STARTING', dataScannedBytes: 0, rows: 0, pages: 0 };
  const id = await start(o);
  progress.queryExecutionId = id;
  o.onProgress?.({ ...progress });
  await waitFor(o, id, progress);
  let token: string | undefined;
  let columns: string[] | undefined;
  const seen = new Set<string>();
  do {
    if (o.signal?.aborted) throw new AthenaQueryError(`interrupted while reading the results of ${id}`);
    const page = await send(`athena:GetQueryResults ${id}`, () =>
      o.client.send(
        new GetQueryResultsCommand({
          QueryExecutionId: id,
          MaxResults: RESULTS_PAGE,
          ...(token !== undefined ? { NextToken: token } : {}),
        }),
      ),
    );
    let rows = page.ResultSet?.Rows ?? [];
    if (columns === undefined) {
      columns = (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) =>
        (c.Name ?? '').toLowerCase(),
      );
      const first = rows[0]?.Data ?? [];
      if (
        first.length === columns.length &&
        first.every((d, i) => datumText(d)?.toLowerCase() === columns?.[i])
      ) {
        rows = rows.slice(1);
      }
    }
    // Checked on rows only: an empty result may come without column metadata.
    const missing = RECORD_FIELDS.map((f) => f.column).filter((c) => !columns?.includes(c));
    if (rows.length && missing.length) {
      throw new AwsReadError(
        `the results of the Athena query ${id} lack the column${missing.length === 1 ? '' : 's'} ${missing.join(', ')}`,
      );
    }
    progress.pages++;
    for (const row of rows) {
      const data = row.Data ?? [];
      const values = new Map<string, string | null>();
      (columns as string[]).forEach((name, i) => {
        values.set(name, datumText(data[i]));
      });
      progress.rows++;
      yield rowToRecord(values);
    }
    o.onProgress?.({ ...progress });
    token = page.NextToken;
    if (token !== undefined) {
      if (seen.has(token)) throw new AwsReadError('athena:GetQueryResults returned the same NextToken twice');
      seen.add(token);
    }
  } while (token !== undefined);
}
