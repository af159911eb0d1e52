/**
 * The import rules of docs/style (biome.json `overrides`, one per folder) are a lint error, and so fail
 * `npm test`: a file importing the wrong way is written inside the folder, linted, and deleted.
 */
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const BIOME = require.resolve('@biomejs/biome/bin/biome');

/** Lints one temporary file at `relative` holding `source`; the file is removed whatever happens. */
function lintTemporary(relative: string, source: string): { status: number | null; output: string } {
  const file = path.join(ROOT, relative);
  writeFileSync(file, source);
  try {
    const run = spawnSync(process.execPath, [BIOME, 'lint', '--max-diagnostics=5', file], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  } finally {
    rmSync(file, { force: true });
  }
}

/** A module that only re-exports `name` from `from`, so nothing else in it can fail the lint. */
const reexport = (from: string, name: string) => `export { ${name} } from '${from}';\n`;

describe('layer import rules', () => {
  it.each([
    ['policy -> core', 'functions/policy/lint-layers-tmp.ts', '../core/intake', 'intake'],
    ['core -> adapters', 'functions/core/lint-layers-tmp.ts', '../adapters/snapshot', 'parseSnapshot'],
    ['core -> policy internals', 'functions/core/lint-layers-tmp.ts', '../policy/evaluate', 'evaluate'],
    ['commons -> core', 'functions/commons/lint-layers-tmp.ts', '../core/intake', 'intake'],
    ['adapters -> policy', 'functions/adapters/lint-layers-tmp.ts', '../policy', 'evaluate'],
    ['core -> the AWS SDK', 'functions/core/lint-layers-tmp.ts', '@aws-sdk/client-kms', 'KMSClient'],
    ['handlers -> cli', 'functions/handlers/lint-layers-tmp.ts', '../../cli/io', 'CliIo'],
    ['bench -> test', 'bench/lint-layers-tmp.ts', '../test/helpers/events', 'loadEvent'],
  ])('%s is a lint error', (_name, file, from, name) => {
    const { status, output } = lintTemporary(file, reexport(from, name));
    expect(output).toContain('lint/style/noRestrictedImports');
    expect(status).not.toBe(0);
  });

  it.each([
    ['policy -> commons', 'functions/policy/lint-layers-tmp.ts', '../commons/arn', 'parseArn'],
    ['core -> the policy index', 'functions/core/lint-layers-tmp.ts', '../policy', 'evaluate'],
    ['adapters -> core', 'functions/adapters/lint-layers-tmp.ts', '../core/account', 'KeyState'],
    ['commons -> node builtins', 'functions/commons/lint-layers-tmp.ts', 'node:crypto', 'createHash'],
  ])('%s passes', (_name, file, from, name) => {
    const { status, output } = lintTemporary(file, reexport(from, name));
    expect(output).not.toContain('noRestrictedImports');
    expect(status).toBe(0);
  });
});
