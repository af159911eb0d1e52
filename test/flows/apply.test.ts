import type { Mechanism } from '../../functions/core/plan';
import type { Proposal } from '../../functions/core/proposal';
import { type ApplyOptions, applyProposal, revokeProposal } from '../../functions/flows/apply';
import { remediate } from '../../functions/flows/remediate';
import { approvalSigner } from '../helpers/approval';
import { eventBridgeEvent, STORM_EVENT } from '../helpers/denials';
import { type FlowFixture, flowFixture, linkIn, TEST_CONFIG } from '../helpers/flow-ports';

const CONSUMER = 'arn:aws:iam::111122223333:role/service-role/orders-consumer';
const ORDERS_KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

const OPTIONS: ApplyOptions = {
  enabledMechanisms: ['kms-grant', 'iam-inline-policy', 'key-policy-statement'],
  kind: 'approved-applied',
  links: { baseUrl: TEST_CONFIG.approvalUrl, ttlHours: 72 },
};

/** A pending proposal for the consumer's denial with a plan of `mechanism`, moved to applying as an approval would. */
async function applying(f: FlowFixture, mechanism: Mechanism): Promise<Proposal> {
  const config = {
    ...TEST_CONFIG,
    preferMechanism: mechanism,
    enabledMechanisms: ['kms-grant', 'iam-inline-policy', 'key-policy-statement'] as Mechanism[],
  };
  const result = await remediate(f.ports, config, eventBridgeEvent(STORM_EVENT));
  expect(result.outcome).toBe('proposed');
  const moved = await f.store.transition(
    result.proposalId as string,
    'pending',
    'applying',
    {},
    {
      at: f.ports.now().toISOString(),
      actor: 'approval-link',
      action: 'approve',
      outcome: 'accepted',
    },
  );
  if (!moved || moved.plan?.mechanism !== mechanism) throw new Error(`no ${mechanism} proposal`);
  f.outbox.length = 0;
  f.published.length = 0;
  return moved;
}

const key = (f: FlowFixture) => f.account.snapshot().keys.find((k) => k.arn === ORDERS_KEY);
const consumer = (f: FlowFixture) => f.account.snapshot().principals.find((p) => p.arn === CONSUMER);
/** Adds a statement to the orders key's policy behind keymend's back, as a person would. */
function addKeyStatement(f: FlowFixture, statement: Record<string, unknown>): void {
  f.account.modify((draft) => {
    const policy = draft.keys.find((k) => k.arn === ORDERS_KEY)?.policy as
      | { Statement: unknown[] }
      | undefined;
    policy?.Statement.push(statement);
  });
}

describe('applyProposal', () => {
  it('writes exactly the planned grant, records how to undo it, and notifies', async () => {
    const f = flowFixture();
    const proposal = await applying(f, 'kms-grant');
    // The approval function's signer: it alone holds the key of revoke links.
    f.ports.signer = approvalSigner;
    const result = await applyProposal(f.ports, proposal, 'approval-link', OPTIONS);
    expect(result).toMatchObject({ outcome: 'applied', verified: true });
    const plan = proposal.plan as Extract<Proposal['plan'], { mechanism: 'kms-grant' }>;
    const grant = key(f)?.grants?.find((g) => g.name === plan.name);
    expect(grant).toEqual({
      grantId: expect.any(String),
      name: plan.name,
      granteePrincipal: plan.granteePrincipal,
      operations: plan.operations,
      constraints: plan.constraints,
      retiringPrincipal: f.account.caller,
    });
    const stored = f.store.proposals.get(proposal.id);
    expect(stored?.applied).toEqual({
      mechanism: 'kms-grant',
      keyArn: ORDERS_KEY,
      grantId: grant?.grantId,
      grantName: plan.name,
    });
    expect(stored?.audit.at(-1)?.detail).toMatch(/five minutes/);
    expect(f.store.fingerprints.get(proposal.fingerprint)?.appliedAt).toBe(stored?.appliedAt);
    expect(f.kinds()).toEqual(['approved-applied']);
    expect(linkIn(f.outbox[0], 'revoke').pathname).toBe(`/p/${proposal.id}`);
  });

  it('applied by the remediate function (auto mode), the notification carries no revoke link: it cannot sign one', async () => {
    const f = flowFixture();
    const proposal = await applying(f, 'kms-grant');
    const result = await applyProposal(f.ports, proposal, 'keymend', { ...OPTIONS, kind: 'auto-applied' });
    expect(result.outcome).toBe('applied');
    expect(f.kinds()).toEqual(['auto-applied']);
    expect(() => linkIn(f.outbox[0], 'revoke')).toThrow(/no revoke link/);
    expect(f.store.proposals.get(proposal.id)?.audit.some((a) => a.outcome === 'failed')).toBe(false);
  });

  it('writes exactly the planned inline policy', async () => {
    const f = flowFixture();
    const proposal = await applying(f, 'iam-inline-policy');
    expect((await applyProposal(f.ports, proposal, 'approval-link', OPTIONS)).outcome).toBe('applied');
    const plan = proposal.plan as Extract<Proposal['plan'], { mechanism: 'iam-inline-policy' }>;
    expect(consumer(f)?.inlinePolicies[plan.policyName]).toEqual(plan.document);
    expect(f.writes).toEqual(['putPrincipalPolicy']);
  });

  it('writes exactly the planned key policy, keeping the previous one for revoke', async () => {
    const f = flowFixture();
    const before = structuredClone(key(f)?.policy);
    const proposal = await applying(f, 'key-policy-statement');
    expect((await applyProposal(f.ports, proposal, 'approval-link', OPTIONS)).outcome).toBe('applied');
    const plan = proposal.plan as Extract<Proposal['plan'], { mechanism: 'key-policy-statement' }>;
    expect(key(f)?.policy).toEqual(plan.document);
    const applied = f.store.proposals.get(proposal.id)?.applied;
    expect(applied?.mechanism === 'key-policy-statement' && JSON.parse(applied.previousPolicy)).toEqual(
      before,
    );
  });

  it.each<Mechanism>(['kms-grant', 'iam-inline-policy', 'key-policy-statement'])(
    'a retry after a crash between the write and the record does not write twice (%s)',
    async (mechanism) => {
      const f = flowFixture();
      const proposal = await applying(f, mechanism);
      f.store.crashOnTransitionTo = 'applied';
      await expect(applyProposal(f.ports, proposal, 'approval-link', OPTIONS)).rejects.toThrow(
        /simulated crash/,
      );
      expect(f.writes).toHaveLength(1);
      const retry = await applyProposal(f.ports, proposal, 'approval-link', OPTIONS);
      expect(retry.outcome).toBe('applied');
      expect(f.writes).toHaveLength(1);
      expect(f.store.proposals.get(proposal.id)?.status).toBe('applied');
      expect(key(f)?.grants ?? []).toHaveLength(mechanism === 'kms-grant' ? 1 : 0);
    },
  );

  it('a key policy changed since the plan aborts the write and becomes a new proposal', async () => {
    const f = flowFixture();
    const proposal = await applying(f, 'key-policy-statement');
    addKeyStatement(f, {
      Sid: 'SomeoneElse',
      Effect: 'Allow',
      Principal: { AWS: CONSUMER },
      Action: 'kms:DescribeKey',
      Resource: '*',
    });
    const result = await applyProposal(f.ports, proposal, 'approval-link', OPTIONS);
    expect(result.outcome).toBe('superseded');
    expect(f.writes).toEqual([]);
    expect(f.store.proposals.get(proposal.id)?.status).toBe('superseded');
    if (result.outcome !== 'superseded') return;
    expect(result.replacement.status).toBe('pending');
    expect(result.replacement.planHash).not.toBe(proposal.planHash);
    expect(f.store.fingerprints.get(proposal.fingerprint)?.proposalId).toBe(result.replacement.id);
    expect(f.kinds()).toEqual(['proposed']);
  });

  it('a key policy changed between the re-read and the write is not overwritten', async () => {
    const f = flowFixture();
    const proposal = await applying(f, 'key-policy-statement');
    const getKeyPolicy = f.account.getKeyPolicy.bind(f.account);
    f.account.getKeyPolicy = async (arn) => {
      addKeyStatement(f, {
        Sid: 'Late',
        Effect: 'Deny',
        Principal: '*',
        Action: 'kms:ScheduleKeyDeletion',
        Resource: '*',
      });
      f.account.getKeyPolicy = getKeyPolicy;
      return getKeyPolicy(arn);
    };
    const result = await applyProposal(f.ports, proposal, 'approval-link', OPTIONS);
    expect(result.outcome).toBe('superseded');
    expect(f.writes).toEqual([]);
  });

  it('a key-policy change is never applied outside an approval, even where key-policy changes are enabled', async () => {
    const f = flowFixture();
    const proposal = await applying(f, 'key-policy-statement');
    const result = await applyProposal(f.ports, proposal, 'keymend', { ...OPTIONS, kind: 'auto-applied' });
    expect(result.outcome).toBe('not-applied');
    expect(f.writes).toEqual([]);
    expect(f.store.proposals.get(proposal.id)?.status).toBe('pending');
  });

  it('a request allowed by now is not applied; the proposal goes back to pending with why', async () => {
    const f = flowFixture();
    const proposal = await applying(f, 'kms-grant');
    const fixed = flowFixture('already-fixed.json')
      .account.snapshot()
      .principals.find((p) => p.arn === CONSUMER);
    f.account.modify((draft) => {
      const role = draft.principals.find((p) => p.arn === CONSUMER);
      if (role && fixed) role.inlinePolicies = fixed.inlinePolicies;
    });
    const result = await applyProposal(f.ports, proposal, 'approval-link', OPTIONS);
    expect(result.outcome).toBe('not-applied');
    expect(f.writes).toEqual([]);
    const stored = f.store.proposals.get(proposal.id);
    expect(stored?.status).toBe('pending');
    expect(stored?.audit.at(-1)).toMatchObject({
      outcome: 'not-applied',
      detail: expect.stringMatching(/nothing to apply/),
    });
  });

  it('a failed write is recorded failed and notified', async () => {
    const f = flowFixture();
    const proposal = await applying(f, 'kms-grant');
    f.account.createGrant = async () => {
      throw new Error('LimitExceededException');
    };
    const result = await applyProposal(f.ports, proposal, 'approval-link', OPTIONS);
    expect(result).toMatchObject({ outcome: 'failed', reason: expect.stringMatching(/LimitExceeded/) });
    expect(f.store.proposals.get(proposal.id)?.status).toBe('failed');
    expect(f.kinds()).toEqual(['failed']);
  });

  it('does nothing for a proposal that is not applying', async () => {
    const f = flowFixture();
    const proposal = await applying(f, 'kms-grant');
    const result = await applyProposal(f.ports, { ...proposal, status: 'pending' }, 'approval-link', OPTIONS);
    expect(result.outcome).toBe('conflict');
    expect(f.writes).toEqual([]);
  });
});

describe('revokeProposal', () => {
  async function applied(f: FlowFixture, mechanism: Mechanism): Promise<Proposal> {
    const proposal = await applying(f, mechanism);
    const result = await applyProposal(f.ports, proposal, 'approval-link', OPTIONS);
    if (result.outcome !== 'applied') throw new Error(result.outcome);
    f.outbox.length = 0;
    f.published.length = 0;
    return result.proposal;
  }

  it.each<[Mechanism, string]>([
    ['kms-grant', 'retireGrant'],
    ['iam-inline-policy', 'deletePrincipalPolicy'],
    ['key-policy-statement', 'putKeyPolicy'],
  ])('undoes a %s with %s and restores the account', async (mechanism, undo) => {
    const f = flowFixture();
    const before = f.account.snapshot();
    const proposal = await applied(f, mechanism);
    const result = await revokeProposal(f.ports, proposal, 'approval-link');
    expect(result.outcome).toBe('revoked');
    expect(f.writes.at(-1)).toBe(undo);
    const withoutEmptyGrants = (snapshot: typeof before) => ({
      ...snapshot,
      keys: snapshot.keys.map(({ grants, ...k }) => (grants && grants.length > 0 ? { ...k, grants } : k)),
    });
    expect(withoutEmptyGrants(f.account.snapshot())).toEqual(withoutEmptyGrants(before));
    expect(f.store.proposals.get(proposal.id)?.status).toBe('revoked');
    expect(f.store.fingerprints.get(proposal.fingerprint)?.appliedAt).toBeUndefined();
    expect(f.kinds()).toEqual(['revoked']);
  });

  it('refuses to restore a key policy changed since keymend wrote it, and says why', async () => {
    const f = flowFixture();
    const proposal = await applied(f, 'key-policy-statement');
    addKeyStatement(f, {
      Sid: 'Later',
      Effect: 'Allow',
      Principal: { AWS: CONSUMER },
      Action: 'kms:DescribeKey',
      Resource: '*',
    });
    const writes = f.writes.length;
    const result = await revokeProposal(f.ports, proposal, 'approval-link');
    expect(result).toMatchObject({
      outcome: 'refused',
      reason: expect.stringMatching(/changed since keymend wrote it/),
    });
    expect(f.writes).toHaveLength(writes);
    const stored = f.store.proposals.get(proposal.id);
    expect(stored?.status).toBe('applied');
    expect(stored?.audit.at(-1)).toMatchObject({ action: 'revoke', outcome: 'refused' });
  });

  it('refuses a forged record: another grant id, another policy name, or a policy changed since', async () => {
    // The table is writable by the function that reads events: a record naming someone else's grant
    // must not make the approval function retire it.
    const f = flowFixture();
    const proposal = await applied(f, 'kms-grant');
    const applied0 = proposal.applied as Extract<Proposal['applied'], { mechanism: 'kms-grant' }>;
    f.account.modify((draft) => {
      const key = draft.keys.find((k) => k.arn === applied0.keyArn);
      if (!key) throw new Error('no key');
      key.grants = [
        ...(key.grants ?? []),
        {
          grantId: 'ebs-volume-grant',
          name: 'ebs',
          granteePrincipal: CONSUMER,
          operations: ['Decrypt'],
          retiringPrincipal: f.account.caller,
        },
      ];
    });
    const writes = f.writes.length;
    const forged = { ...proposal, applied: { ...applied0, grantId: 'ebs-volume-grant' } };
    const result = await revokeProposal(f.ports, forged, 'approval-link');
    expect(result).toMatchObject({
      outcome: 'refused',
      reason: expect.stringMatching(/not the one keymend created/),
    });
    expect(f.account.snapshot().keys.find((k) => k.arn === applied0.keyArn)?.grants).toHaveLength(2);
    expect(f.writes.slice(writes)).toEqual(['retireGrant']);

    const g = flowFixture();
    const inline = await applied(g, 'iam-inline-policy');
    const change = inline.applied as Extract<Proposal['applied'], { mechanism: 'iam-inline-policy' }>;
    const renamed = { ...inline, applied: { ...change, policyName: 'AdminGuardrailDeny' } };
    expect(await revokeProposal(g.ports, renamed, 'approval-link')).toMatchObject({ outcome: 'refused' });
    g.account.modify((draft) => {
      const principal = draft.principals.find((p) => p.arn === change.principalArn);
      if (principal) principal.inlinePolicies[change.policyName] = { Version: '2012-10-17', Statement: [] };
    });
    expect(await revokeProposal(g.ports, inline, 'approval-link')).toMatchObject({
      outcome: 'refused',
      reason: expect.stringMatching(/changed since keymend wrote it/),
    });
    expect(g.writes).not.toContain('deletePrincipalPolicy');
    expect(g.store.proposals.get(inline.id)?.status).toBe('applied');
  });

  it('refuses a record whose change does not match its plan: no write, still applied', async () => {
    // A two-sided change recorded on a one-sided plan (or the reverse) has no undo for each of its
    // writes: it is refused as a whole, never recorded revoked with nothing undone.
    const f = flowFixture();
    const proposal = await applied(f, 'key-policy-statement');
    const keySide = proposal.applied as Extract<Proposal['applied'], { mechanism: 'key-policy-statement' }>;
    const callerSide = {
      mechanism: 'iam-inline-policy' as const,
      principalArn: CONSUMER,
      policyName: 'keymend-forged',
    };
    const forged = { ...proposal, applied: { mechanism: 'cross-account' as const, keySide, callerSide } };
    const writes = f.writes.length;
    expect(await revokeProposal(f.ports, forged, 'approval-link')).toMatchObject({
      outcome: 'refused',
      reason: expect.stringMatching(/is not what its plan says/),
    });
    expect(f.writes).toHaveLength(writes);
    expect(f.store.proposals.get(proposal.id)?.status).toBe('applied');
  });

  it('refuses a proposal that is not applied', async () => {
    const f = flowFixture();
    const proposal = await applying(f, 'kms-grant');
    expect((await revokeProposal(f.ports, proposal, 'approval-link')).outcome).toBe('refused');
    expect(f.writes).toEqual([]);
  });
});
