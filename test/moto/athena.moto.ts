/**
 * `keymend scan --athena` against moto's Athena, over the real wire protocol. Moto runs no SQL: it
 * keeps the query text and execution parameters it was sent, walks the execution through QUEUED,
 * RUNNING and SUCCEEDED as it is polled, and answers GetQueryResults with results queued beforehand
 * (here, rows shaped as Athena returns them for keymend's query, test/helpers/athena.ts). So this
 * proves what crosses the wire (the SQL, its parameters, the database, workgroup and result
 * location, read back from moto), the polling until SUCCEEDED, the results read back into records
 * and diagnosed, and moto's refusal of an unknown workgroup; the SQL's meaning is not tested here
 * (see test/moto/README.md), nor paging (moto answers one page).
 */

import path from 'node:path';
import {
  AthenaClient,
  CreateWorkGroupCommand,
  GetQueryExecutionCommand,
  ListQueryExecutionsCommand,
} from '@aws-sdk/client-athena';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { recordMaker } from '../../bench/fixtures/cloudtrail-logs';
import { kmsDenialQuery } from '../../cli/aws/athena-query';
import { makeScanCommand } from '../../cli/commands/scan';
import type { ScanSummary } from '../../cli/scan-summary';
import { athenaColumnInfo, athenaHeaderRow, athenaRow } from '../helpers/athena';
import { EVENTS_DIR } from '../helpers/events';
import { captureIo } from '../helpers/io';
import { motoClientConfig, motoEndpoint, resetMoto } from './moto';

const DEMO = path.join(EVENTS_DIR, 'accounts', 'demo.json');
const CONSUMER = 'arn:aws:iam::111122223333:role/service-role/orders-consumer';
const PRODUCER = 'arn:aws:iam::111122223333:role/orders-producer';
const RESULTS_BUCKET = 'keymend-athena-results';

const consumer = recordMaker('consumer-decrypt-denied-no-invokedby.record.json');
const producer = recordMaker('producer-generatedatakey-denied.record.json');
const at = (minutes: number) => new Date(Date.parse('2026-11-30T00:00:00Z') + minutes * 60_000);

const athena = new AthenaClient(motoClientConfig());
const s3 = new S3Client({ ...motoClientConfig(), forcePathStyle: true });

async function motoApi(route: string, body: unknown): Promise<void> {
  const response = await fetch(`${motoEndpoint()}/moto-api/${route}`, {
    method: 'POST',
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`moto ${route} answered ${response.status}`);
}

/** Queues the answer moto gives the next query's GetQueryResults. */
async function queueResults(records: string[]): Promise<void> {
  const rows = [athenaHeaderRow, ...records.map((text) => athenaRow(JSON.parse(text)))];
  await motoApi('static/athena/query-results', {
    results: [{ rows, column_info: athenaColumnInfo }],
  });
}

async function scan(argv: string[]) {
  const command = makeScanCommand(() => ({
    cloudTrail: () => new CloudTrailClient(motoClientConfig()),
    s3: () => s3,
    athena: () => athena,
  }));
  const io = captureIo();
  const code = await command.run(argv, io);
  return { code, out: io.out(), err: io.err() };
}

/** The one execution moto holds, as GetQueryExecution describes it. */
async function theExecution() {
  const ids = (await athena.send(new ListQueryExecutionsCommand({}))).QueryExecutionIds ?? [];
  expect(ids).toHaveLength(1);
  return (await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: ids[0] }))).QueryExecution;
}

beforeAll(async () => {
  // Two GetQueryExecution calls in each state before the next: QUEUED, RUNNING, then SUCCEEDED.
  await motoApi('state-manager/set-transition', {
    model_name: 'athena::execution',
    transition: { progression: 'manual', times: 2 },
  });
});
afterAll(async () => {
  await motoApi('state-manager/unset-transition', { model_name: 'athena::execution' });
});
beforeEach(async () => {
  await resetMoto();
  await s3.send(new CreateBucketCommand({ Bucket: RESULTS_BUCKET }));
  await athena.send(
    new CreateWorkGroupCommand({
      Name: 'keymend',
      Configuration: { ResultConfiguration: { OutputLocation: `s3://${RESULTS_BUCKET}/workgroup/` } },
    }),
  );
});

describe('keymend scan --athena against moto', () => {
  it('sends the query, its parameters and workgroup, polls until SUCCEEDED, and diagnoses the rows read back', async () => {
    await queueResults([
      ...Array.from({ length: 6 }, (_, n) => consumer({ n, session: `s${n % 3}`, time: at(n) })),
      ...Array.from({ length: 2 }, (_, n) => producer({ n: 100 + n, session: 'p0', time: at(30 + n) })),
    ]);
    const { code, out, err } = await scan([
      '--athena',
      'security.cloudtrail_org',
      '--since',
      '2026-11-01T00:00Z',
      '--until',
      '2026-12-01T00:00Z',
      '--workgroup',
      'keymend',
      '--only-regions',
      'us-east-1',
      '--diagnose',
      '--account',
      DEMO,
      '--output',
      'json',
    ]);
    expect([code, err]).toEqual([0, '']);
    const summary = JSON.parse(out) as ScanSummary;
    expect(summary).toMatchObject({ files: 0, records: 8, denials: 8, athena: { rows: 8 } });
    expect(summary.problems.map((p) => [p.principalArn, p.count, p.sessions, p.diagnosis?.verdict])).toEqual([
      [CONSUMER, 6, 3, 'propose'],
      [PRODUCER, 2, 1, 'propose'],
    ]);

    const execution = await theExecution();
    const expected = kmsDenialQuery(
      { database: 'security', table: 'cloudtrail_org' },
      {
        since: new Date('2026-11-01T00:00:00Z'),
        until: new Date('2026-12-01T00:00:00Z'),
        regions: ['us-east-1'],
      },
    );
    expect(execution?.QueryExecutionId).toBe(summary.athena?.queryExecutionId);
    expect(execution?.Query).toBe(expected.sql);
    expect(execution?.ExecutionParameters).toEqual(expected.parameters);
    expect(execution?.QueryExecutionContext).toEqual({ Database: 'security' });
    expect(execution?.WorkGroup).toBe('keymend');
    expect(execution?.Status?.State).toBe('SUCCEEDED');
  });

  it('--output-location reaches Athena: moto writes the results where it says', async () => {
    await queueResults([consumer({ n: 1, session: 's1', time: at(1) })]);
    const { code, out } = await scan([
      '--athena',
      'security.cloudtrail_org',
      '--since',
      '30d',
      '--output-location',
      `s3://${RESULTS_BUCKET}/keymend/`,
      '--output',
      'json',
    ]);
    expect(code).toBe(0);
    const id = (JSON.parse(out) as ScanSummary).athena?.queryExecutionId;
    const object = await s3.send(new GetObjectCommand({ Bucket: RESULTS_BUCKET, Key: `keymend/${id}.csv` }));
    const csv = (await object.Body?.transformToString()) ?? '';
    expect(csv.split('\n')[1]).toContain('"kms.amazonaws.com"');
  });

  it('an unknown workgroup is refused by Athena: the error names the call and keeps its message', async () => {
    const { code, out, err } = await scan([
      '--athena',
      'security.cloudtrail_org',
      '--since',
      '30d',
      '--workgroup',
      'missing',
    ]);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toBe(
      'keymend scan: cannot read athena:StartQueryExecution: InvalidRequestException: WorkGroup does not exist (check --workgroup and --region: the workgroup must exist in the Region Athena is called in)\n',
    );
  });

  it('a query that reads nothing and returns nothing is an error, never "0 problems"', async () => {
    const { code, out, err } = await scan(['--athena', 'security.cloudtrail_org', '--since', '30d']);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toMatch(/the query read no data, so the table holds no log file for that range/);
  });
});
