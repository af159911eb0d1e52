/**
 * The messages of one notification: an e-mail (plain text, for the e-mail topic) and a chat message
 * (an AWS Chatbot custom notification, for the chat topic, which the publisher skips when none is
 * configured). Pure: the same proposal, kind and links always render the same messages.
 */
import type { OutgoingMessage, ProposalLinks } from '../core/ports';
import type { NotificationKind, Proposal } from '../core/proposal';
import { renderChat } from './chat';
import { renderEmail } from './email';

/**
 * Renders what people are told about `proposal` for `kind`: one e-mail message (topic `email`) then one
 * chat message (topic `chat`). `links` are the proposal's signed approval links (review, approve,
 * reject, revoke) with their expiry, or null when the notification offers none (a refusal, a rejection,
 * an expiry). Every message is under SNS's 256 KB; event-derived text in them is escaped.
 */
export function renderNotifications(
  kind: NotificationKind,
  proposal: Proposal,
  links: ProposalLinks | null,
): OutgoingMessage[] {
  return [renderEmail(kind, proposal, links), renderChat(kind, proposal, links)];
}
