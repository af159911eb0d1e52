/**
 * A two-sided (cross-account) proposal as people see it: the e-mail, the chat message, the review page
 * and the commands by hand name both halves, each with its account, key side first; undone caller side
 * first.
 */
import { LocalAccount } from '../../functions/adapters/local-account';
import { diagnose } from '../../functions/core/diagnose';
import { gatherAcross } from '../../functions/core/gather';
import type { Proposal } from '../../functions/core/proposal';
import { renderChat } from '../../functions/render/chat';
import { renderEmail } from '../../functions/render/email';
import { manualPath, terraformSnippet } from '../../functions/render/manual';
import { reviewPage } from '../../functions/render/page';
import { loadSnapshot } from '../helpers/accounts';
import { proposalOf, sampleRequest } from '../helpers/proposals';

const OWNER = '111122223333';
const CALLER = '444455556666';

async function twoSidedProposal(): Promise<Proposal> {
  const request = sampleRequest('cross-account-decrypt-denied.eventbridge.json');
  const owner = new LocalAccount(loadSnapshot('organization-key-owner'));
  const state = await gatherAcross(
    new LocalAccount(loadSnapshot('organization-caller')),
    (id) => (id === OWNER ? owner : null),
    request,
    'o-a1b2c3d4e5',
  );
  const result = diagnose(request, state);
  if (result.verdict !== 'propose') throw new Error(result.reason);
  const at = '2026-12-03T09:00:00.000Z';
  // The key owner's alias, as gatherAcross read it in the owner's account (the remediate flow keeps it).
  expect(state.keyAccountAlias).toBe('acme-orders-prod');
  const proposal = proposalOf(request, result, {
    id: 'p-cross',
    keyArn: state.key?.arn ?? '',
    keyAliases: ['alias/orders'],
    accountAlias: 'acme-analytics',
    count: 1,
    times: { firstSeen: at, lastSeen: at, createdAt: at, updatedAt: at },
    expiresAt: '2026-12-06T09:00:00.000Z',
    ttl: 1_800_000_000,
    audit: [],
  });
  return { ...proposal, keyAccountAlias: state.keyAccountAlias as string };
}

describe('a two-sided proposal, rendered', () => {
  it('the e-mail and chat name both halves with their accounts', async () => {
    const proposal = await twoSidedProposal();
    const email = renderEmail('proposed', proposal, null).message;
    // Each account with its alias: the key owner's read in its own account, the caller's in its.
    expect(email).toMatch(
      /1\. in account 111122223333 \(acme-orders-prod\) \(the key's owner\): Add one statement/,
    );
    expect(email).toMatch(
      /2\. in account 444455556666 \(acme-analytics\) \(the caller's\): Add the inline policy keymend-Decrypt-orders/,
    );
    expect(email).toMatch(/^ {2}Key's account: +111122223333 \(acme-orders-prod\)$/m);
    expect(email).toMatch(/^ {2}Account: +444455556666 \(acme-analytics\)$/m);
    // Both commands present (indexOf is -1 for a missing one, which would pass the order check alone).
    expect(email).toContain('"PolicyName": "default"');
    expect(email).toContain('"RoleName": "analytics-reader"');
    expect(email.indexOf('"PolicyName": "default"')).toBeLessThan(
      email.indexOf('"RoleName": "analytics-reader"'),
    );
    const chat = renderChat('proposed', proposal, null).message;
    expect(chat).toContain(`in account ${OWNER}`);
    expect(chat).toContain(`in account ${CALLER}`);
  });

  it('the review page shows each half under its account, and that Approve makes both', async () => {
    const proposal = await twoSidedProposal();
    const page = reviewPage({
      proposal,
      forms: {},
      expiresAt: proposal.expiresAt,
      keyPolicyEnabled: true,
    }).html;
    expect(page).toContain(`<h3>1. In account ${OWNER} (acme-orders-prod), the key's owner</h3>`);
    expect(page).toContain(`<h3>2. In account ${CALLER} (acme-analytics), the caller's</h3>`);
    expect(page).toContain(`in account ${OWNER} (acme-orders-prod) (the key&#39;s owner)`);
    expect(page).toMatch(/Approving makes both changes, in this order, and Revoke undoes both/);
  });

  it('by hand: key side first, undone caller side first, each command with its account', async () => {
    const proposal = await twoSidedProposal();
    if (!proposal.plan) throw new Error('no plan');
    const path = manualPath(proposal.plan);
    if (!path) throw new Error('no manual path');
    const accountOf = (purpose: string) => /^In account (\d{12}): /.exec(purpose)?.[1];
    const applyAccounts = path.apply.map((c) => accountOf(c.purpose));
    expect(applyAccounts[0]).toBe(OWNER);
    expect(applyAccounts.at(-1)).toBe(CALLER);
    expect(applyAccounts.lastIndexOf(OWNER)).toBeLessThan(applyAccounts.indexOf(CALLER));
    const undoAccounts = path.undo.map((c) => accountOf(c.purpose));
    expect(undoAccounts[0]).toBe(CALLER);
    expect(undoAccounts.at(-1)).toBe(OWNER);
    expect(path.apply.at(-1)?.command).toMatch(/aws iam put-role-policy/);
    const terraform = terraformSnippet(proposal.plan);
    expect(terraform).toContain(`# In account ${OWNER}`);
    expect(terraform).toContain(`# In account ${CALLER}`);
    expect(terraform.indexOf(`# In account ${OWNER}`)).toBeLessThan(
      terraform.indexOf(`# In account ${CALLER}`),
    );
  });
});
