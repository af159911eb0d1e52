/**
 * Reads how far behind a stream's consumers are, from CloudWatch, for the impact people are told of.
 * Read-only and best effort: the lag is shown when CloudWatch has it and this function may read it.
 */
import { type CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { parseStreamArn } from '../commons/arn';
import type { ConsumerLag } from '../core/proposal';
import { AwsReadError, awsRead } from './aws-read';

/** The stream metric: the age of the last record GetRecords returned, across the stream's consumers. */
export const STREAM_LAG_METRIC = 'GetRecords.IteratorAgeMilliseconds';
/** How far back the lag is read: long enough for one-minute and five-minute data points. */
export const LAG_WINDOW_MINUTES = 15;

/**
 * The greatest `GetRecords.IteratorAgeMilliseconds` (Maximum, one-minute periods) of the stream over the
 * last LAG_WINDOW_MINUTES before `now`; null when the stream ARN does not parse, CloudWatch has no data
 * point (a consumer whose reads all fail may emit none), or the read is refused or fails.
 */
export async function readConsumerLag(
  cloudwatch: CloudWatchClient,
  streamArn: string,
  now: Date,
): Promise<ConsumerLag | null> {
  const stream = parseStreamArn(streamArn);
  if (!stream) return null;
  const start = new Date(now.getTime() - LAG_WINDOW_MINUTES * 60_000);
  try {
    const out = await awsRead(`cloudwatch:GetMetricData ${STREAM_LAG_METRIC} ${stream.streamName}`, () =>
      cloudwatch.send(
        new GetMetricDataCommand({
          StartTime: start,
          EndTime: now,
          MetricDataQueries: [
            {
              Id: 'lag',
              MetricStat: {
                Metric: {
                  Namespace: 'AWS/Kinesis',
                  MetricName: STREAM_LAG_METRIC,
                  Dimensions: [{ Name: 'StreamName', Value: stream.streamName }],
                },
                Period: 60,
                Stat: 'Maximum',
              },
              ReturnData: true,
            },
          ],
        }),
      ),
    );
    const values = (out?.MetricDataResults ?? [])
      .flatMap((r) => r.Values ?? [])
      .filter((v) => Number.isFinite(v) && v >= 0);
    if (values.length === 0) return null;
    return { milliseconds: Math.max(...values), metric: STREAM_LAG_METRIC, at: now.toISOString() };
  } catch (error) {
    if (error instanceof AwsReadError) return null;
    throw error;
  }
}
