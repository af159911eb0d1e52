/**
 * Bundles a Lambda handler exactly as the stack does (bench/bundle.ts `bundleEntry`, which hands
 * infra/bundling.ts to esbuild) into a temporary `.mjs`, and invokes its `handler` in a fresh Node.js
 * process, as the Lambda runtime would: the bundle must run on its own, without jest's module system.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleEntry } from '../../bench/bundle';

export interface Invocation {
  /** What the handler returned. */
  result: unknown;
  /** The lines the handler wrote to stdout (its logs). */
  stdout: string[];
  stderr: string;
}

/** Bundles `entry` (relative to the repository root) and invokes `handler(event, context)`. */
export async function invokeBundledHandler(
  entry: string,
  event: unknown,
  context: object = {},
): Promise<Invocation> {
  const dir = mkdtempSync(path.join(tmpdir(), 'keymend-bundle-'));
  try {
    const { file: outfile } = await bundleEntry(entry, dir, 'index');
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
