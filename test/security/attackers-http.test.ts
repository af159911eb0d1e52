/**
 * The attacks of attackers.test.ts, sent as an attacker outside the process would: over HTTP to
 * `keymend local` (startLocal, in-process on a free port), which wires the same handlers to dynalite,
 * the snapshot-backed account and an outbox. Only what the HTTP interface shows is used to judge.
 */
import { type LocalRuntime, startLocal } from '../../cli/local/runtime';
import type { OutgoingMessage } from '../../functions/core/ports';
import { eventBridgeEvent, loadAccount, STORM_EVENT } from '../helpers/denials';
import { linkIn } from '../helpers/flow-ports';

// biome-ignore lint/suspicious/noExplicitAny: events are edited field by field, as an attacker would.
type Json = Record<string, any>;
type Result = { outcome: string; proposalId?: string; reason?: string };

const HOUR = 3_600_000;

interface Local {
  runtime: LocalRuntime;
  advance(ms: number): void;
}

const started: LocalRuntime[] = [];
afterAll(async () => {
  await Promise.all(started.map((r) => r.close()));
});

async function local(
  snapshot = 'demo.json',
  options: { mode?: 'propose' | 'auto'; autoApplyPrincipals?: string[] } = {},
): Promise<Local> {
  let now = Date.parse('2026-12-03T10:00:00.000Z');
  const runtime = await startLocal({
    snapshot: loadAccount(snapshot),
    port: 0,
    log: () => {},
    now: () => new Date(now),
    ...options,
  });
  started.push(runtime);
  return {
    runtime,
    advance: (ms) => {
      now += ms;
    },
  };
}

async function send(l: Local, events: unknown): Promise<Result[]> {
  const response = await fetch(`${l.runtime.url}/_local/events`, {
    method: 'POST',
    body: JSON.stringify(events),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Result[];
}

async function getJson<T>(l: Local, path: string): Promise<T> {
  return (await (await fetch(`${l.runtime.url}${path}`)).json()) as T;
}

const outbox = (l: Local) => getJson<OutgoingMessage[]>(l, '/_local/outbox');
const account = (l: Local) => getJson<Json>(l, '/_local/account');
const writes = async (l: Local) =>
  Object.entries(
    await getJson<{ aws: Record<string, number> }>(l, '/_local/stats').then((s) => s.aws),
  ).filter(([a]) =>
    /^(kms:(CreateGrant|RevokeGrant|RetireGrant|PutKeyPolicy)|iam:(Put|Delete)(Role|User)Policy)$/.test(a),
  );

/** POSTs a form to a link's path, as the review page's form would (or an attacker's). */
function postForm(url: URL, form: Record<string, string>): Promise<Response> {
  return fetch(`${url.origin}${url.pathname}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
}

const formOf = (url: URL, overrides: Record<string, string> = {}) => ({
  a: url.searchParams.get('a') ?? '',
  t: url.searchParams.get('t') ?? '',
  ...overrides,
});

async function propose(l: Local, event: Json = eventBridgeEvent(STORM_EVENT)) {
  const [result] = await send(l, [event]);
  expect(result?.outcome).toBe('proposed');
  const email = (await outbox(l)).filter((m) => m.topic === 'email').at(-1);
  return {
    id: result?.proposalId as string,
    approve: linkIn(email, 'approve'),
    reject: linkIn(email, 'reject'),
  };
}

describe('keymend local over HTTP, as an attacker would send it', () => {
  it('a forged Kinesis context, or a perfect denial from a custom source: refused or ignored, nothing written', async () => {
    const l = await local('forged-context.json', {
      mode: 'auto',
      autoApplyPrincipals: ['arn:aws:iam::111122223333:user/*', 'arn:aws:iam::111122223333:role/*'],
    });
    const direct = eventBridgeEvent('direct-decrypt-kinesis-context-not-via-kinesis.record.json');
    const custom = eventBridgeEvent(STORM_EVENT);
    custom.source = 'com.example.attacker';
    custom.detail.userIdentity.invokedBy = 'kinesis.amazonaws.com';
    const [forged, fromCustomBus] = await send(l, [direct, custom]);
    expect(forged?.outcome).toBe('refused');
    expect(fromCustomBus).toMatchObject({
      outcome: 'ignored',
      reason: expect.stringMatching(/^not-from-kms/),
    });
    expect(await writes(l)).toEqual([]);
  });

  it('auto mode on an AWS-managed key, the root, a service or another account: never applied', async () => {
    const l = await local('demo.json', {
      mode: 'auto',
      autoApplyPrincipals: ['arn:aws:iam::*:role/*', 'arn:aws:iam::*:user/*'],
    });
    const service = eventBridgeEvent(STORM_EVENT);
    service.detail.userIdentity = { type: 'AWSService', invokedBy: 'kinesis.amazonaws.com' };
    const results = await send(l, [
      eventBridgeEvent('legacy-decrypt-denied-aws-managed-key.record.json'),
      eventBridgeEvent('root-decrypt-denied-via-kinesis.record.json'),
      service,
      eventBridgeEvent('cross-account-decrypt-denied.eventbridge.json'),
    ]);
    expect(results.map((r) => r.outcome)).not.toContain('applied');
    expect(await writes(l)).toEqual([]);
  });

  it('tokens: forged, crossed, tampered, expired and replayed are refused; GET and HEAD change nothing', async () => {
    const l = await local();
    const first = await propose(l);
    const second = await propose(l, eventBridgeEvent('producer-generatedatakey-denied.record.json'));
    const before = JSON.stringify([await account(l), await outbox(l)]);

    // A mail scanner fetching every link, with every method that must not act.
    for (const url of [first.approve, first.reject, second.approve]) {
      for (const method of ['GET', 'HEAD']) expect((await fetch(url, { method })).status).toBe(200);
    }
    const t = first.approve.searchParams.get('t') as string;
    const refused = [
      await postForm(first.approve, formOf(first.approve, { t: `${t.slice(0, -2)}AA` })),
      await postForm(first.approve, formOf(first.approve, { t: 'forged.token.here' })),
      await postForm(second.approve, formOf(second.approve, { t })),
      await postForm(first.reject, formOf(first.reject, { a: 'approve' })),
      await postForm(first.approve, formOf(first.approve, { a: 'reject' })),
      await fetch(`${first.approve.origin}${first.approve.pathname}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: new URLSearchParams(formOf(first.approve)).toString(),
      }),
    ];
    for (const response of refused) {
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
    }
    expect(JSON.stringify([await account(l), await outbox(l)])).toBe(before);

    // The real link still works once; its replay does not.
    expect((await postForm(first.approve, formOf(first.approve))).status).toBe(200);
    expect((await postForm(first.approve, formOf(first.approve))).status).toBe(409);
    expect(await writes(l)).toEqual([['kms:CreateGrant', 1]]);

    l.advance(73 * HOUR);
    expect((await postForm(second.approve, formOf(second.approve))).status).toBe(410);
    expect(await writes(l)).toEqual([['kms:CreateGrant', 1]]);
  });

  it('ten simultaneous approvals apply once; one event twice in one delivery is processed once', async () => {
    const l = await local();
    const event = eventBridgeEvent(STORM_EVENT);
    const results = await send(l, [event, event]);
    expect(results.map((r) => r.outcome).sort()).toEqual(['duplicate', 'proposed']);
    const email = (await outbox(l)).find((m) => m.topic === 'email');
    const approve = linkIn(email, 'approve');
    const responses = await Promise.all(Array.from({ length: 10 }, () => postForm(approve, formOf(approve))));
    expect(responses.map((r) => r.status).sort()).toEqual([200, ...Array(9).fill(409)]);
    const grants = (await account(l)).keys.flatMap((k: Json) => k.grants ?? []);
    expect(grants).toHaveLength(1);
  });

  it('injection through the event: neutralised in the e-mail, the chat message and the review page', async () => {
    const l = await local();
    const event = eventBridgeEvent(STORM_EVENT);
    const payload =
      '<script>alert(1)</script> [x](https://evil.example) <!channel> \r\nBcc: v@example.com \u202e';
    event.detail.errorMessage = `${event.detail.errorMessage} ${payload}`;
    event.detail.userAgent = payload;
    const { approve } = await propose(l, event);
    const messages = await outbox(l);
    const email = messages.find((m) => m.topic === 'email') as OutgoingMessage;
    const chat = messages.find((m) => m.topic === 'chat') as OutgoingMessage;
    expect(email.subject).toMatch(/^[\x20-\x7e]{1,99}$/);
    expect(email.message).not.toMatch(/^Bcc:|\u202e|https:\/\/evil/m);
    const content = JSON.stringify(JSON.parse(chat.message).content);
    expect(content).not.toMatch(/<script>|<!channel>|\[x\]\(https:\/\/evil/);
    const page = await (await fetch(approve)).text();
    expect(page).not.toMatch(/<script>alert|\u202e/);
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });
});
