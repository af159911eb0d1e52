/**
 * What to do about a refusal, from the sample denials diagnosed against the sample accounts: who must
 * act, what to change, and the exact statement where one is needed.
 */

import { SnapshotReader } from '../../functions/adapters/snapshot';
import type { DiagnoseResult } from '../../functions/core/diagnose';
import { diagnose } from '../../functions/core/diagnose';
import { gatherState } from '../../functions/core/gather';
import { intake } from '../../functions/core/intake';
import { type NextStep, nextSteps } from '../../functions/core/next-steps';
import { planInlinePolicy, planKeyPolicyStatement } from '../../functions/core/plan';
import { loadEvent } from '../helpers/events';
import { loadAccount } from '../helpers/proposals';

async function refusal(
  event: string,
  account: string,
): Promise<Extract<DiagnoseResult, { verdict: 'refuse' }>> {
  const intook = intake(loadEvent(event));
  if (!intook.match) throw new Error(`${event}: no match`);
  const snapshot = loadAccount(`${account}.json`);
  const state = await gatherState(new SnapshotReader(snapshot), intook.request);
  const result = diagnose(intook.request, state);
  if (result.verdict !== 'refuse') throw new Error(`${event} on ${account}: ${result.verdict}`);
  return result;
}

const text = (steps: NextStep[]) => steps.map((s) => `${s.who}: ${s.what}`).join('\n');

/** keymend's own inline statement for the same scope, without its Sid. */
function inlineStatement(result: Extract<DiagnoseResult, { verdict: 'refuse' }>) {
  const r = result.request;
  const scope = {
    principalArn: r.principalArn,
    keyArn: r.keyArn ?? '',
    streamArn: r.streamArn ?? '',
    region: r.region,
    operation: r.operation,
  };
  const plan = planInlinePolicy(scope, { arn: r.principalArn, inlinePolicies: {}, managedPolicies: {} });
  if (!plan.ok || plan.plan.mechanism !== 'iam-inline-policy') throw new Error('no inline plan');
  const { Sid: _sid, ...statement } = plan.plan.document.Statement[0] as Record<string, unknown>;
  return { scope, statement };
}

describe('next steps of a refusal', () => {
  it('an explicit deny names the policy, its statement, and who can change it', async () => {
    const result = await refusal('consumer-decrypt-denied-explicit-identity.record.json', 'explicit-deny');
    expect(result.code).toBe('explicit-deny');
    const deny = result.diagnosis?.decidedBy.find((d) => d.statement !== '');
    expect(deny).toBeDefined();
    const [step] = result.nextSteps;
    expect(step?.who).toBe('an IAM administrator of account 111122223333');
    expect(step?.what).toContain(`IAM policy ${deny?.policy}, statement ${deny?.statement}`);
    expect(step?.what).toContain('iam:CreatePolicyVersion');
    expect(step?.statement).toBeUndefined();
  });

  it('an explicit deny in an SCP sends the person to the management account', async () => {
    const result = await refusal('consumer-decrypt-denied-scp.record.json', 'scp-deny');
    const scp = result.diagnosis?.decidedBy.find((d) => d.policyType === 'service-control');
    expect(text(result.nextSteps)).toContain(
      `service control policy (SCP) ${scp?.policy}, statement ${scp?.statement}`,
    );
    expect(result.nextSteps[0]?.who).toContain("organization's management account");
    // The snapshot names the SCP: its id, its name, and where it is attached.
    expect(scp?.policy).toBe('p-kmsguard01 (kms-decrypt-only-security-roles, attached to ou-ab12-11111111)');
    expect(result.reason).toContain('p-kmsguard01');
  });

  it('a boundary refusal shows the exact statement the boundary needs, scoped as keymend would', async () => {
    const result = await refusal('consumer-decrypt-denied-boundary.record.json', 'boundary');
    expect(result.code).toBe('boundary-blocks');
    const [step] = result.nextSteps;
    expect(step?.what).toContain(
      'permissions boundary of arn:aws:iam::111122223333:role/service-role/orders-consumer',
    );
    expect(step?.statement).toEqual(inlineStatement(result).statement);
    expect(step?.statement).toMatchObject({
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: result.request.keyArn,
      Condition: { StringEquals: { 'kms:EncryptionContext:aws:kinesis:arn': result.request.streamArn } },
    });
    expect(JSON.stringify(step?.statement)).not.toContain('*');
  });

  it('a cross-account key says which account must act, with the key-policy statement naming the principal', async () => {
    const result = await refusal('cross-account-decrypt-denied.eventbridge.json', 'cross-account-key-policy');
    expect(result.code).toBe('foreign-key-policy');
    const [step] = result.nextSteps;
    expect(step?.who).toBe("the key's administrators in account 111122223333 (the key's owner)");
    expect(step?.what).toContain('keymend in account 444455556666 cannot');
    const { scope } = inlineStatement(result);
    const planned = planKeyPolicyStatement(scope, {
      arn: scope.keyArn,
      keyManager: 'CUSTOMER',
      keyState: 'Enabled',
      policy: { Statement: [] },
    });
    if (!planned.ok || planned.plan.mechanism !== 'key-policy-statement')
      throw new Error('no key-policy plan');
    const { Sid: _sid, ...statement } = planned.plan.statement;
    expect(step?.statement).toEqual(statement);
    // The caller's IAM already allows it here: no second step asks for it.
    expect(result.diagnosis?.blockingLayers).toEqual(['resource-based']);
    expect(result.nextSteps).toHaveLength(1);
  });

  it('an AWS managed key says what to check instead, and keeps its diagnosis', async () => {
    const result = await refusal('legacy-decrypt-denied-aws-managed-key.record.json', 'demo');
    expect(result.code).toBe('aws-managed-key');
    expect(result.diagnosis).not.toBeNull();
    expect(text(result.nextSteps)).toContain('Look instead for an explicit Deny of kms:Decrypt');
    expect(text(result.nextSteps)).toContain('customer managed key');
    expect(result.nextSteps.some((s) => s.statement)).toBe(false);
  });

  it('an invisible layer says which policies to look at and how to re-run with a fresh snapshot', async () => {
    const result = await refusal('consumer-decrypt-denied-session-policy.record.json', 'demo');
    expect(result.code).toBe('invisible-layer');
    expect(text(result.nextSteps)).toContain('session policy passed when the role was assumed');
    expect(text(result.nextSteps)).toContain('keymend snapshot --out account.json');
  });

  it('an SCP keymend could not read: says where its role may read them, and how a snapshot carries them', async () => {
    const intook = intake(loadEvent('consumer-decrypt-denied-scp.record.json'));
    if (!intook.match) throw new Error('no match');
    const snapshot = loadAccount('demo.json');
    // As the reader leaves them in a member account: ListPoliciesForTarget refused.
    delete snapshot.organization?.serviceControlPolicies;
    const state = await gatherState(new SnapshotReader(snapshot), intook.request);
    const result = diagnose(intook.request, state);
    expect(result).toMatchObject({ verdict: 'refuse', code: 'invisible-layer' });
    if (result.verdict !== 'refuse') return;
    expect(text(result.nextSteps)).toContain(
      'organizations:ListRoots, ListPoliciesForTarget, DescribePolicy) only where its role may, in the management account or a delegated administrator',
    );
    expect(text(result.nextSteps)).toContain('organization.serviceControlPolicies');
  });

  it('every refusal code has at least one step, with who and what', () => {
    const request = {
      eventId: 'e',
      eventTime: '2026-01-01T00:00:00Z',
      accountId: '111122223333',
      region: 'us-east-1',
      operation: 'kms:Decrypt' as const,
      principalArn: 'arn:aws:iam::111122223333:role/r',
      principalType: 'AssumedRole' as const,
      sessionArn: 'arn:aws:sts::111122223333:assumed-role/r/s',
      keyArn: 'arn:aws:kms:us-east-1:111122223333:key/k',
      keyReference: null,
      streamArn: 'arn:aws:kinesis:us-east-1:111122223333:stream/s',
      viaKinesis: true,
      callerAccountId: '111122223333',
      keyAccountId: '111122223333',
      deniedBy: { kind: 'implicit' as const, policyType: null },
      encryptionContext: {},
    };
    const codes = [
      'wrong-account',
      'unsupported-principal',
      'unsupported-operation',
      'malformed-request',
      'principal-not-found',
      'no-stream',
      'key-not-found',
      'aws-managed-key',
      'key-not-enabled',
      'stream-key-mismatch',
      'forged-context',
      'explicit-deny',
      'invisible-layer',
      'boundary-blocks',
      'organization-policy-blocks',
      'key-in-other-account',
      'key-unreadable',
      'invalid-policy',
      'forward-access-session-uncertain',
      'unknowable-condition',
      'foreign-key-policy',
      'outside-organization',
      'no-sufficient-fix',
    ] as const;
    for (const code of codes) {
      const steps = nextSteps({
        code,
        request,
        keyArn: request.keyArn,
        accountId: '111122223333',
        diagnosis: null,
      });
      expect(steps.length).toBeGreaterThan(0);
      for (const step of steps) {
        expect(step.who.length).toBeGreaterThan(5);
        expect(step.what.length).toBeGreaterThan(20);
      }
    }
  });
});
