import {
  GetRoleCommand,
  GetRolePolicyCommand,
  type IAMClient,
  ListAccountAliasesCommand,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import { DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import {
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  type KMSClient,
  ListAliasesCommand,
  ListGrantsCommand,
  ListResourceTagsCommand,
} from '@aws-sdk/client-kms';
import { AwsAccountReader, createAwsAccountReader } from '../../functions/adapters/aws-account';
import { AwsReadError } from '../../functions/adapters/aws-read';
import { KeyUnreadableError } from '../../functions/commons/errors';
import { ACCOUNT, CONSUMER, KINESIS_KEY, ORDERS, ORDERS_KEY } from '../helpers/arns';
import { mockAwsClients } from '../helpers/aws-mocks';

const ORDERS_KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const keyPolicy = { Version: '2012-10-17', Statement: [] };

const { iam, kms, kinesis, clients } = mockAwsClients();

function reader(grantee?: string): AwsAccountReader {
  return new AwsAccountReader({
    accountId: ACCOUNT,
    region: 'us-east-1',
    ...clients,
    grantee,
  });
}

function describeKey(arn: string, keyManager: 'AWS' | 'CUSTOMER' = 'CUSTOMER') {
  return {
    KeyMetadata: {
      KeyId: arn.split('/').pop(),
      Arn: arn,
      AWSAccountId: ACCOUNT,
      KeyManager: keyManager,
      KeyState: 'Enabled' as const,
    },
  };
}

function stream(KeyId: string | undefined) {
  return {
    StreamDescriptionSummary: {
      StreamName: 'orders',
      StreamARN: ORDERS,
      StreamStatus: 'ACTIVE' as const,
      RetentionPeriodHours: 24,
      StreamCreationTimestamp: new Date('2024-01-01T00:00:00Z'),
      EnhancedMonitoring: [],
      OpenShardCount: 1,
      EncryptionType: KeyId ? ('KMS' as const) : ('NONE' as const),
      KeyId,
    },
  };
}

function keyDetails(): void {
  kms.on(GetKeyPolicyCommand).resolves({ Policy: JSON.stringify(keyPolicy) });
  kms.on(ListGrantsCommand).resolves({ Grants: [], Truncated: false });
  kms.on(ListAliasesCommand).resolves({ Aliases: [{ AliasName: 'alias/orders' }], Truncated: false });
  kms.on(ListResourceTagsCommand).resolves({ Tags: [], Truncated: false });
}

function consumerRole(): void {
  iam.on(GetRoleCommand).resolves({
    Role: {
      Arn: CONSUMER,
      RoleName: 'orders-consumer',
      Path: '/service-role/',
      RoleId: 'AROA',
      CreateDate: new Date(),
    },
  });
  iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: [], IsTruncated: false });
  iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [], IsTruncated: false });
}

describe('AwsAccountReader.getStream', () => {
  it.each<[string, string | undefined, (() => void) | null, string | null]>([
    [
      'an alias, resolved through DescribeKey',
      'alias/orders',
      () => kms.on(DescribeKeyCommand, { KeyId: 'alias/orders' }).resolves(describeKey(ORDERS_KEY)),
      ORDERS_KEY,
    ],
    [
      'the AWS-managed alias',
      'alias/aws/kinesis',
      () =>
        kms.on(DescribeKeyCommand, { KeyId: 'alias/aws/kinesis' }).resolves(describeKey(KINESIS_KEY, 'AWS')),
      KINESIS_KEY,
    ],
    [
      'an alias ARN',
      `arn:aws:kms:us-east-1:${ACCOUNT}:alias/orders`,
      () => kms.on(DescribeKeyCommand).resolves(describeKey(ORDERS_KEY)),
      ORDERS_KEY,
    ],
    ['a key ARN, with no call', ORDERS_KEY, null, ORDERS_KEY],
    ['a bare key id, with no call', ORDERS_KEY_ID, null, ORDERS_KEY],
    ['no encryption', undefined, null, null],
  ])('resolves a stream key given as %s', async (_name, keyId, setUp, expected) => {
    kinesis.on(DescribeStreamSummaryCommand, { StreamARN: ORDERS }).resolves(stream(keyId));
    setUp?.();
    await expect(reader().getStream(ORDERS)).resolves.toEqual({
      arn: ORDERS,
      keyArn: expected,
      retentionPeriodHours: 24,
    });
    expect(kms.commandCalls(DescribeKeyCommand)).toHaveLength(setUp ? 1 : 0);
  });

  it('answers null for a stream of another region without calling Kinesis', async () => {
    await expect(reader().getStream(ORDERS.replace('us-east-1', 'eu-west-1'))).resolves.toBeNull();
    expect(kinesis.calls()).toHaveLength(0);
  });

  it("leaves an alias of another account's stream unresolved instead of resolving it in ours", async () => {
    const theirs = 'arn:aws:kinesis:us-east-1:444455556666:stream/orders';
    kinesis.on(DescribeStreamSummaryCommand).resolves(stream('alias/orders'));
    await expect(reader().getStream(theirs)).resolves.toEqual({
      arn: theirs,
      keyArn: null,
      retentionPeriodHours: 24,
    });
    expect(kms.calls()).toHaveLength(0);
  });
});

describe('AwsAccountReader.getKey', () => {
  it('reads a key once however it is named, and asks ListGrants for the grantee', async () => {
    kms.on(DescribeKeyCommand).resolves(describeKey(ORDERS_KEY));
    keyDetails();
    const r = reader(CONSUMER);
    const [byAlias, byArn] = await Promise.all([r.getKey('alias/orders'), r.getKey(ORDERS_KEY)]);
    expect(byAlias).toBe(byArn);
    expect(byAlias).toEqual({
      arn: ORDERS_KEY,
      keyManager: 'CUSTOMER',
      keyState: 'Enabled',
      aliases: ['alias/orders'],
      policy: keyPolicy,
      grants: [],
      tags: {},
    });
    expect(kms.commandCalls(GetKeyPolicyCommand)).toHaveLength(1);
    expect(kms.commandCalls(ListGrantsCommand)[0]?.args[0].input.GranteePrincipal).toBe(CONSUMER);
  });

  it('a key named by its ARN: its policy, grants, aliases and tags go out with DescribeKey, not after it', async () => {
    const order: string[] = [];
    kms.on(DescribeKeyCommand).callsFake(async () => {
      // Answers after everything already under way has run (a macrotask, not a timer).
      await new Promise((resolve) => setImmediate(resolve));
      order.push('DescribeKey answered');
      return describeKey(ORDERS_KEY);
    });
    keyDetails();
    kms.on(GetKeyPolicyCommand).callsFake(async () => {
      order.push('GetKeyPolicy');
      return { Policy: JSON.stringify(keyPolicy) };
    });
    expect(await reader().getKey(ORDERS_KEY)).toMatchObject({ arn: ORDERS_KEY, policy: keyPolicy });
    expect(order).toEqual(['GetKeyPolicy', 'DescribeKey answered']);
    expect(kms.commandCalls(GetKeyPolicyCommand)).toHaveLength(1);
  });

  it('a key ARN KMS does not know: null, whatever the reads sent with DescribeKey answered', async () => {
    const notFound = Object.assign(new Error('Key not found'), { name: 'NotFoundException' });
    kms.on(DescribeKeyCommand).rejects(notFound);
    kms.on(GetKeyPolicyCommand).rejects(notFound);
    kms.on(ListGrantsCommand).rejects(notFound);
    await expect(reader().getKey(ORDERS_KEY)).resolves.toBeNull();
  });

  it('forGrantee gives a reader that filters grants by that principal', async () => {
    kms.on(DescribeKeyCommand).resolves(describeKey(ORDERS_KEY));
    keyDetails();
    await reader().forGrantee(CONSUMER).getKey(ORDERS_KEY);
    expect(kms.commandCalls(ListGrantsCommand)[0]?.args[0].input.GranteePrincipal).toBe(CONSUMER);
  });

  it.each([
    [
      'a key of another account (its policy is unreadable from here)',
      'arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    ],
    ['a key of another region', ORDERS_KEY.replace('us-east-1', 'us-west-2')],
    ['an alias ARN of another account', 'arn:aws:kms:us-east-1:444455556666:alias/orders'],
    ['something that names no key', 'orders'],
  ])('answers null for %s without calling KMS', async (_name, ref) => {
    await expect(reader().getKey(ref)).resolves.toBeNull();
    expect(kms.calls()).toHaveLength(0);
  });

  it.each([
    ['DescribeKey', 'kms:DescribeKey'],
    ['GetKeyPolicy', 'kms:GetKeyPolicy'],
  ])(
    'a key whose policy does not admit the reader (%s denied) is a KeyUnreadableError naming the call',
    async (which, call) => {
      const denied = Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
      if (which === 'DescribeKey') kms.on(DescribeKeyCommand).rejects(denied);
      else {
        kms.on(DescribeKeyCommand).resolves(describeKey(ORDERS_KEY));
        keyDetails();
        kms.on(GetKeyPolicyCommand).rejects(denied);
      }
      const error = await reader()
        .getKey(ORDERS_KEY)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeyUnreadableError);
      expect(error).toMatchObject({ key: ORDERS_KEY, call });
    },
  );

  it('other failures of a key read stay read errors', async () => {
    kms
      .on(DescribeKeyCommand)
      .rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    await expect(reader().getKey(ORDERS_KEY)).rejects.toBeInstanceOf(AwsReadError);
  });

  it('hands out frozen state: clone it before applying a plan', async () => {
    kms.on(DescribeKeyCommand).resolves(describeKey(ORDERS_KEY));
    keyDetails();
    const key = await reader().getKey(ORDERS_KEY);
    expect(Object.isFrozen(key)).toBe(true);
    expect(Object.isFrozen(key?.grants)).toBe(true);
    expect(Object.isFrozen(structuredClone(key))).toBe(false);
  });
});

describe('AwsAccountReader.getPrincipal', () => {
  it('reads a principal once for concurrent asks', async () => {
    consumerRole();
    const r = reader();
    const [a, b] = await Promise.all([r.getPrincipal(CONSUMER), r.getPrincipal(CONSUMER)]);
    expect(a).toEqual({ arn: CONSUMER, inlinePolicies: {}, managedPolicies: {} });
    expect(b).toBe(a);
    expect(iam.commandCalls(GetRoleCommand)).toHaveLength(1);
  });

  it('does not remember a failure: the next ask reads again', async () => {
    consumerRole();
    iam
      .on(GetRoleCommand)
      .rejectsOnce(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }))
      .resolves({
        Role: {
          Arn: CONSUMER,
          RoleName: 'orders-consumer',
          Path: '/service-role/',
          RoleId: 'AROA',
          CreateDate: new Date(),
        },
      });
    const r = reader();
    await expect(r.getPrincipal(CONSUMER)).rejects.toBeInstanceOf(AwsReadError);
    await expect(r.getPrincipal(CONSUMER)).resolves.toMatchObject({ arn: CONSUMER });
  });

  it.each([
    ['a principal of another account', 'arn:aws:iam::444455556666:role/analytics-reader'],
    ['a session ARN', `arn:aws:sts::${ACCOUNT}:assumed-role/orders-consumer/i-0abc123`],
    ['another partition', `arn:aws-cn:iam::${ACCOUNT}:role/x`],
  ])('answers null for %s without calling IAM', async (_name, arn) => {
    await expect(reader().getPrincipal(arn)).resolves.toBeNull();
    expect(iam.calls()).toHaveLength(0);
    expect(iam.commandCalls(GetRolePolicyCommand)).toHaveLength(0);
  });
});

describe('AwsAccountReader.getAccountAlias', () => {
  it('reads the alias once (iam:ListAccountAliases)', async () => {
    iam.on(ListAccountAliasesCommand).resolves({ AccountAliases: ['acme-prod'], IsTruncated: false });
    const r = reader();
    const [a, b] = await Promise.all([r.getAccountAlias(), r.getAccountAlias()]);
    expect([a, b]).toEqual(['acme-prod', 'acme-prod']);
    expect(iam.commandCalls(ListAccountAliasesCommand)).toHaveLength(1);
  });

  it.each([
    [
      'no alias',
      () => iam.on(ListAccountAliasesCommand).resolves({ AccountAliases: [], IsTruncated: false }),
    ],
    [
      'a denied read',
      () =>
        iam
          .on(ListAccountAliasesCommand)
          .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' })),
    ],
    [
      'an alias that is not one',
      () =>
        iam.on(ListAccountAliasesCommand).resolves({ AccountAliases: ['Evil\nAlias'], IsTruncated: false }),
    ],
  ])('is null for %s: the alias is for people, never an error', async (_name, setUp) => {
    setUp();
    await expect(reader().getAccountAlias()).resolves.toBeNull();
  });
});

describe('AwsAccountReader.getOrganization', () => {
  it('is null: SCPs are readable only from the management account', async () => {
    await expect(reader().getOrganization()).resolves.toBeNull();
  });
});

describe('createAwsAccountReader', () => {
  it('builds clients once per region, with the one client configuration (the SDK adaptive retry)', async () => {
    const a = createAwsAccountReader({ region: 'eu-west-1', accountId: ACCOUNT });
    const b = createAwsAccountReader({ region: 'eu-west-1', accountId: ACCOUNT });
    const c = createAwsAccountReader({ region: 'us-east-1', accountId: ACCOUNT });
    expect([a.accountId, a.region]).toEqual([ACCOUNT, 'eu-west-1']);
    const clientsOf = (r: AwsAccountReader) =>
      (r as unknown as { options: { iam: IAMClient; kms: KMSClient; kinesis: KinesisClient } }).options;
    expect(clientsOf(a).kms).toBe(clientsOf(b).kms);
    expect(clientsOf(a).kms).not.toBe(clientsOf(c).kms);
    expect(await clientsOf(a).iam.config.maxAttempts()).toBe(5);
    expect(clientsOf(a).kms.config.retryMode).toBe('adaptive');
    expect(await clientsOf(a).kinesis.config.region()).toBe('eu-west-1');
  });

  it('refuses a region of no AWS partition instead of guessing one', () => {
    expect(() => createAwsAccountReader({ region: 'moon-base-1', accountId: ACCOUNT })).toThrow(
      /not an AWS Region: "moon-base-1"/,
    );
  });
});
