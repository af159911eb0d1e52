/**
 * bindPlan: a plan someone brings is applied only when it is exactly the diagnosis of the account as
 * re-read, and one the deployment enables. Pure: diagnoses of sample denials on snapshots, no mocks.
 */
import { SnapshotReader } from '../../functions/adapters/snapshot';
import type { AccountSnapshot } from '../../functions/core/account';
import { type DiagnoseResult, diagnose } from '../../functions/core/diagnose';
import { gatherState } from '../../functions/core/gather';
import type { Mechanism, Plan } from '../../functions/core/plan';
import { bindPlan, type DeploymentRules } from '../../functions/core/plan-binding';
import { loadSnapshot } from '../helpers/accounts';
import { sampleRequest } from '../helpers/proposals';

const request = sampleRequest();
const GRANTS: DeploymentRules = { enabledMechanisms: ['kms-grant'], inlinePolicyPrincipals: [] };
const ALL: DeploymentRules = {
  enabledMechanisms: ['kms-grant', 'iam-inline-policy', 'key-policy-statement'],
  inlinePolicyPrincipals: ['arn:aws:iam::111122223333:role/service-role/*'],
};

async function diagnosed(account: AccountSnapshot, prefer: Mechanism = 'kms-grant'): Promise<DiagnoseResult> {
  return diagnose(request, await gatherState(new SnapshotReader(account), request), { prefer });
}

async function planOf(prefer: Mechanism): Promise<Plan> {
  const result = await diagnosed(loadSnapshot('demo'), prefer);
  if (result.verdict !== 'propose') throw new Error('the sample is not proposed');
  return result.plan;
}

describe('bindPlan', () => {
  it.each([
    ['kms-grant', GRANTS],
    ['kms-grant', ALL],
    ['iam-inline-policy', ALL],
    ['key-policy-statement', ALL],
  ] as const)('binds a %s plan that is the diagnosis of the account now', async (mechanism, rules) => {
    const plan = await planOf(mechanism);
    const bound = bindPlan(plan, await diagnosed(loadSnapshot('demo'), mechanism), rules);
    expect(bound).toMatchObject({ ok: true, result: { verdict: 'propose', plan } });
  });

  it.each([
    ['iam-inline-policy', GRANTS, 'mechanism-disabled', /does not enable iam-inline-policy/],
    ['key-policy-statement', GRANTS, 'mechanism-disabled', /key-policy change is applied only where/],
    [
      'iam-inline-policy',
      { ...ALL, inlinePolicyPrincipals: ['arn:aws:iam::111122223333:role/other-*'] },
      'principal-not-allowed',
      /only on arn:aws:iam::111122223333:role\/other-\*, not on arn:aws:iam::111122223333:role\/service-role\/orders-consumer/,
    ],
  ] as const)('refuses a %s plan the deployment would not apply', async (mechanism, rules, code, reason) => {
    const plan = await planOf(mechanism);
    const bound = bindPlan(plan, await diagnosed(loadSnapshot('demo'), mechanism), rules);
    expect(bound).toMatchObject({ ok: false, code, reason: expect.stringMatching(reason) });
  });

  it.each([
    ['already-fixed', 'denial-gone'],
    ['explicit-deny', 'explicit-deny'],
    ['boundary', 'boundary-blocks'],
  ])('refuses when the account now (%s) gives no plan: %s', async (snapshot, code) => {
    const plan = await planOf('kms-grant');
    const bound = bindPlan(plan, await diagnosed(loadSnapshot(snapshot)), GRANTS);
    expect(bound).toMatchObject({ ok: false, code });
  });

  it('refuses a plan that differs from the diagnosis, naming each field', async () => {
    const plan = (await planOf('kms-grant')) as Extract<Plan, { mechanism: 'kms-grant' }>;
    const now = await diagnosed(loadSnapshot('demo'));
    const edited = { ...plan, name: 'keymend-other', operations: ['Encrypt'] as [string] };
    const bound = bindPlan(edited, now, GRANTS);
    expect(bound).toEqual({
      ok: false,
      code: 'plan-changed',
      reason:
        'the plan is not the change the account needs now (operations differs; name is keymend-other in the plan, keymend-Decrypt-orders now): diagnose again',
    });
  });

  it('refuses a plan of another mechanism than the account now needs', async () => {
    const inline = await planOf('iam-inline-policy');
    const bound = bindPlan(inline, await diagnosed(loadSnapshot('demo')), ALL);
    expect(bound).toMatchObject({
      ok: false,
      code: 'plan-changed',
      reason: "the account now needs a kms-grant, not the plan's iam-inline-policy: diagnose again",
    });
  });
});
