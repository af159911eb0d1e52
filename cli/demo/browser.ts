/**
 * What a person's browser does with a link from an e-mail: open it (a GET, which changes nothing),
 * find the form whose button says what they mean, and submit it as a browser submits a form
 * (`application/x-www-form-urlencoded`, the hidden fields as they are). No script runs on keymend's
 * pages, so this is all a browser does.
 */

/** A form on a page: where it posts, its fields, and its button's words. */
export interface PageForm {
  method: string;
  /** Resolved against the page's URL, as a browser resolves it. */
  action: string;
  fields: [string, string][];
  button: string;
}

export interface OpenedPage {
  url: string;
  status: number;
  html: string;
  forms: PageForm[];
}

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Text with HTML character references decoded. */
export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code =
        ref[1] === 'x' || ref[1] === 'X' ? Number.parseInt(ref.slice(2), 16) : Number(ref.slice(1));
      return Number.isFinite(code) ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[ref.toLowerCase()] ?? whole;
  });
}

function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/g)) {
    const name = (m[1] as string).toLowerCase();
    if (!Object.hasOwn(out, name)) out[name] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

/** The forms of a page, each with its named inputs and its button's text. */
export function pageForms(html: string, pageUrl: string): PageForm[] {
  const forms: PageForm[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(m[1] as string);
    const inner = m[2] as string;
    const fields: [string, string][] = [];
    for (const input of inner.matchAll(/<input\b([^>]*)>/gi)) {
      const a = attributes(input[1] as string);
      if (a.name !== undefined) fields.push([a.name, a.value ?? '']);
    }
    const button = /<button\b[^>]*>([\s\S]*?)<\/button>/i.exec(inner);
    forms.push({
      method: (attrs.method ?? 'get').toUpperCase(),
      action: new URL(attrs.action ?? '', pageUrl).toString(),
      fields,
      button: decodeEntities((button?.[1] ?? '').replace(/<[^>]*>/g, '')).trim(),
    });
  }
  return forms;
}

/** The words of a page, without its markup: what a person reads. */
export function pageText(html: string): string {
  const body = /<body\b[^>]*>([\s\S]*)<\/body>/i.exec(html)?.[1] ?? html;
  return decodeEntities(body.replace(/<style[\s\S]*?<\/style>/gi, '').replace(/<[^>]*>/g, ' '))
    .replace(/\s+/g, ' ')
    .trim();
}

/** The first `<h1>` of a page, as text. */
export function pageHeading(html: string): string {
  const h1 = /<h1\b[^>]*>([\s\S]*?)<\/h1>/i.exec(html)?.[1] ?? '';
  return decodeEntities(h1.replace(/<[^>]*>/g, '')).trim();
}

async function read(response: Response): Promise<OpenedPage> {
  const html = await response.text();
  return { url: response.url, status: response.status, html, forms: pageForms(html, response.url) };
}

/** Opens a link as a browser does: a plain GET. */
export async function openLink(url: string): Promise<OpenedPage> {
  return read(await fetch(url, { headers: { accept: 'text/html' } }));
}

/** The form whose button reads `label` (case-insensitive); an error naming the buttons there are. */
export function findForm(page: OpenedPage, label: string): PageForm {
  const form = page.forms.find((f) => f.button.toLowerCase() === label.toLowerCase());
  if (!form) {
    const buttons = page.forms.map((f) => f.button).join(', ') || 'none';
    throw new Error(`the page at ${new URL(page.url).pathname} has no ${label} button (buttons: ${buttons})`);
  }
  return form;
}

/** Submits a form as a browser does: its fields, urlencoded, to its action. */
export async function submitForm(form: PageForm): Promise<OpenedPage> {
  if (form.method !== 'POST') return openLink(`${form.action}?${new URLSearchParams(form.fields)}`);
  return read(
    await fetch(form.action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: new URLSearchParams(form.fields).toString(),
    }),
  );
}
