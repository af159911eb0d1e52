/** The AWS reader's key tags and DescribeKey attributes, read-only, degrading to "not visible". */
import {
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  KMSClient,
  ListAliasesCommand,
  ListGrantsCommand,
  ListResourceTagsCommand,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsReadError } from '../../functions/adapters/aws-read';
import { listKeyTags, readKmsKey } from '../../functions/adapters/kms';

const KEY = 'arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab';
const kms = mockClient(KMSClient);
const client = new KMSClient({ region: 'us-east-1' });
const denied = (action: string) =>
  Object.assign(new Error(`User is not authorized to perform: ${action}`), { name: 'AccessDeniedException' });

beforeEach(() => {
  kms.reset();
  kms.on(DescribeKeyCommand).resolves({
    KeyMetadata: {
      KeyId: 'mrk-1234abcd12ab34cd56ef1234567890ab',
      Arn: KEY,
      AWSAccountId: '111122223333',
      KeyManager: 'CUSTOMER',
      KeyState: 'Enabled',
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyUsage: 'ENCRYPT_DECRYPT',
      Origin: 'AWS_KMS',
      MultiRegion: true,
      MultiRegionConfiguration: { MultiRegionKeyType: 'REPLICA' },
    },
  });
  kms.on(GetKeyPolicyCommand).resolves({ Policy: '{"Version":"2012-10-17","Statement":[]}' });
  kms.on(ListGrantsCommand).resolves({ Grants: [], Truncated: false });
  kms.on(ListAliasesCommand).resolves({ Aliases: [], Truncated: false });
});

describe('key tags and attributes', () => {
  it('reads kms:KeySpec, kms:KeyUsage, kms:KeyOrigin, kms:MultiRegion(KeyType) from DescribeKey and the tags, all pages', async () => {
    kms
      .on(ListResourceTagsCommand)
      .resolvesOnce({ Tags: [{ TagKey: 'project', TagValue: 'orders' }], Truncated: true, NextMarker: 't2' })
      .resolvesOnce({ Tags: [{ TagKey: 'dp:exclude:identity', TagValue: 'false' }], Truncated: false });
    const key = await readKmsKey(client, KEY);
    expect(key).toMatchObject({
      keySpec: 'SYMMETRIC_DEFAULT',
      keyUsage: 'ENCRYPT_DECRYPT',
      origin: 'AWS_KMS',
      multiRegion: true,
      multiRegionKeyType: 'REPLICA',
      tags: { project: 'orders', 'dp:exclude:identity': 'false' },
    });
    expect(kms.commandCalls(ListResourceTagsCommand).map((c) => c.args[0].input)).toEqual([
      { KeyId: KEY, Marker: undefined },
      { KeyId: KEY, Marker: 't2' },
    ]);
  });

  it('leaves the tags out (not visible) when kms:ListResourceTags is denied, and reads the rest', async () => {
    kms.on(ListResourceTagsCommand).rejects(denied('kms:ListResourceTags'));
    const key = await readKmsKey(client, KEY);
    expect(key).not.toBeNull();
    expect(key).not.toHaveProperty('tags');
    expect(key?.keySpec).toBe('SYMMETRIC_DEFAULT');
  });

  it('a key with no tags has {} (known: none), not "not visible"', async () => {
    kms.on(ListResourceTagsCommand).resolves({ Tags: [], Truncated: false });
    await expect(listKeyTags(client, KEY)).resolves.toEqual({});
  });

  it('other failures of ListResourceTags are errors naming the call', async () => {
    kms
      .on(ListResourceTagsCommand)
      .rejects(Object.assign(new Error('boom'), { name: 'KMSInternalException' }));
    const error = await listKeyTags(client, KEY).catch((e) => e);
    expect(error).toBeInstanceOf(AwsReadError);
    expect(error.message).toContain('kms:ListResourceTags');
  });
});
