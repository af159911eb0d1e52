/**
 * Cross-account fixes through the flows (issue 25): the remediate flow reads the caller's account and the
 * key owner's through the AccountDirectory port, as `keymend-<proposal id>`; the two-sided plan is
 * applied key side first, each half through its own account's writer, never half-applied, and revoked
 * together or not at all; auto mode never applies it (it holds a key-policy change).
 */
import { LocalAccount } from '../../functions/adapters/local-account';
import type { AccountDirectory, AccountWriter } from '../../functions/core/ports';
import type { Proposal } from '../../functions/core/proposal';
import {
  type ApplyOptions,
  applyProposal,
  revokeProposal,
  settleInterruptedApply,
} from '../../functions/flows/apply';
import type { FlowContext } from '../../functions/flows/context';
import { type RemediateConfig, remediate } from '../../functions/flows/remediate';
import { loadSnapshot } from '../helpers/accounts';
import { noWriter } from '../helpers/approval';
import { loadEvent } from '../helpers/events';
import { approvalSigner, TEST_CONFIG } from '../helpers/flow-ports';
import { MemoryStore } from '../helpers/memory-store';

const CALLER = '444455556666';
const OWNER = '111122223333';
const KEY = `arn:aws:kms:us-east-1:${OWNER}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const READER = `arn:aws:iam::${CALLER}:role/analytics-reader`;
const EVENT = 'cross-account-decrypt-denied.eventbridge.json';
const LINKS = { baseUrl: 'http://127.0.0.1:8787', ttlHours: 72 };
const CONFIG: RemediateConfig = {
  ...TEST_CONFIG,
  enabledMechanisms: ['kms-grant', 'iam-inline-policy', 'key-policy-statement'],
};

interface Fixture {
  ports: FlowContext;
  store: MemoryStore;
  hub: LocalAccount;
  owner: LocalAccount;
  caller: LocalAccount;
  /** Every access through the directory: `read|write ACCOUNT SESSION`. */
  sessions: string[];
  /** The writes made, as `ACCOUNT method`. */
  writes: string[];
  /** Makes one account's method throw. */
  breakWrite(account: string, method: keyof AccountWriter): void;
  /** Makes one account's method write, then throw as if its answer were lost (a timeout). */
  loseAnswer(account: string, method: keyof AccountWriter): void;
}

/** A hub account of its own with the two member accounts behind the directory, as deployed. */
function fixture(): Fixture {
  const hubSnapshot = loadSnapshot('organization-key-owner');
  hubSnapshot.accountId = '999988887777';
  hubSnapshot.keys = [];
  hubSnapshot.streams = [];
  const hub = new LocalAccount(hubSnapshot);
  const owner = new LocalAccount(loadSnapshot('organization-key-owner'));
  const caller = new LocalAccount(loadSnapshot('organization-caller'));
  const sessions: string[] = [];
  const writes: string[] = [];
  const broken = new Set<string>();
  const lost = new Set<string>();
  const writerOf = (account: LocalAccount): AccountWriter => {
    const recorded =
      <A, R>(name: keyof AccountWriter, call: (args: A) => Promise<R>) =>
      (args: A): Promise<R> => {
        if (broken.has(`${account.accountId} ${name}`)) return Promise.reject(new Error('IAM is down'));
        if (name !== 'getKeyPolicy') writes.push(`${account.accountId} ${name}`);
        if (lost.has(`${account.accountId} ${name}`)) {
          return call(args).then(() => Promise.reject(new Error('timed out')));
        }
        return call(args);
      };
    return {
      createGrant: recorded('createGrant', (a) => account.createGrant(a)),
      retireGrant: recorded('retireGrant', (a) => account.retireGrant(a)),
      putPrincipalPolicy: recorded('putPrincipalPolicy', (a) => account.putPrincipalPolicy(a)),
      deletePrincipalPolicy: recorded('deletePrincipalPolicy', (a) => account.deletePrincipalPolicy(a)),
      getKeyPolicy: recorded('getKeyPolicy', (a: string) => account.getKeyPolicy(a)),
      putKeyPolicy: recorded('putKeyPolicy', (a) => account.putKeyPolicy(a)),
    };
  };
  const members = new Map([
    [OWNER, owner],
    [CALLER, caller],
  ]);
  const accounts: AccountDirectory = {
    organizationId: 'o-a1b2c3d4e5',
    reader(accountId, session) {
      sessions.push(`read ${accountId} ${session}`);
      return members.get(accountId) ?? null;
    },
    writer(accountId, session) {
      sessions.push(`write ${accountId} ${session}`);
      const member = members.get(accountId);
      return member ? writerOf(member) : null;
    },
  };
  const store = new MemoryStore();
  const ports: FlowContext = {
    store,
    reader: hub,
    writer: writerOf(hub),
    accounts,
    publisher: { publish: async () => {} },
    signer: approvalSigner,
    now: () => new Date('2026-12-03T10:00:00.000Z'),
  };
  return {
    ports,
    store,
    hub,
    owner,
    caller,
    sessions,
    writes,
    breakWrite: (account, method) => broken.add(`${account} ${method}`),
    loseAnswer: (account, method) => lost.add(`${account} ${method}`),
  };
}

async function proposed(f: Fixture, config = CONFIG): Promise<Proposal> {
  const result = await remediate(f.ports, config, loadEvent(EVENT));
  expect(result.outcome).toBe('proposed');
  const proposal = await f.store.getProposal(result.proposalId ?? '');
  if (!proposal) throw new Error('not stored');
  return proposal;
}

/** The approval function's first step: the pending proposal moves to applying, as of `at`. */
async function startApplying(f: Fixture, proposal: Proposal, at = '2026-12-03T10:01:00.000Z') {
  const applying = await f.store.transition(
    proposal.id,
    'pending',
    'applying',
    {},
    { at, actor: 'approval-link', action: 'approve', outcome: 'started' },
  );
  if (!applying) throw new Error('not pending');
  return applying;
}

async function approve(f: Fixture, proposal: Proposal, kind: ApplyOptions['kind'] = 'approved-applied') {
  const applying = await startApplying(f, proposal);
  return applyProposal(f.ports, applying, 'approval-link', {
    enabledMechanisms: ['kms-grant', 'iam-inline-policy', 'key-policy-statement'],
    kind,
    links: LINKS,
  });
}

/**
 * An approval whose apply wrote the key side, then ended before the caller side: settled back to
 * pending, as the approval function settles an interrupted apply.
 */
async function interruptedAfterKeySide(
  f: Fixture,
  proposal: Proposal,
  options: ApplyOptions = {
    enabledMechanisms: ['kms-grant', 'iam-inline-policy', 'key-policy-statement'],
    kind: 'approved-applied',
    links: LINKS,
  },
): Promise<Proposal> {
  if (proposal.plan?.mechanism !== 'cross-account') throw new Error('not two-sided');
  await startApplying(f, proposal);
  await f.owner.putKeyPolicy({ keyArn: KEY, policy: JSON.stringify(proposal.plan.keySide.document) });
  const settled = await settleInterruptedApply(
    f.ports,
    proposal.id,
    { actor: 'approval-link', action: 'approve', why: 'the invocation timed out' },
    options,
  );
  expect(settled.status).toBe('pending');
  return settled;
}

/** A key administrator adds a statement of their own to the owner's key policy. */
async function keyAdminEdits(f: Fixture): Promise<void> {
  const policy = JSON.parse(await f.owner.getKeyPolicy(KEY)) as { Statement: unknown[] };
  policy.Statement.push({
    Sid: 'SomeoneElse',
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${OWNER}:root` },
    Action: 'kms:DescribeKey',
    Resource: '*',
  });
  await f.owner.putKeyPolicy({ keyArn: KEY, policy: JSON.stringify(policy) });
}

const inlineNames = (f: Fixture) =>
  Object.keys(f.caller.snapshot().principals.find((p) => p.arn === READER)?.inlinePolicies ?? {}).sort();
const keyStatements = (f: Fixture) =>
  ((f.owner.snapshot().keys[0]?.policy as { Statement: unknown[] } | undefined)?.Statement ?? []).length;

describe('a cross-account denial through the flows', () => {
  it('is one two-sided proposal, read in both member accounts as keymend-<proposal id>', async () => {
    const f = fixture();
    const proposal = await proposed(f);
    expect(proposal.plan).toMatchObject({
      mechanism: 'cross-account',
      keyAccountId: OWNER,
      callerAccountId: CALLER,
      keySide: { mechanism: 'key-policy-statement', keyArn: KEY },
      callerSide: { mechanism: 'iam-inline-policy', principalArn: READER },
    });
    expect(proposal.proof).toMatchObject({ before: 'implicit-deny', after: 'allowed' });
    expect(proposal.proof?.probes.every((p) => p.result !== 'allowed' || p.before === 'allowed')).toBe(true);
    // Each account's alias, read in that account, for people (docs/notifications.md).
    expect([proposal.accountAlias, proposal.keyAccountAlias]).toEqual(['acme-analytics', 'acme-orders-prod']);
    expect(new Set(f.sessions)).toEqual(
      new Set([`read ${CALLER} keymend-${proposal.id}`, `read ${OWNER} keymend-${proposal.id}`]),
    );
    expect(f.writes).toEqual([]);
  });

  it('is applied key side first, each half in its own account, and revoked together, caller side first', async () => {
    const f = fixture();
    const proposal = await proposed(f);
    const applied = await approve(f, proposal);
    expect(applied.outcome).toBe('applied');
    expect(f.writes).toEqual([`${OWNER} putKeyPolicy`, `${CALLER} putPrincipalPolicy`]);
    expect(applied.outcome === 'applied' && applied.verified).toBe(true);
    expect(keyStatements(f)).toBe(3);
    expect(inlineNames(f)).toEqual(['keymend-Decrypt-orders', 'read-orders-stream']);
    expect(f.sessions.filter((s) => s.startsWith('write'))).toEqual([
      `write ${OWNER} keymend-${proposal.id}`,
      `write ${CALLER} keymend-${proposal.id}`,
    ]);
    if (applied.outcome !== 'applied') return;
    const revoked = await revokeProposal(f.ports, applied.proposal, 'approval-link');
    expect(revoked.outcome).toBe('revoked');
    expect(f.writes.slice(2)).toEqual([`${CALLER} deletePrincipalPolicy`, `${OWNER} putKeyPolicy`]);
    expect(keyStatements(f)).toBe(2);
    expect(inlineNames(f)).toEqual(['read-orders-stream']);
    expect(f.hub.snapshot()).toEqual(fixture().hub.snapshot());
  });

  it('is never half-applied: a caller side that fails takes the key side back', async () => {
    const f = fixture();
    const proposal = await proposed(f);
    f.breakWrite(CALLER, 'putPrincipalPolicy');
    const applied = await approve(f, proposal);
    expect(applied.outcome).toBe('failed');
    expect(f.writes).toEqual([`${OWNER} putKeyPolicy`, `${OWNER} putKeyPolicy`]);
    expect(keyStatements(f)).toBe(2);
    expect(f.owner.snapshot()).toEqual(new LocalAccount(loadSnapshot('organization-key-owner')).snapshot());
  });

  it('is never half-applied: a caller side written whose answer was lost is taken back with the key side', async () => {
    const f = fixture();
    const callerBefore = f.caller.snapshot();
    const proposal = await proposed(f);
    f.loseAnswer(CALLER, 'putPrincipalPolicy');
    const applied = await approve(f, proposal);
    expect(applied.outcome).toBe('failed');
    expect(f.writes).toEqual([
      `${OWNER} putKeyPolicy`,
      `${CALLER} putPrincipalPolicy`,
      `${CALLER} deletePrincipalPolicy`,
      `${OWNER} putKeyPolicy`,
    ]);
    expect(f.caller.snapshot()).toEqual(callerBefore);
    expect(f.owner.snapshot()).toEqual(new LocalAccount(loadSnapshot('organization-key-owner')).snapshot());
  });

  it('finishes the same plan when an earlier attempt wrote the key side only', async () => {
    const f = fixture();
    const proposal = await proposed(f);
    const settled = await interruptedAfterKeySide(f, proposal);
    const applied = await approve(f, settled);
    expect(applied.outcome).toBe('applied');
    expect(f.writes).toEqual([`${CALLER} putPrincipalPolicy`]);
  });

  it('re-checks a plan whose key side an earlier attempt wrote before finishing it: a Deny added since refuses it and takes the key side back', async () => {
    const f = fixture();
    const callerBefore = f.caller.snapshot();
    const ownerBefore = f.owner.snapshot();
    const proposal = await interruptedAfterKeySide(f, await proposed(f));
    const deny = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Action: 'kms:Decrypt', Resource: KEY }],
    };
    await f.caller.putPrincipalPolicy({
      principalArn: READER,
      policyName: 'deny-orders-key',
      document: JSON.stringify(deny),
    });
    const applied = await approve(f, proposal);
    expect(applied.outcome).toBe('superseded');
    if (applied.outcome !== 'superseded') return;
    expect(applied.replacement).toMatchObject({ status: 'refused', code: 'explicit-deny' });
    // Only the take-back: the caller side is never written.
    expect(f.writes).toEqual([`${OWNER} putKeyPolicy`]);
    expect(f.owner.snapshot()).toEqual(ownerBefore);
    expect(inlineNames(f)).toEqual(['deny-orders-key', 'read-orders-stream']);
    expect(f.caller.snapshot()).not.toEqual(callerBefore);
    const stored = await f.store.getProposal(proposal.id);
    expect(stored?.status).toBe('superseded');
    expect(stored?.audit.at(-1)).toMatchObject({
      action: 'apply',
      outcome: 'superseded',
      detail: expect.stringMatching(
        /key side an interrupted apply wrote in account 111122223333 .* was taken back/,
      ),
    });
  });

  it('fails, naming what to remove by hand, when the re-check refuses and the key side cannot be taken back', async () => {
    const f = fixture();
    const proposal = await interruptedAfterKeySide(f, await proposed(f));
    await f.caller.putPrincipalPolicy({
      principalArn: READER,
      policyName: 'deny-orders-key',
      document: JSON.stringify({ Statement: [{ Effect: 'Deny', Action: 'kms:Decrypt', Resource: KEY }] }),
    });
    f.breakWrite(OWNER, 'putKeyPolicy');
    const applied = await approve(f, proposal);
    expect(applied).toMatchObject({
      outcome: 'failed',
      reason: expect.stringMatching(
        /explicit-deny.*could not be taken back \(.*IAM is down\): remove statement \S+ from the policy of arn:aws:kms:us-east-1:111122223333:key\/\S+ by hand/,
      ),
    });
    expect(f.writes).toEqual([]);
    expect(inlineNames(f)).toEqual(['deny-orders-key', 'read-orders-stream']);
  });

  it('re-checks what the deployment enables before finishing a half-written plan: refused, the key side taken back', async () => {
    const f = fixture();
    const ownerBefore = f.owner.snapshot();
    const proposal = await proposed(f);
    if (proposal.plan?.mechanism !== 'cross-account') throw new Error('not two-sided');
    const options: ApplyOptions = {
      enabledMechanisms: ['kms-grant', 'key-policy-statement'],
      kind: 'approved-applied',
      links: LINKS,
    };
    // An approval's apply wrote the key side, then its invocation ended: the proposal is settled.
    const settled = await interruptedAfterKeySide(f, proposal, options);
    expect(settled.audit.at(-1)?.detail).toMatch(
      /the key side is written in account 111122223333 .*, the caller side is not/,
    );
    // Approved again after inline policies were turned off: the caller side may not be written now.
    const applying = await startApplying(f, proposal, '2026-12-03T10:02:00.000Z');
    const applied = await applyProposal(f.ports, applying, 'approval-link', options);
    expect(applied).toMatchObject({
      outcome: 'failed',
      reason: expect.stringMatching(/mechanism-disabled.*was taken back/),
    });
    expect(f.writes).toEqual([`${OWNER} putKeyPolicy`]);
    expect(f.owner.snapshot()).toEqual(ownerBefore);
    expect(inlineNames(f)).toEqual(['read-orders-stream']);
  });

  it('neither finishes nor takes back a key side whose key policy changed since the interrupted apply: it says what to remove by hand', async () => {
    const f = fixture();
    const proposal = await interruptedAfterKeySide(f, await proposed(f));
    if (proposal.plan?.mechanism !== 'cross-account') throw new Error('not two-sided');
    // A key administrator adds a statement of their own meanwhile.
    await keyAdminEdits(f);
    const ownerBefore = f.owner.snapshot();
    const applied = await approve(f, proposal);
    expect(applied).toMatchObject({
      outcome: 'failed',
      reason: expect.stringMatching(
        new RegExp(
          `changed since.*remove statement ${proposal.plan.keySide.statement.Sid} from the policy of ${KEY} by hand`,
        ),
      ),
    });
    expect(f.writes).toEqual([]);
    expect(f.owner.snapshot()).toEqual(ownerBefore);
    expect(inlineNames(f)).toEqual(['read-orders-stream']);
  });

  it('never takes back, nor finishes a fix around, the same statement put by a person (no apply was interrupted)', async () => {
    for (const enabledMechanisms of [
      ['kms-grant', 'key-policy-statement'] as const,
      ['kms-grant', 'iam-inline-policy', 'key-policy-statement'] as const,
    ]) {
      const f = fixture();
      const proposal = await proposed(f);
      if (proposal.plan?.mechanism !== 'cross-account') throw new Error('not two-sided');
      // Applied through a team's own pipeline from the printed plan: keymend's statement, by a person.
      await f.owner.putKeyPolicy({ keyArn: KEY, policy: JSON.stringify(proposal.plan.keySide.document) });
      const ownerBefore = f.owner.snapshot();
      const applying = await startApplying(f, proposal);
      const applied = await applyProposal(f.ports, applying, 'approval-link', {
        enabledMechanisms: [...enabledMechanisms],
        kind: 'approved-applied',
        links: LINKS,
      });
      // Inline policies off: refused as they are off. On: the key side is there, so the plan is no
      // longer this one (the caller side alone is proposed anew).
      expect(applied.outcome).toBe(enabledMechanisms.length === 2 ? 'failed' : 'superseded');
      if (applied.outcome === 'failed') expect(applied.reason).not.toMatch(/taken back|by hand/);
      expect(f.writes).toEqual([]);
      expect(f.owner.snapshot()).toEqual(ownerBefore);
    }
  });

  it('is revoked together or not at all: a key policy changed since leaves both halves in place', async () => {
    const f = fixture();
    const applied = await approve(f, await proposed(f));
    if (applied.outcome !== 'applied') throw new Error(applied.outcome);
    await keyAdminEdits(f);
    const writes = f.writes.length;
    const revoked = await revokeProposal(f.ports, applied.proposal, 'approval-link');
    expect(revoked).toMatchObject({
      outcome: 'refused',
      reason: expect.stringMatching(/key policy has changed/),
    });
    expect(f.writes.length).toBe(writes);
    expect(inlineNames(f)).toContain('keymend-Decrypt-orders');
  });

  it('is applied only on an approval that may change key policies: never by auto mode', async () => {
    const f = fixture();
    const auto = { ...CONFIG, mode: 'auto' as const, autoApplyPrincipals: [`arn:aws:iam::${CALLER}:role/*`] };
    const proposal = await proposed(f, auto);
    expect(proposal.status).toBe('pending');
    const notAllowed = await approve(f, proposal, 'auto-applied');
    expect(notAllowed.outcome).toBe('not-applied');
    expect(f.writes).toEqual([]);
  });

  it('is refused, not planned, when key-policy changes are not enabled', async () => {
    const f = fixture();
    const result = await remediate(f.ports, TEST_CONFIG, loadEvent(EVENT));
    expect(result.outcome).toBe('refused');
    expect(result.reason).toMatch(/does not enable key-policy-statement/);
  });
});

describe('a denial within one member account, from the hub', () => {
  it('auto mode applies its grant in that account, through the member writer, as keymend-<proposal id>', async () => {
    const demo = loadSnapshot('demo');
    demo.organization = { id: 'o-a1b2c3d4e5' };
    const member = new LocalAccount(demo);
    const hubSnapshot = loadSnapshot('organization-caller');
    hubSnapshot.accountId = '999988887777';
    hubSnapshot.principals = [];
    const hub = new LocalAccount(hubSnapshot);
    const sessions: string[] = [];
    const store = new MemoryStore();
    const ports: FlowContext = {
      store,
      reader: hub,
      writer: noWriter,
      accounts: {
        organizationId: 'o-a1b2c3d4e5',
        reader: (id, session) => {
          sessions.push(`read ${id} ${session}`);
          return id === OWNER ? member : null;
        },
        writer: (id, session) => {
          sessions.push(`write ${id} ${session}`);
          return id === OWNER ? member : null;
        },
      },
      publisher: { publish: async () => {} },
      signer: approvalSigner,
      now: () => new Date('2026-12-03T10:00:00.000Z'),
    };
    const auto: RemediateConfig = {
      ...TEST_CONFIG,
      mode: 'auto',
      autoApplyPrincipals: [`arn:aws:iam::${OWNER}:role/service-role/*`],
    };
    const result = await remediate(
      ports,
      auto,
      loadEvent('consumer-decrypt-denied-service-role.eventbridge.json'),
    );
    expect(result).toMatchObject({ outcome: 'applied' });
    expect(member.snapshot().keys.flatMap((k) => k.grants ?? [])).toHaveLength(1);
    expect(sessions).toContain(`write ${OWNER} keymend-${result.proposalId}`);
    expect(sessions.every((s) => s.endsWith(`keymend-${result.proposalId}`))).toBe(true);
  });
});
