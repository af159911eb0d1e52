/**
 * `keymend scan s3://BUCKET/PREFIX`: a trail's log files read in place, with the SDK mocked at the
 * client: the listing paged, digests and other files left out, --since/--until narrowing the
 * date-partitioned keys (day prefixes under a Region's folder), objects read as streams several at a
 * time, a broken object skipped whole. (The same against moto's S3 belongs to `npm run test:moto`.)
 */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { recordMaker } from '../../bench/fixtures/cloudtrail-logs';
import { isLogFileKey, keyTime, listingPrefixes, parseS3Url } from '../../cli/aws/trail-bucket';
import { makeScanCommand } from '../../cli/commands/scan';
import type { ScanSummary } from '../../cli/scan-summary';
import { captureIo } from '../helpers/io';

const s3 = mockClient(S3Client);
afterAll(() => s3.restore());
beforeEach(() => s3.reset());

const consumer = recordMaker('consumer-decrypt-denied-no-invokedby.record.json');
const REGION_FOLDER = 'AWSLogs/111122223333/CloudTrail/us-east-1/';
const fileKey = (day: string, time: string, n: number) =>
  `${REGION_FOLDER}${day.replace(/-/g, '/')}/111122223333_CloudTrail_us-east-1_${day.replace(/-/g, '')}T${time}Z_${n}.json.gz`;
const logFile = (count: number, at: string) =>
  gzipSync(
    `{"Records":[${Array.from({ length: count }, (_, n) => consumer({ n, session: `s${n}`, time: new Date(at) })).join(',')}]}`,
  );

async function scan(argv: string[]) {
  const command = makeScanCommand(() => ({
    cloudTrail: () => new CloudTrailClient({ region: 'us-east-1' }),
    s3: () => new S3Client({ region: 'us-east-1' }),
  }));
  const io = captureIo();
  const code = await command.run(argv, io);
  return { code, out: io.out(), err: io.err() };
}

describe('trail bucket keys', () => {
  it('parses s3:// URLs', () => {
    expect(parseS3Url('s3://my-trail/AWSLogs/')).toEqual({ bucket: 'my-trail', prefix: 'AWSLogs/' });
    expect(parseS3Url('s3://my-trail')).toEqual({ bucket: 'my-trail', prefix: '' });
    expect(parseS3Url('s3://UPPER/x')).toBeNull();
    expect(parseS3Url('/local/path')).toBeNull();
  });

  it('tells log files from digests and Insights files, and reads their delivery time', () => {
    const key = fileKey('2026-11-30', '1205', 1);
    expect(isLogFileKey(key)).toBe(true);
    expect(keyTime(key)).toEqual(new Date('2026-11-30T12:05:00Z'));
    expect(isLogFileKey('AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/30/x.json.gz')).toBe(false);
    expect(isLogFileKey('AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2026/11/30/x.json.gz')).toBe(
      false,
    );
    expect(isLogFileKey(`${REGION_FOLDER}2026/11/30/`)).toBe(false);
  });

  it('lists a Region folder day by day over the range, anything else whole', () => {
    expect(
      listingPrefixes(REGION_FOLDER, new Date('2026-11-29T23:00:00Z'), new Date('2026-12-01T01:00:00Z')),
    ).toEqual([`${REGION_FOLDER}2026/11/29/`, `${REGION_FOLDER}2026/11/30/`, `${REGION_FOLDER}2026/12/01/`]);
    expect(listingPrefixes('AWSLogs/', new Date('2026-11-29T23:00:00Z'))).toEqual(['AWSLogs/']);
    expect(listingPrefixes(REGION_FOLDER)).toEqual([REGION_FOLDER]);
  });
});

describe('keymend scan s3://', () => {
  it('pages the listing, skips what is not a log file, reads each object as a stream', async () => {
    const a = fileKey('2026-11-30', '0005', 1);
    const b = fileKey('2026-11-30', '0010', 2);
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: [
          { Key: a, Size: 100 },
          { Key: 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/30/d.json.gz', Size: 10 },
        ],
        IsTruncated: true,
        NextContinuationToken: 'next',
      })
      .resolvesOnce({ Contents: [{ Key: b, Size: 100 }], IsTruncated: false });
    s3.on(GetObjectCommand, { Key: a }).callsFake(() => ({
      Body: Readable.from([logFile(3, '2026-11-30T00:01:00Z')]),
    }));
    s3.on(GetObjectCommand, { Key: b }).callsFake(() => ({
      Body: Readable.from([logFile(2, '2026-11-30T00:06:00Z')]),
    }));

    const { code, out, err } = await scan(['s3://my-trail/AWSLogs/', '--output', 'json']);
    expect([code, err]).toEqual([0, '']);
    const summary = JSON.parse(out) as ScanSummary;
    expect(summary).toMatchObject({ files: 2, records: 5, denials: 5 });
    const lists = s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input);
    expect(lists).toEqual([
      { Bucket: 'my-trail', Prefix: 'AWSLogs/' },
      { Bucket: 'my-trail', Prefix: 'AWSLogs/', ContinuationToken: 'next' },
    ]);
    expect(
      s3
        .commandCalls(GetObjectCommand)
        .map((c) => c.args[0].input.Key)
        .sort(),
    ).toEqual([a, b]);
  });

  it('with --since/--until under a Region folder, lists only the days of the range and reads only the files in it', async () => {
    const early = fileKey('2026-11-30', '0005', 1);
    const inside = fileKey('2026-11-30', '1205', 2);
    s3.on(ListObjectsV2Command).resolves({
      Contents: [
        { Key: early, Size: 1 },
        { Key: inside, Size: 1 },
      ],
    });
    s3.on(GetObjectCommand).callsFake(() => ({ Body: Readable.from([logFile(1, '2026-11-30T12:01:00Z')]) }));
    const { code, out } = await scan([
      `s3://my-trail/${REGION_FOLDER}`,
      '--since',
      '2026-11-30T12:00Z',
      '--until',
      '2026-11-30T13:00Z',
      '--output',
      'json',
    ]);
    expect(code).toBe(0);
    expect(s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input.Prefix)).toEqual([
      `${REGION_FOLDER}2026/11/30/`,
    ]);
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Key)).toEqual([inside]);
    expect(JSON.parse(out)).toMatchObject({ files: 1, denials: 1 });
  });

  it('reads several objects at a time, and no more than four', async () => {
    const keys = Array.from({ length: 10 }, (_, n) => fileKey('2026-11-30', '0005', n));
    s3.on(ListObjectsV2Command).resolves({ Contents: keys.map((Key) => ({ Key, Size: 1 })) });
    let open = 0;
    let most = 0;
    s3.on(GetObjectCommand).callsFake(() => {
      open++;
      most = Math.max(most, open);
      async function* body() {
        await new Promise((resolve) => setTimeout(resolve, 5));
        yield logFile(1, '2026-11-30T00:01:00Z');
        open--;
      }
      return { Body: body() };
    });
    const { code, out } = await scan(['s3://my-trail/AWSLogs/', '--output', 'json']);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ files: 10, denials: 10 });
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(4);
  });

  it('skips a broken object whole (exit 1), and exits 1 for a prefix with no log file', async () => {
    const good = fileKey('2026-11-30', '0005', 1);
    const bad = fileKey('2026-11-30', '0010', 2);
    s3.on(ListObjectsV2Command).resolves({
      Contents: [
        { Key: good, Size: 1 },
        { Key: bad, Size: 1 },
      ],
    });
    s3.on(GetObjectCommand, { Key: good }).callsFake(() => ({
      Body: Readable.from([logFile(1, '2026-11-30T00:01:00Z')]),
    }));
    s3.on(GetObjectCommand, { Key: bad }).callsFake(() => ({
      Body: Readable.from([Buffer.from('{"Records": [tru')]),
    }));
    const broken = await scan(['s3://my-trail/AWSLogs/', '--output', 'json']);
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.out)).toMatchObject({
      files: 2,
      denials: 1,
      skipped: [{ file: `s3://my-trail/${bad}` }],
    });
    expect(broken.err).toMatch(/^keymend scan: skipped s3:\/\/my-trail\/.*is not valid JSON/);

    s3.reset();
    s3.on(ListObjectsV2Command).resolves({ Contents: [] });
    const empty = await scan(['s3://my-trail/AWSLogs/']);
    expect([empty.code, empty.out]).toEqual([1, '']);
    expect(empty.err).toBe(
      'keymend scan: no log file in s3://my-trail/AWSLogs/ (a directory is searched for .json and .json.gz files)\n',
    );
  });

  it('exits 1 with one line when the bucket cannot be listed', async () => {
    s3.on(ListObjectsV2Command).rejects(
      Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: {} }),
    );
    const { code, err } = await scan(['s3://my-trail/AWSLogs/']);
    expect(code).toBe(1);
    expect(err).toBe(
      'keymend scan: cannot read s3:ListObjectsV2 s3://my-trail/AWSLogs/: AccessDenied: Access Denied\n',
    );
  });
});
