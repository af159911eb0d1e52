import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import {
  FUNCTION_LAG_METRIC,
  LAG_WINDOW_MINUTES,
  readConsumerLags,
  STREAM_LAG_METRIC,
} from '../../functions/adapters/cloudwatch';
import { ORDERS } from '../helpers/arns';

const cloudwatch = mockClient(CloudWatchClient);
const client = new CloudWatchClient({ region: 'us-east-1', maxAttempts: 1 });
const NOW = new Date('2026-12-03T10:00:00.000Z');

beforeEach(() => cloudwatch.reset());

describe('readConsumerLags', () => {
  it("reads the stream's GetRecords.IteratorAgeMilliseconds (Maximum) over the last minutes and keeps the greatest", async () => {
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [{ Id: 'stream', Values: [1_000, 11_100_000, 90_000], Timestamps: [] }],
    });
    await expect(readConsumerLags(client, { streamArn: ORDERS }, NOW)).resolves.toEqual({
      stream: { milliseconds: 11_100_000, metric: STREAM_LAG_METRIC, at: NOW.toISOString() },
      function: null,
    });
    const input = cloudwatch.commandCalls(GetMetricDataCommand)[0]?.args[0].input;
    expect(input?.EndTime).toEqual(NOW);
    expect(input?.StartTime).toEqual(new Date(NOW.getTime() - LAG_WINDOW_MINUTES * 60_000));
    expect(input?.MetricDataQueries).toHaveLength(1);
    expect(input?.MetricDataQueries?.[0]?.MetricStat).toEqual({
      Metric: {
        Namespace: 'AWS/Kinesis',
        MetricName: 'GetRecords.IteratorAgeMilliseconds',
        Dimensions: [{ Name: 'StreamName', Value: 'orders' }],
      },
      Period: 60,
      Stat: 'Maximum',
    });
  });

  it("reads a function's IteratorAge (AWS/Lambda, FunctionName) in the same request, each figure by its own id", async () => {
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'function', Values: [45_000, 120_000] },
        { Id: 'stream', Values: [30_000] },
      ],
    });
    await expect(
      readConsumerLags(client, { streamArn: ORDERS, functionName: 'orders-consumer-fn' }, NOW),
    ).resolves.toEqual({
      stream: { milliseconds: 30_000, metric: STREAM_LAG_METRIC, at: NOW.toISOString() },
      function: {
        milliseconds: 120_000,
        metric: FUNCTION_LAG_METRIC,
        functionName: 'orders-consumer-fn',
        at: NOW.toISOString(),
      },
    });
    expect(cloudwatch.commandCalls(GetMetricDataCommand)).toHaveLength(1);
    const queries = cloudwatch.commandCalls(GetMetricDataCommand)[0]?.args[0].input.MetricDataQueries;
    expect(queries?.map((q) => q.Id)).toEqual(['stream', 'function']);
    expect(queries?.[1]?.MetricStat).toEqual({
      Metric: {
        Namespace: 'AWS/Lambda',
        MetricName: 'IteratorAge',
        Dimensions: [{ Name: 'FunctionName', Value: 'orders-consumer-fn' }],
      },
      Period: 60,
      Stat: 'Maximum',
    });
  });

  it('a session named like no function with a stream event source mapping has no data point: nothing for it', async () => {
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'stream', Values: [5_000] },
        { Id: 'function', Values: [] },
      ],
    });
    const lags = await readConsumerLags(client, { streamArn: ORDERS, functionName: 'i-0abc123' }, NOW);
    expect(lags.function).toBeNull();
    expect(lags.stream?.milliseconds).toBe(5_000);
  });

  it('is null without a data point (a consumer whose reads all fail may emit none)', async () => {
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'stream', Values: [] }] });
    await expect(readConsumerLags(client, { streamArn: ORDERS }, NOW)).resolves.toEqual({
      stream: null,
      function: null,
    });
  });

  it('is null when CloudWatch refuses: the lag never stops a notification', async () => {
    cloudwatch
      .on(GetMetricDataCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    await expect(readConsumerLags(client, { streamArn: ORDERS, functionName: 'fn' }, NOW)).resolves.toEqual({
      stream: null,
      function: null,
    });
  });

  it('is null for a stream ARN that does not parse, without calling CloudWatch', async () => {
    await expect(
      readConsumerLags(client, { streamArn: 'arn:aws:kinesis:us-east-1:1:stream' }, NOW),
    ).resolves.toEqual({ stream: null, function: null });
    expect(cloudwatch.calls()).toHaveLength(0);
  });
});
