/**
 * `npm run demo` end to end: keymend local on the demo account, the replay with its storm, one e-mail,
 * the approval through the page's form, the request allowed and its neighbours denied, the revoke, and
 * the account as before. The command runs in-process (as `npm run demo` runs it) and as a child
 * process for --serve.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { demoCommand } from '../../cli/commands/demo';
import type { DemoSummary } from '../../cli/demo/run';
import { main } from '../../cli/keymend';
import { captureIo } from '../helpers/io';

// Each run replays 518 events through dynalite: a generous bound, not a timing assertion.
jest.setTimeout(180_000);

const ROOT = path.resolve(__dirname, '../..');

async function runDemo(argv: string[]) {
  const io = captureIo();
  const code = await main(['demo', ...argv], io);
  return { code, out: io.out(), err: io.err() };
}

describe('keymend demo (text)', () => {
  let run: Awaited<ReturnType<typeof runDemo>>;
  beforeAll(async () => {
    run = await runDemo([]);
  });

  it('exits 0 and keeps its progress on standard error', () => {
    expect(run.code).toBe(0);
    expect(run.err).toMatch(/Starting keymend local on events\/accounts\/demo\.json/);
    expect(run.err).toMatch(/Opening the e-mailed link and pressing Approve/);
    expect(run.out).not.toMatch(/Starting keymend local|pressing Approve/);
  });

  it('prints one line per distinct problem: verdict, principal, operation, stream, fix or code', () => {
    const rows = run.out.split('\n').filter((l) => /^ {2}(propose|refuse|ignore) /.test(l));
    expect(rows.map((l) => l.trim().split(/\s+/))).toEqual([
      ['propose', 'orders-consumer', 'Decrypt', 'orders', 'kms-grant'],
      ['propose', 'orders-producer', 'GenerateDataKey', 'orders', 'kms-grant'],
      ['propose', 'orders-pr...le-x1y2z3', 'Decrypt', 'orders', 'kms-grant'],
      ['propose', 'kinesis-a...us-east-1', 'Decrypt', 'orders', 'kms-grant'],
      ['propose', 'alice', 'Decrypt', 'clicks', 'kms-grant'],
      ['refuse', 'orders-consumer', 'Decrypt', 'legacy', 'aws-managed-key'],
      ['refuse', 'root', 'Decrypt', 'orders', 'unsupported-principal'],
      ['refuse', 'orders-consumer', 'Decrypt', '-', 'no-stream'],
      ['ignore', 'orders-producer', 'GenerateDataKey', '-', 'not-kinesis'],
    ]);
  });

  it('says how many repeats it absorbed, and that they read nothing and notified no one', () => {
    expect(run.out).toMatch(/^506 repeats absorbed: 500 sessions of orders-consumer denied kms:Decrypt/m);
    expect(run.out).toMatch(/^3 redeliveries of an event already seen \(same eventID\) dropped\./m);
    expect(run.out).toMatch(/They cost 0 account reads and 0 notifications/);
  });

  it('shows one e-mail in full, with its links', () => {
    // The subject may wrap at 80 columns (continued lines are indented by two spaces).
    expect(run.out.replace(/\n {2}/g, ' ')).toMatch(
      /^Subject: \[acme-orders-prod us-east-1\] keymend: Proposed fix: orders-consumer kms:Decrypt on stream orders$/m,
    );
    for (const section of ['WHAT HAPPENED', 'WHY', 'THE CHANGE', 'PROOF', 'LINKS', 'HISTORY']) {
      expect(run.out).toMatch(new RegExp(`^${section}`, 'm'));
    }
    expect(run.out).toMatch(/^ *http:\/\/127\.0\.0\.1:\d+\/p\/[\w-]+\?a=approve&t=[\w.-]+$/m);
  });

  it('approves through the page, then the request is allowed and its neighbours are not', () => {
    expect(run.out).toMatch(/GET the e-mailed link: the review page "kms:Decrypt denied to/);
    expect(run.out).toMatch(/POST its Approve form: "Applied: kms:Decrypt denied to/);
    expect(run.out.replace(/\n {2}/g, ' ')).toMatch(
      /^Notification: \[acme-orders-prod us-east-1\] keymend: Approved, applied: order\S*sumer kms:Decrypt on stream orders$/m,
    );
    expect(run.out).toMatch(/^ {2}allowed +orders-consumer +Decrypt +orders +the request \(a grant\)$/m);
    expect(run.out).toMatch(/^ {2}denied +orders-consumer +GenerateDataKey +orders +another operation$/m);
    expect(run.out).toMatch(/^ {2}denied +orders-consumer +Decrypt +clicks +another stream$/m);
    expect(run.out).toMatch(/diagnose on the same event now answers ignore \(already-allowed\)\./);
  });

  it('revokes through the applied notification, and the account is as before', () => {
    const revoke = run.out.slice(run.out.indexOf('5. Revoke'));
    expect(revoke).toMatch(/POST its Revoke form: "Revoked: kms:Decrypt denied to/);
    expect(revoke.replace(/\n {2}/g, ' ')).toMatch(
      /^Notification: \[acme-orders-prod us-east-1\] keymend: Fix revoked: orders-consumer/m,
    );
    expect(revoke).toMatch(/^ {2}denied +orders-consumer +Decrypt +orders +the request$/m);
    expect(revoke).toMatch(/^The account is exactly as it was before the demo\.$/m);
  });

  it('fits an 80-column terminal, but for links kept whole so they can be copied', () => {
    const long = run.out.split('\n').filter((l) => l.length > 80);
    expect(long.length).toBeGreaterThan(0);
    // Links, and the lines of a shell command (`\` continued), are kept whole so they can be copied.
    for (const line of long) expect(line).toMatch(/^ *https?:\/\/\S+$|^ *(aws |--)\S.* \\$|^ *--\S+ \S+$/);
  });
});

describe('keymend demo --output jsonl', () => {
  it('prints one JSON object summarising the run', async () => {
    const run = await runDemo(['--output', 'jsonl']);
    expect(run.code).toBe(0);
    expect(run.out.trim().split('\n')).toHaveLength(1);
    const summary = JSON.parse(run.out) as DemoSummary;
    expect(summary.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(summary.events).toEqual({ posted: 518, problems: 9, repeats: 509 });
    expect(summary.problems).toHaveLength(9);
    expect(summary.problems[0]).toEqual({
      sample: 'consumer-decrypt-denied-service-role.eventbridge.json',
      outcome: 'proposed',
      verdict: 'propose',
      principal: 'arn:aws:iam::111122223333:role/service-role/orders-consumer',
      operation: 'kms:Decrypt',
      stream: 'arn:aws:kinesis:us-east-1:111122223333:stream/orders',
      mechanism: 'kms-grant',
      code: null,
      proposalId: summary.approval.proposalId,
    });
    expect(summary.problems.map((p) => p.code ?? p.mechanism)).toEqual([
      'kms-grant',
      'kms-grant',
      'kms-grant',
      'kms-grant',
      'kms-grant',
      'aws-managed-key',
      'unsupported-principal',
      'no-stream',
      'not-kinesis',
    ]);
    expect(summary.repeats).toMatchObject({ absorbed: 506, duplicates: 3, storm: 500, shapes: 6 });
    expect(summary.repeats.accountReads).toBe(0);
    expect(summary.repeats.notifications).toBe(0);
    expect(summary.notifications).toEqual({ email: 8, chat: 8 });
    expect(summary.email.message).toContain(`/p/${summary.approval.proposalId}?a=approve&t=`);
    expect(summary.approval.resultTitle).toMatch(/^Applied: /);
    expect(summary.approval.diagnoseAfter).toEqual({ verdict: 'ignore', code: 'already-allowed' });
    expect(summary.approval.after.map((c) => [c.label, c.decision])).toEqual([
      ['the request', 'allowed'],
      ['another operation', 'implicit-deny'],
      ['another stream', 'implicit-deny'],
    ]);
    expect(summary.revoke.resultTitle).toMatch(/^Revoked: /);
    expect(summary.revoke.accountRestored).toBe(true);
    expect(summary.revoke.after.decision).toBe('implicit-deny');
  });
});

describe('keymend demo options', () => {
  it('an unknown option exits 2 before anything starts', async () => {
    const io = captureIo();
    expect(await demoCommand.run(['--storm'], io)).toBe(2);
    expect(io.err()).toMatch(/keymend demo: .*--storm/);
    expect(io.out()).toBe('');
  });

  it('--serve keeps keymend local up with links a browser can open, until SIGINT', async () => {
    const child = spawn(
      process.execPath,
      // Node itself with tsx's loader, so SIGINT reaches the demo as Ctrl-C in a terminal does (tsx's
      // own command would relay it, and answer 130 if it came before the demo's handler was known).
      ['--import', 'tsx', 'cli/keymend.ts', 'demo', '--serve'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        if (stdout.includes('Ctrl-C stops it')) resolve();
      });
      child.on('exit', () => reject(new Error(`exited before serving: ${stderr}`)));
    });
    // Let the rest of the links arrive.
    await new Promise((resolve) => setImmediate(resolve));
    const review = /^ {4}(http:\/\/127\.0\.0\.1:\d+\/p\/[\w-]+\?a=approve&t=[\w.-]+)$/m.exec(
      stdout.slice(stdout.indexOf('Ctrl-C stops it')),
    )?.[1];
    expect(review).toBeDefined();
    const page = await fetch(review as string);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<button[^>]*>Approve<\/button>/);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});
