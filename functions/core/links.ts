/**
 * The approval links in notifications, and their format, which the approval function parses.
 *
 * One path per proposal, `/p/<proposalId>`, with the action and its signed token in the query:
 *   approve  `${base}/p/${id}?a=approve&t=${approveToken}`
 *   reject   `${base}/p/${id}?a=reject&t=${rejectToken}`
 *   revoke   `${base}/p/${id}?a=revoke&t=${revokeToken}`
 *   review   the approve link (for an applied proposal: the revoke link)
 * A GET of any of them only renders the page, whose form POSTs the same `a` and `t` back to the same
 * path; only the POST acts. Each token signs {proposalId, action, planHash, expiresAt} (core/token.ts,
 * with the key the action needs): bound to the proposal, the action and the exact plan, and expiring.
 *
 * Pure: the signed tokens and the expiry come in as arguments (flows/notify.ts `linksFor` signs them).
 */
import type { ProposalLinks } from './ports';
import { boundHash, type Proposal } from './proposal';
import type { ApprovalAction, TokenClaims } from './token';

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
export function actionUrl(
  baseUrl: string,
  proposalId: string,
  action: ApprovalAction,
  token: string,
): string {
  const base = baseUrl.replace(/\/+$/, '');
  return `${base}${PROPOSAL_PATH_PREFIX}${encodeURIComponent(proposalId)}?${ACTION_PARAM}=${action}&${TOKEN_PARAM}=${encodeURIComponent(token)}`;
}

/** The actions a proposal's links are for: approve and reject while `pending`, revoke once `applied`. */
export function linkActions(status: Proposal['status']): ApprovalAction[] {
  switch (status) {
    case 'pending':
      return ['approve', 'reject'];
    case 'applied':
      return ['revoke'];
    default:
      return [];
  }
}

/** The claims of the link for `action`: bound to the proposal, the action and its plan, expiring at `expiresAt`. */
export function linkClaims(
  proposal: Pick<Proposal, 'id' | 'planHash' | 'applied'>,
  action: ApprovalAction,
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
 * approve (also the review link) and reject while `pending`, revoke (also the review link) once
 * `applied`; null when the tokens for its status are missing (the remediate function cannot sign a
 * revoke link) or there is nothing left to decide.
 */
export function assembleLinks(
  proposal: Pick<Proposal, 'id' | 'status'>,
  baseUrl: string,
  tokens: Partial<Record<ApprovalAction, string>>,
  expiresAt: Date,
): ProposalLinks | null {
  const link = (action: ApprovalAction) => {
    const token = tokens[action];
    return token === undefined ? undefined : actionUrl(baseUrl, proposal.id, action, token);
  };
  const expires = new Date(Math.floor(expiresAt.getTime() / 1000) * 1000).toISOString();
  const approve = link('approve');
  const reject = link('reject');
  const revoke = link('revoke');
  if (proposal.status === 'pending' && approve !== undefined && reject !== undefined) {
    return { review: approve, approve, reject, expiresAt: expires };
  }
  if (proposal.status === 'applied' && revoke !== undefined)
    return { review: revoke, revoke, expiresAt: expires };
  return null;
}
