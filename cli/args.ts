/**
 * The command line of every `keymend` command, read the one way: node:util `parseArgs`, strict, and
 * anything it refuses turned into a UsageError (exit 2, with a pointer to `--help`).
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from '../functions/commons/errors';
import type { OutputFormat } from './event-stream';
import { oneLine } from './input';
import { parseSize } from './log-input';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** What parseArgs throws: its message, and a code such as `ERR_PARSE_ARGS_UNKNOWN_OPTION`. */
export type ParseArgsError = Error & { code?: unknown };

export interface CommandLineSettings<P extends boolean> {
  /** Whether arguments other than options are allowed. @default false */
  positionals?: P;
  /** The command's own words for a parseArgs error; undefined keeps parseArgs' message, on one line. */
  words?: (error: ParseArgsError) => string | undefined;
}

/** `argv` read against `options`; throws UsageError on an unknown option, a missing value and the like. */
export function parseCommandLine<const O extends OptionsConfig, const P extends boolean = false>(
  argv: string[],
  options: O,
  settings: CommandLineSettings<P> = {},
) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: (settings.positionals ?? false) as P,
      options,
    });
  } catch (error) {
    throw new UsageError(settings.words?.(error as ParseArgsError) ?? oneLine(error));
  }
}

/** `--format` and `--jsonl` of the commands that stream results (parse, diagnose): json by default. */
export function outputFormat(values: {
  format?: string | undefined;
  jsonl?: boolean | undefined;
}): OutputFormat {
  if (values.jsonl && values.format !== undefined && values.format !== 'jsonl') {
    throw new UsageError('give one output format');
  }
  const format = values.format ?? (values.jsonl ? 'jsonl' : 'json');
  if (format !== 'json' && format !== 'jsonl' && format !== 'text') {
    throw new UsageError(`--format must be json, jsonl or text (got ${JSON.stringify(format)})`);
  }
  return format;
}

/** `--max-bytes SIZE` as `{ maxBytes }`, or `{}` when it is not given. */
export function maxBytesOption(values: { 'max-bytes'?: string | undefined }): { maxBytes?: number } {
  const text = values['max-bytes'];
  if (text === undefined) return {};
  const size = parseSize(text);
  if (size === null)
    throw new UsageError(`--max-bytes takes a size such as 2GiB (got ${JSON.stringify(text)})`);
  return { maxBytes: size };
}
