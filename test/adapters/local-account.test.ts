/**
 * The in-memory account of `keymend local`: reads as the snapshot reader, writes as AWS would make
 * them (each plan applied through it makes the denied request allowed), and the AWS calls counted.
 */
import { AccountWriteError } from '../../functions/adapters/account-writer';
import { LocalAccount, localApprovalRoleArn } from '../../functions/adapters/local-account';
import { parseSnapshot, SnapshotReader } from '../../functions/adapters/snapshot';
import { InputError, NotKeymendsChangeError } from '../../functions/commons/errors';
import { diagnose } from '../../functions/core/diagnose';
import { gatherState } from '../../functions/core/gather';
import { MECHANISMS, type Mechanism, type Plan } from '../../functions/core/plan';
import { loadAccount, sampleRequest } from '../helpers/proposals';

const ORDERS_KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const MANAGED_KEY = 'arn:aws:kms:us-east-1:111122223333:key/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111';
const ORDERS = 'arn:aws:kinesis:us-east-1:111122223333:stream/orders';
const CONSUMER = 'arn:aws:iam::111122223333:role/service-role/orders-consumer';
const CONSUMER_EVENT = 'consumer-decrypt-denied-service-role.eventbridge.json';

/** Writes a plan as the apply step does, through the AccountWriter port. */
async function applyThrough(account: LocalAccount, plan: Plan): Promise<void> {
  switch (plan.mechanism) {
    case 'kms-grant':
      await account.createGrant({
        keyArn: plan.keyArn,
        name: plan.name,
        granteePrincipal: plan.granteePrincipal,
        operations: [...plan.operations],
        encryptionContextSubset: { ...plan.constraints.encryptionContextSubset },
      });
      return;
    case 'iam-inline-policy':
      await account.putPrincipalPolicy({
        principalArn: plan.principalArn,
        policyName: plan.policyName,
        document: JSON.stringify(plan.document),
      });
      return;
    case 'key-policy-statement':
      await account.putKeyPolicy({ keyArn: plan.keyArn, policy: JSON.stringify(plan.document) });
      return;
  }
}

async function diagnoseThrough(account: LocalAccount, event: string, prefer?: Mechanism) {
  const request = sampleRequest(event);
  return diagnose(request, await gatherState(account, request), prefer ? { prefer } : {});
}

const CASES: [string, Mechanism][] = [
  'consumer-decrypt-denied-service-role.eventbridge.json',
  'producer-generatedatakey-denied.record.json',
  'iam-user-decrypt-denied.record.json',
  'lambda-esm-decrypt-denied.eventbridge.json',
].flatMap((event) => MECHANISMS.map((mechanism): [string, Mechanism] => [event, mechanism]));

describe('applying each plan through LocalAccount', () => {
  it.each(CASES)('%s, %s: the request is allowed afterwards', async (event, mechanism) => {
    const account = new LocalAccount(loadAccount());
    const before = await diagnoseThrough(account, event, mechanism);
    expect(before.verdict).toBe('propose');
    if (before.verdict !== 'propose') return;
    expect(before.plan.mechanism).toBe(mechanism);
    await applyThrough(account, before.plan);
    const after = await diagnoseThrough(account, event, mechanism);
    expect(after).toMatchObject({ verdict: 'ignore', code: 'already-allowed' });
    // The account is still a valid snapshot, and a fresh reader of it agrees.
    const snapshot = parseSnapshot(account.snapshot());
    const request = sampleRequest(event);
    expect(diagnose(request, await gatherState(new SnapshotReader(snapshot), request))).toMatchObject({
      code: 'already-allowed',
    });
  });
});

describe('writes', () => {
  const grant = {
    keyArn: ORDERS_KEY,
    name: 'keymend-Decrypt-orders',
    granteePrincipal: CONSUMER,
    operations: ['Decrypt'],
    encryptionContextSubset: { 'aws:kinesis:arn': ORDERS },
  };
  const { keyArn: _key, ...expected } = grant;

  it('adds a grant with a KMS-shaped id once, however often it is asked for', async () => {
    const account = new LocalAccount(loadAccount());
    const first = await account.createGrant(grant);
    const second = await account.createGrant(grant);
    expect(first.created).toBe(true);
    expect(first.grantId).toMatch(/^[0-9a-f]{64}$/);
    expect(second).toEqual({ grantId: first.grantId, created: false });
    const key = account.snapshot().keys.find((k) => k.arn === ORDERS_KEY);
    expect(key?.grants).toEqual([
      {
        grantId: first.grantId,
        name: grant.name,
        granteePrincipal: CONSUMER,
        operations: ['Decrypt'],
        constraints: { encryptionContextSubset: { 'aws:kinesis:arn': ORDERS } },
        retiringPrincipal: localApprovalRoleArn(account.accountId),
      },
    ]);
    expect(account.stats()).toEqual({ 'kms:CreateGrant': 1, 'kms:ListGrants': 2 });
  });

  it('creates one grant when ten approvals write it at once', async () => {
    const account = new LocalAccount(loadAccount());
    const results = await Promise.all(Array.from({ length: 10 }, () => account.createGrant(grant)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.grantId)).size).toBe(1);
    expect(account.snapshot().keys.find((k) => k.arn === ORDERS_KEY)?.grants).toHaveLength(1);
  });

  it('retires a grant, after which the denial is back; retiring it again is no error', async () => {
    const account = new LocalAccount(loadAccount());
    const { grantId } = await account.createGrant(grant);
    expect(account.snapshot().keys.find((k) => k.arn === ORDERS_KEY)?.grants?.[0]).toMatchObject({
      retiringPrincipal: localApprovalRoleArn(account.accountId),
    });
    expect(await diagnoseThrough(account, CONSUMER_EVENT)).toMatchObject({ code: 'already-allowed' });
    await account.retireGrant({ keyArn: ORDERS_KEY, grantId, expected });
    await account.retireGrant({ keyArn: ORDERS_KEY, grantId, expected });
    expect(account.snapshot().keys.find((k) => k.arn === ORDERS_KEY)?.grants).toEqual([]);
    expect((await diagnoseThrough(account, CONSUMER_EVENT)).verdict).toBe('propose');
    expect(account.stats()['kms:RetireGrant']).toBe(1);
    expect(account.stats()['kms:RevokeGrant']).toBeUndefined();
  });

  it('retires only keymend`s grant as recorded, and only as its retiring principal', async () => {
    const account = new LocalAccount(loadAccount());
    const { grantId } = await account.createGrant(grant);
    await expect(
      account.retireGrant({ keyArn: ORDERS_KEY, grantId, expected: { ...expected, name: 'other' } }),
    ).rejects.toBeInstanceOf(NotKeymendsChangeError);
    await expect(
      account.retireGrant({
        keyArn: ORDERS_KEY,
        grantId,
        expected: { ...expected, operations: ['Decrypt', 'Encrypt'] },
      }),
    ).rejects.toBeInstanceOf(NotKeymendsChangeError);
    // The same account, written through by another caller: KMS refuses a retire by a non-retiring principal.
    const stranger = new LocalAccount(account.snapshot(), {
      caller: `arn:aws:iam::${account.accountId}:role/admin`,
    });
    await expect(stranger.retireGrant({ keyArn: ORDERS_KEY, grantId, expected })).rejects.toThrow(
      /AccessDeniedException/,
    );
    expect(account.snapshot().keys.find((k) => k.arn === ORDERS_KEY)?.grants).toHaveLength(1);
  });

  it('sets and deletes an inline policy, idempotently', async () => {
    const account = new LocalAccount(loadAccount());
    const document = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: ORDERS_KEY }],
    };
    await account.putPrincipalPolicy({
      principalArn: CONSUMER,
      policyName: 'fix',
      document: JSON.stringify(document),
    });
    expect((await account.getPrincipal(CONSUMER))?.inlinePolicies.fix).toEqual(document);
    await account.deletePrincipalPolicy({ principalArn: CONSUMER, policyName: 'fix' });
    await account.deletePrincipalPolicy({ principalArn: CONSUMER, policyName: 'fix' });
    expect(
      Object.keys(account.snapshot().principals.find((p) => p.arn === CONSUMER)?.inlinePolicies ?? {}),
    ).toEqual(['orders-stream-read']);
    expect(account.stats()).toMatchObject({ 'iam:PutRolePolicy': 1, 'iam:DeleteRolePolicy': 2 });
  });

  it('returns the key policy as it was put, until someone changes it', async () => {
    const account = new LocalAccount(loadAccount());
    const original = JSON.parse(await account.getKeyPolicy(ORDERS_KEY));
    expect(original).toEqual(loadAccount().keys.find((k) => k.arn === ORDERS_KEY)?.policy);
    const text = JSON.stringify({ ...original, Id: 'written' });
    await account.putKeyPolicy({ keyArn: ORDERS_KEY, policy: text });
    expect(await account.getKeyPolicy(ORDERS_KEY)).toBe(text);
    // A change elsewhere leaves the text; a change of the policy itself shows.
    account.modify((draft) => {
      const principal = draft.principals[0];
      if (principal) principal.tags = { team: 'orders' };
    });
    expect(await account.getKeyPolicy(ORDERS_KEY)).toBe(text);
    account.modify((draft) => {
      const key = draft.keys.find((k) => k.arn === ORDERS_KEY);
      if (key) key.policy = { ...original, Id: 'changed-by-someone' };
    });
    expect(JSON.parse(await account.getKeyPolicy(ORDERS_KEY)).Id).toBe('changed-by-someone');
  });

  it('leaves state read before a write as it was', async () => {
    const account = new LocalAccount(loadAccount());
    const key = await account.getKey(ORDERS_KEY);
    await account.createGrant(grant);
    expect(key?.grants).toEqual([]);
    expect((await account.getKey(ORDERS_KEY))?.grants).toHaveLength(1);
  });

  it.each([
    [
      'a key policy of an AWS managed key',
      (a: LocalAccount) => a.putKeyPolicy({ keyArn: MANAGED_KEY, policy: '{"Statement":[]}' }),
      'AccessDeniedException',
    ],
    [
      'a grant on an AWS managed key',
      (a: LocalAccount) => a.createGrant({ ...grant, keyArn: MANAGED_KEY }),
      'AccessDeniedException',
    ],
    [
      'a grant on an unknown key',
      (a: LocalAccount) => a.createGrant({ ...grant, keyArn: ORDERS_KEY.replace('1234abcd', 'ffffffff') }),
      'NotFoundException',
    ],
    [
      'a key policy that is not JSON',
      (a: LocalAccount) => a.putKeyPolicy({ keyArn: ORDERS_KEY, policy: '{' }),
      'MalformedPolicyDocumentException',
    ],
    [
      'a policy of an unknown role',
      (a: LocalAccount) =>
        a.putPrincipalPolicy({
          principalArn: `${CONSUMER}-gone`,
          policyName: 'p',
          document: '{"Statement":[]}',
        }),
      'NoSuchEntityException',
    ],
    [
      'a policy name IAM refuses',
      (a: LocalAccount) =>
        a.putPrincipalPolicy({
          principalArn: CONSUMER,
          policyName: 'group/g/p',
          document: '{"Statement":[]}',
        }),
      'ValidationError',
    ],
    [
      'a grant of an operation KMS does not know',
      (a: LocalAccount) => a.createGrant({ ...grant, operations: ['Everything'] }),
      'ValidationException',
    ],
  ])('refuses %s as AWS would, changing nothing', async (_, write, name) => {
    const account = new LocalAccount(loadAccount());
    const before = account.snapshot();
    const error = await write(account).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccountWriteError);
    expect(((error as Error).cause as Error).name).toBe(name);
    expect(account.snapshot()).toEqual(before);
  });

  it('refuses a principal ARN that is no role or user before counting a call', async () => {
    const account = new LocalAccount(loadAccount());
    const principalArn = 'arn:aws:sts::111122223333:assumed-role/orders-consumer/s';
    await expect(
      account.putPrincipalPolicy({ principalArn, policyName: 'p', document: '{}' }),
    ).rejects.toThrow(InputError);
    expect(account.stats()).toEqual({});
  });
});

describe('reads and their counts', () => {
  it('reads what a SnapshotReader of the same snapshot reads', async () => {
    const snapshot = loadAccount();
    const account = new LocalAccount(snapshot);
    const reader = new SnapshotReader(snapshot);
    const request = sampleRequest(CONSUMER_EVENT);
    expect(await gatherState(account, request)).toEqual(await gatherState(reader, request));
    expect(account.snapshot()).toEqual(parseSnapshot(snapshot));
  });

  it('counts the calls the AWS reader makes for one diagnosis of a role', async () => {
    const account = new LocalAccount(loadAccount());
    await gatherState(account, sampleRequest(CONSUMER_EVENT));
    expect(account.stats()).toEqual({
      'iam:GetRole': 1,
      'iam:GetRolePolicy': 1,
      'iam:ListAccountAliases': 1,
      'iam:ListAttachedRolePolicies': 1,
      'iam:ListRolePolicies': 1,
      'kinesis:DescribeStreamSummary': 1,
      'kms:DescribeKey': 1,
      'kms:GetKeyPolicy': 1,
      'kms:ListAliases': 1,
      'kms:ListGrants': 1,
    });
  });

  it('counts a user with a managed policy', async () => {
    const account = new LocalAccount(loadAccount());
    await account.getPrincipal('arn:aws:iam::111122223333:user/alice');
    expect(account.stats()).toEqual({
      'iam:GetPolicy': 1,
      'iam:GetPolicyVersion': 1,
      'iam:GetUser': 1,
      'iam:ListAttachedUserPolicies': 1,
      'iam:ListGroupsForUser': 1,
      'iam:ListUserPolicies': 1,
    });
  });

  it('counts the failed calls for a missing principal and key, and none for another account', async () => {
    const account = new LocalAccount(loadAccount());
    expect(await account.getPrincipal('arn:aws:iam::111122223333:role/nobody')).toBeNull();
    expect(await account.getKey('alias/nothing')).toBeNull();
    expect(await account.getPrincipal('arn:aws:iam::444455556666:role/elsewhere')).toBeNull();
    expect(await account.getKey(ORDERS_KEY.replace('111122223333', '444455556666'))).toBeNull();
    expect(account.stats()).toEqual({
      'iam:GetRole': 1,
      'iam:ListAttachedRolePolicies': 1,
      'iam:ListRolePolicies': 1,
      'kms:DescribeKey': 1,
    });
  });

  it('resolves a key by alias as DescribeKey does', async () => {
    const account = new LocalAccount(loadAccount());
    expect((await account.getKey('alias/orders'))?.arn).toBe(ORDERS_KEY);
  });
});
