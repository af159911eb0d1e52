// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} here is IAM policy-variable syntax.
/**
 * Condition operators, one table row per behaviour. Each row evaluates a one-statement identity policy
 * `Allow kms:Decrypt on *` with the row's Condition block against a request context.
 */
import { compilePolicy } from '../../functions/policy/compile';
import { evaluate } from '../../functions/policy/evaluate';
import type { ContextValue, RequestPrincipal } from '../../functions/policy/types';
import { ORDERS_KEY as KEY } from '../helpers/arns';

const OPS =
  'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html';
const MULTI =
  'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html';
const VARS = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html';

const principal: RequestPrincipal = {
  arn: 'arn:aws:iam::111122223333:user/alice',
  accountId: '111122223333',
  type: 'IAMUser',
  username: 'alice',
  tags: { team: 'data' },
};

/** True when the condition block holds for the context (the statement then allows). */
function holds(
  condition: Record<string, unknown>,
  context: Record<string, ContextValue>,
  version = '2012-10-17',
) {
  const policy = compilePolicy(
    {
      Version: version,
      Statement: { Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*', Condition: condition },
    },
    'p',
    'identity-based',
  );
  const keyPolicy = compilePolicy(
    {
      Version: '2012-10-17',
      Statement: { Effect: 'Allow', Principal: { AWS: '111122223333' }, Action: 'kms:*', Resource: '*' },
    },
    'key-policy',
    'resource-based',
  );
  const result = evaluate(
    { principal, action: 'kms:Decrypt', resource: KEY, context },
    { identityPolicies: [policy], resourcePolicy: keyPolicy, resourceAccountId: '111122223333' },
  );
  return result.decision === 'allowed';
}

type Row = [
  doc: string,
  condition: Record<string, unknown>,
  context: Record<string, ContextValue>,
  expected: boolean,
];

const rows: Row[] = [
  // StringEquals reads '*' and '?' as text; StringLike as wildcards. keymend's plans use StringEquals only,
  // so a stream name could never widen them (stream names hold no '*', '?' or '$' anyway).
  [
    OPS,
    {
      StringEquals: {
        'kms:EncryptionContext:aws:kinesis:arn': 'arn:aws:kinesis:us-east-1:111122223333:stream/*',
      },
    },
    { 'kms:EncryptionContext:aws:kinesis:arn': 'arn:aws:kinesis:us-east-1:111122223333:stream/orders' },
    false,
  ],
  [
    OPS,
    {
      StringEquals: {
        'kms:EncryptionContext:aws:kinesis:arn': 'arn:aws:kinesis:us-east-1:111122223333:stream/order?',
      },
    },
    { 'kms:EncryptionContext:aws:kinesis:arn': 'arn:aws:kinesis:us-east-1:111122223333:stream/orders' },
    false,
  ],
  [
    OPS,
    {
      StringLike: {
        'kms:EncryptionContext:aws:kinesis:arn': 'arn:aws:kinesis:us-east-1:111122223333:stream/order?',
      },
    },
    { 'kms:EncryptionContext:aws:kinesis:arn': 'arn:aws:kinesis:us-east-1:111122223333:stream/orders' },
    true,
  ],
  // ...but StringEquals does resolve policy variables (2012-10-17): a '${' in a value is not text.
  [
    VARS,
    { StringEquals: { 'kms:EncryptionContext:aws:kinesis:arn': '${aws:PrincipalTag/team}' } },
    { 'kms:EncryptionContext:aws:kinesis:arn': 'data' },
    true,
  ],
  // String operators
  [
    OPS,
    { StringEquals: { 'kms:ViaService': 'kinesis.us-east-1.amazonaws.com' } },
    { 'kms:ViaService': 'kinesis.us-east-1.amazonaws.com' },
    true,
  ],
  [
    OPS,
    { StringEquals: { 'kms:ViaService': 'kinesis.us-east-1.amazonaws.com' } },
    { 'kms:ViaService': 'Kinesis.us-east-1.amazonaws.com' },
    false,
  ],
  [
    OPS,
    { StringEquals: { 'kms:ViaService': ['s3.us-east-1.amazonaws.com', 'kinesis.us-east-1.amazonaws.com'] } },
    { 'kms:ViaService': 'kinesis.us-east-1.amazonaws.com' },
    true,
  ],
  [
    OPS,
    { StringEquals: { 'kms:ViaService': 'kinesis.*.amazonaws.com' } },
    { 'kms:ViaService': 'kinesis.us-east-1.amazonaws.com' },
    false,
  ],
  [OPS, { StringNotEquals: { 'kms:ViaService': ['a', 'b'] } }, { 'kms:ViaService': 'c' }, true],
  [OPS, { StringNotEquals: { 'kms:ViaService': ['a', 'b'] } }, { 'kms:ViaService': 'b' }, false],
  [OPS, { StringNotEquals: { 'kms:ViaService': 'a' } }, {}, true],
  [
    OPS,
    { StringEqualsIgnoreCase: { 'kms:ViaService': 'KINESIS.us-east-1.amazonaws.com' } },
    { 'kms:ViaService': 'kinesis.US-EAST-1.amazonaws.com' },
    true,
  ],
  [
    OPS,
    { StringNotEqualsIgnoreCase: { 'kms:ViaService': 'KINESIS.us-east-1.amazonaws.com' } },
    { 'kms:ViaService': 'kinesis.us-east-1.amazonaws.com' },
    false,
  ],
  [
    OPS,
    { StringLike: { 'kms:ViaService': 'kinesis.*.amazonaws.com' } },
    { 'kms:ViaService': 'kinesis.eu-west-1.amazonaws.com' },
    true,
  ],
  [
    OPS,
    { StringLike: { 'kms:ViaService': 'kinesis.??-west-1.amazonaws.com' } },
    { 'kms:ViaService': 'kinesis.eu-west-1.amazonaws.com' },
    true,
  ],
  [
    OPS,
    { StringLike: { 'kms:ViaService': 'kinesis.?-west-1.amazonaws.com' } },
    { 'kms:ViaService': 'kinesis.eu-west-1.amazonaws.com' },
    false,
  ],
  [
    OPS,
    { StringNotLike: { 'kms:ViaService': 's3.*' } },
    { 'kms:ViaService': 'kinesis.eu-west-1.amazonaws.com' },
    true,
  ],
  [
    OPS,
    { StringNotLike: { 'kms:ViaService': 'kinesis.*' } },
    { 'kms:ViaService': 'kinesis.eu-west-1.amazonaws.com' },
    false,
  ],
  // Numeric operators
  [OPS, { NumericEquals: { 'aws:MultiFactorAuthAge': '300' } }, { 'aws:MultiFactorAuthAge': '300' }, true],
  [OPS, { NumericNotEquals: { 'aws:MultiFactorAuthAge': 300 } }, { 'aws:MultiFactorAuthAge': '300' }, false],
  [OPS, { NumericLessThan: { 'aws:MultiFactorAuthAge': '3600' } }, { 'aws:MultiFactorAuthAge': 3599 }, true],
  [
    OPS,
    { NumericLessThanEquals: { 'aws:MultiFactorAuthAge': '3600' } },
    { 'aws:MultiFactorAuthAge': '3600' },
    true,
  ],
  [
    OPS,
    { NumericGreaterThan: { 'aws:MultiFactorAuthAge': '3600' } },
    { 'aws:MultiFactorAuthAge': '3600' },
    false,
  ],
  [
    OPS,
    { NumericGreaterThanEquals: { 'aws:MultiFactorAuthAge': '3600.0' } },
    { 'aws:MultiFactorAuthAge': '3600' },
    true,
  ],
  [
    OPS,
    { NumericLessThan: { 'aws:MultiFactorAuthAge': '3600' } },
    { 'aws:MultiFactorAuthAge': 'soon' },
    false,
  ],
  // Date operators (ISO 8601 and epoch seconds)
  [
    OPS,
    { DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } },
    { 'aws:CurrentTime': '2026-06-11T10:00:00Z' },
    true,
  ],
  [
    OPS,
    { DateGreaterThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } },
    { 'aws:CurrentTime': '2026-06-11T10:00:00Z' },
    false,
  ],
  [
    OPS,
    { DateEquals: { 'aws:CurrentTime': '2026-06-11T10:00:00Z' } },
    { 'aws:CurrentTime': '2026-06-11T10:00:00.000Z' },
    true,
  ],
  [
    OPS,
    { DateNotEquals: { 'aws:CurrentTime': '2026-06-11T10:00:00Z' } },
    { 'aws:CurrentTime': '2026-06-11T10:00:01Z' },
    true,
  ],
  [OPS, { DateLessThanEquals: { 'aws:EpochTime': '1781172000' } }, { 'aws:EpochTime': '1781172000' }, true],
  [
    OPS,
    { DateGreaterThanEquals: { 'aws:CurrentTime': '1781172000' } },
    { 'aws:CurrentTime': '2026-06-11T10:00:00Z' },
    true,
  ],
  // Bool, Binary
  [OPS, { Bool: { 'aws:SecureTransport': 'true' } }, { 'aws:SecureTransport': true }, true],
  [OPS, { Bool: { 'aws:SecureTransport': true } }, { 'aws:SecureTransport': 'false' }, false],
  [OPS, { Bool: { 'aws:SecureTransport': 'true' } }, { 'aws:SecureTransport': 'yes' }, false],
  [
    OPS,
    { BinaryEquals: { 'kms:RecipientAttestation:ImageSha384': 'QmluYXJ5VmFsdWU=' } },
    { 'kms:RecipientAttestation:ImageSha384': 'QmluYXJ5VmFsdWU=' },
    true,
  ],
  [
    OPS,
    { BinaryEquals: { 'kms:RecipientAttestation:ImageSha384': 'QmluYXJ5VmFsdWU=' } },
    { 'kms:RecipientAttestation:ImageSha384': 'T3RoZXI=' },
    false,
  ],
  // IP address operators, IPv4 and IPv6, bare addresses as /32 or /128
  [OPS, { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '203.0.113.9' }, true],
  [OPS, { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '203.0.114.9' }, false],
  [OPS, { IpAddress: { 'aws:SourceIp': '203.0.113.7' } }, { 'aws:SourceIp': '203.0.113.7' }, true],
  [
    OPS,
    { IpAddress: { 'aws:SourceIp': '2001:DB8:1234:5678::/64' } },
    { 'aws:SourceIp': '2001:db8:1234:5678::ff' },
    true,
  ],
  [OPS, { IpAddress: { 'aws:SourceIp': '2001:db8::/32' } }, { 'aws:SourceIp': '2001:db9::1' }, false],
  [
    OPS,
    { IpAddress: { 'aws:SourceIp': '::ffff:203.0.113.0/120' } },
    { 'aws:SourceIp': '::ffff:203.0.113.5' },
    true,
  ],
  [
    OPS,
    { NotIpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '192.0.2.0/24'] } },
    { 'aws:SourceIp': '203.0.113.9' },
    true,
  ],
  [OPS, { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'aws:SourceIp': '10.1.2.3' }, false],
  // ARN operators: segment by segment, case-sensitive
  [
    OPS,
    { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::111122223333:user/*' } },
    { 'aws:PrincipalArn': 'arn:aws:iam::111122223333:user/alice' },
    true,
  ],
  [
    OPS,
    { ArnEquals: { 'aws:PrincipalArn': 'arn:aws:iam::*:user/alice' } },
    { 'aws:PrincipalArn': 'arn:aws:iam::111122223333:user/alice' },
    true,
  ],
  [
    OPS,
    { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*' } },
    { 'aws:PrincipalArn': 'arn:aws:iam::111122223333:user/alice' },
    false,
  ],
  [
    OPS,
    { ArnLike: { 'aws:SourceArn': 'arn:aws:kinesis:*:111122223333:stream/*' } },
    { 'aws:SourceArn': 'arn:aws:kinesis:us-east-1:111122223333:stream/orders' },
    true,
  ],
  [
    OPS,
    { ArnLike: { 'aws:SourceArn': 'arn:aws:kinesis:*:111122223333:stream/*' } },
    { 'aws:SourceArn': 'not-an-arn' },
    false,
  ],
  [
    OPS,
    { ArnNotEquals: { 'aws:PrincipalArn': 'arn:aws:iam::111122223333:user/bob' } },
    { 'aws:PrincipalArn': 'arn:aws:iam::111122223333:user/alice' },
    true,
  ],
  [
    OPS,
    { ArnNotLike: { 'aws:PrincipalArn': 'arn:aws:iam::111122223333:user/a*' } },
    { 'aws:PrincipalArn': 'arn:aws:iam::111122223333:user/alice' },
    false,
  ],
  // Null
  [OPS, { Null: { 'kms:ViaService': 'true' } }, {}, true],
  [
    OPS,
    { Null: { 'kms:ViaService': 'true' } },
    { 'kms:ViaService': 'kinesis.us-east-1.amazonaws.com' },
    false,
  ],
  [
    OPS,
    { Null: { 'kms:ViaService': 'false' } },
    { 'kms:ViaService': 'kinesis.us-east-1.amazonaws.com' },
    true,
  ],
  // ...IfExists: holds when the key is absent, compares when present
  [OPS, { StringEqualsIfExists: { 'kms:ViaService': 'kinesis.us-east-1.amazonaws.com' } }, {}, true],
  [
    OPS,
    { StringEqualsIfExists: { 'kms:ViaService': 'kinesis.us-east-1.amazonaws.com' } },
    { 'kms:ViaService': 's3.us-east-1.amazonaws.com' },
    false,
  ],
  [OPS, { NumericLessThanIfExists: { 'aws:MultiFactorAuthAge': '3600' } }, {}, true],
  [OPS, { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'true' } }, {}, true],
  [OPS, { ArnLikeIfExists: { 'aws:SourceArn': 'arn:aws:kinesis:*:*:stream/*' } }, {}, true],
  [OPS, { IpAddressIfExists: { 'aws:SourceIp': '10.0.0.0/8' } }, {}, true],
  [OPS, { DateLessThanIfExists: { 'aws:TokenIssueTime': '2030-01-01T00:00:00Z' } }, {}, true],
  // Absent key without IfExists: positive operators fail
  [OPS, { StringEquals: { 'kms:ViaService': 'kinesis.us-east-1.amazonaws.com' } }, {}, false],
  [OPS, { NumericLessThan: { 'aws:MultiFactorAuthAge': '3600' } }, {}, false],
  // Set operators on multivalued keys
  [
    MULTI,
    { 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'aws:kinesis:arn' } },
    { 'kms:EncryptionContextKeys': ['aws:kinesis:arn', 'x'] },
    true,
  ],
  [
    MULTI,
    { 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'aws:kinesis:arn' } },
    { 'kms:EncryptionContextKeys': ['x'] },
    false,
  ],
  [MULTI, { 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'aws:kinesis:arn' } }, {}, false],
  [
    MULTI,
    { 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'aws:kinesis:arn' } },
    { 'kms:EncryptionContextKeys': [] },
    false,
  ],
  [
    MULTI,
    { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['aws:kinesis:arn', 'y'] } },
    { 'kms:EncryptionContextKeys': ['aws:kinesis:arn'] },
    true,
  ],
  [
    MULTI,
    { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': 'aws:kinesis:arn' } },
    { 'kms:EncryptionContextKeys': ['aws:kinesis:arn', 'x'] },
    false,
  ],
  [MULTI, { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': 'aws:kinesis:arn' } }, {}, true],
  [
    MULTI,
    { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': 'aws:kinesis:arn' } },
    { 'kms:EncryptionContextKeys': [] },
    true,
  ],
  [
    MULTI,
    { 'ForAllValues:StringNotEquals': { 'aws:CalledVia': 'athena.amazonaws.com' } },
    { 'aws:CalledVia': ['kinesis.amazonaws.com'] },
    true,
  ],
  [
    MULTI,
    { 'ForAnyValue:StringNotLike': { 'aws:CalledVia': 'kinesis.*' } },
    { 'aws:CalledVia': ['kinesis.amazonaws.com', 'athena.amazonaws.com'] },
    true,
  ],
  [MULTI, { 'ForAnyValue:StringLikeIfExists': { 'aws:CalledVia': 'kinesis.*' } }, {}, true],
  [
    MULTI,
    { 'ForAnyValue:StringEquals': { 'aws:PrincipalTag/team': 'data' } },
    { 'aws:PrincipalTag/team': 'data' },
    true,
  ],
  [
    MULTI,
    { StringEquals: { 'kms:EncryptionContextKeys': 'aws:kinesis:arn' } },
    { 'kms:EncryptionContextKeys': ['aws:kinesis:arn'] },
    false,
  ],
  [
    MULTI,
    { StringNotEquals: { 'kms:EncryptionContextKeys': 'x' } },
    { 'kms:EncryptionContextKeys': ['aws:kinesis:arn'] },
    false,
  ],
  // Keys AND-ed within a block and across operators; names case-insensitive
  [
    OPS,
    { StringEquals: { 'kms:ViaService': 'a', 'kms:CallerAccount': '111122223333' } },
    { 'kms:ViaService': 'a', 'kms:CallerAccount': '111122223333' },
    true,
  ],
  [
    OPS,
    { StringEquals: { 'kms:ViaService': 'a', 'kms:CallerAccount': '111122223333' } },
    { 'kms:ViaService': 'a', 'kms:CallerAccount': '444455556666' },
    false,
  ],
  [
    OPS,
    { StringEquals: { 'kms:ViaService': 'a' }, Bool: { 'aws:SecureTransport': 'true' } },
    { 'kms:ViaService': 'a', 'aws:SecureTransport': 'false' },
    false,
  ],
  [OPS, { stringequals: { 'KMS:VIASERVICE': 'a' } }, { 'kms:viaservice': 'a' }, true],
  // Policy variables
  [
    VARS,
    { StringEquals: { 'aws:PrincipalTag/owner': '${aws:username}' } },
    { 'aws:PrincipalTag/owner': 'alice' },
    true,
  ],
  [
    VARS,
    { StringEquals: { 'aws:PrincipalTag/owner': '${aws:username}' } },
    { 'aws:PrincipalTag/owner': 'bob' },
    false,
  ],
  [
    VARS,
    { StringEquals: { 'kms:CallerAccount': '${aws:PrincipalAccount}' } },
    { 'kms:CallerAccount': '111122223333' },
    true,
  ],
  [
    VARS,
    { StringLike: { 'aws:PrincipalTag/project': '${aws:PrincipalTag/team}-*' } },
    { 'aws:PrincipalTag/project': 'data-lake' },
    true,
  ],
  [
    VARS,
    { StringEquals: { 'aws:PrincipalTag/x': '${aws:PrincipalTag/missing}' } },
    { 'aws:PrincipalTag/x': '' },
    false,
  ],
  [
    VARS,
    { StringNotEquals: { 'aws:PrincipalTag/x': '${aws:PrincipalTag/missing}' } },
    { 'aws:PrincipalTag/x': 'y' },
    false,
  ],
  [
    VARS,
    { StringEquals: { 'aws:PrincipalTag/x': "${aws:PrincipalTag/missing, 'none'}" } },
    { 'aws:PrincipalTag/x': 'none' },
    true,
  ],
  [VARS, { StringEquals: { 'aws:userid': '${aws:userid}' } }, { 'aws:userid': 'AIDAEXAMPLE' }, true],
  [VARS, { StringLike: { 'aws:PrincipalTag/x': 'a${*}b' } }, { 'aws:PrincipalTag/x': 'a*b' }, true],
  [VARS, { StringLike: { 'aws:PrincipalTag/x': 'a${*}b' } }, { 'aws:PrincipalTag/x': 'axxb' }, false],
  [VARS, { StringLike: { 'aws:PrincipalTag/x': 'a${?}' } }, { 'aws:PrincipalTag/x': 'a?' }, true],
  [VARS, { StringLike: { 'aws:PrincipalTag/x': 'a${?}' } }, { 'aws:PrincipalTag/x': 'ab' }, false],
  [VARS, { StringEquals: { 'aws:PrincipalTag/x': '${$}{x}' } }, { 'aws:PrincipalTag/x': '${x}' }, true],
  [
    VARS,
    { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::${aws:PrincipalAccount}:user/${aws:username}' } },
    {},
    true,
  ],
  // A multivalued key is not a variable: unresolved, so no match
  [
    VARS,
    { StringEquals: { 'aws:PrincipalTag/x': '${aws:CalledVia}' } },
    { 'aws:PrincipalTag/x': 'a', 'aws:CalledVia': ['a'] },
    false,
  ],
];

describe('condition operators', () => {
  it.each(rows)('%s %j with %j -> %s', (_doc, condition, context, expected) => {
    expect(holds(condition, context)).toBe(expected);
  });

  it(`reads \${...} as text in a policy without Version 2012-10-17 (${VARS})`, () => {
    const context = { 'aws:PrincipalTag/x': '${aws:username}' };
    expect(holds({ StringEquals: { 'aws:PrincipalTag/x': '${aws:username}' } }, context, '2008-10-17')).toBe(
      true,
    );
    expect(holds({ StringEquals: { 'aws:PrincipalTag/x': '${aws:username}' } }, context)).toBe(false);
  });
});
