/**
 * A tiny structured logger: one JSON object per line. Fields often carry text from events (ARNs,
 * error messages), so every string is capped and the output is one line of printable ASCII.
 * Pure apart from the `write` function the caller passes in; no clock (CloudWatch stamps lines).
 */
import { capString as capText, escapeNonAscii } from '../commons/text';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Longest string kept in a log field; the rest is replaced by a count of what was cut. */
export const MAX_LOG_STRING = 512;
/** Longest stack kept for an error. */
const MAX_STACK = 2048;
const MAX_DEPTH = 5;
const MAX_ENTRIES = 50;

/** Cuts a string to `max` characters (default MAX_LOG_STRING), saying how much was dropped. */
export function capString(value: string, max = MAX_LOG_STRING): string {
  return capText(value, max);
}

/**
 * Log fields as keymend logs them: a JSON-safe copy, strings capped, depth and size bounded, cycles and
 * exotic types named. Never throws: fields that cannot be read become `{ fields: '[unloggable]' }`.
 */
export function sanitizeFields(fields: Record<string, unknown> = {}): Record<string, unknown> {
  try {
    return sanitize(fields, 0, new Set()) as Record<string, unknown>;
  } catch {
    return { fields: '[unloggable]' };
  }
}

/** A JSON-safe copy of `value`: strings capped, depth and size bounded, cycles and exotic types named. */
function sanitize(value: unknown, depth: number, seen: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
      return capString(value);
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
      return value;
    case 'undefined':
      return undefined;
    case 'bigint':
    case 'symbol':
    case 'function':
      return `[${typeof value}]`;
  }
  if (value === null) return null;
  if (value instanceof Error) {
    // The stack says where a failure came from (Powertools logs it too); its first frames are enough.
    const stack = value.stack === undefined ? {} : { stack: capString(value.stack, MAX_STACK) };
    return { name: capString(value.name), message: capString(value.message), ...stack };
  }
  const object = value as object;
  if (seen.has(object)) return '[cycle]';
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? '[array]' : '[object]';
  seen.add(object);
  try {
    if (Array.isArray(value)) {
      const items = value.slice(0, MAX_ENTRIES).map((item) => sanitize(item, depth + 1, seen));
      if (value.length > MAX_ENTRIES) items.push(`[${value.length - MAX_ENTRIES} more items]`);
      return items;
    }
    const entries = Object.entries(object);
    const out = entries
      .slice(0, MAX_ENTRIES)
      .map(([key, item]) => [capString(key, 128), sanitize(item, depth + 1, seen)] as const);
    if (entries.length > MAX_ENTRIES) out.push(['_truncated', `${entries.length - MAX_ENTRIES} more keys`]);
    // fromEntries keeps a "__proto__" key as plain data.
    return Object.fromEntries(out);
  } finally {
    seen.delete(object);
  }
}

/**
 * Formats one log line: `{"level":..,"message":..,...fields}` as a single line of JSON.
 * Never throws: a field that cannot be read is logged as `[unloggable]`.
 */
export function formatLogLine(
  level: LogLevel,
  message: string,
  fields: Record<string, unknown> = {},
): string {
  const safe = sanitizeFields(fields);
  // level and message come first and cannot be overwritten by a field of the same name.
  const entries: [string, unknown][] = [
    ['level', level],
    ['message', capString(message)],
  ];
  for (const [key, value] of Object.entries(safe as object)) {
    entries.push([key === 'level' || key === 'message' ? `field_${key}` : key, value]);
  }
  const line = JSON.stringify(Object.fromEntries(entries));
  // JSON already escapes \n, \r and other C0 controls. Everything past ASCII is escaped too, so a
  // line stays one plain ASCII line for every reader: U+2028/2029 and NEL end lines for some, and
  // bidi overrides or zero-width characters in an event's text could make a line read otherwise.
  return escapeNonAscii(line);
}

/** A logger that hands each formatted line to `write` (e.g. `(l) => process.stdout.write(l + '\n')`). */
export function createLogger(write: (line: string) => void, minLevel: LogLevel = 'info'): Logger {
  const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
  const emit = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (order[level] >= order[minLevel]) write(formatLogLine(level, message, fields));
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}
