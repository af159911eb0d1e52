/**
 * Framing the records of a CloudTrail log chunk with a small WebAssembly module (json-frame.wat,
 * its bytes in json-frame-wasm.ts): `keymend scan` reads a trail's every byte to count its records
 * and find the few that can be a denied KMS call, and the module does that at about half the time
 * a regular expression over the chunk's text took, without decoding the chunk to a string (see
 * docs/performance.md, scan). The log reader (cloudtrail-log.ts) keeps its JavaScript byte loop for
 * a record that goes on into the next chunk.
 */
import { FRAME_WASM_BASE64 } from './json-frame-wasm';

/** What json-frame.wat exports. */
interface FrameExports {
  memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  markers: { readonly value: number };
  objectEnd(from: number, end: number): number;
}

/** The part of the WebAssembly API used here (TypeScript's ES libraries do not declare it). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { readonly exports: unknown };
}

/** Bytes past the chunk the module may read (json-frame.wat: up to 17), with room to spare. */
const SLACK = 64;
const PAGE = 64 * 1024;

/** The marker bits json-frame.wat sets for a framed object. */
const KMS_SOURCE = 1;
const ACCESS_DENIED = 2;
const UNICODE_ESCAPE = 4;

let framerModule: FrameExports | undefined;
/** Counts the chunks copied into the module's memory: a framer whose copy is not the last copies again. */
let copies = 0;

function frameModule(): FrameExports {
  if (framerModule === undefined) {
    const { Module, Instance } = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
    const bytes = Buffer.from(FRAME_WASM_BASE64, 'base64');
    framerModule = new Instance(new Module(bytes)).exports as FrameExports;
  }
  return framerModule;
}

/**
 * True unless the markers of a framed object show it cannot be a denied KMS call: unless it has
 * both a string that starts with `kms.amazonaws.com` and one that starts with `AccessDenied` (the
 * record's `eventSource` and `errorCode` when it is one), or a `\u` escape, by which JSON may
 * spell either. (`\/`, the other escape of a printable character, spells neither.)
 */
export function markersMayBeKmsDenial(markers: number): boolean {
  return (
    (markers & (KMS_SOURCE | ACCESS_DENIED)) === (KMS_SOURCE | ACCESS_DENIED) ||
    (markers & UNICODE_ESCAPE) !== 0
  );
}

/**
 * The objects of one chunk of bytes, framed by the module. The module has one memory, so the chunk
 * is copied in when the framer is made and again if another framer has been used since.
 */
export class ChunkFramer {
  /** The markers of the object objectEnd last framed (see markersMayBeKmsDenial). */
  markers = 0;
  private copy = 0;

  constructor(private readonly chunk: Uint8Array) {
    this.load();
  }

  /**
   * The index just past the object that starts with `{` at `from` (brackets counted, strings
   * skipped with their escapes), or -1 when it does not end in the chunk.
   */
  objectEnd(from: number): number {
    if (this.copy !== copies) this.load();
    const exports = frameModule();
    const end = exports.objectEnd(from, this.chunk.length);
    if (end >= 0) this.markers = exports.markers.value;
    return end;
  }

  private load(): void {
    const { memory } = frameModule();
    const need = this.chunk.length + SLACK;
    if (memory.buffer.byteLength < need) memory.grow(Math.ceil((need - memory.buffer.byteLength) / PAGE));
    new Uint8Array(memory.buffer, 0, this.chunk.length).set(this.chunk);
    this.copy = ++copies;
  }
}
