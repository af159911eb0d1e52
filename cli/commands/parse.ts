/**
 * `keymend parse --event FILE`: runs the intake on a sample event, a CloudTrail record or a whole
 * CloudTrail log file (plain or gzipped) and prints the decision as JSON.
 */
import { UsageError } from '../../functions/commons/errors';
import { type IntakeResult, intake } from '../../functions/core/intake';
import {
  maxBytesOption,
  OUTPUT_OPTIONS,
  type OutputFormat,
  outputHelp,
  outputOption,
  parseCommandLine,
} from '../args';
import { streamResults } from '../event-stream';
import { helpText } from '../help';
import type { Command } from '../io';
import { LIMITS_HELP } from '../log-input';
import { EXIT_STATUS_HELP, runCommand } from '../run-command';
import { intakeText } from '../text';

const FORMATS = ['json', 'jsonl', 'text'] as const;

const HELP = `Usage: keymend parse --event FILE [--output json|jsonl|text] [--max-bytes SIZE]

Reads CloudTrail events and prints what keymend makes of each:
  {"match": true, "request": {...}}                   a KMS call that Kinesis made for a principal
                                                      and that was denied: who, which operation,
                                                      key and stream, and which policy type the
                                                      error message blames
  {"match": false, "reason": "...", "detail": "..."}  anything else, with the reason

FILE may hold:
  - an EventBridge "AWS API Call via CloudTrail" event (what the Lambda receives),
  - a bare CloudTrail record,
  - a CloudTrail log file {"Records": [...]}, plain or gzipped (detected by content, not by name),
  - the output of 'aws cloudtrail lookup-events' {"Events": [{"CloudTrailEvent": "..."}]}.
A log file or a lookup-events output gives one result per record (an array in json), each written
as soon as it is known: memory does not grow with the file. An input holding no CloudTrail record
at all (an empty log file, some other JSON) is an error naming what was found.

Options:
  --event FILE        the file to read; '-' reads standard input. Required.
${outputHelp(FORMATS, 'json')}
                      json: pretty JSON; jsonl: one compact JSON object per line; text: for people.
  --max-bytes SIZE    the limit for the input and for what a gzip expands to (default 1GiB).
  -h, --help          show this help.

${LIMITS_HELP}

Reasons for a no-match:
  not-cloudtrail         not a CloudTrail API-call record (e.g. a KMS key-rotation event)
  not-kms                eventSource is not kms.amazonaws.com
  not-a-denial           errorCode is not exactly AccessDenied or AccessDeniedException
  unsupported-operation  not Decrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext or DescribeKey
  not-kinesis            no aws:kinesis:arn encryption context and not invoked by kinesis.amazonaws.com
  unsupported-principal  the caller is an AWS service or account, not an IAM principal
  malformed              a field keymend needs is missing, of the wrong type or inconsistent

${EXIT_STATUS_HELP}
For a log file, the results of the records before a problem are already written.

Examples:
  keymend parse --event events/consumer-decrypt-denied-service-role.eventbridge.json
  keymend parse --event events/cloudtrail-log-file.records.json.gz --output jsonl
  aws cloudtrail lookup-events --lookup-attributes AttributeKey=EventSource,AttributeValue=kms.amazonaws.com \\
    --max-results 50 | keymend parse --event - --output text
`;

/** What parse prints for one record: the intake result, as the JSON shape. */
export type ParseOutput = IntakeResult;

interface ParseOptions {
  event: string;
  format: OutputFormat;
  maxBytes?: number;
}

function parseOptions(argv: string[]): ParseOptions {
  const { values } = parseCommandLine(argv, {
    event: { type: 'string' },
    ...OUTPUT_OPTIONS,
    'max-bytes': { type: 'string' },
  });
  const { event } = values;
  if (event === undefined || event === '')
    throw new UsageError('--event FILE is required (- reads standard input)');
  return { event, format: outputOption(values, FORMATS, 'json'), ...maxBytesOption(values) };
}

export const parseCommand: Command = {
  name: 'parse',
  summary: 'show what keymend reads from CloudTrail events: who was denied what, through which stream',
  help: helpText(HELP),
  run: (argv, io) =>
    runCommand('parse', io, async () => {
      const options = parseOptions(argv);
      await streamResults<ParseOutput>(
        {
          file: options.event,
          format: options.format,
          ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
          each: (record) => intake(record),
          text: intakeText,
          isCloudTrail: (result) => result.match || result.reason !== 'not-cloudtrail',
        },
        io,
      );
    }),
};
