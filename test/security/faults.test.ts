/**
 * Faults at every step of the loop. Each port (DynamoDB store, IAM/KMS/Kinesis reads, KMS/IAM writes,
 * SNS, the KMS link signer) is wrapped by a proxy that makes its k-th call fail, for every k a clean run
 * makes, with each of: throttling and a 5xx (the request was refused: nothing happened) and a timeout
 * (the request reached the service and did its work; the answer was lost). Then the event is delivered
 * again, as Lambda's retry does when an invocation throws, or the person clicks again. The invariants:
 * - every invocation either returns an outcome or throws (which is what Lambda retries and, after the
 *   retries, sends to the dead-letter queue): no unhandled rejection, no stuck `applying`;
 * - nothing is half-applied: the account holds keymend's grant exactly when the proposal that the
 *   problem points to is `applied` with it, or is `pending` with an audit entry saying an interrupted
 *   apply may have written it (an approval then records it, writing nothing);
 * - nothing is written twice: at most one grant, ever;
 * - nothing is lost: the problem's live proposal was announced by e-mail, or the failed publish is in
 *   its audit trail.
 */
import type { OutgoingMessage } from '../../functions/core/ports';
import type { Proposal } from '../../functions/core/proposal';
import { applyProposal } from '../../functions/flows/apply';
import { type ApprovalDeps, handleApproval } from '../../functions/flows/approve';
import { type RemediateConfig, type RemediateResult, remediate } from '../../functions/flows/remediate';
import { eventBridgeEvent, otherSession, STORM_EVENT } from '../helpers/denials';
import { approvalClick, type FlowFixture, flowFixture, linkIn, TEST_CONFIG } from '../helpers/flow-ports';

type FaultKind = 'throttling' | 'server-error' | 'timeout';
const KINDS: FaultKind[] = ['throttling', 'server-error', 'timeout'];

/** The AWS service behind each port method, for an error that looks like that service's. */
function serviceOf(port: string, method: string): string {
  if (port === 'store') return 'DynamoDB';
  if (port === 'publisher') return 'SNS';
  if (port === 'signer') return 'KMS';
  if (/Principal|Policy$/.test(method) && method !== 'getKeyPolicy' && method !== 'putKeyPolicy')
    return 'IAM';
  if (method === 'getStream') return 'Kinesis';
  if (method === 'getOrganization') return 'Organizations';
  return 'KMS';
}

/** An error as the AWS SDK throws it after its own retries. */
function awsError(kind: FaultKind, service: string): Error {
  const [name, status] =
    kind === 'throttling'
      ? [service === 'DynamoDB' ? 'ProvisionedThroughputExceededException' : 'ThrottlingException', 400]
      : kind === 'server-error'
        ? [service === 'KMS' ? 'KMSInternalException' : 'InternalFailure', 500]
        : ['TimeoutError', 0];
  const error = new Error(`${service}: injected ${kind}`);
  error.name = name;
  Object.assign(error, {
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  });
  return error;
}

/** Counts every port call and makes the `failAt`-th (from 0) fail with `kind`. */
class Faults {
  calls: string[] = [];
  failAt = -1;
  kind: FaultKind = 'throttling';
  injected: string | null = null;

  wrap<T extends object>(port: string, target: T): T {
    return new Proxy(target, {
      get: (object, prop, receiver) => {
        const value = Reflect.get(object, prop, receiver);
        if (typeof value !== 'function' || typeof prop !== 'string') return value;
        return async (...args: unknown[]) => {
          const n = this.calls.length;
          const name = `${serviceOf(port, prop)} ${port}.${prop}`;
          this.calls.push(name);
          if (n !== this.failAt) return value.apply(object, args);
          this.injected = name;
          const error = awsError(this.kind, serviceOf(port, prop));
          if (this.kind === 'timeout') await value.apply(object, args);
          throw error;
        };
      },
    });
  }
}

interface World {
  f: FlowFixture;
  faults: Faults;
  ports: FlowFixture['ports'];
}

function world(): World {
  const f = flowFixture();
  const faults = new Faults();
  const ports = {
    ...f.ports,
    store: faults.wrap('store', f.store),
    reader: faults.wrap('reader', f.ports.reader),
    writer: faults.wrap('writer', f.ports.writer),
    publisher: faults.wrap('publisher', f.ports.publisher),
    signer: faults.wrap('signer', f.ports.signer),
  };
  return { f, faults, ports };
}

const PROPOSE: RemediateConfig = TEST_CONFIG;
const AUTO: RemediateConfig = {
  ...TEST_CONFIG,
  mode: 'auto',
  autoApplyPrincipals: ['arn:aws:iam::111122223333:role/*'],
};
const EVENT = eventBridgeEvent(STORM_EVENT);

async function settle<T>(run: () => Promise<T>): Promise<{ value: T } | { error: unknown }> {
  try {
    return { value: await run() };
  } catch (error) {
    return { error };
  }
}

/** The CreateGrant calls that reached the account (LocalAccount counts the API calls AWS would see). */
function grantsIn(f: FlowFixture): number {
  return f.account.stats()['kms:CreateGrant'] ?? 0;
}

/** The proposal the problem's fingerprint points to (the one later denials count against). */
function liveProposal(f: FlowFixture): Proposal | undefined {
  const [record] = [...f.store.fingerprints.values()];
  return record?.proposalId ? f.store.proposals.get(record.proposalId) : undefined;
}

function announced(f: FlowFixture, proposal: Proposal): boolean {
  return f.outbox.some((m: OutgoingMessage) => m.message.includes(proposal.id));
}

function auditSays(proposal: Proposal, action: string, outcome: string): boolean {
  return proposal.audit.some((a) => a.action === action && a.outcome === outcome);
}

/** Every (call, kind) a clean run of `scenario` makes, as [k, kind, call name]. */
async function faultPoints(scenario: (w: World) => Promise<unknown>): Promise<[number, FaultKind, string][]> {
  const clean = world();
  await scenario(clean);
  return clean.faults.calls.flatMap((name, k) =>
    KINDS.map((kind) => [k, kind, name] as [number, FaultKind, string]),
  );
}

describe('remediate, propose mode: a fault at any call', () => {
  const scenario = (w: World) => remediate(w.ports, PROPOSE, structuredClone(EVENT));
  let points: [number, FaultKind, string][] = [];
  beforeAll(async () => {
    points = await faultPoints(scenario);
  });

  it('covers every port the loop uses', () => {
    const services = new Set(points.map(([, , name]) => name.split(' ')[0]));
    // KMS: the reads, and the links' MACs (GenerateMac).
    expect(points.some(([, , name]) => name.includes('signer.sign'))).toBe(true);
    expect([...services]).toEqual(expect.arrayContaining(['DynamoDB', 'IAM', 'KMS', 'Kinesis', 'SNS']));
  });

  it('each: the invocation returns or throws; after the retry the problem is proposed and announced once, nothing written', async () => {
    for (const [k, kind, name] of points) {
      const w = world();
      w.faults.failAt = k;
      w.faults.kind = kind;
      const first = await settle(() => scenario(w));
      const label = `${kind} at ${name} (#${k}): ${'error' in first ? `threw ${(first.error as Error).name}` : (first.value as RemediateResult).outcome}`;
      w.faults.failAt = -1;
      if ('error' in first) {
        // Lambda's retry: the same event, delivered again.
        const retry = await scenario(w);
        expect([label, retry.outcome]).toEqual([label, 'proposed']);
      } else {
        expect([label, first.value.outcome]).toEqual([label, 'proposed']);
      }
      const live = liveProposal(w.f);
      expect([label, live?.status]).toEqual([label, 'pending']);
      const proposal = live as Proposal;
      expect([label, announced(w.f, proposal) || auditSays(proposal, 'notify', 'failed')]).toEqual([
        label,
        true,
      ]);
      expect([label, grantsIn(w.f)]).toEqual([label, 0]);
      // Announced at most once: a retry never sends the proposal twice.
      expect([label, w.f.outbox.filter((m) => m.message.includes(proposal.id)).length <= 1]).toEqual([
        label,
        true,
      ]);
      // Later denials of the problem are repeats of the announced proposal.
      w.f.advance(3 * 60_000);
      const later = await remediate(w.ports, PROPOSE, otherSession(EVENT, 1));
      expect([label, later.outcome, later.proposalId]).toEqual([label, 'repeat', proposal.id]);
    }
  });

  it('a notification that fails never loses the proposal: stored, audited, and announced without links when only the signing (KMS GenerateMac) fails', async () => {
    const w = world();
    w.f.failPublishing(true);
    const result = await remediate(w.ports, PROPOSE, structuredClone(EVENT));
    expect(result.outcome).toBe('proposed');
    const stored = w.f.store.proposals.get(result.proposalId as string) as Proposal;
    expect(stored.status).toBe('pending');
    expect(auditSays(stored, 'notify', 'failed')).toBe(true);

    const noSecret = world();
    noSecret.faults.kind = 'server-error';
    noSecret.faults.failAt = (await faultPoints((x) => remediate(x.ports, PROPOSE, structuredClone(EVENT))))
      .map(([k, , name]) => [k, name] as const)
      .find(([, name]) => name.includes('signer.sign'))?.[0] as number;
    const sent = await remediate(noSecret.ports, PROPOSE, structuredClone(EVENT));
    expect(sent.outcome).toBe('proposed');
    expect(noSecret.f.kinds()).toEqual(['proposed']);
    expect(noSecret.f.outbox[0]?.message).toContain(sent.proposalId as string);
    expect(noSecret.f.outbox[0]?.message).not.toMatch(/\/p\//);
  });
});

describe('remediate, auto mode: a fault at any call', () => {
  const scenario = (w: World) => remediate(w.ports, AUTO, structuredClone(EVENT));
  let points: [number, FaultKind, string][] = [];
  beforeAll(async () => {
    points = await faultPoints(scenario);
  });

  it('the clean run applies one grant through the writer', async () => {
    expect(points.some(([, , name]) => name.includes('createGrant'))).toBe(true);
  });

  it('each: never half-applied, never written twice, never unannounced; an approval finishes an interrupted apply without writing', async () => {
    for (const [k, kind, name] of points) {
      const w = world();
      w.faults.failAt = k;
      w.faults.kind = kind;
      const first = await settle(() => scenario(w));
      const label = `${kind} at ${name} (#${k}): ${'error' in first ? `threw ${(first.error as Error).name}` : (first.value as RemediateResult).outcome}`;
      w.faults.failAt = -1;
      if ('error' in first) await scenario(w);
      expect([label, [...w.f.store.proposals.values()].filter((p) => p.status === 'applying')]).toEqual([
        label,
        [],
      ]);
      const live = liveProposal(w.f) as Proposal;
      expect([label, ['applied', 'pending', 'failed'].includes(live?.status)]).toEqual([label, true]);
      expect([label, grantsIn(w.f) <= 1]).toEqual([label, true]);
      expect([label, announced(w.f, live) || auditSays(live, 'notify', 'failed')]).toEqual([label, true]);
      const written = grantsIn(w.f) === 1;
      if (live.status === 'applied') expect([label, written]).toEqual([label, true]);
      if (live.status === 'failed') expect([label, written]).toEqual([label, false]);
      if (live.status === 'pending') {
        if (written) expect([label, auditSays(live, 'auto-apply', 'interrupted')]).toEqual([label, true]);
        // A person approves: the apply step finds any change already written and records it.
        const applying = await w.f.store.transition(
          live.id,
          'pending',
          'applying',
          {},
          {
            at: '',
            actor: 'test',
            action: 'approve',
            outcome: 'accepted',
          },
        );
        const done = await applyProposal(w.ports, applying as Proposal, 'test', {
          enabledMechanisms: ['kms-grant', 'iam-inline-policy'],
          kind: 'approved-applied',
          links: { baseUrl: AUTO.approvalUrl, ttlHours: 72 },
        });
        expect([label, done.outcome, grantsIn(w.f)]).toEqual([label, 'applied', 1]);
      }
    }
  });
});

describe('approval: a fault at any call of an approve POST', () => {
  async function proposed(): Promise<{ w: World; approve: URL }> {
    const w = world();
    const result = await remediate(w.ports, PROPOSE, structuredClone(EVENT));
    expect(result.outcome).toBe('proposed');
    return { w, approve: linkIn(w.f.outbox[0], 'approve') };
  }

  function deps(w: World): ApprovalDeps {
    return {
      ports: w.ports,
      settings: {
        baseUrl: PROPOSE.approvalUrl,
        enabledMechanisms: ['kms-grant', 'iam-inline-policy'],
        rejectSuppressHours: 168,
        linkTtlHours: 72,
      },
      log: { info: () => {}, warn: () => {} },
    };
  }

  const post = (w: World, url: URL) => handleApproval(deps(w), approvalClick(url));

  it('each: the page or a 500; a second click finishes the job; one grant; the outcome recorded and announced', async () => {
    const clean = await proposed();
    const start = clean.w.faults.calls.length;
    await post(clean.w, clean.approve);
    const calls = clean.w.faults.calls.slice(start);
    expect(calls.some((c) => c.includes('createGrant'))).toBe(true);
    for (let i = 0; i < calls.length; i++) {
      for (const kind of KINDS) {
        const { w, approve } = await proposed();
        w.faults.failAt = w.faults.calls.length + i;
        w.faults.kind = kind;
        const first = await settle(() => post(w, approve));
        const label = `${kind} at ${calls[i]} (#${i}): ${'error' in first ? 'a 500' : `page ${first.value.statusCode}`}`;
        w.faults.failAt = -1;
        await post(w, approve); // the person clicks again
        const proposal = liveProposal(w.f) as Proposal;
        expect([label, proposal.status === 'applying']).toEqual([label, false]);
        expect([label, grantsIn(w.f) <= 1]).toEqual([label, true]);
        if (proposal.status === 'applied') {
          expect([label, grantsIn(w.f)]).toEqual([label, 1]);
          expect([
            label,
            w.f.kinds().includes('approved-applied') || auditSays(proposal, 'notify', 'failed'),
          ]).toEqual([label, true]);
        } else {
          // A write refused by KMS is recorded failed and announced; nothing is in the account.
          expect([label, proposal.status, grantsIn(w.f)]).toEqual([label, 'failed', 0]);
          expect([label, w.f.kinds().includes('failed') || auditSays(proposal, 'notify', 'failed')]).toEqual([
            label,
            true,
          ]);
        }
      }
    }
  });
});
