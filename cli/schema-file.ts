/**
 * The published JSON Schema of the snapshot file (`snapshot.schema.json` at the package root),
 * generated from the zod schema: `npm run schema` rewrites it, and a test fails when it is stale.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { snapshotJsonSchema } from '../functions/adapters/snapshot-schema';

/** The package root: the nearest directory up from this module with keymend's package.json. */
export function packageRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'keymend') return dir;
    if (path.dirname(dir) === dir) return path.resolve(from, '..');
  }
}

export const SCHEMA_FILE_NAME = 'snapshot.schema.json';

/** Where the published schema lives. */
export function schemaFile(): string {
  return path.join(packageRoot(), SCHEMA_FILE_NAME);
}

/** The file's text, as `npm run schema` writes it. */
export function schemaFileText(): string {
  return `${JSON.stringify(snapshotJsonSchema(), null, 2)}\n`;
}

/**
 * The `$schema` reference a snapshot written into `directory` names: the published schema's path
 * relative to it (editors resolve a relative `$schema` against the file), with forward slashes.
 */
export function schemaReference(directory: string): string {
  const relative = path.relative(directory, schemaFile()).split(path.sep).join('/');
  return relative.startsWith('.') ? relative : `./${relative}`;
}

/** Writes the published schema (`npm run schema`). */
export function writeSchemaFile(): string {
  writeFileSync(schemaFile(), schemaFileText());
  return schemaFile();
}
