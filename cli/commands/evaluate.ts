/**
 * `keymend evaluate`: evaluates one request against an account snapshot and prints the decision and
 * what decided it, as JSON.
 */
import { SnapshotReader } from '../../functions/adapters/snapshot';
import { parseArn, parseAssumedRoleArn, parseRoleArn, parseStreamArn } from '../../functions/commons/arn';
import { UsageError } from '../../functions/commons/errors';
import type { PrincipalState } from '../../functions/core/account';
import { buildPolicySet, requestPrincipal } from '../../functions/core/authorization';
import { kinesisCall, kmsKeyFacts } from '../../functions/core/context-keys';
import { findUncertainty, type Uncertainty } from '../../functions/core/uncertainty';
import { principalContext } from '../../functions/policy/context';
import { evaluate } from '../../functions/policy/evaluate';
import type { AuthorizationRequest, ContextValue } from '../../functions/policy/types';
import { parseCommandLine } from '../args';
import { readSnapshot } from '../input';
import type { CliIo, Command } from '../io';
import { runCommand } from '../run-command';

const HELP = `Usage: keymend evaluate --account SNAPSHOT.json --principal ARN --action ACTION --resource ARN
                        [--context KEY=VALUE ...] [--via-kinesis STREAM_ARN]

Evaluates one request the way AWS would, against the policies in an account snapshot (identity
policies, permissions boundary, key policy, grants, SCPs, RCPs), and prints:
  {"decision": "allowed|implicit-deny|explicit-deny",
   "decidedBy": [{"policyType": "...", "policy": "...", "statement": "..."}]}
decidedBy names the deny statements for an explicit deny, the allows that granted an allowed
request, and for an implicit deny each layer that lacked an allow (with statement "").
With --via-kinesis, "uncertainty" is added when the decision turns on what keymend cannot know
(a forward access session, aws:SourceIp, a key's tags not in the snapshot, ...), with every answer.
See docs/evaluator.md.

Options:
  --account FILE          the account snapshot (docs/snapshot.md); '-' reads standard input. Required.
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
  -h, --help              show this help.

Exit status: 0 when a decision was printed (whatever it is); 2 when the options are wrong or the
snapshot cannot be read or holds a malformed policy.

Example:
  npm run --silent keymend -- evaluate --account events/accounts/demo.json \\
    --principal arn:aws:sts::111122223333:assumed-role/orders-consumer/i-0abc123 --action kms:Decrypt \\
    --resource arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab \\
    --via-kinesis arn:aws:kinesis:us-east-1:111122223333:stream/orders
`;

interface Options {
  account: string;
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
  for (const name of ['account', 'principal', 'action', 'resource'] as const) {
    if (v[name] === undefined || v[name] === '') throw new UsageError(`--${name} is required`);
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
    account: v.account as string,
    principal: v.principal as string,
    action,
    resource,
    context,
    forwardAccessSession,
    ...(viaKinesis !== undefined ? { viaKinesis } : {}),
  };
}

function parse(argv: string[]) {
  return parseCommandLine(
    argv,
    {
      account: { type: 'string' },
      principal: { type: 'string' },
      action: { type: 'string' },
      resource: { type: 'string' },
      context: { type: 'string', multiple: true },
      'via-kinesis': { type: 'string' },
      'forward-access-session': { type: 'boolean' },
    },
    // parseArgs' message as it is (evaluate's tests and users read it verbatim).
    { words: (error) => error.message },
  );
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

async function run(o: Options, io: CliIo): Promise<string> {
  const snapshot = await readSnapshot(o.account, io);
  const reader = new SnapshotReader(snapshot);
  const state = parseAssumedRoleArn(o.principal)
    ? sessionRole(snapshot.principals, o.principal)
    : await reader.getPrincipal(o.principal);
  const principal = requestPrincipal({ arn: o.principal, state });
  const key = await reader.getKey(o.resource);
  const resource = key?.arn ?? o.resource;
  const resourceAccount = parseArn(resource)?.accountId || snapshot.accountId;
  const policies = buildPolicySet({
    principal: state,
    key,
    organization: await reader.getOrganization(),
    resourceAccountId: resourceAccount,
    organizationAccountId: snapshot.accountId,
  });
  const organization = await reader.getOrganization();
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
        region: parseArn(streamArn)?.region ?? snapshot.region,
        viaKinesis: true,
        forwardAccessSession,
        key,
        organization,
        organizationAccountId: snapshot.accountId,
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
        organizationAccountId: snapshot.accountId,
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
          organizationAccountId: snapshot.accountId,
        });
        Object.assign(context, facts.context);
      }
    }
    request = { principal, action: o.action, resource, context };
  }
  request = { ...request, context: { ...request.context, ...o.context } };
  const result = evaluate(request, policies);
  const printed = {
    decision: result.decision,
    decidedBy: result.decidedBy,
    ...(uncertainty ? { uncertainty } : {}),
  };
  return `${JSON.stringify(printed)}\n`;
}

export const evaluateCommand: Command = {
  name: 'evaluate',
  summary: 'Evaluate one request against an account snapshot and say what decides it (JSON)',
  help: HELP,
  run: (argv, io) => runCommand('evaluate', io, () => run(options(argv), io)),
};
