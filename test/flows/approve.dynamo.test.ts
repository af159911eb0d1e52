/**
 * The approval flow over the real store code and the real DynamoDB API (dynalite in process): ten
 * racing approvals apply once, and opening a link leaves the table exactly as it was.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoProposalStore } from '../../functions/adapters/store';
import type { Proposal } from '../../functions/core/proposal';
import { signToken } from '../../functions/core/token';
import { type ApprovalDeps, type ApprovalRequest, handleApproval } from '../../functions/flows/approve';
import { approvalPorts, grantsIn, NOW, SECRET, sampleProposal } from '../helpers/approval';
import { type Dynalite, startDynalite } from '../helpers/dynalite';

let db: Dynalite;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.stop();
});

async function setup(id: string) {
  const table = await db.createTable();
  const { ports, store, publisher, account } = approvalPorts(new DynamoProposalStore(db.client, table));
  const proposal = await sampleProposal({ id });
  await store.createProposal(proposal, new Date('2026-12-06T08:10:01.000Z'));
  const deps: ApprovalDeps = {
    ports,
    settings: {
      baseUrl: 'https://approve.example',
      enabledMechanisms: ['kms-grant', 'iam-inline-policy'],
      rejectSuppressHours: 168,
      linkTtlHours: 72,
    },
    log: { info: () => {}, warn: () => {} },
  };
  const scan = async () => {
    const out = await db.client.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
    return JSON.stringify((out.Items ?? []).sort((a, b) => String(a.pk?.S).localeCompare(String(b.pk?.S))));
  };
  return { deps, store, proposal, publisher, account, scan };
}

function token(proposal: Proposal, action: 'approve' | 'reject' = 'approve', secret = SECRET): string {
  return signToken(secret, {
    proposalId: proposal.id,
    action,
    planHash: proposal.planHash ?? '',
    expiresAt: Math.floor(NOW.getTime() / 1000) + 3600,
  });
}

const request = (method: string, id: string, a: string, t: string): ApprovalRequest => ({
  method,
  path: `/p/${id}`,
  query: method === 'POST' ? {} : { a, t },
  form: method === 'POST' ? { a, t } : null,
  sourceIp: '192.0.2.1',
  userAgent: 'jest',
});

describe('approval over DynamoProposalStore (dynalite)', () => {
  it('GET and HEAD leave every item of the table byte for byte', async () => {
    const s = await setup('p-dynamo-view');
    const before = await s.scan();
    for (const method of ['GET', 'HEAD', 'GET']) {
      const response = await handleApproval(
        s.deps,
        request(method, s.proposal.id, 'approve', token(s.proposal)),
      );
      expect(response.statusCode).toBe(200);
    }
    expect(await s.scan()).toBe(before);
  });

  it('a forged POST leaves every item of the table byte for byte', async () => {
    const s = await setup('p-dynamo-forged');
    const before = await s.scan();
    const forged = token(s.proposal, 'approve', Buffer.from('forged-secret-forged-secret-forged!'));
    const response = await handleApproval(s.deps, request('POST', s.proposal.id, 'approve', forged));
    expect(response.statusCode).toBe(403);
    expect(await s.scan()).toBe(before);
  });

  it('ten concurrent approvals of one proposal apply once: one grant written, one notification', async () => {
    const s = await setup('p-dynamo-race');
    const t = token(s.proposal);
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => handleApproval(s.deps, request('POST', s.proposal.id, 'approve', t))),
    );
    expect(responses.map((r) => r.statusCode).sort()).toEqual([200, ...Array(9).fill(409)]);
    expect(s.account.stats()['kms:CreateGrant']).toBe(1);
    expect(grantsIn(s.account)).toBe(1);
    const stored = await s.store.getProposal(s.proposal.id);
    expect(stored?.status).toBe('applied');
    expect(stored?.audit.filter((a) => a.action === 'approve' && a.outcome === 'accepted')).toHaveLength(1);
    expect(stored?.audit.filter((a) => a.action === 'approve' && a.outcome === 'refused')).toHaveLength(9);
    // The real apply step notified the outcome, with a revoke link.
    expect(s.publisher.kinds()).toEqual(['approved-applied']);
    expect(s.publisher.emails[0]?.message).toContain(`/p/${s.proposal.id}?a=revoke&t=`);
  });

  it('reject quiets the fingerprint: the next denial of the problem is not counted as live until then', async () => {
    const s = await setup('p-dynamo-reject');
    const response = await handleApproval(
      s.deps,
      request('POST', s.proposal.id, 'reject', token(s.proposal, 'reject')),
    );
    expect(response.statusCode).toBe(200);
    expect((await s.store.getProposal(s.proposal.id))?.status).toBe('rejected');
    // Still live (suppressed) a day later: a repeat is only counted.
    expect(
      await s.store.touchFingerprint(s.proposal.fingerprint, new Date(NOW.getTime() + 86_400_000)),
    ).not.toBeNull();
  });
});
