import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseCommand } from '../../cli/commands/parse';
import { main } from '../../cli/keymend';
import { EVENTS_DIR } from '../helpers/events';
import { captureIo } from '../helpers/io';
import { lookupEventsOutput } from '../helpers/lookup-events';

const ROOT = path.resolve(__dirname, '../..');
const event = (name: string) => path.join(EVENTS_DIR, name);

async function run(argv: string[], stdin = '') {
  const io = captureIo(stdin);
  const code = await parseCommand.run(argv, io);
  return { code, out: io.out(), err: io.err() };
}

/** Runs parse with standard input holding exactly these bytes. */
async function runBytes(bytes: Buffer) {
  const io = captureIo();
  io.readInput = async () => bytes;
  const code = await parseCommand.run(['--event', '-'], io);
  return { code, out: io.out(), err: io.err() };
}

describe('keymend parse', () => {
  it('prints the request of a match as pretty JSON and exits 0', async () => {
    const { code, out, err } = await run([
      '--event',
      event('consumer-decrypt-denied-service-role.eventbridge.json'),
    ]);
    expect([code, err]).toEqual([0, '']);
    expect(out).toMatch(/^\{\n {2}"match": true,\n {2}"request": \{/);
    expect(JSON.parse(out)).toMatchObject({
      match: true,
      request: {
        principalArn: 'arn:aws:iam::111122223333:role/service-role/orders-consumer',
        operation: 'kms:Decrypt',
      },
    });
  });

  it.each([
    ['consumer-decrypt-success.record.json', 'not-a-denial'],
    ['s3-getobject-vpceaccessdenied.record.json', 'not-kms'],
  ])(
    'prints the reason of a no-match (%s) and still exits 0: it is a CloudTrail record',
    async (name, reason) => {
      const { code, out, err } = await run(['--event', event(name)]);
      expect([code, err]).toEqual([0, '']);
      expect(JSON.parse(out)).toEqual({ match: false, reason, detail: expect.any(String) });
    },
  );

  it('prints the no-match of an event that is not CloudTrail, and exits 1 saying what it was', async () => {
    const { code, out, err } = await run(['--event', event('kms-key-rotation.eventbridge.json')]);
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ match: false, reason: 'not-cloudtrail' });
    expect(err).toMatch(
      /^keymend parse: \S*kms-key-rotation\.eventbridge\.json holds no CloudTrail record: found an EventBridge event of detail-type "KMS CMK Rotation"\n$/,
    );
  });

  it.each([
    ['a plain log file', 'cloudtrail-log-file.records.json'],
    ['a gzipped log file', 'cloudtrail-log-file.records.json.gz'],
  ])('prints one result per record for %s', async (_what, name) => {
    const { code, out } = await run(['--event', event(name)]);
    expect(code).toBe(0);
    const results = JSON.parse(out) as { match: boolean; reason?: string }[];
    expect(results.map((r) => (r.match ? 'match' : r.reason))).toEqual([
      'match',
      'not-a-denial',
      'not-kinesis',
    ]);
  });

  it("reads 'aws cloudtrail lookup-events' output: each CloudTrailEvent unwrapped, as the log file's records", async () => {
    const log = readFileSync(event('cloudtrail-log-file.records.json'), 'utf8');
    const lookup = JSON.stringify(lookupEventsOutput(JSON.parse(log).Records), null, 4);
    const fromLog = await run(['--event', '-'], log);
    const fromLookup = await run(['--event', '-'], lookup);
    expect(fromLookup.code).toBe(0);
    expect(fromLookup.out).toBe(fromLog.out);
    expect(JSON.parse(fromLookup.out)[0]).toMatchObject({ match: true });
  });

  it('exits 1 naming the element when a CloudTrailEvent is not a JSON object', async () => {
    const { code, err } = await run(
      ['--event', '-'],
      JSON.stringify({ Events: [{ CloudTrailEvent: '{"eventVersion": ' }] }),
    );
    expect(code).toBe(1);
    expect(err).toBe('keymend parse: standard input: Events[0].CloudTrailEvent is not a JSON object\n');
  });

  it('reads standard input with --event -, and the --event=FILE form', async () => {
    const text = readFileSync(event('producer-generatedatakey-denied.record.json'), 'utf8');
    const fromStdin = await run(['--event', '-'], text);
    const fromFile = await run([`--event=${event('producer-generatedatakey-denied.record.json')}`]);
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.out).toBe(fromFile.out);
    expect(JSON.parse(fromStdin.out).request.operation).toBe('kms:GenerateDataKey');
  });

  it('detects gzip by its magic bytes, not by the name', async () => {
    const text = readFileSync(event('consumer-decrypt-denied-service-role.eventbridge.json'));
    const { code, out } = await runBytes(gzipSync(text));
    expect(code).toBe(0);
    expect(JSON.parse(out).match).toBe(true);
  });

  it('prints a JSON value that is not an event as a no-match, and exits 1: no CloudTrail record', async () => {
    const { code, out, err } = await run(['--event', '-'], '[1, 2]');
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ match: false, reason: 'not-cloudtrail' });
    expect(err).toBe(
      'keymend parse: standard input holds no CloudTrail record: found a JSON array of 2 elements\n',
    );
  });

  it('exits 1 for a log file with no records: an empty result is not "nothing wrong"', async () => {
    const { code, out, err } = await run(['--event', '-'], '{"Records": []}');
    expect([code, out]).toEqual([1, '[]\n']);
    expect(err).toBe('keymend parse: standard input holds no CloudTrail record (no records at all)\n');
  });

  it.each([
    ['no --event', [], undefined, /^keymend parse: --event FILE is required/],
    ['--event without a value', ['--event'], undefined, /^keymend parse: --event needs a value/],
    [
      'an unknown option',
      ['--event', '-', '--verbose'],
      undefined,
      /^keymend parse: unknown option '--verbose'\. See 'keymend parse --help'\.\n$/,
    ],
    [
      'an option typo',
      ['--evnt', '-'],
      undefined,
      /^keymend parse: unknown option '--evnt'; did you mean --event\?/,
    ],
    ['a stray argument', ['--event', '-', 'extra'], undefined, /^keymend parse: unexpected argument 'extra'/],
    [
      'a value to a flag',
      ['--event', '-', '--jsonl=yes'],
      undefined,
      /^keymend parse: --jsonl takes no value/,
    ],
  ])(
    'exits 2 (usage) with one line on stderr, in keymend words, for %s',
    async (_what, argv, stdin, message) => {
      const { code, out, err } = await run(argv, stdin);
      expect(code).toBe(2);
      expect(out).toBe('');
      expect(err).toMatch(message);
      expect(err).not.toMatch(/To specify a positional|argument missing|ERR_PARSE/);
      expect(err.trimEnd().split('\n')).toHaveLength(1);
    },
  );

  it.each([
    [
      'a missing file',
      ['--event', event('no-such-file.json')],
      undefined,
      /^keymend parse: cannot read .*no-such-file\.json: .*ENOENT/,
    ],
    [
      'invalid JSON',
      ['--event', '-'],
      '{"eventSource": ',
      /^keymend parse: standard input is not valid JSON: /,
    ],
    ['an empty input', ['--event', '-'], '', /^keymend parse: standard input is not valid JSON: /],
  ])('exits 1 (failure) with one line on stderr for %s', async (_what, argv, stdin, message) => {
    const { code, out, err } = await run(argv, stdin);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toMatch(message);
    expect(err.trimEnd().split('\n')).toHaveLength(1);
  });

  it.each([
    [
      'broken gzip',
      Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02]),
      /standard input starts like gzip but cannot be decompressed/,
    ],
    ['bytes that are not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), /standard input is not UTF-8 text/],
  ])('exits 1 for %s', async (_what, bytes, message) => {
    const { code, err } = await runBytes(bytes);
    expect(code).toBe(1);
    expect(err).toMatch(message);
  });

  it('explains every option, the input forms and the exit codes in --help', async () => {
    const io = captureIo();
    expect(await main(['parse', '--help'], io)).toBe(0);
    for (const text of [
      '--event FILE',
      "'-' reads standard input",
      '-h, --help',
      '{"Records": [...]}',
      'gzipped',
      'lookup-events',
      '--output FORMAT',
      'Exit status',
    ]) {
      expect(io.out()).toContain(text);
    }
    for (const reason of [
      'not-cloudtrail',
      'not-kms',
      'not-a-denial',
      'unsupported-operation',
      'not-kinesis',
      'unsupported-principal',
      'malformed',
    ]) {
      expect(io.out()).toContain(reason);
    }
  });

  it('is listed by keymend --help', async () => {
    const io = captureIo();
    await main(['--help'], io);
    expect(io.out()).toMatch(/^\s+parse\s+show what keymend reads/m);
  });
});

describe('keymend parse, end to end through npm (the README command)', () => {
  const npm = (args: string[], input?: string) =>
    spawnSync('npm', ['run', '--silent', 'keymend', '--', 'parse', ...args], {
      cwd: ROOT,
      input,
      encoding: 'utf8',
      timeout: 60_000,
    });

  it('prints the match for the Quick start event and exits 0', () => {
    const result = npm(['--event', 'events/consumer-decrypt-denied-service-role.eventbridge.json']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      match: true,
      request: { streamArn: 'arn:aws:kinesis:us-east-1:111122223333:stream/orders' },
    });
  }, 60_000);

  it('exits 1 with one stderr line for invalid JSON on standard input', () => {
    const result = npm(['--event', '-'], 'not json');
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^keymend parse: standard input is not valid JSON: [^\n]*\n$/);
  }, 60_000);
});
