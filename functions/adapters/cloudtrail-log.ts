/**
 * Reading CloudTrail log files as CloudTrail delivers them to S3 (`{"Records":[...]}`, plain or
 * gzipped), one record at a time, with memory that does not grow with the file: a small byte-level
 * scanner finds each element of the top-level `Records` array (a record within one chunk framed by
 * a small WebAssembly module, json-frame.ts) and only that element is `JSON.parse`d (by
 * scanCloudTrailLog, only when its bytes can be a denied KMS call). A document that is not a log
 * file (an EventBridge event, a bare record) is read whole, under its own limit. Every input has a
 * stated size limit, checked before reading where the size is known (a regular file) and counted as bytes arrive otherwise (a pipe, a device, what a
 * gzip expands to). Problems come back as LogFileError, one line naming the input.
 */
import type { Stats } from 'node:fs';
import { open, opendir, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InputError } from '../commons/errors';
import { CONVERT_HINT, otherEncoding, startsWith, UTF8_BOM } from './file-text';
import { ChunkFramer, markersMayBeKmsDenial } from './json-frame';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** The size limits of one input. */
export interface LogLimits {
  /**
   * Bytes of one input as stored: a regular file's size (checked before it is opened), or what is
   * read from a pipe, standard input or a device.
   * @default 1 GiB
   */
  maxInputBytes: number;
  /**
   * Bytes a gzipped input may expand to. A day of one busy Region's CloudTrail logs is a few
   * hundred MB expanded.
   * @default 1 GiB
   */
  maxExpandedBytes: number;
  /** Bytes of one element of `Records` (CloudTrail records are at most a few hundred KB). @default 8 MiB */
  maxRecordBytes: number;
  /** Bytes of a document that is not a log file (an event or a record), read whole. @default 32 MiB */
  maxEventBytes: number;
}

export const DEFAULT_LOG_LIMITS: Readonly<LogLimits> = Object.freeze({
  maxInputBytes: GiB,
  maxExpandedBytes: GiB,
  maxRecordBytes: 8 * MiB,
  maxEventBytes: 32 * MiB,
});

/** One input that cannot be read as a CloudTrail document; the message names the input. */
export class LogFileError extends InputError {
  override readonly name: string = 'LogFileError';
  constructor(
    /** The input as the user named it (`standard input` for `-`). */
    readonly input: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What a document holds: the records of a log file one by one, or one other JSON document. */
export type LogItem = { kind: 'record'; record: unknown } | { kind: 'event'; event: unknown };

/** What {@link scanCloudTrailLog} yields: a LogItem, or how many records it counted without parsing. */
export type ScanItem = LogItem | { kind: 'skipped'; count: number };

/** A byte source with the name to use in messages. */
export interface LogInput {
  name: string;
  /**
   * The bytes, a chunk at a time. A chunk may be overwritten once the next one is asked for (a file
   * is read into one buffer, again and again): a reader that keeps bytes past that copies them.
   */
  chunks: AsyncIterable<Uint8Array>;
  /** True for a regular file, whose size was checked before opening. */
  regular: boolean;
}

/** `1 GiB`, `23.4 MB`: sizes in messages. */
export function formatBytes(bytes: number): string {
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB} GiB`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= GiB) return `${(bytes / GiB).toFixed(1)} GiB`;
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

/** One line of printable text, whatever the message holds (JSON.parse quotes the input it rejects). */
function oneLine(error: unknown): string {
  // Not `instanceof Error`: errors from node's own realm fail it under test runners' sandboxes.
  const message = (error as { message?: unknown } | null)?.message;
  const text = typeof message === 'string' ? message : String(error);
  return text
    .replace(/\s+/g, ' ')
    .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .trim();
}

/**
 * Opens a file for reading, refusing one whose size is over `maxInputBytes` before reading a byte.
 * Something that is not a regular file (a FIFO, `/dev/zero`) is read with the same limit counted.
 * @throws LogFileError when it cannot be read, is a directory, or is too large.
 */
export async function openLogFile(file: string, limits: LogLimits = DEFAULT_LOG_LIMITS): Promise<LogInput> {
  let info: Stats;
  try {
    info = await stat(file);
  } catch (error) {
    throw new LogFileError(file, `cannot read ${file}: ${oneLine(error)}`, { cause: error });
  }
  if (info.isDirectory()) throw new LogFileError(file, `cannot read ${file}: it is a directory`);
  if (info.isFile() && info.size > limits.maxInputBytes) {
    throw new LogFileError(
      file,
      `${file} is ${formatBytes(info.size)}, over the ${formatBytes(limits.maxInputBytes)} limit for one input`,
    );
  }
  return { name: file, chunks: fileChunks(file), regular: info.isFile() };
}

/** Bytes read from a file at once. */
const READ_BYTES = 1024 * 1024;

/**
 * A file's bytes, read into one buffer again and again (see LogInput.chunks): a scan allocates
 * nothing per read. With a fresh buffer for every read (as a read stream makes), a scan allocates
 * as much outside the heap as it reads, for V8 to account and collect, and took about a sixth
 * longer in paired runs (docs/performance.md, scan).
 */
async function* fileChunks(file: string): AsyncGenerator<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(READ_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, READ_BYTES, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/** The regular files to read under `paths`: files as given, directories walked for `.json` and `.json.gz`. */
export async function* logFilesUnder(paths: readonly string[]): AsyncGenerator<string> {
  for (const p of paths) {
    let info: Stats | null = null;
    try {
      info = await stat(p);
    } catch {
      // openLogFile names the problem when the path is read.
    }
    if (info?.isDirectory()) yield* walk(p);
    else yield p;
  }
}

async function* walk(dir: string): AsyncGenerator<string> {
  const files: string[] = [];
  const dirs: string[] = [];
  // A directory's names are read and sorted (so output is in a stable order); only names are held.
  for await (const entry of await opendir(dir)) {
    const full = path.join(dir, entry.name);
    // Symbolic links to directories are not followed: they could loop.
    if (entry.isDirectory()) dirs.push(full);
    else if ((entry.isFile() || entry.isSymbolicLink()) && /\.json(\.gz)?$/i.test(entry.name))
      files.push(full);
  }
  files.sort();
  dirs.sort();
  yield* files;
  for (const d of dirs) yield* walk(d);
}

async function* capped(
  chunks: AsyncIterable<Uint8Array>,
  max: number,
  tooMuch: () => string,
): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of chunks) {
    total += chunk.length;
    if (total > max) throw new LogFileError('', tooMuch());
    yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
  }
}

/** The input's bytes, inflated when they start with the gzip magic bytes; both counted against limits. */
async function* plainBytes(input: LogInput, limits: LogLimits): AsyncGenerator<Buffer> {
  const name = input.name;
  const raw = capped(input.chunks, limits.maxInputBytes, () =>
    input.regular
      ? `${name} grew past the ${formatBytes(limits.maxInputBytes)} limit for one input while being read`
      : `${name} is not a regular file and sent more than the ${formatBytes(limits.maxInputBytes)} limit for one input`,
  );
  const iterator = raw[Symbol.asyncIterator]();
  try {
    yield* inflated(iterator, name, limits);
  } finally {
    await iterator.return?.(undefined);
  }
}

async function* inflated(
  iterator: AsyncIterator<Buffer>,
  name: string,
  limits: LogLimits,
): AsyncGenerator<Buffer> {
  const head: Buffer[] = [];
  let headLength = 0;
  let done = false;
  while (headLength < 2) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    head.push(Buffer.from(next.value));
    headLength += next.value.length;
  }
  const first = Buffer.concat(head);
  if (!(first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b)) {
    if (first.length) yield first;
    if (!done) {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    }
    return;
  }
  // zlib may hold a chunk after asking for the next (it inflates on Node's thread pool): copies.
  async function* compressed(): AsyncGenerator<Buffer> {
    yield first;
    if (done) return;
    for (let next = await iterator.next(); !next.done; next = await iterator.next())
      yield Buffer.from(next.value);
  }
  const source = Readable.from(compressed(), { objectMode: false });
  // Output in pieces of 1 MiB (zlib's default is 16 KiB): fewer callbacks and scan calls, and less of
  // the main thread spent on the stream (about half of it with 256 KiB pieces, by event-loop use).
  const gunzip = createGunzip({ chunkSize: 1024 * 1024 });
  pipeline(source, gunzip, () => {
    // Errors reach the consumer through the gunzip stream's iterator.
  });
  let expanded = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      expanded += chunk.length;
      if (expanded > limits.maxExpandedBytes) {
        throw new LogFileError(
          name,
          `${name} expands past the ${formatBytes(limits.maxExpandedBytes)} limit for decompressed input`,
        );
      }
      yield chunk;
    }
  } catch (error) {
    if (error instanceof LogFileError) throw error;
    throw new LogFileError(name, `${name} starts like gzip but cannot be decompressed: ${oneLine(error)}`, {
      cause: error,
    });
  } finally {
    gunzip.destroy();
    source.destroy();
  }
}

/**
 * The bytes after a UTF-8 byte-order mark, if any; an input in UTF-16 or UTF-32 is refused with an
 * error naming the encoding (adapters/file-text.ts), not scanned as bytes that are not JSON.
 */
async function* utf8Bytes(chunks: AsyncIterable<Buffer>, name: string): AsyncGenerator<Buffer> {
  let head = Buffer.alloc(0);
  let checked = false;
  for await (const chunk of chunks) {
    if (checked) {
      yield chunk;
      continue;
    }
    head = Buffer.concat([head, chunk]);
    if (head.length < 4) continue;
    checked = true;
    yield checkHead(head, name);
  }
  if (!checked && head.length > 0) yield checkHead(head, name);
}

function checkHead(head: Buffer, name: string): Buffer {
  const other = otherEncoding(head);
  if (other !== null) throw new LogFileError(name, `${name} is ${other} text; ${CONVERT_HINT}`);
  return startsWith(head, UTF8_BOM) ? head.subarray(UTF8_BOM.length) : head;
}

/**
 * The records of a CloudTrail log file, one at a time, or the one document of any other JSON file.
 * A log file is a JSON object whose first key is `Records`, holding an array (as CloudTrail writes
 * it); its other top-level keys are skipped. Records already yielded stay yielded when a later
 * part of the file turns out corrupt or truncated: the error comes after them.
 * @throws LogFileError naming the input and the problem.
 */
export async function* readCloudTrailLog(
  input: LogInput,
  limits: LogLimits = DEFAULT_LOG_LIMITS,
): AsyncGenerator<LogItem> {
  for await (const item of readItems(input, limits, false)) {
    if (item.kind !== 'skipped') yield item;
  }
}

/**
 * Like {@link readCloudTrailLog}, for a reader that wants only the records that can be a denied KMS
 * call (`keymend scan`): a record of a log file is `JSON.parse`d only when its bytes can be one
 * ({@link markersMayBeKmsDenial} as the framer saw them, {@link mayBeKmsDenial} for a record that
 * went on into the next chunk); the others are counted, not parsed, and reported as `skipped` items
 * (one per chunk read, with how many). A skipped record's framing is still checked (its strings
 * and brackets end, the array goes on), but not the JSON inside it, nor its UTF-8. A document that
 * is not a log file is parsed whole, as by readCloudTrailLog.
 * @throws LogFileError naming the input and the problem.
 */
export function scanCloudTrailLog(
  input: LogInput,
  limits: LogLimits = DEFAULT_LOG_LIMITS,
): AsyncGenerator<ScanItem> {
  return readItems(input, limits, true);
}

/**
 * The bytes every record that intake() matches must hold: its `eventSource` is exactly
 * `kms.amazonaws.com` and its `errorCode` `AccessDenied` or `AccessDeniedException`, both starting
 * with `AccessDenied`. JSON may spell any character of a string as a `\uXXXX` escape (and `/` as
 * `\/`, which neither holds), so a record where either is missing as plain bytes is still parsed
 * when it has a backslash followed by `u` anywhere: the filter may let through a record that is
 * not a denial (intake then says why), never drop one that is. The framer (json-frame.wat) asks the
 * same of a record's strings as it frames them: one that starts with each marker, or a `\u`.
 */
const KMS_SOURCE = 'kms.amazonaws.com';
const ACCESS_DENIED = 'AccessDenied';
const UNICODE_ESCAPE = '\\u';

/**
 * True unless the record's bytes, as latin1 text (a character per byte), show it cannot be a denied
 * KMS call (see the markers above).
 */
export function mayBeKmsDenial(record: string): boolean {
  if (record.includes(KMS_SOURCE) && record.includes(ACCESS_DENIED)) return true;
  return record.includes(UNICODE_ESCAPE);
}

async function* readItems(input: LogInput, limits: LogLimits, prefilter: boolean): AsyncGenerator<ScanItem> {
  const scanner = new RecordScanner(input.name, limits, prefilter);
  try {
    for await (const chunk of utf8Bytes(plainBytes(input, limits), input.name)) {
      const records = scanner.push(chunk);
      for (const record of records) yield { kind: 'record', record };
      const skipped = scanner.takeSkipped();
      if (skipped > 0) yield { kind: 'skipped', count: skipped };
    }
  } catch (error) {
    if (error instanceof LogFileError) {
      if (error.input === input.name) throw error;
      throw new LogFileError(input.name, error.message, { cause: error });
    }
    throw new LogFileError(input.name, `cannot read ${input.name}: ${oneLine(error)}`, { cause: error });
  }
  const event = scanner.end();
  if (event !== undefined) yield { kind: 'event', event: event.value };
}

// Scanner states.
const START = 0;
const KEY_OR_END = 1;
const KEY_START = 2;
const KEY = 3;
const COLON = 4;
const VALUE = 5;
const ELEMENT_OR_END = 6;
const ELEMENT_START = 7;
const ELEMENT = 8;
const AFTER_ELEMENT = 9;
const SKIP = 10;
const AFTER_VALUE = 11;
const DONE = 12;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

const RECORDS_KEY = Buffer.from('Records');

/**
 * Finds the elements of a top-level `Records` array in a byte stream. Until it knows the document
 * is a log file (`{"Records":[`), it keeps the bytes; a document that turns out to be something
 * else is kept whole (up to `maxEventBytes`) and parsed at the end.
 */
class RecordScanner {
  private state = START;
  private mode: 'undecided' | 'log' | 'event' = 'undecided';
  /** The document so far, while undecided or an event. */
  private kept: Buffer[] = [];
  private keptBytes = 0;
  private keyIndex = 0;
  private key: number[] = [];
  private inString = false;
  private escaped = false;
  private depth = 0;
  /** The parts of the element being read that came in earlier chunks. */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private recordCount = 0;
  /** Records counted but not parsed (the prefilter said no) since takeSkipped() was last called. */
  private skipped = 0;
  private offset = 0;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(
    private readonly name: string,
    private readonly limits: LogLimits,
    /** Whether to parse only the records whose bytes can be a denied KMS call (or all of them). */
    private readonly prefilter: boolean,
  ) {}

  /** How many records were skipped unparsed since the last call. */
  takeSkipped(): number {
    const n = this.skipped;
    this.skipped = 0;
    return n;
  }

  push(chunk: Buffer): unknown[] {
    if (this.mode !== 'log') {
      this.keptBytes += chunk.length;
      if (this.keptBytes > this.limits.maxEventBytes) {
        throw new LogFileError(
          this.name,
          `${this.name} is larger than the ${formatBytes(this.limits.maxEventBytes)} limit for a document that is not a CloudTrail log file (a log file starts with {"Records":[)`,
        );
      }
      this.kept.push(Buffer.from(chunk));
      if (this.mode === 'event') return [];
    }
    const out: unknown[] = [];
    try {
      this.scan(chunk, out);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      if (this.mode === 'log') {
        throw new LogFileError(this.name, `${this.name} is not valid JSON: ${error.message}`);
      }
      // Not the start of a log file: read the rest as one document and let JSON.parse judge it.
      // Refuse early what no JSON parser would accept (such as /dev/zero), so it is not read on.
      this.mode = 'event';
      this.failFast();
    }
    this.offset += chunk.length;
    return out;
  }

  /** The document when it was not a log file; undefined for a log file. */
  end(): { value: unknown } | undefined {
    if (this.mode === 'log') {
      if (this.state !== DONE) {
        throw new LogFileError(
          this.name,
          `${this.name} is not valid JSON: it ends early, after ${this.recordCount} records (truncated?)`,
        );
      }
      return undefined;
    }
    return { value: this.parseWhole() };
  }

  private parseWhole(): unknown {
    const bytes = Buffer.concat(this.kept);
    this.kept = [];
    let text: string;
    try {
      text = this.decoder.decode(bytes);
    } catch {
      throw new LogFileError(this.name, `${this.name} is not UTF-8 text`);
    }
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new LogFileError(this.name, `${this.name} is not valid JSON: ${oneLine(error)}`, {
        cause: error,
      });
    }
  }

  /** Throws the parse error of the bytes kept so far when they already cannot start JSON. */
  private failFast(): void {
    const bytes = Buffer.concat(this.kept);
    const first = bytes.find((c) => !isSpace(c));
    if (first === undefined) return;
    // Anything JSON may start with: an object, array, string, number, true, false or null.
    if (/[{["\-0-9tfn]/.test(String.fromCharCode(first))) return;
    this.parseWhole();
  }

  private syntax(what: string, at: number): never {
    throw new SyntaxError(`${what} at byte ${this.offset + at}`);
  }

  private scan(chunk: Buffer, out: unknown[]): void {
    const n = chunk.length;
    let i = 0;
    let start = 0;
    /** The chunk in the WebAssembly framer, copied there when a record starts in it. */
    let framer: ChunkFramer | undefined;
    while (i < n) {
      const c = chunk[i] as number;
      switch (this.state) {
        case START:
          if (isSpace(c)) break;
          if (c !== 0x7b) this.syntax('expected {', i);
          this.state = KEY_OR_END;
          break;
        case KEY_OR_END:
        case KEY_START:
          if (isSpace(c)) break;
          if (c === 0x7d && this.state === KEY_OR_END) {
            this.state = DONE;
            if (this.mode === 'undecided') this.mode = 'event';
            break;
          }
          if (c !== QUOTE) this.syntax('expected a key', i);
          this.key = [];
          this.escaped = false;
          this.state = KEY;
          break;
        case KEY:
          if (this.escaped) this.escaped = false;
          else if (c === BACKSLASH) this.escaped = true;
          else if (c === QUOTE) {
            this.state = COLON;
            break;
          }
          if (this.key.length <= RECORDS_KEY.length) this.key.push(c);
          break;
        case COLON:
          if (isSpace(c)) break;
          if (c !== 0x3a) this.syntax('expected :', i);
          this.state = VALUE;
          break;
        case VALUE: {
          if (isSpace(c)) break;
          const first = this.keyIndex++ === 0;
          if (this.mode === 'undecided') {
            if (first && c === 0x5b && RECORDS_KEY.equals(Buffer.from(this.key))) {
              this.mode = 'log';
              this.kept = [];
              this.keptBytes = 0;
              this.state = ELEMENT_OR_END;
              break;
            }
            this.mode = 'event';
            return;
          }
          this.startValue();
          this.state = SKIP;
          continue;
        }
        case ELEMENT_OR_END:
        case ELEMENT_START: {
          if (isSpace(c)) break;
          if (c === 0x5d && this.state === ELEMENT_OR_END) {
            this.state = AFTER_VALUE;
            break;
          }
          this.startValue();
          start = i;
          framer ??= new ChunkFramer(chunk);
          const end = c === 0x7b ? framer.objectEnd(i) : -1;
          if (end < 0) {
            // Not an object, or one that does not end in this chunk: byte by byte below.
            this.state = ELEMENT;
            continue;
          }
          // Framed within this chunk: no earlier parts, and bytes taken from the chunk only to parse.
          this.counted(end - start);
          if (!this.prefilter || markersMayBeKmsDenial(framer.markers)) {
            out.push(this.record(chunk.subarray(start, end)));
          } else this.skipped++;
          this.state = AFTER_ELEMENT;
          i = end;
          continue;
        }
        case ELEMENT:
        case SKIP: {
          const end = this.valueEnd(chunk, i);
          if (end < 0) {
            i = n;
            continue;
          }
          if (this.state === ELEMENT) {
            const bytes = this.element(chunk.subarray(start, end));
            if (!this.prefilter || mayBeKmsDenial(bytes.toString('latin1'))) out.push(this.record(bytes));
            else this.skipped++;
            this.state = AFTER_ELEMENT;
          } else {
            this.state = AFTER_VALUE;
          }
          i = end;
          continue;
        }
        case AFTER_ELEMENT:
          if (isSpace(c)) break;
          if (c === 0x2c) this.state = ELEMENT_START;
          else if (c === 0x5d) this.state = AFTER_VALUE;
          else this.syntax('expected , or ] after a record', i);
          break;
        case AFTER_VALUE:
          if (isSpace(c)) break;
          if (c === 0x2c) this.state = KEY_START;
          else if (c === 0x7d) this.state = DONE;
          else this.syntax('expected , or }', i);
          break;
        case DONE:
          if (!isSpace(c)) this.syntax('unexpected data after the end of the document', i);
          break;
      }
      i++;
    }
    if (this.state === ELEMENT) {
      const rest = chunk.subarray(start);
      this.partsBytes += rest.length;
      if (this.partsBytes > this.limits.maxRecordBytes) this.tooLarge();
      this.parts.push(Buffer.from(rest));
    }
  }

  private startValue(): void {
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    if (this.parts.length > 0) this.parts = [];
    this.partsBytes = 0;
  }

  private tooLarge(): never {
    throw new LogFileError(
      this.name,
      `${this.name}: record ${this.recordCount + 1} is larger than the ${formatBytes(this.limits.maxRecordBytes)} limit for one record`,
    );
  }

  /**
   * Scans a JSON value from `i`; returns the index just past its end, or -1 when the chunk ends
   * first (the scan state is kept for the next chunk). Brackets are only counted: the element's
   * own JSON.parse checks that they match.
   */
  private valueEnd(chunk: Buffer, from: number): number {
    const n = chunk.length;
    let i = from;
    while (i < n) {
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          i++;
          continue;
        }
        const quote = chunk.indexOf(QUOTE, i);
        if (quote < 0) {
          let run = 0;
          for (let j = n - 1; j >= i && chunk[j] === BACKSLASH; j--) run++;
          this.escaped = run % 2 === 1;
          return -1;
        }
        let run = 0;
        for (let j = quote - 1; j >= i && chunk[j] === BACKSLASH; j--) run++;
        i = quote + 1;
        if (run % 2 === 1) continue;
        this.inString = false;
        if (this.depth === 0) return i;
        continue;
      }
      const c = chunk[i] as number;
      if (c === QUOTE) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) {
        if (this.depth === 0) return i;
        if (--this.depth === 0) return i + 1;
      } else if (this.depth === 0 && (c === 0x2c || isSpace(c))) return i;
      i++;
    }
    return -1;
  }

  /** The whole element that ends with `tail` (its earlier parts came in earlier chunks), counted. */
  private element(tail: Buffer): Buffer {
    const size = this.partsBytes + tail.length;
    this.counted(size);
    if (this.parts.length === 0) return tail;
    const bytes = Buffer.concat([...this.parts, tail], size);
    this.parts = [];
    this.partsBytes = 0;
    return bytes;
  }

  /** Counts one more element, of `size` bytes, refusing it over the record limit. */
  private counted(size: number): void {
    if (size > this.limits.maxRecordBytes) this.tooLarge();
    this.recordCount++;
  }

  private record(bytes: Buffer): unknown {
    let text: string;
    try {
      text = this.decoder.decode(bytes);
    } catch {
      throw new LogFileError(this.name, `${this.name} is not UTF-8 text (record ${this.recordCount})`);
    }
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new LogFileError(
        this.name,
        `${this.name} is not valid JSON: record ${this.recordCount}: ${oneLine(error)}`,
        { cause: error },
      );
    }
  }
}
