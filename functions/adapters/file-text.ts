/**
 * The text of a file keymend is given (an event, a CloudTrail log file, an account snapshot), from its
 * bytes: gzip is inflated (CloudTrail delivers log files gzipped), a UTF-8 byte-order mark is dropped,
 * and anything that is not UTF-8 is refused with a one-line error that says what it looks like.
 * Nothing is silently replaced: a file with invalid UTF-8 would otherwise be diagnosed with U+FFFD
 * where its ARNs had bytes.
 */
import { gunzipSync } from 'node:zlib';
import { InputError } from '../commons/errors';
import { printableLine } from '../commons/text';

/** A gzipped CloudTrail log file is a few MB; anything that inflates past this is refused. */
export const MAX_INFLATED_BYTES = 256 * 1024 * 1024;

/** The UTF-8 byte-order mark, which some editors write first: accepted and dropped. */
export const UTF8_BOM: readonly number[] = [0xef, 0xbb, 0xbf];

/** What to do about a file in another encoding. */
export const CONVERT_HINT = 'keymend reads UTF-8: convert it (iconv -f UTF-16 -t UTF-8, or save it as UTF-8)';

export function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((byte, i) => bytes[i] === byte);
}

/** The name of a byte-order mark or encoding keymend does not read, from the first bytes; null if none. */
export function otherEncoding(bytes: Uint8Array): string | null {
  // UTF-32 before UTF-16: the UTF-32LE mark starts with the UTF-16LE one.
  if (startsWith(bytes, [0xff, 0xfe, 0x00, 0x00])) return 'UTF-32 (little-endian, with a byte-order mark)';
  if (startsWith(bytes, [0x00, 0x00, 0xfe, 0xff])) return 'UTF-32 (big-endian, with a byte-order mark)';
  if (startsWith(bytes, [0xff, 0xfe])) return 'UTF-16 (little-endian, with a byte-order mark)';
  if (startsWith(bytes, [0xfe, 0xff])) return 'UTF-16 (big-endian, with a byte-order mark)';
  // JSON starts with an ASCII character: in UTF-16 without a mark, one of its first two bytes is NUL.
  if (bytes.length >= 2 && bytes[0] !== 0 && bytes[1] === 0) return 'UTF-16 (little-endian)';
  if (bytes.length >= 2 && bytes[0] === 0 && bytes[1] !== 0) return 'UTF-16 (big-endian)';
  return null;
}

/**
 * Decodes a file's bytes to text. `name` names the file in errors (it is escaped there).
 *
 * @throws InputError (one line) when the bytes are gzip that does not inflate or inflates too far,
 *   UTF-16 or UTF-32, or not valid UTF-8 (with the offset of the first bad byte).
 */
export function decodeFileText(input: Uint8Array, name: string): string {
  const shown = printableLine(name, 300);
  let bytes = input;
  let what = '';
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: MAX_INFLATED_BYTES });
    } catch (error) {
      const why =
        (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE'
          ? 'it inflates past 256 MB'
          : 'it is corrupt or cut short';
      throw new InputError(`${shown} is gzip-compressed but cannot be decompressed: ${why}`, {
        cause: error,
      });
    }
    what = ' (after gunzip)';
  }
  const other = otherEncoding(bytes);
  if (other !== null) {
    throw new InputError(`${shown}${what} is ${other} text; ${CONVERT_HINT}`);
  }
  if (startsWith(bytes, UTF8_BOM)) bytes = bytes.subarray(UTF8_BOM.length);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (error) {
    throw new InputError(
      `${shown}${what} is not valid UTF-8 (near byte offset ${firstInvalidUtf8(bytes)}); keymend reads UTF-8 text only`,
      { cause: error },
    );
  }
}

/**
 * Where decoding first fails: the length of the longest prefix that decodes as (possibly unfinished)
 * UTF-8, found by binary search. The bad sequence starts there or a byte or three before.
 */
function firstInvalidUtf8(bytes: Uint8Array): number {
  const decodes = (end: number): boolean => {
    try {
      new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(0, end), {
        stream: true,
      });
      return true;
    } catch {
      return false;
    }
  };
  let low = 0;
  let high = bytes.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (decodes(mid)) low = mid;
    else high = mid - 1;
  }
  return low;
}
