import { readFileSync } from 'node:fs';
import path from 'node:path';
import { diagnoseCommand } from '../../cli/commands/diagnose';
import { parseCommand } from '../../cli/commands/parse';
import { accountFile } from '../helpers/accounts';
import { EVENTS_DIR } from '../helpers/events';
import { captureIo } from '../helpers/io';
import { lookupEventsOutput } from '../helpers/lookup-events';
import { awsCalls, commandsIn, createGrantRequest } from '../helpers/shell';

const event = (name: string) => path.join(EVENTS_DIR, name);
const account = accountFile;
const CONSUMER_EVENT = event('consumer-decrypt-denied-service-role.eventbridge.json');

async function diagnose(argv: string[], stdin = '') {
  const io = captureIo(stdin);
  const code = await diagnoseCommand.run(argv, io);
  return { code, out: io.out(), err: io.err() };
}

describe('keymend diagnose', () => {
  it('a refusal keeps its diagnosis and says what to do, in JSON (nextSteps) and in text (next:)', async () => {
    const args = [
      '--event',
      event('consumer-decrypt-denied-boundary.record.json'),
      '--account',
      account('boundary'),
    ];
    const result = JSON.parse((await diagnose(args)).out);
    expect(result).toMatchObject({ verdict: 'refuse', code: 'boundary-blocks' });
    expect(result.diagnosis.blockingLayers).toContain('permissions-boundary');
    expect(result.nextSteps[0]).toMatchObject({
      who: 'an IAM administrator of account 111122223333',
      statement: { Effect: 'Allow', Action: 'kms:Decrypt' },
    });
    const { out } = await diagnose([...args, '--format', 'text']);
    expect(out).toContain('  next: an IAM administrator of account 111122223333: Add the statement below');
    expect(out).toContain(
      '"kms:EncryptionContext:aws:kinesis:arn": "arn:aws:kinesis:us-east-1:111122223333:stream/orders"',
    );
  });

  it('--format text prints the manual path: the create-grant sends exactly the planned request', async () => {
    const json = JSON.parse((await diagnose(['--event', CONSUMER_EVENT, '--account', account('demo')])).out);
    const { code, out } = await diagnose([
      '--event',
      CONSUMER_EVENT,
      '--account',
      account('demo'),
      '--format',
      'text',
    ]);
    expect(code).toBe(0);
    const creates = commandsIn(out, 'aws kms create-grant');
    expect(creates).toHaveLength(1);
    const [call] = awsCalls(creates[0] ?? '');
    expect(createGrantRequest(call ?? [])).toEqual({
      KeyId: json.plan.keyArn,
      GranteePrincipal: json.plan.granteePrincipal,
      Operations: json.plan.operations,
      Constraints: { EncryptionContextSubset: json.plan.constraints.encryptionContextSubset },
      Name: json.plan.name,
    });
    expect(commandsIn(out, 'aws kms revoke-grant')).toHaveLength(1);
    expect(out).toContain(`resource "aws_kms_grant"`);
  });

  it("carries the denial as the intake read it (parse's request): a propose result is a plan file for apply", async () => {
    const { out } = await diagnose(['--event', CONSUMER_EVENT, '--account', account('demo')]);
    const io = captureIo();
    await parseCommand.run(['--event', CONSUMER_EVENT], io);
    const parsed = JSON.parse(io.out());
    expect(parsed.match).toBe(true);
    const result = JSON.parse(out);
    expect(result.denial).toEqual(parsed.request);
    expect(Object.keys(result).slice(0, 5)).toEqual(['verdict', 'code', 'reason', 'request', 'denial']);
    // A record that is not a denial has no request, and so no denial.
    const other = JSON.parse(
      (await diagnose(['--event', event('kms-key-rotation.eventbridge.json'), '--account', account('demo')]))
        .out,
    );
    expect(other).toMatchObject({ verdict: 'ignore', request: null });
    expect(other).not.toHaveProperty('denial');
  });

  it('prints the verdict, diagnosis, plan and proof with the field names the issue fixes', async () => {
    const { code, out, err } = await diagnose(['--event', CONSUMER_EVENT, '--account', account('demo')]);
    expect([code, err]).toEqual([0, '']);
    const result = JSON.parse(out);
    expect(result).toMatchObject({
      verdict: 'propose',
      reason: expect.stringContaining('a KMS grant'),
      request: {
        eventId: expect.any(String),
        accountId: '111122223333',
        region: 'us-east-1',
        operation: 'kms:Decrypt',
        principalArn: 'arn:aws:iam::111122223333:role/service-role/orders-consumer',
        keyArn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        streamArn: 'arn:aws:kinesis:us-east-1:111122223333:stream/orders',
      },
      diagnosis: { current: 'implicit-deny', blockingLayers: ['identity-based'] },
      plan: { mechanism: 'kms-grant', operations: ['Decrypt'] },
      proof: { before: 'implicit-deny', after: 'allowed' },
    });
    expect(result.proof.probes.length).toBeGreaterThanOrEqual(3);
  });

  it('tries the preferred mechanism first', async () => {
    const { out } = await diagnose([
      '--event',
      CONSUMER_EVENT,
      '--account',
      account('demo'),
      '--prefer',
      'key-policy-statement',
    ]);
    expect(JSON.parse(out).plan.mechanism).toBe('key-policy-statement');
  });

  it('gives null request, diagnosis, plan and proof for an event that is not a Kinesis KMS denial', async () => {
    const { code, out } = await diagnose([
      '--event',
      event('s3-getobject-vpceaccessdenied.record.json'),
      '--account',
      account('demo'),
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({
      verdict: 'ignore',
      code: 'not-applicable',
      reason: expect.stringContaining('not-kms'),
      request: null,
      diagnosis: null,
      plan: null,
      proof: null,
    });
  });

  it('prints an array, one verdict per record, for a gzipped CloudTrail log file', async () => {
    const records = JSON.parse(readFileSync(event('cloudtrail-log-file.records.json'), 'utf8')).Records;
    const { code, out } = await diagnose([
      '--event',
      event('cloudtrail-log-file.records.json.gz'),
      '--account',
      account('demo'),
    ]);
    expect(code).toBe(0);
    const results = JSON.parse(out);
    expect(results).toHaveLength(records.length);
    expect(results.map((r: { verdict: string }) => r.verdict)).toContain('propose');
  });

  it('reads the event from standard input', async () => {
    const { code, out } = await diagnose(
      ['--event', '-', '--account', account('already-fixed')],
      readFileSync(CONSUMER_EVENT, 'utf8'),
    );
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({
      verdict: 'ignore',
      code: 'already-allowed',
      plan: null,
      proof: null,
    });
  });

  it('exits 1 when a verdict is refuse: a finding keymend will not fix', async () => {
    const { code, out, err } = await diagnose([
      '--event',
      event('consumer-decrypt-denied-explicit-identity.record.json'),
      '--account',
      account('explicit-deny'),
    ]);
    expect([code, err]).toEqual([1, '']);
    expect(JSON.parse(out).verdict).toBe('refuse');
  });

  it("reads 'aws cloudtrail lookup-events' output, one verdict per CloudTrailEvent", async () => {
    const records = JSON.parse(readFileSync(event('cloudtrail-log-file.records.json'), 'utf8')).Records;
    const fromLog = await diagnose([
      '--event',
      event('cloudtrail-log-file.records.json'),
      '--account',
      account('demo'),
    ]);
    const fromLookup = await diagnose(
      ['--event', '-', '--account', account('demo')],
      JSON.stringify(lookupEventsOutput(records)),
    );
    expect(fromLookup.code).toBe(0);
    expect(fromLookup.out).toBe(fromLog.out);
  });

  it('exits 1 saying what was found when the input holds no CloudTrail record', async () => {
    const { code, err } = await diagnose(
      ['--event', '-', '--account', account('demo')],
      readFileSync(account('demo'), 'utf8'),
    );
    expect(code).toBe(1);
    expect(err).toMatch(
      /^keymend diagnose: standard input holds no CloudTrail record: found a JSON object with accountId, accountAlias, region/,
    );
  });

  it.each([
    [['--account', 'x.json'], /--event FILE is required/],
    [['--event', CONSUMER_EVENT], /give --account SNAPSHOT.json or --aws/],
    [['--event', CONSUMER_EVENT, '--account', 'x.json', '--aws'], /not both/],
    [
      ['--event', CONSUMER_EVENT, '--account', 'x.json', '--prefer', 'wildcard'],
      /--prefer must be one of kms-grant/,
    ],
    [['--event', CONSUMER_EVENT, '--bogus'], /unknown option '--bogus'/],
    [['--event', '-', '--account', '-'], /cannot both read standard input/],
  ])('exits 2 on bad options %j', async (argv, message) => {
    const { code, out, err } = await diagnose(argv);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(message);
  });

  it('exits 1 naming the file when the event is not JSON', async () => {
    const { code, err } = await diagnose(['--event', '-', '--account', account('demo')], '{"Records": [');
    expect(code).toBe(1);
    expect(err).toMatch(/standard input is not valid JSON/);
  });

  it('exits 1 naming the snapshot when it cannot be read', async () => {
    const { code, err } = await diagnose([
      '--event',
      CONSUMER_EVENT,
      '--account',
      '/nonexistent/snapshot.json',
    ]);
    expect(code).toBe(1);
    expect(err).toMatch(/cannot read snapshot \/nonexistent\/snapshot.json/);
  });

  it('exits 1 naming the field when the snapshot is invalid', async () => {
    const demo = JSON.parse(readFileSync(account('demo'), 'utf8'));
    demo.keys[0].keyManager = 'SOMEONE';
    const bad = await diagnose(['--event', CONSUMER_EVENT, '--account', '-'], JSON.stringify(demo));
    expect(bad.code).toBe(1);
    expect(bad.out).toBe('');
    expect(bad.err).toMatch(/keys\[0\]\.keyManager/);
  });
});
