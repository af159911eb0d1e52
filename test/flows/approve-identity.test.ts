/**
 * Who approved (issue 21), through the real remediate, apply and notify steps over the in-memory store
 * and account: with sign-in on, only a signed-in approver on the list acts and is named everywhere;
 * anyone else gets a 403 and nothing changes; without sign-in, the IP address and browser are named.
 */
import type { Approver } from '../../functions/core/approvers';
import { type ApprovalDeps, type ApprovalRequest, handleApproval } from '../../functions/flows/approve';
import { remediate } from '../../functions/flows/remediate';
import { eventBridgeEvent, STORM_EVENT } from '../helpers/denials';
import { approvalSigner, type FlowFixture, flowFixture, linkIn, TEST_CONFIG } from '../helpers/flow-ports';

const ALICE: Approver = { subject: 'sub-alice', email: 'Alice@Example.com', emailVerified: true, groups: [] };
const MALLORY: Approver = {
  subject: 'sub-mallory',
  email: 'mallory@example.com',
  emailVerified: true,
  groups: [],
};
const RULE = { emails: ['alice@example.com'], groups: ['kms-approvers'] };

async function proposed(signIn: boolean) {
  const f = flowFixture();
  const result = await remediate(f.ports, TEST_CONFIG, eventBridgeEvent(STORM_EVENT));
  expect(result.outcome).toBe('proposed');
  const deps: ApprovalDeps = {
    // The approval function's signer: it alone holds the revoke key.
    ports: { ...f.ports, signer: approvalSigner },
    settings: {
      baseUrl: TEST_CONFIG.approvalUrl,
      enabledMechanisms: ['kms-grant', 'iam-inline-policy'],
      rejectSuppressHours: 168,
      linkTtlHours: 72,
      signIn: signIn ? RULE : null,
    },
    log: { info: () => {}, warn: () => {} },
  };
  return { f, deps, id: result.proposalId as string };
}

function post(
  f: FlowFixture,
  action: 'approve' | 'reject',
  approver: Approver | null,
  form = {},
): ApprovalRequest {
  const link = linkIn(f.outbox[0], action);
  return {
    method: 'POST',
    path: link.pathname,
    query: {},
    form: { a: action, t: link.searchParams.get('t') ?? '', ...form },
    sourceIp: '198.51.100.7',
    userAgent: 'Mozilla/5.0 (test)',
    approver,
  };
}

describe('with sign-in on', () => {
  it.each([
    ['nobody signed in', null, 'Sign in first'],
    ['a signed-in person not on the list', MALLORY, 'You may not approve this'],
    [
      'a listed address the provider says is unverified',
      { ...ALICE, emailVerified: false },
      'You may not approve this',
    ],
  ])(
    '%s: 403, and the store, the account and the outbox stay as they were',
    async (_what, approver, title) => {
      const { f, deps, id } = await proposed(true);
      const before = JSON.stringify(await f.store.getProposal(id));
      const account = JSON.stringify(f.account.snapshot());
      const sent = f.published.length;
      for (const action of ['approve', 'reject'] as const) {
        const page = await handleApproval(deps, post(f, action, approver));
        expect(page.statusCode).toBe(403);
        expect(page.html).toContain(title);
      }
      expect(JSON.stringify(await f.store.getProposal(id))).toBe(before);
      expect(JSON.stringify(f.account.snapshot())).toBe(account);
      expect(f.writes).toEqual([]);
      expect(f.published).toHaveLength(sent);
    },
  );

  it('a listed approver approves: the audit, the applied notification and the page name them', async () => {
    const { f, deps, id } = await proposed(true);
    const page = await handleApproval(deps, post(f, 'approve', ALICE));
    expect(page.statusCode).toBe(200);
    expect(f.writes).toEqual(['createGrant']);
    const stored = await f.store.getProposal(id);
    expect(stored?.status).toBe('applied');
    expect(stored?.audit.find((e) => e.action === 'approve')).toMatchObject({
      outcome: 'accepted',
      approverSubject: 'sub-alice',
      approverEmail: 'Alice@Example.com',
    });
    expect(f.kinds()).toEqual(['proposed', 'approved-applied']);
    expect(f.outbox[1]?.message).toMatch(/Approved by: +Alice@Example\.com \(signed in, subject sub-alice\)/);
    const chat = f.published.filter((m) => m.topic === 'chat').at(-1);
    expect(JSON.parse(chat?.message ?? '{}').content.description).toContain('Alice@Example.com');
    // The result page: who approved, what was written (the grant id), and the revoke link.
    const grantId = stored?.applied?.mechanism === 'kms-grant' ? stored.applied.grantId : 'none';
    expect(page.html).toContain('Approved by Alice@Example.com (signed in, subject sub-alice)');
    expect(page.html).toContain(grantId);
    expect(page.html).toMatch(new RegExp(`href="http://127\\.0\\.0\\.1:8787/p/${id}\\?a=revoke&amp;t=`));
  });

  it('a member of a listed group approves', async () => {
    const { f, deps } = await proposed(true);
    const member: Approver = { subject: 'sub-g', email: '', emailVerified: false, groups: ['kms-approvers'] };
    expect((await handleApproval(deps, post(f, 'approve', member))).statusCode).toBe(200);
    expect(f.writes).toEqual(['createGrant']);
  });

  it("a review link's page offers the buttons to a listed approver only", async () => {
    const { f, deps } = await proposed(true);
    const chat = f.published.find((m) => m.topic === 'chat');
    const review = /\((http:\/\/127\.0\.0\.1:8787\/p\/[^)]+a=review[^)]+)\)/.exec(chat?.message ?? '')?.[1];
    expect(review).toBeDefined();
    const url = new URL(review as string);
    const open = (approver: Approver | null) =>
      handleApproval(deps, {
        method: 'GET',
        path: url.pathname,
        query: { a: 'review', t: url.searchParams.get('t') ?? '' },
        form: null,
        sourceIp: '',
        userAgent: '',
        approver,
      });
    expect((await open(ALICE)).html).toContain('>Approve</button>');
    const other = await open(MALLORY);
    expect(other.html).not.toContain('<form');
    expect(other.html).toContain('not one of this deployment');
  });
});

describe('without sign-in', () => {
  it('a reject names the IP address and browser, and its reason reaches the notification', async () => {
    const { f, deps, id } = await proposed(false);
    const page = await handleApproval(
      deps,
      post(f, 'reject', null, { reason: '  Being retired next week.\u0007\nNo new access. ' }),
    );
    expect(page.statusCode).toBe(200);
    const stored = await f.store.getProposal(id);
    expect(stored?.audit.find((e) => e.action === 'reject')).toMatchObject({
      outcome: 'rejected',
      sourceIp: '198.51.100.7',
      userAgent: 'Mozilla/5.0 (test)',
      reason: 'Being retired next week. No new access.',
    });
    expect(f.kinds()).toEqual(['proposed', 'rejected']);
    const email = f.outbox[1]?.message ?? '';
    expect(email).toMatch(
      /Rejected by: +someone holding the link, from 198\.51\.100\.7 with "Mozilla\/5\.0 \(test\)"/,
    );
    expect(email).toMatch(/Reason: +Being retired next week\. No new access\./);
    expect(page.html).toContain('Being retired next week. No new access.');
  });

  it('the page says plainly that anyone holding the link can press the buttons', async () => {
    const { f, deps } = await proposed(false);
    const link = linkIn(f.outbox[0], 'approve');
    const page = await handleApproval(deps, {
      method: 'GET',
      path: link.pathname,
      query: { a: 'approve', t: link.searchParams.get('t') ?? '' },
      form: null,
      sourceIp: '',
      userAgent: '',
    });
    expect(page.html).toContain('anyone holding this link can press these buttons');
  });
});
