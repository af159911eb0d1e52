// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} here is IAM policy-variable syntax.
import type { KeyState, PrincipalState } from '../../functions/core/account';
import {
  applyPlan,
  type FixScope,
  INLINE_POLICY_AGGREGATE_LIMIT,
  iamPolicySize,
  KEY_POLICY_BYTE_LIMIT,
  planGrant,
  planInlinePolicy,
  planKeyPolicyStatement,
  scopeProblem,
  scopeViolation,
} from '../../functions/core/plan';
import { ORDERS_KEY as KEY, CONSUMER as ROLE, ORDERS as STREAM } from '../helpers/arns';

const scope: FixScope = {
  principalArn: ROLE,
  keyArn: KEY,
  streamArn: STREAM,
  region: 'us-east-1',
  operation: 'kms:Decrypt',
};
const principal: PrincipalState = { arn: ROLE, inlinePolicies: {}, managedPolicies: {} };
const keyPolicy = {
  Version: '2012-10-17',
  Id: 'key-default-1',
  Statement: {
    Sid: 'Enable IAM User Permissions',
    Effect: 'Allow',
    Principal: { AWS: 'arn:aws:iam::111122223333:root' },
    Action: 'kms:*',
    Resource: '*',
  },
};
const key: KeyState = { arn: KEY, keyManager: 'CUSTOMER', keyState: 'Enabled', policy: keyPolicy };
const kinesisCondition = {
  StringEquals: {
    'kms:ViaService': 'kinesis.us-east-1.amazonaws.com',
    'kms:EncryptionContext:aws:kinesis:arn': STREAM,
  },
};

describe('planGrant', () => {
  it('grants the one operation to the one principal, constrained to the stream', () => {
    expect(planGrant(scope)).toEqual({
      mechanism: 'kms-grant',
      keyArn: KEY,
      granteePrincipal: ROLE,
      operations: ['Decrypt'],
      constraints: { encryptionContextSubset: { 'aws:kinesis:arn': STREAM } },
      name: 'keymend-Decrypt-orders',
    });
  });

  it('keeps grant names within 256 allowed characters', () => {
    const long = planGrant({ ...scope, streamArn: `${STREAM}${'x'.repeat(300)}` }).name;
    expect(long.length).toBe(256);
    expect(long).toMatch(/^[A-Za-z0-9:/_-]+$/);
  });
});

describe('planInlinePolicy', () => {
  it('writes one statement: the action, the key, and the Kinesis conditions', () => {
    const attempt = planInlinePolicy(scope, principal);
    expect(attempt).toEqual({
      ok: true,
      plan: {
        mechanism: 'iam-inline-policy',
        principalArn: ROLE,
        policyName: 'keymend-Decrypt-orders',
        document: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'KeymendDecryptorders',
              Effect: 'Allow',
              Action: 'kms:Decrypt',
              Resource: KEY,
              Condition: kinesisCondition,
            },
          ],
        },
      },
    });
  });

  it('refuses when the inline-policy aggregate would pass IAM limit', () => {
    const big = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'x'.repeat(10_100) }],
    };
    expect(iamPolicySize(big)).toBeLessThan(INLINE_POLICY_AGGREGATE_LIMIT);
    const attempt = planInlinePolicy(scope, { ...principal, inlinePolicies: { big } });
    expect(attempt.ok).toBe(false);
    expect(!attempt.ok && attempt.reason).toMatch(/over IAM's 10240/);
  });

  it("does not count a user's group policies toward the user's own aggregate", () => {
    const big = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'x'.repeat(10_100) }],
    };
    expect(planInlinePolicy(scope, { ...principal, inlinePolicies: { 'group/readers/big': big } }).ok).toBe(
      true,
    );
  });

  it('does not count whitespace toward the aggregate', () => {
    expect(iamPolicySize({ a: 'x y' })).toBe(iamPolicySize({ a: 'xy' }));
  });

  it('refuses to overwrite an inline policy of the same name', () => {
    const attempt = planInlinePolicy(scope, {
      ...principal,
      inlinePolicies: { 'keymend-Decrypt-orders': {} },
    });
    expect(attempt).toEqual({ ok: false, reason: expect.stringContaining('already has an inline policy') });
  });
});

describe('planKeyPolicyStatement', () => {
  it('keeps every existing statement and adds one naming the principal', () => {
    const attempt = planKeyPolicyStatement(scope, key);
    if (!attempt.ok || attempt.plan.mechanism !== 'key-policy-statement')
      throw new Error('expected a key policy plan');
    const { document, statement } = attempt.plan;
    expect(document.Id).toBe('key-default-1');
    expect(document.Statement).toHaveLength(2);
    expect(JSON.stringify(document.Statement[0])).toBe(JSON.stringify(keyPolicy.Statement));
    expect(statement).toEqual({
      Sid: 'KeymendDecryptorders',
      Effect: 'Allow',
      Principal: { AWS: ROLE },
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: kinesisCondition,
    });
  });

  it('refuses a policy that would pass 32 KB', () => {
    const statements = Array.from({ length: 400 }, (_, i) => ({ ...keyPolicy.Statement, Sid: `S${i}` }));
    const attempt = planKeyPolicyStatement(scope, {
      ...key,
      policy: { Version: '2012-10-17', Statement: statements },
    });
    expect(attempt.ok).toBe(false);
    expect(!attempt.ok && attempt.reason).toContain(`over KMS's ${KEY_POLICY_BYTE_LIMIT}`);
  });

  it('keeps a policy without Version without one: adding 2012-10-17 would turn literal variable-like text of existing statements into policy variables', () => {
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html ("policy variables
    // ... only in policies with Version 2012-10-17"; earlier documents read them as literal strings).
    const { Version: _, ...unversioned } = keyPolicy;
    const attempt = planKeyPolicyStatement(scope, { ...key, policy: unversioned });
    if (!attempt.ok || attempt.plan.mechanism !== 'key-policy-statement')
      throw new Error('expected a key policy plan');
    expect(Object.hasOwn(attempt.plan.document, 'Version')).toBe(false);
    expect(Object.keys(attempt.plan.document)).toEqual(['Id', 'Statement']);
  });

  it('reads a policy whose statements are not all objects without throwing (the proof rejects it later)', () => {
    const odd = { Version: '2012-10-17', Statement: [null, 'text', keyPolicy.Statement] };
    expect(planKeyPolicyStatement(scope, { ...key, policy: odd }).ok).toBe(true);
    expect(iamPolicySize(undefined)).toBe(0);
  });

  it('refuses a policy without statements', () => {
    expect(planKeyPolicyStatement(scope, { ...key, policy: { Version: '2012-10-17' } }).ok).toBe(false);
  });
});

describe('scopeProblem and scopeViolation', () => {
  function planned(mechanism: 'grant' | 'inline' | 'key-policy', s: FixScope = scope) {
    if (mechanism === 'grant') return planGrant(s);
    const attempt = mechanism === 'inline' ? planInlinePolicy(s, principal) : planKeyPolicyStatement(s, key);
    if (!attempt.ok) throw new Error(attempt.reason);
    return attempt.plan;
  }

  it.each(['grant', 'inline', 'key-policy'] as const)(
    'accepts the %s plan made for the scope',
    (mechanism) => {
      expect(scopeViolation(planned(mechanism), scope, key)).toBeNull();
    },
  );

  // IAM paths allow '*', '?' and '$' (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html):
  // in a policy they would be wildcards or a variable. None may reach a plan.
  const bad: [string, Partial<FixScope>][] = [
    ['a "*" in the role path', { principalArn: 'arn:aws:iam::111122223333:role/a*/orders-consumer' }],
    ['a variable in the role name', { principalArn: 'arn:aws:iam::111122223333:role/${aws:username}' }],
    ['a session ARN', { principalArn: 'arn:aws:sts::111122223333:assumed-role/orders-consumer/s' }],
    ['a "?" in the key id', { keyArn: `${KEY.slice(0, -1)}?` }],
    ['an alias instead of a key', { keyArn: 'arn:aws:kms:us-east-1:111122223333:alias/orders' }],
    ['a "*" in the stream name', { streamArn: `${STREAM}*` }],
    ['the stream form without stream/', { streamArn: 'arn:aws:kinesis:us-east-1:111122223333:orders' }],
    ['a stream of another Region', { streamArn: STREAM.replace('us-east-1', 'eu-west-1') }],
    ['a Region that is a pattern', { region: 'us-east-?' }],
    ['an operation keymend does not plan', { operation: 'kms:DescribeKey' }],
    ['an operation that is a pattern', { operation: 'kms:Decrypt*' }],
  ];
  it.each(bad)('rejects a scope with %s, for every mechanism', (_name, change) => {
    const wrong = { ...scope, ...change };
    expect(scopeProblem(wrong)).toEqual(expect.any(String));
    expect(scopeViolation(planGrant(wrong), wrong, key)).toEqual(expect.any(String));
  });

  it('rejects a plan for a scope other than the one given', () => {
    const clicks = { ...scope, streamArn: STREAM.replace('orders', 'clicks') };
    for (const mechanism of ['grant', 'inline', 'key-policy'] as const) {
      expect(scopeViolation(planned(mechanism, clicks), scope, key)).toEqual(expect.any(String));
    }
  });
});

describe('applyPlan', () => {
  it('refuses a plan for another principal or key than those given', () => {
    const other = { ...key, arn: KEY.replace('1234abcd', '4321abcd') };
    expect(() => applyPlan(planGrant(scope), principal, other)).toThrow(/the plan changes/);
    const inline = planInlinePolicy(scope, principal);
    if (!inline.ok) throw new Error(inline.reason);
    expect(() =>
      applyPlan(inline.plan, { ...principal, arn: 'arn:aws:iam::111122223333:role/other' }, key),
    ).toThrow(/the plan changes/);
  });

  it('changes copies, never the state it was given', () => {
    const before = structuredClone({ principal, key });
    const grant = applyPlan(planGrant(scope), principal, key);
    expect(grant.key.grants).toHaveLength(1);
    const inline = planInlinePolicy(scope, principal);
    if (!inline.ok) throw new Error(inline.reason);
    expect(Object.keys(applyPlan(inline.plan, principal, key).principal.inlinePolicies)).toEqual([
      'keymend-Decrypt-orders',
    ]);
    expect({ principal, key }).toEqual(before);
  });
});
