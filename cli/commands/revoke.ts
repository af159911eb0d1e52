/**
 * `keymend revoke ID --aws`: undoes what keymend applied for a proposal, with the caller's own
 * credentials (break-glass, or once the 72-hour link has expired), through the same step the approval
 * function's Revoke button runs (flows/apply.ts `revokeProposal`): the proposal re-read from the table,
 * refused unless it is `applied`, a key policy put back only if it is still the one keymend wrote, the
 * outcome recorded in its audit trail (the caller's ARN as the actor) and notified.
 */
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { createAwsAccountReader } from '../../functions/adapters/aws-account';
import { awsReadRequired } from '../../functions/adapters/aws-read';
import { DynamoProposalStore } from '../../functions/adapters/store';
import { InputError, UsageError } from '../../functions/commons/errors';
import { revokeProposal } from '../../functions/flows/apply';
import { accountShown } from '../../functions/render/names';
import { OUTPUT_OPTIONS, type OutputFormat, outputHelp, outputOption, parseCommandLine } from '../args';
import {
  awsStackClients,
  DEFAULT_STACK,
  STACK_OPTIONS,
  type StackChoice,
  type StackClients,
  stackChoice,
  stackFlowContext,
  writingStackOutputs,
} from '../aws/deployed-stack';
import { helpText } from '../help';
import type { CliIo, Command } from '../io';
import { EXIT, EXIT_STATUS_HELP, runCommand } from '../run-command';
import { printable } from '../text';

const FORMATS = ['text', 'json', 'jsonl'] as const;

const HELP = `Usage: keymend revoke ID --aws [--stack NAME] [--region R]
                      [--output text|json|jsonl]

Undoes what keymend applied for proposal ID ('keymend list --aws --status
applied' lists them), with the AWS credentials of whoever runs it: for
break-glass, or when the revoke link has expired. It runs the step the
approval page's Revoke button runs: the proposal is re-read from the stack's
table and must be "applied"; the grant keymend created is retired, the inline
policy it named deleted, or the previous key policy put back only if the key
policy is still the one keymend wrote; the outcome goes into the proposal's
audit trail (the caller's ARN as the actor) and to the stack's e-mail topic.
It refuses what the Revoke button refuses, and undoes nothing else.

Options:
  ID                  the proposal's id. Required.
  --aws               act on the deployed stack (required).
  --stack NAME        the keymend stack's name (default ${DEFAULT_STACK}).
  --region R          its Region (default: the SDK's).
${outputHelp(FORMATS, 'text')}
                      json: {"outcome", "proposalId", "reason"?}.
  -h, --help          show this help.

Calls made: sts:GetCallerIdentity, cloudformation:DescribeStacks, dynamodb
GetItem and UpdateItem on the table, then what undoes the change (the grant
retired, iam:DeleteRolePolicy or DeleteUserPolicy, kms:GetKeyPolicy and
PutKeyPolicy), as the approval function makes it; sns:Publish.

${EXIT_STATUS_HELP}
Here a finding refused is a revoke refused (the proposal is not applied, the
key policy changed since keymend wrote it) and a failure an undo that failed.

An ID that starts with - goes after --, which ends the options:
  keymend revoke --aws --stack Keymend -- -q2Ue6bRk1TrxXh2

Example:
  keymend revoke 3q2Ue6bRk1TrxXh2 --aws --stack Keymend
`;

interface Options extends StackChoice {
  id: string;
  format: OutputFormat;
}

function options(argv: string[]): Options {
  const { values, positionals } = parseCommandLine(
    argv,
    { aws: { type: 'boolean' }, ...STACK_OPTIONS, ...OUTPUT_OPTIONS },
    { positionals: true },
  );
  if (!values.aws) throw new UsageError('give --aws: revoke acts on the deployed stack');
  const [id, ...more] = positionals;
  if (id === undefined) throw new UsageError('give the proposal ID');
  if (more.length > 0) throw new UsageError(`give one proposal ID (got ${positionals.length})`);
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(id)) {
    throw new UsageError(`a proposal ID is letters, digits, - and _ (got ${JSON.stringify(printable(id))})`);
  }
  return {
    id,
    ...stackChoice(values),
    format: outputOption(values, FORMATS, 'text'),
  };
}

/** The AWS clients revoke needs (tests pass their own). */
export type RevokeClients = StackClients;

async function run(o: Options, io: CliIo, clients: RevokeClients): Promise<number> {
  const caller = await awsReadRequired('sts:GetCallerIdentity', () =>
    clients.sts.send(new GetCallerIdentityCommand({})),
  );
  const outputs = await writingStackOutputs(clients.cloudFormation, o.stack);
  const store = new DynamoProposalStore(clients.dynamodb, outputs.TableName);
  const proposal = await store.getProposal(o.id);
  if (!proposal) throw new InputError(`no proposal ${o.id} in stack ${o.stack}`);
  const ports = stackFlowContext('revoke', io, clients, outputs, {
    store,
    reader: createAwsAccountReader({ accountId: proposal.scope.accountId, region: proposal.scope.region }),
    now: clients.now ?? (() => new Date()),
  });
  const actor = `keymend revoke (${caller.Arn ?? 'unknown caller'})`;
  const result = await revokeProposal(ports, proposal, actor);
  const printed = {
    outcome: result.outcome,
    proposalId: o.id,
    accountId: proposal.scope.accountId,
    ...(proposal.accountAlias ? { accountAlias: proposal.accountAlias } : {}),
    ...('reason' in result ? { reason: result.reason } : {}),
  };
  const account = printable(accountShown(proposal.scope.accountId, proposal.accountAlias));
  if (o.format === 'text') {
    io.stdout(
      result.outcome === 'revoked'
        ? `Revoked ${o.id} in account ${account}: what keymend applied was undone and recorded.\n`
        : `Not revoked (${result.outcome}) in account ${account}: ${printable(printed.reason ?? '')}.\n`,
    );
  } else {
    io.stdout(`${JSON.stringify(printed, null, o.format === 'json' ? 2 : undefined)}\n`);
  }
  return result.outcome === 'revoked' ? EXIT.ok : EXIT.failed;
}

/** The command line that revokes proposal `id` of `stack`: after `--` when the id starts with `-`. */
export function revokeCommandLine(id: string, stack: string): string {
  return id.startsWith('-')
    ? `keymend revoke --aws --stack ${stack} -- ${id}`
    : `keymend revoke ${id} --aws --stack ${stack}`;
}

/** The revoke command over `clientsFor` (the AWS SDK's, unless a test passes its own). */
export function makeRevokeCommand(
  clientsFor: (region: string | undefined) => RevokeClients = awsStackClients,
): Command {
  return {
    name: 'revoke',
    summary: "undo what keymend applied for a proposal, with the caller's credentials (--aws)",
    help: helpText(HELP),
    run: (argv, io) =>
      runCommand('revoke', io, async () => {
        const o = options(argv);
        return (await run(o, io, clientsFor(o.region))) as 0 | 1;
      }),
  };
}

export const revokeCommand: Command = makeRevokeCommand();
