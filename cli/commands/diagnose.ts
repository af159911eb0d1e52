/**
 * `keymend diagnose`: for each denied Kinesis KMS call in an event file, say which policy layer
 * blocks it and propose the least-privilege fix with its proof, reading the account from a
 * snapshot or (read-only) from AWS.
 */
import { UsageError } from '../../functions/commons/errors';
import { type DiagnoseResult, diagnose } from '../../functions/core/diagnose';
import { gatherState } from '../../functions/core/gather';
import { intake } from '../../functions/core/intake';
import { MECHANISMS, type Mechanism } from '../../functions/core/plan';
import type { KinesisKmsRequest } from '../../functions/core/request';
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
import { accountReaders, type ReaderFor } from '../readers';
import { EXIT, EXIT_STATUS_HELP, runCommand } from '../run-command';
import { diagnoseText } from '../text';

const FORMATS = ['json', 'jsonl', 'text'] as const;

const HELP = `Usage: keymend diagnose --event FILE (--account SNAPSHOT.json | --aws) [--prefer MECHANISM]
                        [--output json|jsonl|text] [--max-bytes SIZE]

For each KMS call that Kinesis made for a principal and that was denied, evaluates the account's
real policies, says which layer blocks the call, and plans the least-privilege fix with its proof.
Prints one JSON object per event (an array for a CloudTrail log file, written record by record
as each verdict is known, so memory does not grow with the file):
  {"verdict": "ignore|propose|refuse", "code": "...", "reason": "...", "request": {...},
   "denial": {...}, "diagnosis": {"current": "...", "blockingLayers": [...]}, "plan": {...},
   "proof": {...}}
"request" summarizes the denied request; "denial" is all of it, as 'keymend parse' reads it. A
"propose" result is a plan file for 'keymend apply --plan FILE --aws'.
  ignore   the event is not a denied Kinesis KMS call, or the request is allowed by now
  refuse   keymend will not fix it (explicit deny, AWS managed key, boundary, SCP, ...): "code" says which
  propose  the plan, proven: the denied request becomes allowed and neighbouring requests stay denied
           (code "propose")
Nothing is changed: diagnose only reads.

Options:
  --event FILE        an EventBridge event, a CloudTrail record or log file (plain or gzipped),
                      or the output of 'aws cloudtrail lookup-events'; '-' reads standard input.
                      Required. An input with no CloudTrail record in it is an error.
  --account FILE      the account snapshot to evaluate against (docs/snapshot.md).
  --aws               read the account through the AWS SDK instead (read-only), the account
                      the default credential chain is for (sts:GetCallerIdentity): an event
                      of another account is refused with code wrong-account.
  --prefer MECHANISM  the fix to try first: ${MECHANISMS.join(', ')} (default kms-grant).
                      keymend falls back to the next one the proof shows sufficient.
${outputHelp(FORMATS, 'json')}
                      json: pretty JSON, an array for a log file; jsonl: one compact JSON object
                      per line (per record for a log file); text: for people.
  --max-bytes SIZE    the limit for the event file and for what a gzip expands to (default 1GiB).
  -h, --help          show this help.

${LIMITS_HELP}

${EXIT_STATUS_HELP}
Here a finding refused is a "refuse" verdict. For a log file, the verdicts of the records before a
problem are already written.

Examples:
  keymend diagnose --event events/consumer-decrypt-denied-service-role.eventbridge.json \\
    --account events/accounts/demo.json
  keymend diagnose --event events/cloudtrail-log-file.records.json.gz \\
    --account events/accounts/demo.json --output text
`;

interface Options {
  event: string;
  account?: string;
  aws: boolean;
  prefer: Mechanism;
  format: OutputFormat;
  maxBytes?: number;
}

function options(argv: string[]): Options {
  const { values } = parseCommandLine(argv, {
    event: { type: 'string' },
    account: { type: 'string' },
    aws: { type: 'boolean' },
    prefer: { type: 'string' },
    ...OUTPUT_OPTIONS,
    'max-bytes': { type: 'string' },
  });
  if (!values.event) throw new UsageError('--event FILE is required (- reads standard input)');
  if (values.account === undefined && !values.aws)
    throw new UsageError('give --account SNAPSHOT.json or --aws');
  if (values.account !== undefined && values.aws) throw new UsageError('give --account or --aws, not both');
  if (values.account === '') throw new UsageError('--account needs a FILE');
  if (values.event === '-' && values.account === '-') {
    throw new UsageError('--event and --account cannot both read standard input');
  }
  const prefer = values.prefer ?? 'kms-grant';
  if (!(MECHANISMS as readonly string[]).includes(prefer)) {
    throw new UsageError(`--prefer must be one of ${MECHANISMS.join(', ')} (got ${JSON.stringify(prefer)})`);
  }
  const format = outputOption(values, FORMATS, 'json');
  return {
    event: values.event,
    ...(values.account !== undefined ? { account: values.account } : {}),
    aws: values.aws ?? false,
    prefer: prefer as Mechanism,
    format,
    ...maxBytesOption(values),
  };
}

/** The verdict for an event that is not a denied Kinesis KMS call. */
function notApplicable(reason: string, detail: string): DiagnoseResult {
  return {
    verdict: 'ignore',
    code: 'not-applicable',
    reason: `Not a denied KMS call made through Kinesis (${reason}): ${detail}`,
    request: null,
    diagnosis: null,
    plan: null,
    proof: null,
  };
}

async function diagnoseOne(
  record: unknown,
  readerFor: ReaderFor,
  prefer: Mechanism,
  notCloudTrail: WeakSet<DiagnoseResult>,
): Promise<DiagnoseResult> {
  const result = intake(record);
  if (!result.match) {
    const verdict = notApplicable(result.reason, result.detail);
    if (result.reason === 'not-cloudtrail') notCloudTrail.add(verdict);
    return verdict;
  }
  const state = await gatherState(await readerFor(result.request), result.request);
  return withDenial(diagnose(result.request, state, { prefer }), result.request);
}

/**
 * The result with `denial`, the request as the intake read it, right after `request` (its summary):
 * what `keymend apply --plan` diagnoses again, so a result is a plan file.
 */
function withDenial(result: DiagnoseResult, denial: KinesisKmsRequest): DiagnoseResult {
  if (result.request === null) return result;
  const { verdict, code, reason, request, ...rest } = result;
  return { verdict, code, reason, request, denial, ...rest } as unknown as DiagnoseResult;
}

export const diagnoseCommand: Command = {
  name: 'diagnose',
  summary: 'say which policy layer blocks a denied call and plan the proven least-privilege fix',
  help: helpText(HELP),
  run: (argv, io) =>
    runCommand('diagnose', io, async () => {
      const o = options(argv);
      const readerFor = await accountReaders(o.account, io);
      const notCloudTrail = new WeakSet<DiagnoseResult>();
      let refused = 0;
      await streamResults<DiagnoseResult>(
        {
          file: o.event,
          format: o.format,
          ...(o.maxBytes !== undefined ? { maxBytes: o.maxBytes } : {}),
          each: async (record) => {
            const result = await diagnoseOne(record, readerFor, o.prefer, notCloudTrail);
            if (result.verdict === 'refuse') refused++;
            return result;
          },
          text: diagnoseText,
          isCloudTrail: (result) => !notCloudTrail.has(result),
        },
        io,
      );
      return refused > 0 ? EXIT.failed : EXIT.ok;
    }),
};
