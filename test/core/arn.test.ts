import {
  isAliasName,
  isKeyId,
  isRegion,
  MAX_ARN_LENGTH,
  parseAliasArn,
  parseArn,
  parseAssumedRoleArn,
  parseFederatedUserArn,
  parseKeyArn,
  parseRoleArn,
  parseRootArn,
  parseStreamArn,
  parseUserArn,
} from '../../functions/core/arn';

const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

describe('parseArn', () => {
  it.each([
    [
      KEY,
      {
        partition: 'aws',
        service: 'kms',
        region: 'us-east-1',
        accountId: '111122223333',
        resource: 'key/1234abcd-12ab-34cd-56ef-1234567890ab',
      },
    ],
    [
      'arn:aws-us-gov:iam::111122223333:role/a/b',
      {
        partition: 'aws-us-gov',
        service: 'iam',
        region: '',
        accountId: '111122223333',
        resource: 'role/a/b',
      },
    ],
    [
      'arn:aws:iam::aws:policy/ReadOnlyAccess',
      { partition: 'aws', service: 'iam', region: '', accountId: 'aws', resource: 'policy/ReadOnlyAccess' },
    ],
    [
      'arn:aws:s3:::bucket/a:b',
      { partition: 'aws', service: 's3', region: '', accountId: '', resource: 'bucket/a:b' },
    ],
  ])('splits %s', (arn, expected) => {
    expect(parseArn(arn)).toEqual(expected);
  });

  it.each([
    ['not a string', 42],
    ['no arn: prefix', 'aws:kms:us-east-1:111122223333:key/x'],
    ['too few parts', 'arn:aws:kms:us-east-1'],
    ['empty resource', 'arn:aws:kms:us-east-1:111122223333:'],
    ['a bad partition', 'arn:AWS:kms:us-east-1:111122223333:key/x'],
    ['a bad region', 'arn:aws:kms:euiso-south-3r:111122223333:key/x'],
    ['a short account', 'arn:aws:kms:us-east-1:1111:key/x'],
    ['a space in the resource', 'arn:aws:kms:us-east-1:111122223333:alias/a b'],
    ['a quote in the resource', 'arn:aws:kms:us-east-1:111122223333:key/"x'],
    ['over the length cap', `arn:aws:s3:::${'a'.repeat(MAX_ARN_LENGTH)}`],
  ])('rejects %s', (_why, value) => {
    expect(parseArn(value)).toBeNull();
  });
});

describe('typed ARN parsers', () => {
  it.each([
    ['key', parseKeyArn, KEY, { keyId: '1234abcd-12ab-34cd-56ef-1234567890ab' }],
    [
      'key with EXAMPLE id',
      parseKeyArn,
      'arn:aws:kms:us-east-1:111122223333:key/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111',
      { keyId: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111' },
    ],
    [
      'multi-Region key',
      parseKeyArn,
      'arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab',
      { keyId: 'mrk-1234abcd12ab34cd56ef1234567890ab' },
    ],
    [
      'alias',
      parseAliasArn,
      'arn:aws:kms:us-east-1:111122223333:alias/orders',
      { aliasName: 'alias/orders' },
    ],
    [
      'stream',
      parseStreamArn,
      'arn:aws:kinesis:us-east-1:111122223333:stream/orders',
      { streamName: 'orders' },
    ],
    [
      'role with path',
      parseRoleArn,
      'arn:aws:iam::111122223333:role/service-role/orders-consumer',
      { path: '/service-role/', roleName: 'orders-consumer' },
    ],
    [
      'role without path',
      parseRoleArn,
      'arn:aws:iam::111122223333:role/orders-producer',
      { path: '/', roleName: 'orders-producer' },
    ],
    ['user', parseUserArn, 'arn:aws:iam::111122223333:user/alice', { path: '/', userName: 'alice' }],
    ['root', parseRootArn, 'arn:aws:iam::111122223333:root', { resource: 'root' }],
    [
      'session',
      parseAssumedRoleArn,
      'arn:aws:sts::111122223333:assumed-role/orders-consumer/i-0abc123',
      { roleName: 'orders-consumer', sessionName: 'i-0abc123' },
    ],
    [
      'session with an email',
      parseAssumedRoleArn,
      'arn:aws:sts::111122223333:assumed-role/r/a.b@example.com',
      { sessionName: 'a.b@example.com' },
    ],
    [
      'federated user',
      parseFederatedUserArn,
      'arn:aws:sts::111122223333:federated-user/bob',
      { userName: 'bob' },
    ],
  ] as const)('accepts a %s ARN', (_kind, parse, arn, expected) => {
    expect(parse(arn)).toMatchObject(expected);
  });

  it.each([
    ['stream without stream/ (the seed example)', parseStreamArn, 'arn:aws:kinesis:*:123456789012:MyStream'],
    ['stream without region', parseStreamArn, 'arn:aws:kinesis::111122223333:stream/orders'],
    [
      'stream of another service',
      parseStreamArn,
      'arn:aws:firehose:us-east-1:111122223333:deliverystream/orders',
    ],
    [
      'stream consumer, not a stream',
      parseStreamArn,
      'arn:aws:kinesis:us-east-1:111122223333:stream/orders/consumer/c:1',
    ],
    ['key alias as key', parseKeyArn, 'arn:aws:kms:us-east-1:111122223333:alias/orders'],
    ['key with a short id', parseKeyArn, 'arn:aws:kms:us-east-1:111122223333:key/0123456789abcdef'],
    ['key without account', parseKeyArn, 'arn:aws:kms:us-east-1::key/1234abcd-12ab-34cd-56ef-1234567890ab'],
    ['role with a region', parseRoleArn, 'arn:aws:iam:us-east-1:111122223333:role/r'],
    ['role with an empty segment', parseRoleArn, 'arn:aws:iam::111122223333:role//r'],
    ['role name over 64 chars', parseRoleArn, `arn:aws:iam::111122223333:role/${'r'.repeat(65)}`],
    ['user as role', parseRoleArn, 'arn:aws:iam::111122223333:user/alice'],
    ['root with a path', parseRootArn, 'arn:aws:iam::111122223333:root/x'],
    ['session with a path', parseAssumedRoleArn, 'arn:aws:sts::111122223333:assumed-role/p/r/s'],
    ['session of an IAM ARN', parseAssumedRoleArn, 'arn:aws:iam::111122223333:assumed-role/r/s'],
    ['federated user without name', parseFederatedUserArn, 'arn:aws:sts::111122223333:federated-user/'],
  ] as const)('rejects a %s', (_why, parse, arn) => {
    expect(parse(arn)).toBeNull();
  });

  it.each([
    [isKeyId, '1234abcd-12ab-34cd-56ef-1234567890ab', true],
    [isKeyId, 'mrk-1234abcd12ab34cd56ef1234567890ab', true],
    [isKeyId, 'alias/orders', false],
    [isAliasName, 'alias/orders', true],
    [isAliasName, 'alias/aws/kinesis', true],
    [isAliasName, 'orders', false],
    [isRegion, 'us-gov-west-1', true],
    [isRegion, 'apiso-northsouth-3r', false],
  ] as const)('%p(%s) is %s', (check, value, expected) => {
    expect(check(value)).toBe(expected);
  });
});
