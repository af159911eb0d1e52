/**
 * Claims with a lease: an invocation that is killed (a timeout, an out-of-memory, a lost host) runs no
 * catch and releases nothing. Its claims expire after CLAIM_LEASE_SECONDS, longer than the function may
 * run: Lambda's retry (a minute after the failure) is processed, not taken for a duplicate, and a
 * proposal the killed invocation left `applying` is settled by re-reading the account, never stuck.
 *
 * A killed invocation is simulated by a call that never answers: the flow waits on it for ever, as the
 * frozen and discarded execution environment would.
 */
import { CLAIM_LEASE_SECONDS, FUNCTION_TIMEOUT_SECONDS } from '../../functions/commons/constants';
import type { Proposal } from '../../functions/core/proposal';
import { type ApprovalDeps, handleApproval } from '../../functions/flows/approve';
import { type RemediateConfig, remediate } from '../../functions/flows/remediate';
import { eventBridgeEvent, STORM_EVENT } from '../helpers/denials';
import { approvalClick, type FlowFixture, flowFixture, linkIn, TEST_CONFIG } from '../helpers/flow-ports';

const AUTO: RemediateConfig = {
  ...TEST_CONFIG,
  mode: 'auto',
  autoApplyPrincipals: ['arn:aws:iam::111122223333:role/*'],
};
/** When Lambda retries a failed asynchronous invocation: a minute after it timed out. */
const RETRY_AFTER_MS = (FUNCTION_TIMEOUT_SECONDS.remediate + 60) * 1000;

/** A call that never answers, and a way to wait until the flow is stuck in it. */
function hang(): { call: () => Promise<never>; reached: () => Promise<void> } {
  let stuck = false;
  return {
    call: () => {
      stuck = true;
      return new Promise<never>(() => {});
    },
    reached: async () => {
      for (let turn = 0; !stuck; turn++) {
        if (turn === 10_000) throw new Error('the flow never reached the hanging call');
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
  };
}

function proposalsOf(f: FlowFixture): Proposal[] {
  return [...f.store.proposals.values()];
}

describe('claims with a lease', () => {
  it('the lease outlasts the function, and ends before Lambda retries it', () => {
    expect(CLAIM_LEASE_SECONDS).toBeGreaterThan(FUNCTION_TIMEOUT_SECONDS.remediate);
    expect(CLAIM_LEASE_SECONDS).toBeGreaterThan(FUNCTION_TIMEOUT_SECONDS.approval);
    expect(CLAIM_LEASE_SECONDS * 1000).toBeLessThan(RETRY_AFTER_MS);
  });

  it('an invocation killed while diagnosing frees the event and the fingerprint: the retry proposes', async () => {
    const f = flowFixture();
    const event = eventBridgeEvent(STORM_EVENT);
    const getPrincipal = f.account.getPrincipal.bind(f.account);
    const killed = hang();
    f.account.getPrincipal = killed.call;
    void remediate(f.ports, TEST_CONFIG, structuredClone(event));
    await killed.reached();
    f.account.getPrincipal = getPrincipal;

    // While the claim holds, a second delivery is a duplicate.
    f.advance(1000);
    expect(await remediate(f.ports, TEST_CONFIG, structuredClone(event))).toMatchObject({
      outcome: 'duplicate',
    });
    // Lambda's retry comes after the lease: the event and the fingerprint are free.
    f.advance(RETRY_AFTER_MS);
    const retry = await remediate(f.ports, TEST_CONFIG, structuredClone(event));
    expect(retry.outcome).toBe('proposed');
    expect(proposalsOf(f).map((p) => p.status)).toEqual(['pending']);
    expect(f.kinds()).toEqual(['proposed']);
  });

  it('an auto-apply killed after its write leaves the proposal applying; the retry records the write, once', async () => {
    const f = flowFixture();
    const event = eventBridgeEvent(STORM_EVENT);
    const createGrant = f.account.createGrant.bind(f.account);
    const getKey = f.account.getKey.bind(f.account);
    const killed = hang();
    f.account.createGrant = async (args) => {
      const made = await createGrant(args);
      // Killed right after KMS made the grant: the re-read never answers.
      f.account.getKey = killed.call;
      return made;
    };
    void remediate(f.ports, AUTO, structuredClone(event));
    await killed.reached();
    f.account.getKey = getKey;
    expect(proposalsOf(f).map((p) => p.status)).toEqual(['applying']);

    f.advance(RETRY_AFTER_MS);
    const retry = await remediate(f.ports, AUTO, structuredClone(event));
    expect(retry.outcome).toBe('repeat');
    const [settled] = proposalsOf(f);
    expect(settled?.status).toBe('applied');
    expect(settled?.audit.map((a) => `${a.action}:${a.outcome}`)).toEqual(
      expect.arrayContaining(['auto-apply:started', 'reclaim:reclaimed', 'apply:applied']),
    );
    expect(f.writes).toEqual(['createGrant']);
    expect(f.account.stats()['kms:CreateGrant']).toBe(1);
    expect(f.kinds()).toEqual(['auto-applied']);
  });

  it('an approval killed before its write: a click within the lease is refused, one after it settles and applies', async () => {
    const f = flowFixture();
    const proposed = await remediate(f.ports, TEST_CONFIG, eventBridgeEvent(STORM_EVENT));
    const id = proposed.proposalId as string;
    const approve = linkIn(f.outbox[0], 'approve');
    const deps: ApprovalDeps = {
      ports: f.ports,
      settings: {
        baseUrl: TEST_CONFIG.approvalUrl,
        enabledMechanisms: ['kms-grant', 'iam-inline-policy'],
        rejectSuppressHours: 168,
        linkTtlHours: 72,
      },
      log: { info: () => {}, warn: () => {} },
    };
    const click = () => handleApproval(deps, approvalClick(approve));
    const createGrant = f.account.createGrant.bind(f.account);
    const killed = hang();
    f.account.createGrant = killed.call;
    void click();
    await killed.reached();
    f.account.createGrant = createGrant;
    expect(f.store.proposals.get(id)?.status).toBe('applying');

    f.advance((CLAIM_LEASE_SECONDS - 1) * 1000);
    expect((await click()).statusCode).toBe(409);
    expect(f.store.proposals.get(id)?.status).toBe('applying');

    f.advance(1000);
    // Its page offers the decision again (a GET still writes nothing).
    const view = await handleApproval(deps, {
      method: 'GET',
      path: approve.pathname,
      query: { a: 'approve', t: approve.searchParams.get('t') ?? '' },
      form: null,
      sourceIp: '203.0.113.9',
      userAgent: 'test',
    });
    expect(view.html).toContain('>Approve</button>');
    expect(f.store.proposals.get(id)?.status).toBe('applying');
    const page = await click();
    expect(page.statusCode).toBe(200);
    expect(f.store.proposals.get(id)?.status).toBe('applied');
    expect(f.store.proposals.get(id)?.audit.map((a) => `${a.action}:${a.outcome}`)).toEqual(
      expect.arrayContaining(['approve:reclaimed', 'approve:interrupted', 'apply:applied']),
    );
    expect(f.account.stats()['kms:CreateGrant']).toBe(1);
    expect(f.kinds()).toEqual(['proposed', 'approved-applied']);
  });
});
