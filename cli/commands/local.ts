/**
 * `keymend local`: runs the remediate and approval functions on this machine against a snapshot
 * account (cli/local/runtime.ts), until SIGINT or SIGTERM.
 */
import { KeymendError, UsageError } from '../../functions/commons/errors';
import { MECHANISMS, type Mechanism } from '../../functions/core/plan';
import { parseCommandLine } from '../args';
import { oneLine, readSnapshot } from '../input';
import type { Command } from '../io';
import { type LocalOptions, type LocalRuntime, startLocal } from '../local/runtime';

const HELP = `Usage: keymend local --account SNAPSHOT [--port N] [--mode propose|auto]
                     [--auto-apply-principals P1,P2] [--prefer MECHANISM]
                     [--approvers EMAIL1,EMAIL2]

Runs keymend on this machine with no AWS: the real remediate and approval functions, an in-process
DynamoDB (dynalite), the account from SNAPSHOT (every write keymend makes changes it, as AWS would),
and an outbox in place of SNS. When ready it prints one line to standard output,
  {"url":"http://127.0.0.1:PORT"}
and logs to standard error. SIGINT (Ctrl-C) or SIGTERM stops it.

  POST /_local/events   an EventBridge event or a JSON array of them; answers a JSON array of
                        {"outcome": "ignored|duplicate|repeat|proposed|refused|applied|failed",
                         "proposalId"?: "...", "reason"?: "..."}
  GET  /_local/outbox   every notification so far: [{"topic": "email"|"chat", "subject", "message"}]
  GET  /_local/account  the account now, in the snapshot format
  GET  /_local/stats    {"aws": {"iam:GetRole": n, ...}, "dynamodb": n, "publishes": n}
  anything else         the approval pages (the links in notifications point here)

Options:
  --account FILE                 the account snapshot (docs/snapshot.md). Required.
  --port N                       the port on 127.0.0.1 (default 8787; 0 picks a free one).
  --mode propose|auto            auto applies grants and inline policies when every guard
                                 holds (docs/remediate.md); default propose.
  --auto-apply-principals P1,P2  ARN patterns (* and ?) of principals auto mode may fix.
  --prefer MECHANISM             the fix to try first: ${MECHANISMS.join(', ')}.
  --approvers EMAIL1,EMAIL2      turn sign-in on, against an OpenID provider run in process on a
                                 free port of 127.0.0.1: opening a link asks for an e-mail address
                                 (no password: local only); anyone may sign in, only these
                                 addresses may approve, reject or revoke (docs/approvals.md).
  -h, --help                     show this help.

Example:
  npm run --silent keymend -- local --account events/accounts/demo.json --port 0
`;

function options(argv: string[]): Omit<LocalOptions, 'snapshot'> & { account: string } {
  const { values } = parseCommandLine(argv, {
    account: { type: 'string' },
    port: { type: 'string' },
    mode: { type: 'string' },
    'auto-apply-principals': { type: 'string' },
    prefer: { type: 'string' },
    approvers: { type: 'string' },
  });
  if (!values.account) throw new UsageError('--account SNAPSHOT is required');
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
    account: values.account,
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
  help: HELP,
  async run(argv, io) {
    let runtime: LocalRuntime;
    try {
      const { account, ...rest } = options(argv);
      runtime = await startLocal({
        ...rest,
        snapshot: await readSnapshot(account, io),
        log: (line) => io.stderr(`${line}\n`),
      });
    } catch (error) {
      if (error instanceof UsageError || error instanceof KeymendError) {
        io.stderr(`keymend local: ${oneLine(error)}\n`);
        return 2;
      }
      io.stderr(`keymend local: cannot start: ${oneLine(error)}\n`);
      return 1;
    }
    io.stdout(`${JSON.stringify({ url: runtime.url })}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        runtime.close().then(resolve, resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    return 0;
  },
};
