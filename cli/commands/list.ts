/**
 * `keymend list --aws`: what keymend has proposed, applied and revoked in a deployed account, read
 * from its table through the status index ("what standing access has this tool created?").
 */
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InputError, UsageError } from '../../functions/commons/errors';
import { printableLine } from '../../functions/commons/text';
import type { Proposal, ProposalStatus } from '../../functions/core/proposal';
import { accountShown } from '../../functions/render/names';
import { OUTPUT_OPTIONS, type OutputFormat, outputHelp, outputOption, parseCommandLine } from '../args';
import {
  awsStackClients,
  DEFAULT_STACK,
  STACK_OPTIONS,
  type StackChoice,
  stackChoice,
} from '../aws/deployed-stack';
import { proposalsByStatus } from '../aws/proposal-list';
import { stackOutputs } from '../aws/stack-outputs';
import { helpText } from '../help';
import type { CliIo, Command } from '../io';
import { EXIT_STATUS_HELP, runCommand } from '../run-command';
import { printable, shortArn, WIDTH, wrap } from '../text';

const FORMATS = ['text', 'json', 'jsonl'] as const;
/** Every status, in the order `list` shows them when none is asked for. */
const STATUSES: readonly ProposalStatus[] = [
  'applied',
  'applying',
  'pending',
  'failed',
  'revoked',
  'rejected',
  'expired',
  'superseded',
  'refused',
];

const HELP = `Usage: keymend list --aws [--status STATUS[,STATUS...]] [--stack NAME]
                    [--region R] [--output text|json|jsonl]

Lists what keymend has proposed and done in the account and Region of the AWS
credentials: each proposal with its status, its change (the grant, inline
policy or key-policy statement) and its age, read from the deployed table
through its status index (the table's name from the stack's outputs). Read-only.
"What standing access has keymend created here?" is 'keymend list --aws
--status applied'.

Options:
  --aws               read the deployed stack (required: there is nothing local
                      to list).
  --status STATUS     only these statuses, comma-separated: ${STATUSES.join(', ')}
                      (default: all, applied first).
  --stack NAME        the keymend stack's name (default ${DEFAULT_STACK}).
  --region R          its Region (default: the SDK's, from AWS_REGION or the
                      profile).
${outputHelp(FORMATS, 'text')}
                      json: an array of proposals {"id", "status", "age",
                      "createdAt", "updatedAt", "change", ...}; jsonl: one per
                      line.
  -h, --help          show this help.

Calls made: cloudformation:DescribeStacks, dynamodb:Query on the table's
status index.

${EXIT_STATUS_HELP}

Examples:
  keymend list --aws --status applied
  keymend list --aws --stack Keymend-eu-west-1 --region eu-west-1 --output json
`;

interface Options extends StackChoice {
  statuses: readonly ProposalStatus[];
  format: OutputFormat;
}

function options(argv: string[]): Options {
  const { values } = parseCommandLine(argv, {
    aws: { type: 'boolean' },
    status: { type: 'string', multiple: true },
    ...STACK_OPTIONS,
    ...OUTPUT_OPTIONS,
  });
  if (!values.aws) throw new UsageError('give --aws: list reads the deployed stack');
  const statuses = (values.status ?? [])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  for (const status of statuses) {
    if (!(STATUSES as readonly string[]).includes(status)) {
      throw new UsageError(
        `--status must be among ${STATUSES.join(', ')} (got ${JSON.stringify(printable(status))})`,
      );
    }
  }
  return {
    statuses: statuses.length > 0 ? (statuses as ProposalStatus[]) : STATUSES,
    ...stackChoice(values),
    format: outputOption(values, FORMATS, 'text'),
  };
}

/** What `list` prints of one proposal. */
export interface ListedProposal {
  id: string;
  status: ProposalStatus;
  /** Since the proposal was made, e.g. `3h`, `2d`. */
  age: string;
  createdAt: string;
  updatedAt: string;
  appliedAt?: string;
  /** The account the problem is in, and its alias when keymend read one. */
  accountId: string;
  accountAlias?: string;
  region: string;
  principalArn: string;
  operation: string;
  keyArn: string;
  streamArn: string;
  /** The change in words (what was, or would be, written). */
  change: string;
  plan: Proposal['plan'];
  applied?: Proposal['applied'];
}

/** `3m`, `5h`, `2d` from milliseconds. */
export function ageText(ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

/**
 * A plan in words, one line: the grant, inline policy or key-policy statement, ARNs of `accountId` and
 * `region` shortened (the grant's id when `applied` names one). Shared with `keymend apply`.
 */
export function planText(
  plan: NonNullable<Proposal['plan']>,
  scope: Pick<Proposal['scope'], 'accountId' | 'region'>,
  applied?: Proposal['applied'],
): string {
  const short = (arn: string) => shortArn(arn, scope.accountId, scope.region);
  switch (plan.mechanism) {
    case 'cross-account':
      return `key-policy statement ${plan.keySide.statement.Sid} on ${short(plan.keySide.keyArn)} (account ${plan.keyAccountId}) and inline policy ${plan.callerSide.policyName} on ${short(plan.callerSide.principalArn)} (account ${plan.callerAccountId})`;
    case 'kms-grant':
      return `KMS grant ${plan.name} on ${short(plan.keyArn)} to ${short(plan.granteePrincipal)} for ${plan.operations.join(', ')}, only for ${short(plan.constraints.encryptionContextSubset['aws:kinesis:arn'])}${applied && 'grantId' in applied ? ` (grant ${applied.grantId})` : ''}`;
    case 'iam-inline-policy':
      return `inline policy ${plan.policyName} on ${short(plan.principalArn)}`;
    case 'key-policy-statement':
      return `key-policy statement ${plan.statement.Sid} on ${short(plan.keyArn)}`;
    default: {
      const never: never = plan;
      return String(never);
    }
  }
}

function changeText(p: Proposal): string {
  return p.plan ? planText(p.plan, p.scope, p.applied) : `none (${p.code})`;
}

export function listed(p: Proposal, now: Date): ListedProposal {
  return {
    id: p.id,
    status: p.status,
    age: ageText(now.getTime() - Date.parse(p.createdAt)),
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    ...(p.appliedAt ? { appliedAt: p.appliedAt } : {}),
    accountId: p.scope.accountId,
    ...(p.accountAlias ? { accountAlias: p.accountAlias } : {}),
    region: p.scope.region,
    principalArn: p.scope.principalArn,
    operation: p.scope.operation,
    keyArn: p.scope.keyArn,
    streamArn: p.scope.streamArn,
    change: changeText(p),
    plan: p.plan,
    ...(p.applied ? { applied: p.applied } : {}),
  };
}

function text(rows: ListedProposal[], where: string): string {
  const lines = wrap(`${rows.length} ${rows.length === 1 ? 'proposal' : 'proposals'} in ${where}.`, 0);
  if (rows.length > 0) lines.push('', 'STATUS      AGE   ID');
  for (const r of rows) {
    lines.push(`${r.status.padEnd(10)}  ${r.age.padStart(4)}  ${printable(r.id)}`);
    lines.push(...wrap(printable(`account ${accountShown(r.accountId, r.accountAlias)}, ${r.region}`), 6));
    lines.push(...wrap(printable(`${r.operation} by ${r.principalArn} on ${r.streamArn}`), 6));
    lines.push(...wrap(printable(`change: ${r.change}`), 6));
  }
  return `${lines.map((l) => l.slice(0, WIDTH)).join('\n')}\n`;
}

/** The AWS clients `list` needs (tests pass their own): it only reads, with two of the stack's clients. */
export interface ListClients {
  cloudFormation: Pick<CloudFormationClient, 'send'>;
  dynamodb: Pick<DynamoDBClient, 'send'>;
  now?: () => Date;
}

async function run(o: Options, io: CliIo, clients: ListClients): Promise<void> {
  const outputs = await stackOutputs(clients.cloudFormation, o.stack);
  const table = outputs.TableName;
  if (!table) throw new InputError(`stack ${o.stack} has no TableName output: is it a keymend stack?`);
  const now = clients.now?.() ?? new Date();
  const rows: ListedProposal[] = [];
  for (const status of o.statuses) {
    for await (const proposal of proposalsByStatus(clients.dynamodb, table, status))
      rows.push(listed(proposal, now));
  }
  const where = `stack ${o.stack} (table ${table})`;
  if (o.format === 'text') io.stdout(text(rows, printableLine(where)));
  else if (o.format === 'json') io.stdout(`${JSON.stringify(rows, null, 2)}\n`);
  else for (const row of rows) io.stdout(`${JSON.stringify(row)}\n`);
}

/** The list command over `clientsFor` (the AWS SDK's, unless a test passes its own). */
export function makeListCommand(
  clientsFor: (region: string | undefined) => ListClients = awsStackClients,
): Command {
  return {
    name: 'list',
    summary: 'list what keymend has proposed, applied and revoked in a deployed account (--aws)',
    help: helpText(HELP),
    run: (argv, io) =>
      runCommand('list', io, async () => {
        const o = options(argv);
        await run(o, io, clientsFor(o.region));
      }),
  };
}

export const listCommand: Command = makeListCommand();
