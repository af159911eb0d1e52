/**
 * Sign-in in a real browser (issue 21): the Chromium packed in node_modules (test/helpers/browser.ts)
 * against `keymend local --approvers alice@example.com`, whose in-process OpenID provider
 * (oidc-provider) asks for an e-mail address. An unlisted address signs in and cannot approve (403, the
 * account unchanged); the listed one approves and is named on the page and in the notification; a GET
 * of every link, signed in or not, changes nothing; a reject link's page has no Approve form; Approve
 * is in view at 1280x900 and nothing overflows sideways at 390x844. This test takes the screenshot in
 * docs/approvals.md (a fixed clock keeps it the same while the page is): into docs/ only when
 * KEYMEND_UPDATE_SCREENSHOT=1, so `npm test` never rewrites a tracked file; otherwise into a
 * temporary folder, still checked to be an image.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { type LocalRuntime, startLocal } from '../../cli/local/runtime';
import { loadSnapshot } from '../helpers/accounts';
import { launchBrowser } from '../helpers/browser';
import { loadEvent } from '../helpers/events';

const CLOCK = '2026-12-03T09:00:00.000Z';
const UPDATE_SCREENSHOT = process.env.KEYMEND_UPDATE_SCREENSHOT === '1';
const SCREENSHOT_DIR = UPDATE_SCREENSHOT
  ? path.resolve(__dirname, '../../docs')
  : mkdtempSync(path.join(tmpdir(), 'keymend-screenshot-'));
const SCREENSHOT = path.join(SCREENSHOT_DIR, 'approval-page.png');
const ORDERS_KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ALICE = 'alice@example.com';

jest.setTimeout(120_000);

let browser: Browser;
let local: LocalRuntime;

beforeAll(async () => {
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  if (!UPDATE_SCREENSHOT) rmSync(SCREENSHOT_DIR, { recursive: true, force: true });
});

beforeEach(async () => {
  local = await startLocal({
    snapshot: loadSnapshot('demo'),
    port: 0,
    log: () => {},
    now: () => new Date(CLOCK),
    approvers: [ALICE],
  });
});

afterEach(async () => {
  await local?.close();
});

interface OutboxMessage {
  topic: string;
  subject: string;
  message: string;
}

interface Snapshot {
  keys: Array<{ arn: string; grants?: Array<{ grantId: string }> }>;
}

async function getJson<T>(pathname: string): Promise<T> {
  const response = await fetch(`${local.url}${pathname}`);
  expect(response.status).toBe(200);
  return (await response.json()) as T;
}

async function postDenial(): Promise<void> {
  const response = await fetch(`${local.url}/_local/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(loadEvent('consumer-decrypt-denied-service-role.eventbridge.json')),
  });
  expect((await response.json()) as unknown).toEqual([expect.objectContaining({ outcome: 'proposed' })]);
}

/** The link for `action` in the latest message of `topic` (the review link is chat's). */
async function link(action: 'approve' | 'reject' | 'revoke' | 'review', topic = 'email'): Promise<string> {
  const outbox = await getJson<OutboxMessage[]>('/_local/outbox');
  const last = outbox.filter((m) => m.topic === topic).at(-1);
  const escaped = local.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const found = new RegExp(`${escaped}/p/[A-Za-z0-9_-]+\\?a=${action}&t=[A-Za-z0-9_.-]+`).exec(
    last?.message ?? '',
  );
  if (!found) throw new Error(`no ${action} link in the last ${topic} message`);
  return found[0];
}

/** A fresh browser (no cookies) at a viewport. */
async function newPage(width = 1280, height = 900): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width, height } });
  return { context, page: await context.newPage() };
}

/** Opens `url` without a session: the provider's login page comes, then back to `url` signed in. */
async function openSignedIn(page: Page, url: string, email: string): Promise<void> {
  await page.goto(url);
  expect(page.url().startsWith(local.identityProvider as string)).toBe(true);
  // The one form of the local provider: E-mail and Sign in, no password.
  expect(await page.locator('input').count()).toBe(1);
  expect(await page.locator('input[name="email"][type="text"]').count()).toBe(1);
  expect(await page.locator('input[type="password"]').count()).toBe(0);
  await page.getByLabel('E-mail', { exact: true }).fill(email);
  await Promise.all([
    page.waitForURL((u) => u.href === url),
    page.getByRole('button', { name: 'Sign in', exact: true }).click(),
  ]);
}

/** The browser globals these checks read (the project's TypeScript has no DOM types). */
interface BrowserGlobals {
  document: { documentElement: { scrollWidth: number; clientWidth: number } };
  innerHeight: number;
}

describe('sign-in with keymend local --approvers', () => {
  it('an unlisted address cannot approve (403, nothing changes); the listed one approves and is named', async () => {
    await postDenial();
    const approve = await link('approve');
    const account = await getJson<Snapshot>('/_local/account');
    const outbox = await getJson<OutboxMessage[]>('/_local/outbox');

    const mallory = await newPage();
    await openSignedIn(mallory.page, approve, 'mallory@example.com');
    expect(await mallory.page.locator('body').textContent()).toContain(
      "mallory@example.com, who is not one of this deployment's approvers",
    );
    expect(await mallory.page.getByRole('button', { name: 'Approve', exact: true }).count()).toBe(0);
    // Posting the form anyway, with the browser's session and the link's own token: refused.
    const token = new URL(approve).searchParams.get('t') as string;
    const posted = await mallory.page.request.post(approve.split('?')[0] as string, {
      form: { a: 'approve', t: token },
    });
    expect(posted.status()).toBe(403);
    expect(await posted.text()).toContain('You may not approve this');
    expect(await getJson<Snapshot>('/_local/account')).toEqual(account);
    expect(await getJson<OutboxMessage[]>('/_local/outbox')).toEqual(outbox);
    await mallory.context.close();

    const alice = await newPage(1280, 900);
    await openSignedIn(alice.page, approve, ALICE);
    expect(await alice.page.locator('.who').first().textContent()).toContain(`Signed in as ${ALICE}`);
    const button = alice.page.getByRole('button', { name: 'Approve', exact: true });
    const box = await button.boundingBox();
    // In view without scrolling at 1280x900.
    expect(box && box.y >= 0 && box.y + box.height <= 900).toBe(true);
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await alice.page.screenshot({ path: SCREENSHOT, fullPage: true });
    // A PNG's signature: the page was drawn, whether or not docs/ is updated.
    expect(readFileSync(SCREENSHOT).subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');

    await Promise.all([alice.page.waitForNavigation(), button.click()]);
    const result = (await alice.page.locator('body').textContent()) ?? '';
    expect(await alice.page.locator('h1').textContent()).toMatch(/^Applied:/);
    expect(result).toMatch(new RegExp(`Approved by ${ALICE} \\(signed in, subject local-[0-9a-f]{20}\\)`));
    const grants = (await getJson<Snapshot>('/_local/account')).keys.find(
      (k) => k.arn === ORDERS_KEY,
    )?.grants;
    expect(grants).toHaveLength(1);
    expect(result).toContain(grants?.[0]?.grantId as string);
    expect(await alice.page.locator('a', { hasText: 'the revoke link' }).getAttribute('href')).toMatch(
      /\/p\/[A-Za-z0-9_-]+\?a=revoke&t=/,
    );
    const applied = (await getJson<OutboxMessage[]>('/_local/outbox'))
      .filter((m) => m.topic === 'email')
      .at(-1);
    expect(applied?.subject).toMatch(/^\[acme-orders-prod us-east-1\] keymend: Approved, applied: /);
    expect(applied?.message).toMatch(new RegExp(`Approved by: +${ALICE} \\(signed in, subject local-`));
    await alice.context.close();
  });

  it('a GET of every link, signed in or not, changes nothing; a reject link cannot approve; no overflow at 390 px', async () => {
    await postDenial();
    const links = [await link('approve'), await link('reject'), await link('review', 'chat')];
    const account = await getJson<Snapshot>('/_local/account');
    const outbox = await getJson<OutboxMessage[]>('/_local/outbox');

    // Not signed in: every link (GET and HEAD, as scanners open them) goes to the provider.
    for (const url of links) {
      for (const method of ['GET', 'HEAD']) {
        const response = await fetch(url, { method, redirect: 'manual' });
        expect(response.status).toBe(302);
        expect(response.headers.get('location')?.startsWith(local.identityProvider as string)).toBe(true);
      }
    }

    // Signed in (a phone): every link opens, twice, and nothing overflows sideways.
    const phone = await newPage(390, 844);
    await openSignedIn(phone.page, links[0] as string, ALICE);
    for (const url of links) {
      await phone.page.goto(url);
      await phone.page.reload();
      const { scrollWidth, clientWidth } = await phone.page.evaluate(() => {
        const root = (globalThis as unknown as BrowserGlobals).document.documentElement;
        return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth };
      });
      expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
    }
    await phone.page.goto(links[1] as string);
    expect(await phone.page.getByRole('button', { name: 'Reject', exact: true }).count()).toBe(1);
    expect(await phone.page.getByRole('button', { name: 'Approve', exact: true }).count()).toBe(0);
    expect(await phone.page.locator('input[name="a"][value="approve"]').count()).toBe(0);

    expect(await getJson<Snapshot>('/_local/account')).toEqual(account);
    expect(await getJson<OutboxMessage[]>('/_local/outbox')).toEqual(outbox);
    await phone.context.close();
  });
});
