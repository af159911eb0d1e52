import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  GetRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import { DescribeStreamSummaryCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import {
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  KMSClient,
  ListAliasesCommand,
  ListGrantsCommand,
  ListResourceTagsCommand,
} from '@aws-sdk/client-kms';
import {
  AccessDeniedException,
  DescribeOrganizationCommand,
  ListParentsCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { recordMaker, writeLogFile } from '../../bench/fixtures/cloudtrail-logs';
import { scanCommand } from '../../cli/commands/scan';
import { main } from '../../cli/keymend';
import { PREFILTERED, type ScanSummary } from '../../cli/scan-summary';
import { formatBytes } from '../../functions/adapters/cloudtrail-log';
import { fingerprintOf } from '../../functions/core/proposal';
import { EVENTS_DIR } from '../helpers/events';
import { captureIo } from '../helpers/io';
import { lookupEventsOutput } from '../helpers/lookup-events';
import { awsCalls, commandsIn, flags } from '../helpers/shell';

const ACCOUNT = '111122223333';
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const ORDERS = `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/orders`;
const CONSUMER = `arn:aws:iam::${ACCOUNT}:role/service-role/orders-consumer`;
const PRODUCER = `arn:aws:iam::${ACCOUNT}:role/orders-producer`;
const LAMBDA = `arn:aws:iam::${ACCOUNT}:role/service-role/orders-processor-role-x1y2z3`;
const DEMO = path.join(EVENTS_DIR, 'accounts', 'demo.json');

const consumer = recordMaker('consumer-decrypt-denied-no-invokedby.record.json');
const producer = recordMaker('producer-generatedatakey-denied.record.json');
const lambda = recordMaker('lambda-esm-decrypt-denied.eventbridge.json');
const success = recordMaker('consumer-decrypt-success.record.json');

const at = (minutes: number) => new Date(Date.parse('2026-11-30T00:00:00Z') + minutes * 60_000);

let dir: string;
let logs: string;

/**
 * logs/a.json              30 consumer denials (sessions s0..s4), 10 successes
 * logs/sub/b.json.gz       20 producer denials (sessions p0, p1), 5 consumer denials (s5..s9), later
 * logs/sub/deeper/c.json.gz 3 Lambda denials, one session
 * logs/corrupt.json        a consumer denial, then a broken record that may be a denial: skipped whole
 * logs/truncated.json.gz   50 consumer denials, cut in half: skipped whole
 * logs/notes.txt           not a log file name: not read
 */
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'keymend-scan-'));
  logs = path.join(dir, 'logs');
  await writeLogFile(path.join(logs, 'a.json'), [
    ...Array.from({ length: 30 }, (_, n) => consumer({ n, session: `s${n % 5}`, time: at(n) })),
    ...Array.from({ length: 10 }, (_, n) => success({ n: 100 + n, session: 'ok', time: at(n) })),
  ]);
  await writeLogFile(path.join(logs, 'sub', 'b.json.gz'), [
    ...Array.from({ length: 20 }, (_, n) => producer({ n: 200 + n, session: `p${n % 2}`, time: at(60 + n) })),
    ...Array.from({ length: 5 }, (_, n) => consumer({ n: 300 + n, session: `s${5 + n}`, time: at(300 + n) })),
  ]);
  await writeLogFile(
    path.join(logs, 'sub', 'deeper', 'c.json.gz'),
    Array.from({ length: 3 }, (_, n) => lambda({ n: 400 + n, session: 'orders-processor', time: at(10) })),
  );
  writeFileSync(
    path.join(logs, 'corrupt.json'),
    `{"Records":[${consumer({ n: 500, session: 'corrupt', time: at(1000) })},{"eventSource":"kms.amazonaws.com","errorCode":"AccessDenied","eventVersion": tru}]}`,
  );
  const whole = gzipSync(
    `{"Records":[${Array.from({ length: 50 }, (_, n) => consumer({ n: 600 + n, session: `t${n}`, time: at(2000) })).join(',')}]}`,
  );
  writeFileSync(path.join(logs, 'truncated.json.gz'), whole.subarray(0, whole.length >> 1));
  writeFileSync(path.join(logs, 'notes.txt'), 'not a log');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function scan(argv: string[], stdin = '') {
  const io = captureIo(stdin);
  const code = await scanCommand.run(argv, io);
  return { code, out: io.out(), err: io.err() };
}

function problem(summary: ScanSummary, principalArn: string) {
  const found = summary.problems.find((p) => p.principalArn === principalArn);
  if (!found) throw new Error(`no problem for ${principalArn}`);
  return found;
}

describe('keymend scan', () => {
  it('summarises gzipped and plain files by fingerprint, skipping and reporting the corrupt ones', async () => {
    const { code, out, err } = await scan([logs, '--json']);
    expect(code).toBe(1);
    const summary = JSON.parse(out) as ScanSummary;
    expect(summary).toMatchObject({ files: 5, records: 68, denials: 58, ignored: { [PREFILTERED]: 10 } });
    expect(summary.skipped.map((s) => path.basename(s.file)).sort()).toEqual([
      'corrupt.json',
      'truncated.json.gz',
    ]);
    expect(summary.problems.map((p) => [p.principalArn, p.count, p.sessions])).toEqual([
      [CONSUMER, 35, 10],
      [PRODUCER, 20, 2],
      [LAMBDA, 3, 1],
    ]);
    expect(problem(summary, CONSUMER)).toEqual({
      fingerprint: fingerprintOf({
        accountId: ACCOUNT,
        region: 'us-east-1',
        principalArn: CONSUMER,
        operation: 'kms:Decrypt',
        keyArn: KEY,
        streamArn: ORDERS,
      }),
      accountId: ACCOUNT,
      region: 'us-east-1',
      principalArn: CONSUMER,
      operation: 'kms:Decrypt',
      keyArn: KEY,
      streamArn: ORDERS,
      count: 35,
      firstSeen: '2026-11-30T00:00:00Z',
      lastSeen: '2026-11-30T05:04:00Z',
      sessions: 10,
      deniedBy: [{ kind: 'implicit', policyType: 'identity-based', count: 35 }],
    });
    expect(problem(summary, PRODUCER)).toMatchObject({
      operation: 'kms:GenerateDataKey',
      firstSeen: '2026-11-30T01:00:00Z',
    });
    const lines = err.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.find((l) => l.includes('corrupt.json'))).toMatch(
      /^keymend scan: skipped .*corrupt\.json is not valid JSON: record 2/,
    );
    expect(lines.find((l) => l.includes('truncated.json.gz'))).toMatch(
      /^keymend scan: skipped .*truncated\.json\.gz starts like gzip but cannot be decompressed/,
    );
  });

  it('prints a table that fits 80 columns by default', async () => {
    const { out } = await scan([logs]);
    const lines = out.trimEnd().split('\n');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    expect(out.replace(/\n/g, ' ')).toContain(
      'Scanned 5 files (2 skipped), 68 records: 58 denied KMS calls made through Kinesis, in 3',
    );
    expect(out).toMatch(/^\s+1\s+35\s+10\s+2026-11-30 00:00\s+2026-11-30 05:04$/m);
    expect(out).toContain('kms:Decrypt by role/service-role/orders-consumer on stream/orders');
    expect(out).toContain('AWS: no identity-based policy allows it');
    expect(out).toContain('key/1234abcd-12ab-34cd-56ef-1234567890ab in 111122223333 us-east-1');
  });

  it('with --diagnose, adds each problem verdict, code and plan from the snapshot', async () => {
    const { out } = await scan([
      path.join(logs, 'a.json'),
      path.join(logs, 'sub'),
      '--json',
      '--diagnose',
      '--account',
      DEMO,
    ]);
    const summary = JSON.parse(out) as ScanSummary;
    expect(problem(summary, CONSUMER).diagnosis).toMatchObject({
      verdict: 'propose',
      code: 'propose',
      plan: { mechanism: 'kms-grant', keyArn: KEY, granteePrincipal: CONSUMER, operations: ['Decrypt'] },
    });
    expect(problem(summary, PRODUCER).diagnosis).toMatchObject({
      verdict: 'propose',
      plan: { operations: ['GenerateDataKey'] },
    });
    const text = await scan([
      path.join(logs, 'a.json'),
      '--diagnose',
      '--account',
      DEMO,
      '--prefer',
      'iam-inline-policy',
    ]);
    expect(text.code).toBe(0);
    expect(text.out).toContain('keymend: propose iam-inline-policy.');
    // The manual path, whole (not cut to 80 columns): the put-role-policy sends the planned document.
    const json = await scan([
      path.join(logs, 'a.json'),
      '--json',
      '--diagnose',
      '--account',
      DEMO,
      '--prefer',
      'iam-inline-policy',
    ]);
    const plan = problem(JSON.parse(json.out) as ScanSummary, CONSUMER).diagnosis?.plan;
    if (plan?.mechanism !== 'iam-inline-policy') throw new Error('expected an inline policy');
    const puts = commandsIn(text.out, 'aws iam put-role-policy').map((c) => awsCalls(c)[0] ?? []);
    const put = puts.find((argv) => flags(argv).get('--role-name')?.[0] === 'orders-consumer');
    expect(flags(put ?? []).get('--policy-name')).toEqual([plan.policyName]);
    expect(JSON.parse(flags(put ?? []).get('--policy-document')?.[0] ?? '')).toEqual(plan.document);
    expect(commandsIn(text.out, 'aws iam delete-role-policy').length).toBe(puts.length);
  });

  it('with --diagnose --aws, reads the account through the SDK once per problem (mocked)', async () => {
    const iam = mockClient(IAMClient);
    const kms = mockClient(KMSClient);
    const kinesis = mockClient(KinesisClient);
    const organizations = mockClient(OrganizationsClient);
    const sts = mockClient(STSClient);
    sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/ops` });
    try {
      // A member account: the organization's id is readable, its OU path is not.
      organizations.on(DescribeOrganizationCommand).resolves({ Organization: { Id: 'o-a1b2c3d4e5' } });
      organizations
        .on(ListParentsCommand)
        .rejects(new AccessDeniedException({ message: 'denied', $metadata: { httpStatusCode: 403 } }));
      iam.on(GetRoleCommand).resolves({
        Role: {
          Arn: CONSUMER,
          RoleName: 'orders-consumer',
          Path: '/service-role/',
          RoleId: 'AROA',
          CreateDate: new Date(),
        },
      });
      iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: [], IsTruncated: false });
      iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [], IsTruncated: false });
      kms.on(DescribeKeyCommand).resolves({
        KeyMetadata: {
          KeyId: 'k',
          Arn: KEY,
          AWSAccountId: ACCOUNT,
          KeyManager: 'CUSTOMER',
          KeyState: 'Enabled',
        },
      });
      const delegation = {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
        Action: 'kms:*',
        Resource: '*',
      };
      kms
        .on(GetKeyPolicyCommand)
        .resolves({ Policy: JSON.stringify({ Version: '2012-10-17', Statement: [delegation] }) });
      kms.on(ListGrantsCommand).resolves({ Grants: [], Truncated: false });
      kms.on(ListResourceTagsCommand).resolves({ Tags: [], Truncated: false });
      kms.on(ListAliasesCommand).resolves({ Aliases: [], Truncated: false });
      kms.on(ListResourceTagsCommand).resolves({ Tags: [], Truncated: false });
      kinesis.on(DescribeStreamSummaryCommand).resolves({
        StreamDescriptionSummary: {
          StreamName: 'orders',
          StreamARN: ORDERS,
          StreamStatus: 'ACTIVE',
          RetentionPeriodHours: 24,
          StreamCreationTimestamp: new Date(),
          EnhancedMonitoring: [],
          OpenShardCount: 1,
          EncryptionType: 'KMS',
          KeyId: KEY,
        },
      });
      const { code, out } = await scan([path.join(logs, 'a.json'), '--json', '--diagnose', '--aws']);
      expect(code).toBe(0);
      const summary = JSON.parse(out) as ScanSummary;
      expect(summary.problems[0]?.diagnosis).toMatchObject({ verdict: 'propose', code: 'propose' });
      expect(iam.commandCalls(GetRoleCommand)).toHaveLength(1);
      // The credentials' account is asked once per run.
      expect(sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(1);
      expect(organizations.commandCalls(DescribeOrganizationCommand)).toHaveLength(1);
      expect(organizations.commandCalls(ListParentsCommand)[0]?.args[0].input).toEqual({ ChildId: ACCOUNT });

      iam.on(GetRoleCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
      const denied = await scan([path.join(logs, 'sub', 'deeper'), '--json', '--diagnose', '--aws']);
      expect(denied.code).toBe(1);
      expect((JSON.parse(denied.out) as ScanSummary).problems[0]?.diagnosis).toMatchObject({
        verdict: 'error',
        code: 'AwsReadError',
        reason: expect.stringContaining('AccessDenied'),
      });
    } finally {
      iam.restore();
      kms.restore();
      kinesis.restore();
      organizations.restore();
      sts.restore();
    }
  }, 30_000);

  it('counts sessions exactly up to 10000 and then says 10000+', async () => {
    const file = path.join(dir, 'many-sessions.json');
    await writeLogFile(
      file,
      Array.from({ length: 10_005 }, (_, n) => consumer({ n, session: `many-${n}`, time: at(n) })),
    );
    const json = JSON.parse((await scan([file, '--json'])).out) as ScanSummary;
    expect(json.problems[0]).toMatchObject({ count: 10_005, sessions: 10_000, sessionsCapped: true });
    expect((await scan([file])).out).toMatch(/10,005\s+10000\+/);
  }, 60_000);

  it('skips, naming the limit, a gzip that expands past --max-bytes', async () => {
    const { code, out, err } = await scan([
      path.join(logs, 'sub', 'b.json.gz'),
      '--max-bytes',
      '4KiB',
      '--json',
    ]);
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ records: 0, problems: [] });
    expect(err).toMatch(/b\.json\.gz expands past the 4 KiB limit for decompressed input\n$/);
  });

  it('reads standard input with -', async () => {
    const { code, out } = await scan(
      ['-', '--json'],
      readFileSync(path.join(EVENTS_DIR, 'cloudtrail-log-file.records.json'), 'utf8'),
    );
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({
      files: 1,
      records: 3,
      denials: 1,
      problems: [{ principalArn: CONSUMER }],
    });
  });

  it('writes a progress line to stderr with --progress: files and bytes done of the total', async () => {
    const file = path.join(logs, 'a.json');
    const { err } = await scan([file, '--progress', '--json']);
    const size = formatBytes(statSync(file).size);
    expect(err).toBe(`scan: 1 of 1 files, ${size} of ${size}, 40 records, 30 denials, 1 problems\n`);
  });

  it('exits 1, never "0 problems", for a directory with no log file', async () => {
    const empty = path.join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    writeFileSync(path.join(empty, 'README.txt'), 'no logs here');
    const { code, out, err } = await scan([empty]);
    expect([code, out]).toEqual([1, '']);
    expect(err).toBe(
      `keymend scan: no log file in ${empty} (a directory is searched for .json and .json.gz files)\n`,
    );
  });

  it('exits 1 saying what was found when no record is a CloudTrail record', async () => {
    const other = path.join(dir, 'not-cloudtrail');
    mkdirSync(other, { recursive: true });
    writeFileSync(path.join(other, 'snapshot.json'), readFileSync(DEMO));
    writeFileSync(path.join(other, 'empty.json'), '{"Records": []}');
    const { code, out, err } = await scan([other]);
    expect([code, out]).toEqual([1, '']);
    expect(err).toBe(
      `keymend scan: ${other} holds no CloudTrail record: 1 JSON document read, none a CloudTrail API-call record\n`,
    );
    const none = await scan([path.join(other, 'empty.json')]);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/holds no CloudTrail record \(1 file, no records\)\n$/);
  });

  it("reads 'aws cloudtrail lookup-events' output files as their records", async () => {
    const records = JSON.parse(
      readFileSync(path.join(EVENTS_DIR, 'cloudtrail-log-file.records.json'), 'utf8'),
    ).Records;
    const file = path.join(dir, 'lookup', 'events.json');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(lookupEventsOutput(records)));
    const { code, out } = await scan([path.dirname(file), '--output', 'json']);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({
      files: 1,
      records: 3,
      denials: 1,
      problems: [{ principalArn: CONSUMER }],
    });
  });

  it('narrows to --since/--until by eventTime, and --output jsonl is the summary on one line', async () => {
    const { out } = await scan([
      logs,
      '--since',
      '2026-11-30T01:00Z',
      '--until',
      '2026-11-30T02:00Z',
      '--output',
      'jsonl',
    ]);
    expect(out.trimEnd().split('\n')).toHaveLength(1);
    const summary = JSON.parse(out) as ScanSummary;
    // Only the producer's 20 denials, from 01:00 to 01:19, fall in the hour.
    expect(summary.problems.map((p) => [p.principalArn, p.count])).toEqual([[PRODUCER, 20]]);
  });

  it('counts records that cannot be a denial without parsing them, and parses an escaped one', async () => {
    const file = path.join(dir, 'prefilter.json');
    const escaped = consumer({ n: 900, session: 'escaped', time: at(3000) })
      .replace('"kms.amazonaws.com"', '"kms\\u002eamazonaws.com"')
      .replace('"AccessDenied"', '"\\u0041ccessDenied"');
    expect(escaped).toContain('\\u0041ccessDenied');
    writeFileSync(
      file,
      `{"Records":[${success({ n: 901, session: 'ok', time: at(3000) })},{"eventSource":"s3.amazonaws.com","eventVersion": tru},${escaped}]}`,
    );
    const { code, out, err } = await scan([file, '--json']);
    expect([code, err]).toEqual([0, '']);
    expect(JSON.parse(out)).toMatchObject({
      records: 3,
      denials: 1,
      ignored: { [PREFILTERED]: 2 },
      problems: [{ principalArn: CONSUMER, count: 1 }],
    });
  });

  it.each([
    [[], /give at least one PATH/],
    [['LOGS', '--format', 'xml'], /--output must be text, json or jsonl/],
    [['LOGS', '--output', 'xml'], /--output must be text, json or jsonl/],
    [['LOGS', '--since', 'yesterday'], /--since takes a duration back from now/],
    [['LOGS', '--since', '1h', '--until', '2h'], /--since must be before --until/],
    [['--aws'], /--aws \(Event history\) needs --since/],
    [['--aws', '--since', '100d'], /Event history keeps 90 days/],
    [['--aws', '--since', '1h', '--region', 'moon'], /--region must be a Region/],
    [['LOGS', '--region', 'us-east-1'], /--region goes with --aws and no PATH/],
    [['LOGS', '--aws'], /go with --diagnose/],
    [['s3://A_B/x'], /is not s3:\/\/BUCKET\/PREFIX/],
    [['LOGS', '--diagnose'], /--diagnose needs --account SNAPSHOT.json or --aws/],
    [['LOGS', '--account', DEMO], /go with --diagnose/],
    [['LOGS', '--diagnose', '--account', DEMO, '--aws'], /not both/],
    [['LOGS', '--max-bytes', 'lots'], /--max-bytes takes a size/],
    [['LOGS', '--bogus'], /unknown option '--bogus'/],
    [['-', '--diagnose', '--account', '-'], /cannot both read standard input/],
  ])('exits 2 on bad options %j', async (argv, message) => {
    const { code, out, err } = await scan(argv.map((a) => (a === 'LOGS' ? logs : a)));
    expect([code, out]).toEqual([2, '']);
    expect(err).toMatch(message);
  });

  it('is a keymend command, listed by keymend --help, with its own --help', async () => {
    const io = captureIo();
    expect(await main(['--help'], io)).toBe(0);
    expect(io.out()).toMatch(/^\s+scan\s+summarise the denied Kinesis KMS calls/m);
    const help = captureIo();
    expect(await main(['scan', '--help'], help)).toBe(0);
    expect(help.out()).toBe(scanCommand.help);
  });

  it('documents every option and exit status in --help', () => {
    for (const text of [
      'PATH',
      's3://BUCKET/PREFIX',
      '--since',
      '--until',
      '--region',
      '--output FORMAT',
      '--json',
      '--diagnose',
      '--account FILE',
      '--aws',
      '--prefer MECHANISM',
      '--progress',
      '--max-bytes SIZE',
      '-h, --help',
      'Exit status',
      'a file skipped',
      '2  the command line is wrong',
      'Examples:',
    ]) {
      expect(scanCommand.help).toContain(text);
    }
    for (const line of scanCommand.help.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });
});
