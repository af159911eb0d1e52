/**
 * The events `npm run demo` replays: the samples in events/ that go with events/accounts/demo.json
 * (events/README.md's table), as EventBridge delivers them to the remediate function, and a storm of
 * one denial from many sessions of one role.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAssumedRoleArn } from '../../functions/commons/arn';

// biome-ignore lint/suspicious/noExplicitAny: sample events are edited by path
type Json = Record<string, any>;

/** The repository's events/ folder. */
export const EVENTS_DIR = path.resolve(__dirname, '../../events');

/** The account the demo runs on. */
export const DEMO_ACCOUNT = path.join(EVENTS_DIR, 'accounts', 'demo.json');

/**
 * One sample of each distinct problem, in the order they are replayed. Each has its own fingerprint
 * (principal, operation, key, stream); the first is the one the storm repeats and the demo approves.
 * The last passes the EventBridge rule (a KMS denial) but is not Kinesis's: keymend ignores it.
 */
export const FIRST_EVENTS = [
  'consumer-decrypt-denied-service-role.eventbridge.json',
  'producer-generatedatakey-denied.record.json',
  'lambda-esm-decrypt-denied.eventbridge.json',
  'flink-decrypt-denied.record.json',
  'iam-user-decrypt-denied.record.json',
  'legacy-decrypt-denied-aws-managed-key.record.json',
  'root-decrypt-denied-via-kinesis.record.json',
  'consumer-decrypt-denied-no-context.record.json',
  's3-sse-generatedatakey-denied-s3-context.record.json',
] as const;

/**
 * The consumer's denial again in the other shapes CloudTrail records it (no invokedBy, only the
 * encryption context, the API exception name, no resources, older messages): the same problem, so
 * each is absorbed as a repeat. (The samples naming no key, or only an alias, are left out: keymend
 * keys a problem on the key the record names, so they would read as separate problems here.)
 */
export const SAME_PROBLEM_SHAPES = [
  'consumer-decrypt-denied-no-invokedby.record.json',
  'consumer-decrypt-denied-context-only.record.json',
  'consumer-decrypt-accessdeniedexception.record.json',
  'consumer-decrypt-denied-no-resources.record.json',
  'consumer-decrypt-denied-no-because.record.json',
  'consumer-decrypt-denied-no-message.record.json',
] as const;

/** How many sessions of the consumer role the storm has. */
export const STORM_SIZE = 500;
/** How many of the first events EventBridge delivers a second time (it delivers at least once). */
export const REDELIVERIES = 3;

/** A sample from events/ as an EventBridge event (a bare record wrapped as EventBridge wraps it). */
export function eventBridgeEvent(name: string): Json {
  const loaded = JSON.parse(readFileSync(path.join(EVENTS_DIR, name), 'utf8')) as Json;
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

/** A UUID-shaped id, different for each `tag` and `n`, as CloudTrail's eventID looks. */
export function eventId(tag: string, n: number): string {
  const hex = Buffer.from(`${tag}:${n}`).toString('hex').padEnd(32, '0').slice(0, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The same denial from another session of the same role: a new session name (in the session ARN, the
 * principalId and AWS's message), a new eventID and a later time, as another AssumeRole session of a
 * consumer fleet produces.
 */
export function otherSession(event: Json, n: number): Json {
  const copy = structuredClone(event);
  const detail = copy.detail;
  const session = `i-${(0x5000 + n).toString(16).padStart(8, '0')}`;
  const identity = detail.userIdentity;
  const oldArn: string = identity.arn;
  const role = parseAssumedRoleArn(oldArn);
  if (role === null) throw new Error(`the demo's event has no role session ARN: ${JSON.stringify(oldArn)}`);
  const newArn = `arn:${role.partition}:sts::${role.accountId}:assumed-role/${role.roleName}/${session}`;
  identity.arn = newArn;
  if (typeof identity.principalId === 'string' && identity.principalId.includes(':')) {
    identity.principalId = `${identity.principalId.slice(0, identity.principalId.indexOf(':'))}:${session}`;
  }
  if (typeof detail.errorMessage === 'string')
    detail.errorMessage = detail.errorMessage.split(oldArn).join(newArn);
  detail.eventID = eventId('demo-session', n);
  copy.id = eventId('demo-eb-session', n);
  return copy;
}

/** What the demo replays, in three deliveries: the first of each problem, then the repeats. */
export interface Replay {
  firsts: { name: string; event: Json }[];
  /** The other shapes of the consumer's denial, the storm and the redeliveries, shuffled together. */
  repeats: Json[];
  counts: { shapes: number; storm: number; redeliveries: number };
}

/** A fixed shuffle (a linear congruential generator), so every run replays the same order. */
function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  let seed = 20261203;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** The demo's events. */
export function demoReplay(stormSize = STORM_SIZE): Replay {
  const firsts = FIRST_EVENTS.map((name) => ({ name, event: eventBridgeEvent(name) }));
  const stormOf = firsts[0]?.event as Json;
  const shapes = SAME_PROBLEM_SHAPES.map(eventBridgeEvent);
  const storm = Array.from({ length: stormSize }, (_, n) => otherSession(stormOf, n + 1));
  const redeliveries = firsts.slice(0, REDELIVERIES).map((f) => structuredClone(f.event));
  return {
    firsts,
    repeats: shuffled([...shapes, ...storm, ...redeliveries]),
    counts: { shapes: shapes.length, storm: storm.length, redeliveries: redeliveries.length },
  };
}
