/**
 * Issue 9's "done when": a thousand denials of one problem (many sessions of one role) and ten distinct
 * problems through `keymend local` over HTTP: eleven diagnoses, eleven notifications per topic, and
 * for the repeats no account read, no publish and at most two DynamoDB requests each.
 */

import { type LocalRuntime, type LocalStats, startLocal } from '../../cli/local/runtime';
import type { OutgoingMessage } from '../../functions/core/ports';
import type { RemediateResult } from '../../functions/flows/remediate';
import {
  DISTINCT_PROBLEMS,
  eventBridgeEvent,
  loadAccount,
  newEventId,
  otherSession,
  STORM_EVENT,
} from '../helpers/denials';
import { postEvents } from '../helpers/local';

// A thousand events through dynalite take some seconds: a generous bound, not a timing assertion.
jest.setTimeout(120_000);

let runtime: LocalRuntime;

beforeAll(async () => {
  runtime = await startLocal({ snapshot: loadAccount('demo.json'), port: 0, log: () => {} });
});
afterAll(() => runtime.close());

const post = (events: unknown[]) => postEvents(runtime, events);

async function get<T>(path: string): Promise<T> {
  const response = await fetch(`${runtime.url}${path}`);
  expect(response.status).toBe(200);
  return (await response.json()) as T;
}

const total = (aws: Record<string, number>) => Object.values(aws).reduce((a, b) => a + b, 0);

/** A fixed shuffle (a linear congruential generator), so a failure can be replayed. */
function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  let seed = 12345;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('keymend local: a storm of one problem and ten other problems', () => {
  it('diagnoses eleven problems, notifies eleven times per topic, and makes repeats nearly free', async () => {
    const storm = eventBridgeEvent(STORM_EVENT);
    const firsts = [storm, ...DISTINCT_PROBLEMS.map((name) => eventBridgeEvent(name))];

    // Each first denial of a problem is diagnosed: it reads the account.
    const results: RemediateResult[] = [];
    for (const event of firsts) {
      const before = total((await get<LocalStats>('/_local/stats')).aws);
      results.push(...(await post([event])));
      expect(total((await get<LocalStats>('/_local/stats')).aws)).toBeGreaterThan(before);
    }
    expect(results.map((r) => r.outcome)).toEqual([
      ...Array(7).fill('proposed'),
      ...Array(4).fill('refused'),
    ]);
    expect(new Set(results.map((r) => r.proposalId)).size).toBe(11);

    const afterFirsts = await get<LocalStats>('/_local/stats');
    const outbox = await get<OutgoingMessage[]>('/_local/outbox');
    const topics = new Set(outbox.map((m) => m.topic));
    expect(topics.has('email')).toBe(true);
    for (const topic of topics) expect(outbox.filter((m) => m.topic === topic)).toHaveLength(11);
    expect(afterFirsts.publishes).toBe(outbox.length);

    // 999 more sessions of the storm's role and five more deliveries of each other problem, mixed.
    const repeats = shuffled([
      ...Array.from({ length: 999 }, (_, n) => otherSession(storm, n + 1)),
      ...firsts
        .slice(1)
        .flatMap((event, i) => Array.from({ length: 5 }, (_, n) => newEventId(event, `p${i}`, n))),
    ]);
    const repeatResults = [...(await post(repeats.slice(0, 500))), ...(await post(repeats.slice(500)))];
    expect(repeatResults).toHaveLength(1049);
    expect(repeatResults.every((r) => r.outcome === 'repeat')).toBe(true);

    const end = await get<LocalStats>('/_local/stats');
    expect(end.aws).toEqual(afterFirsts.aws);
    expect(end.publishes).toBe(afterFirsts.publishes);
    // The warm function counts the repeats in memory, writing a problem's back every hundred: the
    // 1,049 repeats cost about one request in fifty (two per repeat before issue 24).
    expect(end.dynamodb - afterFirsts.dynamodb).toBeLessThanOrEqual(Math.ceil(repeats.length / 20));
    expect(await get<OutgoingMessage[]>('/_local/outbox')).toHaveLength(outbox.length);
    // Written back, every problem's count is exact: its first denial and its repeats.
    await runtime.writeBack();
    const written = await get<LocalStats>('/_local/stats');
    expect(written.dynamodb - end.dynamodb).toBeLessThanOrEqual(11);
    expect(written.aws).toEqual(afterFirsts.aws);
  });

  it('a second delivery of an event is a duplicate: the warm function remembers its id, no request at all', async () => {
    const event = otherSession(eventBridgeEvent(STORM_EVENT), 5000);
    await post([event]);
    const before = await get<LocalStats>('/_local/stats');
    expect(await post([event])).toEqual([{ outcome: 'duplicate', reason: expect.any(String) }]);
    const after = await get<LocalStats>('/_local/stats');
    expect(after.dynamodb - before.dynamodb).toBe(0);
    expect(after.aws).toEqual(before.aws);
  });

  it('answers one result per event for a single event, a non-event, and bad JSON', async () => {
    expect(await post([{ hello: 'world' }])).toEqual([
      { outcome: 'ignored', reason: expect.stringMatching(/^not-cloudtrail/) },
    ]);
    const single = await fetch(`${runtime.url}/_local/events`, {
      method: 'POST',
      body: JSON.stringify(eventBridgeEvent('kms-key-rotation.eventbridge.json')),
    });
    expect(await single.json()).toEqual([{ outcome: 'ignored', reason: expect.any(String) }]);
    const bad = await fetch(`${runtime.url}/_local/events`, { method: 'POST', body: '{' });
    expect(bad.status).toBe(400);
  });

  it('serves the account as it is now, in the snapshot format', async () => {
    const account = await get<{ accountId: string; principals: unknown[] }>('/_local/account');
    expect(account.accountId).toBe('111122223333');
    expect(account.principals.length).toBeGreaterThan(0);
  });
});
