/**
 * Bundles a Lambda handler exactly as the stack does (esbuild: ESM, minified, platform node, target
 * node24) into a temporary `.mjs`, and invokes its `handler` in a fresh Node.js process, as the Lambda
 * runtime would: the bundle must run on its own, without jest's module system.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';

const ROOT = path.resolve(__dirname, '../..');

/** ESM has no `require`: packages bundled from CommonJS may still call it. */
const REQUIRE_BANNER =
  "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";

export interface Invocation {
  /** What the handler returned. */
  result: unknown;
  /** The lines the handler wrote to stdout (its logs). */
  stdout: string[];
  stderr: string;
}

/** Bundles `entry` (relative to the repository root) and invokes `handler(event, context)`. */
export function invokeBundledHandler(entry: string, event: unknown, context: object = {}): Invocation {
  const dir = mkdtempSync(path.join(tmpdir(), 'keymend-bundle-'));
  try {
    const outfile = path.join(dir, 'index.mjs');
    buildSync({
      entryPoints: [path.join(ROOT, entry)],
      bundle: true,
      minify: true,
      platform: 'node',
      target: 'node24',
      format: 'esm',
      outfile,
      banner: { js: REQUIRE_BANNER },
      logLevel: 'error',
    });
    const script = [
      `const { handler } = await import(${JSON.stringify(pathToFileURL(outfile).href)});`,
      `const result = await handler(${JSON.stringify(event)}, ${JSON.stringify(context)});`,
      'process.stderr.write("\\n@@result@@" + JSON.stringify(result));',
    ].join('\n');
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (run.status !== 0) throw new Error(`the bundled handler failed (${run.status}): ${run.stderr}`);
    const at = run.stderr.lastIndexOf('@@result@@');
    return {
      result: JSON.parse(run.stderr.slice(at + '@@result@@'.length)),
      stdout: run.stdout.split('\n').filter((line) => line !== ''),
      stderr: run.stderr.slice(0, at),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
