/**
 * The EventBridge rule, as synthesized, against EventBridge's own matching in moto: every sample in
 * events/ is put on a bus whose rule has the synthesized pattern and forwards to an SQS queue. Each
 * denial keymend handles must arrive; each record that is not a KMS denial must not.
 *
 * moto 5.2 answers TestEventPattern with an empty response (its handler is a stub), so the pattern is
 * exercised through PutEvents and a rule target, which use moto's real matcher.
 */
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { eventBridgeEvent } from '../../cli/demo/events';
import { intake } from '../../functions/core/intake';
import { eventNames } from '../helpers/events';
import { synth } from '../infra/synth';
import { motoClientConfig, resetMoto } from './moto';

// biome-ignore lint/suspicious/noExplicitAny: EventBridge events are JSON
type Json = Record<string, any>;

const events = new EventBridgeClient(motoClientConfig());
const sqs = new SQSClient(motoClientConfig());

/** The rule's pattern as CloudFormation receives it. */
function synthesizedPattern(): Json {
  const { template } = synth();
  const rules = Object.values(template.findResources('AWS::Events::Rule'));
  expect(rules).toHaveLength(1);
  return rules[0]?.Properties.EventPattern as Json;
}

/** The samples that are events (a log file of records is not one). */
const SAMPLES = eventNames().filter((name) => !name.endsWith('.records.json'));

let pattern: Json;
let delivered: Set<string>;

beforeAll(async () => {
  await resetMoto();
  pattern = synthesizedPattern();
  const bus = 'keymend-rule-test';
  await events.send(new CreateEventBusCommand({ Name: bus }));
  const queue = await sqs.send(new CreateQueueCommand({ QueueName: 'keymend-rule-test' }));
  const queueArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn;
  await events.send(
    new PutRuleCommand({ Name: 'kms-denials', EventBusName: bus, EventPattern: JSON.stringify(pattern) }),
  );
  await events.send(
    new PutTargetsCommand({
      Rule: 'kms-denials',
      EventBusName: bus,
      Targets: [{ Id: 'queue', Arn: queueArn }],
    }),
  );
  for (const name of SAMPLES) {
    const event = eventBridgeEvent(name);
    const put = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: bus,
            Source: event.source,
            DetailType: event['detail-type'],
            Detail: JSON.stringify({ ...event.detail, keymendSample: name }),
            Resources: event.resources,
          },
        ],
      }),
    );
    expect(put.FailedEntryCount ?? 0).toBe(0);
  }
  delivered = new Set();
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queue.QueueUrl, MaxNumberOfMessages: 10 }),
    );
    if (!out.Messages?.length) break;
    for (const message of out.Messages) delivered.add(JSON.parse(message.Body ?? '{}').detail.keymendSample);
  }
});

/** Whether main's pattern narrows the rule to calls Kinesis made (issue 19), not all KMS denials. */
function kinesisOnly(): boolean {
  return JSON.stringify(pattern).includes('kinesis');
}

describe('the synthesized rule in EventBridge (moto)', () => {
  it('has a pattern on KMS calls via CloudTrail', () => {
    expect(pattern.source).toEqual(['aws.kms']);
    expect(pattern['detail-type']).toEqual(['AWS API Call via CloudTrail']);
  });

  it.each(SAMPLES)('%s reaches the function exactly when it should', (name) => {
    const result = intake(eventBridgeEvent(name));
    if (result.match) {
      // A denial keymend handles: the rule must deliver it.
      expect(delivered.has(name)).toBe(true);
    } else if (result.reason === 'not-kinesis') {
      // A KMS denial that Kinesis did not make: delivered only while the rule takes every KMS denial.
      expect(delivered.has(name)).toBe(!kinesisOnly());
    } else {
      // Not a KMS denial at all (not CloudTrail, not KMS, not denied): never delivered.
      expect(delivered.has(name)).toBe(false);
    }
  });

  it('delivers nothing but samples (the queue holds only what the rule matched)', () => {
    for (const name of delivered) expect(SAMPLES).toContain(name);
    expect(delivered.size).toBeGreaterThan(0);
  });
});
