/**
 * Every place a proposal is shown names its account, with the alias when keymend read one (issue 25):
 * in an organization, one notification or approval page looks much like another, and the account is
 * what tells a person whose it is. The e-mail, the chat message, the review page (approve and revoke),
 * the result page and the stored record.
 */
import { decodeProposal, proposalItem } from '../../functions/adapters/store';
import type { Proposal } from '../../functions/core/proposal';
import { renderChat } from '../../functions/render/chat';
import { renderEmail } from '../../functions/render/email';
import { NOTIFICATION_KINDS } from '../../functions/render/kinds';
import { resultPage, reviewPage } from '../../functions/render/page';
import { sampleProposal } from '../helpers/proposals';

const ACCOUNT = '111122223333';
const ALIAS = 'acme-orders-prod';

async function withAlias(alias: string | undefined): Promise<Proposal> {
  const proposal = await sampleProposal();
  expect(proposal.scope.accountId).toBe(ACCOUNT);
  return alias === undefined ? proposal : { ...proposal, accountAlias: alias };
}

async function applied(alias: string | undefined): Promise<Proposal> {
  const p = await withAlias(alias);
  return {
    ...p,
    status: 'applied',
    appliedAt: '2026-12-03T10:00:00.000Z',
    applied: { mechanism: 'kms-grant', keyArn: p.scope.keyArn, grantId: 'g-1', grantName: 'keymend-x' },
  };
}

describe('the account and its alias', () => {
  it.each(NOTIFICATION_KINDS)(
    '%s: the e-mail body names the account with its alias, the subject the alias',
    async (kind) => {
      const email = renderEmail(kind, await withAlias(ALIAS), null);
      expect(email.message).toMatch(new RegExp(`^  Account: +${ACCOUNT} \\(${ALIAS}\\)$`, 'm'));
      expect(email.subject.startsWith(`[${ALIAS} us-east-1] `)).toBe(true);
    },
  );

  it.each(NOTIFICATION_KINDS)(
    '%s: the chat message names the account with its alias, and carries both as fields',
    async (kind) => {
      const chat = JSON.parse(renderChat(kind, await withAlias(ALIAS), null).message);
      expect(chat.content.description).toContain(`/ \`${ACCOUNT} (${ALIAS})\``);
      expect(chat.metadata.additionalContext).toMatchObject({ accountId: ACCOUNT, accountAlias: ALIAS });
    },
  );

  it('without an alias, every message names the account id alone', async () => {
    const proposal = await withAlias(undefined);
    const email = renderEmail('proposed', proposal, null);
    expect(email.message).toMatch(new RegExp(`^  Account: +${ACCOUNT}$`, 'm'));
    expect(email.subject.startsWith(`[${ACCOUNT} us-east-1] `)).toBe(true);
    const chat = JSON.parse(renderChat('proposed', proposal, null).message);
    expect(chat.content.description).toContain(`/ \`${ACCOUNT}\``);
    expect(chat.metadata.additionalContext.accountAlias).toBeUndefined();
    const page = reviewPage({ proposal, forms: {}, expiresAt: proposal.expiresAt, keyPolicyEnabled: true });
    expect(page.html).toContain(`<title>keymend: kms:Decrypt denied to role`);
    expect(page.html).toContain(` in account ${ACCOUNT}</title>`);
    expect(page.html).toContain(`Account <strong>${ACCOUNT}</strong>, Region us-east-1`);
  });

  it('the review page shows it in its title, under its heading and among the details', async () => {
    const proposal = await withAlias(ALIAS);
    const page = reviewPage({
      proposal,
      forms: { approve: 'a', reject: 'r' },
      expiresAt: proposal.expiresAt,
      keyPolicyEnabled: true,
    });
    expect(page.html).toContain(` in account ${ACCOUNT} (${ALIAS})</title>`);
    expect(page.html).toContain(`<p>Account <strong>${ACCOUNT} (${ALIAS})</strong>, Region us-east-1</p>`);
    expect(page.html).toContain(`<tr><th scope="row">Account</th><td>${ACCOUNT} (${ALIAS})</td></tr>`);
    // Above the decision box: a person sees whose account before the buttons.
    expect(page.html.indexOf(`<strong>${ACCOUNT} (${ALIAS})</strong>`)).toBeLessThan(
      page.html.indexOf('class="decide"'),
    );
  });

  it('the revoke page and the result pages show it too', async () => {
    const proposal = await applied(ALIAS);
    const revoke = reviewPage({
      proposal,
      opened: 'revoke',
      forms: { revoke: 'v' },
      expiresAt: proposal.expiresAt,
      keyPolicyEnabled: true,
    });
    expect(revoke.html).toContain('<strong>Revoking</strong>');
    expect(revoke.html).toContain(`<p>Account <strong>${ACCOUNT} (${ALIAS})</strong>, Region us-east-1</p>`);
    for (const kind of ['applied', 'revoked', 'rejected', 'failed'] as const) {
      const page = resultPage(kind, proposal, 'Done.');
      expect(page.html).toContain(` in account ${ACCOUNT} (${ALIAS})</title>`);
      expect(page.html).toContain(`<strong>${ACCOUNT} (${ALIAS})</strong>`);
    }
  });

  it('is escaped on the page like any other text', async () => {
    const proposal = await withAlias('<b>x</b>');
    const page = reviewPage({ proposal, forms: {}, expiresAt: proposal.expiresAt, keyPolicyEnabled: true });
    expect(page.html).not.toContain('<b>x</b>');
    expect(page.html).toContain(`${ACCOUNT} (&lt;b&gt;x&lt;/b&gt;)`);
  });

  it('the stored record (with its audit trail) keeps the account and the alias', async () => {
    const proposal = await applied(ALIAS);
    const decoded = decodeProposal(proposalItem(proposal));
    expect(decoded.scope.accountId).toBe(ACCOUNT);
    expect(decoded.accountAlias).toBe(ALIAS);
    expect(decoded.audit).toEqual(proposal.audit);
  });
});
