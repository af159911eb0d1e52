import type { LocalAccount } from '../../functions/adapters/local-account';
import type { Mechanism } from '../../functions/core/plan';
import { boundHash, type Proposal } from '../../functions/core/proposal';
import { type ApprovalAction, signToken, type TokenClaims } from '../../functions/core/token';
import { type ApprovalDeps, type ApprovalRequest, handleApproval } from '../../functions/flows/approve';
import {
  approvalPorts,
  grantsIn,
  NOW,
  REVOKE_SECRET,
  type RecordingPublisher,
  SECRET,
  sampleProposal,
} from '../helpers/approval';
import { linkIn } from '../helpers/flow-ports';
import type { MemoryStore } from '../helpers/memory-store';

const NOW_S = Math.floor(NOW.getTime() / 1000);

interface Setup {
  deps: ApprovalDeps;
  store: MemoryStore;
  publisher: RecordingPublisher;
  /** The demo account the real apply and revoke steps write to. */
  account: LocalAccount;
  proposal: Proposal;
  warnings: string[];
}

async function setup(options: { prefer?: Mechanism } = {}): Promise<Setup> {
  const proposal = await sampleProposal(options);
  const { ports, store, publisher, account } = approvalPorts();
  await store.createProposal(proposal, new Date('2026-12-06T08:10:01.000Z'));
  const warnings: string[] = [];
  const deps: ApprovalDeps = {
    ports,
    settings: {
      baseUrl: 'https://approve.example',
      enabledMechanisms: ['kms-grant', 'iam-inline-policy'],
      rejectSuppressHours: 168,
      linkTtlHours: 72,
    },
    log: { info: () => {}, warn: (message) => warnings.push(message) },
  };
  return { deps, store, publisher, account, proposal, warnings };
}

/** Every call that would change the account (LocalAccount counts the API calls AWS would see). */
function accountWrites(account: LocalAccount): string[] {
  return Object.keys(account.stats()).filter((call) => /:(Create|Put|Delete|Revoke|Retire)/.test(call));
}

/** A token as the approval function signs it: revoke links with the revoke key, bound to the change. */
function token(proposal: Proposal, overrides: Partial<TokenClaims> = {}, secret?: Uint8Array): string {
  const action = overrides.action ?? 'approve';
  return signToken(secret ?? (action === 'revoke' ? REVOKE_SECRET : SECRET), {
    proposalId: proposal.id,
    action,
    planHash: boundHash(proposal, action),
    expiresAt: NOW_S + 3600,
    ...overrides,
  });
}

function get(id: string, a: string, t: string, method = 'GET'): ApprovalRequest {
  return {
    method,
    path: `/p/${id}`,
    query: { a, t },
    form: null,
    sourceIp: '203.0.113.9',
    userAgent: 'test-browser',
  };
}

function post(id: string, a: ApprovalAction | string, t: string): ApprovalRequest {
  return {
    method: 'POST',
    path: `/p/${id}`,
    query: {},
    form: { a, t },
    sourceIp: '203.0.113.9',
    userAgent: 'test-browser',
  };
}

describe('GET and HEAD never change anything', () => {
  it.each(['GET', 'HEAD'])(
    '%s of a valid link renders the page and leaves the store byte for byte',
    async (method) => {
      const s = await setup();
      const before = s.store.dump();
      const writes = s.store.writes;
      const response = await handleApproval(s.deps, get(s.proposal.id, 'approve', token(s.proposal), method));
      expect(response.statusCode).toBe(200);
      expect(response.head).toBe(method === 'HEAD');
      expect(response.html).toContain('>Approve</button>');
      expect(s.store.dump()).toBe(before);
      expect(s.store.writes).toBe(writes);
      expect(accountWrites(s.account)).toEqual([]);
      expect(s.publisher.sent).toHaveLength(0);
    },
  );

  it('opening the approve link offers both buttons, each with a token for its own action', async () => {
    const s = await setup();
    const response = await handleApproval(s.deps, get(s.proposal.id, 'approve', token(s.proposal)));
    const rejectToken = /name="a" value="reject">\s*<input type="hidden" name="t" value="([^"]+)"/.exec(
      response.html,
    )?.[1];
    expect(rejectToken).toBe(token(s.proposal, { action: 'reject' }));
  });

  it('a reject link rejects only: its page has no Approve form', async () => {
    const s = await setup();
    const response = await handleApproval(
      s.deps,
      get(s.proposal.id, 'reject', token(s.proposal, { action: 'reject' })),
    );
    expect(response.statusCode).toBe(200);
    expect(response.html).toContain('>Reject</button>');
    expect(response.html).not.toContain('value="approve"');
    expect(response.html).not.toContain('>Approve</button>');
  });

  it('a review link (chat) shows the change with no button at all, and cannot be posted', async () => {
    const s = await setup();
    const review = token(s.proposal, { action: 'review' });
    const page = await handleApproval(s.deps, get(s.proposal.id, 'review', review));
    expect(page.statusCode).toBe(200);
    expect(page.html).not.toContain('<form');
    expect(page.html).toContain('decides nothing');
    expect((await handleApproval(s.deps, post(s.proposal.id, 'review', review))).statusCode).toBe(400);
    expect((await handleApproval(s.deps, post(s.proposal.id, 'approve', review))).statusCode).toBe(403);
    expect((await s.store.getProposal(s.proposal.id))?.status).toBe('pending');
    expect(s.publisher.sent).toHaveLength(0);
  });

  it.each([
    [
      'a forged token',
      (p: Proposal) => get(p.id, 'approve', token(p, {}, Buffer.from('another-secret-0123456789abcdef'))),
      403,
    ],
    ['an expired token', (p: Proposal) => get(p.id, 'approve', token(p, { expiresAt: NOW_S - 1 })), 410],
    [
      'a token for another proposal',
      (p: Proposal) => get(p.id, 'approve', token(p, { proposalId: 'p-other' })),
      403,
    ],
    [
      'a token for another action',
      (p: Proposal) => get(p.id, 'approve', token(p, { action: 'revoke' })),
      403,
    ],
    [
      'a token for another plan',
      (p: Proposal) => get(p.id, 'approve', token(p, { planHash: 'f'.repeat(64) })),
      403,
    ],
    ['a malformed token', (p: Proposal) => get(p.id, 'approve', 'not-a-token'), 400],
    ['an unknown action', (p: Proposal) => get(p.id, 'delete', token(p)), 400],
    [
      'an unknown proposal',
      (p: Proposal) => get('p-nothing', 'approve', token({ ...p, id: 'p-nothing' })),
      404,
    ],
    ['another path', () => ({ ...get('x', 'approve', 't'), path: '/admin' }), 404],
  ])('GET with %s is refused and shows no proposal', async (_name, request, status) => {
    const s = await setup();
    const before = s.store.dump();
    const response = await handleApproval(s.deps, request(s.proposal));
    expect(response.statusCode).toBe(status);
    expect(response.html).not.toContain(s.proposal.scope.principalArn);
    expect(response.html).not.toContain('<form');
    expect(s.store.dump()).toBe(before);
  });
});

describe('refused POSTs change nothing', () => {
  it.each([
    [
      'a forged signature',
      (p: Proposal) => post(p.id, 'approve', token(p, {}, Buffer.from('forged-secret-0123456789abcdefgh'))),
      403,
    ],
    [
      "another proposal's token",
      (p: Proposal) => post(p.id, 'approve', token(p, { proposalId: 'p-other' })),
      403,
    ],
    ['a malformed token', (p: Proposal) => post(p.id, 'approve', `${token(p)}.x`), 400],
    ['no form', (p: Proposal) => ({ ...post(p.id, 'approve', ''), form: null }), 400],
  ])(
    '%s: nothing is written at all (an unauthenticated caller cannot grow the record)',
    async (_name, request, status) => {
      const s = await setup();
      const before = s.store.dump();
      const response = await handleApproval(s.deps, request(s.proposal));
      expect(response.statusCode).toBe(status);
      expect(s.store.dump()).toBe(before);
      expect(accountWrites(s.account)).toEqual([]);
      expect(s.publisher.sent).toHaveLength(0);
      expect(s.warnings.length + (status === 400 ? 1 : 0)).toBeGreaterThan(0);
    },
  );

  it.each([
    [
      'a token for another action',
      (p: Proposal) => post(p.id, 'approve', token(p, { action: 'reject' })),
      403,
      'the token is for reject',
    ],
    [
      'a tampered plan hash',
      (p: Proposal) => post(p.id, 'approve', token(p, { planHash: '0'.repeat(64) })),
      403,
      'the token is for another version of the change',
    ],
    [
      'an expired token',
      (p: Proposal) => post(p.id, 'approve', token(p, { expiresAt: NOW_S })),
      410,
      'the link has expired',
    ],
    [
      'revoke of a pending proposal',
      (p: Proposal) => post(p.id, 'revoke', token(p, { action: 'revoke' })),
      409,
      'the proposal is pending',
    ],
  ])('%s: refused, status and account unchanged, one audit line', async (_name, request, status, detail) => {
    const s = await setup();
    const response = await handleApproval(s.deps, request(s.proposal));
    expect(response.statusCode).toBe(status);
    const after = s.store.proposals.get(s.proposal.id);
    expect(after?.status).toBe('pending');
    expect(after?.audit).toEqual([
      expect.objectContaining({
        actor: 'approval-link',
        outcome: 'refused',
        detail,
        sourceIp: '203.0.113.9',
        userAgent: 'test-browser',
      }),
    ]);
    const { audit: _a, ...rest } = after as Proposal;
    const { audit: _b, ...original } = s.proposal;
    expect(rest).toEqual(original);
    expect(accountWrites(s.account)).toEqual([]);
    expect(s.publisher.sent).toHaveLength(0);
  });

  it('other methods are refused', async () => {
    const s = await setup();
    const response = await handleApproval(s.deps, {
      ...post(s.proposal.id, 'approve', token(s.proposal)),
      method: 'PUT',
    });
    expect(response.statusCode).toBe(405);
    expect(accountWrites(s.account)).toEqual([]);
  });
});

describe('approve', () => {
  it('moves pending -> applying, applies, notifies approved-applied with a revoke link, audits the click', async () => {
    const s = await setup();
    const response = await handleApproval(s.deps, post(s.proposal.id, 'approve', token(s.proposal)));
    expect(response.statusCode).toBe(200);
    expect(response.html).toContain('Applied');
    expect(response.html).toContain('five minutes');
    expect(grantsIn(s.account)).toBe(1);
    expect(accountWrites(s.account)).toEqual(['kms:CreateGrant']);
    const after = s.store.proposals.get(s.proposal.id);
    expect(after?.status).toBe('applied');
    const person = { sourceIp: '203.0.113.9', userAgent: 'test-browser' };
    expect(after?.audit[0]).toEqual({
      at: NOW.toISOString(),
      actor: 'approval-link',
      action: 'approve',
      outcome: 'accepted',
      ...person,
    });
    // The apply step writes its own line, as the person who approved and from where.
    expect(after?.audit[1]).toMatchObject({ actor: 'approval-link', action: 'apply', ...person });
    expect(s.publisher.kinds()).toEqual(['approved-applied']);
    // A person's approval is not counted toward auto mode's hourly cap.
    expect(await s.store.countAutoAppliesSince(new Date(0), NOW)).toBe(0);
    expect(linkIn(s.publisher.emails[0], 'revoke').href).toMatch(
      new RegExp(`^https://approve\\.example/p/${s.proposal.id}\\?a=revoke&t=`),
    );
  });

  it.each([
    [false, 'failed', []],
    [true, 'applied', ['kms:PutKeyPolicy']],
  ])('a key-policy change with key-policy changes enabled: %s is %s', async (keyPolicy, status, writes) => {
    const s = await setup({ prefer: 'key-policy-statement' });
    expect(s.proposal.plan?.mechanism).toBe('key-policy-statement');
    s.deps.settings.enabledMechanisms = keyPolicy
      ? ['kms-grant', 'iam-inline-policy', 'key-policy-statement']
      : ['kms-grant', 'iam-inline-policy'];
    await handleApproval(s.deps, post(s.proposal.id, 'approve', token(s.proposal)));
    expect(s.store.proposals.get(s.proposal.id)?.status).toBe(status);
    expect(accountWrites(s.account)).toEqual(writes);
  });

  it('ten simultaneous approvals apply once; the nine others are refused and audited', async () => {
    const s = await setup();
    const t = token(s.proposal);
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => handleApproval(s.deps, post(s.proposal.id, 'approve', t))),
    );
    expect(grantsIn(s.account)).toBe(1);
    expect(s.account.stats()['kms:CreateGrant']).toBe(1);
    expect(responses.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(responses.filter((r) => r.statusCode === 409)).toHaveLength(9);
    const audit = s.store.proposals.get(s.proposal.id)?.audit ?? [];
    expect(audit.filter((a) => a.action === 'approve' && a.outcome === 'refused')).toHaveLength(9);
    expect(s.publisher.kinds()).toEqual(['approved-applied']);
  });

  it('a replayed approval (the link used again) is refused and applies nothing more', async () => {
    const s = await setup();
    const t = token(s.proposal);
    await handleApproval(s.deps, post(s.proposal.id, 'approve', t));
    const again = await handleApproval(s.deps, post(s.proposal.id, 'approve', t));
    expect(again.statusCode).toBe(409);
    expect(s.account.stats()['kms:CreateGrant']).toBe(1);
  });

  it('a write KMS refuses is shown as failed (the apply step recorded and notified it)', async () => {
    const s = await setup();
    s.account.createGrant = async () => {
      throw new Error('KMS said no');
    };
    const response = await handleApproval(s.deps, post(s.proposal.id, 'approve', token(s.proposal)));
    expect(response.html).toContain('The change failed');
    expect(response.html).toContain('KMS said no');
    expect(s.store.proposals.get(s.proposal.id)?.status).toBe('failed');
    expect(s.publisher.kinds()).toEqual(['failed']);
    expect(grantsIn(s.account)).toBe(0);
  });

  it('a plan that changed is not applied: the page says a new proposal follows', async () => {
    const s = await setup({ prefer: 'key-policy-statement' });
    s.deps.settings.enabledMechanisms = ['kms-grant', 'iam-inline-policy', 'key-policy-statement'];
    // Someone edits the key policy after the plan was made.
    s.account.modify((draft) => {
      const policy = draft.keys.find((k) => k.arn === s.proposal.scope.keyArn)?.policy as
        | { Statement: unknown[] }
        | undefined;
      policy?.Statement.push({
        Sid: 'SomeoneElse',
        Effect: 'Allow',
        Principal: { AWS: s.proposal.scope.principalArn },
        Action: 'kms:DescribeKey',
        Resource: '*',
      });
    });
    const response = await handleApproval(s.deps, post(s.proposal.id, 'approve', token(s.proposal)));
    expect(response.html).toContain('Nothing was applied');
    expect(response.html).toContain('the account changed');
    expect(s.store.proposals.get(s.proposal.id)?.status).toBe('superseded');
    expect(s.publisher.kinds()).toEqual(['proposed']);
    expect(accountWrites(s.account)).toEqual([]);
  });

  it('an apply step that throws gives the proposal back (pending) and rethrows', async () => {
    const s = await setup();
    s.account.getPrincipal = async () => {
      throw new Error('boom');
    };
    await expect(handleApproval(s.deps, post(s.proposal.id, 'approve', token(s.proposal)))).rejects.toThrow(
      'boom',
    );
    const after = s.store.proposals.get(s.proposal.id);
    expect(after?.status).toBe('pending');
    expect(after?.audit.map((a) => a.outcome)).toEqual(['accepted', 'interrupted']);
    expect(accountWrites(s.account)).toEqual([]);
  });
});

describe('reject', () => {
  it('moves pending -> rejected, quiets the fingerprint for the configured time, notifies', async () => {
    const s = await setup();
    s.deps.settings.rejectSuppressHours = 24;
    const response = await handleApproval(
      s.deps,
      post(s.proposal.id, 'reject', token(s.proposal, { action: 'reject' })),
    );
    expect(response.statusCode).toBe(200);
    expect(s.store.proposals.get(s.proposal.id)?.status).toBe('rejected');
    expect(s.store.fingerprints.get(s.proposal.fingerprint)?.liveUntil).toBe('2026-12-04T09:00:00.000Z');
    expect(s.publisher.kinds()).toEqual(['rejected']);
    expect(accountWrites(s.account)).toEqual([]);
    const again = await handleApproval(s.deps, post(s.proposal.id, 'approve', token(s.proposal)));
    expect(again.statusCode).toBe(409);
  });
});

describe('revoke', () => {
  it('revokes an applied proposal with the link its notification carried; a pending one cannot be revoked', async () => {
    const s = await setup();
    const pendingRevoke = await handleApproval(
      s.deps,
      post(s.proposal.id, 'revoke', token(s.proposal, { action: 'revoke' })),
    );
    expect(pendingRevoke.statusCode).toBe(409);
    await handleApproval(s.deps, post(s.proposal.id, 'approve', token(s.proposal)));
    expect(grantsIn(s.account)).toBe(1);
    const t = linkIn(s.publisher.emails[0], 'revoke').searchParams.get('t') ?? '';
    const page = await handleApproval(s.deps, get(s.proposal.id, 'revoke', t));
    expect(page.html).toContain('>Revoke</button>');
    expect(page.html).not.toContain('>Approve</button>');
    const response = await handleApproval(s.deps, post(s.proposal.id, 'revoke', t));
    expect(response.statusCode).toBe(200);
    expect(response.html).toContain('Revoked');
    expect(grantsIn(s.account)).toBe(0);
    expect(s.store.proposals.get(s.proposal.id)?.status).toBe('revoked');
    expect(s.publisher.kinds()).toEqual(['approved-applied', 'revoked']);
    expect((await handleApproval(s.deps, post(s.proposal.id, 'revoke', t))).statusCode).toBe(409);
    expect(
      accountWrites(s.account).filter((call) => call === 'kms:RevokeGrant' || call === 'kms:RetireGrant'),
    ).toHaveLength(1);
  });
});

describe('revoke links: only the approval function`s key, bound to the change as recorded', () => {
  it('a revoke token signed with the decision key (all the remediate function holds) is refused', async () => {
    const s = await setup();
    await handleApproval(s.deps, post(s.proposal.id, 'approve', token(s.proposal)));
    const applied = s.store.proposals.get(s.proposal.id) as Proposal;
    const forged = token(applied, { action: 'revoke' }, SECRET);
    const response = await handleApproval(s.deps, post(s.proposal.id, 'revoke', forged));
    expect(response.statusCode).toBe(403);
    expect(s.store.proposals.get(s.proposal.id)?.status).toBe('applied');
    expect(grantsIn(s.account)).toBe(1);
  });

  it('a genuine revoke token does not undo a record changed since (another grant id, say)', async () => {
    const s = await setup();
    await handleApproval(s.deps, post(s.proposal.id, 'approve', token(s.proposal)));
    const t = linkIn(s.publisher.emails[0], 'revoke').searchParams.get('t') ?? '';
    const applied = s.store.proposals.get(s.proposal.id) as Proposal;
    // The token binds the change as the approval function recorded it.
    expect(token(applied, { action: 'revoke', planHash: applied.planHash ?? '' })).not.toBe(t);
    const changed = {
      ...applied,
      applied: { ...(applied.applied as object), grantId: 'someone-elses' },
    } as Proposal;
    expect(boundHash(changed, 'revoke')).not.toBe(boundHash(applied, 'revoke'));
    s.deps.ports.store.getProposal = async () => changed;
    const response = await handleApproval(s.deps, post(s.proposal.id, 'revoke', t));
    expect(response.statusCode).toBe(403);
    expect(grantsIn(s.account)).toBe(1);
  });
});
