/**
 * Denial events for the remediate tests: sample records wrapped as EventBridge delivers them, and a
 * storm of one problem (many sessions of one role).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseSnapshot } from '../../functions/adapters/snapshot';
import type { AccountSnapshot } from '../../functions/core/account';
import { EVENTS_DIR, loadEvent } from './events';

// biome-ignore lint/suspicious/noExplicitAny: sample events are edited freely by path
type Json = Record<string, any>;

/** An account snapshot from events/accounts/, parsed and validated. */
export function loadAccount(name: string): AccountSnapshot {
  return parseSnapshot(JSON.parse(readFileSync(path.join(EVENTS_DIR, 'accounts', name), 'utf8')));
}

/** A sample from events/ as an EventBridge event (bare records are wrapped the way EventBridge wraps them). */
export function eventBridgeEvent(name: string): Json {
  const loaded = loadEvent<Json>(name);
  if (loaded['detail-type'] !== undefined) return loaded;
  return {
    version: '0',
    id: `eb-${loaded.eventID}`,
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.kms',
    account: loaded.recipientAccountId,
    time: loaded.eventTime,
    region: loaded.awsRegion,
    resources: [],
    detail: loaded,
  };
}

/** An id of the shape CloudTrail's eventID has, different for each `n` and `tag`. */
export function eventId(tag: string, n: number): string {
  const hex = Buffer.from(`${tag}:${n}`).toString('hex').padEnd(32, '0').slice(0, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The same denial by another session of the same role: a new session name (in the session ARN,
 * principalId and error message) and a new eventID. Its fingerprint is the same.
 */
export function otherSession(event: Json, n: number): Json {
  const copy = structuredClone(event);
  const detail = copy.detail;
  const session = `i-${n.toString(16).padStart(8, '0')}`;
  const identity = detail.userIdentity;
  const oldArn: string = identity.arn;
  const newArn = `${oldArn.slice(0, oldArn.lastIndexOf('/') + 1)}${session}`;
  identity.arn = newArn;
  if (typeof identity.principalId === 'string' && identity.principalId.includes(':')) {
    identity.principalId = `${identity.principalId.slice(0, identity.principalId.indexOf(':'))}:${session}`;
  }
  if (typeof detail.errorMessage === 'string')
    detail.errorMessage = detail.errorMessage.replace(oldArn, newArn);
  detail.eventID = eventId('session', n);
  copy.id = eventId('eb-session', n);
  return copy;
}

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
