/**
 * `keymend parse --event FILE`: runs the intake on a sample event, a CloudTrail record or a whole
 * CloudTrail log file (plain or gzipped) and prints the decision as JSON.
 */
import { LogFileError } from '../../functions/adapters/cloudtrail-log';
import { UsageError } from '../../functions/commons/errors';
import { type IntakeResult, intake } from '../../functions/core/intake';
import { maxBytesOption, outputFormat, parseCommandLine } from '../args';
import { type OutputFormat, streamResults } from '../event-stream';
import { oneLine } from '../input';
import type { Command } from '../io';
import { LIMITS_HELP } from '../log-input';
import { intakeText } from '../text';

const HELP = `Usage: keymend parse --event FILE [--jsonl | --format json|jsonl|text] [--max-bytes SIZE]

Reads one CloudTrail event and prints, as JSON, what keymend makes of it:
  {"match": true, "request": {...}}                  a KMS call that Kinesis made for a principal
                                                     and that was denied: who, which operation,
                                                     key and stream, and which policy type the
                                                     error message blames
  {"match": false, "reason": "...", "detail": "..."} anything else, with the reason

FILE may hold:
  - an EventBridge "AWS API Call via CloudTrail" event (what the Lambda receives),
  - a bare CloudTrail record,
  - a CloudTrail log file {"Records": [...]}, plain or gzipped (detected by content, not by name):
    prints a JSON array with one result per record. The file is read record by record and each
    result written as soon as it is known: memory does not grow with the file.

Options:
  --event FILE      the file to read; '-' reads standard input. Required.
  --format FORMAT   json (the default): pretty JSON, an array for a log file; jsonl: one compact
                    JSON object per line (per record for a log file); text: for people.
  --jsonl           the same as --format jsonl.
  --max-bytes SIZE  the limit for the input and for what a gzip expands to (default 1GiB).
  -h, --help        show this help.

${LIMITS_HELP}

Reasons for a no-match:
  not-cloudtrail         not a CloudTrail API-call record (e.g. a KMS key-rotation event)
  not-kms                eventSource is not kms.amazonaws.com
  not-a-denial           errorCode is not exactly AccessDenied or AccessDeniedException
  unsupported-operation  not Decrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext or DescribeKey
  not-kinesis            no aws:kinesis:arn encryption context and not invoked by kinesis.amazonaws.com
  unsupported-principal  the caller is an AWS service or account, not an IAM principal
  malformed              a field keymend needs is missing, of the wrong type or inconsistent

Exit status: 0 when the input was read as JSON (a no-match included); 2 when the options are wrong
or the file cannot be read, is over a limit, is not valid gzip, or is not valid JSON (for a log
file, the results of the records before the problem are already written).

Examples:
  npm run --silent keymend -- parse --event events/consumer-decrypt-denied-service-role.eventbridge.json
  npm run --silent keymend -- parse --event events/cloudtrail-log-file.records.json.gz --jsonl
`;

/** What parse prints for one record: the intake result, as the JSON shape. */
export type ParseOutput = IntakeResult;

interface ParseOptions {
  event: string;
  format: OutputFormat;
  maxBytes?: number;
}

const VALUED = new Set(['--event', '--format', '--max-bytes']);
const FLAGS = new Set(['--jsonl']);

/** The first argument that is not one of the options (or an option's value). */
function unknownArgument(argv: string[]): string {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const name = arg.split('=')[0] as string;
    if (VALUED.has(arg)) i++;
    else if (!(VALUED.has(name) && arg.includes('=')) && !FLAGS.has(arg)) return arg;
  }
  return argv.join(' ');
}

/** Reads the options with node:util parseArgs, in this command's words. */
function parseOptions(argv: string[]): ParseOptions {
  const { values } = parseCommandLine(
    argv,
    {
      event: { type: 'string' },
      format: { type: 'string' },
      jsonl: { type: 'boolean' },
      'max-bytes': { type: 'string' },
    },
    {
      words: (error) => {
        if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
          const option = /'(--[a-z-]+)/.exec(oneLine(error))?.[1] ?? 'an option';
          return option === '--event'
            ? '--event needs a FILE (or - for standard input)'
            : `${option} needs a value`;
        }
        if (
          error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
          error.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL'
        ) {
          return `unknown argument '${unknownArgument(argv)}'`;
        }
        return undefined;
      },
    },
  );
  const { event } = values;
  if (event === undefined || event === '')
    throw new UsageError('--event FILE is required (- reads standard input)');
  return { event, format: outputFormat(values), ...maxBytesOption(values) };
}

export const parseCommand: Command = {
  name: 'parse',
  summary: 'Show what keymend reads from a CloudTrail event or log file (JSON)',
  help: HELP,
  async run(argv, io) {
    let options: ParseOptions;
    try {
      options = parseOptions(argv);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      io.stderr(`keymend parse: ${oneLine(error)}. See 'keymend parse --help'.\n`);
      return 2;
    }
    try {
      await streamResults<ParseOutput>(
        {
          file: options.event,
          format: options.format,
          ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
          each: (record) => intake(record),
          text: intakeText,
        },
        io,
      );
    } catch (error) {
      if (!(error instanceof LogFileError)) throw error;
      io.stderr(`keymend parse: ${oneLine(error)}\n`);
      return 2;
    }
    return 0;
  },
};
