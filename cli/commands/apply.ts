/**
 * `keymend apply --plan FILE --aws`: applies a plan that `keymend diagnose --output json` made, with
 * the caller's own credentials (break-glass, pipelines), through the steps an approval runs
 * (flows/apply-plan.ts): the account re-read and the denial diagnosed again, the plan refused unless it
 * is exactly the change that diagnosis makes and one the deployed stack enables (its outputs
 * EnabledMechanisms and InlinePolicyPrincipals), then recorded in the stack's table as an approval
 * records it (the caller's ARN as the actor), applied, re-checked and notified. `list --aws` shows it and
 * `revoke ID --aws` undoes it.
 */
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { createAwsAccountReader } from '../../functions/adapters/aws-account';
import { awsReadRequired } from '../../functions/adapters/aws-read';
import { decodeFileText } from '../../functions/adapters/file-text';
import { DynamoProposalStore } from '../../functions/adapters/store';
import { GRANT_PROPAGATION_NOTE } from '../../functions/commons/constants';
import { InputError, UsageError } from '../../functions/commons/errors';
import { isOneOf, MECHANISMS, SETTINGS } from '../../functions/commons/settings';
import { printableLine } from '../../functions/commons/text';
import type { AccountReader } from '../../functions/core/account';
import { fingerprintFieldsOf } from '../../functions/core/new-proposal';
import type { DeploymentRules } from '../../functions/core/plan-binding';
import { fingerprintOf } from '../../functions/core/proposal';
import { applyPlan, type PlanApplyResult } from '../../functions/flows/apply-plan';
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
import { fingerprintProposal } from '../aws/live-proposal';
import { helpText } from '../help';
import type { CliIo, Command } from '../io';
import { MAX_SNAPSHOT_BYTES, readWhole } from '../log-input';
import { type PlanFile, planFromJson, planJsonValues } from '../plan-file';
import { EXIT, EXIT_STATUS_HELP, runCommand } from '../run-command';
import { manualText, printable, WIDTH, wrap } from '../text';
import { planText } from './list';
import { revokeCommandLine } from './revoke';

const FORMATS = ['text', 'json', 'jsonl'] as const;

const HELP = `Usage: keymend apply --plan FILE --aws [--dry-run] [--stack NAME] [--region R]
                     [--output text|json|jsonl]

Applies the fix that 'keymend diagnose --output json' planned for a denial,
with the AWS credentials of whoever runs it (break-glass, a pipeline), as an
approval applies it: the account is read again and the denial diagnosed
again; the plan is refused unless it is exactly the change that diagnosis
makes now (same principal, key, stream, operation and document) and one the
deployed stack enables; then it is recorded in the stack's table (the
caller's ARN as the approver), written, checked by another read, and
announced on the stack's e-mail topic. 'keymend list --aws' shows it and
'keymend revoke ID --aws' undoes it. A pending proposal keymend already made
for the same problem and plan is approved rather than repeated.

Refused, with the reason, exit 1: the denial is gone (allowed by now), the
plan is not what the account needs now (the principal, key, stream or a
policy changed), an explicit deny, an AWS managed key, a boundary or an
organization policy blocks, a mechanism the stack does not enable (a
key-policy change only where the stack enables key-policy changes, as for an
approval; an inline policy only on the principals it names), a plan of
another account or Region than the credentials and the stack.

Options:
  --plan FILE         what 'keymend diagnose --output json' (or jsonl) printed:
                      one result whose verdict is "propose", or an array or
                      lines holding exactly one such result; or 'keymend scan
                      --diagnose --output json' with one proposed fix (or one
                      problem's "diagnosis"). '-' reads standard input.
                      Required.
  --aws               act on the deployed stack (required).
  --dry-run           check everything and print what would be done; write
                      nothing, not even to the table.
  --stack NAME        the keymend stack's name (default ${DEFAULT_STACK}).
  --region R          its Region, and the plan's (default: the SDK's).
${outputHelp(FORMATS, 'text')}
                      json: {"outcome", "proposalId"?, "code"?, "reason"?,
                      "change", "plan", "verified"?, "dryRun"}; outcome is
                      applied, would-apply, refused, failed, not-applied,
                      superseded or conflict.
  -h, --help          show this help.

Calls made: sts:GetCallerIdentity, cloudformation:DescribeStacks, the reads
of 'keymend diagnose --aws' (IAM, KMS, Kinesis, Organizations), dynamodb
GetItem; without --dry-run also dynamodb PutItem and UpdateItem on the table,
the write the plan needs (kms:ListGrants and CreateGrant, with the stack's approval role as
retiring principal, iam:PutRolePolicy or PutUserPolicy, kms:GetKeyPolicy and
PutKeyPolicy) and sns:Publish.

${EXIT_STATUS_HELP}
Here a finding refused is a plan refused, and a failure also a write that
failed (recorded on the proposal).

Examples:
  keymend diagnose --event denial.json --aws --output json > plan.json
  keymend apply --plan plan.json --aws --dry-run
  keymend apply --plan plan.json --aws --stack Keymend --output json
`;

interface Options extends StackChoice {
  plan: string;
  dryRun: boolean;
  format: OutputFormat;
}

function options(argv: string[]): Options {
  const { values } = parseCommandLine(argv, {
    plan: { type: 'string' },
    aws: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    ...STACK_OPTIONS,
    ...OUTPUT_OPTIONS,
  });
  if (values.plan === undefined) throw new UsageError('--plan FILE is required (- reads standard input)');
  if (values.plan === '') throw new UsageError('--plan needs a FILE');
  if (!values.aws) throw new UsageError('give --aws: apply acts on the deployed stack');
  return {
    plan: values.plan,
    dryRun: values['dry-run'] ?? false,
    ...stackChoice(values),
    format: outputOption(values, FORMATS, 'text'),
  };
}

/** The AWS clients apply needs (tests pass their own, and may read the account from a snapshot). */
export interface ApplyClients extends StackClients {
  /** The account reader. @default the deployed functions' AWS reader */
  reader?: (accountId: string, region: string) => AccountReader;
}

/** Reads and checks the plan file. */
async function readPlan(file: string, io: CliIo): Promise<PlanFile> {
  const name = file === '-' ? 'standard input' : printableLine(file, 300);
  let bytes: Buffer;
  try {
    bytes = await readWhole(file, io, MAX_SNAPSHOT_BYTES, 'a plan');
  } catch (error) {
    throw new InputError(`cannot read the plan ${name}: ${printableLine((error as Error).message)}`, {
      cause: error,
    });
  }
  return planFromJson(planJsonValues(decodeFileText(bytes, name), name), name);
}

/** What the stack enables, from its outputs (EnabledMechanisms, InlinePolicyPrincipals). */
function deploymentRules(outputs: Record<string, string>, stack: string): DeploymentRules {
  const redeploy = `deploy this version of keymend's stack (it adds the output) to use keymend apply`;
  const listed = outputs.EnabledMechanisms;
  if (listed === undefined)
    throw new InputError(`stack ${stack} has no EnabledMechanisms output: ${redeploy}`);
  const enabledMechanisms = listed
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  const unknown = enabledMechanisms.find((m) => !isOneOf(MECHANISMS, m));
  if (unknown !== undefined || enabledMechanisms.length === 0) {
    throw new InputError(
      `stack ${stack}'s EnabledMechanisms output ${JSON.stringify(printableLine(listed, 100))} names ${unknown === undefined ? 'no mechanism' : `an unknown mechanism ${JSON.stringify(printableLine(unknown, 60))}`} (expected among ${MECHANISMS.join(', ')})`,
    );
  }
  const inline = outputs.InlinePolicyPrincipals;
  if (enabledMechanisms.includes('iam-inline-policy') && inline === undefined) {
    throw new InputError(
      `stack ${stack} enables inline policies but has no InlinePolicyPrincipals output: ${redeploy}`,
    );
  }
  return {
    enabledMechanisms: enabledMechanisms as DeploymentRules['enabledMechanisms'],
    inlinePolicyPrincipals: (inline ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean),
  };
}

/** What apply prints, in JSON. */
interface Printed {
  outcome: PlanApplyResult['outcome'];
  dryRun: boolean;
  proposalId?: string;
  code?: string;
  reason?: string;
  verified?: boolean;
  change: string;
  plan: PlanFile['plan'];
}

function printed(result: PlanApplyResult, file: PlanFile, dryRun: boolean): Printed {
  const applied = result.outcome === 'applied' ? result.proposal.applied : undefined;
  const proposalId = result.outcome === 'applied' ? result.proposal.id : result.proposalId;
  return {
    outcome: result.outcome,
    dryRun,
    ...(proposalId !== undefined ? { proposalId } : {}),
    ...(result.outcome === 'refused' ? { code: result.code } : {}),
    ...('reason' in result ? { reason: result.reason } : {}),
    ...(result.outcome === 'applied' ? { verified: result.verified } : {}),
    change: planText(file.plan, file.denial, applied),
    plan: file.plan,
  };
}

/** `reason` ending in one full stop (diagnose's reasons end in one already). */
function sentence(reason: string | undefined): string {
  return `${(reason ?? '').replace(/[.\s]+$/, '')}.`;
}

function text(p: Printed, stack: string, actor: string): string {
  const lines: string[] = [];
  const say = (sentence: string) => lines.push(...wrap(printable(sentence), 0));
  switch (p.outcome) {
    case 'applied':
      say(`Applied ${p.proposalId}: ${p.change}.`);
      say(
        p.verified
          ? 'A re-read shows the call allowed.'
          : `A re-read does not show the call allowed yet.${p.plan.mechanism === 'kms-grant' ? ` ${GRANT_PROPAGATION_NOTE}` : ''}`,
      );
      say(`Recorded in stack ${stack}'s table, approved by ${actor}. Undo it with:`);
      lines.push(`  ${printable(revokeCommandLine(p.proposalId ?? '', stack))}`);
      break;
    case 'would-apply':
      say(`Would apply: ${p.change}.`);
      say(
        p.proposalId
          ? `It would approve proposal ${p.proposalId}, pending for this problem, in stack ${stack}'s table, as ${actor}.`
          : `It would record a new proposal in stack ${stack}'s table, approved by ${actor}.`,
      );
      say('Every check holds. Nothing was changed (--dry-run). The change, as the AWS CLI makes it:');
      lines.push(...manualText(p.plan, false));
      break;
    case 'refused':
      say(`Not applied (refused: ${p.code}): ${sentence(p.reason)}`);
      break;
    default:
      say(
        `Not applied (${p.outcome}${p.proposalId ? `, proposal ${p.proposalId}` : ''}): ${sentence(p.reason)}`,
      );
  }
  // The commands are kept whole (they must stay runnable when copied); sentences are wrapped.
  return `${lines.map((l) => (l.startsWith('  ') ? l : l.slice(0, WIDTH))).join('\n')}\n`;
}

async function run(o: Options, io: CliIo, clients: ApplyClients): Promise<number> {
  const file = await readPlan(o.plan, io);
  const caller = await awsReadRequired('sts:GetCallerIdentity', () =>
    clients.sts.send(new GetCallerIdentityCommand({})),
  );
  const outputs = await writingStackOutputs(clients.cloudFormation, o.stack);
  const rules = deploymentRules(outputs, o.stack);
  const region = await clients.cloudFormation.config.region();
  const actor = `keymend apply (${caller.Arn ?? 'unknown caller'})`;
  const { denial } = file;
  const finish = (result: PlanApplyResult) => {
    const p = printed(result, file, o.dryRun);
    if (o.format === 'text') io.stdout(text(p, o.stack, actor));
    else io.stdout(`${JSON.stringify(p, null, o.format === 'json' ? 2 : undefined)}\n`);
    return p.outcome === 'applied' || p.outcome === 'would-apply' ? EXIT.ok : EXIT.failed;
  };
  // The stack acts in its own account and Region only, as the approval function does.
  if (caller.Account !== denial.accountId) {
    return finish({
      outcome: 'refused',
      code: 'wrong-account',
      reason: `the plan is for account ${denial.accountId}, and these credentials are account ${caller.Account ?? 'unknown'}'s: apply it with credentials of account ${denial.accountId}`,
    });
  }
  if (region !== denial.region) {
    return finish({
      outcome: 'refused',
      code: 'wrong-region',
      reason: `the plan is for Region ${denial.region}, and stack ${o.stack} was read in ${region}: give --region ${denial.region} (and that Region's stack)`,
    });
  }
  const store = new DynamoProposalStore(clients.dynamodb, outputs.TableName);
  const live = await fingerprintProposal(
    clients.dynamodb,
    outputs.TableName,
    store,
    fingerprintOf(fingerprintFieldsOf(denial)),
  );
  const ports = stackFlowContext('apply', io, clients, outputs, {
    store,
    reader: (clients.reader ?? ((accountId, r) => createAwsAccountReader({ accountId, region: r })))(
      denial.accountId,
      denial.region,
    ),
    now: clients.now ?? (() => new Date()),
  });
  const result = await applyPlan(
    ports,
    { request: denial, plan: file.plan },
    {
      actor,
      rules,
      links: { baseUrl: outputs.ApprovalUrl ?? '', ttlHours: SETTINGS.linkTtlHours.default },
      dryRun: o.dryRun,
      live,
    },
  );
  return finish(result);
}

/** The apply command over `clientsFor` (the AWS SDK's, unless a test passes its own). */
export function makeApplyCommand(
  clientsFor: (region: string | undefined) => ApplyClients = awsStackClients,
): Command {
  return {
    name: 'apply',
    summary:
      "apply a plan from 'keymend diagnose' with the caller's credentials, as an approval would (--aws)",
    help: helpText(HELP),
    run: (argv, io) =>
      runCommand('apply', io, async () => {
        const o = options(argv);
        return (await run(o, io, clientsFor(o.region))) as 0 | 1;
      }),
  };
}

export const applyCommand: Command = makeApplyCommand();
