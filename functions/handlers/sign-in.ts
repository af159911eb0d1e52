/**
 * Sign-in in front of the approval flow (issue 21), when the deployment turns it on: the callback from
 * the provider, the redirect of a GET without a session to the provider (and back to the same page:
 * it changes nothing), and the signed-in approver of every other request, which the flow checks
 * against the approver list before a POST may act. Wiring only: the protocol is adapters/sign-in.ts
 * (openid-client, jose), loaded on first use, so a deployment without sign-in never evaluates it.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { clientConfig } from '../adapters/client-config';
import { clientSecretReader } from '../adapters/client-secret';
import { CALLBACK_PATH, FLOW_COOKIE, setCookie } from '../commons/sign-in';
import type { Approver, ApproverRule } from '../core/approvers';
import { parseSignInConfig } from '../core/sign-in-config';
import type { FlowLog } from '../flows/context';

/** What the handler needs of adapters/sign-in.ts's OidcSignIn. */
export interface SignInClient {
  begin(baseUrl: string, returnTo: string): Promise<{ location: string; cookie: string }>;
  complete(
    callbackUrl: URL,
    cookies: Record<string, string>,
  ): Promise<{ approver: Approver; cookies: string[]; returnTo: string }>;
  session(cookies: Record<string, string>): Promise<Approver | null>;
}

/** Sign-in as the handler holds it: who may approve, and the client, made on first use. */
export interface SignInGate {
  rule: ApproverRule;
  client(): Promise<SignInClient>;
}

/** The request, as far as sign-in reads it. */
export interface SignInRequest {
  method: string;
  path: string;
  /** The raw query string, without `?`. */
  query: string;
  cookies: Record<string, string>;
  /** Where the function is reached (the callback's base). */
  baseUrl: string;
}

export type SignInStep =
  /** Answer with a redirect (to the provider, or back to the page after the callback). */
  | { kind: 'redirect'; location: string; cookies: string[] }
  /** The callback failed a check: a 403 page, and the sign-in cookie cleared. */
  | { kind: 'failed'; cookies: string[] }
  /** Go on to the flow, with the signed-in person or nobody. */
  | { kind: 'continue'; approver: Approver | null };

/** The cookie header that ends a sign-in in flight. */
const CLEAR_FLOW = setCookie(FLOW_COOKIE, '', 0);
const PROPOSAL_PATH = /^\/p\/[A-Za-z0-9_-]{1,128}\/?$/;

/** Cookie values by name, from `name=value` strings (a function URL event's `cookies`). */
export function cookieValues(cookies: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const cookie of cookies ?? []) {
    for (const part of cookie.split(';')) {
      const at = part.indexOf('=');
      if (at <= 0) continue;
      const name = part.slice(0, at).trim();
      if (!Object.hasOwn(out, name)) out[name] = part.slice(at + 1).trim();
    }
  }
  return out;
}

/** What sign-in does with one request, before the flow sees it. */
export async function signInStep(
  gate: SignInGate,
  request: SignInRequest,
  log: FlowLog,
): Promise<SignInStep> {
  const client = await gate.client();
  const method = request.method.toUpperCase();
  if (request.path === CALLBACK_PATH && (method === 'GET' || method === 'HEAD')) {
    const url = new URL(`${request.baseUrl}${CALLBACK_PATH}${request.query ? `?${request.query}` : ''}`);
    try {
      const done = await client.complete(url, request.cookies);
      log.info('signed in', { approverSubject: done.approver.subject, approverEmail: done.approver.email });
      return { kind: 'redirect', location: done.returnTo, cookies: done.cookies };
    } catch (error) {
      log.warn('sign-in failed', { error: error instanceof Error ? error.message : String(error) });
      return { kind: 'failed', cookies: [CLEAR_FLOW] };
    }
  }
  const approver = await client.session(request.cookies);
  if (!approver && (method === 'GET' || method === 'HEAD') && PROPOSAL_PATH.test(request.path)) {
    // A link opened without a session: to the provider, and back to this very page. Nothing is written.
    const started = await client.begin(
      request.baseUrl,
      `${request.path}${request.query ? `?${request.query}` : ''}`,
    );
    return { kind: 'redirect', location: started.location, cookies: [started.cookie] };
  }
  return { kind: 'continue', approver };
}

/**
 * The deployed function's sign-in, from its environment (read once, at cold start): null when the
 * deployment has none. The client secret is read from Secrets Manager, and openid-client loaded, at
 * the first request that needs them.
 * @throws ConfigError naming the variable when the configuration is incomplete or wrong.
 */
export function signInGateFromEnv(env: Readonly<Record<string, string | undefined>>): SignInGate | null {
  const config = parseSignInConfig(env);
  if (!config) return null;
  const clientSecret = clientSecretReader(
    new SecretsManagerClient(clientConfig({ region: env.AWS_REGION ?? '' })),
    config.clientSecretArn,
  );
  let client: Promise<SignInClient> | undefined;
  return {
    rule: config.rule,
    client: () => {
      client ??= import('../adapters/sign-in').then(
        ({ OidcSignIn }) =>
          new OidcSignIn({
            issuer: config.issuer,
            clientId: config.clientId,
            clientSecret,
            rule: config.rule,
            groupsClaim: config.groupsClaim,
          }),
      );
      return client;
    },
  };
}
