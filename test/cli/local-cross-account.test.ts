/**
 * Issue 25's "done when" for cross-account fixes: `keymend local` with two account snapshots of one
 * organization. A consumer in account 444455556666 denied on a key of account 111122223333 gets one
 * proposal holding both halves (a key-policy statement in the key's account, an inline statement in the
 * caller's), approved through its page, both halves applied to their snapshots, proved by a fresh
 * diagnosis across both accounts, and revoked together; a caller or key owner outside the organization
 * is refused.
 */
import { findForm, openLink, pageText, submitForm } from '../../cli/demo/browser';
import { type LocalRuntime, startLocal } from '../../cli/local/runtime';
import { LocalAccount } from '../../functions/adapters/local-account';
import type { AccountSnapshot } from '../../functions/core/account';
import { diagnose } from '../../functions/core/diagnose';
import { gatherAcross } from '../../functions/core/gather';
import { intake } from '../../functions/core/intake';
import type { OutgoingMessage } from '../../functions/core/ports';
import { loadSnapshot } from '../helpers/accounts';
import { loadEvent } from '../helpers/events';
import { postEvents } from '../helpers/local';

// Starting dynalite and the server takes a few seconds: a generous bound, not a timing assertion.
jest.setTimeout(120_000);

const CALLER = '444455556666';
const OWNER = '111122223333';
const CONSUMER_EVENT = 'cross-account-decrypt-denied.eventbridge.json';
const PRODUCER_EVENT = 'cross-account-producer-generatedatakey-denied.eventbridge.json';
const KEY = `arn:aws:kms:us-east-1:${OWNER}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const READER = `arn:aws:iam::${CALLER}:role/analytics-reader`;

/** The link of `action` for the proposal in the last e-mail that carries one. */
function emailedLink(outbox: OutgoingMessage[], runtime: LocalRuntime, id: string, action: string): string {
  const pattern = new RegExp(`${runtime.url}/p/${id}\\?a=${action}[^\\s"<>]*`);
  const found = outbox
    .filter((m) => m.topic === 'email')
    .map((m) => pattern.exec(m.message)?.[0])
    .filter((link): link is string => link !== undefined);
  const link = found.at(-1);
  if (link === undefined) throw new Error(`no e-mail carries the ${action} link of ${id}`);
  return link;
}

/** What a fresh diagnosis across the accounts as they are now says about `event`. */
async function diagnoseNow(accounts: AccountSnapshot[], event: string) {
  const [home, ...others] = accounts.map((a) => new LocalAccount(a));
  if (!home) throw new Error('no accounts');
  const read = intake(loadEvent(event));
  if (!read.match) throw new Error(read.reason);
  const state = await gatherAcross(
    home,
    (id) => others.find((o) => o.accountId === id) ?? null,
    read.request,
    'o-a1b2c3d4e5',
  );
  return diagnose(read.request, state);
}

describe('keymend local with two accounts: one two-sided proposal', () => {
  let runtime: LocalRuntime;
  beforeAll(async () => {
    runtime = await startLocal({
      snapshot: loadSnapshot('organization-key-owner'),
      others: [loadSnapshot('organization-caller')],
      port: 0,
      log: () => {},
    });
  });
  afterAll(() => runtime.close());

  it('proposes, applies both halves on approval, proves them, and revokes them together', async () => {
    const before = runtime.accounts();
    const [result] = await postEvents(runtime, [loadEvent(CONSUMER_EVENT)]);
    expect(result).toMatchObject({ outcome: 'proposed' });
    const id = result?.proposalId ?? '';

    // One notification names both halves with their accounts.
    const email = runtime.outbox().find((m) => m.topic === 'email' && m.message.includes(`/p/${id}?`));
    expect(email?.message).toContain(`1. in account ${OWNER} (acme-orders-prod) (the key's owner)`);
    expect(email?.message).toContain(`2. in account ${CALLER} (acme-analytics) (the caller's)`);
    expect(email?.message).toContain('kms:PutKeyPolicy (account 111122223333), then iam:PutRolePolicy');

    // The page shows both halves, each with its account; GET changes nothing.
    const page = await openLink(emailedLink(runtime.outbox(), runtime, id, 'approve'));
    expect(page.status).toBe(200);
    const text = pageText(page.html);
    expect(text).toContain(`1. In account ${OWNER} (acme-orders-prod), the key's owner`);
    expect(text).toContain(`2. In account ${CALLER} (acme-analytics), the caller's`);
    expect(runtime.accounts()).toEqual(before);

    const applied = await submitForm(findForm(page, 'Approve'));
    expect(applied.status).toBe(200);
    expect(pageText(applied.html)).toMatch(/Applied/);

    // Both halves are in their own account's snapshot, each exactly the one statement planned.
    const [owner, caller] = runtime.accounts();
    const policy = owner?.keys[0]?.policy as { Statement: Array<Record<string, unknown>> } | undefined;
    const statements = policy?.Statement ?? [];
    expect(statements).toHaveLength(3);
    expect(statements.at(-1)).toEqual({
      Sid: 'KeymendDecryptorders',
      Effect: 'Allow',
      Principal: { AWS: READER },
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: {
        StringEquals: {
          'kms:ViaService': 'kinesis.us-east-1.amazonaws.com',
          'kms:EncryptionContext:aws:kinesis:arn': `arn:aws:kinesis:us-east-1:${OWNER}:stream/orders`,
        },
      },
    });
    const reader = caller?.principals.find((p) => p.arn === READER);
    expect(Object.keys(reader?.inlinePolicies ?? {}).sort()).toEqual([
      'keymend-Decrypt-orders',
      'read-orders-stream',
    ]);
    expect(reader?.inlinePolicies['keymend-Decrypt-orders']).toMatchObject({
      Statement: [{ Action: 'kms:Decrypt', Resource: KEY }],
    });

    // Proved across both accounts: the denied request is allowed now, by nothing else than both halves.
    expect(await diagnoseNow(runtime.accounts(), CONSUMER_EVENT)).toMatchObject({
      verdict: 'ignore',
      code: 'already-allowed',
    });
    const keyHalfOnly = structuredClone(runtime.accounts());
    delete keyHalfOnly[1]?.principals.find((p) => p.arn === READER)?.inlinePolicies['keymend-Decrypt-orders'];
    expect((await diagnoseNow(keyHalfOnly, CONSUMER_EVENT)).verdict).not.toBe('ignore');

    // Revoked together from the applied notification's link: both accounts as they were.
    const revokePage = await openLink(emailedLink(runtime.outbox(), runtime, id, 'revoke'));
    expect(revokePage.status).toBe(200);
    const revoked = await submitForm(findForm(revokePage, 'Revoke'));
    expect(revoked.status).toBe(200);
    expect(pageText(revoked.html)).toMatch(/Revoked/);
    expect(runtime.accounts()).toStrictEqual(before);
  });

  it('proposes the producer in the caller account the same two-sided way', async () => {
    const [result] = await postEvents(runtime, [loadEvent(PRODUCER_EVENT)]);
    expect(result).toMatchObject({ outcome: 'proposed' });
    const email = runtime
      .outbox()
      .find((m) => m.topic === 'email' && m.message.includes(`/p/${result?.proposalId}?`));
    expect(email?.message).toContain('kms:GenerateDataKey');
    expect(email?.message).toContain(`2. in account ${CALLER} (acme-analytics) (the caller's)`);
  });
});

describe('keymend local with two accounts: the organization boundary', () => {
  it.each([
    [
      'the caller',
      'organization-caller',
      /The caller's account 444455556666 is in organization o-zzzzzzzzzz/,
    ],
    [
      'the key owner',
      'organization-key-owner',
      /belongs to account 111122223333, which is in no organization/,
    ],
  ])('refuses a denial when %s is outside the organization', async (_who, outside, reason) => {
    const owner = loadSnapshot('organization-key-owner');
    const caller = loadSnapshot('organization-caller');
    const moved = outside === 'organization-caller' ? caller : owner;
    moved.organization = outside === 'organization-caller' ? { id: 'o-zzzzzzzzzz' } : { id: null };
    // keymend's organization is the first snapshot's: the one not moved.
    const [first, other] = outside === 'organization-caller' ? [owner, caller] : [caller, owner];
    const runtime = await startLocal({ snapshot: first, others: [other], port: 0, log: () => {} });
    try {
      const [result] = await postEvents(runtime, [loadEvent(CONSUMER_EVENT)]);
      expect(result?.outcome).toBe('refused');
      expect(result?.reason).toMatch(reason);
      expect(runtime.accounts()).toEqual([first, other]);
    } finally {
      await runtime.close();
    }
  });

  it("refuses a denial on a key whose owner's snapshot is not given, naming the account to check", async () => {
    const caller = loadSnapshot('organization-caller');
    // Another member of the organization, so keymend runs as a hub; the key owner is not among them.
    const member = loadSnapshot('organization-key-owner');
    member.accountId = '777788889999';
    member.keys = [];
    member.streams = [];
    member.principals = [];
    const runtime = await startLocal({ snapshot: caller, others: [member], port: 0, log: () => {} });
    try {
      const [result] = await postEvents(runtime, [loadEvent(CONSUMER_EVENT)]);
      expect(result?.outcome).toBe('refused');
      expect(result?.reason).toMatch(/belongs to account 111122223333, which is not known to be in it/);
      const email = runtime.outbox().find((m) => m.topic === 'email');
      expect(email?.message).toMatch(/aws organizations describe-account --account-id 111122223333/);
      expect(runtime.accounts()).toEqual([caller, member]);
    } finally {
      await runtime.close();
    }
  });
});
