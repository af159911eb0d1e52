/**
 * The WebAssembly framer (functions/adapters/json-frame.wat): the bytes keymend runs are the text's,
 * it frames objects as JSON.parse reads them however they are spelled, sets the prefilter's markers
 * exactly when a string starts with one (or a \u escape appears), and its chunks in one shared memory
 * do not mix. End to end, test/cli/scan-prefilter.test.ts checks the scan finds what full parsing does.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { ChunkFramer, markersMayBeKmsDenial } from '../../functions/adapters/json-frame';
import { FRAME_WASM_BASE64 } from '../../functions/adapters/json-frame-wasm';
import { assembleFrameWasm, FRAME_WASM_MODULE, frameWasmModuleText } from '../../scripts/wasm';

const KMS = 1;
const DENIED = 2;
const ESCAPE = 4;

/** JSON text of `value`, with each string's characters sometimes spelled as \u escapes; and the markers it must set. */
function spell(value: unknown, escapeOne: (c: string) => boolean): { text: string; markers: number } {
  let markers = 0;
  const string = (s: string) => {
    let out = '';
    for (const c of s) {
      if (escapeOne(c)) {
        out += `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
        markers |= ESCAPE;
      } else {
        // JSON.stringify spells control characters and lone surrogates as \u escapes itself.
        const piece = JSON.stringify(c).slice(1, -1);
        if (piece.startsWith('\\u')) markers |= ESCAPE;
        out += piece;
      }
    }
    if (out.startsWith('kms.amazonaws.com')) markers |= KMS;
    if (out.startsWith('AccessDenied')) markers |= DENIED;
    return `"${out}"`;
  };
  const write = (v: unknown): string => {
    if (typeof v === 'string') return string(v);
    if (Array.isArray(v)) return `[${v.map(write).join(',')}]`;
    if (v !== null && typeof v === 'object')
      return `{${Object.entries(v)
        .map(([k, x]) => `${string(k)}: ${write(x)}`)
        .join(',')}}`;
    return JSON.stringify(v);
  };
  return { text: write(value), markers };
}

/** Strings a CloudTrail record holds, the markers and the characters that need care among them. */
const text = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', '"', '\\', '{', '}', '[', ']', 'é', '😀', '/', 'u', ' ') }),
  fc.constantFrom(
    'kms.amazonaws.com',
    'AccessDenied',
    'AccessDeniedException',
    'xkms.amazonaws.com',
    'kms.amazonaws.co',
  ),
  fc.string(),
);
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    tie('array'),
    tie('object'),
  ),
  array: fc.array(tie('value'), { maxLength: 4 }),
  // Keys of one character are left out: Node 24.21's JSON.parse reads an escaped one-character key
  // after another (`{"\u0041":1}` then `{"\u0042":1}`) as a backslash, so the check below that the
  // spelling says what the value says would fail on JSON.parse, not on the framer (Node 20 is right).
  object: fc.dictionary(
    text.filter((key) => key.length !== 1),
    tie('value'),
    { maxKeys: 5 },
  ),
})).object;

describe('the WebAssembly framer', () => {
  it('runs the bytes assembled from json-frame.wat (npm run wasm writes them)', async () => {
    const bytes = await assembleFrameWasm();
    expect(Buffer.from(FRAME_WASM_BASE64, 'base64').equals(Buffer.from(bytes))).toBe(true);
    // The whole file, as `npm run wasm` writes it.
    expect(frameWasmModuleText(bytes)).toBe(readFileSync(FRAME_WASM_MODULE, 'utf8'));
  });

  it('ends an object where JSON.parse does, and only once it has ended, with its markers', () => {
    fc.assert(
      fc.property(json, fc.nat(), fc.boolean(), (value, cut, escapeSome) => {
        const { text: spelled, markers } = spell(
          value,
          (c) => escapeSome && c !== '"' && c !== '\\' && c < 'b',
        );
        expect(JSON.parse(spelled)).toEqual(value);
        const bytes = Buffer.from(`${spelled}, {"next": 1}`);
        const length = Buffer.byteLength(spelled);
        const framer = new ChunkFramer(bytes);
        expect(framer.objectEnd(0)).toBe(length);
        expect(framer.markers).toBe(markers);
        // Cut anywhere before its last byte, it has not ended.
        const prefix = bytes.subarray(0, cut % length);
        expect(new ChunkFramer(prefix).objectEnd(0)).toBe(-1);
      }),
      { numRuns: 2000 },
    );
  });

  it('frames a record that starts past the first byte, and brackets counted, not matched', () => {
    const bytes = Buffer.from('xx{"a":[1,{"b":"}\\"]"}],"c":"\\\\"}yy');
    expect(new ChunkFramer(bytes).objectEnd(2)).toBe(bytes.length - 2);
    // Counted, not matched: JSON.parse of a parsed record says it is not JSON.
    const unmatched = Buffer.from('{"a":[1}]');
    expect(new ChunkFramer(unmatched).objectEnd(0)).toBe(unmatched.length);
  });

  it('reads a \\\\ followed by u as no escape, and an escape cut at the chunk end as unended', () => {
    const bytes = Buffer.from('{"a":"\\\\u0041"}');
    const framer = new ChunkFramer(bytes);
    expect(framer.objectEnd(0)).toBe(bytes.length);
    expect(framer.markers).toBe(0);
    expect(new ChunkFramer(Buffer.from('{"a":"x\\')).objectEnd(0)).toBe(-1);
    expect(new ChunkFramer(Buffer.from('{"a":"x\\"}')).objectEnd(0)).toBe(-1);
  });

  it('keeps two chunks apart in its one memory, and grows it for a large one', () => {
    const small = Buffer.from('{"eventSource":"kms.amazonaws.com","errorCode":"AccessDenied"}');
    const large = Buffer.from(`{"big":"${'x'.repeat(3 * 1024 * 1024)}"}`);
    const first = new ChunkFramer(small);
    const second = new ChunkFramer(large);
    expect(first.objectEnd(0)).toBe(small.length);
    expect(markersMayBeKmsDenial(first.markers)).toBe(true);
    expect(second.objectEnd(0)).toBe(large.length);
    expect(second.markers).toBe(0);
    expect(first.objectEnd(0)).toBe(small.length);
  });

  it('asks for both markers, or an escape', () => {
    expect(markersMayBeKmsDenial(KMS | DENIED)).toBe(true);
    expect(markersMayBeKmsDenial(ESCAPE)).toBe(true);
    expect(markersMayBeKmsDenial(KMS)).toBe(false);
    expect(markersMayBeKmsDenial(DENIED)).toBe(false);
    expect(markersMayBeKmsDenial(0)).toBe(false);
  });
});
