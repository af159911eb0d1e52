/**
 * The diagnosis across two accounts (issue 25): the caller's account and the key owner's, both readable
 * and writable, give one two-sided plan proved by the evaluator over both accounts' policies; each half
 * scoped as a single-account fix; the organization boundary refuses a caller or key owner outside it.
 */
import { LocalAccount } from '../../functions/adapters/local-account';
import { SnapshotReader } from '../../functions/adapters/snapshot';
import type { AccountSnapshot } from '../../functions/core/account';
import { type DiagnoseResult, diagnose, provePlan } from '../../functions/core/diagnose';
import { gatherAcross } from '../../functions/core/gather';
import { intake } from '../../functions/core/intake';
import type { CrossAccountPlan, Plan } from '../../functions/core/plan';
import type { KinesisKmsRequest } from '../../functions/core/request';
import { loadSnapshot } from '../helpers/accounts';
import { loadEvent } from '../helpers/events';

const ORG = 'o-a1b2c3d4e5';
const CALLER = '444455556666';
const OWNER = '111122223333';

function requestOf(event = 'cross-account-decrypt-denied.eventbridge.json'): KinesisKmsRequest {
  const read = intake(loadEvent(event));
  if (!read.match) throw new Error(read.reason);
  return read.request;
}

/** The state as the flows gather it: the caller's account home, the key owner's behind the directory. */
async function stateOf(
  caller: AccountSnapshot,
  owner: AccountSnapshot | null,
  request = requestOf(),
  organizationId: string | null = ORG,
) {
  const other = owner ? new LocalAccount(owner) : null;
  return gatherAcross(
    new LocalAccount(caller),
    (id) => (other?.accountId === id ? other : null),
    request,
    organizationId,
  );
}

async function twoSided(): Promise<{ result: DiagnoseResult; plan: CrossAccountPlan }> {
  const request = requestOf();
  const result = diagnose(
    request,
    await stateOf(loadSnapshot('organization-caller'), loadSnapshot('organization-key-owner'), request),
  );
  if (result.verdict !== 'propose' || result.plan.mechanism !== 'cross-account') {
    throw new Error(`not two-sided: ${result.reason}`);
  }
  return { result, plan: result.plan };
}

describe('a denial across two accounts keymend can read and change', () => {
  it('is one two-sided plan whose halves are proved together', async () => {
    const { result, plan } = await twoSided();
    expect(plan.keyAccountId).toBe(OWNER);
    expect(plan.callerAccountId).toBe(CALLER);
    expect(result.diagnosis?.blockingLayers.sort()).toEqual(['identity-based', 'resource-based']);
    expect(result.proof).toMatchObject({ before: 'implicit-deny', after: 'allowed' });
    expect(result.proof?.probes.length).toBeGreaterThan(15);
  });

  it("gives a producer's denial the same two halves, for kms:GenerateDataKey and nothing more", async () => {
    const request = requestOf('cross-account-producer-generatedatakey-denied.eventbridge.json');
    const result = diagnose(
      request,
      await stateOf(loadSnapshot('organization-caller'), loadSnapshot('organization-key-owner'), request),
    );
    const producer = `arn:aws:iam::${CALLER}:role/clickstream-producer`;
    const key = `arn:aws:kms:us-east-1:${OWNER}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const context = {
      'kms:ViaService': 'kinesis.us-east-1.amazonaws.com',
      'kms:EncryptionContext:aws:kinesis:arn': `arn:aws:kinesis:us-east-1:${OWNER}:stream/orders`,
    };
    expect(result.verdict).toBe('propose');
    expect(result.plan).toMatchObject({
      mechanism: 'cross-account',
      keyAccountId: OWNER,
      callerAccountId: CALLER,
      keySide: {
        mechanism: 'key-policy-statement',
        keyArn: key,
        statement: {
          Effect: 'Allow',
          Principal: { AWS: producer },
          Action: 'kms:GenerateDataKey',
          Resource: '*',
          Condition: { StringEquals: context },
        },
      },
      callerSide: {
        mechanism: 'iam-inline-policy',
        principalArn: producer,
        policyName: 'keymend-GenerateDataKey-orders',
        document: {
          Statement: [{ Effect: 'Allow', Action: 'kms:GenerateDataKey', Resource: key }],
        },
      },
    });
    expect(result.proof).toMatchObject({ before: 'implicit-deny', after: 'allowed' });
  });

  it('proves neither half alone: each one leaves the request denied', async () => {
    const { plan } = await twoSided();
    const request = requestOf();
    const state = await stateOf(loadSnapshot('organization-caller'), loadSnapshot('organization-key-owner'));
    for (const half of [plan.keySide, plan.callerSide]) {
      const { failure } = provePlan(request, state, half);
      expect(failure).toMatch(/would still be implicit-deny/);
    }
  });

  it.each<[string, (plan: CrossAccountPlan) => Plan]>([
    [
      'a caller side on every key',
      (p) => ({
        ...p,
        callerSide: {
          ...p.callerSide,
          document: {
            ...p.callerSide.document,
            Statement: [{ ...(p.callerSide.document.Statement[0] as object), Resource: '*' }],
          },
        },
      }),
    ],
    [
      'a key side naming the caller account',
      (p) => ({
        ...p,
        keySide: {
          ...p.keySide,
          statement: { ...p.keySide.statement, Principal: { AWS: `arn:aws:iam::${CALLER}:root` } },
        },
      }),
    ],
    [
      'halves in swapped accounts',
      (p) => ({ ...p, keyAccountId: p.callerAccountId, callerAccountId: p.keyAccountId }),
    ],
    ['a third change riding along', (p) => ({ ...p, extra: { mechanism: 'kms-grant' } }) as unknown as Plan],
    [
      'a grant instead of the key-policy statement',
      (p) => ({ ...p, keySide: { mechanism: 'kms-grant' } }) as unknown as Plan,
    ],
  ])('refuses a tampered two-sided plan: %s', async (_what, tamper) => {
    const { plan } = await twoSided();
    const state = await stateOf(loadSnapshot('organization-caller'), loadSnapshot('organization-key-owner'));
    expect(provePlan(requestOf(), state, tamper(plan)).failure).not.toBeNull();
  });

  it('needs only the key side when the caller IAM already allows: a key-policy statement in the owner account', async () => {
    const caller = loadSnapshot('organization-caller');
    const reader = caller.principals.find((p) => p.arn.endsWith('role/analytics-reader'));
    if (!reader) throw new Error('no reader');
    reader.inlinePolicies.decrypt = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'kms:Decrypt', Resource: `arn:aws:kms:us-east-1:${OWNER}:key/*` },
      ],
    };
    const result = diagnose(requestOf(), await stateOf(caller, loadSnapshot('organization-key-owner')));
    expect(result.verdict).toBe('propose');
    expect(result.plan).toMatchObject({
      mechanism: 'key-policy-statement',
      keyArn: expect.stringContaining(OWNER),
    });
  });

  it('keeps the caller-only fix when the key policy already admits the caller account', async () => {
    const owner = loadSnapshot('organization-key-owner');
    const policy = owner.keys[0]?.policy as { Statement: unknown[] };
    policy.Statement.push({
      Sid: 'AnalyticsThroughKinesis',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${CALLER}:root` },
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: { StringEquals: { 'kms:ViaService': 'kinesis.us-east-1.amazonaws.com' } },
    });
    const result = diagnose(requestOf(), await stateOf(loadSnapshot('organization-caller'), owner));
    expect(result.plan).toMatchObject({ mechanism: 'iam-inline-policy' });
  });
});

describe('the organization boundary', () => {
  it('refuses a caller account outside the organization', async () => {
    const caller = loadSnapshot('organization-caller');
    caller.organization = { id: null };
    const result = diagnose(requestOf(), await stateOf(caller, loadSnapshot('organization-key-owner')));
    expect(result).toMatchObject({ verdict: 'refuse', code: 'outside-organization' });
    expect(result.reason).toMatch(/444455556666 is in no organization, not in organization o-a1b2c3d4e5/);
  });

  it('refuses a key owner in another organization, as the caller account sees it', async () => {
    const caller = loadSnapshot('organization-caller');
    caller.organization = { id: ORG, accounts: { [OWNER]: { id: 'o-zzzzzzzzzz' } } };
    const result = diagnose(requestOf(), await stateOf(caller, null));
    expect(result).toMatchObject({ verdict: 'refuse', code: 'outside-organization' });
    expect(result.reason).toMatch(/111122223333, which is in organization o-zzzzzzzzzz/);
  });

  it('refuses a key owner it read whose organization is not known', async () => {
    const owner = loadSnapshot('organization-key-owner');
    delete owner.organization;
    const result = diagnose(requestOf(), await stateOf(loadSnapshot('organization-caller'), owner));
    expect(result).toMatchObject({ verdict: 'refuse', code: 'outside-organization' });
    expect(result.reason).toMatch(/111122223333, which is not known to be in it/);
  });

  it('refuses a key owner it did not read whose organization is not known, naming the account to check', async () => {
    const result = diagnose(requestOf(), await stateOf(loadSnapshot('organization-caller'), null));
    expect(result).toMatchObject({ verdict: 'refuse', code: 'outside-organization' });
    expect(result.reason).toMatch(/111122223333, which is not known to be in it/);
    const steps = result.verdict === 'refuse' ? result.nextSteps : [];
    expect(steps.map((s) => s.what).join(' ')).toMatch(
      /aws organizations describe-account --account-id 111122223333/,
    );
  });

  it("never plans a caller-side fix on a key whose owner's organization is not known", async () => {
    // The caller's view holds the other account's key (a snapshot can: the snapshot reader shows it, as
    // for keymend diagnose --account) and its key policy admits the caller's account, so the caller's IAM
    // alone would fix it. But keymend did not read the key owner's account: it cannot know it is inside.
    const caller = loadSnapshot('organization-caller');
    const view = loadSnapshot('cross-account');
    caller.keys = view.keys;
    caller.streams = view.streams;
    const stateWith = (snapshot: AccountSnapshot) =>
      gatherAcross(new SnapshotReader(snapshot), () => null, requestOf(), ORG);
    const state = await stateWith(caller);
    expect(state.key?.arn).toMatch(/:111122223333:key\//);
    expect(state.writableAccounts).toBeUndefined();
    const result = diagnose(requestOf(), state);
    expect(result).toMatchObject({ verdict: 'refuse', code: 'outside-organization', plan: null });
    // Known to be in the organization (the caller's view names the owner's membership): the fix goes ahead.
    caller.organization = { ...caller.organization, accounts: { [OWNER]: { id: ORG } } };
    const known = diagnose(requestOf(), await stateWith(caller));
    expect(known.plan).toMatchObject({
      mechanism: 'iam-inline-policy',
      principalArn: expect.stringContaining(CALLER),
    });
  });

  it('with one account and no organization deployment, nothing changes', async () => {
    // The snapshot reader shows the other account's key the snapshot holds (keymend diagnose --account).
    const request = requestOf();
    const state = await gatherAcross(
      new SnapshotReader(loadSnapshot('cross-account')),
      () => null,
      request,
      null,
    );
    expect(state.organizationBoundary).toBeUndefined();
    expect(state.writableAccounts).toBeUndefined();
    const result = diagnose(request, state);
    expect(result.plan).toMatchObject({ mechanism: 'iam-inline-policy' });
  });
});
