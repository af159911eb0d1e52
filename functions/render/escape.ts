/**
 * How untrusted text is made safe to show in what keymend sends (plain-text e-mail, subjects, chat
 * markdown, JSON for people to copy).
 *
 * Every value that came from an event (names, ARNs, AWS's message, encryption context) is untrusted: a
 * role session name or an error message can hold newlines, control characters, bidi overrides, HTML or
 * chat markdown. Each helper here returns one line of printable ASCII, so such text cannot forge a line,
 * a link or markup in what keymend sends.
 */

/** The longest untrusted value shown in full; longer ones end with a note of how much was left out. */
export const MAX_VALUE_CHARS = 1024;

/** `\uXXXX` for one UTF-16 code unit. */
function unicodeEscape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** `text` cut to `max` characters, saying how many were left out. */
export function capped(text: string, max: number = MAX_VALUE_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length - max} more characters)`;
}

/**
 * Breaks URLs and web addresses in untrusted text so no mail or chat client turns them into links:
 * `https://x` becomes `https[:]//x`, `www.x` becomes `www[.]x`.
 */
export function defang(text: string): string {
  return text.replace(/([A-Za-z][A-Za-z0-9+.-]*):\/\//g, '$1[:]//').replace(/\bwww\./gi, 'www[.]');
}

/**
 * One line of untrusted text for a plain-text body: the backslash doubled, every character outside
 * printable ASCII (newlines, control characters, bidi overrides, non-ASCII letters) written as a visible
 * `\uXXXX` escape, URLs defanged, and at most `max` characters of the original.
 */
export function plainValue(value: string, max: number = MAX_VALUE_CHARS): string {
  const text = value.length > max ? value.slice(0, max) : value;
  const escaped = defang(text.replace(/\\/g, '\\\\').replace(/[^\x20-\x7e]/g, unicodeEscape));
  return value.length > max ? `${escaped}... (${value.length - max} more characters)` : escaped;
}

/**
 * Text for an SNS e-mail subject (or a chat title): printable ASCII only (anything else becomes `?`),
 * whitespace runs collapsed to one space, trimmed, URLs defanged.
 */
export function subjectText(value: string): string {
  return defang(value)
    .replace(/[\s\u0085\u00a0\u2028\u2029]+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/ {2,}/g, ' ')
    .trim();
}

/**
 * JSON for people to read and for tools to copy: indented, with every character outside printable ASCII
 * escaped as `\uXXXX` (still the same JSON value). `extra` names more characters to escape the same way
 * (chat escapes the backtick so a code block cannot be closed from inside).
 */
export function asciiJson(value: unknown, extra?: RegExp): string {
  const text = (JSON.stringify(value, null, 2) ?? 'null').replace(/[^\x20-\x7e\n]/g, unicodeEscape);
  return extra ? text.replace(extra, unicodeEscape) : text;
}

/**
 * Characters CommonMark, Slack and Teams read as markup anywhere in a line: emphasis, strike, code, links
 * (`[`, `]`, `<`, `>`), entities, tables, headings. The rest (`(`, `-`, `.`, `:`) only means something
 * after one of these or at the start of a line, where untrusted text never stands.
 */
const MARKDOWN_SPECIAL = /[\\*_{}[\]#|~]/g;
/**
 * Characters written as visible `\uXXXX` escapes rather than backslash-escaped: Slack's markup ignores
 * backslashes, and `<`, `>`, `&` are how it spells links, mentions and entities; a backtick could pair
 * with another to swallow text into code.
 */
const MARKDOWN_UNICODE = /[`<>&]/g;

/**
 * Untrusted text for chat markdown outside code: printable ASCII (like a subject), URLs defanged, capped;
 * `<`, `>`, `&` and the backtick as `\uXXXX`, every other markdown character backslash-escaped.
 */
export function markdownText(value: string, max: number = MAX_VALUE_CHARS): string {
  return subjectText(defang(capped(value, max)))
    .replace(MARKDOWN_SPECIAL, (c) => `\\${c}`)
    .replace(MARKDOWN_UNICODE, unicodeEscape);
}

/**
 * Untrusted text as a chat inline code span, where markdown is not interpreted: one line of printable
 * ASCII (as `plainValue`), with the backtick and `<`, `>`, `&` escaped as `\uXXXX` so the span cannot be
 * closed and no client reads a `<link|text>` or an entity inside it.
 */
export function markdownCode(value: string, max: number = MAX_VALUE_CHARS): string {
  return `\`${plainValue(value, max).replace(/[`<>&]/g, unicodeEscape)}\``;
}
