import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import {
  DEFAULT_LOG_LIMITS,
  LogFileError,
  type LogInput,
  type LogItem,
  type LogLimits,
  logFilesUnder,
  openLogFile,
  readCloudTrailLog,
} from '../../functions/adapters/cloudtrail-log';
import { EVENTS_DIR } from '../helpers/events';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'keymend-log-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * An input that delivers `bytes` in chunks of the given sizes (cycled), as a file is read: into one
 * buffer used again, which is overwritten with `#` before each chunk (LogInput.chunks), so a reader
 * that kept a chunk past asking for the next reads what is not JSON.
 */
function chunked(bytes: Buffer, sizes: number[] = [bytes.length || 1], name = 'test input'): LogInput {
  async function* chunks() {
    const buffer = Buffer.alloc(Math.max(1, Math.min(bytes.length, Math.max(...sizes))));
    let at = 0;
    for (let k = 0; at < bytes.length; k++) {
      const size = Math.max(1, sizes[k % sizes.length] as number);
      buffer.fill('#');
      const length = bytes.copy(buffer, 0, at, at + size);
      yield buffer.subarray(0, length);
      at += size;
    }
  }
  return { name, chunks: chunks(), regular: false };
}

async function collect(input: LogInput, limits?: LogLimits): Promise<LogItem[]> {
  const items: LogItem[] = [];
  for await (const item of readCloudTrailLog(input, limits)) items.push(item);
  return items;
}

/** The records read and the error, if any, that ended the reading. */
async function collectUntilError(input: LogInput, limits?: LogLimits) {
  const records: unknown[] = [];
  try {
    for await (const item of readCloudTrailLog(input, limits))
      if (item.kind === 'record') records.push(item.record);
    return { records, error: null };
  } catch (error) {
    return { records, error: error as Error };
  }
}

const sampleLog = () => readFileSync(path.join(EVENTS_DIR, 'cloudtrail-log-file.records.json'));

describe('readCloudTrailLog', () => {
  it.each(['cloudtrail-log-file.records.json', 'cloudtrail-log-file.records.json.gz'])(
    'yields the records of %s one by one, as JSON.parse reads them',
    async (name) => {
      const expected = JSON.parse(sampleLog().toString('utf8')).Records;
      const items = await collect(await openLogFile(path.join(EVENTS_DIR, name)));
      expect(items).toEqual(expected.map((record: unknown) => ({ kind: 'record', record })));
    },
  );

  it('reads a record split across one-byte chunks, escapes and brackets in strings included', async () => {
    const records = [
      { a: 'quote " and backslash \\', b: '}]{[', c: ['\\"', { d: '\\\\' }] },
      { e: 'snowman \u2603 and \ud83d\ude00', f: null, g: 12.5e3 },
      'a bare string',
      42,
    ];
    const bytes = Buffer.from(JSON.stringify({ Records: records }, null, 1));
    const items = await collect(chunked(bytes, [1]));
    expect(items.map((i) => (i.kind === 'record' ? i.record : null))).toEqual(records);
  });

  it('reads any records chunked anyhow exactly as JSON.parse does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.jsonValue(), { maxLength: 6 }),
        // A record within one chunk is framed by the WebAssembly framer, one across chunks byte by byte.
        fc.array(fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constant(1 << 20)), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.boolean(),
        async (records, sizes, pretty) => {
          const text = JSON.stringify({ Records: records, other: { x: [1, '}'] } }, null, pretty ? 2 : 0);
          const items = await collect(chunked(Buffer.from(text), sizes));
          expect(items).toEqual(
            (JSON.parse(text).Records as unknown[]).map((record) => ({ kind: 'record', record })),
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it('reads records nested 40 deep, and records of megabytes', async () => {
    let deep: unknown = { s: 'a "quoted" ]} string \\', n: [1, { t: true }] };
    for (let level = 0; level < 40; level++) deep = level % 3 ? [deep, level] : { level, deep };
    const large = { eventVersion: '1.08', strings: Array.from({ length: 100_000 }, (_, i) => `s${i}\\"}`) };
    const records = [{ a: 1 }, deep, large, { eventVersion: '1.08', deep }, 'last'];
    const bytes = Buffer.from(JSON.stringify({ Records: records }));
    for (const sizes of [[bytes.length], [65_536]]) {
      const items = await collect(chunked(bytes, sizes));
      expect(items).toEqual(records.map((record) => ({ kind: 'record', record })));
    }
  });

  it('refuses an element of 12 MB in one chunk by the record limit, not a crash', async () => {
    const bytes = Buffer.from(`{"Records":[{"a":[${Array(3_000_000).fill('"x"').join(',')}]}]}`);
    const { records, error } = await collectUntilError(chunked(bytes));
    expect(records).toEqual([]);
    expect(error).toBeInstanceOf(LogFileError);
    expect(error?.message).toBe('test input: record 1 is larger than the 8 MiB limit for one record');
  });

  it.each([
    ['an EventBridge event', { 'detail-type': 'AWS API Call via CloudTrail', detail: { Records: [1] } }],
    ['a record whose first key is not Records', { eventSource: 'kms.amazonaws.com', Records: [1, 2] }],
    ['Records that is not an array', { Records: { a: 1 } }],
    ['an array', [1, 2]],
    ['an empty object', {}],
  ])('yields %s as one event', async (_what, value) => {
    const items = await collect(chunked(Buffer.from(JSON.stringify(value)), [3]));
    expect(items).toEqual([{ kind: 'event', event: value }]);
  });

  it('reports a truncated log file after the records before the cut, naming the file', async () => {
    const text = sampleLog().toString('utf8');
    const cut = text.indexOf('},{', text.indexOf('},{') + 3) + 1;
    const { records, error } = await collectUntilError(
      chunked(Buffer.from(text.slice(0, cut + 1)), [7], 'cut.json'),
    );
    expect(records).toHaveLength(2);
    expect(error).toBeInstanceOf(LogFileError);
    expect(error?.message).toMatch(/^cut\.json is not valid JSON: it ends early, after 2 records/);
  });

  it.each([
    ['a broken record', '{"Records":[{"a":1},{"b":tru}]}', /^bad\.json is not valid JSON: record 2: /],
    [
      'a missing comma',
      '{"Records":[{"a":1} {"b":2}]}',
      /^bad\.json is not valid JSON: expected , or \] after a record at byte 20/,
    ],
    ['data after the end', '{"Records":[]} x', /^bad\.json is not valid JSON: unexpected data after the end/],
    [
      'bytes that are not UTF-8 in a record',
      Buffer.from([...Buffer.from('{"Records":[{"a":"'), 0xff, ...Buffer.from('"}]}')]),
      /^bad\.json is not UTF-8 text \(record 1\)/,
    ],
    ['an empty input', '', /^bad\.json is not valid JSON: /],
    ['a document cut short', '{"eventSource": ', /^bad\.json is not valid JSON: /],
    ['a document that is not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), /^bad\.json is not UTF-8 text$/],
  ])('reports %s as one line naming the input', async (_what, content, message) => {
    const { error } = await collectUntilError(chunked(Buffer.from(content), [5], 'bad.json'));
    expect(error).toBeInstanceOf(LogFileError);
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toMatch(/\n/);
  });

  it('reports a truncated gzip and a broken one', async () => {
    const gz = gzipSync(sampleLog());
    const truncated = await collectUntilError(chunked(gz.subarray(0, gz.length - 20), [100], 'day.json.gz'));
    expect(truncated.error?.message).toMatch(
      /^day\.json\.gz starts like gzip but cannot be decompressed: .*end of file/,
    );
    const broken = await collectUntilError(chunked(Buffer.from([0x1f, 0x8b, 0x08, 0x00, 1, 2]), [2], 'x.gz'));
    expect(broken.error?.message).toMatch(/^x\.gz starts like gzip but cannot be decompressed/);
  });

  it('refuses a gzip that expands past the limit, naming the limit', async () => {
    const bomb = gzipSync(Buffer.from(`{"Records":[1,"${'x'.repeat(4_000_000)}"]}`));
    expect(bomb.length).toBeLessThan(10_000);
    const limits = { ...DEFAULT_LOG_LIMITS, maxExpandedBytes: 1024 * 1024 };
    const { records, error } = await collectUntilError(chunked(bomb, [512], 'bomb.json.gz'), limits);
    expect(error?.message).toBe('bomb.json.gz expands past the 1 MiB limit for decompressed input');
    expect(records).toEqual([1]);
  });

  it('refuses an input that is not a regular file once it sends more than the limit', async () => {
    let sent = 0;
    async function* endless() {
      const spaces = Buffer.alloc(64 * 1024, 0x20);
      for (;;) {
        sent += spaces.length;
        yield spaces;
      }
    }
    const limits = { ...DEFAULT_LOG_LIMITS, maxInputBytes: 2 * 1024 * 1024 };
    const { error } = await collectUntilError(
      { name: 'standard input', chunks: endless(), regular: false },
      limits,
    );
    expect(error?.message).toBe(
      'standard input is not a regular file and sent more than the 2 MiB limit for one input',
    );
    expect(sent).toBeLessThanOrEqual(3 * 1024 * 1024);
  });

  it('refuses /dev/zero at once, without reading it to the end', async () => {
    const { error } = await collectUntilError(await openLogFile('/dev/zero'));
    expect(error?.message).toMatch(/^\/dev\/zero is not valid JSON: /);
  });

  it('refuses a regular file over the input limit before reading it', async () => {
    const file = path.join(dir, 'big.json');
    writeFileSync(file, `{"Records":[${' '.repeat(3000)}]}`);
    await expect(openLogFile(file, { ...DEFAULT_LOG_LIMITS, maxInputBytes: 2048 })).rejects.toThrow(
      `${file} is 2.9 KiB, over the 2 KiB limit for one input`,
    );
  });

  it('refuses a record over the record limit', async () => {
    const text = JSON.stringify({ Records: [{ a: 'x'.repeat(5000) }] });
    const { error } = await collectUntilError(chunked(Buffer.from(text), [100], 'r.json'), {
      ...DEFAULT_LOG_LIMITS,
      maxRecordBytes: 4096,
    });
    expect(error?.message).toBe('r.json: record 1 is larger than the 4 KiB limit for one record');
  });

  it('admits a normal day by default: 200,000 records of the samples size expand well under the limit', () => {
    const records = JSON.parse(sampleLog().toString('utf8')).Records as unknown[];
    const largest = Math.max(...records.map((r) => JSON.stringify(r).length));
    expect(200_000 * largest).toBeLessThan(DEFAULT_LOG_LIMITS.maxExpandedBytes / 2);
    expect(DEFAULT_LOG_LIMITS.maxInputBytes).toBeGreaterThan(23 * 1024 * 1024);
  });

  it('names a file it cannot open', async () => {
    await expect(openLogFile(path.join(dir, 'missing.json'))).rejects.toThrow(
      /^cannot read .*missing\.json: .*ENOENT/,
    );
  });
});

describe('logFilesUnder', () => {
  it('walks directories recursively in name order for .json and .json.gz, and keeps named files', async () => {
    const root = path.join(dir, 'walk');
    await mkdir(path.join(root, 'b', 'c'), { recursive: true });
    for (const name of ['b/c/z.json.gz', 'b/y.json', 'a.json', 'notes.txt', 'b/c/readme.md']) {
      writeFileSync(path.join(root, name), '{}');
    }
    const named = path.join(root, 'notes.txt');
    const files: string[] = [];
    for await (const file of logFilesUnder([root, named])) files.push(path.relative(root, file));
    expect(files).toEqual([
      'a.json',
      path.join('b', 'y.json'),
      path.join('b', 'c', 'z.json.gz'),
      'notes.txt',
    ]);
  });
});
