/**
 * The approval flow (issue 10): what a request to `/p/<id>` does.
 *
 * - GET and HEAD show the proposal and never write anything (not even an audit line): mail scanners and
 *   link previewers open every link, so an open is not a decision.
 * - POST approve / reject / revoke acts, once: the token must be genuine, unexpired, and bound to this
 *   proposal, this action and this plan hash; the proposal's status must allow the action; and the
 *   action itself is a conditional transition, so ten simultaneous clicks act once.
 *
 * Every POST that reaches a proposal with a genuine token for it lands in its audit list, refused or
 * not. A forged or foreign token writes nothing: an unauthenticated caller must not be able to grow a
 * proposal's record; it is logged instead.
 */
import { GRANT_PROPAGATION_NOTE } from '../commons/constants';
import { proposalLinks } from '../core/links';
import type { FlowPorts, OutgoingMessage, ProposalLinks } from '../core/ports';
import type { AuditEntry, NotificationKind, Proposal } from '../core/proposal';
import {
  APPROVAL_ACTIONS,
  type ApprovalAction,
  signToken,
  type TokenClaims,
  verifyToken,
} from '../core/token';
import { type Page, type RefusalKind, refusalPage, resultPage, reviewPage } from '../render/page';

/** An HTTP request as the approval function sees it, already decoded by the handler. */
export interface ApprovalRequest {
  method: string;
  /** The URL path, e.g. `/p/abc`. */
  path: string;
  /** Query parameters (the first value of each). */
  query: Readonly<Record<string, string | undefined>>;
  /** The form fields of a POST (application/x-www-form-urlencoded); null when there is no form. */
  form: Readonly<Record<string, string | undefined>> | null;
  sourceIp: string;
  userAgent: string;
}

/** Who acted, passed to the apply and revoke steps for their audit lines. */
export interface ApprovalActor {
  actor: 'approval-link';
  sourceIp: string;
  userAgent: string;
}

/** The approval function's settings, read once at cold start by the handler. */
export interface ApprovalSettings {
  /** The base URL of the links (the function URL, or `keymend local`'s server). */
  baseUrl: string;
  /** True when this deployment enables key-policy changes: only then may an approval apply one. */
  allowKeyPolicy: boolean;
  /** How long a rejected problem stays quiet. @default 168 (seven days) */
  rejectSuppressHours: number;
  /** How long links work; a revoke link sent after an apply works at least this long. @default 72 */
  linkTtlHours: number;
}

/**
 * The steps this flow runs but does not own: apply and revoke (flows/apply.ts) and the notification
 * renderer (render/notification.ts). Each returns the proposal as stored afterwards.
 */
export interface ApprovalSteps {
  apply(
    ports: FlowPorts,
    proposal: Proposal,
    actor: ApprovalActor,
    options: { allowKeyPolicy: boolean },
  ): Promise<Proposal>;
  revoke(ports: FlowPorts, proposal: Proposal, actor: ApprovalActor): Promise<Proposal>;
  renderNotifications(kind: NotificationKind, proposal: Proposal, links: ProposalLinks): OutgoingMessage[];
}

/** Where the flow logs what it does not show: refused tokens, failed notifications. */
export interface ApprovalLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface ApprovalDeps {
  ports: FlowPorts;
  settings: ApprovalSettings;
  steps: ApprovalSteps;
  log: ApprovalLog;
}

/** A page to send; `head` says to send the headers only. */
export type ApprovalResponse = Page & { head: boolean };

/** Proposal ids are URL-safe and short; anything else is not a keymend path. */
const PATH = /^\/p\/([A-Za-z0-9_-]{1,128})\/?$/;

/** The action a status allows. */
const NEEDED_STATUS: Readonly<Record<ApprovalAction, Proposal['status']>> = {
  approve: 'pending',
  reject: 'pending',
  revoke: 'applied',
};

function isAction(value: unknown): value is ApprovalAction {
  return APPROVAL_ACTIONS.includes(value as ApprovalAction);
}

const refuse = (kind: RefusalKind, head = false): ApprovalResponse => ({ ...refusalPage(kind), head });

/** Handles one request to the approval function. Throws only on unexpected failures (a 500). */
export async function handleApproval(
  deps: ApprovalDeps,
  request: ApprovalRequest,
): Promise<ApprovalResponse> {
  const match = PATH.exec(request.path);
  const method = request.method.toUpperCase();
  const head = method === 'HEAD';
  if (!match?.[1]) return refuse('not-found', head);
  const id = match[1];
  if (method === 'GET' || head) return { ...(await view(deps, id, request)), head };
  if (method === 'POST') return { ...(await act(deps, id, request)), head: false };
  return refuse('method');
}

/** GET: verify the link and show the proposal. Reads only. */
async function view(deps: ApprovalDeps, id: string, request: ApprovalRequest): Promise<Page> {
  const { ports, settings } = deps;
  const action = request.query.a;
  const token = request.query.t;
  if (!isAction(action) || !token) return refusalPage('bad-request');
  const secret = await ports.secret.signingKey();
  const check = verifyToken(secret, token, nowSeconds(ports));
  if (!check.ok) return refusalPage(tokenRefusal(check.problem));
  const { claims } = check;
  if (claims.proposalId !== id || claims.action !== action) return refusalPage('bad-token');
  const proposal = await ports.store.getProposal(id);
  if (!proposal) return refusalPage('not-found');
  if (claims.planHash !== (proposal.planHash ?? '')) return refusalPage('bad-token');

  // The page offers what the status allows. Whoever holds the approve link may also reject (both links
  // go to the same people in the same message): the page signs the sibling token with the same expiry.
  const forms: Partial<Record<ApprovalAction, string>> = {};
  const sibling = (a: ApprovalAction) => (a === action ? token : signToken(secret, { ...claims, action: a }));
  if (proposal.status === 'pending' && (action === 'approve' || action === 'reject')) {
    if (proposal.planHash) forms.approve = sibling('approve');
    forms.reject = sibling('reject');
  } else if (proposal.status === 'applied' && action === 'revoke') {
    forms.revoke = token;
  }
  return reviewPage({
    proposal,
    forms,
    expiresAt: new Date(claims.expiresAt * 1000).toISOString(),
    keyPolicyEnabled: settings.allowKeyPolicy,
  });
}

function tokenRefusal(problem: 'malformed' | 'bad-signature' | 'expired'): RefusalKind {
  switch (problem) {
    case 'malformed':
      return 'bad-request';
    case 'bad-signature':
      return 'bad-token';
    case 'expired':
      return 'expired';
    default: {
      const unreachable: never = problem;
      throw new Error(`unknown token problem ${String(unreachable)}`);
    }
  }
}

function nowSeconds(ports: FlowPorts): number {
  return Math.floor(ports.now().getTime() / 1000);
}

/** POST: check everything, then act once. */
async function act(deps: ApprovalDeps, id: string, request: ApprovalRequest): Promise<Page> {
  const { ports, log } = deps;
  const action = request.form?.a;
  const token = request.form?.t;
  if (!isAction(action) || !token) return refusalPage('bad-request');
  const secret = await ports.secret.signingKey();
  const check = verifyToken(secret, token, nowSeconds(ports));
  const actor: ApprovalActor = {
    actor: 'approval-link',
    sourceIp: request.sourceIp,
    userAgent: request.userAgent,
  };
  const audit = (outcome: string, detail?: string): AuditEntry => ({
    at: ports.now().toISOString(),
    actor: actor.actor,
    action,
    outcome,
    ...(detail ? { detail } : {}),
    sourceIp: actor.sourceIp,
    userAgent: actor.userAgent,
  });

  let claims: TokenClaims;
  if (check.ok) {
    claims = check.claims;
  } else {
    log.warn('approval token refused', { proposalId: id, action, problem: check.problem, ...actor });
    if (check.problem === 'expired') {
      // The token is genuine (its signature held) but late: record the attempt on its own proposal.
      const late = verifyToken(secret, token, Number.NEGATIVE_INFINITY);
      if (late.ok && late.claims.proposalId === id && (await ports.store.getProposal(id))) {
        await ports.store.appendAudit(id, audit('refused', 'the link has expired'));
      }
    }
    return refusalPage(tokenRefusal(check.problem));
  }
  if (claims.proposalId !== id) {
    log.warn('approval token for another proposal', { proposalId: id, action, ...actor });
    return refusalPage('bad-token');
  }
  const proposal = await ports.store.getProposal(id);
  if (!proposal) return refusalPage('not-found');
  const refused = async (kind: RefusalKind, detail: string): Promise<Page> => {
    log.warn('approval refused', { proposalId: id, action, detail, ...actor });
    await ports.store.appendAudit(id, audit('refused', detail));
    return refusalPage(kind);
  };
  if (claims.action !== action) return refused('bad-token', `the token is for ${claims.action}`);
  if (claims.planHash !== (proposal.planHash ?? '')) {
    return refused('bad-token', 'the token is for another version of the change');
  }
  if (proposal.status !== NEEDED_STATUS[action]) {
    return refused('not-pending', `the proposal is ${proposal.status}`);
  }
  switch (action) {
    case 'approve':
      return approve(deps, proposal, actor, audit);
    case 'reject':
      return reject(deps, proposal, audit);
    case 'revoke':
      return revoke(deps, proposal, actor);
    default: {
      const unreachable: never = action;
      throw new Error(`unknown action ${String(unreachable)}`);
    }
  }
}

async function approve(
  deps: ApprovalDeps,
  proposal: Proposal,
  actor: ApprovalActor,
  audit: (outcome: string, detail?: string) => AuditEntry,
): Promise<Page> {
  const { ports, settings, steps } = deps;
  // The one conditional write that makes an approval happen once, however many clicks race for it.
  const claimed = await ports.store.transition(proposal.id, 'pending', 'applying', {}, audit('accepted'));
  if (!claimed) {
    await ports.store.appendAudit(proposal.id, audit('refused', 'another approval is already applying it'));
    return refusalPage('not-pending');
  }
  let after: Proposal;
  try {
    after = await steps.apply(ports, claimed, actor, { allowKeyPolicy: settings.allowKeyPolicy });
  } catch (error) {
    // The apply step records its own failures; this is for one it could not record. Leave no proposal
    // stuck in `applying`, tell people, and let the handler answer 500.
    const failed = await ports.store.transition(
      proposal.id,
      'applying',
      'failed',
      { reason: 'The change could not be applied: keymend met an unexpected error (see its logs).' },
      audit('failed', 'unexpected error'),
    );
    if (failed) await notify(deps, 'failed', failed);
    throw error;
  }
  switch (after.status) {
    case 'applied':
      await notify(deps, 'approved-applied', after);
      return resultPage(
        'applied',
        after,
        after.plan?.mechanism === 'kms-grant'
          ? `The change was applied and checked. ${GRANT_PROPAGATION_NOTE}`
          : 'The change was applied and checked.',
      );
    case 'failed':
      await notify(deps, 'failed', after);
      return resultPage('failed', after, after.reason);
    default:
      // Nothing to do by now, or the plan changed (a new proposal follows): the apply step recorded why.
      return resultPage('not-applied', after, after.reason);
  }
}

async function reject(
  deps: ApprovalDeps,
  proposal: Proposal,
  audit: (outcome: string, detail?: string) => AuditEntry,
): Promise<Page> {
  const { ports, settings } = deps;
  const until = new Date(ports.now().getTime() + settings.rejectSuppressHours * 3_600_000);
  const after = await ports.store.transition(
    proposal.id,
    'pending',
    'rejected',
    {},
    audit('rejected', `quiet until ${until.toISOString()}`),
  );
  if (!after) {
    await ports.store.appendAudit(proposal.id, audit('refused', 'the proposal changed meanwhile'));
    return refusalPage('not-pending');
  }
  await ports.store.setFingerprintLiveUntil(proposal.fingerprint, until);
  await notify(deps, 'rejected', after);
  return resultPage(
    'rejected',
    after,
    `Nothing was changed. keymend stays quiet about this problem until ${until.toISOString()}.`,
  );
}

async function revoke(deps: ApprovalDeps, proposal: Proposal, actor: ApprovalActor): Promise<Page> {
  const { ports, steps } = deps;
  const after = await steps.revoke(ports, proposal, actor);
  if (after.status === 'revoked') {
    await notify(deps, 'revoked', after);
    return resultPage('revoked', after, 'The change keymend applied was undone.');
  }
  return resultPage('not-applied', after, after.reason);
}

/** Publishes the outcome. A failed notification is logged and audited; it never undoes the action. */
async function notify(deps: ApprovalDeps, kind: NotificationKind, proposal: Proposal): Promise<void> {
  const { ports, settings, steps, log } = deps;
  try {
    const secret = await ports.secret.signingKey();
    // A revoke link must outlive the approval link it follows.
    const expiresAt = new Date(
      Math.max(Date.parse(proposal.expiresAt), ports.now().getTime() + settings.linkTtlHours * 3_600_000),
    ).toISOString();
    const links = proposalLinks(settings.baseUrl, secret, proposal, expiresAt);
    for (const message of steps.renderNotifications(kind, proposal, links)) {
      await ports.publisher.publish(message);
    }
  } catch (error) {
    log.warn('notification failed', { proposalId: proposal.id, kind, error: String(error) });
    await ports.store.appendAudit(proposal.id, {
      at: ports.now().toISOString(),
      actor: 'keymend',
      action: `notify-${kind}`,
      outcome: 'failed',
    });
  }
}
