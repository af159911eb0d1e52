/**
 * Opening what a command streams: a file (its size checked before reading) or standard input
 * (counted as it arrives), with the limits a `--max-bytes` option sets.
 */
import {
  DEFAULT_LOG_LIMITS,
  formatBytes,
  type LogInput,
  type LogLimits,
  openLogFile,
} from '../functions/adapters/cloudtrail-log';
import { InputError } from '../functions/commons/errors';
import type { CliIo } from './io';

/** A CliIo that can hand over standard input as a stream, and say when stdout has room again. */
export interface StreamingIo extends CliIo {
  openStdin?(): AsyncIterable<Uint8Array>;
  /** Resolves when what was written to stdout has been handed on (a slow pipe reader). */
  drain?(): Promise<void>;
}

/** The help text's lines about input limits (shared by parse, diagnose and scan). */
export const LIMITS_HELP = `Limits: a file over 1 GiB is refused before it is read; standard input or a
device (/dev/zero) is read up to 1 GiB; a gzip may expand to 1 GiB (a day of
CloudTrail logs is far less); one record may be 8 MiB, a document that is not
a log file 32 MiB, and a snapshot 64 MiB. --max-bytes SIZE sets the first
three.`;

/** `--max-bytes` values: a number of bytes, or with a unit: 500MB, 2GiB, 64KiB, 1.5GB. */
export function parseSize(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(|B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)$/i.exec(text.trim());
  if (!m) return null;
  const unit = (m[2] as string).toLowerCase();
  const scale: Record<string, number> = {
    '': 1,
    b: 1,
    kb: 1e3,
    kib: 1024,
    mb: 1e6,
    mib: 1024 ** 2,
    gb: 1e9,
    gib: 1024 ** 3,
    tb: 1e12,
    tib: 1024 ** 4,
  };
  const bytes = Math.floor(Number(m[1]) * (scale[unit] as number));
  return bytes > 0 && Number.isSafeInteger(bytes) ? bytes : null;
}

/** The limits with `--max-bytes` applied to what is read and what a gzip expands to. */
export function limitsFor(maxBytes: number | undefined): LogLimits {
  if (maxBytes === undefined) return DEFAULT_LOG_LIMITS;
  return { ...DEFAULT_LOG_LIMITS, maxInputBytes: maxBytes, maxExpandedBytes: maxBytes };
}

/**
 * Opens `file` (`-` is standard input) for streaming.
 * @throws LogFileError when the file cannot be opened or is over the limit.
 */
export async function openInput(file: string, io: CliIo, limits: LogLimits): Promise<LogInput> {
  if (file !== '-') return openLogFile(file, limits);
  const name = 'standard input';
  const stream = (io as StreamingIo).openStdin?.();
  if (stream) return { name, chunks: stream, regular: false };
  // An io without a stream (as in tests) hands over standard input whole; limits still apply.
  async function* whole() {
    yield await io.readInput('-');
  }
  return { name, chunks: whole(), regular: false };
}

/** A snapshot file is a few hundred KB; anything past this is refused. */
export const MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024;

/**
 * Reads a whole (small) file, `-` being standard input, refusing it past `max` bytes: a regular
 * file by its size before reading, anything else (a pipe, /dev/zero) once it has sent `max`.
 * @throws InputError naming the limit; the file system's own error when it cannot be opened.
 */
export async function readWhole(file: string, io: CliIo, max: number, what: string): Promise<Buffer> {
  const tooLarge = (size: string) =>
    new InputError(`${size}, over the ${formatBytes(max)} limit for ${what}`);
  let chunks: AsyncIterable<Uint8Array>;
  if (file === '-' && !(io as StreamingIo).openStdin) {
    const bytes = await io.readInput('-');
    if (bytes.length > max) throw tooLarge(`it is ${formatBytes(bytes.length)}`);
    return bytes;
  }
  if (file === '-') {
    chunks = (io as StreamingIo).openStdin?.() as AsyncIterable<Uint8Array>;
  } else {
    const input = await openLogFile(file, { ...DEFAULT_LOG_LIMITS, maxInputBytes: max }).catch(
      (error: unknown) => {
        // openLogFile names the file; the caller does too.
        throw new InputError(
          (error as Error).message.replace(`cannot read ${file}: `, '').replace(`${file} is `, 'it is '),
        );
      },
    );
    chunks = input.chunks;
  }
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of chunks) {
    total += chunk.length;
    if (total > max) throw new InputError(`it sent more than the ${formatBytes(max)} limit for ${what}`);
    parts.push(Buffer.from(chunk));
  }
  return Buffer.concat(parts);
}
