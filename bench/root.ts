/**
 * The repository root, found from this file: `npm run bench` runs an esbuild bundle of bench/run.ts
 * from bench/.bundle/, the tests and `npx tsx` run bench/ itself, so `__dirname` differs.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

function findRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}

export const ROOT = findRoot(__dirname);
