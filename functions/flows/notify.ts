/**
 * Telling people, after the record: a notification that cannot be rendered or published is logged
 * and noted in the proposal's audit trail, never thrown past the record it follows (the proposal is
 * stored already; failing the invocation would only make EventBridge deliver a duplicate).
 */
import { assembleLinks, type LinkSettings, linkActions, linkClaims } from '../core/links';
import type { FlowPorts, ProposalLinks } from '../core/ports';
import { KEYMEND_ACTOR, type NotificationKind, type Proposal } from '../core/proposal';
import { signingKeyFor } from '../core/token';
import { renderNotifications } from '../render/notification';
import { type FlowContext, messageOf } from './context';

/** Notes a problem in the audit trail and the log; never throws. */
export async function noteProblem(
  ports: FlowContext,
  proposalId: string,
  action: string,
  detail: string,
): Promise<void> {
  ports.log?.warn(`${action} failed`, { proposalId, detail });
  try {
    await ports.store.appendAudit(proposalId, {
      at: ports.now().toISOString(),
      actor: KEYMEND_ACTOR,
      action,
      outcome: 'failed',
      detail,
    });
  } catch (error) {
    ports.log?.warn('could not append to the audit trail', { proposalId, error: messageOf(error) });
  }
}

/**
 * The links to put in a notification about `proposal` (see core/links.ts), expiring at `expiresAt`,
 * each token signed with the key its action needs; null when the proposal has nothing left to decide,
 * or when this function cannot sign its links (the remediate function holds no revoke key).
 */
export async function linksFor(
  ports: FlowPorts,
  proposal: Proposal,
  settings: LinkSettings,
  expiresAt: Date,
): Promise<ProposalLinks | null> {
  const actions = linkActions(proposal.status).filter((action) =>
    ports.signer.keys.includes(signingKeyFor(action)),
  );
  if (actions.length === 0) return null;
  const tokens = Object.fromEntries(
    await Promise.all(
      actions.map(async (action) => [
        action,
        await ports.signer.sign(linkClaims(proposal, action, expiresAt)),
      ]),
    ),
  );
  return assembleLinks(proposal, settings.baseUrl, tokens, expiresAt);
}

/**
 * Renders and publishes one notification. Returns true when every message was published; a failure
 * is logged and audited, not thrown.
 */
export async function notify(
  ports: FlowContext,
  kind: NotificationKind,
  proposal: Proposal,
  links: { settings: LinkSettings; expiresAt: Date } | null,
  /** The links already being signed (linksFor started early, alongside the store's write). */
  signing?: Promise<ProposalLinks | null>,
): Promise<boolean> {
  let signed: ProposalLinks | null = null;
  if (links) {
    try {
      signed = await (signing ?? linksFor(ports, proposal, links.settings, links.expiresAt));
    } catch (error) {
      // No signature (KMS GenerateMac failing): tell people anyway, without links; the review page
      // and a later notification carry them.
      await noteProblem(ports, proposal.id, 'notify', `${kind}: sent without links: ${messageOf(error)}`);
    }
  }
  let messages: ReturnType<typeof renderNotifications>;
  try {
    messages = renderNotifications(kind, proposal, signed);
  } catch (error) {
    await noteProblem(ports, proposal.id, 'notify', `${kind}: could not render: ${messageOf(error)}`);
    return false;
  }
  // The problem's account and kept route: a routing publisher picks the e-mail's topic by them.
  const routing = {
    accountId: proposal.scope.accountId,
    ...(proposal.notificationRoute ? { route: proposal.notificationRoute } : {}),
  };
  // The topics are independent: publish to both at once, so the alert waits for one SNS round trip.
  const published = await Promise.all(
    messages.map(async (message) => {
      try {
        await ports.publisher.publish({ ...message, routing });
        return true;
      } catch (error) {
        await noteProblem(ports, proposal.id, 'notify', `${kind} to ${message.topic}: ${messageOf(error)}`);
        return false;
      }
    }),
  );
  return published.every(Boolean);
}
