/**
 * What every command shares: `--output` (and its old spellings), errors in keymend's own words with
 * exit code 2 for usage, `--help` in one voice, `keymend --version`, and paths read from the
 * directory the user ran npm from (INIT_CWD).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { commands } from '../../cli/commands';
import { main, userDirectory, VERSION } from '../../cli/keymend';
import { EXIT_STATUS_HELP } from '../../cli/run-command';
import { captureIo } from '../helpers/io';

const ROOT = path.resolve(__dirname, '../..');
const { version } = require('../../package.json') as { version: string };

describe('keymend --version', () => {
  it.each([['--version'], ['-V']])('%s prints the package version and exits 0', async (flag) => {
    const io = captureIo();
    expect(await main([flag], io)).toBe(0);
    expect(io.out()).toBe(`keymend ${version}\n`);
    expect(VERSION).toBe(version);
  });
});

describe('every command', () => {
  it.each(commands.map((c) => [c.name]))(
    '%s refuses an unknown --output format with exit 2, naming the formats',
    async (name) => {
      const io = captureIo();
      expect(await main([name, '--output', 'yaml'], io)).toBe(2);
      expect(io.err()).toMatch(
        new RegExp(
          `^keymend ${name}: (--output must be [a-z, ]+ or [a-z]+ \\(got "yaml"\\)|.* is required|give )`,
        ),
      );
      expect(io.out()).toBe('');
    },
  );

  it.each(commands.map((c) => [c.name]))(
    '%s says an unknown option in its own words, exit 2',
    async (name) => {
      const io = captureIo();
      expect(await main([name, '--frobnicate'], io)).toBe(2);
      expect(io.err()).toBe(
        `keymend ${name}: unknown option '--frobnicate'. See 'keymend ${name} --help'.\n`,
      );
    },
  );

  it.each(commands.map((c) => [c.name]))(
    '%s has --help in the one voice: usage, --output, exit status',
    (name) => {
      const help = commands.find((c) => c.name === name)?.help ?? '';
      expect(help).toMatch(new RegExp(`^Usage: keymend ${name}`));
      expect(help).toContain('--output');
      expect(help).toContain(EXIT_STATUS_HELP);
      expect(help).not.toContain('npm run --silent keymend --');
      for (const line of help.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    },
  );

  it('keymend --help lists every command and documents the exit codes once', async () => {
    const io = captureIo();
    expect(await main(['--help'], io)).toBe(0);
    for (const c of commands) expect(io.out()).toContain(`  ${c.name}`);
    expect(io.out()).toContain(EXIT_STATUS_HELP);
    expect(io.out()).toContain('--version');
  });
});

describe('paths against the directory npm was run from', () => {
  it("is INIT_CWD under keymend's own npm scripts, the working directory otherwise", () => {
    const npmRun = { npm_package_name: 'keymend', npm_lifecycle_event: 'keymend', INIT_CWD: '/home/me/work' };
    expect(userDirectory(npmRun, ROOT)).toBe('/home/me/work');
    // Another package's script (keymend installed as a dependency) already runs where it should.
    expect(userDirectory({ ...npmRun, npm_package_name: 'my-app' }, '/home/me/work/sub')).toBe(
      '/home/me/work/sub',
    );
    expect(userDirectory({}, '/somewhere')).toBe('/somewhere');
  });

  it('`npm --prefix REPO run keymend -- parse --event FILE` reads FILE from where npm was run', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'keymend-init-cwd-'));
    try {
      copyFileSync(
        path.join(ROOT, 'events/consumer-decrypt-denied-service-role.eventbridge.json'),
        path.join(dir, 'mine.json'),
      );
      const result = spawnSync(
        'npm',
        [
          '--prefix',
          ROOT,
          'run',
          '--silent',
          'keymend',
          '--',
          'parse',
          '--event',
          'mine.json',
          '--output',
          'jsonl',
        ],
        { cwd: dir, encoding: 'utf8', timeout: 90_000 },
      );
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ match: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
