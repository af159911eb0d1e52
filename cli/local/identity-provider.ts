/**
 * `keymend local --approvers`: an OpenID Connect provider in process, on a free port of 127.0.0.1, so
 * the approval function's sign-in (functions/adapters/sign-in.ts) runs against a real, certified
 * provider (`oidc-provider`) with no account anywhere. Its login page has one form: a text input named
 * `email`, labelled `E-mail`, and a `Sign in` button. There is no password: this is for a developer's
 * machine only. Anyone may sign in with any address; the approval function lets only the listed ones
 * approve.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { escapeHtml } from '../../functions/render/html';

export interface LocalIdentityProvider {
  /** `http://127.0.0.1:PORT`, the issuer. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
}

export interface IdentityProviderOptions {
  /** The approval function's callback, the one redirect URI the client may use. */
  redirectUri: string;
  /** The provider's signing keys (private JWKs); tests pass their own to forge tokens. @default generated */
  jwks?: { keys: Record<string, unknown>[] };
  /** Where the provider's warnings go. @default dropped */
  log?: (message: string) => void;
}

const CLIENT_ID = 'keymend-local';
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

/** The stable subject of an address: what a real provider's `sub` is, an opaque id. */
function subjectOf(email: string): string {
  return `local-${createHash('sha256').update(email.toLowerCase()).digest('hex').slice(0, 20)}`;
}

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  // No form-action: the login form's answer redirects on to keymend's callback, another origin, and
  // form-action governs those redirects too.
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
};

function loginPage(uid: string, client: string, problem = ''): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>keymend local: sign in</title></head>
<body>
<h1>Sign in to ${escapeHtml(client)}</h1>
<p>keymend local's identity provider: no password, any address signs in; only the addresses given to
--approvers may approve. For a developer's machine only.</p>
${problem ? `<p role="alert">${escapeHtml(problem)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label for="email">E-mail</label>
<input type="text" id="email" name="email" autocomplete="email" autofocus>
<button type="submit">Sign in</button>
</form>
</body>
</html>
`;
}

async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 8192) throw new Error('the form is too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * oidc-provider's storage, in memory: what its development adapter does, without the warning that one
 * prints (keymend local is one process, and its sign-ins need not outlive it).
 */
function memoryAdapter() {
  const items = new Map<string, { payload: Record<string, unknown>; expiresAt: number }>();
  const live = (key: string) => {
    const item = items.get(key);
    if (item && item.expiresAt <= Date.now()) items.delete(key);
    return items.get(key)?.payload;
  };
  return class MemoryAdapter {
    constructor(private readonly model: string) {}
    private key(id: string) {
      return `${this.model}:${id}`;
    }
    async upsert(id: string, payload: Record<string, unknown>, expiresIn: number) {
      items.set(this.key(id), { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
    }
    async find(id: string) {
      return live(this.key(id));
    }
    async findByUid(uid: string) {
      for (const [key, item] of items) {
        if (key.startsWith(`${this.model}:`) && item.payload.uid === uid) return live(key);
      }
      return undefined;
    }
    async findByUserCode(userCode: string) {
      for (const [key, item] of items) {
        if (key.startsWith(`${this.model}:`) && item.payload.userCode === userCode) return live(key);
      }
      return undefined;
    }
    async consume(id: string) {
      const payload = live(this.key(id));
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) {
      items.delete(this.key(id));
    }
    async revokeByGrantId(grantId: string) {
      for (const [key, item] of items) if (item.payload.grantId === grantId) items.delete(key);
    }
  };
}

/** A fresh RSA signing key for this run's ID tokens, as a private JWK. */
function signingJwk(): Record<string, unknown> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    ...privateKey.export({ format: 'jwk' }),
    kid: randomBytes(8).toString('hex'),
    alg: 'RS256',
    use: 'sig',
  };
}

/** Starts the provider. Close it with `close()`. */
export async function startIdentityProvider(
  options: IdentityProviderOptions,
): Promise<LocalIdentityProvider> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientSecret = randomBytes(32).toString('base64url');
  /** The address of each subject that signed in (the account id is the subject). */
  const emails = new Map<string, string>();
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: clientSecret,
        redirect_uris: [options.redirectUri],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    async findAccount(_ctx: unknown, id: string) {
      const email = emails.get(id);
      if (email === undefined) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, email, email_verified: true, name: email }) };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    adapter: memoryAdapter(),
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    jwks: options.jwks ?? { keys: [signingJwk()] },
    // Short lives: a local sign-in is a development session.
    ttl: {
      AuthorizationCode: 60,
      AccessToken: 600,
      IdToken: 600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
  });
  const log = options.log ?? (() => {});
  provider.on('server_error', (_ctx, error) => log(`identity provider error: ${String(error)}`));
  const oidc = provider.callback();

  const interaction = async (request: IncomingMessage, response: ServerResponse, path: string) => {
    const details = await provider.interactionDetails(request, response);
    if (details.prompt.name === 'consent') {
      // keymend's own client, on the developer's machine: consent is given, as a first-party app's is.
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session?.accountId, clientId: details.params.client_id });
      if (!grant) throw new Error('the grant of this interaction is gone');
      const missing = details.prompt.details;
      if (Array.isArray(missing.missingOIDCScope)) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (Array.isArray(missing.missingOIDCClaims))
        grant.addOIDCClaims(missing.missingOIDCClaims as string[]);
      for (const [indicator, scopes] of Object.entries(
        (missing.missingResourceScopes as Record<string, string[]>) ?? {},
      )) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      return provider.interactionFinished(request, response, { consent: { grantId: await grant.save() } });
    }
    if (request.method === 'POST' && path.endsWith('/login')) {
      const email = (await readForm(request)).get('email')?.trim() ?? '';
      if (!EMAIL.test(email)) {
        response.writeHead(400, PAGE_HEADERS);
        response.end(loginPage(details.uid, CLIENT_ID, 'Enter an e-mail address.'));
        return;
      }
      const subject = subjectOf(email);
      emails.set(subject, email);
      return provider.interactionFinished(
        request,
        response,
        { login: { accountId: subject } },
        { mergeWithLastSubmission: false },
      );
    }
    response.writeHead(200, PAGE_HEADERS);
    response.end(loginPage(details.uid, CLIENT_ID));
  };

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', issuer).pathname;
    if (!path.startsWith('/interaction/')) return oidc(request, response);
    interaction(request, response, path).catch((error: unknown) => {
      log(`identity provider interaction failed: ${String(error)}`);
      if (!response.headersSent) {
        response.writeHead(400, PAGE_HEADERS);
        response.end('<!DOCTYPE html><title>Sign-in failed</title><p>This sign-in expired. Start again.</p>');
      } else response.end();
    });
  });

  return {
    issuer,
    clientId: CLIENT_ID,
    clientSecret,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
