/**
 * `keymend parse --event FILE`: runs the intake on a sample event, a CloudTrail record or a whole
 * CloudTrail log file (plain or gzipped) and prints the decision as JSON.
 */
import { escapeNonAscii } from '../../functions/commons/text';
import { type IntakeResult, intake } from '../../functions/core/intake';
import { logRecords, oneLine, readJson } from '../input';
import type { Command } from '../io';

const HELP = `Usage: keymend parse --event FILE

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
    prints a JSON array with one result per record.

Options:
  --event FILE   the file to read; '-' reads standard input. Required.
  -h, --help     show this help.

Reasons for a no-match:
  not-cloudtrail         not a CloudTrail API-call record (e.g. a KMS key-rotation event)
  not-kms                eventSource is not kms.amazonaws.com
  not-a-denial           errorCode is not exactly AccessDenied or AccessDeniedException
  unsupported-operation  not Decrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext or DescribeKey
  not-kinesis            no aws:kinesis:arn encryption context and not invoked by kinesis.amazonaws.com
  unsupported-principal  the caller is an AWS service or account, not an IAM principal
  malformed              a field keymend needs is missing, of the wrong type or inconsistent

Exit status: 0 when the input was read as JSON (a no-match included); 2 when the options are wrong
or the file cannot be read, is not valid gzip, or is not valid JSON.

Example:
  npm run --silent keymend -- parse --event events/consumer-decrypt-denied-service-role.eventbridge.json
`;

/** What parse prints for one record: the intake result, as the JSON shape. */
export type ParseOutput = IntakeResult;

class UsageError extends Error {}

function parseArgs(argv: string[]): { event: string } {
  let event: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--event') {
      const value = argv[i + 1];
      if (value === undefined) throw new UsageError('--event needs a FILE (or - for standard input)');
      event = value;
      i++;
    } else if (arg.startsWith('--event=')) {
      event = arg.slice('--event='.length);
    } else {
      throw new UsageError(`unknown argument '${arg}'`);
    }
  }
  if (event === undefined || event === '')
    throw new UsageError('--event FILE is required (- reads standard input)');
  return { event };
}

export const parseCommand: Command = {
  name: 'parse',
  summary: 'Show what keymend reads from a CloudTrail event or log file (JSON)',
  help: HELP,
  async run(argv, io) {
    let options: { event: string };
    try {
      options = parseArgs(argv);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      io.stderr(`keymend parse: ${oneLine(error)}. See 'keymend parse --help'.\n`);
      return 2;
    }
    const read = await readJson(options.event, io);
    if (typeof read === 'string') {
      io.stderr(`keymend parse: ${read}\n`);
      return 2;
    }
    const records = logRecords(read.value);
    const output: ParseOutput | ParseOutput[] = records ? records.map((r) => intake(r)) : intake(read.value);
    io.stdout(`${escapeNonAscii(JSON.stringify(output, null, 2))}\n`);
    return 0;
  },
};
