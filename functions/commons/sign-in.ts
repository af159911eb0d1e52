/**
 * The environment of the approval function's sign-in (issue 21), shared by the handler, which reads
 * it once at cold start (core/sign-in-config.ts), and the CDK construct, which sets it from the context
 * keys `oidcIssuer`, `oidcClientId`, `oidcClientSecretArn`, `approverEmails`, `approverGroups` and
 * `oidcGroupsClaim`. Sign-in is on when the issuer is set.
 */
export const SIGN_IN_ENV = {
  /** The provider's issuer URL (https://...), as its discovery document names it. */
  issuer: 'KEYMEND_OIDC_ISSUER',
  /** The client id keymend is registered with at the provider. */
  clientId: 'KEYMEND_OIDC_CLIENT_ID',
  /** The Secrets Manager ARN of the client secret (the secret string is the client secret itself). */
  clientSecretArn: 'KEYMEND_OIDC_CLIENT_SECRET_ARN',
  /** Comma-separated e-mail addresses that may approve. */
  approverEmails: 'KEYMEND_APPROVER_EMAILS',
  /** Comma-separated group names (values of the groups claim) whose members may approve. */
  approverGroups: 'KEYMEND_APPROVER_GROUPS',
  /** The ID token (or UserInfo) claim holding the groups. Default `groups`. */
  groupsClaim: 'KEYMEND_OIDC_GROUPS_CLAIM',
} as const;

/** The path the provider sends the browser back to (register `<function URL>/auth/callback`). */
export const CALLBACK_PATH = '/auth/callback';
/** The session cookie (a signed token naming the signed-in person). */
export const SESSION_COOKIE = '__Host-keymend-session';
/** The cookie of a sign-in in flight (encrypted: state, nonce, PKCE verifier, the page to return to). */
export const FLOW_COOKIE = '__Host-keymend-signin';

/** A cookie header with the attributes every keymend cookie has. */
export function setCookie(name: string, value: string, maxAgeSeconds: number): string {
  return `${name}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; Secure; SameSite=Lax`;
}
