/**
 * Generates CloudTrail log files (`{"Records":[...]}`, plain or gzipped) from the sample records in
 * events/, with varied session names, event ids and times, for scan tests and the scan bench.
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createGzip } from 'node:zlib';
import { loadEvent } from './events';

/** One sample record (a bare record, or an EventBridge event's `detail`) from events/. */
export function sampleRecord(name: string): Record<string, unknown> {
  const event = loadEvent(name);
  return (event['detail-type'] ? event.detail : event) as Record<string, unknown>;
}

/** What varies between generated copies of one sample. */
export interface Variation {
  /** The role session name (assumed roles only). */
  session: string;
  time: Date;
  /** Distinguishes the copy: event and request ids are derived from it. */
  n: number;
}

const SESSION = '@@SESSION@@';
const TIME = '@@TIME@@';
const EVENT_ID = '@@EVENTID@@';
const REQUEST_ID = '@@REQUESTID@@';

function uuidOf(prefix: string, n: number): string {
  const hex = n.toString(16).padStart(12, '0').slice(-12);
  return `${prefix}-0000-4000-8000-${hex}`;
}

/**
 * A fast maker of varied copies of one sample record: the record is serialised once with
 * placeholders, and each copy is the parts joined with its values.
 */
export function recordMaker(name: string): (v: Variation) => string {
  const record = sampleRecord(name);
  const identity = record.userIdentity as { type?: string; arn?: string } | undefined;
  let text = JSON.stringify({ ...record, eventTime: TIME, eventID: EVENT_ID, requestID: REQUEST_ID });
  if (identity?.type === 'AssumedRole' && identity.arn) {
    const oldSession = identity.arn.slice(identity.arn.lastIndexOf('/') + 1);
    text = text.split(`/${oldSession}"`).join(`/${SESSION}"`);
    text = text.split(`/${oldSession} `).join(`/${SESSION} `);
    text = text.split(`:${oldSession}"`).join(`:${SESSION}"`);
  }
  const parts = text.split(/(@@[A-Z]+@@)/);
  return (v) => {
    let out = '';
    for (const part of parts) {
      if (part === SESSION) out += v.session;
      else if (part === TIME) out += v.time.toISOString().replace(/\.\d{3}Z$/, 'Z');
      else if (part === EVENT_ID) out += uuidOf('e0000000', v.n);
      else if (part === REQUEST_ID) out += uuidOf('a0000000', v.n);
      else out += part;
    }
    return out;
  };
}

/** Writes `records` (serialised records) as a log file; `.gz` names are gzipped. */
export async function writeLogFile(file: string, records: Iterable<string>): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const out = createWriteStream(file);
  const gzip = file.endsWith('.gz') ? createGzip({ level: 1 }) : null;
  if (gzip) gzip.pipe(out);
  const sink = gzip ?? out;
  const write = async (text: string) => {
    if (!sink.write(text)) await once(sink, 'drain');
  };
  await write('{"Records":[');
  let first = true;
  for (const record of records) {
    await write(first ? record : `,${record}`);
    first = false;
  }
  await write(']}\n');
  sink.end();
  await once(out, 'close');
}

/** The samples a large log set cycles through by default: three denials and a success. */
export const DEFAULT_SAMPLES = [
  'consumer-decrypt-denied-no-invokedby.record.json',
  'producer-generatedatakey-denied.record.json',
  'lambda-esm-decrypt-denied.eventbridge.json',
  'consumer-decrypt-success.record.json',
];

export interface LargeLogSet {
  files: string[];
  records: number;
  /** Bytes of JSON written (before gzip). */
  bytes: number;
}

/**
 * Writes about `targetBytes` of log records into `dir`, in files of `recordsPerFile` records, every
 * `gzipEvery`-th file gzipped (0: none), cycling through `samples` (default DEFAULT_SAMPLES) with
 * 5,000 session names over a day.
 */
export async function writeLargeLogSet(
  dir: string,
  targetBytes: number,
  options: { recordsPerFile?: number; gzipEvery?: number; samples?: string[] } = {},
): Promise<LargeLogSet> {
  const perFile = options.recordsPerFile ?? 20_000;
  const gzipEvery = options.gzipEvery ?? 2;
  const makers = (options.samples ?? DEFAULT_SAMPLES).map(recordMaker);
  const start = Date.parse('2026-11-30T00:00:00Z');
  const set: LargeLogSet = { files: [], records: 0, bytes: 0 };
  for (let f = 0; set.bytes < targetBytes; f++) {
    const gz = gzipEvery > 0 && f % gzipEvery === gzipEvery - 1;
    const file = path.join(dir, `part-${String(f).padStart(4, '0')}.json${gz ? '.gz' : ''}`);
    function* records(): Generator<string> {
      for (let i = 0; i < perFile && set.bytes < targetBytes; i++) {
        const n = set.records++;
        const make = makers[n % makers.length] as (v: Variation) => string;
        const text = make({ n, session: `session-${n % 5000}`, time: new Date(start + n * 1000) });
        set.bytes += text.length + 1;
        yield text;
      }
    }
    await writeLogFile(file, records());
    set.files.push(file);
  }
  return set;
}
