/**
 * The command line of every `keymend` command, read the one way: node:util `parseArgs`, strict, and
 * anything it refuses turned into a UsageError in keymend's own words (exit 2, with a pointer to
 * `--help`); `--output` read the one way too.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from '../functions/commons/errors';
import { nearest } from '../functions/commons/nearest';
import { printableLine } from '../functions/commons/text';
import { parseSize } from './log-input';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** What parseArgs throws: its message, and a code such as `ERR_PARSE_ARGS_UNKNOWN_OPTION`. */
type ParseArgsError = Error & { code?: unknown };

/** `--output`: `json` pretty JSON, `jsonl` one compact JSON object per line, `text` for people. */
export type OutputFormat = 'json' | 'jsonl' | 'text';

/**
 * The output options every command takes: `--output` (the AWS CLI's word) and the older spellings
 * kept as aliases (`--format FORMAT`, `--json`, `--jsonl`).
 */
export const OUTPUT_OPTIONS = {
  output: { type: 'string', short: 'o' },
  format: { type: 'string' },
  json: { type: 'boolean' },
  jsonl: { type: 'boolean' },
} as const;

/** The help line of `--output`, the same on every command. */
export function outputHelp(allowed: readonly OutputFormat[], fallback: OutputFormat): string {
  return `  --output FORMAT     ${allowed.join(', ')} (default ${fallback}). --format FORMAT,
                      --json and --jsonl are the same.`;
}

/**
 * `--output` (or one of its aliases) among `allowed`, `fallback` when none is given.
 * @throws UsageError when two disagree or the format is not one this command writes.
 */
export function outputOption(
  values: { output?: string; format?: string; json?: boolean; jsonl?: boolean },
  allowed: readonly OutputFormat[],
  fallback: OutputFormat,
): OutputFormat {
  const given = [
    values.output,
    values.format,
    values.json ? 'json' : undefined,
    values.jsonl ? 'jsonl' : undefined,
  ].filter((v): v is string => v !== undefined);
  const format = given[0] ?? fallback;
  if (given.some((g) => g !== format)) {
    throw new UsageError(`give one output format (got ${given.map((g) => JSON.stringify(g)).join(' and ')})`);
  }
  if (!(allowed as readonly string[]).includes(format)) {
    throw new UsageError(
      `--output must be ${orList(allowed)} (got ${JSON.stringify(printableLine(format, 40))})`,
    );
  }
  return format as OutputFormat;
}

function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

/**
 * `argv` read against `options`.
 * @throws UsageError naming the option or argument at fault, in keymend's words.
 */
export function parseCommandLine<const O extends OptionsConfig, const P extends boolean = false>(
  argv: string[],
  options: O,
  settings: { positionals?: P } = {},
) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: (settings.positionals ?? false) as P,
      options,
    });
  } catch (error) {
    throw new UsageError(usageWords(error as ParseArgsError, argv, options));
  }
}

/** What was wrong with the command line, said the same way for every command. */
function usageWords(error: ParseArgsError, argv: string[], options: OptionsConfig): string {
  const quoted = /'([^']*)'/.exec(error.message)?.[1] ?? '';
  // parseArgs quotes the option with its value placeholder ("'--event <value>'"), or the argument.
  const option = quoted.split(' ')[0] ?? quoted;
  const names = Object.keys(options).map((name) => `--${name}`);
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const near = nearestOption(option.split('=')[0] ?? option, names);
      return `unknown option '${printableLine(option, 80)}'${near ? `; did you mean ${near}?` : ''}`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const long = longName(option, options);
      const config = options[long.slice(2)];
      return config?.type === 'boolean' ? `${long} takes no value` : `${long} needs a value`;
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument '${printableLine(quoted || argv.join(' '), 80)}'`;
    default:
      return printableLine(error.message.replace(/\s+/g, ' '));
  }
}

/** `-o` as `--output`; a long name as itself. */
function longName(option: string, options: OptionsConfig): string {
  if (option.startsWith('--')) return option;
  const short = option.slice(1);
  const entry = Object.entries(options).find(([, config]) => config.short === short);
  return entry ? `--${entry[0]}` : option;
}

/** The option a typo most likely meant: the same but for case, or a third of its letters or fewer changed. */
function nearestOption(word: string, candidates: readonly string[]): string | null {
  return nearest(word, candidates, Math.max(1, Math.floor(word.replace(/^-+/, '').length / 3)) + 1);
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
