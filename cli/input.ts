/**
 * Reading what the commands are given: JSON files (plain or gzipped, detected by content; UTF-8 only,
 * a byte-order mark allowed: adapters/file-text.ts) and CloudTrail log files. Errors come back as one
 * line naming the file and the problem.
 */
import { decodeFileText } from '../functions/adapters/file-text';
import { parseSnapshotText } from '../functions/adapters/snapshot';
import { InputError } from '../functions/commons/errors';
import { printableLine } from '../functions/commons/text';
import type { AccountSnapshot } from '../functions/core/account';
import type { CliIo } from './io';
import { MAX_SNAPSHOT_BYTES, readWhole } from './log-input';

/**
 * One line of printable ASCII, whatever the underlying message holds: messages quote files and
 * events, and a raw escape sequence or NUL must not reach the terminal.
 */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return printableLine(text.replace(/\s+/g, ' ').trim());
}

/** Reads, inflates, decodes and parses `file` (`-` is standard input); a string return is the error line. */
export async function readJson(file: string, io: CliIo): Promise<{ value: unknown } | string> {
  const name = file === '-' ? 'standard input' : file;
  let bytes: Buffer;
  try {
    bytes = await io.readInput(file);
  } catch (error) {
    return `cannot read ${printableLine(name, 300)}: ${oneLine(error)}`;
  }
  let text: string;
  try {
    text = decodeFileText(bytes, name);
  } catch (error) {
    return oneLine(error);
  }
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return `${printableLine(name, 300)} is not valid JSON: ${oneLine(error)}`;
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
  let bytes: Buffer;
  try {
    bytes = await readWhole(file, io, MAX_SNAPSHOT_BYTES, 'a snapshot');
  } catch (error) {
    throw new InputError(`cannot read snapshot ${printableLine(name, 300)}: ${oneLine(error)}`, {
      cause: error,
    });
  }
  return parseSnapshotText(decodeFileText(bytes, `snapshot ${name}`), name);
}
