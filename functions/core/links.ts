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
 * path; only the POST acts. Each token signs {proposalId, action, planHash, expiresAt} (core/token.ts,
 * with the key the action needs): bound to the proposal, the action and the exact plan, and expiring.
 *
 * Pure: the signed tokens and the expiry come in as arguments (flows/notify.ts `linksFor` signs them).
 */
import type { ProposalLinks } from './ports';
import { boundHash, type Proposal } from './proposal';
import type { LinkAction, TokenClaims } from './token';

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
 * The actions a proposal's links are for: review, approve and reject while `pending`; review and revoke
 * once `applied`; none in any other status (nothing left to decide).
 */
export function linkActions(status: Proposal['status']): LinkAction[] {
  switch (status) {
    case 'pending':
      return ['review', 'approve', 'reject'];
    case 'applied':
      return ['review', 'revoke'];
    default:
      return [];
  }
}

/** The claims of the link for `action`: bound to the proposal, the action and its plan, expiring at `expiresAt`. */
export function linkClaims(
  proposal: Pick<Proposal, 'id' | 'planHash' | 'applied'>,
  action: LinkAction,
  expiresAt: Date,
): TokenClaims {
  return {
    proposalId: proposal.id,
    action,
    // A revoke link is bound to the change as recorded too (core/proposal.ts boundHash).
    planHash: boundHash(proposal, action),
    expiresAt: Math.floor(expiresAt.getTime() / 1000),
  };
}

/**
 * The links of a proposal from their signed tokens (one per `linkActions`, made with `linkClaims`):
 * review, approve and reject while `pending`; review and revoke once `applied`, or review alone when
 * the revoke link could not be signed (the remediate function holds no revoke key); null when the
 * tokens its status needs are missing or there is nothing left to decide.
 */
export function assembleLinks(
  proposal: Pick<Proposal, 'id' | 'status'>,
  baseUrl: string,
  tokens: Partial<Record<LinkAction, string>>,
  expiresAt: Date,
): ProposalLinks | null {
  const link = (action: LinkAction) => {
    const token = tokens[action];
    return token === undefined ? undefined : actionUrl(baseUrl, proposal.id, action, token);
  };
  const expires = new Date(Math.floor(expiresAt.getTime() / 1000) * 1000).toISOString();
  const review = link('review');
  const approve = link('approve');
  const reject = link('reject');
  const revoke = link('revoke');
  if (review === undefined) return null;
  if (proposal.status === 'pending' && approve !== undefined && reject !== undefined) {
    return { review, approve, reject, expiresAt: expires };
  }
  if (proposal.status === 'applied') {
    return revoke === undefined ? { review, expiresAt: expires } : { review, revoke, expiresAt: expires };
  }
  return null;
}
