/** The AWS SDK clients keymend reads with, mocked (aws-sdk-client-mock) and reset before each test. */
import { IAMClient } from '@aws-sdk/client-iam';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';

/**
 * Mocks of the IAM, KMS and Kinesis clients and a client of each to pass to the adapters; every mock is
 * reset before each test of the calling file. Call it once, at the top of a test file.
 */
export function mockAwsClients(region = 'us-east-1') {
  const mocks = {
    iam: mockClient(IAMClient),
    kms: mockClient(KMSClient),
    kinesis: mockClient(KinesisClient),
  };
  beforeEach(() => {
    for (const mock of Object.values(mocks)) mock.reset();
  });
  return {
    ...mocks,
    clients: {
      iam: new IAMClient({ region }),
      kms: new KMSClient({ region }),
      kinesis: new KinesisClient({ region }),
    },
  };
}
