import {
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  type GrantListEntry,
  KMSClient,
  ListAliasesCommand,
  ListGrantsCommand,
  ListResourceTagsCommand,
  NotFoundException,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsReadError } from '../../functions/adapters/aws-read';
import { describeKmsKey, listKeyGrants, readKmsKey, toKmsGrant } from '../../functions/adapters/kms';
import type { KmsGrant } from '../../functions/policy/types';
import { CLICKS, CONSUMER, ORDERS, ORDERS_KEY } from '../helpers/arns';

const kms = mockClient(KMSClient);
const client = new KMSClient({ region: 'us-east-1' });

const keyPolicy = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'Enable IAM User Permissions',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::111122223333:root' },
      Action: 'kms:*',
      Resource: '*',
    },
  ],
};

const metadata = (keyManager: 'AWS' | 'CUSTOMER' = 'CUSTOMER') => ({
  KeyMetadata: {
    KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
    Arn: ORDERS_KEY,
    AWSAccountId: '111122223333',
    KeyManager: keyManager,
    KeyState: 'Enabled' as const,
  },
});

beforeEach(() => kms.reset());

describe('toKmsGrant', () => {
  it.each<[string, GrantListEntry, KmsGrant | null]>([
    [
      'subset constraint, name and retiring principal',
      {
        GrantId: 'g-1',
        Name: 'orders-consumer-orders',
        GranteePrincipal: CONSUMER,
        RetiringPrincipal: 'arn:aws:iam::111122223333:role/KeyAdmin',
        Operations: ['Decrypt'],
        Constraints: { EncryptionContextSubset: { 'aws:kinesis:arn': ORDERS } },
        KeyId: ORDERS_KEY,
        IssuingAccount: 'arn:aws:iam::111122223333:root',
        CreationDate: new Date(),
      },
      {
        grantId: 'g-1',
        name: 'orders-consumer-orders',
        granteePrincipal: CONSUMER,
        retiringPrincipal: 'arn:aws:iam::111122223333:role/KeyAdmin',
        operations: ['Decrypt'],
        constraints: { encryptionContextSubset: { 'aws:kinesis:arn': ORDERS } },
      },
    ],
    [
      'equals constraint, several operations',
      {
        GrantId: 'g-2',
        GranteePrincipal: CONSUMER,
        Operations: ['Decrypt', 'GenerateDataKey'],
        Constraints: { EncryptionContextEquals: { 'aws:kinesis:arn': CLICKS } },
      },
      {
        grantId: 'g-2',
        granteePrincipal: CONSUMER,
        operations: ['Decrypt', 'GenerateDataKey'],
        constraints: { encryptionContextEquals: { 'aws:kinesis:arn': CLICKS } },
      },
    ],
    [
      'empty name and empty constraint maps (KMS: no constraint)',
      {
        GrantId: 'g-3',
        Name: '',
        GranteePrincipal: CONSUMER,
        Operations: ['Decrypt'],
        Constraints: { EncryptionContextSubset: {} },
      },
      { grantId: 'g-3', granteePrincipal: CONSUMER, operations: ['Decrypt'] },
    ],
    [
      'a service principal grantee',
      { GrantId: 'g-4', GranteeServicePrincipal: 'kinesis.amazonaws.com', Operations: ['Decrypt'] },
      { grantId: 'g-4', granteePrincipal: 'kinesis.amazonaws.com', operations: ['Decrypt'] },
    ],
    // keymend cannot model SourceArn; a grant only allows, so leaving it out is the cautious side.
    [
      'a SourceArn constraint',
      {
        GrantId: 'g-5',
        GranteePrincipal: CONSUMER,
        Operations: ['Decrypt'],
        Constraints: { SourceArn: ORDERS },
      },
      null,
    ],
    ['no operations', { GrantId: 'g-6', GranteePrincipal: CONSUMER, Operations: [] }, null],
    ['no grantee', { GrantId: 'g-7', Operations: ['Decrypt'] }, null],
  ])('maps a grant with %s', (_name, entry, expected) => {
    expect(toKmsGrant(entry)).toEqual(expected);
  });
});

describe('listKeyGrants', () => {
  it('follows NextMarker while Truncated, and filters by grantee when given one', async () => {
    kms
      .on(ListGrantsCommand)
      .resolvesOnce({
        Grants: [{ GrantId: 'g-1', GranteePrincipal: CONSUMER, Operations: ['Decrypt'] }],
        Truncated: true,
        NextMarker: 'page-2',
      })
      .resolvesOnce({
        Grants: [{ GrantId: 'g-2', GranteePrincipal: CONSUMER, Operations: ['Decrypt'] }],
        Truncated: true,
        NextMarker: 'page-3',
      })
      .resolvesOnce({
        Grants: [{ GrantId: 'g-3', GranteePrincipal: CONSUMER, Operations: ['Decrypt'] }],
        Truncated: false,
        // KMS may send a marker on the last page; Truncated says whether to follow it.
        NextMarker: 'ignored',
      });

    const grants = await listKeyGrants(client, ORDERS_KEY, { grantee: CONSUMER });

    expect(grants.map((g) => g.grantId)).toEqual(['g-1', 'g-2', 'g-3']);
    expect(kms.commandCalls(ListGrantsCommand).map((c) => c.args[0].input)).toEqual([
      { KeyId: ORDERS_KEY, GranteePrincipal: CONSUMER, Marker: undefined, Limit: 100 },
      { KeyId: ORDERS_KEY, GranteePrincipal: CONSUMER, Marker: 'page-2', Limit: 100 },
      { KeyId: ORDERS_KEY, GranteePrincipal: CONSUMER, Marker: 'page-3', Limit: 100 },
    ]);
  });

  it('lists every grant when no grantee is known', async () => {
    kms.on(ListGrantsCommand).resolves({ Grants: [], Truncated: false });
    await listKeyGrants(client, ORDERS_KEY);
    expect(kms.commandCalls(ListGrantsCommand)[0]?.args[0].input.GranteePrincipal).toBeUndefined();
  });
});

describe('readKmsKey', () => {
  function happyKey(): void {
    kms.on(DescribeKeyCommand).resolves(metadata());
    // Key policies come back as plain JSON, not URL-encoded.
    kms.on(GetKeyPolicyCommand).resolves({ Policy: JSON.stringify(keyPolicy), PolicyName: 'default' });
    kms.on(ListGrantsCommand).resolves({
      Grants: [
        {
          GrantId: 'g-1',
          GranteePrincipal: CONSUMER,
          Operations: ['Decrypt'],
          Constraints: { EncryptionContextSubset: { 'aws:kinesis:arn': CLICKS } },
        },
      ],
      Truncated: false,
    });
    kms
      .on(ListAliasesCommand)
      .resolvesOnce({ Aliases: [{ AliasName: 'alias/orders' }], Truncated: true, NextMarker: 'a2' })
      .resolvesOnce({ Aliases: [{ AliasName: 'alias/orders-v2' }], Truncated: false });
    kms
      .on(ListResourceTagsCommand)
      .resolves({ Tags: [{ TagKey: 'project', TagValue: 'orders' }], Truncated: false });
  }

  it.each([
    ORDERS_KEY,
    '1234abcd-12ab-34cd-56ef-1234567890ab',
    'alias/orders',
    'arn:aws:kms:us-east-1:111122223333:alias/orders',
  ])('reads the key named by %s: metadata, policy, grants, aliases (all pages)', async (ref) => {
    happyKey();
    const key = await readKmsKey(client, ref);
    expect(key).toEqual({
      arn: ORDERS_KEY,
      keyManager: 'CUSTOMER',
      keyState: 'Enabled',
      aliases: ['alias/orders', 'alias/orders-v2'],
      tags: { project: 'orders' },
      policy: keyPolicy,
      grants: [
        {
          grantId: 'g-1',
          granteePrincipal: CONSUMER,
          operations: ['Decrypt'],
          constraints: { encryptionContextSubset: { 'aws:kinesis:arn': CLICKS } },
        },
      ],
    });
    expect(kms.commandCalls(DescribeKeyCommand)[0]?.args[0].input).toEqual({ KeyId: ref });
    // Once resolved, everything else is asked by the key ARN.
    expect(kms.commandCalls(GetKeyPolicyCommand)[0]?.args[0].input).toEqual({
      KeyId: ORDERS_KEY,
      PolicyName: 'default',
    });
    expect(kms.commandCalls(ListAliasesCommand).map((c) => c.args[0].input)).toEqual([
      { KeyId: ORDERS_KEY, Marker: undefined },
      { KeyId: ORDERS_KEY, Marker: 'a2' },
    ]);
  });

  it('answers null when KMS has no such key (NotFoundException)', async () => {
    kms.on(DescribeKeyCommand).rejects(new NotFoundException({ message: 'Alias not found', $metadata: {} }));
    await expect(readKmsKey(client, 'alias/missing')).resolves.toBeNull();
    expect(kms.commandCalls(GetKeyPolicyCommand)).toHaveLength(0);
  });

  it('fails with an AwsReadError naming the call when access is denied', async () => {
    happyKey();
    kms.on(GetKeyPolicyCommand).rejects(
      Object.assign(new Error('User is not authorized to perform: kms:GetKeyPolicy'), {
        name: 'AccessDeniedException',
      }),
    );
    const error = await readKmsKey(client, ORDERS_KEY).catch((e) => e);
    expect(error).toBeInstanceOf(AwsReadError);
    expect(error.message).toMatch(`cannot read kms:GetKeyPolicy ${ORDERS_KEY}: AccessDeniedException`);
  });

  it('fails when the key policy is not JSON', async () => {
    happyKey();
    kms.on(GetKeyPolicyCommand).resolves({ Policy: encodeURIComponent(JSON.stringify(keyPolicy)) });
    await expect(readKmsKey(client, ORDERS_KEY)).rejects.toThrow(/the key policy is not JSON/);
  });
});

describe('describeKmsKey', () => {
  it('reports the AWS-managed kinesis key as keyManager AWS', async () => {
    kms.on(DescribeKeyCommand).resolves(metadata('AWS'));
    await expect(describeKmsKey(client, 'alias/aws/kinesis')).resolves.toEqual({
      arn: ORDERS_KEY,
      accountId: '111122223333',
      keyManager: 'AWS',
      keyState: 'Enabled',
    });
  });

  it('fails on an answer without a key ARN', async () => {
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: 'x' } });
    await expect(describeKmsKey(client, 'x')).rejects.toThrow(/returned no key ARN/);
  });
});
