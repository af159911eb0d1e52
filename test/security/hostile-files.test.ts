/**
 * Snapshots and event files as hostile as events: nesting that would overflow the stack, byte-order
 * marks, invalid UTF-8, gzip, UTF-16 and UTF-32, control bytes and escape sequences in every place a
 * message quotes. Every refusal is one line of printable ASCII that names the field or the encoding.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { diagnoseCommand } from '../../cli/commands/diagnose';
import { evaluateCommand } from '../../cli/commands/evaluate';
import { parseCommand } from '../../cli/commands/parse';
import { decodeFileText } from '../../functions/adapters/file-text';
import { loadSnapshotFile, parseSnapshotText, SnapshotReader } from '../../functions/adapters/snapshot';
import { InputError, SnapshotError } from '../../functions/commons/errors';
import { EVENTS_DIR } from '../helpers/events';
import { captureIo } from '../helpers/io';

const DEMO_TEXT = readFileSync(path.join(EVENTS_DIR, 'accounts', 'demo.json'), 'utf8');
const EVENT = path.join(EVENTS_DIR, 'consumer-decrypt-denied-service-role.eventbridge.json');
const EVENT_TEXT = readFileSync(EVENT, 'utf8');
const CONSUMER_SESSION = 'arn:aws:sts::111122223333:assumed-role/orders-consumer/i-0abc123';
const ORDERS_KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ORDERS = 'arn:aws:kinesis:us-east-1:111122223333:stream/orders';

const dir = mkdtempSync(path.join(tmpdir(), 'keymend-hostile-'));
let fileCount = 0;
function file(contents: string | Uint8Array): string {
  const name = path.join(dir, `f${fileCount++}.json`);
  writeFileSync(name, contents);
  return name;
}

// biome-ignore lint/suspicious/noExplicitAny: hostile snapshots are built by breaking the demo field by field.
type Snap = any;
const demo = (): Snap => JSON.parse(DEMO_TEXT);

/** The demo snapshot with `marker` (a JSON string) replaced by `nesting` levels of `open`...`close`. */
function deeplyNested(place: (s: Snap) => void, levels: number, open = '{"a":', close = '}'): string {
  const s = demo();
  place(s);
  return JSON.stringify(s).replace('"@@NEST@@"', `${open.repeat(levels)}1${close.repeat(levels)}`);
}

async function run(command: typeof diagnoseCommand, argv: string[]) {
  const io = captureIo();
  const code = await command.run(argv, io);
  return { code, out: io.out(), err: io.err() };
}

const diagnoseWith = (account: string, event = EVENT) =>
  run(diagnoseCommand, ['--event', event, '--account', account]);
const evaluateWith = (account: string) =>
  run(evaluateCommand, [
    '--account',
    account,
    '--principal',
    CONSUMER_SESSION,
    '--action',
    'kms:Decrypt',
    '--resource',
    ORDERS_KEY,
    '--via-kinesis',
    ORDERS,
  ]);

/** One line of printable ASCII ending in a newline: no escape sequence, NUL, bell or bidi override. */
const ONE_PRINTABLE_LINE = /^[\x20-\x7e]+\n$/;

describe('deeply nested policies', () => {
  const places: [string, (s: Snap) => void, string][] = [
    [
      'a key policy condition',
      (s) => {
        s.keys[0].policy.Statement[0].Condition = { StringEquals: { 'kms:ViaService': '@@NEST@@' } };
      },
      'keys[0].policy',
    ],
    [
      "a principal's inline policy",
      (s) => {
        const first = Object.keys(s.principals[0].inlinePolicies)[0] as string;
        s.principals[0].inlinePolicies[first].Statement = '@@NEST@@';
      },
      'principals[0].inlinePolicies',
    ],
    [
      'a permissions boundary',
      (s) => {
        s.principals[0].permissionsBoundary = { Version: '2012-10-17', Statement: '@@NEST@@' };
      },
      'principals[0].permissionsBoundary',
    ],
    [
      'a service control policy',
      (s) => {
        s.organization = {
          serviceControlPolicies: [
            [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Resource: '@@NEST@@' }] }],
          ],
        };
      },
      'organization.serviceControlPolicies[0][0]',
    ],
  ];

  it.each(places)(
    'in %s, 5,000 levels: a SnapshotError naming the document, not a stack overflow',
    (_name, place, field) => {
      const text = deeplyNested(place, 5000);
      const error = catchError(() => parseSnapshotText(text, 'deep.json'));
      expect(error).toBeInstanceOf(SnapshotError);
      expect((error as SnapshotError).field.startsWith(field)).toBe(true);
      expect((error as Error).message).toMatch(
        /nested deeper than 32 levels \(at .+\); a policy document nests about six \(in snapshot deep\.json\)$/,
      );
      expect((error as Error).message.length).toBeLessThan(600);
    },
  );

  it('arrays nest as deep as objects and are refused the same way', () => {
    const text = deeplyNested(
      (s) => {
        s.keys[0].policy.Statement[0].Resource = '@@NEST@@';
      },
      100_000,
      '[',
      ']',
    );
    const error = catchError(() => parseSnapshotText(text, 'deep.json'));
    expect(error).toBeInstanceOf(SnapshotError);
    expect((error as SnapshotError).field).toBe('keys[0].policy');
  });

  it('a document at the limit still loads and is refused by the evaluator as a value, not by a crash', async () => {
    // Document (1) > Statement array (2) > statement (3) > Condition (4) > operator (5): 27 more is 32.
    const text = deeplyNested((s) => {
      s.keys[0].policy.Statement[0].Condition = { StringEquals: { 'kms:ViaService': '@@NEST@@' } };
    }, 26);
    expect(() => new SnapshotReader(parseSnapshotText(text, 'x.json'))).not.toThrow();
    const { code, err } = await diagnoseWith(file(text));
    expect(err).not.toMatch(/call stack/i);
    expect([0, 1, 2]).toContain(code);
  });

  it('through the CLI: exit 1 and one line naming the field', async () => {
    const account = file(
      deeplyNested((s) => {
        s.keys[0].policy.Statement[0].Condition = { StringEquals: { 'kms:ViaService': '@@NEST@@' } };
      }, 5000),
    );
    for (const result of [await diagnoseWith(account), await evaluateWith(account)]) {
      expect(result.code).toBe(1);
      expect(result.err).toMatch(ONE_PRINTABLE_LINE);
      expect(result.err).toContain('keys[0].policy: nested deeper than 32 levels');
      expect(result.out).toBe('');
    }
  });
});

describe('encodings', () => {
  const plain = Buffer.from(DEMO_TEXT, 'utf8');

  it('a UTF-8 byte-order mark is accepted: the same diagnosis as without it', async () => {
    const withBom = await diagnoseWith(file(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), plain])));
    const without = await diagnoseWith(file(plain));
    expect(withBom.code).toBe(0);
    expect(withBom).toEqual(without);
    const eventWithBom = await diagnoseWith(
      file(plain),
      file(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(EVENT_TEXT)])),
    );
    expect(eventWithBom).toEqual(without);
  });

  it('a gzipped snapshot is read (as CloudTrail log files are): the same diagnosis', async () => {
    expect(await diagnoseWith(file(gzipSync(plain)))).toEqual(await diagnoseWith(file(plain)));
    expect(await loadSnapshotFile(file(gzipSync(plain)))).toEqual(await loadSnapshotFile(file(plain)));
  });

  it('invalid UTF-8 is refused with the offset, never replaced by U+FFFD and diagnosed', async () => {
    // A lone 0xff where the consumer's role name starts: decoded leniently it would be "\ufffdrders-consumer".
    const at = plain.indexOf('orders-consumer');
    const broken = Buffer.from(plain);
    broken[at] = 0xff;
    const error = await loadSnapshotFile(file(broken)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(/is not valid UTF-8 \(near byte offset (\d+)\)/);
    const offset = Number(/offset (\d+)/.exec((error as Error).message)?.[1]);
    expect(offset).toBeGreaterThanOrEqual(at - 3);
    expect(offset).toBeLessThanOrEqual(at + 1);

    const { code, out, err } = await diagnoseWith(file(broken));
    expect([code, out]).toEqual([1, '']);
    expect(err).toMatch(ONE_PRINTABLE_LINE);
    expect(err).toContain('is not valid UTF-8');
  });

  it('a sequence cut short at the end of the file is invalid too', () => {
    expect(() => decodeFileText(Buffer.concat([plain, Buffer.from([0xe2, 0x82])]), 'cut.json')).toThrow(
      /cut\.json is not valid UTF-8/,
    );
  });

  const utf16le = Buffer.from(DEMO_TEXT, 'utf16le');
  const utf16be = Buffer.from(utf16le).swap16();
  const encodings: [string, Buffer, RegExp][] = [
    [
      'UTF-16LE with a mark',
      Buffer.concat([Buffer.from([0xff, 0xfe]), utf16le]),
      /UTF-16 \(little-endian, with a byte-order mark\)/,
    ],
    [
      'UTF-16BE with a mark',
      Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be]),
      /UTF-16 \(big-endian, with a byte-order mark\)/,
    ],
    ['UTF-16LE without a mark', utf16le, /UTF-16 \(little-endian\)/],
    ['UTF-16BE without a mark', utf16be, /UTF-16 \(big-endian\)/],
    ['UTF-32LE with a mark', Buffer.from([0xff, 0xfe, 0, 0, 0x7b, 0, 0, 0]), /UTF-32 \(little-endian/],
    [
      'gzipped UTF-16',
      gzipSync(Buffer.concat([Buffer.from([0xff, 0xfe]), utf16le])),
      /( \(after gunzip\))? is UTF-16/,
    ],
    [
      'gzip cut short',
      gzipSync(plain).subarray(0, 40),
      /(is gzip-compressed|starts like gzip) but cannot be decompressed/,
    ],
  ];

  it.each(encodings)('%s: refused with one line naming the encoding', async (_name, bytes, message) => {
    const account = file(bytes);
    const error = await loadSnapshotFile(account).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(message);
    for (const result of [await diagnoseWith(account), await evaluateWith(account)]) {
      expect(result.code).toBe(1);
      expect(result.err).toMatch(ONE_PRINTABLE_LINE);
      expect(result.err).toMatch(message);
    }
    const asEvent = await run(parseCommand, ['--event', account]);
    expect(asEvent.code).toBe(1);
    expect(asEvent.err).toMatch(ONE_PRINTABLE_LINE);
    expect(asEvent.err).toMatch(message);
  });
});

describe('no error message writes raw control bytes to a terminal', () => {
  const EVIL = 'x\u001b]0;owned\u0007\u001b[2J\u0000\r\nFAKE: ok\u202e\u2028\u007f';
  const hostile: [string, () => string][] = [
    [
      'a principal ARN',
      () => {
        const s = demo();
        s.principals[0].arn = `arn:aws:iam::111122223333:role/${EVIL}`;
        return JSON.stringify(s);
      },
    ],
    [
      'a key ARN',
      () => {
        const s = demo();
        s.keys[0].arn = EVIL;
        return JSON.stringify(s);
      },
    ],
    [
      'an unknown field name',
      () => {
        const s = demo();
        s.keys[0][EVIL] = 1;
        return JSON.stringify(s);
      },
    ],
    [
      'an inline policy name',
      () => {
        const s = demo();
        s.principals[0].inlinePolicies[EVIL] = { Statement: [] };
        return JSON.stringify(s);
      },
    ],
    [
      'an alias',
      () => {
        const s = demo();
        s.keys[0].aliases = [`alias/${EVIL}`];
        return JSON.stringify(s);
      },
    ],
    [
      'a grant principal',
      () => {
        const s = demo();
        s.keys[0].grants = [{ grantId: 'g', granteePrincipal: EVIL, operations: ['Decrypt'] }];
        return JSON.stringify(s);
      },
    ],
    ['raw bytes where JSON breaks', () => `{"accountId": "111122223333", ${EVIL}`],
    [
      'a policy the evaluator refuses',
      () => {
        const s = demo();
        s.keys[0].policy.Statement[0].Effect = EVIL;
        return JSON.stringify(s);
      },
    ],
    ['a 1 MB ARN', () => JSON.stringify({ ...demo(), region: `${EVIL}${'x'.repeat(1_000_000)}` })],
  ];

  it.each(hostile)('%s: escaped, one line, capped', async (_name, build) => {
    const account = file(build());
    for (const result of [await diagnoseWith(account), await evaluateWith(account)]) {
      // A policy the evaluator cannot read may still be diagnosed (as uncertain): then stdout holds it.
      expect(result.out).toMatch(/^[\x20-\x7e\n]*$/);
      // A verdict (a refusal exits 1 too) is on stdout with nothing on stderr.
      if (result.code === 0 || (result.err === '' && result.out !== '')) continue;
      expect(result.err).toMatch(ONE_PRINTABLE_LINE);
      expect(result.err.length).toBeLessThan(3000);
      expect(result.err).not.toContain('FAKE: ok\n');
    }
  });

  it('the escaped message still shows what was there', async () => {
    const s = demo();
    s.keys[0].arn = EVIL;
    const { err } = await diagnoseWith(file(JSON.stringify(s)));
    expect(err).toContain('keys[0].arn');
    expect(err).toContain('\\u001b]0;owned\\u0007');
    expect(err).toContain('\\u0000\\r\\nFAKE: ok\\u202e\\u2028\\u007f');
  });

  it('a file name with control bytes is escaped too', async () => {
    const evilName = path.join(dir, 'evil\u001b[31m\nname.json');
    writeFileSync(evilName, Buffer.from([0xff, 0xfe, 0x7b, 0x00]));
    const result = await diagnoseWith(evilName);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(ONE_PRINTABLE_LINE);
    expect(result.err).toContain('evil\\u001b[31m\\nname.json');
    const missing = await diagnoseWith(path.join(dir, 'missing\u0007.json'));
    expect(missing.err).toMatch(ONE_PRINTABLE_LINE);
  });

  it('an unknown command or option with control bytes is escaped', async () => {
    const { main } = await import('../../cli/keymend');
    const io = captureIo();
    expect(await main([`diag\u001b[2Jnose`], io)).toBe(2);
    expect(io.err()).toMatch(ONE_PRINTABLE_LINE);
    const option = await run(diagnoseCommand, [`--ev\u001b[2Jent`, EVENT]);
    expect(option.code).toBe(2);
    expect(option.err).toMatch(ONE_PRINTABLE_LINE);
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
