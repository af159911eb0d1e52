/**
 * The installable package: `npm pack` builds the bundled bin (prepack), the tarball installs into a
 * fresh prefix, and its `keymend` runs on plain Node.js: no tsx, no TypeScript, no clone around it.
 * (Dependencies come from npm's cache when it has them, as after `npm ci`.)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

let work: string;
let keymend: string;
const env = () => ({
  // Plain node first on the PATH: the bin's `#!/usr/bin/env node` runs it, with no loader options.
  PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
  HOME: process.env.HOME ?? work,
});

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'keymend-package-'));
  const npm = (args: string[]) =>
    execFileSync('npm', args, {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, npm_config_loglevel: 'error' },
    });
  const tarball = npm(['pack', '--silent', '--pack-destination', work]).trim().split('\n').pop() as string;
  npm([
    'install',
    '--global',
    '--prefix',
    path.join(work, 'prefix'),
    path.join(work, tarball),
    '--prefer-offline',
    '--no-audit',
    '--no-fund',
    '--engine-strict=false',
  ]);
  keymend = path.join(work, 'prefix', process.platform === 'win32' ? 'keymend.cmd' : 'bin/keymend');
}, 240_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the installed keymend', () => {
  it('is the bundled JavaScript entry, with the published schema beside it', () => {
    const installed = path.join(work, 'prefix', 'lib', 'node_modules', 'keymend');
    expect(existsSync(path.join(installed, 'dist', 'keymend.cjs'))).toBe(true);
    expect(existsSync(path.join(installed, 'snapshot.schema.json'))).toBe(true);
    // Nothing TypeScript ships: the bin needs no tsx at run time.
    expect(existsSync(path.join(installed, 'cli'))).toBe(false);
    expect(
      readFileSync(path.join(installed, 'dist', 'keymend.cjs'), 'utf8').startsWith('#!/usr/bin/env node'),
    ).toBe(true);
  });

  it('answers --version on plain node', () => {
    const run = spawnSync(keymend, ['--version'], { cwd: work, env: env(), encoding: 'utf8' });
    expect([run.status, run.stderr, run.stdout]).toEqual([0, '', `keymend ${version}\n`]);
  });

  it('parses an event file relative to where it is run, on plain node', () => {
    copyFileSync(
      path.join(ROOT, 'events', 'consumer-decrypt-denied-service-role.eventbridge.json'),
      path.join(work, 'event.json'),
    );
    const run = spawnSync(keymend, ['parse', '--event', 'event.json', '--output', 'jsonl'], {
      cwd: work,
      env: env(),
      encoding: 'utf8',
    });
    expect([run.status, run.stderr]).toEqual([0, '']);
    expect(JSON.parse(run.stdout)).toMatchObject({
      match: true,
      request: { principalArn: 'arn:aws:iam::111122223333:role/service-role/orders-consumer' },
    });
  });

  it('validates a snapshot with the same schema and messages as the clone', () => {
    const run = spawnSync(
      keymend,
      [
        'evaluate',
        '--account',
        '-',
        '--principal',
        'arn:aws:iam::111122223333:role/x',
        '--action',
        'kms:Decrypt',
        '--resource',
        'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      ],
      {
        cwd: work,
        env: env(),
        encoding: 'utf8',
        input:
          '{"accountId": "111122223333", "region": "us-east-1", "principals": [], "keys": [], "streams": 3}',
      },
    );
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      'keymend evaluate: streams: expected an array of streams, got number 3 (in snapshot standard input)\n',
    );
  });
});
