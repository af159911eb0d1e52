/**
 * Sign-in with the organization's OpenID Connect provider (issue 21), for the approval function: the
 * authorization-code flow with PKCE, state and nonce, through `openid-client` (a certified relying
 * party library: it checks the ID token's signature, issuer, audience, expiry and nonce, and the state
 * of the callback), and keymend's own short-lived session cookie, signed with `jose`.
 *
 * Cookies (both `HttpOnly; Secure; SameSite=Lax; Path=/`, with the `__Host-` prefix, which binds them
 * to the function URL's host):
 * - `__Host-keymend-signin`: the sign-in in flight (state, nonce, PKCE verifier, the page to return to),
 *   encrypted (JWE, A256GCM), for ten minutes;
 * - `__Host-keymend-session`: the signed-in person (subject, e-mail, the listed groups they are in),
 *   signed (JWS, HS256), for `sessionMinutes`.
 * Both keys are derived (HKDF-SHA256) from the OIDC client secret, which only the approval function
 * reads: nobody without it can forge a session, and rotating the secret ends every session.
 */
import { hkdfSync } from 'node:crypto';
import { EncryptJWT, jwtDecrypt, jwtVerify, SignJWT } from 'jose';
import {
  allowInsecureRequests,
  authorizationCodeGrant,
  buildAuthorizationUrl,
  type Configuration,
  type CustomFetch,
  calculatePKCECodeChallenge,
  customFetch,
  discovery,
  fetchUserInfo,
  randomNonce,
  randomPKCECodeVerifier,
  randomState,
} from 'openid-client';
import { CALLBACK_PATH, FLOW_COOKIE, SESSION_COOKIE, setCookie } from '../commons/sign-in';
import type { Approver, ApproverRule } from '../core/approvers';

export { CALLBACK_PATH, FLOW_COOKIE, SESSION_COOKIE };

/** How long a sign-in may take, from the redirect to the callback. */
const FLOW_SECONDS = 600;
/** keymend's own name in its session tokens (issuer), so no other token can pass for one. */
const SESSION_ISSUER = 'keymend-approval';

export interface SignInOptions {
  /** The provider's issuer URL, exactly as its discovery document says it. */
  issuer: string;
  clientId: string;
  /** The client secret, read once (Secrets Manager in Lambda). */
  clientSecret: () => Promise<string>;
  rule: ApproverRule;
  /** The ID token claim that holds the groups. @default 'groups' */
  groupsClaim?: string;
  /** @default 30 */
  sessionMinutes?: number;
  /** The clock of the session cookies. @default the system clock */
  now?: () => Date;
  /** `keymend local` only: the provider runs on http://127.0.0.1. */
  allowHttpIssuer?: boolean;
  /** For tests: the fetch openid-client uses. */
  fetch?: CustomFetch;
}

/** A sign-in that did not complete (a bad state, a refused code, an ID token that fails a check). */
export class SignInError extends Error {
  override readonly name = 'SignInError';
}

/** A header that deletes the cookie. */
function clearCookie(name: string): string {
  return setCookie(name, '', 0);
}

/** The page to come back to: a proposal's path with its query, nothing else (no open redirect). */
function safeReturn(path: string): string {
  return /^\/p\/[A-Za-z0-9_-]{1,128}(\?[A-Za-z0-9_.=&%-]{0,2048})?$/.test(path) ? path : '/';
}

/** What openid-client refused, in a few words: its message, the claim or parameter, the error code. */
function failedCheck(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { code, cause } = error as Error & { code?: unknown; cause?: unknown };
  const detail: string[] = [];
  if (cause && typeof cause === 'object') {
    const { claim, parameter, message } = cause as Record<string, unknown>;
    if (typeof claim === 'string') detail.push(`claim ${claim}`);
    if (typeof parameter === 'string') detail.push(`parameter ${parameter}`);
    if (cause instanceof Error || typeof message === 'string') detail.push(String(message));
  }
  if (typeof code === 'string') detail.push(code);
  return `${error.message}${detail.length > 0 ? ` (${detail.join('; ')})` : ''}`;
}

export class OidcSignIn {
  private readonly groupsClaim: string;
  private readonly sessionSeconds: number;
  private readonly now: () => Date;
  private config: Promise<Configuration> | undefined;
  private keys: Promise<{ session: Uint8Array; flow: Uint8Array }> | undefined;

  constructor(private readonly options: SignInOptions) {
    this.groupsClaim = options.groupsClaim ?? 'groups';
    this.sessionSeconds = (options.sessionMinutes ?? 30) * 60;
    this.now = options.now ?? (() => new Date());
  }

  /** The provider's configuration, discovered once (again after a failure). */
  private configuration(): Promise<Configuration> {
    this.config ??= (async () => {
      const { issuer, clientId, allowHttpIssuer, fetch } = this.options;
      return discovery(new URL(issuer), clientId, await this.options.clientSecret(), undefined, {
        ...(allowHttpIssuer ? { execute: [allowInsecureRequests] } : {}),
        ...(fetch ? { [customFetch]: fetch } : {}),
      });
    })();
    this.config.catch(() => {
      this.config = undefined;
    });
    return this.config;
  }

  private derivedKeys(): Promise<{ session: Uint8Array; flow: Uint8Array }> {
    this.keys ??= (async () => {
      const secret = await this.options.clientSecret();
      const key = (info: string) =>
        new Uint8Array(hkdfSync('sha256', secret, 'keymend-approval-sign-in', info, 32));
      return { session: key('session'), flow: key('sign-in flow') };
    })();
    this.keys.catch(() => {
      this.keys = undefined;
    });
    return this.keys;
  }

  /**
   * Starts a sign-in: where to send the browser (the provider's authorization endpoint, with a fresh
   * state, nonce and S256 PKCE challenge) and the cookie that remembers them and the page to return to.
   */
  async begin(baseUrl: string, returnTo: string): Promise<{ location: string; cookie: string }> {
    const config = await this.configuration();
    const verifier = randomPKCECodeVerifier();
    const state = randomState();
    const nonce = randomNonce();
    const location = buildAuthorizationUrl(config, {
      redirect_uri: `${baseUrl}${CALLBACK_PATH}`,
      scope: 'openid email profile',
      response_type: 'code',
      code_challenge: await calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const nowSeconds = Math.floor(this.now().getTime() / 1000);
    const flow = await new EncryptJWT({ st: state, no: nonce, cv: verifier, rt: safeReturn(returnTo) })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setIssuedAt(nowSeconds)
      .setExpirationTime(nowSeconds + FLOW_SECONDS)
      .encrypt((await this.derivedKeys()).flow);
    return { location: location.href, cookie: setCookie(FLOW_COOKIE, flow, FLOW_SECONDS) };
  }

  /**
   * Finishes a sign-in at the callback: the code is exchanged with the PKCE verifier, and openid-client
   * checks the state, the ID token (signature, issuer, audience, expiry) and its nonce. Returns the
   * session cookie, the cookie that clears the flow, and where to go back.
   * @throws SignInError when any check fails.
   */
  async complete(
    callbackUrl: URL,
    cookies: Record<string, string>,
  ): Promise<{ approver: Approver; cookies: string[]; returnTo: string }> {
    const flowToken = cookies[FLOW_COOKIE];
    if (!flowToken) throw new SignInError('no sign-in in flight (the sign-in cookie is missing)');
    let flow: Record<string, unknown>;
    try {
      ({ payload: flow } = await jwtDecrypt(flowToken, (await this.derivedKeys()).flow, {
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: ['A256GCM'],
        currentDate: this.now(),
      }));
    } catch (error) {
      throw new SignInError(`the sign-in cookie is not valid: ${(error as Error).message}`);
    }
    const { st, no, cv, rt } = flow;
    if (
      typeof st !== 'string' ||
      typeof no !== 'string' ||
      typeof cv !== 'string' ||
      typeof rt !== 'string'
    ) {
      throw new SignInError('the sign-in cookie is not one keymend made');
    }
    let claims: Record<string, unknown> | undefined;
    try {
      const config = await this.configuration();
      const tokens = await authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: cv,
        expectedState: st,
        expectedNonce: no,
        idTokenExpected: true,
      });
      claims = tokens.claims();
      if (!claims || typeof claims.sub !== 'string' || claims.sub === '') {
        throw new SignInError('the ID token has no subject');
      }
      // Some providers put the e-mail address and the groups in the UserInfo response only (the ID token
      // of a code flow may carry the subject alone): ask it, for the same subject, when they are missing.
      const wantsGroups = this.options.rule.groups.length > 0 && claims[this.groupsClaim] === undefined;
      if ((typeof claims.email !== 'string' || wantsGroups) && config.serverMetadata().userinfo_endpoint) {
        const info = await fetchUserInfo(config, tokens.access_token, claims.sub);
        claims = {
          ...info,
          ...claims,
          email: claims.email ?? info.email,
          email_verified: claims.email_verified ?? info.email_verified,
        };
        if (wantsGroups) claims[this.groupsClaim] = info[this.groupsClaim];
      }
    } catch (error) {
      if (error instanceof SignInError) throw error;
      throw new SignInError(`the provider's answer failed a check: ${failedCheck(error)}`);
    }
    const approver = this.approverOf(claims as Record<string, unknown>);
    return {
      approver,
      cookies: [await this.sessionCookie(approver), clearCookie(FLOW_COOKIE)],
      returnTo: rt,
    };
  }

  /** The approver from ID token claims: the groups kept are the listed ones only (a small cookie). */
  private approverOf(claims: Record<string, unknown>): Approver {
    const raw = claims[this.groupsClaim];
    const groups = Array.isArray(raw) ? raw.filter((g): g is string => typeof g === 'string') : [];
    return {
      subject: claims.sub as string,
      email: typeof claims.email === 'string' ? claims.email : '',
      emailVerified: claims.email_verified !== false,
      groups: groups.filter((group) => this.options.rule.groups.includes(group)),
    };
  }

  private async sessionCookie(approver: Approver): Promise<string> {
    const nowSeconds = Math.floor(this.now().getTime() / 1000);
    const token = await new SignJWT({
      email: approver.email,
      ev: approver.emailVerified,
      grp: approver.groups,
    })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(approver.subject)
      .setIssuer(SESSION_ISSUER)
      .setAudience(this.options.clientId)
      .setIssuedAt(nowSeconds)
      .setExpirationTime(nowSeconds + this.sessionSeconds)
      .sign((await this.derivedKeys()).session);
    return setCookie(SESSION_COOKIE, token, this.sessionSeconds);
  }

  /** The signed-in approver of a genuine, unexpired session cookie; null otherwise. */
  async session(cookies: Record<string, string>): Promise<Approver | null> {
    const token = cookies[SESSION_COOKIE];
    if (!token) return null;
    try {
      const { payload } = await jwtVerify(token, (await this.derivedKeys()).session, {
        algorithms: ['HS256'],
        issuer: SESSION_ISSUER,
        audience: this.options.clientId,
        currentDate: this.now(),
      });
      if (typeof payload.sub !== 'string') return null;
      const groups = Array.isArray(payload.grp) ? payload.grp.filter((g) => typeof g === 'string') : [];
      return {
        subject: payload.sub,
        email: typeof payload.email === 'string' ? payload.email : '',
        emailVerified: payload.ev !== false,
        groups,
      };
    } catch {
      return null;
    }
  }
}
