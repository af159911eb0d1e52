/**
 * How `parse` and `diagnose` read their event file and write their results: a single event gives
 * one result, as before; a CloudTrail log file (or a LookupEvents output) is read record by record
 * and each result is written as soon as it is known, so memory does not grow with the file.
 */
import { escapeNonAscii, printableLine } from '../functions/commons/text';
import type { OutputFormat } from './args';
import type { CliIo } from './io';
import { limitsFor, openInput, type StreamingIo } from './log-input';
import { CloudTrailTally, inputItems } from './records';

export type { OutputFormat };

export interface StreamOptions<T> {
  /** The file to read; `-` is standard input. */
  file: string;
  format: OutputFormat;
  maxBytes?: number;
  /** The result for one event or record. */
  each(record: unknown): T | Promise<T>;
  /** The text lines of one result (`--output text`). */
  text(result: T): string[];
  /** False for a result saying its document is not a CloudTrail record at all. */
  isCloudTrail(result: T): boolean;
}

/** Lines of `JSON.stringify(value, null, 2)` indented by two more spaces: an element of a pretty array. */
function indented(value: unknown): string {
  return `  ${escapeNonAscii(JSON.stringify(value, null, 2)).replace(/\n/g, '\n  ')}`;
}

/**
 * Reads `o.file` and writes each result to stdout as it comes. A pretty JSON array for a log file
 * is written element by element (`[` once the first record is read, `]` at the end), so its bytes
 * are exactly those of `JSON.stringify(results, null, 2)`.
 * @throws LogFileError when the input cannot be read; InputError when it holds no CloudTrail record
 * (what was found is named). Results already written stay written.
 */
export async function streamResults<T>(o: StreamOptions<T>, io: CliIo): Promise<void> {
  const limits = limitsFor(o.maxBytes);
  const input = await openInput(o.file, io, limits);
  const tally = new CloudTrailTally();
  const where = printableLine(input.name, 300);
  let n = 0;
  for await (const item of inputItems(input, limits)) {
    if (item.kind === 'event') {
      const result = await o.each(item.event);
      tally.note(item.event, o.isCloudTrail(result));
      if (o.format === 'text') io.stdout(`${o.text(result).join('\n')}\n`);
      else io.stdout(`${escapeNonAscii(JSON.stringify(result, null, o.format === 'json' ? 2 : 0))}\n`);
      tally.check(where);
      return;
    }
    const result = await o.each(item.record);
    tally.note(item.record, o.isCloudTrail(result));
    n++;
    if (o.format === 'jsonl') io.stdout(`${escapeNonAscii(JSON.stringify(result))}\n`);
    else if (o.format === 'json') io.stdout(`${n === 1 ? '[\n' : ',\n'}${indented(result)}`);
    else io.stdout(`${n === 1 ? '' : '\n'}record ${n}:\n${o.text(result).join('\n')}\n`);
    // A reader slower than keymend would otherwise have every result queued in memory.
    await (io as StreamingIo).drain?.();
  }
  if (o.format === 'json') io.stdout(n === 0 ? '[]\n' : '\n]\n');
  tally.check(where);
}
