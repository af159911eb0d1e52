import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { LAG_WINDOW_MINUTES, readConsumerLag, STREAM_LAG_METRIC } from '../../functions/adapters/cloudwatch';
import { ORDERS } from '../helpers/arns';

const cloudwatch = mockClient(CloudWatchClient);
const client = new CloudWatchClient({ region: 'us-east-1', maxAttempts: 1 });
const NOW = new Date('2026-12-03T10:00:00.000Z');

beforeEach(() => cloudwatch.reset());

describe('readConsumerLag', () => {
  it("reads the stream's GetRecords.IteratorAgeMilliseconds (Maximum) over the last minutes and keeps the greatest", async () => {
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [{ Id: 'lag', Values: [1_000, 11_100_000, 90_000], Timestamps: [] }],
    });
    await expect(readConsumerLag(client, ORDERS, NOW)).resolves.toEqual({
      milliseconds: 11_100_000,
      metric: STREAM_LAG_METRIC,
      at: NOW.toISOString(),
    });
    const input = cloudwatch.commandCalls(GetMetricDataCommand)[0]?.args[0].input;
    expect(input?.EndTime).toEqual(NOW);
    expect(input?.StartTime).toEqual(new Date(NOW.getTime() - LAG_WINDOW_MINUTES * 60_000));
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

  it('is null without a data point (a consumer whose reads all fail may emit none)', async () => {
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'lag', Values: [] }] });
    await expect(readConsumerLag(client, ORDERS, NOW)).resolves.toBeNull();
  });

  it('is null when CloudWatch refuses: the lag never stops a notification', async () => {
    cloudwatch
      .on(GetMetricDataCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    await expect(readConsumerLag(client, ORDERS, NOW)).resolves.toBeNull();
  });

  it('is null for a stream ARN that does not parse, without calling CloudWatch', async () => {
    await expect(readConsumerLag(client, 'arn:aws:kinesis:us-east-1:1:stream', NOW)).resolves.toBeNull();
    expect(cloudwatch.calls()).toHaveLength(0);
  });
});
