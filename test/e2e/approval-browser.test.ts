import type { Browser, Page } from 'playwright-core';
import { type LocalRuntime, startLocal } from '../../cli/local/runtime';
import { loadSnapshot } from '../helpers/accounts';
import { launchBrowser } from '../helpers/browser';
import { loadEvent } from '../helpers/events';

const CLOCK = '2026-12-03T09:00:00.000Z';
const STREAM = 'arn:aws:kinesis:us-east-1:111122223333:stream/orders';
const CONSUMER = 'arn:aws:iam::111122223333:role/service-role/orders-consumer';
const ORDERS_KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

jest.setTimeout(90_000);

let browser: Browser;
let local: LocalRuntime;

beforeAll(async () => {
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

beforeEach(async () => {
  local = await startLocal({
    snapshot: loadSnapshot('demo'),
    port: 0,
    log: () => {},
    // A fixed clock keeps the page, and so the screenshot, the same on every run.
    now: () => new Date(CLOCK),
  });
});

afterEach(async () => {
  await local?.close();
});

async function getJson<T>(pathname: string): Promise<T> {
  const response = await fetch(`${local.url}${pathname}`);
  expect(response.status).toBe(200);
  return (await response.json()) as T;
}

interface OutboxMessage {
  topic: string;
  subject: string;
  message: string;
}

/** The link of `label` in the latest e-mail (`Approve: http://...`, or any line naming the action). */
async function linkFromOutbox(action: 'approve' | 'reject' | 'revoke'): Promise<string> {
  const outbox = await getJson<OutboxMessage[]>('/_local/outbox');
  const emails = outbox.filter((m) => m.topic === 'email');
  const last = emails.at(-1);
  if (!last) throw new Error('no e-mail in the outbox');
  const pattern = new RegExp(`${escapeRegExp(local.url)}/p/[A-Za-z0-9_-]+\\?a=${action}&t=[A-Za-z0-9_.-]+`);
  const link = pattern.exec(last.message)?.[0];
  if (!link) throw new Error(`no ${action} link in the e-mail:\n${last.message}`);
  return link;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function postDenial(): Promise<void> {
  const response = await fetch(`${local.url}/_local/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(loadEvent('consumer-decrypt-denied-service-role.eventbridge.json')),
  });
  expect(response.status).toBe(200);
  const results = (await response.json()) as Array<{ outcome: string }>;
  expect(results.map((r) => r.outcome)).toEqual(['proposed']);
}

/** Opens a page that records CSP violations and script errors, which a correct page has none of. */
async function openPage(): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(String(error)));
  return { page, problems };
}

/** The one browser global the test reads (the project's TypeScript has no DOM types). */
interface BrowserGlobals {
  getComputedStyle(element: unknown): { backgroundColor: string };
}

interface Snapshot {
  keys: Array<{ arn: string; grants?: unknown[] }>;
}

describe('approval link in a real browser', () => {
  it('opens the link from the e-mail, shows the change, applies exactly the planned grant on Approve', async () => {
    const before = await getJson<Snapshot>('/_local/account');
    await postDenial();
    const link = await linkFromOutbox('approve');
    const { page, problems } = await openPage();

    const response = await page.goto(link);
    expect(response?.status()).toBe(200);
    const headers = response?.headers() ?? {};
    expect(headers['content-security-policy']).toContain("default-src 'none'");
    expect(headers['cache-control']).toBe('no-store');
    expect(headers['x-frame-options']).toBe('DENY');
    const body = await page.locator('body').textContent();
    expect(body).toContain(CONSUMER);
    expect(body).toContain('kms:Decrypt');
    expect(body).toContain('alias/orders');
    expect(body).toContain(`"aws:kinesis:arn": "${STREAM}"`);
    // The style is allowed by its CSP hash: if it were blocked the button would not be green.
    const approve = page.getByRole('button', { name: 'Approve', exact: true });
    expect(
      await approve.evaluate(
        (b) => (globalThis as unknown as BrowserGlobals).getComputedStyle(b).backgroundColor,
      ),
    ).toBe('rgb(29, 107, 44)');
    await expect(page.getByRole('button', { name: 'Reject', exact: true }).count()).resolves.toBe(1);

    await Promise.all([page.waitForNavigation(), approve.click()]);
    expect(await page.locator('h1').textContent()).toMatch(/^Applied:/);
    expect(await page.locator('body').textContent()).toContain('five minutes');
    expect(problems).toEqual([]);

    const after = await getJson<Snapshot>('/_local/account');
    const orders = after.keys.find((k) => k.arn === ORDERS_KEY);
    expect(orders?.grants).toEqual([
      {
        grantId: expect.any(String),
        name: 'keymend-Decrypt-orders',
        granteePrincipal: CONSUMER,
        operations: ['Decrypt'],
        constraints: { encryptionContextSubset: { 'aws:kinesis:arn': STREAM } },
        retiringPrincipal: expect.stringMatching(/:role\/keymend\//),
      },
    ]);
    // Nothing else in the account changed.
    const withoutGrant = structuredClone(after);
    for (const key of withoutGrant.keys) {
      if (key.arn === ORDERS_KEY) key.grants = before.keys.find((k) => k.arn === ORDERS_KEY)?.grants ?? [];
    }
    const normalize = (s: Snapshot) =>
      JSON.stringify(s, (k, v) => (k === 'grants' && v?.length === 0 ? undefined : v));
    expect(normalize(withoutGrant)).toBe(normalize(before));
    await page.context().close();
  });

  it('opening the link and prefetching it with GET and HEAD changes nothing', async () => {
    await postDenial();
    const link = await linkFromOutbox('approve');
    const account = await getJson<unknown>('/_local/account');
    const outbox = await getJson<unknown[]>('/_local/outbox');

    const { page } = await openPage();
    await page.goto(link);
    await page.reload();
    for (const method of ['GET', 'HEAD', 'GET']) {
      const response = await fetch(link, { method, headers: { 'user-agent': 'SafeLinks-Scanner/1.0' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      if (method === 'HEAD') expect(await response.text()).toBe('');
    }

    expect(await getJson<unknown>('/_local/account')).toEqual(account);
    expect(await getJson<unknown[]>('/_local/outbox')).toEqual(outbox);
    // Still waiting for a decision: the page offers Approve again.
    await page.goto(link);
    await expect(page.getByRole('button', { name: 'Approve', exact: true }).count()).resolves.toBe(1);
    expect(await page.locator('.status').textContent()).toBe('pending');
    await page.context().close();
  });

  it('revokes an applied grant from the link in the applied e-mail', async () => {
    const before = await getJson<Snapshot>('/_local/account');
    await postDenial();
    const { page } = await openPage();
    await page.goto(await linkFromOutbox('approve'));
    await Promise.all([
      page.waitForNavigation(),
      page.getByRole('button', { name: 'Approve', exact: true }).click(),
    ]);
    expect(await page.locator('h1').textContent()).toMatch(/^Applied:/);
    const applied = await getJson<Snapshot>('/_local/account');
    expect(applied.keys.find((k) => k.arn === ORDERS_KEY)?.grants).toHaveLength(1);

    const revoke = await linkFromOutbox('revoke');
    await page.goto(revoke);
    expect(await page.locator('.status').textContent()).toBe('applied');
    await expect(page.getByRole('button', { name: 'Approve', exact: true }).count()).resolves.toBe(0);
    await Promise.all([
      page.waitForNavigation(),
      page.getByRole('button', { name: 'Revoke', exact: true }).click(),
    ]);
    expect(await page.locator('h1').textContent()).toMatch(/^Revoked:/);

    const after = await getJson<Snapshot>('/_local/account');
    expect(after.keys.find((k) => k.arn === ORDERS_KEY)?.grants ?? []).toEqual(
      before.keys.find((k) => k.arn === ORDERS_KEY)?.grants ?? [],
    );
    // The used revoke link does nothing more.
    await page.goto(revoke);
    await expect(page.getByRole('button', { name: 'Revoke', exact: true }).count()).resolves.toBe(0);
    await page.context().close();
  });
});
