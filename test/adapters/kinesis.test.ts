import {
  DescribeStreamSummaryCommand,
  KinesisClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-kinesis';
import { mockClient } from 'aws-sdk-client-mock';
import { readStreamEncryption } from '../../functions/adapters/kinesis';
import { ORDERS } from '../helpers/arns';

const kinesis = mockClient(KinesisClient);
const client = new KinesisClient({ region: 'us-east-1' });

const summary = (extra: object) => ({
  StreamDescriptionSummary: {
    StreamName: 'orders',
    StreamARN: ORDERS,
    StreamStatus: 'ACTIVE' as const,
    RetentionPeriodHours: 24,
    StreamCreationTimestamp: new Date('2024-01-01T00:00:00Z'),
    EnhancedMonitoring: [],
    OpenShardCount: 2,
    ...extra,
  },
});

beforeEach(() => kinesis.reset());

describe('readStreamEncryption', () => {
  it.each<[string, object, string | null]>([
    ['an alias', { EncryptionType: 'KMS', KeyId: 'alias/orders' }, 'alias/orders'],
    ['the AWS-managed alias', { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' }, 'alias/aws/kinesis'],
    [
      'a key ARN',
      {
        EncryptionType: 'KMS',
        KeyId: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      },
      'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    ],
    ['no encryption', { EncryptionType: 'NONE' }, null],
    ['no EncryptionType at all', {}, null],
  ])('reports the key of a stream encrypted with %s as Kinesis gives it', async (_name, extra, keyId) => {
    kinesis.on(DescribeStreamSummaryCommand, { StreamARN: ORDERS }).resolves(summary(extra));
    await expect(readStreamEncryption(client, ORDERS)).resolves.toEqual({
      arn: ORDERS,
      keyId,
      retentionPeriodHours: 24,
    });
  });

  it('answers null when there is no such stream', async () => {
    kinesis
      .on(DescribeStreamSummaryCommand)
      .rejects(new ResourceNotFoundException({ message: 'Stream orders not found', $metadata: {} }));
    await expect(readStreamEncryption(client, ORDERS)).resolves.toBeNull();
  });

  it('fails on KMS encryption without a key id', async () => {
    kinesis.on(DescribeStreamSummaryCommand).resolves(summary({ EncryptionType: 'KMS' }));
    await expect(readStreamEncryption(client, ORDERS)).rejects.toThrow(/EncryptionType KMS without a KeyId/);
  });
});

describe('readStreamEncryption retention', () => {
  it.each([[undefined], [0], [-1], [1.5]])(
    'leaves out a retention Kinesis did not give as hours (%p)',
    async (hours) => {
      kinesis.on(DescribeStreamSummaryCommand).resolves({
        StreamDescriptionSummary: {
          StreamName: 'orders',
          StreamARN: ORDERS,
          StreamStatus: 'ACTIVE',
          RetentionPeriodHours: hours as number,
          StreamCreationTimestamp: new Date(0),
          EnhancedMonitoring: [],
          OpenShardCount: 1,
          EncryptionType: 'NONE',
        },
      });
      await expect(readStreamEncryption(client, ORDERS)).resolves.toEqual({ arn: ORDERS, keyId: null });
    },
  );
});
