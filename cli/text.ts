/**
 * Text for people at an 80-column terminal. Everything shown that came from an event is untrusted:
 * `printable` turns it into one line of printable ASCII first, so a crafted session name cannot
 * move the cursor, hide text or forge lines.
 */
import type { DeniedBy } from '../functions/core/request';

/** Terminal width the text output is laid out for. */
export const WIDTH = 80;

/** One line of printable ASCII: anything else (controls, escapes, non-ASCII) as `\uXXXX`. */
export function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** 1234567 -> `1,234,567`. */
export function count(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Words of `text` wrapped to `width`, every line indented by `indent` spaces; overlong words are cut. */
export function wrap(text: string, indent: number, width = WIDTH): string[] {
  const room = Math.max(10, width - indent);
  const pad = ' '.repeat(indent);
  const lines: string[] = [];
  let line = '';
  for (let word of text.split(' ')) {
    while (word.length > room) {
      if (line) {
        lines.push(line);
        line = '';
      }
      lines.push(word.slice(0, room));
      word = word.slice(room);
    }
    if (!line) line = word;
    else if (line.length + 1 + word.length <= room) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line) lines.push(line);
  return lines.map((l) => pad + l);
}

/** `2026-11-30T12:34:56Z` -> `2026-11-30 12:34` (UTC); anything unparsable as printable text. */
export function minute(time: string): string {
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) return printable(time).slice(0, 16);
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/**
 * An ARN shown relative to the account and Region it is in when those are the ones given
 * (`role/service-role/orders-consumer`, `stream/orders`), else in full.
 */
export function shortArn(arn: string | null, accountId: string, region: string): string {
  if (!arn) return '(unknown)';
  const parts = arn.split(':');
  if (parts.length >= 6 && parts[4] === accountId && (parts[3] === region || parts[3] === '')) {
    return printable(parts.slice(5).join(':'));
  }
  return printable(arn);
}

/** What AWS's message blamed, in words. */
export function deniedByText(deniedBy: DeniedBy): string {
  const type = deniedBy.policyType ? `${deniedBy.policyType} policy` : 'policy';
  const arn = deniedBy.policyArn ? ` ${printable(deniedBy.policyArn)}` : '';
  switch (deniedBy.kind) {
    case 'implicit':
      return `no ${type} allows it`;
    case 'explicit':
      return `an explicit deny in a ${type}${arn}`;
    case 'unknown':
      return deniedBy.policyType ? `denied, in the ${type} (no reason given)` : 'denied (no reason given)';
    default: {
      const never: never = deniedBy.kind;
      return String(never);
    }
  }
}
