/**
 * docs/notifications.md shows a proposal, an applied fix and a refusal in full: exactly the golden
 * e-mails the renderer produces (test/render/golden/, checked against the renderer by
 * notification.test.ts). UPDATE_GOLDEN=1 writes them into the document.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const DOC = path.join(__dirname, '../../docs/notifications.md');
const GOLDEN_DIR = path.join(__dirname, 'golden');
const SHOWN = ['proposed.email.txt', 'approved-applied.email.txt', 'refused.email.txt'];

/** The document with the block between `<!-- BEGIN name -->` and `<!-- END name -->` set to `text`. */
function withBlock(doc: string, name: string, text: string): string {
  const begin = `<!-- BEGIN ${name} -->\n`;
  const end = `<!-- END ${name} -->`;
  const from = doc.indexOf(begin);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`docs/notifications.md has no block for ${name}`);
  return `${doc.slice(0, from + begin.length)}\`\`\`text\n${text}\`\`\`\n${doc.slice(to)}`;
}

describe('docs/notifications.md', () => {
  it('shows the proposal, applied and refused e-mails exactly as rendered', () => {
    let doc = readFileSync(DOC, 'utf8');
    const expected = SHOWN.reduce(
      (text, name) => withBlock(text, name, readFileSync(path.join(GOLDEN_DIR, name), 'utf8')),
      doc,
    );
    if (process.env.UPDATE_GOLDEN === '1') {
      writeFileSync(DOC, expected);
      doc = expected;
    }
    expect(doc).toBe(expected);
    for (const name of SHOWN) expect(doc).toContain(`<!-- BEGIN ${name} -->\n\`\`\`text\nSubject: [`);
  });
});
