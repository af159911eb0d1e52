/**
 * The EventBridge rule's pattern, as synthesized, over every sample in events/: each Kinesis-shaped
 * KMS denial reaches the remediate function, and the denials of other services (S3, a direct call
 * without any Kinesis marker), successes and other events do not. The matcher is
 * test/helpers/event-pattern.ts (no maintained npm library implements EventBridge patterns); moto's
 * TestEventPattern runs the same pattern in `npm run test:moto`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { eventBridgeEvent } from '../../cli/demo/events';
import { intake } from '../../functions/core/intake';
import { matchesPattern } from '../helpers/event-pattern';
import { EVENTS_DIR, eventNames } from '../helpers/events';
import { synth } from './synth';

type Json = Record<string, unknown>;

const { template } = synth({});
const rules = Object.values(template.findResources('AWS::Events::Rule'));
const pattern = rules[0]?.Properties.EventPattern as Json;

/** Every sample as EventBridge delivers it: bare records wrapped, a log file's records one by one. */
function samples(): [string, Json][] {
  return eventNames().flatMap((name): [string, Json][] => {
    if (name.endsWith('.records.json')) {
      const file = JSON.parse(readFileSync(path.join(EVENTS_DIR, name), 'utf8')) as { Records: Json[] };
      return file.Records.map((record, i): [string, Json] => [
        `${name}[${i}]`,
        {
          version: '0',
          id: `eb-${i}`,
          'detail-type': 'AWS API Call via CloudTrail',
          source: record.eventSource === 'kms.amazonaws.com' ? 'aws.kms' : 'aws.other',
          account: record.recipientAccountId,
          time: record.eventTime,
          region: record.awsRegion,
          resources: [],
          detail: record,
        },
      ]);
    }
    return [[name, eventBridgeEvent(name) as Json]];
  });
}

describe('the rule pattern over events/', () => {
  test('there is one rule, and its pattern is written with the operators EventBridge documents', () => {
    expect(rules).toHaveLength(1);
    expect(pattern).toMatchObject({
      source: ['aws.kms'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: {
        $or: [
          { requestParameters: { encryptionContext: { 'aws:kinesis:arn': [{ exists: true }] } } },
          { userIdentity: { invokedBy: ['kinesis.amazonaws.com'] } },
          { sourceIPAddress: ['kinesis.amazonaws.com'] },
        ],
      },
    });
  });

  const all = samples();
  test.each(all)(
    '%s: the rule lets it through exactly when it is a Kinesis-shaped KMS denial',
    (_name, event) => {
      const found = intake(event);
      const matched = matchesPattern(pattern, event);
      // Nothing the intake would act on is lost at the rule.
      if (found.match) expect(matched).toBe(true);
      // What the intake reads as another service's call never invokes the function.
      if (
        !found.match &&
        ['not-kinesis', 'not-a-denial', 'not-kms', 'unsupported-operation'].includes(found.reason)
      ) {
        expect(matched).toBe(false);
      }
    },
  );

  test('the S3 and other-service denials, the success and the non-KMS events do not match; Kinesis shapes do', () => {
    const byName = new Map(all);
    for (const name of [
      's3-sse-generatedatakey-denied-s3-context.record.json',
      's3-getobject-vpceaccessdenied.record.json',
      'consumer-decrypt-success.record.json',
      'kms-key-rotation.eventbridge.json',
      'kinesis-describestreamsummary-denied.eventbridge.json',
    ]) {
      expect([name, matchesPattern(pattern, byName.get(name) as Json)]).toEqual([name, false]);
    }
    for (const name of [
      'consumer-decrypt-denied-service-role.eventbridge.json',
      'consumer-decrypt-denied-no-invokedby.record.json',
      'consumer-decrypt-denied-context-only.record.json',
      'consumer-decrypt-denied-no-context.record.json',
      'producer-generatedatakey-denied.record.json',
      'lambda-esm-decrypt-denied.eventbridge.json',
      'flink-decrypt-denied.record.json',
    ]) {
      expect([name, matchesPattern(pattern, byName.get(name) as Json)]).toEqual([name, true]);
    }
    expect(all.filter(([, event]) => matchesPattern(pattern, event)).length).toBeGreaterThan(15);
  });

  test('the matcher itself: a marker removed makes a Kinesis denial fall out', () => {
    const event = structuredClone(
      eventBridgeEvent('consumer-decrypt-denied-service-role.eventbridge.json'),
    ) as {
      detail: Record<string, Record<string, unknown>>;
    };
    expect(matchesPattern(pattern, event)).toBe(true);
    delete event.detail.requestParameters?.encryptionContext;
    delete event.detail.userIdentity?.invokedBy;
    (event.detail as Record<string, unknown>).sourceIPAddress = '203.0.113.7';
    expect(matchesPattern(pattern, event)).toBe(false);
  });
});
