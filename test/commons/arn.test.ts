import {
  ARN_IN_TEXT,
  grantPrincipalKind,
  isAliasName,
  isKeyId,
  isRegion,
  MAX_ARN_LENGTH,
  PARTITIONS,
  type Partition,
  parseAliasArn,
  parseArn,
  parseAssumedRoleArn,
  parseFederatedUserArn,
  parseKeyArn,
  parsePolicyArn,
  parsePrincipalArn,
  parseRoleArn,
  parseRootArn,
  parseSecretArn,
  parseStreamArn,
  parseTopicArn,
  parseUserArn,
  partitionOfRegion,
  principalPatternKind,
} from '../../functions/commons/arn';
import { ACCOUNT } from '../helpers/arns';

const UUID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/${UUID}`;

describe('parseArn', () => {
  it.each([
    [
      KEY,
      {
        partition: 'aws',
        service: 'kms',
        region: 'us-east-1',
        accountId: ACCOUNT,
        resource: `key/${UUID}`,
      },
    ],
    [
      `arn:aws-us-gov:iam::${ACCOUNT}:role/a/b`,
      { partition: 'aws-us-gov', service: 'iam', region: '', accountId: ACCOUNT, resource: 'role/a/b' },
    ],
    [
      'arn:aws:iam::aws:policy/ReadOnlyAccess',
      { partition: 'aws', service: 'iam', region: '', accountId: 'aws', resource: 'policy/ReadOnlyAccess' },
    ],
    [
      'arn:aws:s3:::bucket/a:b',
      { partition: 'aws', service: 's3', region: '', accountId: '', resource: 'bucket/a:b' },
    ],
    [
      `arn:aws-iso:kms:us-iso-east-1:${ACCOUNT}:key/${UUID}`,
      { partition: 'aws-iso', region: 'us-iso-east-1', resource: `key/${UUID}` },
    ],
  ])('splits %s', (arn, expected) => {
    expect(parseArn(arn)).toMatchObject(expected);
  });

  it.each([
    ['not a string', 42],
    ['no arn: prefix', `aws:kms:us-east-1:${ACCOUNT}:key/x`],
    ['too few parts', 'arn:aws:kms:us-east-1'],
    ['empty resource', `arn:aws:kms:us-east-1:${ACCOUNT}:`],
    ['a bad partition', `arn:AWS:kms:us-east-1:${ACCOUNT}:key/x`],
    ['a partition AWS does not have', `arn:aws-foo:kms:us-east-1:${ACCOUNT}:key/x`],
    ['a bad region', `arn:aws:kms:euiso-south-3r:${ACCOUNT}:key/x`],
    ['a commercial Region in the China partition', `arn:aws-cn:kms:us-east-1:${ACCOUNT}:key/x`],
    ['a China Region in the commercial partition', `arn:aws:kms:cn-north-1:${ACCOUNT}:key/x`],
    ['an ISO Region in the commercial partition', `arn:aws:kms:us-iso-east-1:${ACCOUNT}:key/x`],
    ['a GovCloud Region in the ISO-B partition', `arn:aws-iso-b:kms:us-gov-west-1:${ACCOUNT}:key/x`],
    ['a short account', 'arn:aws:kms:us-east-1:1111:key/x'],
    ['a space in the resource', `arn:aws:kms:us-east-1:${ACCOUNT}:alias/a b`],
    ['a quote in the resource', `arn:aws:kms:us-east-1:${ACCOUNT}:key/"x`],
    ['over the length cap', `arn:aws:s3:::${'a'.repeat(MAX_ARN_LENGTH)}`],
  ])('rejects %s', (_why, value) => {
    expect(parseArn(value)).toBeNull();
  });
});

describe('Regions and partitions', () => {
  // Region prefixes per partition: the regionRegex of each partition in the AWS SDKs' partition table.
  it.each([
    ['us-east-1', 'aws'],
    ['eu-central-2', 'aws'],
    ['mx-central-1', 'aws'],
    ['us-gov-west-1', 'aws-us-gov'],
    ['us-gov-east-1', 'aws-us-gov'],
    ['cn-north-1', 'aws-cn'],
    ['cn-northwest-1', 'aws-cn'],
    ['us-iso-east-1', 'aws-iso'],
    ['us-isob-east-1', 'aws-iso-b'],
    ['eu-isoe-west-1', 'aws-iso-e'],
    ['us-isof-south-1', 'aws-iso-f'],
    ['eusc-de-east-1', 'aws-eusc'],
  ] as const)('%s is a Region of partition %s', (region, partition) => {
    expect(isRegion(region)).toBe(true);
    expect(partitionOfRegion(region)).toBe(partition);
    expect(PARTITIONS).toContain(partition);
  });

  it.each([
    ['apiso-northsouth-3r', 'a trailing letter'],
    ['us-east', 'no number'],
    ['useast-1', 'no direction'],
    ['us-a-b-c-1', 'too many words'],
    ['xx-foo-bar-1', 'two words after a prefix no partition has'],
    ['us-east-100', 'a three-digit number'],
    ['US-EAST-1', 'capitals'],
    ['aws-global', 'a pseudo-Region'],
    ['', 'empty'],
    [42, 'not a string'],
  ])('%p is not a Region (%s)', (region, _why) => {
    expect(isRegion(region)).toBe(false);
    expect(partitionOfRegion(region)).toBeNull();
  });

  /** One Region of each partition. */
  const HOME: Record<Partition, string> = {
    aws: 'us-east-1',
    'aws-cn': 'cn-north-1',
    'aws-us-gov': 'us-gov-west-1',
    'aws-iso': 'us-iso-east-1',
    'aws-iso-b': 'us-isob-east-1',
    'aws-iso-e': 'eu-isoe-west-1',
    'aws-iso-f': 'us-isof-south-1',
    'aws-eusc': 'eusc-de-east-1',
  };

  it.each(PARTITIONS.map((p) => [p, HOME[p]]))('partition %s: ARNs of %s only', (partition, region) => {
    const stream = (r: string) => `arn:${partition}:kinesis:${r}:${ACCOUNT}:stream/orders`;
    const foreign = partition === 'aws' ? 'cn-north-1' : 'us-east-1';
    expect(partitionOfRegion(region)).toBe(partition);
    expect(parseStreamArn(stream(region))).toMatchObject({ partition, region, streamName: 'orders' });
    expect(parseStreamArn(stream(foreign))).toBeNull();
    expect(parseKeyArn(`arn:${partition}:kms:${region}:${ACCOUNT}:key/${UUID}`)).toMatchObject({ partition });
    expect(parseKeyArn(`arn:${partition}:kms:${foreign}:${ACCOUNT}:key/${UUID}`)).toBeNull();
    expect(parseRoleArn(`arn:${partition}:iam::${ACCOUNT}:role/r`)).toMatchObject({ partition });
  });
});

describe('typed ARN parsers', () => {
  it.each([
    ['key', parseKeyArn, KEY, { keyId: UUID }],
    [
      'key with EXAMPLE id',
      parseKeyArn,
      `arn:aws:kms:us-east-1:${ACCOUNT}:key/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111`,
      { keyId: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111' },
    ],
    [
      'multi-Region key',
      parseKeyArn,
      `arn:aws:kms:us-east-1:${ACCOUNT}:key/mrk-1234abcd12ab34cd56ef1234567890ab`,
      { keyId: 'mrk-1234abcd12ab34cd56ef1234567890ab' },
    ],
    [
      'multi-Region key with an EXAMPLE id',
      parseKeyArn,
      `arn:aws:kms:us-east-1:${ACCOUNT}:key/mrk-a1b2c3d4567890abcdefEXAMPLE11111`,
      { keyId: 'mrk-a1b2c3d4567890abcdefEXAMPLE11111' },
    ],
    [
      'GovCloud key',
      parseKeyArn,
      `arn:aws-us-gov:kms:us-gov-west-1:${ACCOUNT}:key/${UUID}`,
      { partition: 'aws-us-gov', region: 'us-gov-west-1', accountId: ACCOUNT, keyId: UUID },
    ],
    ['alias', parseAliasArn, `arn:aws:kms:us-east-1:${ACCOUNT}:alias/orders`, { aliasName: 'alias/orders' }],
    [
      'AWS-managed alias',
      parseAliasArn,
      `arn:aws:kms:us-east-1:${ACCOUNT}:alias/aws/kinesis`,
      { aliasName: 'alias/aws/kinesis' },
    ],
    [
      'stream',
      parseStreamArn,
      `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/orders`,
      { partition: 'aws', region: 'us-east-1', accountId: ACCOUNT, streamName: 'orders' },
    ],
    [
      'stream with every allowed character',
      parseStreamArn,
      `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/Orders_v2.eu-1`,
      { streamName: 'Orders_v2.eu-1' },
    ],
    [
      'stream with a 128-character name',
      parseStreamArn,
      `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/${'s'.repeat(128)}`,
      { streamName: 's'.repeat(128) },
    ],
    [
      'China stream',
      parseStreamArn,
      `arn:aws-cn:kinesis:cn-northwest-1:${ACCOUNT}:stream/orders`,
      { partition: 'aws-cn', region: 'cn-northwest-1' },
    ],
    [
      'role with path',
      parseRoleArn,
      `arn:aws:iam::${ACCOUNT}:role/service-role/orders-consumer`,
      { path: '/service-role/', roleName: 'orders-consumer' },
    ],
    [
      'role without path',
      parseRoleArn,
      `arn:aws:iam::${ACCOUNT}:role/orders-producer`,
      { path: '/', roleName: 'orders-producer' },
    ],
    [
      'service-linked role',
      parseRoleArn,
      `arn:aws:iam::${ACCOUNT}:role/aws-service-role/kinesis.amazonaws.com/AWSServiceRoleForKinesis`,
      { path: '/aws-service-role/kinesis.amazonaws.com/', roleName: 'AWSServiceRoleForKinesis' },
    ],
    [
      'role whose path has punctuation IAM allows',
      parseRoleArn,
      `arn:aws:iam::${ACCOUNT}:role/team:data!/(eu)/r`,
      { path: '/team:data!/(eu)/', roleName: 'r' },
    ],
    [
      'role with a 64-character name',
      parseRoleArn,
      `arn:aws:iam::${ACCOUNT}:role/${'r'.repeat(64)}`,
      { roleName: 'r'.repeat(64) },
    ],
    [
      'role with a 510-character path',
      parseRoleArn,
      `arn:aws:iam::${ACCOUNT}:role/${'p'.repeat(508)}/r`,
      { path: `/${'p'.repeat(508)}/` },
    ],
    ['user', parseUserArn, `arn:aws:iam::${ACCOUNT}:user/alice`, { path: '/', userName: 'alice' }],
    [
      'user with path',
      parseUserArn,
      `arn:aws:iam::${ACCOUNT}:user/division_abc/subdivision_xyz/Bob`,
      { path: '/division_abc/subdivision_xyz/', userName: 'Bob' },
    ],
    ['root', parseRootArn, `arn:aws:iam::${ACCOUNT}:root`, { accountId: ACCOUNT, resource: 'root' }],
    [
      'session',
      parseAssumedRoleArn,
      `arn:aws:sts::${ACCOUNT}:assumed-role/orders-consumer/i-0abc123`,
      { roleName: 'orders-consumer', sessionName: 'i-0abc123' },
    ],
    [
      'session with an email',
      parseAssumedRoleArn,
      `arn:aws:sts::${ACCOUNT}:assumed-role/r/a.b@example.com`,
      { sessionName: 'a.b@example.com' },
    ],
    [
      'federated user',
      parseFederatedUserArn,
      `arn:aws:sts::${ACCOUNT}:federated-user/bob`,
      { userName: 'bob' },
    ],
    [
      'principal (role)',
      parsePrincipalArn,
      `arn:aws:iam::${ACCOUNT}:role/service-role/orders-consumer`,
      { partition: 'aws', accountId: ACCOUNT, kind: 'role', path: '/service-role/', name: 'orders-consumer' },
    ],
    [
      'principal (user)',
      parsePrincipalArn,
      `arn:aws-cn:iam::${ACCOUNT}:user/ops/alice`,
      { partition: 'aws-cn', accountId: ACCOUNT, kind: 'user', path: '/ops/', name: 'alice' },
    ],
    [
      'customer managed policy',
      parsePolicyArn,
      `arn:aws:iam::${ACCOUNT}:policy/orders/OrdersRead`,
      { partition: 'aws', owner: ACCOUNT, path: '/orders/', name: 'OrdersRead' },
    ],
    [
      'AWS managed policy',
      parsePolicyArn,
      'arn:aws:iam::aws:policy/service-role/AWSLambdaKinesisExecutionRole',
      { partition: 'aws', owner: 'aws', path: '/service-role/', name: 'AWSLambdaKinesisExecutionRole' },
    ],
    [
      'policy with a 128-character name',
      parsePolicyArn,
      `arn:aws:iam::${ACCOUNT}:policy/${'p'.repeat(128)}`,
      { name: 'p'.repeat(128) },
    ],
  ] as const)('accepts a %s ARN', (_kind, parse, arn, expected) => {
    expect(parse(arn)).toMatchObject(expected);
  });

  it.each([
    ['stream without stream/ (the seed example)', parseStreamArn, 'arn:aws:kinesis:*:123456789012:MyStream'],
    ['stream without region', parseStreamArn, `arn:aws:kinesis::${ACCOUNT}:stream/orders`],
    [
      'stream of another service',
      parseStreamArn,
      `arn:aws:firehose:us-east-1:${ACCOUNT}:deliverystream/orders`,
    ],
    [
      'stream consumer, not a stream',
      parseStreamArn,
      `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/orders/consumer/c:1`,
    ],
    ['stream with a colon', parseStreamArn, `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/a:b`],
    ['stream with a wildcard', parseStreamArn, `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/orders*`],
    ['stream name of 129', parseStreamArn, `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/${'s'.repeat(129)}`],
    ['stream without account', parseStreamArn, 'arn:aws:kinesis:us-east-1::stream/orders'],
    ['key alias as key', parseKeyArn, `arn:aws:kms:us-east-1:${ACCOUNT}:alias/orders`],
    ['key with a short id', parseKeyArn, `arn:aws:kms:us-east-1:${ACCOUNT}:key/0123456789abcdef`],
    ['key without account', parseKeyArn, `arn:aws:kms:us-east-1::key/${UUID}`],
    ['key without Region', parseKeyArn, `arn:aws:kms::${ACCOUNT}:key/${UUID}`],
    ['key with a wildcard', parseKeyArn, `arn:aws:kms:us-east-1:${ACCOUNT}:key/*`],
    [
      'multi-Region key id of 31',
      parseKeyArn,
      `arn:aws:kms:us-east-1:${ACCOUNT}:key/mrk-1234abcd12ab34cd56ef1234567890a`,
    ],
    ['alias with a dot', parseAliasArn, `arn:aws:kms:us-east-1:${ACCOUNT}:alias/a.b`],
    ['alias name of 251', parseAliasArn, `arn:aws:kms:us-east-1:${ACCOUNT}:alias/${'a'.repeat(251)}`],
    ['role with a region', parseRoleArn, `arn:aws:iam:us-east-1:${ACCOUNT}:role/r`],
    ['role with an empty segment', parseRoleArn, `arn:aws:iam::${ACCOUNT}:role//r`],
    ['role name over 64 chars', parseRoleArn, `arn:aws:iam::${ACCOUNT}:role/${'r'.repeat(65)}`],
    ['role with a wildcard in its path', parseRoleArn, `arn:aws:iam::${ACCOUNT}:role/a*b/r`],
    ['role with a ? in its path', parseRoleArn, `arn:aws:iam::${ACCOUNT}:role/a?b/r`],
    [
      'role with a policy variable in its path',
      parseRoleArn,
      `arn:aws:iam::${ACCOUNT}:role/\${aws:username}/r`,
    ],
    ['role with a quote in its path', parseRoleArn, `arn:aws:iam::${ACCOUNT}:role/a"b/r`],
    ['role with a colon in its name', parseRoleArn, `arn:aws:iam::${ACCOUNT}:role/a:b`],
    ['role with a path over 512', parseRoleArn, `arn:aws:iam::${ACCOUNT}:role/${'p'.repeat(511)}/r`],
    ['role with a trailing slash', parseRoleArn, `arn:aws:iam::${ACCOUNT}:role/p/`],
    ['user as role', parseRoleArn, `arn:aws:iam::${ACCOUNT}:user/alice`],
    ['user with a wildcard', parseUserArn, `arn:aws:iam::${ACCOUNT}:user/*`],
    ['root with a path', parseRootArn, `arn:aws:iam::${ACCOUNT}:root/x`],
    ['root of AWS', parseRootArn, 'arn:aws:iam::aws:root'],
    ['session with a path', parseAssumedRoleArn, `arn:aws:sts::${ACCOUNT}:assumed-role/p/r/s`],
    ['session of an IAM ARN', parseAssumedRoleArn, `arn:aws:iam::${ACCOUNT}:assumed-role/r/s`],
    ['federated user without name', parseFederatedUserArn, `arn:aws:sts::${ACCOUNT}:federated-user/`],
    ['principal that is a session', parsePrincipalArn, `arn:aws:sts::${ACCOUNT}:assumed-role/r/s`],
    ['principal that is a root', parsePrincipalArn, `arn:aws:iam::${ACCOUNT}:root`],
    ['principal that is a group', parsePrincipalArn, `arn:aws:iam::${ACCOUNT}:group/g`],
    ['principal of AWS', parsePrincipalArn, 'arn:aws:iam::aws:role/r'],
    ['policy name of 129', parsePolicyArn, `arn:aws:iam::${ACCOUNT}:policy/${'p'.repeat(129)}`],
    ['policy with a Region', parsePolicyArn, `arn:aws:iam:us-east-1:${ACCOUNT}:policy/p`],
    ['policy with a wildcard', parsePolicyArn, `arn:aws:iam::${ACCOUNT}:policy/*`],
    ['role as policy', parsePolicyArn, `arn:aws:iam::${ACCOUNT}:role/p`],
  ] as const)('rejects a %s', (_why, parse, arn) => {
    expect(parse(arn)).toBeNull();
  });

  const PRINCIPALS = [
    `arn:aws:iam::${ACCOUNT}:role/r`,
    `arn:aws:iam::${ACCOUNT}:role/team:data!/r`,
    `arn:aws:iam::${ACCOUNT}:role/a*b/r`,
    `arn:aws:iam::${ACCOUNT}:role/${'p'.repeat(40)}/${'q'.repeat(40)}/r`,
    `arn:aws-iso:iam::${ACCOUNT}:role/r`,
    `arn:aws-foo:iam::${ACCOUNT}:role/r`,
    `arn:aws:iam::${ACCOUNT}:user/p/alice`,
    `arn:aws:iam::${ACCOUNT}:user/${'u'.repeat(65)}`,
    `arn:aws:sts::${ACCOUNT}:assumed-role/r/s`,
  ];

  it.each(PRINCIPALS)('parsePrincipalArn and parseRoleArn/parseUserArn agree on %s', (arn) => {
    const principal = parsePrincipalArn(arn);
    const role = parseRoleArn(arn);
    const user = parseUserArn(arn);
    expect(principal).toEqual(
      role !== null
        ? { ...role, kind: 'role', name: role.roleName }
        : user !== null
          ? { ...user, kind: 'user', name: user.userName }
          : null,
    );
  });

  it.each([
    [isKeyId, UUID, true],
    [isKeyId, 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111', true],
    [isKeyId, 'mrk-1234abcd12ab34cd56ef1234567890ab', true],
    [isKeyId, 'mrk-a1b2c3d4567890abcdefEXAMPLE11111', true],
    [isKeyId, 'MRK-1234abcd12ab34cd56ef1234567890ab', false],
    [isKeyId, 'mrk-1234abcd-12ab-34cd-56ef-1234567890ab', false],
    [isKeyId, 'alias/orders', false],
    [isKeyId, 42, false],
    [isAliasName, 'alias/orders', true],
    [isAliasName, 'alias/aws/kinesis', true],
    [isAliasName, 'alias/Orders_v2-eu/x', true],
    [isAliasName, `alias/${'a'.repeat(250)}`, true],
    [isAliasName, `alias/${'a'.repeat(251)}`, false],
    [isAliasName, 'alias/a.b', false],
    [isAliasName, 'orders', false],
    [isAliasName, null, false],
    [isRegion, 'us-gov-west-1', true],
    [isRegion, 'apiso-northsouth-3r', false],
  ] as const)('%p(%s) is %s', (check, value, expected) => {
    expect(check(value)).toBe(expected);
  });
});

describe('grantPrincipalKind', () => {
  it.each([
    [`arn:aws:iam::${ACCOUNT}:root`, 'aws'],
    [`arn:aws:iam::${ACCOUNT}:role/service-role/orders-consumer`, 'aws'],
    [`arn:aws-cn:iam::${ACCOUNT}:user/alice`, 'aws-cn'],
    [`arn:aws-us-gov:sts::${ACCOUNT}:assumed-role/r/s`, 'aws-us-gov'],
    [`arn:aws-iso-b:sts::${ACCOUNT}:federated-user/bob`, 'aws-iso-b'],
    ['kinesis.amazonaws.com', 'service'],
    ['logs.us-east-1.amazonaws.com', 'service'],
    ['kinesis.amazonaws.com.cn', 'service'],
    [`arn:aws:sts::${ACCOUNT}:assumed-role/r`, null],
    [`arn:aws:sts::${ACCOUNT}:assumed-role/p/r/s`, null],
    [`arn:aws:sts::${ACCOUNT}:federated-user/a/b`, null],
    [`arn:aws:iam::${ACCOUNT}:role/a*b/r`, null],
    [`arn:aws:iam::${ACCOUNT}:group/g`, null],
    [`arn:aws-foo:iam::${ACCOUNT}:root`, null],
    ['*', null],
    [ACCOUNT, null],
    ['amazonaws.com', null],
    ['Kinesis.amazonaws.com', null],
    [42, null],
  ] as const)('%p is %p', (principal, kind) => {
    expect(grantPrincipalKind(principal)).toBe(kind);
  });
});

describe('principalPatternKind', () => {
  test.each([
    ['arn:aws:iam::111122223333:role/app-*', 'role'],
    ['arn:aws:iam::111122223333:role/path/app', 'role'],
    ['arn:aws-us-gov:iam::*:user/ci?', 'user'],
    ['arn:aws:iam::111122223333:group/admins', undefined],
    ['arn:aws:sts::111122223333:assumed-role/app/session', undefined],
    ['arn:aws:iam::111122223333:role/', undefined],
    ['*', undefined],
    ['arn:aws:iam::111122223333:role/a b', undefined],
  ])('%s -> %s', (pattern, kind) => {
    expect(principalPatternKind(pattern)).toBe(kind);
  });
});

describe('parseTopicArn', () => {
  it('reads a standard topic', () => {
    expect(parseTopicArn(`arn:aws:sns:eu-west-1:${ACCOUNT}:keymend-chat`)).toMatchObject({
      region: 'eu-west-1',
      accountId: ACCOUNT,
      topicName: 'keymend-chat',
    });
    expect(parseTopicArn(`arn:aws-cn:sns:cn-north-1:${ACCOUNT}:alerts_1`)?.topicName).toBe('alerts_1');
  });

  it.each([
    [`arn:aws:sqs:us-east-1:${ACCOUNT}:keymend-chat`, 'another service'],
    [`arn:aws:sns::${ACCOUNT}:keymend-chat`, 'no Region'],
    ['arn:aws:sns:us-east-1::keymend-chat', 'no account'],
    [`arn:aws:sns:cn-north-1:${ACCOUNT}:keymend-chat`, 'a Region of another partition'],
    [`arn:aws:sns:us-east-1:${ACCOUNT}:orders.fifo`, 'a FIFO topic'],
    [`arn:aws:sns:us-east-1:${ACCOUNT}:a:b`, 'a subscription'],
    [`arn:aws:sns:us-east-1:${ACCOUNT}:${'t'.repeat(257)}`, 'a name over 256 characters'],
    ['keymend-chat', 'a bare name'],
  ])('refuses %s (%s)', (value) => {
    expect(parseTopicArn(value)).toBeNull();
  });
});

describe('ARN_IN_TEXT', () => {
  const inText = (text: string) => new RegExp(`: (${ARN_IN_TEXT})`).exec(text)?.[1];

  it('ends an ARN in prose at a space or a quote', () => {
    const key = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    expect(inText(`on resource: ${key} because`)).toBe(key);
    expect(inText(`on resource: ${key}"}`)).toBe(key);
    expect(inText(`on resource: ${key}' and`)).toBe(key);
    expect(inText('on resource: this resource')).toBeUndefined();
  });
});

describe('parseSecretArn', () => {
  it.each([
    [
      'arn:aws:secretsmanager:us-east-1:111122223333:secret:keymend/oidc-client-AbCdEf',
      'keymend/oidc-client-AbCdEf',
    ],
    ['arn:aws-us-gov:secretsmanager:us-gov-west-1:111122223333:secret:x-123456', 'x-123456'],
  ])('%s', (arn, name) => {
    expect(parseSecretArn(arn)).toMatchObject({ service: 'secretsmanager', secretName: name });
  });

  it.each([
    'keymend/oidc-client',
    'arn:aws:secretsmanager:us-east-1:111122223333:keymend',
    'arn:aws:secretsmanager::111122223333:secret:x',
    'arn:aws:ssm:us-east-1:111122223333:secret:x',
    'arn:aws:secretsmanager:us-east-1:1111:secret:x',
    'arn:aws:secretsmanager:us-east-1:111122223333:secret:a b',
  ])('refuses %s', (value) => {
    expect(parseSecretArn(value)).toBeNull();
  });
});
