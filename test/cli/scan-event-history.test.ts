/**
 * `keymend scan --aws --since`: the account's CloudTrail Event history through LookupEvents, with the
 * SDK mocked at the client: the filter asked for, the time range, paging, the rate limit (pacing and
 * a ThrottlingException retried), denials kept client-side, progress on stderr.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { LOOKUP_EVENTS_INTERVAL_MS } from '../../cli/aws/event-history';
import { makeScanCommand } from '../../cli/commands/scan';
import type { ScanSummary } from '../../cli/scan-summary';
import { EVENTS_DIR } from '../helpers/events';
import { captureIo } from '../helpers/io';
import { lookupEvent as lookupEventJson } from '../helpers/lookup-events';

/** As the SDK hands it over: EventTime deserialised to a Date. */
const lookupEvent = (r: { eventTime: string }) => ({
  ...lookupEventJson(r),
  EventTime: new Date(r.eventTime),
});

const record = (name: string) => JSON.parse(readFileSync(path.join(EVENTS_DIR, name), 'utf8'));
const CONSUMER_DENIED = record('consumer-decrypt-denied-no-invokedby.record.json');
const PRODUCER_DENIED = record('producer-generatedatakey-denied.record.json');
const SUCCESS = record('consumer-decrypt-success.record.json');

const cloudTrail = mockClient(CloudTrailClient);
afterAll(() => cloudTrail.restore());
beforeEach(() => cloudTrail.reset());

function throttled() {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} });
}

async function scan(argv: string[]) {
  const sleeps: number[] = [];
  const command = makeScanCommand(() => ({
    cloudTrail: () => new CloudTrailClient({ region: 'us-east-1' }),
    s3: () => new S3Client({ region: 'us-east-1' }),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  }));
  const io = captureIo();
  const code = await command.run(argv, io);
  return { code, out: io.out(), err: io.err(), sleeps };
}

describe('keymend scan --aws --since (Event history)', () => {
  it('pages through LookupEvents on EventSource kms.amazonaws.com, keeps the denials, paces and retries', async () => {
    cloudTrail
      .on(LookupEventsCommand)
      .resolvesOnce({ Events: [lookupEvent(CONSUMER_DENIED), lookupEvent(SUCCESS)], NextToken: 'page-2' })
      .rejectsOnce(throttled())
      .resolvesOnce({ Events: [lookupEvent(PRODUCER_DENIED)] });
    const before = Date.now();
    const { code, out, err, sleeps } = await scan([
      '--aws',
      '--since',
      '6h',
      '--output',
      'json',
      '--progress',
    ]);
    expect(code).toBe(0);

    const calls = cloudTrail.commandCalls(LookupEventsCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(3);
    for (const input of calls) {
      expect(input.LookupAttributes).toEqual([
        { AttributeKey: 'EventSource', AttributeValue: 'kms.amazonaws.com' },
      ]);
      expect(input.MaxResults).toBe(50);
      const start = (input.StartTime as Date).getTime();
      expect(start).toBeGreaterThanOrEqual(before - 6 * 3_600_000 - 1000);
      expect(start).toBeLessThanOrEqual(Date.now() - 6 * 3_600_000 + 1000);
    }
    expect(calls.map((c) => c.NextToken)).toEqual([undefined, 'page-2', 'page-2']);
    // No two requests closer than the 2-per-second limit: each later one waited, and the throttled one backed off.
    expect(sleeps.length).toBeGreaterThanOrEqual(2);
    for (const ms of sleeps) expect(ms).toBeLessThanOrEqual(LOOKUP_EVENTS_INTERVAL_MS * 16);
    expect(Math.max(...sleeps)).toBeGreaterThanOrEqual(LOOKUP_EVENTS_INTERVAL_MS / 2);

    const summary = JSON.parse(out) as ScanSummary;
    // The success was dropped client-side: only denials reach the summary.
    expect(summary).toMatchObject({ records: 2, denials: 2 });
    expect(summary.problems.map((p) => p.operation).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(err).toMatch(/^scan: 1 pages, 2 KMS events, back to \d{4}-\d{2}-\d{2} \d{2}:\d{2}, \d+ records/m);
    expect(err).toMatch(/^scan: 2 pages, 3 KMS events/m);
  });

  it('sends --until as EndTime', async () => {
    cloudTrail.on(LookupEventsCommand).resolves({ Events: [lookupEvent(CONSUMER_DENIED)] });
    await scan(['--aws', '--since', '2026-11-30T00:00Z', '--until', '2026-11-30T06:00Z']);
    const input = cloudTrail.commandCalls(LookupEventsCommand)[0]?.args[0].input;
    expect(input?.StartTime).toEqual(new Date('2026-11-30T00:00:00Z'));
    expect(input?.EndTime).toEqual(new Date('2026-11-30T06:00:00Z'));
  });

  it('exits 1, never "0 problems", when the range holds no KMS event', async () => {
    cloudTrail.on(LookupEventsCommand).resolves({ Events: [] });
    const { code, out, err } = await scan(['--aws', '--since', '1h']);
    expect([code, out]).toEqual([1, '']);
    expect(err).toMatch(
      /^keymend scan: the CloudTrail Event history of us-east-1 from .* holds no KMS event\n$/,
    );
  });

  it('reports "0 problems" (exit 0) when it read KMS events and none was a denial', async () => {
    cloudTrail.on(LookupEventsCommand).resolves({ Events: [lookupEvent(SUCCESS)] });
    const { code, out } = await scan(['--aws', '--since', '1h', '--output', 'json']);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ records: 0, denials: 0, problems: [] });
  });

  it('exits 1 with one line when LookupEvents is refused, or keeps throttling', async () => {
    cloudTrail
      .on(LookupEventsCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException', $metadata: {} }));
    const denied = await scan(['--aws', '--since', '1h']);
    expect([denied.code, denied.out]).toEqual([1, '']);
    expect(denied.err).toBe(
      'keymend scan: cannot read cloudtrail:LookupEvents: AccessDeniedException: not authorized\n',
    );
    cloudTrail.reset();
    cloudTrail.on(LookupEventsCommand).rejects(throttled());
    const busy = await scan(['--aws', '--since', '1h']);
    expect(busy.code).toBe(1);
    expect(busy.err).toMatch(/ThrottlingException: Rate exceeded\n$/);
    expect(cloudTrail.commandCalls(LookupEventsCommand).length).toBeGreaterThan(3);
  });
});
