/**
 * The scan's byte-level prefilter (adapters/cloudtrail-log.ts, scanCloudTrailLog) never changes what
 * scan finds: on generated log files, reading every record and reading only those whose bytes can
 * be a denied KMS call give the same problems, counts and denials. The files are spelled the ways
 * JSON allows and CloudTrail's own writer does not: \u escapes (the marker strings included),
 * escaped quotes and backslashes, unicode, whitespace, and gzip members cut anywhere.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { PREFILTERED, ScanAggregator } from '../../cli/scan-summary';
import {
  type LogInput,
  mayBeKmsDenial,
  readCloudTrailLog,
  scanCloudTrailLog,
} from '../../functions/adapters/cloudtrail-log';
import { intake } from '../../functions/core/intake';
import { eventNames, loadEvent } from '../helpers/events';

/** Every sample record (an EventBridge event's detail, or a bare record), denials and others. */
const SAMPLES: Record<string, unknown>[] = eventNames()
  .filter((name) => !name.startsWith('cloudtrail-log-file'))
  .map((name) => {
    const event = loadEvent(name);
    return (event['detail-type'] ? event.detail : event) as Record<string, unknown>;
  });
const DENIALS = SAMPLES.filter((record) => intake(record).match);

/** A small deterministic generator of choices, seeded by fast-check. */
function chooser(seed: number) {
  let state = seed >>> 0 || 1;
  return (n: number) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
}

/** A string as JSON may spell it: any character as \uXXXX (either case), `/` as `\/`. */
function spellString(text: string, pick: (n: number) => number, escapeAll: boolean): string {
  let out = '"';
  for (const c of JSON.stringify(text)
    .slice(1, -1)
    .match(/\\u[0-9a-f]{4}|\\.|[\s\S]/g) ?? []) {
    if (c.length > 1) out += c;
    else if ((escapeAll || pick(8) === 0) && c !== '"' && c !== '\\') {
      const hex = c.charCodeAt(0).toString(16).padStart(4, '0');
      out += `\\u${pick(2) ? hex.toUpperCase() : hex}`;
    } else if (c === '/' && pick(2)) out += '\\/';
    else out += c;
  }
  return `${out}"`;
}

const MARKERS = new Set(['kms.amazonaws.com', 'AccessDenied', 'AccessDeniedException']);

/** JSON text of `value`, with random spaces and escapes; the marker strings sometimes all escaped. */
function spell(value: unknown, pick: (n: number) => number): string {
  const space = () => [' ', '', '\n', '\t', ''][pick(5)] as string;
  if (typeof value === 'string') return spellString(value, pick, MARKERS.has(value) && pick(3) === 0);
  if (Array.isArray(value)) return `[${value.map((v) => space() + spell(v, pick)).join(',')}${space()}]`;
  if (value !== null && typeof value === 'object') {
    const fields = Object.entries(value).map(
      ([k, v]) => `${space()}${spellString(k, pick, false)}${space()}:${space()}${spell(v, pick)}`,
    );
    return `{${fields.join(',')}${space()}}`;
  }
  return JSON.stringify(value);
}

/** Text that looks like the markers without being them, quotes and backslashes included. */
const tricky = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.constantFrom(
    'kms.amazonaws.co',
    'AccessDenie',
    'kms.amazonaws.com"AccessDenied',
    '\\"kms.amazonaws.com\\"',
    '"}]},{"Records":[',
    'AccessDenied \u2603 \ud83d\ude00',
  ),
);

/**
 * A denial record nested inside another record, where a shortcut that looked for `{"eventVersion":`
 * would take it for one of the log's records: as a value, in an array of such records (each
 * preceded by `[` or `},` and followed by `,{"eventVersion"` or `]`), or nested deep.
 */
const nested = fc.record({
  key: fc.constantFrom('requestParameters', 'responseElements', 'additionalEventData', 'Records'),
  shape: fc.constantFrom('object', 'array', 'deep'),
  denial: fc.nat(),
});

function nest(shape: 'object' | 'array' | 'deep', denial: Record<string, unknown>): unknown {
  if (shape === 'object') return denial;
  if (shape === 'array') return [denial, { ...denial, eventID: 'nested-2' }];
  let deep: unknown = denial;
  for (let level = 0; level < 20; level++) deep = level % 2 ? [deep] : { eventVersion: '1.08', deep };
  return deep;
}

const record = fc.record({
  sample: fc.nat(),
  denial: fc.boolean(),
  extra: fc.option(fc.dictionary(tricky, fc.oneof(tricky, fc.jsonValue()), { maxKeys: 3 })),
  nested: fc.option(nested, { freq: 3 }),
  session: fc.nat({ max: 5 }),
});

/** The bytes of a log file, cut into gzip members at the given points (none: plain). */
function logBytes(records: string[], cuts: number[] | null): Buffer {
  const text = Buffer.from(`{"Records":[${records.join(',')}]}`);
  if (cuts === null) return text;
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const members: Buffer[] = [];
  let from = 0;
  for (const at of [...points, text.length]) {
    members.push(gzipSync(text.subarray(from, at)));
    from = at;
  }
  return Buffer.concat(members);
}

function input(bytes: Buffer, sizes: number[]): LogInput {
  async function* chunks() {
    for (let at = 0, k = 0; at < bytes.length; k++) {
      const size = sizes[k % sizes.length] as number;
      yield bytes.subarray(at, at + size);
      at += size;
    }
  }
  return { name: 'generated.json', chunks: chunks(), regular: false };
}

/** The reference: the whole document inflated and `JSON.parse`d, each record summarised. */
function summariseWhole(bytes: Buffer) {
  const agg = new ScanAggregator();
  const text = (bytes[0] === 0x1f ? gunzipSync(bytes) : bytes).toString('utf8');
  for (const record of (JSON.parse(text) as { Records: unknown[] }).Records) agg.add(record);
  return agg;
}

async function summarise(bytes: Buffer, sizes: number[], prefilter: boolean) {
  const agg = new ScanAggregator();
  const items = prefilter ? scanCloudTrailLog(input(bytes, sizes)) : readCloudTrailLog(input(bytes, sizes));
  for await (const item of items) {
    if (item.kind === 'skipped') agg.skip(item.count);
    else agg.add(item.kind === 'record' ? item.record : item.event);
  }
  return agg;
}

describe('the scan prefilter', () => {
  it('finds the same problems as parsing every record, however the log is spelled and cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { maxLength: 12 }),
        fc.integer(),
        fc.option(fc.array(fc.nat(), { maxLength: 4 })),
        // Chunks of a few bytes (records framed byte by byte) or whole (framed by the WebAssembly framer).
        fc.array(fc.oneof(fc.integer({ min: 1, max: 700 }), fc.constant(1 << 20)), {
          minLength: 1,
          maxLength: 4,
        }),
        async (records, seed, cuts, sizes) => {
          const pick = chooser(seed);
          const texts = records.map((r, n) => {
            const pool = r.denial ? DENIALS : SAMPLES;
            const base = structuredClone(pool[r.sample % pool.length]) as Record<string, unknown>;
            base.eventID = `e-${n}`;
            if (r.nested) {
              const denial = structuredClone(DENIALS[r.nested.denial % DENIALS.length]) as Record<
                string,
                unknown
              >;
              base[r.nested.key] = nest(r.nested.shape, { ...denial, eventID: `nested-${n}` });
            }
            return spell({ ...base, ...(r.extra ?? {}) }, pick);
          });
          const bytes = logBytes(texts, cuts);
          const whole = summariseWhole(bytes);
          const full = await summarise(bytes, sizes, false);
          const filtered = await summarise(bytes, sizes, true);
          for (const read of [full, filtered]) {
            expect(read.records).toBe(whole.records);
            expect(read.denials).toBe(whole.denials);
            expect(read.list()).toEqual(whole.list());
          }
        },
      ),
      { numRuns: 100 },
    );
    // A busy machine: a hundred generated logs, each read twice.
  }, 120_000);

  it('lets through every sample denial with its markers escaped, and drops what lacks them', () => {
    for (const denial of DENIALS) {
      const escaped = JSON.stringify(denial)
        .replace('"kms.amazonaws.com"', '"\\u006bms.amazonaws.com"')
        .replace(/"AccessDenied(Exception)?"/, '"Access\\u0044enied$1"');
      expect(escaped).not.toContain('"kms.amazonaws.com"');
      expect(intake(JSON.parse(escaped)).match).toBe(true);
      expect(mayBeKmsDenial(escaped)).toBe(true);
    }
    expect(mayBeKmsDenial(JSON.stringify(loadEvent('consumer-decrypt-success.record.json')))).toBe(false);
    expect(mayBeKmsDenial(JSON.stringify(loadEvent('s3-getobject-vpceaccessdenied.record.json')))).toBe(
      false,
    );
  });

  it('the generated logs hold denials, records it skips and escaped markers (the property tests something)', async () => {
    const texts = DENIALS.map((d) => spell(d, () => 0)).concat(
      SAMPLES.map((s) => JSON.stringify(s)),
      [spellString('kms.amazonaws.com', () => 0, true)],
    );
    const bytes = logBytes(texts, [100, 2000]);
    const filtered = await summarise(bytes, [333], true);
    expect(filtered.denials).toBe(2 * DENIALS.length);
    expect(filtered.ignored.get(PREFILTERED)).toBeGreaterThanOrEqual(3);
    expect(texts.at(-1)).toBe(
      '"\\u006b\\u006d\\u0073\\u002e\\u0061\\u006d\\u0061\\u007a\\u006f\\u006e\\u0061\\u0077\\u0073\\u002e\\u0063\\u006f\\u006d"',
    );
  });

  it('never takes a denial nested in another record for a record of the log', async () => {
    const success = SAMPLES.find((s) => !intake(s).match && s.eventSource === 'kms.amazonaws.com');
    const denial = DENIALS[0] as Record<string, unknown>;
    const outer = (['object', 'array', 'deep'] as const).map((shape) =>
      JSON.stringify({ ...success, requestParameters: nest(shape, denial) }),
    );
    for (const sizes of [[1 << 20], [97]]) {
      const nestedOnly = await summarise(logBytes(outer, null), sizes, true);
      expect([nestedOnly.records, nestedOnly.denials]).toEqual([3, 0]);
      // The same denial as one of the records is found: the nested ones were read and set aside.
      const withDenial = await summarise(logBytes([...outer, JSON.stringify(denial)], null), sizes, true);
      expect([withDenial.records, withDenial.denials]).toEqual([4, 1]);
    }
  });
});
