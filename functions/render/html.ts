/**
 * HTML escaping for every page keymend serves. Every interpolated value goes through `escapeHtml`:
 * most of what a page shows (role session names, stream names, AWS's messages) came from an event
 * and is hostile until shown otherwise.
 */

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/**
 * Text made safe for an HTML element's content or a double-quoted attribute value. Control characters
 * (other than tab and newline) become U+FFFD, so nothing invisible reaches the reader either.
 */
export function escapeHtml(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  return (
    text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this replaces
      .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, '\ufffd')
      .replace(/[&<>"'`]/g, (c) => ENTITIES[c] ?? c)
  );
}

/** A tagged template that escapes every interpolated value unless it is `Html` already built. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** Builds `Html`, escaping each value; arrays are joined, `Html` values are kept as they are. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += piece(value) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

function piece(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(piece).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(value);
}
