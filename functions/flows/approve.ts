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
import { type Approver, type ApproverRule, mayApprove } from '../core/approvers';
import { type LinkSettings, linkExpiry } from '../core/links';
import type { Mechanism } from '../core/plan';
import type { FlowPorts } from '../core/ports';
import { type AuditEntry, boundHash, type Proposal } from '../core/proposal';
import {
  APPROVAL_ACTIONS,
  type ApprovalAction,
  LINK_ACTIONS,
  type LinkAction,
  type TokenClaims,
} from '../core/token';
import {
  type Page,
  type RefusalKind,
  refusalPage,
  resultPage,
  reviewPage,
  type Viewer,
} from '../render/page';
import {
  type ApplyOptions,
  type ApplyResult,
  applyProposal,
  isAbandonedApply,
  revokeProposal,
  settleAbandonedApply,
  settleInterruptedApply,
} from './apply';
import { type AuditContext, type FlowContext, type FlowLog, messageOf } from './context';
import { linksFor, notify } from './notify';

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
  /**
   * The signed-in person (the handler verified the session cookie), or null/absent when nobody is signed
   * in or sign-in is off.
   */
  approver?: Approver | null;
}

/** The longest reject reason kept; the rest is cut. */
export const MAX_REASON_CHARS = 500;

/** The actor name in audit entries written for an approval link. */
export const LINK_ACTOR = 'approval-link';

/** The approval function's settings, read once at cold start by the handler. */
export interface ApprovalSettings {
  /** The base URL of the links (the function URL, or `keymend local`'s server). */
  baseUrl: string;
  /** What this deployment enables (KEYMEND_ENABLED_MECHANISMS): an approval applies no other mechanism. */
  enabledMechanisms: readonly Mechanism[];
  /** How long a rejected problem stays quiet. @default 168 (seven days) */
  rejectSuppressHours: number;
  /** How long links work; a revoke link sent after an apply works at least this long. @default 72 */
  linkTtlHours: number;
  /**
   * Who may act when sign-in is on (the handler then redirects every GET without a session to the
   * identity provider); null or absent when sign-in is off and a link alone decides.
   */
  signIn?: ApproverRule | null;
}

export interface ApprovalDeps {
  ports: FlowPorts;
  settings: ApprovalSettings;
  /** Where the flow logs what it does not show: refused tokens, failed notifications. */
  log: FlowLog;
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

function isLinkAction(value: unknown): value is LinkAction {
  return LINK_ACTIONS.includes(value as LinkAction);
}

/** Who is looking at a page, as the page says it. */
function viewerOf(settings: ApprovalSettings, request: ApprovalRequest): Viewer {
  if (!settings.signIn) return { signIn: false };
  const approver = request.approver ?? null;
  return { signIn: true, approver, allowed: approver !== null && mayApprove(settings.signIn, approver) };
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
  if (!isLinkAction(action) || !token) return refusalPage('bad-request');
  const check = await ports.signer.verify(token, nowSeconds(ports));
  if (!check.ok) return refusalPage(tokenRefusal(check.problem));
  const { claims } = check;
  if (claims.proposalId !== id || claims.action !== action) return refusalPage('bad-token');
  const proposal = await ports.store.getProposal(id);
  if (!proposal) return refusalPage('not-found');
  if (claims.planHash !== boundHash(proposal, claims.action)) return refusalPage('bad-token');

  // The page offers what the link and the status allow. The approve link's page offers Reject too (both
  // links go to the same people in the same message: the page signs the sibling token with the same
  // expiry); a reject link rejects only. A review link (chat's) decides nothing by itself: with sign-in
  // on, a signed-in approver gets the buttons, since then the approver list, not the link, decides.
  const viewer = viewerOf(settings, request);
  const forms: Partial<Record<ApprovalAction, string>> = {};
  // Each sibling is signed with the key and bound to what its own action needs (a revoke form: the
  // revoke key, which only this function holds, and the change as recorded).
  const sibling = async (a: ApprovalAction) =>
    a === action
      ? token
      : await ports.signer.sign({ ...claims, action: a, planHash: boundHash(proposal, a) });
  const approverReviewing = action === 'review' && viewer.signIn && viewer.allowed;
  // With sign-in on, someone who may not decide gets no buttons (a POST would be refused anyway).
  const mayDecide = !viewer.signIn || viewer.allowed;
  // Left `applying` past its lease by an invocation that is gone: undecided, as pending (a click settles
  // it first; see act).
  const undecided = proposal.status === 'pending' || isAbandonedApply(proposal, ports.now());
  if (mayDecide && undecided) {
    if ((action === 'approve' || approverReviewing) && proposal.planHash)
      forms.approve = await sibling('approve');
    if (action === 'approve' || action === 'reject' || approverReviewing)
      forms.reject = await sibling('reject');
  } else if (mayDecide && proposal.status === 'applied' && (action === 'revoke' || approverReviewing)) {
    forms.revoke = await sibling('revoke');
  }
  return reviewPage({
    proposal,
    opened: action,
    forms,
    expiresAt: new Date(claims.expiresAt * 1000).toISOString(),
    keyPolicyEnabled: settings.enabledMechanisms.includes('key-policy-statement'),
    viewer,
  });
}

/** A reject's reason from the form: one line of at most MAX_REASON_CHARS characters, or undefined. */
function reasonOf(form: ApprovalRequest['form']): string | undefined {
  const text = (form?.reason ?? '')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this drops
    .replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')
    .trim()
    .slice(0, MAX_REASON_CHARS);
  return text === '' ? undefined : text;
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
  // With sign-in on, a link is not enough: only a signed-in approver on the list may act. Anyone else is
  // refused before anything is read or written (logged, not audited: nothing changes).
  const viewer = viewerOf(deps.settings, request);
  if (viewer.signIn && !viewer.allowed) {
    log.warn('approval refused: not a signed-in approver', {
      proposalId: id,
      action,
      approverSubject: viewer.approver?.subject,
      approverEmail: viewer.approver?.email,
      sourceIp: request.sourceIp,
      userAgent: request.userAgent,
    });
    return refusalPage(viewer.approver ? 'not-approver' : 'sign-in');
  }
  const check = await ports.signer.verify(token, nowSeconds(ports));
  const approver = viewer.signIn ? viewer.approver : null;
  const context: AuditContext = {
    sourceIp: request.sourceIp,
    userAgent: request.userAgent,
    ...(approver ? { approverSubject: approver.subject, approverEmail: approver.email } : {}),
  };
  const reason = action === 'reject' ? reasonOf(request.form) : undefined;
  const audit = (outcome: string, detail?: string): AuditEntry => ({
    at: ports.now().toISOString(),
    actor: LINK_ACTOR,
    action,
    outcome,
    ...(detail ? { detail } : {}),
    ...context,
    ...(reason ? { reason } : {}),
  });

  let claims: TokenClaims;
  if (check.ok) {
    claims = check.claims;
  } else {
    log.warn('approval token refused', { proposalId: id, action, problem: check.problem, ...context });
    if (check.problem === 'expired') {
      // The token is genuine (its signature held) but late: record the attempt on its own proposal.
      const late = await ports.signer.verify(token, Number.NEGATIVE_INFINITY);
      if (late.ok && late.claims.proposalId === id && (await ports.store.getProposal(id))) {
        await ports.store.appendAudit(id, audit('refused', 'the link has expired'));
      }
    }
    return refusalPage(tokenRefusal(check.problem));
  }
  if (claims.proposalId !== id) {
    log.warn('approval token for another proposal', { proposalId: id, action, ...context });
    return refusalPage('bad-token');
  }
  const stored = await ports.store.getProposal(id);
  if (!stored) return refusalPage('not-found');
  // Left `applying` by an approval or an auto-apply that was killed or timed out: settled first (the
  // account re-read), so this click decides on where the proposal really is.
  const proposal =
    stored.status === 'applying' &&
    NEEDED_STATUS[action] === 'pending' &&
    claims.action === action &&
    claims.planHash === boundHash(stored, action)
      ? ((await settleAbandonedApply(
          stepPorts(deps),
          id,
          { actor: LINK_ACTOR, action, why: 'the invocation applying it stopped (killed or timed out)' },
          applyOptions(deps.settings, context),
        )) ?? stored)
      : stored;
  const refused = async (kind: RefusalKind, detail: string): Promise<Page> => {
    log.warn('approval refused', { proposalId: id, action, detail, ...context });
    await ports.store.appendAudit(id, audit('refused', detail));
    return refusalPage(kind);
  };
  if (claims.action !== action) return refused('bad-token', `the token is for ${claims.action}`);
  if (claims.planHash !== boundHash(proposal, claims.action)) {
    return refused('bad-token', 'the token is for another version of the change');
  }
  if (proposal.status !== NEEDED_STATUS[action]) {
    return refused('not-pending', `the proposal is ${proposal.status}`);
  }
  switch (action) {
    case 'approve':
      return approve(deps, proposal, context, audit);
    case 'reject':
      return reject(deps, proposal, audit);
    case 'revoke':
      return revoke(deps, proposal, context);
    default: {
      const unreachable: never = action;
      throw new Error(`unknown action ${String(unreachable)}`);
    }
  }
}

function stepPorts(deps: ApprovalDeps): FlowContext {
  return { ...deps.ports, log: deps.log };
}

function linkSettings(settings: ApprovalSettings): LinkSettings {
  return { baseUrl: settings.baseUrl, ttlHours: settings.linkTtlHours };
}

/** What the apply step is told on an approval: the enabled mechanisms; the person's context. */
function applyOptions(settings: ApprovalSettings, context: AuditContext): ApplyOptions {
  return {
    enabledMechanisms: settings.enabledMechanisms,
    kind: 'approved-applied',
    links: linkSettings(settings),
    auditContext: context,
  };
}

async function approve(
  deps: ApprovalDeps,
  proposal: Proposal,
  context: AuditContext,
  audit: (outcome: string, detail?: string) => AuditEntry,
): Promise<Page> {
  const { ports, settings } = deps;
  const options = applyOptions(settings, context);
  // The one conditional write that makes an approval happen once, however many clicks race for it.
  let result: ApplyResult;
  try {
    const claimed = await ports.store.transition(proposal.id, 'pending', 'applying', {}, audit('accepted'));
    if (!claimed) {
      await ports.store.appendAudit(proposal.id, audit('refused', 'another approval is already applying it'));
      return refusalPage('not-pending');
    }
    result = await applyProposal(stepPorts(deps), claimed, LINK_ACTOR, options);
  } catch (error) {
    // The claim or the apply step failed part-way. Settled (flows/apply.ts): recorded applied, said so;
    // otherwise given back to the person (a new click re-reads everything, and a write already made
    // is found, not repeated) while the handler answers 500.
    const settled = await settleInterruptedApply(
      stepPorts(deps),
      proposal.id,
      { actor: LINK_ACTOR, action: 'approve', why: messageOf(error) },
      options,
    ).catch(() => null);
    if (settled?.status === 'applied') {
      return resultPage('applied', settled, 'The change was applied.', await revokeLink(deps, settled));
    }
    throw error;
  }
  // applyProposal records the outcome and notifies it; this only shows it.
  switch (result.outcome) {
    case 'applied':
      return resultPage(
        'applied',
        result.proposal,
        [
          result.verified
            ? 'The change was applied, and a re-read shows the call allowed.'
            : 'The change was applied; a re-read does not show the call allowed yet.',
          ...(result.proposal.plan?.mechanism === 'kms-grant' ? [GRANT_PROPAGATION_NOTE] : []),
        ].join(' '),
        await revokeLink(deps, result.proposal),
      );
    case 'failed':
      return resultPage('failed', result.proposal, result.reason);
    case 'not-applied':
      return resultPage('not-applied', result.proposal, `Nothing was changed: ${result.reason}.`);
    case 'superseded':
      return resultPage(
        'not-applied',
        result.proposal,
        `Nothing was changed: ${result.reason}. A new notification describes it; decide on that one.`,
      );
    case 'conflict':
      return refusalPage('not-pending');
    default: {
      const unreachable: never = result;
      throw new Error(`unknown apply outcome ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * The revoke link of an applied proposal, for the result page (the "applied" notification carries the
 * same); null when it cannot be signed now (the notification still has it).
 */
async function revokeLink(deps: ApprovalDeps, proposal: Proposal): Promise<string | null> {
  const { ports, settings } = deps;
  try {
    const links = await linksFor(
      ports,
      proposal,
      linkSettings(settings),
      linkExpiry(ports.now(), settings.linkTtlHours),
    );
    return links?.revoke ?? null;
  } catch (error) {
    deps.log.warn('could not sign the revoke link for the result page', {
      proposalId: proposal.id,
      error: error instanceof Error ? error.message : String(error),
    });
    return null;
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
  await notify(stepPorts(deps), 'rejected', after, null);
  return resultPage(
    'rejected',
    after,
    `Nothing was changed. keymend stays quiet about this problem until ${until.toISOString()}.`,
  );
}

async function revoke(deps: ApprovalDeps, proposal: Proposal, context: AuditContext): Promise<Page> {
  // revokeProposal records the outcome (audit included) and notifies it; this only shows it.
  const result = await revokeProposal(stepPorts(deps), proposal, LINK_ACTOR, context);
  switch (result.outcome) {
    case 'revoked':
      return resultPage('revoked', result.proposal, 'The change keymend applied was undone.');
    case 'refused':
      return resultPage('not-revoked', proposal, `Nothing was undone: ${result.reason}.`);
    case 'failed':
      return resultPage('failed', proposal, `Nothing was undone: ${result.reason}.`);
    case 'conflict':
      return refusalPage('not-pending');
    default: {
      const unreachable: never = result;
      throw new Error(`unknown revoke outcome ${JSON.stringify(unreachable)}`);
    }
  }
}
