/**
 * Reads a Kinesis stream's encryption settings and retention, read-only.
 */
import { DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { AwsReadError, awsRead } from './aws-read';

export interface StreamEncryption {
  arn: string;
  /**
   * The key as Kinesis reports it (a key ARN, key id, alias name or alias ARN, e.g.
   * `alias/aws/kinesis`), or null when the stream is not encrypted.
   */
  keyId: string | null;
  /** How long the stream keeps records, in hours; absent when Kinesis did not say. */
  retentionPeriodHours?: number;
}

/**
 * The encryption settings of the stream `arn`, or null when there is no such stream.
 * Kinesis answers a burst of control-plane calls with LimitExceededException, which the SDK's
 * retry (client-config.ts) counts as throttling.
 *
 * @throws AwsReadError when Kinesis refuses or fails after the SDK's retries.
 */
export async function readStreamEncryption(
  kinesis: KinesisClient,
  arn: string,
): Promise<StreamEncryption | null> {
  const out = await awsRead(
    `kinesis:DescribeStreamSummary ${arn}`,
    () => kinesis.send(new DescribeStreamSummaryCommand({ StreamARN: arn })),
    { notFound: ['ResourceNotFoundException'] },
  );
  if (!out) return null;
  const summary = out.StreamDescriptionSummary;
  if (!summary)
    throw new AwsReadError(`kinesis:DescribeStreamSummary ${arn} returned no StreamDescriptionSummary`);
  const hours = summary.RetentionPeriodHours;
  const retention =
    typeof hours === 'number' && Number.isInteger(hours) && hours > 0 ? { retentionPeriodHours: hours } : {};
  if (summary.EncryptionType !== 'KMS') return { arn, keyId: null, ...retention };
  if (!summary.KeyId)
    throw new AwsReadError(`kinesis:DescribeStreamSummary ${arn}: EncryptionType KMS without a KeyId`);
  return { arn, keyId: summary.KeyId, ...retention };
}
