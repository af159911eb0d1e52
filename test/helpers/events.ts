import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The repository's sample events. */
export const EVENTS_DIR = path.resolve(__dirname, '../../events');

const cache = new Map<string, unknown>();

/**
 * Reads `events/NAME` (a JSON file) and returns a fresh deep copy, so a test can change it freely.
 * The file is parsed once per test file.
 */
export function loadEvent<T = Record<string, unknown>>(name: string): T {
  let parsed = cache.get(name);
  if (parsed === undefined) {
    parsed = JSON.parse(readFileSync(path.join(EVENTS_DIR, name), 'utf8'));
    cache.set(name, parsed);
  }
  return structuredClone(parsed) as T;
}

/** The names of the sample event files (`*.json`, not the account snapshots in events/accounts/). */
export function eventNames(): string[] {
  return readdirSync(EVENTS_DIR)
    .filter((name) => name.endsWith('.json'))
    .sort();
}
