/**
 * The approval flow over the real store code and the real DynamoDB API (dynalite in process): ten
 * racing approvals apply once, and opening a link leaves the table exactly as it was.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { LocalAccount } from '../../functions/adapters/local-account';
import { parseSnapshot } from '../../functions/adapters/snapshot';
import { DynamoProposalStore } from '../../functions/adapters/store';
import type { FlowPorts } from '../../functions/core/ports';
import type { Proposal } from '../../functions/core/proposal';
import { signToken } from '../../functions/core/token';
import {
  APPROVAL_STEPS,
  type ApprovalDeps,
  type ApprovalRequest,
  handleApproval,
} from '../../functions/flows/approve';
import {
  demoReader,
  fixedSecret,
  NOW,
  noWriter,
  RecordingPublisher,
  recordingSteps,
  SECRET,
  sampleProposal,
} from '../helpers/approval';
import { type Dynalite, startDynalite } from '../helpers/dynalite';
import { EVENTS_DIR } from '../helpers/events';

let db: Dynalite;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.stop();
});

async function setup(id: string) {
  const table = await db.createTable();
  const store = new DynamoProposalStore(db.client, table, { now: () => NOW });
  const proposal = await sampleProposal({ id });
  await store.createProposal(proposal, new Date('2026-12-06T08:10:01.000Z'));
  const publisher = new RecordingPublisher();
  const ports: FlowPorts = {
    store,
    reader: demoReader(),
    writer: noWriter,
    publisher,
    secret: fixedSecret,
    now: () => NOW,
  };
  const { steps, calls } = recordingSteps();
  const deps: ApprovalDeps = {
    ports,
    settings: {
      baseUrl: 'https://approve.example',
      allowKeyPolicy: false,
      rejectSuppressHours: 168,
      linkTtlHours: 72,
    },
    steps,
    log: { info: () => {}, warn: () => {} },
  };
  const scan = async () => {
    const out = await db.client.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
    return JSON.stringify((out.Items ?? []).sort((a, b) => String(a.pk?.S).localeCompare(String(b.pk?.S))));
  };
  return { deps, store, proposal, publisher, calls, scan };
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

  it('ten concurrent approvals of one proposal apply once', async () => {
    const s = await setup('p-dynamo-race');
    const t = token(s.proposal);
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => handleApproval(s.deps, request('POST', s.proposal.id, 'approve', t))),
    );
    expect(s.calls.apply).toHaveLength(1);
    expect(responses.map((r) => r.statusCode).sort()).toEqual([200, ...Array(9).fill(409)]);
    const stored = await s.store.getProposal(s.proposal.id);
    expect(stored?.status).toBe('applied');
    expect(stored?.audit.filter((a) => a.action === 'approve' && a.outcome === 'accepted')).toHaveLength(1);
    expect(stored?.audit.filter((a) => a.action === 'approve' && a.outcome === 'refused')).toHaveLength(9);
    expect(s.publisher.sent).toHaveLength(1);
  });

  it('ten concurrent approvals through the real apply step write one grant to the account', async () => {
    const table = await db.createTable();
    const store = new DynamoProposalStore(db.client, table, { now: () => NOW });
    const proposal = await sampleProposal({ id: 'p-dynamo-real-apply' });
    await store.createProposal(proposal, new Date('2026-12-06T08:10:01.000Z'));
    const account = new LocalAccount(
      parseSnapshot(JSON.parse(readFileSync(path.join(EVENTS_DIR, 'accounts/demo.json'), 'utf8'))),
    );
    const publisher = new RecordingPublisher();
    const deps: ApprovalDeps = {
      ports: { store, reader: account, writer: account, publisher, secret: fixedSecret, now: () => NOW },
      settings: {
        baseUrl: 'https://approve.example',
        allowKeyPolicy: false,
        rejectSuppressHours: 168,
        linkTtlHours: 72,
      },
      steps: APPROVAL_STEPS,
      log: { info: () => {}, warn: () => {} },
    };
    const t = token(proposal);
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => handleApproval(deps, request('POST', proposal.id, 'approve', t))),
    );
    expect(responses.map((r) => r.statusCode).sort()).toEqual([200, ...Array(9).fill(409)]);
    expect(account.stats()['kms:CreateGrant']).toBe(1);
    const grants = account.snapshot().keys.find((k) => k.arn === proposal.scope.keyArn)?.grants ?? [];
    expect(grants).toHaveLength(1);
    expect((await store.getProposal(proposal.id))?.status).toBe('applied');
    // The real apply step notified the outcome, with a revoke link.
    expect(publisher.sent.filter((m) => m.topic === 'email')).toHaveLength(1);
    expect(publisher.sent[0]?.message).toContain(`/p/${proposal.id}?a=revoke&t=`);
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
