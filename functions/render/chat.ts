/**
 * The chat message of a notification: an AWS Chatbot (Amazon Q Developer in chat applications) custom
 * notification, published as JSON to the chat topic. Payloads off the schema are dropped silently by
 * the service, so the shape is fixed here and checked by a validator in the tests. Pure.
 *
 * Event-derived text appears only as inline code (`markdownCode`) or fully escaped (`markdownText`),
 * so it cannot add links, mentions or markup; the only links are the ones keymend made (`safeUrl`).
 */
import { GRANT_PROPAGATION_NOTE } from '../commons/constants';
import type { OutgoingMessage, ProposalLinks } from '../core/ports';
import type { NotificationKind, Proposal } from '../core/proposal';
import { actorWords, decisionOf } from './actor';
import { decisionWords, diagnosisWords } from './diagnosis-words';
import { emailSubject, MESSAGE_BYTE_LIMIT } from './email';
import { asciiJson, markdownCode, markdownText, subjectText } from './escape';
import { driftNote, planJson, planSentence } from './fix';
import { impactLines } from './impact';
import { kindText } from './kinds';
import { consoleLinks, safeUrl } from './links';
import { accountShown, aliasSuffix, keyShown, principalName, streamShown } from './names';
import { diagnosisNotes, NOTES_LEAD } from './notes';

/** The custom notification schema (documented fields only). */
export interface ChatNotification {
  version: '1.0';
  source: 'custom';
  id: string;
  content: {
    textType: 'client-markdown';
    title: string;
    description: string;
    nextSteps: string[];
    keywords: string[];
  };
  metadata: {
    threadId: string;
    summary: string;
    eventType: string;
    relatedResources: string[];
    additionalContext: Record<string, string>;
  };
}

/** The change's JSON is shown in chat only up to this many characters; the review page has it all. */
const CHAT_JSON_BUDGET = 3_000;

/** Text for a title or summary: printable ASCII, the characters chat clients read as markup escaped. */
function chatPlain(value: string): string {
  return subjectText(value)
    .replace(/[\\*_~[\]|]/g, (c) => `\\${c}`)
    .replace(/[`<>&]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A keyword: letters, digits and `:.-` only. */
function keyword(value: string): string {
  return value.replace(/[^A-Za-z0-9:.-]/g, '').slice(0, 64);
}

/** A markdown link to a URL keymend made, or null when the URL is not one keymend would send. */
function link(label: string, url: string | undefined | null): string | null {
  const safe = url ? safeUrl(url) : null;
  return safe === null ? null : `[${label}](${safe})`;
}

/** Who approved, rejected or revoked, and the reason given. */
function decisionLines(kind: NotificationKind, proposal: Proposal): string[] {
  const decided = decisionOf(kind, proposal);
  if (!decided) return [];
  return [
    `*${decided.verb} by:* ${markdownText(actorWords(decided.entry), 512)}`,
    ...(decided.entry.reason ? [`*Reason:* ${markdownText(decided.entry.reason, 512)}`] : []),
  ];
}

function description(kind: NotificationKind, proposal: Proposal, compact: boolean): string {
  const { scope, request } = proposal;
  const text = kindText(kind);
  const who = principalName(scope.principalArn);
  const lines = [
    markdownText(text.headline),
    '',
    ...decisionLines(kind, proposal),
    ...impactChat(kind, proposal),
    `*${who.kind === 'user' ? 'User' : who.kind === 'role' ? 'Role' : 'Principal'}:* ${markdownCode(who.name)} (${markdownCode(scope.principalArn)})`,
    `*Operation:* ${markdownCode(scope.operation)}`,
    `*Key:* ${markdownCode(keyShown(proposal))}${proposal.keyAliases.length > 0 ? ` ${markdownCode(aliasSuffix(proposal.keyAliases).trim())}` : ''}`,
    `*Stream:* ${streamShown(scope.streamArn, (v) => markdownCode(v))}`,
    `*Region / account:* ${markdownCode(scope.region)} / ${markdownCode(accountShown(scope.accountId, proposal.accountAlias))}`,
    `*Denials:* at least ${proposal.count}, first ${markdownCode(proposal.firstSeen)}, last ${markdownCode(proposal.lastSeen)}`,
  ];
  if (proposal.diagnosis) {
    lines.push(
      `*Why:* ${diagnosisWords(proposal.diagnosis)
        .map((s) => markdownText(s))
        .join(' ')}`,
    );
  }
  for (const note of diagnosisNotes(proposal.diagnosis)) {
    lines.push(`*Check first:* ${markdownText(`${NOTES_LEAD} ${note}`, 2048)}`);
  }
  lines.push(`*keymend:* ${markdownText(proposal.reason, 512)}`);
  if (proposal.verdict === 'refuse') lines.push(`*Refusal:* ${markdownCode(proposal.code)}`);
  lines.push(
    `*AWS said:* ${request.errorMessage ? markdownCode(request.errorMessage, 512) : markdownText('(no message)')}`,
  );
  lines.push(...whatToDoLines(proposal, compact));
  const { plan } = proposal;
  if (plan) {
    const applied = (text.applied || kind === 'revoked') && kind !== 'failed';
    lines.push(`*Change:* ${markdownText(planSentence(plan, proposal, applied, kind === 'failed'), 2048)}`);
    if (kind === 'revoked') lines.push(markdownText('It has been undone.'));
    if (text.applied && plan.mechanism === 'kms-grant') lines.push(markdownText(GRANT_PROPAGATION_NOTE));
    if (!compact) {
      // The backtick is escaped inside the JSON, so the code block cannot be closed from within.
      const { json, note } = planJson(plan, CHAT_JSON_BUDGET, /`/g);
      lines.push('```', json, '```');
      if (note) lines.push(markdownText(note));
    }
    const drift = driftNote(plan, proposal);
    if (drift) lines.push(markdownText(drift, 2048));
  }
  const p = proposal.proof;
  if (p) {
    const stayDenied = p.probes.filter((probe) => probe.result !== 'allowed').length;
    lines.push(
      `*Proof:* ${markdownText(`before: ${decisionWords(p.before)}; with the change: ${decisionWords(p.after)}; ${stayDenied} of ${p.probes.length} neighbouring requests stay denied.`)}`,
    );
  }
  return lines.join('\n');
}

/** The impact, one `*Label:* text` line per fact. */
function impactChat(kind: NotificationKind, proposal: Proposal): string[] {
  if (kind === 'revoked') return [];
  return impactLines(proposal, kindText(kind).applied && kind !== 'still-failing').map(
    (l) => `*${markdownText(l.label)}:* ${markdownText(l.text, 2048)}`,
  );
}

/** What to do about a refusal, as chat markdown: who and what, each statement as a code block. */
function whatToDoLines(proposal: Proposal, compact: boolean): string[] {
  const steps = proposal.nextSteps ?? [];
  if (proposal.verdict !== 'refuse' || steps.length === 0) return [];
  const lines = ['*What to do:*'];
  for (const step of steps) {
    lines.push(`- *${markdownText(step.who, 512)}:* ${markdownText(step.what, 2048)}`);
    if (step.statement && !compact) lines.push('```', asciiJson(step.statement, /[`<>&]/g), '```');
  }
  return lines;
}

function nextSteps(proposal: Proposal, links: ProposalLinks | null): string[] {
  const steps: Array<string | null> = [];
  if (links) {
    // Only the review link: it shows the page and decides nothing by itself. A channel is not an
    // approver list; approvers decide from the e-mail's links (or, with sign-in on, signed in).
    const until = ` (until ${markdownCode(links.expiresAt, 64)})`;
    const review = link('Review (decides nothing by itself)', links.review);
    steps.push(review && `${review}${until}`);
  }
  const c = consoleLinks(proposal.scope);
  const who = principalName(proposal.scope.principalArn);
  steps.push(
    link(`${who.kind === 'user' ? 'User' : 'Role'} in the IAM console`, c.principal),
    link('Key in the KMS console', c.key),
    link('Stream in the Kinesis console', c.stream),
  );
  return steps.filter((s): s is string => s !== null);
}

function chatNotification(
  kind: NotificationKind,
  proposal: Proposal,
  links: ProposalLinks | null,
  compact: boolean,
): ChatNotification {
  const subject = emailSubject(kind, proposal);
  return {
    version: '1.0',
    source: 'custom',
    id: keyword(`keymend-${kind}-${proposal.id}`),
    content: {
      textType: 'client-markdown',
      title: chatPlain(subject),
      description: description(kind, proposal, compact),
      nextSteps: nextSteps(proposal, links),
      keywords: ['keymend', kind, proposal.scope.operation, proposal.plan?.mechanism ?? proposal.code]
        .map(keyword)
        .filter((k) => k !== ''),
    },
    metadata: {
      threadId: keyword(proposal.fingerprint),
      summary: chatPlain(subject),
      eventType: `keymend:${kind}`,
      relatedResources: [proposal.scope.principalArn, proposal.scope.keyArn, proposal.scope.streamArn]
        .filter((arn) => arn !== '')
        .map((arn) => subjectText(arn).slice(0, 2048)),
      additionalContext: {
        kind,
        proposalId: subjectText(proposal.id),
        fingerprint: subjectText(proposal.fingerprint),
        status: proposal.status,
        accountId: subjectText(proposal.scope.accountId),
        ...(proposal.accountAlias ? { accountAlias: subjectText(proposal.accountAlias) } : {}),
        region: subjectText(proposal.scope.region),
        mechanism: proposal.plan?.mechanism ?? 'none',
        denials: String(proposal.count),
      },
    },
  };
}

/** The chat message of one notification: the custom notification as JSON, always under 256 KB. */
export function renderChat(
  kind: NotificationKind,
  proposal: Proposal,
  links: ProposalLinks | null,
): OutgoingMessage {
  let message = JSON.stringify(chatNotification(kind, proposal, links, false));
  if (Buffer.byteLength(message, 'utf8') > MESSAGE_BYTE_LIMIT / 2) {
    message = JSON.stringify(chatNotification(kind, proposal, links, true));
  }
  return { topic: 'chat', subject: emailSubject(kind, proposal), message };
}
