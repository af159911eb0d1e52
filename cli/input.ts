/**
 * Reading what the commands are given: JSON files (plain or gzipped, detected by content) and
 * CloudTrail log files. Errors come back as one line naming the file and the problem.
 */
import { gunzipSync } from 'node:zlib';
import { parseSnapshotText } from '../functions/adapters/snapshot';
import { InputError } from '../functions/commons/errors';
import type { AccountSnapshot } from '../functions/core/account';
import type { CliIo } from './io';
import { MAX_SNAPSHOT_BYTES, readWhole } from './log-input';

/** A gzipped CloudTrail log file is a few MB; anything that inflates past this is refused. */
const MAX_INFLATED_BYTES = 256 * 1024 * 1024;

/** One line, whatever the underlying message holds. */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s+/g, ' ').trim();
}

function isGzip(bytes: Buffer): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Reads, inflates and parses `file` (`-` is standard input); a string return is the error line. */
export async function readJson(file: string, io: CliIo): Promise<{ value: unknown } | string> {
  const name = file === '-' ? 'standard input' : file;
  let bytes: Buffer;
  try {
    bytes = await io.readInput(file);
  } catch (error) {
    return `cannot read ${name}: ${oneLine(error)}`;
  }
  if (isGzip(bytes)) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: MAX_INFLATED_BYTES });
    } catch (error) {
      return `${name} starts like gzip but cannot be decompressed: ${oneLine(error)}`;
    }
  }
  let text: string;
  try {
    // fatal: a file that is not UTF-8 is not a CloudTrail file; say so rather than parse mojibake.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return `${name} is not UTF-8 text`;
  }
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return `${name} is not valid JSON: ${oneLine(error)}`;
  }
}

/** A CloudTrail log file: an object whose `Records` is an array (and is not itself a record). */
export function logRecords(value: unknown): unknown[] | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  if (!Object.hasOwn(value, 'Records') || Object.hasOwn(value, 'eventSource')) return undefined;
  const records = (value as { Records: unknown }).Records;
  return Array.isArray(records) ? records : undefined;
}

/**
 * Reads and validates an account snapshot (`-` is standard input).
 * @throws InputError when it cannot be read or is not JSON; SnapshotError naming the field when invalid.
 */
export async function readSnapshot(file: string, io: CliIo): Promise<AccountSnapshot> {
  const name = file === '-' ? 'standard input' : file;
  let text: string;
  try {
    text = (await readWhole(file, io, MAX_SNAPSHOT_BYTES, 'a snapshot')).toString('utf8');
  } catch (error) {
    throw new InputError(`cannot read snapshot ${name}: ${oneLine(error)}`, { cause: error });
  }
  return parseSnapshotText(text, name);
}
