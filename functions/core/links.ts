/**
 * The approval links of a proposal: `${base}/p/${id}?a=ACTION&t=TOKEN`, one signed token per action,
 * each bound to the proposal id, the action, the plan hash and the expiry (core/token.ts). A link's GET
 * only shows the proposal; its page's forms POST the action and the token to the same path.
 */
import type { ProposalLinks } from './ports';
import type { Proposal } from './proposal';
import { type ApprovalAction, signToken } from './token';

/** The path of a proposal's page. Proposal ids are URL-safe, so nothing needs encoding. */
export function proposalPath(proposalId: string): string {
  return `/p/${proposalId}`;
}

/** One action's link. */
export function actionLink(base: string, proposalId: string, action: ApprovalAction, token: string): string {
  return `${base.replace(/\/+$/, '')}${proposalPath(proposalId)}?a=${action}&t=${token}`;
}

/**
 * The links a notification carries: approve and reject (review = the approve link) for a pending
 * proposal, revoke for an applied one; none for other statuses. `expiresAt` defaults to the proposal's.
 */
export function proposalLinks(
  base: string,
  secret: Uint8Array,
  proposal: Pick<Proposal, 'id' | 'status' | 'planHash' | 'expiresAt'>,
  expiresAt: string = proposal.expiresAt,
): ProposalLinks {
  const expiresAtSeconds = Math.floor(Date.parse(expiresAt) / 1000);
  const link = (action: ApprovalAction) =>
    actionLink(
      base,
      proposal.id,
      action,
      signToken(secret, {
        proposalId: proposal.id,
        action,
        planHash: proposal.planHash ?? '',
        expiresAt: expiresAtSeconds,
      }),
    );
  if (proposal.status === 'pending') {
    const approve = proposal.planHash ? link('approve') : undefined;
    const reject = link('reject');
    return { review: approve ?? reject, ...(approve ? { approve } : {}), reject, expiresAt };
  }
  if (proposal.status === 'applied') {
    const revoke = link('revoke');
    return { review: revoke, revoke, expiresAt };
  }
  return { review: `${base.replace(/\/+$/, '')}${proposalPath(proposal.id)}`, expiresAt };
}
