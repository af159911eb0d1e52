import { spawn } from 'node:child_process';
import path from 'node:path';
import { main } from '../../cli/keymend';
import { eventBridgeEvent, STORM_EVENT } from '../helpers/denials';
import { captureIo } from '../helpers/io';

const ROOT = path.resolve(__dirname, '../..');

// Starting tsx and dynalite takes a few seconds: a generous bound, not a timing assertion.
jest.setTimeout(60_000);

describe('keymend local (the command)', () => {
  it.each([
    [['local'], /--account SNAPSHOT is required/],
    [['local', '--account', 'events/accounts/demo.json', '--port', 'x'], /--port must be/],
    [['local', '--account', 'events/accounts/demo.json', '--mode', 'yolo'], /--mode must be propose or auto/],
    [['local', '--account', 'events/accounts/demo.json', '--prefer', 'kms:*'], /--prefer must be one of/],
    [['local', '--account', 'events/accounts/demo.json', '--nope'], /unknown option '--nope'/],
    [
      ['local', '--account', 'events/accounts/demo.json', '--output', 'yaml'],
      /--output must be jsonl, json or text/,
    ],
    [
      ['local', '--account', 'events/accounts/demo.json', '--approvers', 'alice'],
      /--approvers takes e-mail addresses \(got "alice"\)/,
    ],
    [
      ['local', '--account', 'events/accounts/demo.json', '--approvers', ' , '],
      /--approvers needs at least one/,
    ],
    [
      [
        'local',
        '--account',
        'events/accounts/organization-caller.json',
        '--account',
        'events/accounts/organization-caller.json',
      ],
      /--account: two snapshots are of account 444455556666; give each account once/,
    ],
    [
      [
        'local',
        '--account',
        'events/accounts/demo.json',
        '--account',
        'events/accounts/organization-caller.json',
      ],
      /--account: with several snapshots the first \(account 111122223333\) must name its organization/,
    ],
    [['local', '--account', '-', '--account', '-'], /--account - \(standard input\) may be given once/],
    [
      ['local', '--account', 'events/accounts/demo.json', '--auto-apply-principals', 'orders-*'],
      /KEYMEND_AUTO_APPLY_PRINCIPALS: expected ARN patterns/,
    ],
  ])('%j exits 2 saying what is wrong', async (argv, message) => {
    const io = captureIo();
    expect(await main(argv, io)).toBe(2);
    expect(io.err()).toMatch(message);
    expect(io.out()).toBe('');
  });

  it('exits 1 when the snapshot cannot be read', async () => {
    const io = captureIo();
    expect(await main(['local', '--account', 'events/accounts/no-such-file.json'], io)).toBe(1);
    expect(io.err()).toMatch(/^keymend local: cannot read snapshot .*no-such-file\.json/);
  });

  it('prints exactly one line with its URL when ready, serves, and stops cleanly on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        // tsx as a loader, not its CLI: the CLI runs keymend in a child and relays signals, and exits
        // 143 when SIGTERM reaches it before the child has answered: the signal goes to keymend itself.
        '--import',
        'tsx',
        'cli/keymend.ts',
        'local',
        '--account',
        'events/accounts/demo.json',
        '--port',
        '0',
        '--mode',
        'auto',
        '--auto-apply-principals',
        'arn:aws:iam::111122223333:role/service-role/*',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        if (stdout.includes('\n')) resolve(stdout.slice(0, stdout.indexOf('\n')));
      });
      child.on('exit', () => reject(new Error(`exited before it was ready: ${stderr}`)));
    });
    const { url } = JSON.parse(line) as { url: string };
    expect(line).toBe(JSON.stringify({ url }));
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const response = await fetch(`${url}/_local/events`, {
      method: 'POST',
      body: JSON.stringify(eventBridgeEvent(STORM_EVENT)),
    });
    expect(await response.json()).toEqual([{ outcome: 'applied', proposalId: expect.any(String) }]);
    const account = (await (await fetch(`${url}/_local/account`)).json()) as {
      keys: { grants?: unknown[] }[];
    };
    expect(account.keys.flatMap((k) => k.grants ?? [])).toHaveLength(1);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toBe(`${line}\n`);
    expect(stderr).toMatch(/"remediate outcome"/);
  });
});

const HOSTILE_ID = `evil\u2028\u202e\n{"level":"error","message":"forged"}`;

describe('startLocal', () => {
  it('a port in use fails the start and leaves nothing running', async () => {
    const { startLocal } = await import('../../cli/local/runtime');
    const { loadAccount } = await import('../helpers/denials');
    const first = await startLocal({ snapshot: loadAccount('demo.json'), port: 0, log: () => {} });
    try {
      await expect(
        startLocal({ snapshot: loadAccount('demo.json'), port: first.port, log: () => {} }),
      ).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await first.close();
    }
  });

  it('logs event text as one line of printable ASCII, through the remediate handler', async () => {
    const { startLocal } = await import('../../cli/local/runtime');
    const { loadAccount } = await import('../helpers/denials');
    const lines: string[] = [];
    const runtime = await startLocal({
      snapshot: loadAccount('demo.json'),
      port: 0,
      log: (line) => lines.push(line),
    });
    try {
      const event = eventBridgeEvent(STORM_EVENT);
      event.detail.eventID = HOSTILE_ID;
      const response = await fetch(`${runtime.url}/_local/events`, {
        method: 'POST',
        body: JSON.stringify(event),
      });
      expect(response.status).toBe(200);
    } finally {
      await runtime.close();
    }
    const outcome = lines.find((line) => line.includes('"remediate outcome"'));
    expect(outcome).toBeDefined();
    for (const line of lines) expect(line).toMatch(/^[\x20-\x7e]+$/);
    // The line is escaped JSON: the value reads back exactly, and nothing in it started a line or a field.
    expect(JSON.parse(outcome ?? '')).toMatchObject({ level: 'info', eventId: HOSTILE_ID });
  });

  it('serves the approval function on every other path', async () => {
    const { startLocal } = await import('../../cli/local/runtime');
    const { loadAccount } = await import('../helpers/denials');
    const runtime = await startLocal({ snapshot: loadAccount('demo.json'), port: 0, log: () => {} });
    try {
      // A link without its token: the approval function's refusal page, with its security headers.
      const response = await fetch(`${runtime.url}/p/p-0123456789abcdef`);
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      expect(response.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
      expect(await response.text()).toMatch(/<html/i);
    } finally {
      await runtime.close();
    }
  });
});
