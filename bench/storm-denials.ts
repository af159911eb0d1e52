/**
 * A storm of denials for the storm figures: `distinct` roles of the demo account, each a copy of the
 * orders consumer (same policies, so each diagnosis reads the same), denied kms:Decrypt on the orders
 * stream, and the storm's events: the first denial of each role, then repeats by other sessions.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseSnapshot } from '../functions/adapters/snapshot';
import type { AccountSnapshot } from '../functions/core/account';
import { ROOT } from './root';

const EVENTS = path.join(ROOT, 'events');
/** The orders consumer denied kms:Decrypt through Kinesis (an EventBridge event). */
const STORM_EVENT = 'consumer-decrypt-denied-service-role.eventbridge.json';
const CONSUMER_NAME = 'orders-consumer';
const CONSUMER_ARN = 'arn:aws:iam::111122223333:role/service-role/orders-consumer';

export const roleName = (n: number): string => `storm-consumer-${String(n).padStart(4, '0')}`;

/** The demo account with `distinct` more roles, each a copy of the orders consumer. */
export function stormAccount(distinct: number): AccountSnapshot {
  const demo = parseSnapshot(JSON.parse(readFileSync(path.join(EVENTS, 'accounts', 'demo.json'), 'utf8')));
  const consumer = demo.principals.find((p) => p.arn === CONSUMER_ARN);
  if (!consumer) throw new Error(`the demo snapshot has no ${CONSUMER_ARN}`);
  const copies = Array.from({ length: distinct }, (_, n) => ({
    ...structuredClone(consumer),
    arn: CONSUMER_ARN.replace(CONSUMER_NAME, roleName(n)),
  }));
  return parseSnapshot({ ...demo, principals: [...demo.principals, ...copies] });
}

/** A UUID-shaped id, different for each `n` and `tag` (CloudTrail's eventID has this shape). */
function uuid(tag: string, n: number): string {
  const hex = Buffer.from(`${tag}${n.toString(16)}`)
    .toString('hex')
    .padStart(32, '0')
    .slice(-32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// biome-ignore lint/suspicious/noExplicitAny: the sample event is edited by path
type Json = Record<string, any>;

let template: string | undefined;

/** Role `role`'s denial by session number `session` (0 is its first), with a unique event id. */
export function denial(role: number, session: number): Json {
  template ??= readFileSync(path.join(EVENTS, STORM_EVENT), 'utf8');
  const event = JSON.parse(template.replaceAll(CONSUMER_NAME, roleName(role))) as Json;
  const detail = event.detail;
  const oldSession = 'i-0abc123';
  const newSession = `i-${session.toString(16).padStart(8, '0')}`;
  detail.userIdentity.arn = detail.userIdentity.arn.replace(oldSession, newSession);
  detail.userIdentity.principalId = detail.userIdentity.principalId.replace(oldSession, newSession);
  detail.errorMessage = detail.errorMessage.replace(oldSession, newSession);
  detail.eventID = uuid(`r${role}s`, session);
  event.id = uuid(`eb${role}s`, session);
  return event;
}

/** A fixed shuffle (a linear congruential generator), so a run can be replayed. */
export function shuffled<T>(items: T[], seed = 12345): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
