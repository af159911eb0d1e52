/**
 * Notifications (stand-in until the notifications issue's renderer lands): one e-mail per event, its
 * subject one line of printable ASCII naming what happened, its body the proposal as JSON.
 */
import type { OutgoingMessage, ProposalLinks } from '../core/ports';
import type { NotificationKind, Proposal } from '../core/proposal';

const MAX_SUBJECT = 99;

/** One line of printable ASCII, at most `max` characters: event text cannot break a header. */
function printable(text: string, max: number): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length <= max ? clean : `${clean.slice(0, max - 3)}...`;
}

/** The messages for one notification: an e-mail (plain text). */
export function renderNotifications(
  kind: NotificationKind,
  proposal: Proposal,
  links: ProposalLinks | null,
): OutgoingMessage[] {
  const role = proposal.scope.principalArn.slice(proposal.scope.principalArn.lastIndexOf('/') + 1);
  const subject = printable(`keymend ${kind}: ${role} ${proposal.scope.operation}`, MAX_SUBJECT);
  const message = JSON.stringify({ kind, links, proposal }, null, 2);
  return [{ topic: 'email', subject, message }];
}
