/** compilePolicy: malformed documents are rejected with a message naming the problem. */

import { PolicyParseError } from '../../functions/core/errors';
import { compilePolicy } from '../../functions/policy/compile';
import type { PolicyLayer } from '../../functions/policy/types';

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
    'exactly one of Action or NotAction',
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
    'NotPrincipal with Allow',
    doc({ ...ok, NotPrincipal: { AWS: '111122223333' } }),
    'resource-based',
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
