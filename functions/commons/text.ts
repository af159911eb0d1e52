/**
 * Printable text from untrusted input. Event-derived strings (ARNs, error messages, names) reach
 * logs, terminals, e-mail and chat: everything here turns them into one line of printable ASCII, so
 * a reader sees the characters they are. Node builtins only.
 */

/**
 * `text` with every character past ASCII (and DEL) written as `\uXXXX`. Apply it to JSON text,
 * whose own escaping already covers `\n`, `\r` and the other C0 controls: U+2028/2029 and NEL end
 * lines for some readers, and bidi overrides or zero-width characters could make a line read
 * otherwise.
 */
export function escapeNonAscii(text: string): string {
  return text.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Cuts a string to `max` characters, saying how much was dropped. */
export function capString(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max)}...[${value.length - max} more chars]`;
}

/**
 * A short, quoted rendering of an untrusted value for messages: a string as one line of printable
 * ASCII (JSON escapes, and `\uXXXX` past ASCII), cut after `max` characters; other values by kind
 * (`null`, `absent`, `an array`, `an object`, `a number`, ...).
 */
export function showValue(value: unknown, max = 80): string {
  if (typeof value === 'string') {
    return escapeNonAscii(JSON.stringify(value.length > max ? `${value.slice(0, max)}...` : value));
  }
  if (value === null) return 'null';
  if (value === undefined) return 'absent';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * `text` as one line of printable ASCII for a terminal or a log: line breaks and tabs as `\n`, `\r`,
 * `\t`, every other control character, DEL and everything past ASCII as `\uXXXX` (so an escape
 * sequence, a NUL or a bidi override in a file or an event reaches no terminal raw), cut after
 * `max` characters.
 */
export function printableLine(text: string, max = 2000): string {
  const escaped = text.replace(/[^\x20-\x7e]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
  return capString(escaped, max);
}

/**
 * `text` as printable ASCII: every character outside space..tilde (controls, DEL, and everything past
 * ASCII) written as the six characters `\uXXXX`. For text that a serializer will escape again (a
 * log library's own JSON): the reader then sees the escape, never the character.
 */
export function printableAscii(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
