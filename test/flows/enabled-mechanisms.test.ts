/**
 * The deployment's enabled mechanisms (KEYMEND_ENABLED_MECHANISMS) hold wherever a proposal is made or
 * applied: a replacement made at apply time (supersede) that needs a mechanism not enabled is a refusal,
 * and the apply step refuses a plan whose mechanism is not enabled when it runs (the deployment may have
 * changed since the proposal was made), writing nothing, on an approval as in auto mode.
 */
import type { Mechanism } from '../../functions/core/plan';
import type { Proposal } from '../../functions/core/proposal';
import { applyProposal } from '../../functions/flows/apply';
import { type ApprovalDeps, handleApproval } from '../../functions/flows/approve';
import { type RemediateConfig, remediate } from '../../functions/flows/remediate';
import { eventBridgeEvent, STORM_EVENT } from '../helpers/denials';
import { approvalClick, type FlowFixture, flowFixture, linkIn, TEST_CONFIG } from '../helpers/flow-ports';

const CONSUMER = 'arn:aws:iam::111122223333:role/service-role/orders-consumer';
const LINKS = { baseUrl: TEST_CONFIG.approvalUrl, ttlHours: 72 };
/** A deployment that lets keymend write inline policies and nothing else. */
const INLINE_ONLY: RemediateConfig = {
  ...TEST_CONFIG,
  preferMechanism: 'iam-inline-policy',
  enabledMechanisms: ['iam-inline-policy'],
};

function approvalDeps(f: FlowFixture, enabledMechanisms: Mechanism[]): ApprovalDeps {
  return {
    ports: f.ports,
    settings: {
      baseUrl: TEST_CONFIG.approvalUrl,
      enabledMechanisms,
      rejectSuppressHours: 168,
      linkTtlHours: 72,
    },
    log: { info: () => {}, warn: () => {} },
  };
}

/** Approves the first proposal announced, through its link, as a person would. */
function clickApprove(f: FlowFixture, deps: ApprovalDeps) {
  const approve = linkIn(f.outbox[0], 'approve');
  return handleApproval(deps, approvalClick(approve));
}

/** Someone gives the consumer an unrelated inline policy under the name keymend's plan uses. */
function takePolicyName(f: FlowFixture, proposal: Proposal | undefined): void {
  const plan = proposal?.plan;
  if (plan?.mechanism !== 'iam-inline-policy') throw new Error('no inline-policy plan');
  f.account.modify((draft) => {
    const consumer = draft.principals.find((p) => p.arn === CONSUMER);
    if (consumer) {
      consumer.inlinePolicies[plan.policyName] = {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'kinesis:DescribeStreamSummary', Resource: '*' }],
      };
    }
  });
}

describe('supersede: the replacement respects the enabled mechanisms', () => {
  it('an approval whose re-diagnosis needs a mechanism not enabled: the replacement is a refusal, announced as one', async () => {
    const f = flowFixture();
    const proposed = await remediate(f.ports, INLINE_ONLY, eventBridgeEvent(STORM_EVENT));
    expect(proposed.outcome).toBe('proposed');
    const id = proposed.proposalId as string;
    // The inline policy can no longer be written under its name: a grant is what the account needs now.
    takePolicyName(f, f.store.proposals.get(id));

    const page = await clickApprove(f, approvalDeps(f, ['iam-inline-policy']));
    expect(page.statusCode).toBe(200);
    expect(f.writes).toEqual([]);
    expect(f.store.proposals.get(id)?.status).toBe('superseded');
    const replacementId = f.store.fingerprints.get(f.store.proposals.get(id)?.fingerprint ?? '')?.proposalId;
    const replacement = f.store.proposals.get(replacementId ?? '');
    expect(replacement).toMatchObject({ status: 'refused', plan: null, planHash: null });
    expect(replacement?.reason).toMatch(/does not enable kms-grant/);
    expect(replacement?.audit[0]).toMatchObject({ action: 'propose', outcome: 'refuse' });
    expect(f.kinds().at(-1)).toBe('refused');
  });

  it('in auto mode too: the replacement is refused, not proposed, and nothing is written', async () => {
    const f = flowFixture();
    const auto: RemediateConfig = {
      ...INLINE_ONLY,
      mode: 'auto',
      autoApplyPrincipals: ['arn:aws:iam::111122223333:role/*'],
    };
    // The account changes after the proposal is stored, right before auto mode applies it.
    const recordAutoApply = f.store.recordAutoApply.bind(f.store);
    f.store.recordAutoApply = async (proposalId, at) => {
      takePolicyName(f, f.store.proposals.get(proposalId));
      return recordAutoApply(proposalId, at);
    };
    const result = await remediate(f.ports, auto, eventBridgeEvent(STORM_EVENT));
    expect(result.outcome).toBe('refused');
    expect(f.store.proposals.get(result.proposalId as string)).toMatchObject({
      status: 'refused',
      plan: null,
    });
    expect(f.writes).toEqual([]);
  });
});

describe('the apply step: a mechanism not enabled when it runs is refused, nothing written', () => {
  it('an approval after the deployment stopped enabling inline policies: recorded failed, saying why', async () => {
    const f = flowFixture();
    const proposed = await remediate(
      f.ports,
      { ...TEST_CONFIG, preferMechanism: 'iam-inline-policy' },
      eventBridgeEvent(STORM_EVENT),
    );
    const id = proposed.proposalId as string;
    expect(f.store.proposals.get(id)?.plan?.mechanism).toBe('iam-inline-policy');

    const page = await clickApprove(f, approvalDeps(f, ['kms-grant']));
    expect(page.html).toContain('does not enable iam-inline-policy');
    expect(f.writes).toEqual([]);
    const stored = f.store.proposals.get(id);
    expect(stored?.status).toBe('failed');
    expect(stored?.audit.at(-1)).toMatchObject({ action: 'apply', outcome: 'failed' });
    expect(stored?.audit.at(-1)?.detail).toMatch(/mechanism-disabled.*does not enable iam-inline-policy/);
    expect(f.kinds().at(-1)).toBe('failed');
  });

  /** A proposal of `config` (proposing mode), then claimed `pending -> applying` as auto mode claims one. */
  async function autoApplying(f: FlowFixture, config: RemediateConfig): Promise<Proposal> {
    const proposed = await remediate(f.ports, config, eventBridgeEvent(STORM_EVENT));
    const applying = await f.store.transition(
      proposed.proposalId as string,
      'pending',
      'applying',
      {},
      { at: f.ports.now().toISOString(), actor: 'keymend', action: 'auto-apply', outcome: 'started' },
    );
    if (applying === null) throw new Error('not pending');
    return applying;
  }

  it('auto mode: a plan whose mechanism is no longer enabled is refused before any read or write', async () => {
    const f = flowFixture();
    const applying = await autoApplying(f, { ...TEST_CONFIG, preferMechanism: 'iam-inline-policy' });
    expect(applying.plan?.mechanism).toBe('iam-inline-policy');
    const reads = f.reads();
    const result = await applyProposal(f.ports, applying, 'keymend', {
      enabledMechanisms: ['kms-grant'],
      kind: 'auto-applied',
      links: LINKS,
    });
    expect(result).toMatchObject({ outcome: 'failed', reason: expect.stringMatching(/mechanism-disabled/) });
    expect(f.writes).toEqual([]);
    expect(f.reads()).toBe(reads);
    expect(f.store.proposals.get(applying.id)?.status).toBe('failed');
  });

  it('auto mode never applies a key-policy change, even where key-policy changes are enabled', async () => {
    const f = flowFixture();
    const everything: Mechanism[] = ['kms-grant', 'iam-inline-policy', 'key-policy-statement'];
    const applying = await autoApplying(f, {
      ...TEST_CONFIG,
      preferMechanism: 'key-policy-statement',
      enabledMechanisms: everything,
    });
    expect(applying.plan?.mechanism).toBe('key-policy-statement');
    const result = await applyProposal(f.ports, applying, 'keymend', {
      enabledMechanisms: everything,
      kind: 'auto-applied',
      links: LINKS,
    });
    expect(result.outcome).toBe('not-applied');
    expect(f.writes).toEqual([]);
    expect(f.store.proposals.get(applying.id)?.status).toBe('pending');
  });
});
