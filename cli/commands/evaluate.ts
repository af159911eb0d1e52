/**
 * `keymend evaluate`: evaluates one request against an account snapshot and prints the decision and
 * what decided it, as JSON.
 */
import { createAwsAccountReader } from '../../functions/adapters/aws-account';
import { SnapshotReader } from '../../functions/adapters/snapshot';
import {
  parseArn,
  parseAssumedRoleArn,
  parseFederatedUserArn,
  parseRoleArn,
  parseRootArn,
  parseStreamArn,
  parseUserArn,
} from '../../functions/commons/arn';
import { UsageError } from '../../functions/commons/errors';
import { printableLine } from '../../functions/commons/text';
import type { AccountReader, AccountSnapshot, PrincipalState } from '../../functions/core/account';
import { buildPolicySet, requestPrincipal } from '../../functions/core/authorization';
import { kinesisCall, kmsKeyFacts } from '../../functions/core/context-keys';
import { findUncertainty, type Uncertainty } from '../../functions/core/uncertainty';
import { principalContext } from '../../functions/policy/context';
import { evaluate } from '../../functions/policy/evaluate';
import type { AuthorizationRequest, ContextValue, DecidedBy, Decision } from '../../functions/policy/types';
import { OUTPUT_OPTIONS, type OutputFormat, outputHelp, outputOption, parseCommandLine } from '../args';
import { evaluateText, evaluateWarnings } from '../evaluate-words';
import { helpText } from '../help';
import { readSnapshot } from '../input';
import type { CliIo, Command } from '../io';
import { EXIT_STATUS_HELP, runCommand } from '../run-command';

const FORMATS = ['json', 'jsonl', 'text'] as const;

const HELP = `Usage: keymend evaluate (--account SNAPSHOT.json | --aws) --principal ARN --action ACTION
                        --resource ARN [--context KEY=VALUE ...] [--via-kinesis STREAM_ARN]
                        [--output json|jsonl|text]

Evaluates one request the way AWS would, against the policies in an account snapshot (identity
policies, permissions boundary, key policy, grants, SCPs, RCPs), and prints:
  {"decision": "allowed|implicit-deny|explicit-deny",
   "decidedBy": [{"policyType": "...", "policy": "...", "statement": "..."}]}
decidedBy names the deny statements for an explicit deny, the allows that granted an allowed
request, and for an implicit deny each layer that lacked an allow (with statement "").
With --via-kinesis, "uncertainty" is added when the decision turns on what keymend cannot know
(a forward access session, aws:SourceIp, a key's tags not in the snapshot, ...), with every answer.
See docs/evaluator.md.

A name that is not in the account is most often a typo, and its answer a confident implicit deny:
each principal, key or stream not found, and an action that is not a KMS action, is warned about
on standard error and listed in "warnings" (absent when there is none), with the nearest name
("did you mean ...?"). Text output explains the decision in a sentence.

Options:
  --account FILE          the account snapshot (docs/snapshot.md); '-' reads standard input.
  --aws                   read the account through the AWS SDK instead, as diagnose --aws does
                          (read-only; the principal's account, the key's Region).
  --principal ARN         role, user or role-session ARN (a session ARN is mapped to the snapshot's
                          role of that name). Required.
  --action ACTION         e.g. kms:Decrypt. Required.
  --resource ARN          e.g. a key ARN (an alias ARN is resolved through the snapshot). Required.
  --context KEY=VALUE     a request-context key; repeat it; a key given twice becomes multivalued.
                          Overrides what --via-kinesis and the principal fill in.
  --via-kinesis STREAM    fill the context exactly as diagnose does for a KMS call Kinesis makes for
                          STREAM (kms:ViaService, the aws:kinesis:arn encryption context, the key's
                          tags, aliases and attributes, the organization's keys, ...).
  --forward-access-session
                          with --via-kinesis: evaluate the call as made in a forward access session
                          (aws:ViaAWSService true, aws:CalledVia kinesis.amazonaws.com).
${outputHelp(FORMATS, 'json')}
  -h, --help              show this help.

${EXIT_STATUS_HELP}
A decision printed is done (0), whatever the decision.

Example:
  keymend evaluate --account events/accounts/demo.json \\
    --principal arn:aws:sts::111122223333:assumed-role/orders-consumer/i-0abc123 --action kms:Decrypt \\
    --resource arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab \\
    --via-kinesis arn:aws:kinesis:us-east-1:111122223333:stream/orders
`;

interface Options {
  account?: string;
  aws: boolean;
  format: OutputFormat;
  principal: string;
  action: string;
  resource: string;
  context: Record<string, ContextValue>;
  viaKinesis?: string;
  forwardAccessSession: boolean;
}

function options(argv: string[]): Options {
  const parsed = parse(argv);
  const v = parsed.values;
  if (v.account === undefined && !v.aws) throw new UsageError('give --account SNAPSHOT.json or --aws');
  if (v.account !== undefined && v.aws) throw new UsageError('give --account or --aws, not both');
  for (const name of ['account', 'principal', 'action', 'resource'] as const) {
    if (name === 'account' && v.aws) continue;
    if (v[name] === undefined || v[name] === '') throw new UsageError(`--${name} is required`);
  }
  const principal = v.principal as string;
  const isPrincipal = [
    parseRoleArn,
    parseUserArn,
    parseAssumedRoleArn,
    parseRootArn,
    parseFederatedUserArn,
  ].some((parse) => parse(principal) !== null);
  if (!isPrincipal) {
    throw new UsageError(
      `--principal is not a role, user, role-session, root or federated-user ARN (got ${JSON.stringify(printableLine(principal, 200))})`,
    );
  }
  const action = v.action as string;
  if (!/^[A-Za-z0-9-]+:[A-Za-z0-9*?]+$/.test(action)) {
    throw new UsageError(
      `--action must be service:Action, such as kms:Decrypt (got ${JSON.stringify(action)})`,
    );
  }
  const resource = v.resource as string;
  if (!parseArn(resource))
    throw new UsageError(`--resource must be an ARN (got ${JSON.stringify(resource)})`);
  const viaKinesis = v['via-kinesis'];
  if (viaKinesis !== undefined && !parseStreamArn(viaKinesis)) {
    throw new UsageError(`--via-kinesis must be a Kinesis stream ARN (got ${JSON.stringify(viaKinesis)})`);
  }
  const forwardAccessSession = v['forward-access-session'] === true;
  if (forwardAccessSession && viaKinesis === undefined) {
    throw new UsageError('--forward-access-session needs --via-kinesis');
  }
  const context: Record<string, ContextValue> = {};
  for (const pair of v.context ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--context takes KEY=VALUE (got ${JSON.stringify(pair)})`);
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const prior = context[key];
    context[key] = prior === undefined ? value : [...(Array.isArray(prior) ? prior : [String(prior)]), value];
  }
  return {
    ...(v.account !== undefined ? { account: v.account } : {}),
    aws: v.aws === true,
    format: outputOption(v, FORMATS, 'json'),
    principal: v.principal as string,
    action,
    resource,
    context,
    forwardAccessSession,
    ...(viaKinesis !== undefined ? { viaKinesis } : {}),
  };
}

function parse(argv: string[]) {
  return parseCommandLine(argv, {
    account: { type: 'string' },
    principal: { type: 'string' },
    action: { type: 'string' },
    resource: { type: 'string' },
    context: { type: 'string', multiple: true },
    'via-kinesis': { type: 'string' },
    'forward-access-session': { type: 'boolean' },
    aws: { type: 'boolean' },
    ...OUTPUT_OPTIONS,
  });
}

/** The snapshot principal a role-session ARN belongs to: the role of that name in that account. */
function sessionRole(principals: readonly PrincipalState[], sessionArn: string): PrincipalState | null {
  const session = parseAssumedRoleArn(sessionArn);
  if (!session) return null;
  return (
    principals.find((p) => {
      const role = parseRoleArn(p.arn);
      return role !== null && role.accountId === session.accountId && role.roleName === session.roleName;
    }) ?? null
  );
}

/** The account to evaluate against: the snapshot, or (--aws) the principal's account in the key's Region. */
async function accountFor(
  o: Options,
  io: CliIo,
): Promise<{ reader: AccountReader; snapshot: AccountSnapshot | null }> {
  if (o.account !== undefined) {
    const snapshot = await readSnapshot(o.account, io);
    return { reader: new SnapshotReader(snapshot), snapshot };
  }
  const accountId = parseArn(o.principal)?.accountId;
  const region = parseArn(o.resource)?.region || parseArn(o.viaKinesis ?? '')?.region;
  if (!accountId || !region) {
    throw new UsageError(
      'with --aws, --principal names the account and --resource (or --via-kinesis) the Region',
    );
  }
  return { reader: createAwsAccountReader({ accountId, region }), snapshot: null };
}

/** The principal's state: a session ARN is its role's (by name, in the snapshot or through IAM). */
async function principalState(
  o: Options,
  reader: AccountReader,
  snapshot: AccountSnapshot | null,
): Promise<PrincipalState | null> {
  const session = parseAssumedRoleArn(o.principal);
  if (!session) return reader.getPrincipal(o.principal);
  if (snapshot) return sessionRole(snapshot.principals, o.principal);
  // IAM reads a role by name: its path does not matter for the read, and comes back in its ARN.
  return reader.getPrincipal(`arn:${session.partition}:iam::${session.accountId}:role/${session.roleName}`);
}

/** What `evaluate` prints. */
export interface EvaluateOutput {
  decision: Decision;
  decidedBy: DecidedBy[];
  uncertainty?: Uncertainty;
  warnings?: string[];
}

async function run(o: Options, io: CliIo): Promise<EvaluateOutput> {
  const { reader, snapshot } = await accountFor(o, io);
  const state = await principalState(o, reader, snapshot);
  const principal = requestPrincipal({ arn: o.principal, state });
  const key = await reader.getKey(o.resource);
  const stream = o.viaKinesis === undefined ? undefined : await reader.getStream(o.viaKinesis);
  const resource = key?.arn ?? o.resource;
  const resourceAccount = parseArn(resource)?.accountId || reader.accountId;
  const organization = await reader.getOrganization();
  const policies = buildPolicySet({
    principal: state,
    key,
    organization,
    resourceAccountId: resourceAccount,
    organizationAccountId: reader.accountId,
  });
  let request: AuthorizationRequest;
  let uncertainty: Uncertainty | null = null;
  if (o.viaKinesis !== undefined) {
    const streamArn = o.viaKinesis;
    // The request diagnose builds (functions/core/context-keys.ts), so the two never disagree.
    const call = (forwardAccessSession: boolean) => {
      const built = kinesisCall({
        principal,
        action: o.action,
        keyArn: resource,
        streamArn,
        region: parseArn(streamArn)?.region ?? reader.region,
        viaKinesis: true,
        forwardAccessSession,
        key,
        organization,
        organizationAccountId: reader.accountId,
      });
      return { ...built, request: { ...built.request, context: { ...built.request.context, ...o.context } } };
    };
    request = call(o.forwardAccessSession).request;
    // As diagnose does: a decision that turns on what keymend cannot know is not presented as certain.
    if (state && key) {
      uncertainty = findUncertainty({
        principal: state,
        key,
        organization,
        resourceAccountId: resourceAccount,
        organizationAccountId: reader.accountId,
        request: call,
      });
    }
  } else {
    const context = principalContext(principal);
    if (o.action.toLowerCase().startsWith('kms:')) {
      context['kms:CallerAccount'] = principal.accountId;
      // A call on a key carries the key's own keys, as in diagnose.
      if (key) {
        const facts = kmsKeyFacts({
          principal,
          action: o.action,
          keyArn: resource,
          key,
          organization,
          organizationAccountId: reader.accountId,
        });
        Object.assign(context, facts.context);
      }
    }
    request = { principal, action: o.action, resource, context };
  }
  request = { ...request, context: { ...request.context, ...o.context } };
  const result = evaluate(request, policies);
  const warnings = evaluateWarnings(o, { principal: state, key, stream }, snapshot, reader.accountId);
  return {
    decision: result.decision,
    decidedBy: result.decidedBy,
    ...(uncertainty ? { uncertainty } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

export const evaluateCommand: Command = {
  name: 'evaluate',
  summary: 'evaluate one request against an account and say what decides it',
  help: helpText(HELP),
  run: (argv, io) =>
    runCommand('evaluate', io, async () => {
      const o = options(argv);
      const output = await run(o, io);
      for (const warning of output.warnings ?? [])
        io.stderr(`keymend evaluate: warning: ${printableLine(warning)}\n`);
      if (o.format === 'text') io.stdout(`${evaluateText(output, o).join('\n')}\n`);
      else io.stdout(`${JSON.stringify(output, null, o.format === 'json' ? 2 : undefined)}\n`);
    }),
};
