import { decodeEntities, findForm, type OpenedPage, pageForms, pageHeading } from '../../../cli/demo/browser';

const PAGE_URL = 'http://127.0.0.1:8787/p/abc123?a=approve&t=tok';

/** A page shaped as render/page.ts writes it: one form per action, posting to the bare proposal id. */
const HTML = `<!doctype html><html><head><style>h1{}</style></head><body>
<h1>kms:Decrypt denied to arn:aws:iam::111122223333:role/x &amp; y on stream orders</h1>
<div class="actions">
<form method="post" action="abc123">
<input type="hidden" name="a" value="approve">
<input type="hidden" name="t" value="eyJ.&quot;sig&quot;">
<button type="submit" class="approve" title="Apply exactly the change above.">Approve</button>
</form>
<form method="post" action="abc123">
<input type="hidden" name="a" value="reject">
<input type="hidden" name="t" value="rej">
<button type="submit" class="reject">Reject</button>
</form>
</div></body></html>`;

describe('a browser reading keymend pages', () => {
  it('finds each form, resolves its action against the page, and keeps its hidden fields', () => {
    expect(pageForms(HTML, PAGE_URL)).toEqual([
      {
        method: 'POST',
        action: 'http://127.0.0.1:8787/p/abc123',
        fields: [
          ['a', 'approve'],
          ['t', 'eyJ."sig"'],
        ],
        button: 'Approve',
      },
      {
        method: 'POST',
        action: 'http://127.0.0.1:8787/p/abc123',
        fields: [
          ['a', 'reject'],
          ['t', 'rej'],
        ],
        button: 'Reject',
      },
    ]);
  });

  it('picks the form by the words on its button, and says which buttons there are when none match', () => {
    const page: OpenedPage = { url: PAGE_URL, status: 200, html: HTML, forms: pageForms(HTML, PAGE_URL) };
    expect(findForm(page, 'reject').fields).toContainEqual(['a', 'reject']);
    expect(() => findForm(page, 'Revoke')).toThrow(
      'the page at /p/abc123 has no Revoke button (buttons: Approve, Reject)',
    );
  });

  it('reads the heading as text', () => {
    expect(pageHeading(HTML)).toBe(
      'kms:Decrypt denied to arn:aws:iam::111122223333:role/x & y on stream orders',
    );
  });

  it.each([
    ['&lt;b&gt; &amp;amp;', '<b> &amp;'],
    ['&#39;&#x41;', "'A"],
    ['&unknown; &', '&unknown; &'],
  ])('decodes %j as %j', (text, decoded) => {
    expect(decodeEntities(text)).toBe(decoded);
  });
});
