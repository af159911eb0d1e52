/**
 * Approval tokens: opaque, signed (HMAC-SHA256), expiring, and bound to one proposal, one action and
 * one plan hash. Single use follows from the proposal's status: each action is a conditional
 * transition out of one status, which happens once.
 *
 * Format: `base64url(payload JSON) "." base64url(HMAC-SHA256(secret, payload part))`.
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

function mac(secret: Uint8Array, body: string): Buffer {
  return createHmac('sha256', secret).update(body).digest();
}

/** Signs claims into a token. The secret should be at least 32 random bytes. */
export function signToken(secret: Uint8Array, claims: TokenClaims): string {
  const payload = { p: claims.proposalId, a: claims.action, h: claims.planHash, e: claims.expiresAt };
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${mac(secret, body).toString('base64url')}`;
}

/**
 * Checks a token's signature (in constant time) and expiry, and returns its claims. It does not say
 * whether the claims fit a proposal: the caller compares id, action and plan hash with the stored ones.
 */
export function verifyToken(secret: Uint8Array, token: unknown, nowSeconds: number): TokenCheck {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH)
    return { ok: false, problem: 'malformed' };
  const parts = token.split('.');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return { ok: false, problem: 'malformed' };
  const [body, signature] = parts as [string, string];
  if (!/^[A-Za-z0-9_-]+$/.test(body) || !/^[A-Za-z0-9_-]+$/.test(signature)) {
    return { ok: false, problem: 'malformed' };
  }
  const given = Buffer.from(signature, 'base64url');
  const expected = mac(secret, body);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, problem: 'bad-signature' };
  }
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, problem: 'malformed' };
  }
  const claims = claimsOf(payload);
  if (!claims) return { ok: false, problem: 'malformed' };
  if (claims.expiresAt <= nowSeconds) return { ok: false, problem: 'expired' };
  return { ok: true, claims };
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
