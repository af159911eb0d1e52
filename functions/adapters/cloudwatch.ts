/**
 * Reads how far behind a stream's consumers are, from CloudWatch, for the impact people are told of.
 * Read-only and best effort: the lag is shown when CloudWatch has it and this function may read it.
 *
 * One GetMetricData request reads both figures: the stream's `GetRecords.IteratorAgeMilliseconds`,
 * and, when the denied session may be a Lambda function's (core/lambda-session.ts), that function's
 * `IteratorAge` (the age of the last record its event source mappings read). A function of that name
 * with no stream event source mapping, or none at all, has no data point: nothing is shown for it.
 */
import {
  type CloudWatchClient,
  GetMetricDataCommand,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import { parseStreamArn } from '../commons/arn';
import type { ConsumerLags, LagQuery } from '../core/ports';
import { AwsReadError, awsRead } from './aws-read';

/** The stream metric: the age of the last record GetRecords returned, across the stream's consumers. */
export const STREAM_LAG_METRIC = 'GetRecords.IteratorAgeMilliseconds';
/** The Lambda metric: the age of the last record a function's stream event source mappings read. */
export const FUNCTION_LAG_METRIC = 'IteratorAge';
/** How far back the lag is read: long enough for one-minute and five-minute data points. */
export const LAG_WINDOW_MINUTES = 15;

const NONE: ConsumerLags = { stream: null, function: null };

/** The greatest value (Maximum, one-minute periods) of one metric, as a query. */
function maximum(
  id: string,
  namespace: string,
  metric: string,
  dimension: [string, string],
): MetricDataQuery {
  return {
    Id: id,
    MetricStat: {
      Metric: {
        Namespace: namespace,
        MetricName: metric,
        Dimensions: [{ Name: dimension[0], Value: dimension[1] }],
      },
      Period: 60,
      Stat: 'Maximum',
    },
    ReturnData: true,
  };
}

/**
 * The greatest `GetRecords.IteratorAgeMilliseconds` of the stream and, with `query.functionName`, the
 * greatest `IteratorAge` of that function, over the last LAG_WINDOW_MINUTES before `now`, in one
 * request. Each is null when CloudWatch has no data point for it (a consumer whose reads all fail may
 * emit none); both are null when the stream ARN does not parse or the read is refused or fails.
 */
export async function readConsumerLags(
  cloudwatch: CloudWatchClient,
  query: LagQuery,
  now: Date,
): Promise<ConsumerLags> {
  const stream = parseStreamArn(query.streamArn);
  if (!stream) return NONE;
  const queries = [maximum('stream', 'AWS/Kinesis', STREAM_LAG_METRIC, ['StreamName', stream.streamName])];
  if (query.functionName !== undefined) {
    queries.push(
      maximum('function', 'AWS/Lambda', FUNCTION_LAG_METRIC, ['FunctionName', query.functionName]),
    );
  }
  try {
    const out = await awsRead(`cloudwatch:GetMetricData ${STREAM_LAG_METRIC} ${stream.streamName}`, () =>
      cloudwatch.send(
        new GetMetricDataCommand({
          StartTime: new Date(now.getTime() - LAG_WINDOW_MINUTES * 60_000),
          EndTime: now,
          MetricDataQueries: queries,
        }),
      ),
    );
    const greatest = (id: string): number | null => {
      const values = (out?.MetricDataResults ?? [])
        .filter((r) => r.Id === id)
        .flatMap((r) => r.Values ?? [])
        .filter((v) => Number.isFinite(v) && v >= 0);
      return values.length === 0 ? null : Math.max(...values);
    };
    const at = now.toISOString();
    const streamMs = greatest('stream');
    const functionMs = query.functionName === undefined ? null : greatest('function');
    return {
      stream: streamMs === null ? null : { milliseconds: streamMs, metric: STREAM_LAG_METRIC, at },
      function:
        functionMs === null || query.functionName === undefined
          ? null
          : { milliseconds: functionMs, metric: FUNCTION_LAG_METRIC, functionName: query.functionName, at },
    };
  } catch (error) {
    if (error instanceof AwsReadError) return NONE;
    throw error;
  }
}
