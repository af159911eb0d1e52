/**
 * The approval function's sign-in (functions/adapters/sign-in.ts) against a real OpenID provider:
 * `oidc-provider`, as `keymend local --approvers` runs it (cli/local/identity-provider.ts), logged in
 * over HTTP as a browser would. Each check the flow relies on is made to fail once: state, nonce,
 * PKCE, an ID token from another issuer or for another audience (re-signed with the provider's own key,
 * so only the claim is wrong), an expired or forged session cookie, a provider that is not the issuer.
 */
import { type CryptoKey, decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { type LocalIdentityProvider, startIdentityProvider } from '../../cli/local/identity-provider';
import {
  FLOW_COOKIE,
  OidcSignIn,
  SESSION_COOKIE,
  type SignInOptions,
} from '../../functions/adapters/sign-in';
import { cookieValues } from '../../functions/handlers/sign-in';

const BASE = 'http://127.0.0.1:9'; // the approval function's URL: never contacted, only the callback's base
const REDIRECT = `${BASE}/auth/callback`;
const RETURN = '/p/abc123?a=approve&t=xyz.abc';
const RULE = { emails: ['alice@example.com'], groups: [] };

let idp: LocalIdentityProvider;
let signingKey: CryptoKey;
const KID = 'test-key';

beforeAll(async () => {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  signingKey = privateKey;
  const jwk = { ...(await exportJWK(privateKey)), kid: KID, alg: 'RS256', use: 'sig' };
  idp = await startIdentityProvider({ redirectUri: REDIRECT, jwks: { keys: [jwk] } });
});

afterAll(async () => {
  await idp?.close();
});

function signIn(overrides: Partial<SignInOptions> = {}): OidcSignIn {
  return new OidcSignIn({
    issuer: idp.issuer,
    clientId: idp.clientId,
    clientSecret: async () => idp.clientSecret,
    rule: RULE,
    allowHttpIssuer: true,
    ...overrides,
  });
}

/** `name=value; Path=...` headers as a cookie record. */
function jar(setCookies: string[]): Record<string, string> {
  return cookieValues(setCookies.map((c) => c.split(';')[0] as string));
}

/**
 * Follows the provider's pages as a browser: redirects, then the login form (E-mail, Sign in), until
 * the provider sends the browser to keymend's callback; returns that URL (with code and state).
 */
async function loginAt(authorizationUrl: string, email: string): Promise<URL> {
  const cookies = new Map<string, string>();
  let url = new URL(authorizationUrl);
  let form: string | undefined;
  for (let step = 0; step < 20; step++) {
    const response = await fetch(url, {
      method: form === undefined ? 'GET' : 'POST',
      redirect: 'manual',
      headers: {
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      ...(form === undefined ? {} : { body: form }),
    });
    for (const c of response.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const at = (pair as string).indexOf('=');
      cookies.set((pair as string).slice(0, at), (pair as string).slice(at + 1));
    }
    form = undefined;
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      url = new URL(location, url);
      if (url.href.startsWith(REDIRECT)) return url;
      continue;
    }
    const html = await response.text();
    expect(html).toContain('<label for="email">E-mail</label>');
    expect(html).toContain('<input type="text" id="email" name="email"');
    expect(html).toContain('<button type="submit">Sign in</button>');
    expect(html).not.toMatch(/type="password"/);
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
    url = new URL(action as string, url);
    form = new URLSearchParams({ email }).toString();
  }
  throw new Error('the provider never sent the browser back');
}

/** A whole sign-in up to the callback: the flow cookie and the callback URL. */
async function throughProvider(client: OidcSignIn, email = 'alice@example.com') {
  const started = await client.begin(BASE, RETURN);
  const location = new URL(started.location);
  expect(location.searchParams.get('code_challenge_method')).toBe('S256');
  expect(location.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(location.searchParams.get('state')).toBeTruthy();
  expect(location.searchParams.get('nonce')).toBeTruthy();
  expect(started.cookie).toMatch(
    /^__Host-keymend-signin=[^;]+; Path=\/; Max-Age=600; HttpOnly; Secure; SameSite=Lax$/,
  );
  return { cookies: jar([started.cookie]), callback: await loginAt(started.location, email), location };
}

/** A fetch that re-signs the token endpoint's ID token with the provider's key after `edit`. */
function tamperingFetch(edit: (claims: Record<string, unknown>) => void) {
  return async (url: string, options: RequestInit) => {
    const response = await fetch(url, options);
    if (!url.endsWith('/token') || !response.ok) return response;
    const body = (await response.json()) as { id_token: string };
    const claims = decodeJwt(body.id_token) as Record<string, unknown>;
    edit(claims);
    body.id_token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: KID }).sign(signingKey);
    return new Response(JSON.stringify(body), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  };
}

describe('sign-in against oidc-provider', () => {
  it('authorization code with PKCE: the approver comes back, with a signed HttpOnly Secure SameSite=Lax session', async () => {
    const client = signIn();
    const { cookies, callback } = await throughProvider(client);
    const done = await client.complete(callback, cookies);
    expect(done.returnTo).toBe(RETURN);
    expect(done.approver).toEqual({
      subject: expect.stringMatching(/^local-[0-9a-f]{20}$/),
      email: 'alice@example.com',
      emailVerified: true,
      groups: [],
    });
    const [session, clear] = done.cookies as [string, string];
    expect(session).toMatch(
      /^__Host-keymend-session=[^;]+; Path=\/; Max-Age=1800; HttpOnly; Secure; SameSite=Lax$/,
    );
    expect(clear).toMatch(/^__Host-keymend-signin=; Path=\/; Max-Age=0/);
    expect(await client.session(jar([session]))).toEqual(done.approver);
  });

  it('a re-signed but unchanged ID token passes (so the failures below are the claims, not the re-signing)', async () => {
    const client = signIn({ fetch: tamperingFetch(() => {}) });
    const { cookies, callback } = await throughProvider(client);
    await expect(client.complete(callback, cookies)).resolves.toMatchObject({
      approver: { email: 'alice@example.com' },
    });
  });

  it.each<[string, (claims: Record<string, unknown>) => void, RegExp]>([
    [
      'nonce',
      (c) => {
        c.nonce = 'another-nonce';
      },
      /nonce/,
    ],
    [
      'wrong issuer',
      (c) => {
        c.iss = 'https://idp.attacker.example';
      },
      /iss/,
    ],
    [
      'wrong audience',
      (c) => {
        c.aud = 'another-client';
      },
      /aud/,
    ],
  ])('%s: the ID token is refused', async (_what, edit, message) => {
    const client = signIn({ fetch: tamperingFetch(edit) });
    const { cookies, callback } = await throughProvider(client);
    await expect(client.complete(callback, cookies)).rejects.toThrow(message);
  });

  it('state: a callback whose state is not the one this browser started with is refused', async () => {
    const client = signIn();
    const { cookies, callback } = await throughProvider(client);
    callback.searchParams.set('state', 'forged-state');
    await expect(client.complete(callback, cookies)).rejects.toThrow(/state/);
  });

  it('PKCE: a code obtained in one sign-in cannot be redeemed with another sign-in (its verifier)', async () => {
    const client = signIn();
    const first = await throughProvider(client);
    // A second sign-in in flight (another browser's, say): its cookie and its state, with the first code.
    const second = await client.begin(BASE, RETURN);
    const stolen = new URL(first.callback);
    stolen.searchParams.set('state', new URL(second.location).searchParams.get('state') as string);
    await expect(client.complete(stolen, jar([second.cookie]))).rejects.toThrow(/check/);
    // The code itself was good: the first browser, with its own verifier, could have used it.
    expect(first.callback.searchParams.get('code')).toBeTruthy();
  });

  it('no sign-in cookie, or an expired one: refused', async () => {
    let now = Date.now();
    const client = signIn({ now: () => new Date(now) });
    const { cookies, callback } = await throughProvider(client);
    await expect(client.complete(callback, {})).rejects.toThrow(/missing/);
    now += 11 * 60_000;
    await expect(client.complete(callback, cookies)).rejects.toThrow(/not valid/);
  });

  it('a provider whose issuer is not the configured one is refused at discovery', async () => {
    const client = signIn({ issuer: idp.issuer.replace('127.0.0.1', 'localhost') });
    await expect(client.begin(BASE, RETURN)).rejects.toThrow(/issuer/);
  });
});

describe('the session cookie', () => {
  async function session(now: () => Date = () => new Date()) {
    const client = signIn({ now });
    const { cookies, callback } = await throughProvider(client);
    const done = await client.complete(callback, cookies);
    return { client, cookie: done.cookies[0] as string };
  }

  it('expires after the session length (30 minutes)', async () => {
    let now = Date.now();
    const { client, cookie } = await session(() => new Date(now));
    now += 29 * 60_000;
    expect(await client.session(jar([cookie]))).not.toBeNull();
    now += 2 * 60_000;
    expect(await client.session(jar([cookie]))).toBeNull();
  });

  it('a forged cookie is nobody: another key, an edited payload, another deployment, or a provider token', async () => {
    const { client, cookie } = await session();
    const token = (cookie.split(';')[0] as string).slice(SESSION_COOKIE.length + 1);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const edited = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(payload, 'base64url').toString()),
        email: 'mallory@example.com',
      }),
    ).toString('base64url');
    const otherKey = await new SignJWT({ email: 'alice@example.com' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setIssuer('keymend-approval')
      .setAudience(idp.clientId)
      .setExpirationTime('10m')
      .sign(new Uint8Array(32).fill(1));
    const providerSigned = await new SignJWT({ email: 'alice@example.com' })
      .setProtectedHeader({ alg: 'RS256', kid: KID })
      .setSubject('x')
      .setIssuer('keymend-approval')
      .setAudience(idp.clientId)
      .setExpirationTime('10m')
      .sign(signingKey);
    for (const forged of [`${header}.${edited}.${signature}`, otherKey, providerSigned, 'not-a-jwt']) {
      expect(await client.session({ [SESSION_COOKIE]: forged })).toBeNull();
    }
    const anotherDeployment = signIn({
      clientSecret: async () => 'another-client-secret-of-another-deployment',
    });
    expect(await anotherDeployment.session({ [SESSION_COOKIE]: token })).toBeNull();
    // The genuine one still works, and the sign-in cookie is not a session.
    expect(await client.session({ [SESSION_COOKIE]: token })).not.toBeNull();
    expect(await client.session({ [FLOW_COOKIE]: token })).toBeNull();
  });

  it('keeps only the groups the rule lists', async () => {
    const client = signIn({
      rule: { emails: [], groups: ['kms-approvers'] },
      fetch: tamperingFetch((c) => {
        c.groups = ['everyone', 'kms-approvers'];
      }),
    });
    const { cookies, callback } = await throughProvider(client);
    const done = await client.complete(callback, cookies);
    expect(done.approver.groups).toEqual(['kms-approvers']);
    expect((await client.session(jar([done.cookies[0] as string])))?.groups).toEqual(['kms-approvers']);
  });
});
