/**
 * Seeded fuzzing of the remediate function: events made by mutating the samples in events/ (each
 * wrapped as EventBridge delivers it) and by building random JSON, run through the remediate handler
 * (`makeHandler`) over local backends in propose mode: LocalAccount (which counts every AWS call
 * it stands for), the in-memory store and an outbox. Reproducible: the same seed gives the same events.
 */
import { readdirSync } from 'node:fs';
import { inProcessLinkSigner } from '../../functions/adapters/link-signer';
import { LocalAccount } from '../../functions/adapters/local-account';
import type { AccountWriter, OutgoingMessage } from '../../functions/core/ports';
import type { FlowContext } from '../../functions/flows/context';
import type { RemediateResult } from '../../functions/flows/remediate';
import { makeHandler, type RemediateEvent } from '../../functions/handlers/remediate';
import { eventBridgeEvent, loadAccount } from '../helpers/denials';
import { EVENTS_DIR } from '../helpers/events';
import { TEST_CONFIG } from '../helpers/flow-ports';
import { MemoryStore } from '../helpers/memory-store';

/** A small, fast, seeded PRNG (mulberry32): floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
type Json = unknown;

const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, items: readonly T[]): T => items[int(r, items.length)] as T;

/** Strings an attacker or a broken producer would try: near-misses, hostile characters, sizes. */
const NASTY_STRINGS = [
  '',
  ' ',
  'aws.kms',
  'kms.amazonaws.com',
  'kinesis.amazonaws.com',
  'AccessDenied',
  'AccessDeniedException',
  'VpceAccessDenied',
  'Decrypt',
  'GenerateDataKey',
  'DescribeKey',
  'AWS API Call via CloudTrail',
  'AssumedRole',
  'AWSService',
  'Root',
  'IAMUser',
  'FederatedUser',
  'arn:aws:kinesis:us-east-1:111122223333:stream/orders',
  'arn:aws:kinesis:us-east-1:111122223333:MyStream',
  'arn:aws:kinesis:*:111122223333:stream/*',
  'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  'arn:aws:kms:us-east-1:111122223333:alias/aws/kinesis',
  'alias/orders',
  '1234abcd-12ab-34cd-56ef-1234567890ab',
  'arn:aws:iam::111122223333:root',
  'arn:aws:iam::111122223333:role/*',
  'arn:aws:sts::111122223333:assumed-role/orders-consumer/i-0abc123',
  'arn:aws:sts::111122223333:assumed-role/other-role/x',
  'arn:aws-cn:kms:cn-north-1:111122223333:key/x',
  '*',
  '__proto__',
  'constructor',
  'toString',
  '\u0000',
  '\u001b[2J\u001b]0;x\u0007',
  '\r\nBcc: x@example.com',
  '\u202e\u2028\ufeff',
  '<script>alert(1)</script>',
  '%00%0d%0a',
  '😀'.repeat(10),
  '\ud800',
  'x'.repeat(5000),
  '1e309',
  '2026-12-03T10:00:00Z',
  'not a date',
];

function randomString(r: Rand): string {
  if (r() < 0.6) return pick(r, NASTY_STRINGS);
  const length = int(r, 40);
  let s = '';
  for (let i = 0; i < length; i++) s += String.fromCharCode(r() < 0.8 ? 32 + int(r, 95) : int(r, 0x3000));
  return s;
}

function randomScalar(r: Rand): Json {
  switch (int(r, 6)) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return pick(r, [0, -1, 1, 1.5, 2 ** 53, -(2 ** 53), Number.MAX_VALUE, 1e-300]);
    default:
      return randomString(r);
  }
}

/**
 * An object key: `__proto__` is written as a placeholder that `fuzzedEvent` turns back into an own
 * `"__proto__"` key through JSON.parse (assigning it would set the prototype instead).
 */
function keyName(name: string): string {
  return name === '__proto__' ? 'fuzzproto' : name;
}

/** Random JSON, up to `depth` levels. */
export function randomJson(r: Rand, depth = 4): Json {
  if (depth <= 0 || r() < 0.35) return randomScalar(r);
  if (r() < 0.5) return Array.from({ length: int(r, 5) }, () => randomJson(r, depth - 1));
  const object: Record<string, Json> = {};
  for (let i = int(r, 6); i > 0; i--) object[keyName(randomString(r))] = randomJson(r, depth - 1);
  return object;
}

/** A structure nested `levels` deep: what a hostile producer sends to overflow a recursive reader. */
function deep(levels: number, r: Rand): Json {
  let value: Json = randomScalar(r);
  for (let i = 0; i < levels; i++) value = r() < 0.5 ? [value] : { a: value };
  return value;
}

/** Every path to a value inside `root` (objects and arrays), root excluded. */
function paths(
  root: Json,
  prefix: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  if (out.length > 400) return out;
  if (Array.isArray(root)) {
    root.forEach((child, i) => {
      out.push([...prefix, i]);
      paths(child, [...prefix, i], out);
    });
  } else if (typeof root === 'object' && root !== null) {
    for (const [key, child] of Object.entries(root)) {
      out.push([...prefix, key]);
      paths(child, [...prefix, key], out);
    }
  }
  return out;
}

function parentOf(root: Json, path: (string | number)[]): Record<string | number, Json> | null {
  let node = root as Record<string | number, Json>;
  for (const step of path.slice(0, -1)) {
    node = node[step] as Record<string | number, Json>;
    if (typeof node !== 'object' || node === null) return null;
  }
  return node;
}

/** One mutation of `root` in place: a replaced, deleted, retyped, emptied, swapped or grown value. */
function mutate(r: Rand, root: Json): void {
  const all = paths(root);
  if (all.length === 0) return;
  const path = pick(r, all);
  const parent = parentOf(root, path);
  if (parent === null) return;
  const key = path[path.length - 1] as string | number;
  const value = parent[key];
  switch (int(r, 10)) {
    case 0:
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      return;
    case 1:
      parent[key] = randomScalar(r);
      return;
    case 2:
      parent[key] = randomJson(r, 3);
      return;
    case 3:
      parent[key] =
        typeof value === 'string'
          ? [value]
          : typeof value === 'object'
            ? JSON.stringify(value)
            : String(value);
      return;
    case 4:
      if (typeof value === 'string') {
        const at = int(r, value.length + 1);
        parent[key] = `${value.slice(0, at)}${randomString(r)}${value.slice(at + int(r, 4))}`;
      } else parent[key] = randomString(r);
      return;
    case 5:
      parent[key] = deep(r() < 0.1 ? 5000 : int(r, 60), r);
      return;
    case 6:
      if (typeof value === 'string')
        parent[key] = r() < 0.5 ? value.toUpperCase() : value.replace(/:/g, pick(r, ['::', '', '/', ':*:']));
      return;
    case 7:
      if (!Array.isArray(parent)) parent[keyName(randomString(r))] = randomJson(r, 2);
      return;
    case 8: {
      const other = pick(r, all);
      const otherParent = parentOf(root, other);
      if (otherParent) parent[key] = structuredClone(otherParent[other[other.length - 1] as string | number]);
      return;
    }
    default:
      parent[key] = Array.isArray(value) ? [] : typeof value === 'object' && value !== null ? {} : null;
  }
}

const SAMPLES = readdirSync(EVENTS_DIR)
  .filter((name) => name.endsWith('.json') && !name.startsWith('cloudtrail-log-file'))
  .sort();

/** The `n`-th fuzzed event of a seed: mostly mutated samples, some random JSON and envelope games. */
export function fuzzedEvent(r: Rand, n: number): Json {
  const roll = r();
  if (roll < 0.08) return randomJson(r, 5);
  if (roll < 0.1) return pick(r, [null, 0, '', [], 'event', true, deep(3000, r)]);
  const event = eventBridgeEvent(pick(r, SAMPLES)) as Record<string, Json> & { detail: Record<string, Json> };
  // A fresh event id most of the time, so most events are diagnosed rather than duplicates.
  if (r() < 0.9 && typeof event.detail === 'object') event.detail.eventID = `fuzz-${n}-${int(r, 1e9)}`;
  const mutations = roll < 0.15 ? 0 : 1 + int(r, 4);
  for (let i = 0; i < mutations; i++) {
    try {
      mutate(r, event);
    } catch {
      // A value already nested too deep for the generator's own JSON.stringify or structuredClone.
    }
  }
  // Parse back through JSON, as Lambda hands the function a parsed JSON document ("__proto__" included).
  try {
    return JSON.parse(JSON.stringify(event).replace(/"fuzzproto":/g, '"__proto__":'));
  } catch {
    return event; // too deep for JSON.stringify: hand over the object itself
  }
}

export interface FuzzReport {
  events: number;
  outcomes: Record<string, number>;
  /** Events whose handler threw, with the error (none expected). */
  thrown: { n: number; error: string }[];
  /** Results that are not one of the outcomes, or an ignored/duplicate/repeat without a reason. */
  unexplained: { n: number; result: unknown }[];
  /** AWS calls that change the account, by action (none expected in propose mode). */
  writes: Record<string, number>;
  /** AccountWriter calls (none expected in propose mode). */
  writerCalls: number;
}

const OUTCOMES = new Set(['ignored', 'duplicate', 'repeat', 'proposed', 'refused', 'applied', 'failed']);
const WRITE_ACTION =
  /^(kms:(CreateGrant|RevokeGrant|RetireGrant|PutKeyPolicy)|iam:(Put|Delete)(Role|User)Policy)$/;

/** Runs `count` fuzzed events of `seed` through the remediate handler, in propose mode. */
export async function fuzzRemediate(seed: number, count: number): Promise<FuzzReport> {
  const r = prng(seed);
  const account = new LocalAccount(loadAccount('demo.json'));
  let writerCalls = 0;
  const writer = new Proxy(account as AccountWriter, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        writerCalls++;
        return value.apply(target, args);
      };
    },
  });
  const outbox: OutgoingMessage[] = [];
  let now = Date.parse('2026-12-03T10:00:00.000Z');
  const ports: FlowContext = {
    store: new MemoryStore(),
    reader: account,
    writer,
    publisher: { publish: async (m: OutgoingMessage) => void outbox.push(m) },
    signer: inProcessLinkSigner({ decision: Buffer.alloc(32, 7) }),
    now: () => new Date(now),
  };
  // A logger that serializes what it is given, as Powertools does, so an unserializable field fails here.
  const log = (message: string, fields: Record<string, unknown>) =>
    void JSON.stringify({ message, ...fields });
  const handler = makeHandler({
    config: { ...TEST_CONFIG, mode: 'propose' },
    ports,
    logger: { info: log, warn: log, error: log },
  });

  const report: FuzzReport = {
    events: count,
    outcomes: {},
    thrown: [],
    unexplained: [],
    writes: {},
    writerCalls: 0,
  };
  for (let n = 0; n < count; n++) {
    const event = fuzzedEvent(r, n);
    now += 1000;
    // A fresh store now and then, so that mutated denials are diagnosed, not only counted as repeats.
    if (n % 10 === 0) ports.store = new MemoryStore();
    let result: RemediateResult;
    try {
      result = await handler(event as RemediateEvent);
    } catch (error) {
      if (report.thrown.length < 20)
        report.thrown.push({ n, error: String((error as Error)?.stack ?? error) });
      continue;
    }
    report.outcomes[result?.outcome] = (report.outcomes[result?.outcome] ?? 0) + 1;
    const needsReason =
      result?.outcome === 'ignored' || result?.outcome === 'duplicate' || result?.outcome === 'repeat';
    if (
      !OUTCOMES.has(result?.outcome) ||
      (needsReason && !(typeof result.reason === 'string' && result.reason.length > 0))
    ) {
      if (report.unexplained.length < 20) report.unexplained.push({ n, result });
    }
  }
  report.writes = Object.fromEntries(
    Object.entries(account.stats()).filter(([action]) => WRITE_ACTION.test(action)),
  );
  report.writerCalls = writerCalls;
  return report;
}
