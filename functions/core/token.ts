/**
 * Approval tokens: opaque, signed (HMAC-SHA256), expiring, and bound to one proposal, one action and
 * one plan hash. Single use follows from the proposal's status: each action is a conditional
 * transition out of one status, which happens once.
 *
 * Format: `base64url(payload JSON) "." base64url(HMAC-SHA256(key, payload part))`. Two keys sign
 * them (`signingKeyFor`): approve, reject and review links with the decision key, revoke links with the
 * revoke key, which only the approval function can use. Deployed, both are KMS HMAC keys
 * (adapters/link-signer.ts: the key material never leaves KMS); `signToken` / `verifyToken` below
 * compute the same HMAC in-process, for `keymend local`'s stand-in and the tests.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a POST may do. */
export type ApprovalAction = 'approve' | 'reject' | 'revoke';
export const APPROVAL_ACTIONS: readonly ApprovalAction[] = ['approve', 'reject', 'revoke'];
/**
 * What a link may be for: an action, or `review`, which only shows the page (the chat message's link:
 * a channel is not an approver list, so its link can decide nothing by itself).
 */
export type LinkAction = ApprovalAction | 'review';
export const LINK_ACTIONS: readonly LinkAction[] = [...APPROVAL_ACTIONS, 'review'];

export interface TokenClaims {
  proposalId: string;
  action: LinkAction;
  /** The plan hash the action is bound to ('' for a reject of a proposal without a plan). */
  planHash: string;
  /** Expiry, epoch seconds. */
  expiresAt: number;
}

/** Why a token was refused, for the 4xx page and the audit trail. */
export type TokenProblem = 'malformed' | 'bad-signature' | 'expired';

export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; problem: TokenProblem };

/** Longest token accepted: anything longer is not one of keymend's. */
export const MAX_TOKEN_LENGTH = 1024;

/** The two signing keys: one for the decisions on a pending proposal, one for undoing an applied one. */
export type SigningKeyName = 'decision' | 'revoke';

/** The key that signs (and verifies) a token for `action`. */
export function signingKeyFor(action: LinkAction): SigningKeyName {
  return action === 'revoke' ? 'revoke' : 'decision';
}

/** The payload part of a token: what the MAC is computed over. */
export function tokenBody(claims: TokenClaims): string {
  const payload = { p: claims.proposalId, a: claims.action, h: claims.planHash, e: claims.expiresAt };
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

/** A token split into its payload part, its MAC and its claims, none of them checked yet. */
export type SplitToken =
  | { ok: true; body: string; mac: Buffer; claims: TokenClaims }
  | { ok: false; problem: TokenProblem };

/**
 * Splits a token without checking its MAC: the claimed action says which key must have signed it.
 * A payload that does not read as claims is `malformed`, whoever signed it.
 */
export function splitToken(token: unknown): SplitToken {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH)
    return { ok: false, problem: 'malformed' };
  const parts = token.split('.');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return { ok: false, problem: 'malformed' };
  const [body, signature] = parts as [string, string];
  if (!/^[A-Za-z0-9_-]+$/.test(body) || !/^[A-Za-z0-9_-]+$/.test(signature)) {
    return { ok: false, problem: 'malformed' };
  }
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, problem: 'malformed' };
  }
  const claims = claimsOf(payload);
  if (!claims) return { ok: false, problem: 'malformed' };
  return { ok: true, body, mac: Buffer.from(signature, 'base64url'), claims };
}

/** The claims of a token whose MAC was found genuine, unless they have expired. */
export function unexpired(claims: TokenClaims, nowSeconds: number): TokenCheck {
  return claims.expiresAt <= nowSeconds ? { ok: false, problem: 'expired' } : { ok: true, claims };
}

/** The token of `claims` with the given MAC. */
export function joinToken(claims: TokenClaims, mac: Uint8Array): string {
  return `${tokenBody(claims)}.${Buffer.from(mac).toString('base64url')}`;
}

function mac(secret: Uint8Array, body: string): Buffer {
  return createHmac('sha256', secret).update(body).digest();
}

/** Signs claims into a token. The secret should be at least 32 random bytes. */
export function signToken(secret: Uint8Array, claims: TokenClaims): string {
  return joinToken(claims, mac(secret, tokenBody(claims)));
}

/**
 * Checks a token's signature (in constant time) and expiry, and returns its claims. It does not say
 * whether the claims fit a proposal: the caller compares id, action and plan hash with the stored ones.
 */
export function verifyToken(secret: Uint8Array, token: unknown, nowSeconds: number): TokenCheck {
  const split = splitToken(token);
  if (!split.ok) return split;
  const expected = mac(secret, split.body);
  if (split.mac.length !== expected.length || !timingSafeEqual(split.mac, expected)) {
    return { ok: false, problem: 'bad-signature' };
  }
  return unexpired(split.claims, nowSeconds);
}

function claimsOf(payload: unknown): TokenClaims | null {
  if (typeof payload !== 'object' || payload === null) return null;
  const { p, a, h, e } = payload as Record<string, unknown>;
  if (typeof p !== 'string' || typeof h !== 'string' || typeof e !== 'number' || !Number.isSafeInteger(e)) {
    return null;
  }
  if (!LINK_ACTIONS.includes(a as LinkAction)) return null;
  return { proposalId: p, action: a as LinkAction, planHash: h, expiresAt: e };
}
