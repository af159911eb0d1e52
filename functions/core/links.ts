/**
 * The approval links in notifications, and their format, which the approval function parses.
 *
 * One path per proposal, `/p/<proposalId>`, with the action and its signed token in the query:
 *   approve  `${base}/p/${id}?a=approve&t=${approveToken}`
 *   reject   `${base}/p/${id}?a=reject&t=${rejectToken}`
 *   revoke   `${base}/p/${id}?a=revoke&t=${revokeToken}`
 *   review   `${base}/p/${id}?a=review&t=${reviewToken}`: shows the page and decides nothing by itself
 *            (chat carries only this one: a channel is not an approver list)
 * A GET of any of them only renders the page, whose form POSTs the same `a` and `t` back to the same
 * path; only the POST acts. Each token is signToken(secret, {proposalId, action, planHash, expiresAt})
 * (core/token.ts): bound to the proposal, the action and the exact plan, and expiring.
 *
 * Pure: the secret and the expiry come in as arguments.
 */
import type { ProposalLinks } from './ports';
import type { Proposal } from './proposal';
import { type LinkAction, signToken } from './token';

/** The path of a proposal's page: `/p/` and the id. */
export const PROPOSAL_PATH_PREFIX = '/p/';
/** The query parameter naming the action. */
export const ACTION_PARAM = 'a';
/** The query parameter holding the token. */
export const TOKEN_PARAM = 't';

/** Where links point and how long they work. */
export interface LinkSettings {
  /** The approval function's base URL (no trailing slash needed). */
  baseUrl: string;
  /** @default 72 */
  ttlHours: number;
}

/** The time a link made now stops working. */
export function linkExpiry(now: Date, ttlHours: number): Date {
  return new Date(now.getTime() + ttlHours * 3_600_000);
}

/** The URL of one action on one proposal. */
export function actionUrl(baseUrl: string, proposalId: string, action: LinkAction, token: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  return `${base}${PROPOSAL_PATH_PREFIX}${encodeURIComponent(proposalId)}?${ACTION_PARAM}=${action}&${TOKEN_PARAM}=${encodeURIComponent(token)}`;
}

/**
 * The links of a proposal in its current status: review, approve and reject while `pending`, review and
 * revoke once `applied`; null in every other status (nothing left to decide). Every token expires at
 * `expiresAt`.
 */
export function proposalLinks(
  secret: Uint8Array,
  proposal: Pick<Proposal, 'id' | 'status' | 'planHash'>,
  baseUrl: string,
  expiresAt: Date,
): ProposalLinks | null {
  const expiresAtSeconds = Math.floor(expiresAt.getTime() / 1000);
  const link = (action: LinkAction) =>
    actionUrl(
      baseUrl,
      proposal.id,
      action,
      signToken(secret, {
        proposalId: proposal.id,
        action,
        planHash: proposal.planHash ?? '',
        expiresAt: expiresAtSeconds,
      }),
    );
  const expires = new Date(expiresAtSeconds * 1000).toISOString();
  switch (proposal.status) {
    case 'pending':
      return { review: link('review'), approve: link('approve'), reject: link('reject'), expiresAt: expires };
    case 'applied':
      return { review: link('review'), revoke: link('revoke'), expiresAt: expires };
    default:
      return null;
  }
}
