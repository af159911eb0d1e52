/** compilePolicy: malformed documents are rejected with a message naming the problem. */

import { PolicyParseError } from '../../functions/commons/errors';
import { type CompiledPolicy, compilePolicy } from '../../functions/policy/compile';
import { evaluate } from '../../functions/policy/evaluate';
import type { AuthorizationRequest, PolicyLayer } from '../../functions/policy/types';

const GRAMMAR = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html';
const ok = { Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' };
const doc = (...Statement: unknown[]) => ({ Version: '2012-10-17', Statement });

const rejected: [name: string, document: unknown, layer: PolicyLayer, message: string][] = [
  ['not an object', [ok], 'identity-based', 'must be a JSON object'],
  ['not JSON text', '{"Version":', 'identity-based', 'is not valid JSON'],
  ['an unknown top-level element', { ...doc(ok), Foo: 1 }, 'identity-based', 'unknown element "Foo"'],
  ['an unknown version', { Version: '2020-01-01', Statement: ok }, 'identity-based', 'Version must be'],
  ['no Statement', { Version: '2012-10-17' }, 'identity-based', 'has no Statement'],
  [
    'a bad Effect',
    doc(ok, ok, { ...ok, Effect: 'allow' }),
    'identity-based',
    'Statement[2].Effect must be "Allow" or "Deny"',
  ],
  [
    'both Action and NotAction',
    doc({ ...ok, NotAction: 'kms:Encrypt' }),
    'identity-based',
    'must not have both Action and NotAction',
  ],
  [
    'neither Action nor NotAction',
    doc({ Effect: 'Allow', Resource: '*' }),
    'identity-based',
    'exactly one of Action or NotAction',
  ],
  [
    'an action without a service',
    doc({ ...ok, Action: ['kms:Decrypt', 'Decrypt'] }),
    'identity-based',
    'Statement[0].Action[1] "Decrypt" must be "*" or "service:action"',
  ],
  [
    'no Resource',
    doc({ Effect: 'Allow', Action: 'kms:Decrypt' }),
    'identity-based',
    'must have Resource or NotResource',
  ],
  [
    'both Resource and NotResource',
    doc({ ...ok, NotResource: '*' }),
    'identity-based',
    'both Resource and NotResource',
  ],
  [
    'a Principal in an identity policy',
    doc({ ...ok, Principal: '*' }),
    'identity-based',
    'must not have Principal',
  ],
  ['no Principal in a key policy', doc(ok), 'resource-based', 'must have Principal or NotPrincipal'],
  [
    'an unknown principal type',
    doc({ ...ok, Principal: { Aws: '*' } }),
    'resource-based',
    'unknown principal type "Aws"',
  ],
  [
    'NotPrincipal with Allow in an RCP (a key policy may have one: test/policy/lenient.test.ts)',
    doc({ ...ok, NotPrincipal: { AWS: '111122223333' } }),
    'resource-control',
    'NotPrincipal must be used with "Effect": "Deny"',
  ],
  [
    'an unknown element',
    doc({ ...ok, Condtion: {} }),
    'identity-based',
    'Statement[0] has unknown element "Condtion"',
  ],
  [
    'an unknown operator',
    doc({ ...ok, Condition: { StringEqualz: { 'aws:x': 'a' } } }),
    'identity-based',
    'unknown operator "StringEqualz"',
  ],
  [
    'NullIfExists',
    doc({ ...ok, Condition: { NullIfExists: { 'aws:x': 'true' } } }),
    'identity-based',
    'is not valid',
  ],
  [
    'a Null value that is not a boolean',
    doc({ ...ok, Condition: { Null: { 'aws:x': 'yes' } } }),
    'identity-based',
    'must be "true" or "false"',
  ],
  [
    'an empty value list',
    doc({ ...ok, Condition: { StringEquals: { 'aws:x': [] } } }),
    'identity-based',
    'at least one value',
  ],
  [
    'an object as condition value',
    doc({ ...ok, Condition: { StringEquals: { 'aws:x': { a: 1 } } } }),
    'identity-based',
    'values must be strings',
  ],
  ['a Sid that is not a string', doc({ ...ok, Sid: 1 }), 'identity-based', 'Sid must be a string'],
];

describe('compilePolicy', () => {
  it.each(rejected)(`rejects %s (${GRAMMAR})`, (_name, document, layer, message) => {
    expect(() => compilePolicy(document, 'p', layer)).toThrow(PolicyParseError);
    expect(() => compilePolicy(document, 'p', layer)).toThrow(message);
  });

  it('names the policy in the message', () => {
    expect(() => compilePolicy(doc({ ...ok, Effect: 'Maybe' }), 'orders-inline', 'identity-based')).toThrow(
      'policy orders-inline: Statement[0].Effect must be "Allow" or "Deny"',
    );
  });

  it.each([
    ['a single statement object', { Version: '2012-10-17', Statement: { Sid: 'One', ...ok } }, ['One']],
    ['statements without Sid, by index', doc(ok, ok), ['0', '1']],
    ['a JSON string, as IAM APIs return it', JSON.stringify(doc({ Sid: 'S', ...ok })), ['S']],
  ])('accepts %s', (_name, document, ids) => {
    const policy = compilePolicy(document, 'p', 'identity-based');
    expect(policy.statements.map((s) => s.id)).toEqual(ids);
    expect(policy.statements[0]?.decidedBy).toEqual({
      policyType: 'identity-based',
      policy: 'p',
      statement: ids[0],
    });
  });

  it('lets an SCP statement omit Resource (every resource)', () => {
    const policy = compilePolicy(doc({ Effect: 'Allow', Action: '*' }), 'FullAWSAccess', 'service-control');
    expect(policy.statements[0]?.resources.any).toBe(true);
  });
});

describe('compilePolicy: documents, frozen or not, compile to what they say', () => {
  const freeze = <T>(value: T): T => {
    if (typeof value === 'object' && value !== null) {
      for (const child of Object.values(value)) freeze(child);
      Object.freeze(value);
    }
    return value;
  };
  const allowsGetRecords = () =>
    doc({ Sid: 'Read', Effect: 'Allow', Action: 'kinesis:GetRecords', Resource: '*' });
  const request: AuthorizationRequest = {
    principal: {
      arn: 'arn:aws:iam::111122223333:role/reader',
      accountId: '111122223333',
      type: 'AssumedRole',
    },
    action: 'kinesis:GetRecords',
    resource: 'arn:aws:kinesis:us-east-1:111122223333:stream/orders',
    context: {},
  };
  const decide = (policy: CompiledPolicy) =>
    evaluate(request, { identityPolicies: [policy], resourceAccountId: '111122223333' }).decision;
  const toPutRecord = (d: { Statement: unknown[] }) => {
    (d.Statement[0] as Record<string, unknown>).Action = 'kinesis:PutRecord';
  };

  it.each([
    ['another name', 'other-inline', 'identity-based'],
    ['another layer', 'reader-inline', 'permissions-boundary'],
  ] as const)(
    'compiles the same frozen document under %s with its own name and layer',
    (_what, name, layer) => {
      const frozen = freeze(allowsGetRecords());
      compilePolicy(frozen, 'reader-inline', 'identity-based');
      const again = compilePolicy(frozen, name, layer);
      expect(again.statements[0]?.decidedBy).toEqual({ policyType: layer, policy: name, statement: 'Read' });
    },
  );

  it.each([
    [
      'a changed copy of a frozen document',
      () => freeze(allowsGetRecords()),
      (d: { Statement: unknown[] }) => {
        const copy = structuredClone(d);
        toPutRecord(copy);
        return copy;
      },
    ],
    [
      'a document that is not frozen, changed in place',
      () => allowsGetRecords(),
      (d: { Statement: unknown[] }) => {
        toPutRecord(d);
        return d;
      },
    ],
    [
      'a frozen document whose statements are not, changed in place',
      () => Object.freeze(allowsGetRecords()),
      (d: { Statement: unknown[] }) => {
        toPutRecord(d);
        return d;
      },
    ],
  ])('compiles %s afresh', (_what, make, change) => {
    const original = make();
    expect(decide(compilePolicy(original, 'reader-inline', 'identity-based'))).toBe('allowed');
    const changed = change(original);
    expect(decide(compilePolicy(changed, 'reader-inline', 'identity-based'))).toBe('implicit-deny');
  });
});
