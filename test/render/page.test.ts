import type { Plan } from '../../functions/core/plan';
import { escapeHtml } from '../../functions/render/html';
import { manualPath, terraformSnippet } from '../../functions/render/manual';
import {
  describeChange,
  errorPage,
  type RefusalKind,
  refusalPage,
  resultPage,
  reviewPage,
} from '../../functions/render/page';
import { sampleProposal } from '../helpers/approval';

const SCRIPT = '<script>alert(1)</script>';

/** The visible text of a page, near enough: tags dropped, entities of the escaper decoded. */
function text(html: string): string {
  return html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#96;/g, '`')
    .replace(/&amp;/g, '&');
}

describe('escapeHtml', () => {
  it.each([
    ['<b>', '&lt;b&gt;'],
    ['"x" & \'y\' `z`', '&quot;x&quot; &amp; &#39;y&#39; &#96;z&#96;'],
    ['a\u0000b\u001bc\u2028d', 'a\ufffdb\ufffdc\ufffdd'],
    ['line\nnext\ttab', 'line\nnext\ttab'],
  ])('escapes %j', (input, expected) => {
    expect(escapeHtml(input)).toBe(expected);
  });
});

describe('the review page', () => {
  it('shows the manual path: each command and the Terraform, escaped, reading back exactly', async () => {
    const proposal = await sampleProposal();
    const page = reviewPage({ proposal, forms: {}, expiresAt: proposal.expiresAt, keyPolicyEnabled: true });
    const path = manualPath(proposal.plan as Plan);
    const shown = [...page.html.matchAll(/<pre>([\s\S]*?)<\/pre>/g)].map((m) => text(m[1] ?? ''));
    for (const c of [...(path?.apply ?? []), ...(path?.undo ?? [])]) expect(shown).toContain(c.command);
    expect(shown).toContain(terraformSnippet(proposal.plan as Plan));
    // The shell's quotes are entities in the HTML, never raw.
    expect(page.html).toContain('&#39;{&quot;EncryptionContextSubset&quot;');
  });

  it('shows every field a person needs to decide', async () => {
    const proposal = await sampleProposal();
    const page = reviewPage({
      proposal,
      forms: { approve: 'tok-approve', reject: 'tok-reject' },
      expiresAt: '2026-12-06T08:10:01.000Z',
      keyPolicyEnabled: false,
    });
    expect(page.statusCode).toBe(200);
    const shown = text(page.html);
    const plan = proposal.plan;
    if (plan?.mechanism !== 'kms-grant') throw new Error('the sample should plan a grant');
    for (const field of [
      'arn:aws:iam::111122223333:role/service-role/orders-consumer',
      'kms:Decrypt',
      proposal.scope.keyArn,
      'alias/orders',
      'arn:aws:kinesis:us-east-1:111122223333:stream/orders',
      'us-east-1',
      '111122223333',
      'at least 42 denials since 2026-12-03 08:10 UTC',
      'no IAM policy of the principal (identity-based policy) allows it',
      'AWS said:',
      'because no identity-based policy allows the kms:Decrypt action',
      plan.name,
      '"GranteePrincipal": "arn:aws:iam::111122223333:role/service-role/orders-consumer"',
      '"aws:kinesis:arn": "arn:aws:kinesis:us-east-1:111122223333:stream/orders"',
      'The proof',
      'implicit-deny',
      'allowed',
      'until 2026-12-06 08:10 UTC',
    ]) {
      expect(shown).toContain(field);
    }
    expect(page.html).toContain('<button type="submit" class="approve"');
    expect(page.html).toMatch(/>Approve<\/button>/);
    expect(page.html).toMatch(/>Reject<\/button>/);
    expect(page.html).not.toMatch(/>Revoke<\/button>/);
    expect(page.html).toContain('<input type="hidden" name="t" value="tok-approve">');
    expect(page.html).toMatch(/<form method="post" action="p-0123456789abcdef">/);
  });

  it('has no script, no inline handler, and one style element', async () => {
    const page = reviewPage({
      proposal: await sampleProposal(),
      forms: { revoke: 't' },
      expiresAt: '2026-12-06T08:10:01.000Z',
      keyPolicyEnabled: true,
    });
    expect(page.html).not.toMatch(/<script/i);
    expect(page.html).not.toMatch(/\son[a-z]+=/i);
    expect(page.html).not.toMatch(/\sstyle=/i);
    expect(page.html.match(/<style>/g)).toHaveLength(1);
    expect(page.html).toMatch(/>Revoke<\/button>/);
    expect(page.html).not.toMatch(/>Approve<\/button>/);
  });

  it('escapes a script in a role session name and in a stream name', async () => {
    // The intake refuses such a session name; the page must not rely on it, so the proposal is edited.
    const proposal = await sampleProposal();
    const hostile = structuredClone(proposal);
    hostile.scope.streamArn = `arn:aws:kinesis:us-east-1:111122223333:stream/${SCRIPT}`;
    hostile.request.sessionArn = `arn:aws:sts::111122223333:assumed-role/orders-consumer/${SCRIPT}`;
    hostile.reason = `denied on ${SCRIPT}`;
    hostile.keyAliases = [`alias/"><img src=x onerror=alert(1)>`];
    const page = reviewPage({
      proposal: hostile,
      forms: { approve: `"><script>x</script>` },
      expiresAt: hostile.expiresAt,
      keyPolicyEnabled: false,
    });
    expect(page.html).not.toContain('<script');
    expect(page.html).not.toContain('<img');
    expect(page.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(text(page.html)).toContain(`assumed-role/orders-consumer/${SCRIPT}`);
    expect(text(page.html)).toContain(`stream/${SCRIPT}`);
  });

  it('says when nothing is left to decide, and offers no form', async () => {
    const proposal = { ...(await sampleProposal()), status: 'rejected' as const };
    const page = reviewPage({ proposal, forms: {}, expiresAt: proposal.expiresAt, keyPolicyEnabled: false });
    expect(text(page.html)).toContain('Nothing is left to decide with this link: the proposal is rejected.');
    expect(page.html).not.toContain('<form');
  });

  it('warns before Approve when key-policy changes are not enabled', async () => {
    const proposal = await sampleProposal();
    const keyPolicy = structuredClone(proposal);
    keyPolicy.plan = {
      mechanism: 'key-policy-statement',
      keyArn: proposal.scope.keyArn,
      statement: {
        Sid: 'KeymendTest',
        Effect: 'Allow',
        Principal: { AWS: proposal.scope.principalArn },
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringEquals: { 'kms:ViaService': 'kinesis.us-east-1.amazonaws.com' } },
      },
      document: { Version: '2012-10-17', Statement: [] },
    };
    const input = { proposal: keyPolicy, forms: {}, expiresAt: proposal.expiresAt };
    expect(text(reviewPage({ ...input, keyPolicyEnabled: false }).html)).toContain(
      'does not apply key-policy changes',
    );
    expect(text(reviewPage({ ...input, keyPolicyEnabled: true }).html)).not.toContain(
      'does not apply key-policy changes',
    );
    expect(describeChange(keyPolicy.plan).json).toContain('"Sid": "KeymendTest"');
    // The whole new key policy is on the page too (the e-mail may shorten it and points here), as a
    // diff: the added statement's lines marked +.
    const page = reviewPage({ ...input, keyPolicyEnabled: true }).html;
    expect(text(page)).toContain('The complete new key policy');
    expect(page).toMatch(/<span class="added">\+ {7}&quot;Sid&quot;: &quot;KeymendTest&quot;,<\/span>/);
  });

  it('shows a key-policy change as a diff: the existing statements as context, the added one marked +', async () => {
    const proposal = await sampleProposal();
    const admin = {
      Sid: 'Admins',
      Effect: 'Allow' as const,
      Principal: { AWS: 'arn:aws:iam::111122223333:root' },
      Action: 'kms:*',
      Resource: '*',
      Condition: {},
    };
    const added = {
      Sid: 'KeymendAdded',
      Effect: 'Allow' as const,
      Principal: { AWS: proposal.scope.principalArn },
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: { StringEquals: { 'kms:ViaService': 'kinesis.us-east-1.amazonaws.com' } },
    };
    proposal.plan = {
      mechanism: 'key-policy-statement',
      keyArn: proposal.scope.keyArn,
      statement: added,
      document: { Version: '2012-10-17', Statement: [admin, added] },
    };
    const html = reviewPage({
      proposal,
      forms: {},
      expiresAt: proposal.expiresAt,
      keyPolicyEnabled: true,
    }).html;
    const diff = /<pre class="diff">([\s\S]*?)<\/pre>/.exec(html)?.[1] ?? '';
    const lines = diff.split('\n').filter((l) => l !== '');
    const plus = lines.filter((l) => l.startsWith('<span class="added">+ '));
    // Every line of the added statement is marked, and only those.
    expect(plus).toHaveLength(JSON.stringify(added, null, 2).split('\n').length);
    expect(plus.join('\n')).toContain('KeymendAdded');
    expect(lines.filter((l) => !l.startsWith('<span')).join('\n')).toContain(
      '&quot;Sid&quot;: &quot;Admins&quot;',
    );
    expect(lines.filter((l) => !l.startsWith('<span')).join('\n')).not.toContain('KeymendAdded');
  });
});

describe('the decision box', () => {
  const input = async () => {
    const proposal = await sampleProposal();
    return {
      proposal,
      forms: { approve: 'tok-a', reject: 'tok-r' },
      expiresAt: proposal.expiresAt,
      keyPolicyEnabled: false,
    };
  };
  /** The visible words, spaces collapsed. */
  const flat = (html: string) => text(html).replace(/\s+/g, ' ');
  /** The page's text before and after the first details section. */
  const split = (html: string) => {
    const at = html.indexOf('<details');
    return { top: html.slice(0, at), details: html.slice(at) };
  };

  it('opens with the change in a sentence, the count of checks, how to undo, then the buttons; the details follow', async () => {
    const base = await input();
    const { top, details } = split(reviewPage(base).html);
    const words = flat(top);
    expect(words).toContain(
      'Let role orders-consumer use kms:Decrypt on key alias/orders, only when Kinesis calls KMS for stream orders (a KMS grant, keymend-Decrypt-orders).',
    );
    expect(words).toMatch(/Nothing else gains access: keymend checked (\d+) other calls/);
    expect(words).toMatch(/To undo: the Revoke link .* retires exactly this grant/);
    expect(top).toContain('>Approve</button>');
    expect(top).toContain('name="reason"');
    // The proof's count is the one the box says.
    const checked = Number(/keymend checked (\d+) other calls/.exec(words)?.[1]);
    expect(checked).toBe(base.proposal.proof?.probes.length);
    for (const id of ['denied', 'why', 'change', 'proof'])
      expect(details).toContain(`<details open id="${id}">`);
    // Probe resources are described, not named as if they existed.
    expect(details).not.toContain('keymend-probe');
    expect(flat(details)).toContain('a hypothetical other stream');
  });

  it('shows every diagnosis note in a highlighted box above the buttons', async () => {
    const base = await input();
    base.proposal.diagnosis = {
      ...(base.proposal.diagnosis as NonNullable<typeof base.proposal.diagnosis>),
      notes: [{ code: 'layer-disagreement', message: `AWS named the resource-based policy ${SCRIPT}` }],
    };
    const { top } = split(reviewPage(base).html);
    const note = top.indexOf('<div class="check" role="note">');
    expect(note).toBeGreaterThan(0);
    expect(note).toBeLessThan(top.indexOf('>Approve</button>'));
    expect(flat(top)).toContain('Check first.');
    expect(top).toContain('AWS named the resource-based policy &lt;script&gt;');
    expect(top).not.toContain(SCRIPT);
  });

  it('a revoke page says what will be denied again', async () => {
    const base = await input();
    const proposal = { ...base.proposal, status: 'applied' as const };
    const { top } = split(reviewPage({ ...base, proposal, opened: 'revoke', forms: { revoke: 'tok' } }).html);
    expect(flat(top)).toContain(
      'After Revoke, role orders-consumer is denied kms:Decrypt on key alias/orders for stream orders again',
    );
    expect(top).toContain('>Revoke</button>');
    expect(top).not.toContain('>Approve</button>');
  });

  it('the revoked result page says what is denied again; the applied one names the grant and links to revoke', async () => {
    const proposal = await sampleProposal();
    const applied = {
      ...proposal,
      status: 'applied' as const,
      applied: {
        mechanism: 'kms-grant' as const,
        keyArn: proposal.scope.keyArn,
        grantId: 'g-0123abc',
        grantName: 'keymend-Decrypt-orders',
      },
    };
    const page = resultPage(
      'applied',
      applied,
      'Applied.',
      'https://approve.example/p/x?a=revoke&t=tok',
    ).html;
    expect(flat(page)).toContain('g-0123abc');
    expect(page).toContain('href="https://approve.example/p/x?a=revoke&amp;t=tok"');
    expect(flat(resultPage('revoked', { ...applied, status: 'revoked' }, 'Undone.').html)).toContain(
      'role orders-consumer is denied kms:Decrypt on key alias/orders for stream orders again',
    );
  });
});

describe('result and refusal pages', () => {
  it.each([
    ['applied', 'Applied'],
    ['rejected', 'Rejected'],
    ['revoked', 'Revoked'],
    ['failed', 'The change failed'],
  ] as const)('the %s page says so and escapes its detail', async (kind, title) => {
    const page = resultPage(kind, await sampleProposal(), `because ${SCRIPT}`);
    expect(page.statusCode).toBe(200);
    expect(page.html).toContain(`<h1>${title}:`);
    expect(page.html).not.toContain('<script');
  });

  it.each([
    ['bad-request', 400],
    ['bad-token', 403],
    ['not-found', 404],
    ['method', 405],
    ['not-pending', 409],
    ['expired', 410],
    ['sign-in', 403],
    ['sign-in-failed', 403],
    ['not-approver', 403],
  ] as Array<[RefusalKind, number]>)('a %s refusal is a %i page', (kind, status) => {
    const page = refusalPage(kind);
    expect(page.statusCode).toBe(status);
    expect(page.html).not.toMatch(/<form/);
  });

  it('the error page is a 500 that says nothing specific', () => {
    expect(errorPage().statusCode).toBe(500);
    expect(errorPage().html).toContain('Something went wrong');
  });
});
