/**
 * The command line of every `keymend` command, read the one way: node:util `parseArgs`, strict, and
 * anything it refuses turned into a UsageError (exit 2, with a pointer to `--help`).
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from '../functions/commons/errors';
import { oneLine } from './input';

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
