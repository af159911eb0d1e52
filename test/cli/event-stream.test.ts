import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { recordMaker, writeLogFile } from '../../bench/fixtures/cloudtrail-logs';
import { diagnoseCommand } from '../../cli/commands/diagnose';
import { parseCommand } from '../../cli/commands/parse';
import type { StreamingIo } from '../../cli/log-input';
import { intake } from '../../functions/core/intake';
import { EVENTS_DIR } from '../helpers/events';
import { captureIo } from '../helpers/io';

const event = (name: string) => path.join(EVENTS_DIR, name);
const DEMO = path.join(EVENTS_DIR, 'accounts', 'demo.json');
const CONSUMER_EVENT = event('consumer-decrypt-denied-service-role.eventbridge.json');
const LOG_GZ = event('cloudtrail-log-file.records.json.gz');

const consumer = recordMaker('consumer-decrypt-denied-no-invokedby.record.json');
const success = recordMaker('consumer-decrypt-success.record.json');

let dir: string;
let log: string;
let records: string[];
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'keymend-stream-'));
  log = path.join(dir, 'day.json.gz');
  records = Array.from({ length: 120 }, (_, n) =>
    (n % 3 === 2 ? success : consumer)({
      n,
      session: `s${n}`,
      time: new Date(Date.parse('2026-11-30T00:00:00Z') + n * 1000),
    }),
  );
  await writeLogFile(log, records);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(command: typeof parseCommand, argv: string[], stdin = '') {
  const io = captureIo(stdin);
  const code = await command.run(argv, io);
  return { code, out: io.out(), err: io.err() };
}

describe('parse and diagnose on log files, record by record', () => {
  it('parse prints the same pretty array as before, byte for byte', async () => {
    const { code, out } = await run(parseCommand, ['--event', log]);
    expect(code).toBe(0);
    expect(out).toBe(
      `${JSON.stringify(
        records.map((r) => intake(JSON.parse(r))),
        null,
        2,
      )}\n`,
    );
  });

  it('parse --jsonl prints one compact object per record', async () => {
    const { code, out } = await run(parseCommand, ['--event', log, '--jsonl']);
    expect(code).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(120);
    expect(lines.map((l) => JSON.parse(l).match)).toEqual(records.map((_, n) => n % 3 !== 2));
    expect(lines[0]).toBe(JSON.stringify(intake(JSON.parse(records[0] as string))));
  });

  it('keeps the single-event output as it was; --jsonl makes it one line', async () => {
    const pretty = await run(parseCommand, ['--event', CONSUMER_EVENT]);
    const compact = await run(parseCommand, ['--event', CONSUMER_EVENT, '--format', 'jsonl']);
    expect(pretty.out).toMatch(/^\{\n {2}"match": true/);
    expect(compact.out).toBe(`${JSON.stringify(JSON.parse(pretty.out))}\n`);
  });

  it('diagnose --jsonl gives one verdict per record, in order, each with its code', async () => {
    const { code, out, err } = await run(diagnoseCommand, ['--event', log, '--account', DEMO, '--jsonl']);
    expect([code, err]).toEqual([0, '']);
    const results = out
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(results).toHaveLength(120);
    results.forEach((result, n) => {
      if (n % 3 === 2) expect(result).toMatchObject({ verdict: 'ignore', code: 'not-applicable' });
      else {
        expect(result).toMatchObject({
          verdict: 'propose',
          code: 'propose',
          plan: { mechanism: 'kms-grant' },
        });
        expect(result.request.eventId).toBe(JSON.parse(records[n] as string).eventID);
      }
    });
  });

  it('writes each result before reading the rest of the input', async () => {
    const io: ReturnType<typeof captureIo> & StreamingIo = captureIo();
    const whole = readFileSync(event('cloudtrail-log-file.records.json'));
    const cut = whole.indexOf('},{') + 2;
    let writtenBeforeRest = '';
    io.openStdin = async function* () {
      yield whole.subarray(0, cut);
      await new Promise((resolve) => setImmediate(resolve));
      writtenBeforeRest = io.out();
      yield whole.subarray(cut);
    };
    let drains = 0;
    io.drain = async () => {
      drains++;
    };
    expect(await parseCommand.run(['--event', '-', '--jsonl'], io)).toBe(0);
    expect(writtenBeforeRest.split('\n').filter(Boolean)).toHaveLength(1);
    expect(io.out().trimEnd().split('\n')).toHaveLength(3);
    expect(drains).toBe(3);
  });

  it('reports a truncated log file after writing the results of the records before the cut', async () => {
    const text = `{"Records":[${records.slice(0, 5).join(',')},{"eventVersion":`;
    const { code, out, err } = await run(parseCommand, ['--event', '-', '--jsonl'], text);
    expect(code).toBe(1);
    expect(out.trimEnd().split('\n')).toHaveLength(5);
    expect(err).toBe(
      'keymend parse: standard input is not valid JSON: it ends early, after 5 records (truncated?)\n',
    );
  });

  it.each([
    [parseCommand, ['--event', '/dev/zero'], /^keymend parse: \/dev\/zero is not valid JSON: /],
    [
      parseCommand,
      ['--event', LOG_GZ, '--max-bytes', '2KiB'],
      /^keymend parse: .*records\.json\.gz expands past the 2 KiB limit for decompressed input\n$/,
    ],
    [
      diagnoseCommand,
      ['--event', LOG_GZ, '--account', '/dev/zero'],
      /^keymend diagnose: cannot read snapshot \/dev\/zero: it sent more than the 64 MiB limit for a snapshot\n$/,
    ],
    [
      diagnoseCommand,
      ['--event', LOG_GZ, '--account', DEMO, '--max-bytes', '2KiB'],
      /^keymend diagnose: .*records\.json\.gz expands past the 2 KiB limit/,
    ],
  ])('refuses an input over a limit, naming it (%#)', async (command, argv, message) => {
    const { code, err } = await run(command, argv);
    expect(code).toBe(1);
    expect(err).toMatch(message);
  });

  it('--output text reads as sentences, one block per record', async () => {
    const parsed = await run(parseCommand, ['--event', CONSUMER_EVENT, '--output', 'text']);
    expect(parsed.out).toContain('match: kms:Decrypt by role/service-role/orders-consumer on stream/orders');
    // --format is the older spelling of --output, kept as an alias.
    const diagnosed = await run(diagnoseCommand, ['--event', LOG_GZ, '--account', DEMO, '--format', 'text']);
    expect(diagnosed.code).toBe(0);
    expect(diagnosed.out).toMatch(/^record 1:\npropose \(propose\): /);
    expect(diagnosed.out).toContain('plan: a KMS grant on key/1234abcd-12ab-34cd-56ef-1234567890ab');
    expect(diagnosed.out).toContain('record 3:\nignore (not-applicable): ');
    // Sentences fit 80 columns; code (the manual path's commands and Terraform, indented by four or
    // more) is kept whole so it can be copied, but its comments are wrapped.
    for (const line of diagnosed.out.split('\n')) {
      if (!/^ {4}/.test(line) || /^ *# /.test(line)) expect(line.length).toBeLessThanOrEqual(80);
    }
    expect(diagnosed.out).toContain('    aws kms create-grant \\\n');
  });

  it.each([
    [parseCommand, ['--event', LOG_GZ, '--output', 'yaml'], /--output must be json, jsonl or text/],
    [parseCommand, ['--event', LOG_GZ, '--format', 'yaml'], /--output must be json, jsonl or text/],
    [parseCommand, ['--event', LOG_GZ, '--jsonl', '--format', 'text'], /give one output format/],
    [parseCommand, ['--event', LOG_GZ, '--max-bytes', 'big'], /--max-bytes takes a size/],
    [
      diagnoseCommand,
      ['--event', LOG_GZ, '--aws', '--format', 'yaml'],
      /--output must be json, jsonl or text/,
    ],
    [diagnoseCommand, ['--event', LOG_GZ, '--aws', '--jsonl', '--format', 'text'], /give one output format/],
  ])('exits 2 on bad output options (%#)', async (command, argv, message) => {
    const { code, out, err } = await run(command, argv);
    expect([code, out]).toEqual([2, '']);
    expect(err).toMatch(message);
  });

  it.each([parseCommand, diagnoseCommand])('documents the streaming options in --help ($name)', (command) => {
    for (const text of [
      '--output FORMAT',
      '--format FORMAT',
      '--jsonl',
      '--max-bytes SIZE',
      '1 GiB',
      'Exit status',
    ]) {
      expect(command.help).toContain(text);
    }
  });

  it('through the keymend command, streams standard input and refuses one that goes on past the limit', () => {
    const keymend = (args: string[], input: Buffer) =>
      spawnSync(
        process.execPath,
        ['--import', 'tsx', path.resolve(__dirname, '../../cli/keymend.ts'), ...args],
        {
          input,
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
    const ok = keymend(['parse', '--event', '-', '--jsonl'], readFileSync(LOG_GZ));
    expect([ok.status, ok.stderr]).toEqual([0, '']);
    expect(
      ok.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).match),
    ).toEqual([true, false, false]);
    const endless = keymend(
      ['parse', '--event', '-', '--max-bytes', '1MiB'],
      Buffer.alloc(3 * 1024 * 1024, 0x20),
    );
    expect(endless.status).toBe(1);
    expect(endless.stderr).toBe(
      'keymend parse: standard input is not a regular file and sent more than the 1 MiB limit for one input\n',
    );
  }, 60_000);
});
