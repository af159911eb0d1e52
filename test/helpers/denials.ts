import path from 'node:path';
import type { AccountSnapshot } from '../../functions/core/account';
import { loadSnapshot } from './accounts';

// biome-ignore lint/suspicious/noExplicitAny: sample events are edited freely by path
type Json = Record<string, any>;

/** An account snapshot from events/accounts/, parsed and validated. */
export function loadAccount(name: string): AccountSnapshot {
  return loadSnapshot(path.basename(name, '.json'));
}

/**
 * Sample events as EventBridge delivers them, and another session of the same role: the demo's own
 * builders (cli/demo/events.ts), so the tests and the demo replay the same shapes.
 */
import { eventId } from '../../cli/demo/events';

export { eventBridgeEvent, eventId, otherSession } from '../../cli/demo/events';

/** The same event with a new eventID (another delivery of the same problem). */
export function newEventId(event: Json, tag: string, n: number): Json {
  const copy = structuredClone(event);
  copy.detail.eventID = eventId(tag, n);
  return copy;
}

/** The storm's problem: the orders consumer denied kms:Decrypt on the orders stream. */
export const STORM_EVENT = 'consumer-decrypt-denied-service-role.eventbridge.json';

/**
 * Ten problems with distinct fingerprints (none the storm's) that demo.json diagnoses to propose or
 * refuse: other roles, a user, another stream, another operation, an AWS managed key, the root, another
 * account, a record without a stream, a record naming no key.
 */
export const DISTINCT_PROBLEMS = [
  'producer-generatedatakey-denied.record.json',
  'lambda-esm-decrypt-denied.eventbridge.json',
  'flink-decrypt-denied.record.json',
  'iam-user-decrypt-denied.record.json',
  'direct-decrypt-kinesis-context-not-via-kinesis.record.json',
  'consumer-decrypt-denied-no-key-anywhere.record.json',
  'legacy-decrypt-denied-aws-managed-key.record.json',
  'root-decrypt-denied-via-kinesis.record.json',
  'cross-account-decrypt-denied.eventbridge.json',
  'consumer-decrypt-denied-no-context.record.json',
] as const;
