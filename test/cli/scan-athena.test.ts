/**
 * `keymend scan --athena DB.TABLE --since`: the CloudTrail table in Athena, with the SDK mocked at
 * the client: the query started with its execution parameters, workgroup and result location, its
 * state polled with backoff, its results paged (the header row left out), each row diagnosed as
 * `scan` diagnoses a log file's records; a failed, a cancelled and an interrupted query; bad arguments.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  type GetQueryExecutionCommandOutput,
  GetQueryResultsCommand,
  type QueryExecutionState,
  type Row,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { recordMaker, writeLogFile } from '../../bench/fixtures/cloudtrail-logs';
import { POLL_FIRST_MS, POLL_MAX_MS, RESULTS_PAGE } from '../../cli/aws/athena';
import { kmsDenialQuery } from '../../cli/aws/athena-query';
import { makeScanCommand } from '../../cli/commands/scan';
import type { ScanSummary } from '../../cli/scan-summary';
import { athenaColumnInfo, athenaHeaderRow, athenaRow } from '../helpers/athena';
import { EVENTS_DIR } from '../helpers/events';
import { captureIo } from '../helpers/io';

const ID = '4f2e8a10-2c1b-4d7e-9a3b-5c6d7e8f9a0b';
const DEMO = path.join(EVENTS_DIR, 'accounts', 'demo.json');
const ACCOUNT = '111122223333';
const CONSUMER = `arn:aws:iam::${ACCOUNT}:role/service-role/orders-consumer`;
const PRODUCER = `arn:aws:iam::${ACCOUNT}:role/orders-producer`;

const consumer = recordMaker('consumer-decrypt-denied-no-invokedby.record.json');
const producer = recordMaker('producer-generatedatakey-denied.record.json');
const at = (minutes: number) => new Date(Date.parse('2026-11-30T00:00:00Z') + minutes * 60_000);

/** 1,200 consumer denials over 12 sessions and 300 producer denials: two pages of results and more. */
const RECORDS: string[] = [
  ...Array.from({ length: 1200 }, (_, n) => consumer({ n, session: `s${n % 12}`, time: at(n % 600) })),
  ...Array.from({ length: 300 }, (_, n) =>
    producer({ n: 5000 + n, session: `p${n % 3}`, time: at(700 + n) }),
  ),
];
const ROWS: Row[] = RECORDS.map((text) => athenaRow(JSON.parse(text)));

const athena = mockClient(AthenaClient);
afterAll(() => athena.restore());
beforeEach(() => athena.reset());

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'keymend-scan-athena-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const execution = (
  State: QueryExecutionState,
  extra: Partial<NonNullable<GetQueryExecutionCommandOutput['QueryExecution']>> = {},
  scanned = 0,
) => ({
  QueryExecution: {
    QueryExecutionId: ID,
    Status: { State, ...(extra.Status ?? {}) },
    Statistics: { DataScannedInBytes: scanned },
  },
});

/** Athena's pages: the header row first on the first page, RESULTS_PAGE rows a page. */
function pages(rows: Row[]) {
  const all = [athenaHeaderRow, ...rows];
  const out = [];
  for (let i = 0; i < all.length || i === 0; i += RESULTS_PAGE) {
    out.push({
      ResultSet: {
        Rows: all.slice(i, i + RESULTS_PAGE),
        ResultSetMetadata: { ColumnInfo: athenaColumnInfo },
      },
      ...(i + RESULTS_PAGE < all.length ? { NextToken: `token-${i + RESULTS_PAGE}` } : {}),
    });
  }
  return out;
}

function succeedWith(rows: Row[], scanned = 3_500_000_000) {
  athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: ID });
  athena
    .on(GetQueryExecutionCommand)
    .resolvesOnce(execution('QUEUED'))
    .resolvesOnce(execution('RUNNING', {}, 1_000_000_000))
    .resolvesOnce(execution('RUNNING', {}, 2_000_000_000))
    .resolves(execution('SUCCEEDED', {}, scanned));
  const answers = pages(rows);
  athena.on(GetQueryResultsCommand).callsFake((input: { NextToken?: string }) => {
    const index = input.NextToken === undefined ? 0 : Number(input.NextToken.slice(6)) / RESULTS_PAGE;
    return answers[index];
  });
}

async function scan(argv: string[], interrupt?: AbortSignal) {
  const sleeps: number[] = [];
  const command = makeScanCommand(() => ({
    cloudTrail: () => new CloudTrailClient({ region: 'us-east-1' }),
    s3: () => new S3Client({ region: 'us-east-1' }),
    athena: () => new AthenaClient({ region: 'us-east-1' }),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    interrupt: interrupt ?? new AbortController().signal,
  }));
  const io = captureIo();
  const code = await command.run(argv, io);
  return { code, out: io.out(), err: io.err(), sleeps };
}

const SINCE = '2026-11-01T00:00Z';
const UNTIL = '2026-12-01T00:00Z';

describe('keymend scan --athena', () => {
  it('runs the query with its parameters, polls with backoff, pages the results and summarises as scan does', async () => {
    succeedWith(ROWS);
    const { code, out, sleeps } = await scan([
      '--athena',
      'Security.CloudTrail_Org',
      '--since',
      SINCE,
      '--until',
      UNTIL,
      '--workgroup',
      'keymend',
      '--output-location',
      's3://query-results-111122223333/keymend/',
      '--output',
      'json',
    ]);
    expect(code).toBe(0);

    const [start] = athena.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input);
    const expected = kmsDenialQuery(
      { database: 'security', table: 'cloudtrail_org' },
      { since: new Date('2026-11-01T00:00:00Z'), until: new Date('2026-12-01T00:00:00Z') },
    );
    expect(start).toEqual({
      QueryString: expected.sql,
      ExecutionParameters: [
        "'2026/11/01'",
        "'2026/12/01'",
        "'2026-11-01T00:00:00Z'",
        "'2026-12-01T00:00:00Z'",
      ],
      QueryExecutionContext: { Database: 'security' },
      WorkGroup: 'keymend',
      ResultConfiguration: { OutputLocation: 's3://query-results-111122223333/keymend/' },
    });
    // Polled until SUCCEEDED: four GetQueryExecution calls, three waits, each twice the last.
    expect(athena.commandCalls(GetQueryExecutionCommand)).toHaveLength(4);
    expect(sleeps).toEqual([POLL_FIRST_MS, POLL_FIRST_MS * 2, POLL_FIRST_MS * 4]);
    expect(athena.commandCalls(GetQueryResultsCommand).map((c) => c.args[0].input)).toEqual([
      { QueryExecutionId: ID, MaxResults: 1000 },
      { QueryExecutionId: ID, MaxResults: 1000, NextToken: 'token-1000' },
    ]);

    const summary = JSON.parse(out) as ScanSummary;
    expect(summary.athena).toEqual({
      table: 'security.cloudtrail_org',
      queryExecutionId: ID,
      dataScannedBytes: 3_500_000_000,
      rows: 1500,
    });
    expect(summary).toMatchObject({ files: 0, skipped: [], records: 1500, denials: 1500, ignored: {} });
    expect(summary.problems.map((p) => [p.principalArn, p.count, p.sessions])).toEqual([
      [CONSUMER, 1200, 12],
      [PRODUCER, 300, 3],
    ]);
  });

  it('gives the problems and diagnoses that scan gives for the same records in a log file', async () => {
    const file = path.join(dir, 'same.json');
    await writeLogFile(file, RECORDS);
    const fromFile = await scan([file, '--diagnose', '--account', DEMO, '--output', 'json']);
    succeedWith(ROWS);
    const fromAthena = await scan([
      '--athena',
      'security.cloudtrail_org',
      '--since',
      SINCE,
      '--until',
      UNTIL,
      '--diagnose',
      '--account',
      DEMO,
      '--output',
      'json',
    ]);
    expect(fromAthena.code).toBe(fromFile.code);
    const a = JSON.parse(fromAthena.out) as ScanSummary;
    const f = JSON.parse(fromFile.out) as ScanSummary;
    expect(a.problems.length).toBe(2);
    expect(a.problems.every((p) => p.diagnosis?.verdict === 'propose')).toBe(true);
    expect(a.problems).toEqual(f.problems);
    expect([a.records, a.denials, a.ignored]).toEqual([f.records, f.denials, f.ignored]);
  });

  it('a problem whose diagnosis is refuse exits 1, as scan does, with its next steps in the text', async () => {
    const denied = JSON.parse(
      readFileSync(path.join(EVENTS_DIR, 'consumer-decrypt-denied-explicit-identity.record.json'), 'utf8'),
    );
    succeedWith([athenaRow(denied)]);
    const argv = ['--diagnose', '--account', path.join(EVENTS_DIR, 'accounts', 'explicit-deny.json')];
    const json = await scan([
      '--athena',
      'security.cloudtrail_org',
      '--since',
      '30d',
      ...argv,
      '--output',
      'json',
    ]);
    expect(json.code).toBe(1);
    const [problem] = (JSON.parse(json.out) as ScanSummary).problems;
    expect(problem?.diagnosis).toMatchObject({ verdict: 'refuse', code: 'explicit-deny' });

    athena.reset();
    succeedWith([athenaRow(denied)]);
    const text = await scan(['--athena', 'security.cloudtrail_org', '--since', '30d', ...argv]);
    expect(text.code).toBe(1);
    expect(text.out).toContain('keymend: refuse (explicit-deny).');
  });

  it('text: says what Athena read and returned, then the problems as scan shows them', async () => {
    succeedWith(ROWS.slice(0, 3), 12_345_678);
    const { code, out } = await scan([
      '--athena',
      'security.cloudtrail_org',
      '--since',
      SINCE,
      '--until',
      UNTIL,
    ]);
    expect(code).toBe(0);
    const first = out.split('\n\n')[0]?.replace(/\s+/g, ' ');
    expect(first).toBe(
      `Athena query ${ID} read 11.8 MiB of security.cloudtrail_org (the data it bills) and returned 3 rows: 3 denied KMS calls made through Kinesis, in 1 problem.`,
    );
    expect(out).toContain('kms:Decrypt by role/service-role/orders-consumer on stream/orders');
  });

  it('--progress: the query id, its state, the bytes Athena has read and the rows, on stderr', async () => {
    succeedWith(ROWS.slice(0, 5), 4_000_000_000);
    const { code, err } = await scan([
      '--athena',
      'security.cloudtrail_org',
      '--since',
      SINCE,
      '--until',
      UNTIL,
      '--progress',
      '--output',
      'json',
    ]);
    expect(code).toBe(0);
    const lines = err.trim().split('\n');
    expect(lines[0]).toBe(
      `scan: Athena query ${ID} STARTING, 0 bytes scanned, 0 rows, 0 records, 0 denials, 0 problems`,
    );
    expect(lines.at(-1)).toBe(
      `scan: Athena query ${ID} SUCCEEDED, 3.7 GiB scanned, 5 rows, 5 records, 5 denials, 1 problems`,
    );
  });

  it('jsonl: the same summary on one line', async () => {
    succeedWith(ROWS.slice(0, 2));
    const { code, out } = await scan([
      '--athena',
      'security.cloudtrail_org',
      '--since',
      SINCE,
      '--until',
      UNTIL,
      '--output',
      'jsonl',
    ]);
    expect(code).toBe(0);
    expect(out.trim().split('\n')).toHaveLength(1);
    expect((JSON.parse(out) as ScanSummary).denials).toBe(2);
  });

  it('narrows to named accounts and Regions with more ? parameters, never in the SQL text', async () => {
    succeedWith(ROWS.slice(0, 1));
    const { code } = await scan([
      '--athena',
      'security.cloudtrail_org',
      '--since',
      SINCE,
      '--until',
      UNTIL,
      '--only-accounts',
      '111122223333, 444455556666',
      '--only-regions',
      'us-east-1,eu-west-1',
    ]);
    expect(code).toBe(0);
    const [start] = athena.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input);
    expect(start?.QueryString).toContain('AND "account" IN (?, ?)\n  AND "region" IN (?, ?)');
    expect(start?.QueryString).not.toMatch(/111122223333|444455556666|eu-west-1/);
    expect(start?.ExecutionParameters?.slice(4)).toEqual([
      "'111122223333'",
      "'444455556666'",
      "'us-east-1'",
      "'eu-west-1'",
    ]);
  });

  it('no rows from data read is no problem; no rows from no data read is an error naming the table', async () => {
    succeedWith([], 987_654);
    const none = await scan(['--athena', 'security.cloudtrail_org', '--since', '30d', '--output', 'json']);
    expect(none.code).toBe(0);
    expect(JSON.parse(none.out)).toMatchObject({ records: 0, problems: [], athena: { rows: 0 } });

    athena.reset();
    succeedWith([], 0);
    const empty = await scan(['--athena', 'security.cloudtrail_org', '--since', '30d']);
    expect(empty.code).toBe(1);
    expect(empty.out).toBe('');
    expect(empty.err).toMatch(
      /^keymend scan: the Athena table security\.cloudtrail_org from .* the query read no data, .*docs\/scan\.md\)\n$/,
    );
  });

  it('a FAILED query is an error carrying Athena reason, with what to do; nothing is printed as a result', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: ID });
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce(execution('RUNNING'))
      .resolves(
        execution('FAILED', {
          Status: {
            State: 'FAILED',
            StateChangeReason: "COLUMN_NOT_FOUND: line 28:9: Column 'account' cannot be resolved",
            AthenaError: { ErrorCategory: 2, ErrorType: 1006, Retryable: false },
          },
        }),
      );
    const { code, out, err } = await scan(['--athena', 'security.cloudtrail_org', '--since', '7d']);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toBe(
      `keymend scan: the Athena query ${ID} failed: COLUMN_NOT_FOUND: line 28:9: Column 'account' cannot be resolved (error type 1006) (keymend reads a table partitioned by account, region and timestamp: see docs/scan.md for its DDL)\n`,
    );
    expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(0);
  });

  it('a CANCELLED query is an error too; an injected partition without values gets its hint', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: ID });
    athena.on(GetQueryExecutionCommand).resolves(
      execution('CANCELLED', {
        Status: { State: 'CANCELLED', StateChangeReason: 'Query cancelled by user' },
      }),
    );
    const cancelled = await scan(['--athena', 'security.cloudtrail_org', '--since', '7d']);
    expect(cancelled.code).toBe(1);
    expect(cancelled.err).toBe(
      `keymend scan: the Athena query ${ID} was cancelled: Query cancelled by user\n`,
    );

    athena.reset();
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: ID });
    athena.on(GetQueryExecutionCommand).resolves(
      execution('FAILED', {
        Status: {
          State: 'FAILED',
          StateChangeReason:
            'CONSTRAINT_VIOLATION: For the injected projected partition column account, the WHERE clause must contain only static equality conditions, and at least one such condition must be present.',
        },
      }),
    );
    const injected = await scan(['--athena', 'security.cloudtrail_org', '--since', '7d']);
    expect(injected.code).toBe(1);
    expect(injected.err).toContain('name its values with --only-accounts or --only-regions');
  });

  it('a StartQueryExecution refused (no result location) is an error naming the call and the fix', async () => {
    athena
      .on(StartQueryExecutionCommand)
      .rejects(
        Object.assign(
          new Error(
            'No output location provided. An output location is required either through the Workgroup result configuration setting or as an API input.',
          ),
          { name: 'InvalidRequestException', $metadata: {} },
        ),
      );
    const { code, err } = await scan(['--athena', 'security.cloudtrail_org', '--since', '7d']);
    expect(code).toBe(1);
    expect(err).toMatch(
      /^keymend scan: cannot read athena:StartQueryExecution: InvalidRequestException: No output location provided\..* \(give --output-location s3:\/\/BUCKET\/PREFIX\/, or a --workgroup that has a query result location\)\n$/,
    );
    expect(athena.commandCalls(GetQueryExecutionCommand)).toHaveLength(0);
  });

  it('waits at most POLL_MAX_MS between polls of a long query', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: ID });
    const polls = athena.on(GetQueryExecutionCommand);
    for (let i = 0; i < 9; i++) polls.resolvesOnce(execution('RUNNING', {}, i * 1000));
    polls.resolves(execution('SUCCEEDED', {}, 10_000));
    athena.on(GetQueryResultsCommand).resolves(pages(ROWS.slice(0, 1))[0] as object);
    const { code, sleeps } = await scan(['--athena', 'security.cloudtrail_org', '--since', '7d']);
    expect(code).toBe(0);
    expect(sleeps).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000, 5000, 5000]);
    expect(Math.max(...sleeps)).toBe(POLL_MAX_MS);
  });

  it('Ctrl-C stops the running query (StopQueryExecution) and fails', async () => {
    const interrupt = new AbortController();
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: ID });
    athena.on(GetQueryExecutionCommand).callsFake(() => {
      interrupt.abort();
      return execution('RUNNING');
    });
    athena.on(StopQueryExecutionCommand).resolves({});
    const { code, err } = await scan(
      ['--athena', 'security.cloudtrail_org', '--since', '7d'],
      interrupt.signal,
    );
    expect(code).toBe(1);
    expect(err).toBe(`keymend scan: interrupted: the Athena query ${ID} was stopped\n`);
    expect(athena.commandCalls(StopQueryExecutionCommand).map((c) => c.args[0].input)).toEqual([
      { QueryExecutionId: ID },
    ]);
    expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(0);
  });

  it('results that lack a column the query selects are an error, not records read wrong', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: ID });
    athena.on(GetQueryExecutionCommand).resolves(execution('SUCCEEDED', {}, 100));
    athena.on(GetQueryResultsCommand).resolves({
      ResultSet: {
        Rows: [athenaRow(JSON.parse(RECORDS[0] as string))],
        ResultSetMetadata: { ColumnInfo: athenaColumnInfo.filter((c) => c.Name !== 'eventid') },
      },
    });
    const { code, err } = await scan(['--athena', 'security.cloudtrail_org', '--since', '7d']);
    expect(code).toBe(1);
    expect(err).toBe(`keymend scan: the results of the Athena query ${ID} lack the column eventid\n`);
  });

  it.each([
    [['--athena', 'security.cloudtrail; DROP TABLE x', '--since', '7d'], /--athena takes DATABASE\.TABLE/],
    [['--athena', 'cloudtrail_org', '--since', '7d'], /--athena takes DATABASE\.TABLE/],
    [['--athena', 'a.b.c', '--since', '7d'], /--athena takes DATABASE\.TABLE/],
    [['--athena', 'db."t"', '--since', '7d'], /--athena takes DATABASE\.TABLE/],
    [['--athena', 'security.cloudtrail_org'], /--athena needs --since/],
    [['--athena', 'security.cloudtrail_org', '--since', '7d', 'logs/'], /give no PATH/],
    [['--athena', 'security.cloudtrail_org', '--since', 'last week'], /--since takes a duration/],
    [
      ['--athena', 'security.cloudtrail_org', '--since', '7d', '--workgroup', "wg' OR 1=1"],
      /--workgroup takes/,
    ],
    [
      ['--athena', 'security.cloudtrail_org', '--since', '7d', '--output-location', '/tmp/x'],
      /--output-location takes/,
    ],
    [
      ['--athena', 'security.cloudtrail_org', '--since', '7d', '--only-accounts', '1111'],
      /--only-accounts takes/,
    ],
    [
      ['--athena', 'security.cloudtrail_org', '--since', '7d', '--only-regions', "us-east-1'--"],
      /--only-regions takes/,
    ],
    [
      ['--athena', 'security.cloudtrail_org', '--since', '7d', '--region', 'mars-1'],
      /--region must be a Region/,
    ],
    [['--athena', 'security.cloudtrail_org', '--since', '7d', '--aws'], /go with --diagnose/],
    [['logs/', '--workgroup', 'primary'], /--workgroup goes with --athena/],
    [['--aws', '--since', '1h', '--only-regions', 'us-east-1'], /--only-regions goes with --athena/],
  ])('refuses %j before calling Athena (exit 2)', async (argv, message) => {
    const { code, out, err } = await scan(argv);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(message);
    expect(err).toMatch(/See 'keymend scan --help'\.\n$/);
    expect(athena.calls()).toHaveLength(0);
  });
});
