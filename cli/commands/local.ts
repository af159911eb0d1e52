/**
 * `keymend local`: runs the remediate and approval functions on this machine against a snapshot
 * account (cli/local/runtime.ts), until SIGINT or SIGTERM.
 */
import { ConfigError, KeymendError, UsageError } from '../../functions/commons/errors';
import { MECHANISMS, type Mechanism } from '../../functions/core/plan';
import { OUTPUT_OPTIONS, type OutputFormat, outputOption, parseCommandLine } from '../args';
import { helpText } from '../help';
import { oneLine, readSnapshot } from '../input';
import type { Command } from '../io';
import { type LocalOptions, type LocalRuntime, startLocal } from '../local/runtime';
import { EXIT_STATUS_HELP, runCommand, serveUntilSignal } from '../run-command';

const HELP = `Usage: keymend local --account SNAPSHOT [--account SNAPSHOT...] [--port N] [--mode propose|auto]
                     [--auto-apply-principals P1,P2] [--prefer MECHANISM]
                     [--output jsonl|json|text]
                     [--approvers EMAIL1,EMAIL2]

Runs keymend on this machine with no AWS: the real remediate and approval functions, an in-process
DynamoDB (dynalite), the account from SNAPSHOT (every write keymend makes changes it, as AWS would),
and an outbox in place of SNS. When ready it prints one line to standard output,
  {"url":"http://127.0.0.1:PORT"}
and logs to standard error. SIGINT (Ctrl-C) or SIGTERM stops it.

  POST /_local/events   an EventBridge event or a JSON array of them; answers a JSON array of
                        {"outcome", "proposalId"?, "reason"?}, the outcome one of ignored,
                        duplicate, repeat, proposed, refused, applied, failed
  GET  /_local/outbox   every notification so far: [{"topic": "email"|"chat", "subject", "message"}]
  GET  /_local/account  the account now, in the snapshot format
  GET  /_local/accounts every account now (with several --account), the first one first
  GET  /_local/stats    {"aws": {"iam:GetRole": n, ...}, "dynamodb": n, "publishes": n}
  anything else         the approval pages (the links in notifications point here)

Options:
  --account FILE                 the account snapshot (docs/snapshot.md). Required. Given more
                                 than once, the accounts of one organization, as an
                                 organization deployment's hub sees its members: the first
                                 names the organization (organization.id); a consumer denied
                                 on another account's key gets one two-sided proposal (the
                                 key policy in the key's account, the caller's IAM in its
                                 own), applied and revoked together; a caller or key owner
                                 outside the organization is refused.
  --port N                       the port on 127.0.0.1 (default 8787; 0 picks a free one).
  --mode propose|auto            auto applies grants and inline policies when every guard
                                 holds (docs/remediate.md); default propose.
  --auto-apply-principals P1,P2  ARN patterns (* and ?) of principals auto mode may fix.
  --prefer MECHANISM             the fix to try first: ${MECHANISMS.join(', ')}.
  --output FORMAT                how the ready line is written: jsonl (default, the line
                                 above), json (pretty) or text (a sentence).
  --approvers EMAIL1,EMAIL2      turn sign-in on, against an OpenID provider run in process on a
                                 free port of 127.0.0.1: opening a link asks for an e-mail address
                                 (no password: local only); anyone may sign in, only these
                                 addresses may approve, reject or revoke (docs/approvals.md).
  -h, --help                     show this help.

${EXIT_STATUS_HELP}

Examples:
  keymend local --account events/accounts/demo.json --port 0
  keymend local --account events/accounts/organization-key-owner.json \\
    --account events/accounts/organization-caller.json --port 0
`;

const FORMATS = ['jsonl', 'json', 'text'] as const;

function options(
  argv: string[],
): Omit<LocalOptions, 'snapshot' | 'others'> & { accounts: string[]; format: OutputFormat } {
  const { values } = parseCommandLine(argv, {
    ...OUTPUT_OPTIONS,
    account: { type: 'string', multiple: true },
    port: { type: 'string' },
    mode: { type: 'string' },
    'auto-apply-principals': { type: 'string' },
    prefer: { type: 'string' },
    approvers: { type: 'string' },
  });
  if (!values.account || values.account.length === 0) throw new UsageError('--account SNAPSHOT is required');
  // Standard input holds one snapshot: a second '-' would wait for input that never comes.
  if (values.account.filter((file) => file === '-').length > 1) {
    throw new UsageError('--account - (standard input) may be given once');
  }
  const port = values.port ?? '8787';
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) {
    throw new UsageError(`--port must be a port number from 0 to 65535 (got ${JSON.stringify(port)})`);
  }
  const mode = values.mode ?? 'propose';
  if (mode !== 'propose' && mode !== 'auto') {
    throw new UsageError(`--mode must be propose or auto (got ${JSON.stringify(mode)})`);
  }
  const prefer = values.prefer ?? 'kms-grant';
  if (!(MECHANISMS as readonly string[]).includes(prefer)) {
    throw new UsageError(`--prefer must be one of ${MECHANISMS.join(', ')} (got ${JSON.stringify(prefer)})`);
  }
  const principals = (values['auto-apply-principals'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const approvers = (values.approvers ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  for (const approver of approvers) {
    if (!/^[^\s@,]+@[^\s@,]+$/.test(approver)) {
      throw new UsageError(`--approvers takes e-mail addresses (got ${JSON.stringify(approver)})`);
    }
  }
  if (values.approvers !== undefined && approvers.length === 0) {
    throw new UsageError('--approvers needs at least one e-mail address');
  }
  return {
    accounts: values.account,
    format: outputOption(values, FORMATS, 'jsonl'),
    ...(approvers.length > 0 ? { approvers } : {}),
    port: Number(port),
    mode,
    autoApplyPrincipals: principals,
    prefer: prefer as Mechanism,
  };
}

export const localCommand: Command = {
  name: 'local',
  summary: 'run keymend on this machine against a snapshot account, with no AWS',
  help: helpText(HELP),
  run: (argv, io) =>
    runCommand('local', io, async () => {
      const { accounts, format, ...rest } = options(argv);
      const [snapshot, ...others] = await Promise.all(accounts.map((file) => readSnapshot(file, io)));
      if (snapshot === undefined) throw new UsageError('--account SNAPSHOT is required');
      let runtime: LocalRuntime;
      try {
        runtime = await startLocal({
          ...rest,
          snapshot,
          ...(others.length > 0 ? { others } : {}),
          log: (line) => io.stderr(`${line}\n`),
        });
      } catch (error) {
        // The options become the functions' settings: a setting refused is an option refused.
        if (error instanceof ConfigError) throw new UsageError(oneLine(error));
        if (error instanceof KeymendError) throw error;
        throw new KeymendError(`cannot start: ${oneLine(error)}`, { cause: error });
      }
      if (format === 'text') io.stdout(`keymend local is listening on ${runtime.url} (Ctrl-C stops it)\n`);
      else io.stdout(`${JSON.stringify({ url: runtime.url }, null, format === 'json' ? 2 : undefined)}\n`);
      await serveUntilSignal(() => runtime.close());
    }),
};
