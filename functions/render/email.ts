/**
 * The e-mail of a notification: plain text (SNS `email` subscriptions deliver plain text only), with a
 * subject of printable ASCII under 100 characters. Pure.
 *
 * Every event-derived value is shown on one line through `plainValue`, after a label, so a newline or a
 * control character in a session name, a stream name or AWS's message cannot start a line of its own or
 * forge a link; the only links are the ones keymend made (`safeUrl`).
 */
import { GRANT_PROPAGATION_NOTE } from '../commons/constants';
import type { OutgoingMessage, ProposalLinks } from '../core/ports';
import type { NotificationKind, Proposal } from '../core/proposal';
import { actorWords, decisionOf } from './actor';
import { decisionWords, diagnosisWords } from './diagnosis-words';
import { asciiJson, plainValue, subjectText } from './escape';
import { cdkSnippet, cloudFormationSnippet, driftNote, planJson, planSentence, scopeIsLiteral } from './fix';
import { impactLines } from './impact';
import { approvedWithoutRevokeLink, kindText } from './kinds';
import { consoleLinks, safeUrl } from './links';
import { type ManualCommand, manualPath, terraformSnippet } from './manual';
import {
  accountOf,
  accountOfArn,
  accountShown,
  aliasSuffix,
  keyShown,
  principalName,
  streamName,
  streamShown,
} from './names';
import { diagnosisNotes, NOTES_HEADING, NOTES_LEAD } from './notes';

/** SNS: a subject under 100 characters. */
export const SUBJECT_MAX = 99;
/** SNS: 256 KB per message. keymend stays well below, leaving room for the subject and attributes. */
export const MESSAGE_BYTE_LIMIT = 256 * 1024;
const BODY_BYTE_BUDGET = 200_000;
/** How many audit entries the e-mail lists (the newest). */
const AUDIT_LINES = 8;

/** `name` within `max` characters, its middle replaced by `...` when shortened (both ends stay readable). */
export function shortenMiddle(name: string, max: number): string {
  if (name.length <= max) return name;
  if (max <= 3) return name.slice(0, max);
  const keep = max - 3;
  const head = Math.ceil(keep / 2);
  return `${name.slice(0, head)}...${name.slice(name.length - (keep - head))}`;
}

/** The room each name keeps in a subject before the operation, the words and the alias give way. */
const SUBJECT_NAME_MIN = 8;

/**
 * How the subject gives way when the names do not fit, in order: the names are shortened (each keeps
 * at least SUBJECT_NAME_MIN), then `on stream` becomes `on`, then the operation and then the alias are
 * shortened in their middle. The account id and the Region are never shortened.
 */
const SUBJECT_FITS: ReadonlyArray<{ op: number; on: string; alias: number }> = [
  { op: 40, on: ' on stream ', alias: 32 },
  { op: 40, on: ' on ', alias: 32 },
  { op: 16, on: ' on ', alias: 32 },
  { op: 16, on: ' on ', alias: 16 },
  { op: 12, on: ' on ', alias: 12 },
];

/**
 * The subject: `[ALIAS-or-ACCOUNT REGION] keymend: <kind>: [user ]<name> <operation> on stream <name>`,
 * printable ASCII, whitespace collapsed, under 100 characters. `[ALIAS REGION]` when the account's alias
 * is known, else `[ACCOUNT REGION]`. Names are shortened in their middle (both ends stay readable) when
 * the whole would not fit, then the words around them (SUBJECT_FITS); never the account or the kind.
 */
export function emailSubject(kind: NotificationKind, proposal: Proposal): string {
  const who = principalName(proposal.scope.principalArn);
  const name = subjectText(who.name);
  const stream = subjectText(streamName(proposal.scope.streamArn));
  const op = subjectText(proposal.scope.operation);
  const alias = proposal.accountAlias ? subjectText(proposal.accountAlias) : '';
  const region = shortenMiddle(subjectText(proposal.scope.region), 20);
  // Most principals are roles: only a user (or an unparsable principal) is named as such, to save room.
  const kindWord = who.kind === 'role' ? '' : `${who.kind} `;
  let subject = '';
  for (const fit of SUBJECT_FITS) {
    const account = alias !== '' ? shortenMiddle(alias, fit.alias) : subjectText(proposal.scope.accountId);
    const head = `[${account} ${region}] keymend: ${kindText(kind).label}: ${kindWord}`;
    const middle = ` ${shortenMiddle(op, fit.op)}${fit.on}`;
    const room = Math.max(0, SUBJECT_MAX - head.length - middle.length);
    // Share the room: the shorter name keeps all it needs, the longer takes the rest.
    const nameRoom = Math.max(Math.ceil(room / 2), room - stream.length);
    const fittedName = shortenMiddle(name, nameRoom);
    const fittedStream = shortenMiddle(stream, room - fittedName.length);
    subject = `${head}${fittedName}${middle}${fittedStream}`;
    if (room >= name.length + stream.length || room >= 2 * SUBJECT_NAME_MIN) break;
  }
  return subject.slice(0, SUBJECT_MAX);
}

/** Lines `  Label:   value`, labels padded to one column. Values must already be safe. */
function labelled(rows: ReadonlyArray<readonly [string, string | null | undefined]>): string[] {
  const shown = rows.filter(
    (row): row is readonly [string, string] => row[1] !== null && row[1] !== undefined,
  );
  const width = Math.max(0, ...shown.map(([label]) => label.length)) + 2;
  return shown.map(([label, value]) => `  ${`${label}:`.padEnd(width)}${value}`);
}

function section(title: string, lines: string[]): string[] {
  return lines.length === 0 ? [] : ['', title, ...lines];
}

/** Indents every line of a block (JSON, code) by two spaces. */
function block(text: string): string[] {
  return text.split('\n').map((line) => (line === '' ? '' : `  ${line}`));
}

interface Options {
  /** Leave out the long parts (the plan's JSON, the code, the audit trail): the size guard's fallback. */
  compact: boolean;
}

/** IMPACT: what the denial costs (a consumer's records expiring, a producer's writes failing), when. */
function impact(kind: NotificationKind, proposal: Proposal): string[] {
  if (kind === 'revoked') return [];
  const lines = impactLines(proposal, kindText(kind).applied && kind !== 'still-failing');
  return section('IMPACT', labelled(lines.map((l) => [l.label, plainValue(l.text, 2048)] as const)));
}

/** Who approved, rejected or revoked (from the audit trail), and the reason given. */
function decision(kind: NotificationKind, proposal: Proposal): string[] {
  const decided = decisionOf(kind, proposal);
  if (!decided) return [];
  return section(
    'DECISION',
    labelled([
      [`${decided.verb} by`, plainValue(actorWords(decided.entry), 512)],
      ['At', plainValue(decided.entry.at)],
      ['Reason', decided.entry.reason ? plainValue(decided.entry.reason, 512) : null],
    ]),
  );
}

function whatHappened(proposal: Proposal): string[] {
  const { scope, request } = proposal;
  const who = principalName(scope.principalArn);
  const keyAccount = accountOfArn(scope.keyArn);
  return section(
    'WHAT HAPPENED',
    labelled([
      ['Principal', plainValue(scope.principalArn)],
      [who.kind === 'user' ? 'User' : 'Role', who.kind === 'principal' ? null : plainValue(who.name)],
      ['Session', request.sessionArn !== scope.principalArn ? plainValue(request.sessionArn) : null],
      ['Operation', plainValue(scope.operation)],
      ['Key', `${plainValue(keyShown(proposal))}${plainValue(aliasSuffix(proposal.keyAliases))}`],
      ['Stream', streamShown(scope.streamArn, (v) => plainValue(v))],
      ['Region', plainValue(scope.region)],
      ['Account', plainValue(accountShown(scope.accountId, proposal.accountAlias))],
      [
        "Caller's account",
        request.callerAccountId !== scope.accountId ? plainValue(request.callerAccountId) : null,
      ],
      [
        "Key's account",
        keyAccount !== '' && keyAccount !== scope.accountId
          ? plainValue(accountOf(proposal, keyAccount))
          : null,
      ],
      ['First seen', plainValue(proposal.firstSeen)],
      ['Last seen', plainValue(proposal.lastSeen)],
      // A lower bound: warm remediate environments write repeats back in batches (docs/remediate.md).
      ['Denials', `at least ${proposal.count} since the first`],
      ['Applied at', proposal.appliedAt ? plainValue(proposal.appliedAt) : null],
      ['Status', plainValue(proposal.status)],
      ['Proposal', plainValue(proposal.id)],
    ]),
  );
}

function why(proposal: Proposal): string[] {
  const lines: string[] = [];
  if (proposal.diagnosis) {
    for (const sentence of diagnosisWords(proposal.diagnosis)) lines.push(`  ${sentence}`);
  }
  lines.push(
    ...labelled([
      ['keymend', plainValue(proposal.reason)],
      ['Refusal', proposal.verdict === 'refuse' ? plainValue(proposal.code) : null],
      [
        'AWS said',
        proposal.request.errorMessage ? plainValue(proposal.request.errorMessage) : '(no message)',
      ],
    ]),
  );
  for (const attempt of proposal.attempts ?? []) {
    lines.push(`  Set aside ${plainValue(attempt.mechanism)}: ${plainValue(attempt.reason)}`);
  }
  return section('WHY', lines);
}

/** The diagnosis's notes, each on its own line, above THE CHANGE: read before approving. */
function checkFirst(proposal: Proposal): string[] {
  const notes = diagnosisNotes(proposal.diagnosis);
  if (notes.length === 0) return [];
  return section(
    `${NOTES_HEADING} (${NOTES_LEAD})`,
    notes.map((note) => `  - ${plainValue(note, 2048)}`),
  );
}

function change(kind: NotificationKind, proposal: Proposal, options: Options): string[] {
  const { plan } = proposal;
  if (plan === null) return [];
  const applied = kindText(kind).applied || kind === 'revoked';
  const lines = [`  ${planSentence(plan, proposal, applied && kind !== 'failed', kind === 'failed')}`];
  if (kind === 'revoked') lines.push('  It has been undone.');
  if (applied && plan.mechanism === 'kms-grant' && kind !== 'revoked')
    lines.push(`  ${GRANT_PROPAGATION_NOTE}`);
  if (proposal.planHash) lines.push(...labelled([['Plan hash', plainValue(proposal.planHash)]]));
  if (proposal.applied?.mechanism === 'kms-grant') {
    lines.push(...labelled([['Grant id', plainValue(proposal.applied.grantId)]]));
  }
  if (options.compact) {
    lines.push(
      '  (The JSON of the change is left out to keep this message small; the review page shows it.)',
    );
  } else {
    const { api, json, note } = planJson(plan);
    lines.push(
      '',
      `  The ${api} request${kind === 'proposed' ? ', exactly as it would be sent' : ''}:`,
      '',
      ...block(json),
    );
    if (note) lines.push('', `  ${note}`);
  }
  return section('THE CHANGE', lines);
}

/**
 * WHAT TO DO, for a refusal: who can act and what to change, each statement to add as JSON. The steps
 * name policies, principals and keys from the event and the account: every value is escaped.
 */
function whatToDo(proposal: Proposal): string[] {
  const steps = proposal.nextSteps ?? [];
  if (proposal.verdict !== 'refuse' || steps.length === 0) return [];
  const lines: string[] = [];
  steps.forEach((step, i) => {
    if (i > 0) lines.push('');
    lines.push(`  ${i + 1}. Who: ${plainValue(step.who)}`, `     ${plainValue(step.what, 4096)}`);
    if (step.statement) lines.push('', ...block(asciiJson(step.statement)).map((l) => (l ? `   ${l}` : l)));
  });
  return section('WHAT TO DO', lines);
}

/** Whether the change is live: made by keymend and not undone. */
function isLive(kind: NotificationKind): boolean {
  return kindText(kind).applied;
}

/**
 * The manual path: the aws CLI commands that make the change (for teams that apply changes through
 * their own pipeline) and undo it (after the revoke link has expired), each with the permission it needs.
 */
function manualSection(kind: NotificationKind, proposal: Proposal): string[] {
  const { plan } = proposal;
  if (plan === null || kind === 'revoked') return [];
  if (!scopeIsLiteral(proposal)) {
    return section('BY HAND', [
      '  (No commands shown: the names in this problem are not plain ARNs of one Region.)',
    ]);
  }
  const path = manualPath(plan, isLive(kind) ? proposal.applied : undefined);
  if (path === null) return [];
  const lines: string[] = [];
  const show = (commands: ManualCommand[]) => {
    for (const c of commands) {
      lines.push('', `  ${c.purpose}. Needs ${c.needs}:`, '', ...block(c.command));
    }
  };
  if (path.apply.length > 0) {
    lines.push(
      kind === 'proposed'
        ? '  To make the change yourself instead (through your own pipeline, say), run the commands below and then reject this proposal, so keymend does not make it a second time.'
        : '  To make the change yourself, run:',
    );
    show(path.apply);
    lines.push('', '  To undo it:');
  } else {
    lines.push('  To undo the change by hand (once the revoke link has expired, say):');
  }
  show(path.undo);
  if (path.notes.length > 0) lines.push('', ...path.notes.map((n) => `  ${n}`));
  return section('BY HAND (aws CLI)', lines);
}

/** `1 neighbouring request was` / `2 neighbouring requests were`. */
function requests(n: number): string {
  return n === 1 ? '1 neighbouring request was' : `${n} neighbouring requests were`;
}

function proof(proposal: Proposal): string[] {
  const p = proposal.proof;
  if (p === null) return [];
  const stayDenied = p.probes.filter((probe) => probe.result !== 'allowed').length;
  const wereAllowed = p.probes.filter(
    (probe) => probe.result === 'allowed' && probe.before === 'allowed',
  ).length;
  const opened = p.probes.filter((probe) => probe.result === 'allowed' && probe.before !== 'allowed').length;
  const actions = [...new Set(p.probes.map((probe) => probe.action))];
  const lines = labelled([
    ['Before the change', decisionWords(p.before)],
    ['With the change', decisionWords(p.after)],
  ]);
  lines.push(
    `  ${stayDenied} of ${p.probes.length} neighbouring requests stay denied with the change (other streams, another key, another principal, other KMS operations${p.probes.some((probe) => probe.description.includes('directly')) ? ', a direct call' : ''}).`,
  );
  if (wereAllowed > 0) {
    lines.push(
      `  ${requests(wereAllowed)} allowed before the change (by existing policies) and ${wereAllowed === 1 ? 'stays' : 'stay'} allowed.`,
    );
  }
  if (opened > 0) lines.push(`  WARNING: ${requests(opened)} denied before would become allowed.`);
  if (actions.length > 0) lines.push(`  Operations probed: ${actions.map((a) => plainValue(a)).join(', ')}`);
  return section("PROOF (keymend's policy evaluator, on the account as it read it)", lines);
}

/**
 * The decision links, for the people the e-mail goes to: the approve link opens the page with Approve
 * and Reject, the reject link a page that can only reject, the revoke link a page that can only
 * revoke. (The review link, which decides nothing, is chat's; the e-mail carries it only when it has
 * no decision link: an automatic fix, whose revoke link the remediate function cannot sign.)
 */
function links(links: ProposalLinks | null): string[] {
  if (links === null) return [];
  const decides = Boolean(links.approve || links.reject || links.revoke);
  const rows = labelled([
    ['Review and approve', links.approve ? safeUrl(links.approve) : null],
    ['Reject', links.reject ? safeUrl(links.reject) : null],
    ['Review and revoke', links.revoke ? safeUrl(links.revoke) : null],
    ['Review', decides ? null : safeUrl(links.review)],
  ]);
  if (rows.length === 0) return [];
  return section(`LINKS (they work until ${plainValue(links.expiresAt)})`, [
    ...rows,
    '  Opening a link only shows a page: nothing changes until you press its button.',
  ]);
}

function consoleSection(proposal: Proposal): string[] {
  const c = consoleLinks(proposal.scope);
  const who = principalName(proposal.scope.principalArn);
  const home = accountOfArn(proposal.scope.principalArn);
  // A console link opens in the account one is signed in to: name the account when it is another one.
  const label = (what: string, arn: string) => {
    const account = accountOfArn(arn);
    return account !== '' && account !== home ? `${what}, account ${plainValue(account)})` : `${what})`;
  };
  return section(
    'AWS CONSOLE',
    labelled([
      [who.kind === 'user' ? 'User (IAM)' : 'Role (IAM)', c.principal],
      [label('Key (KMS', proposal.scope.keyArn), c.key],
      [label('Stream (Kinesis', proposal.scope.streamArn), c.stream],
    ]),
  );
}

function permanent(proposal: Proposal): string[] {
  const { plan } = proposal;
  if (plan === null) return [];
  const lines: string[] = [
    '  A change keymend writes lives outside your infrastructure code. To keep it, put the same',
    '  least-privilege statement in code: only this operation, only on this key, only when Kinesis',
    '  calls KMS for this stream.',
  ];
  const drift = driftNote(plan, proposal);
  if (drift) lines.push('', `  ${drift}`);
  if (plan.mechanism !== 'key-policy-statement') {
    lines.push(
      '  (An IAM statement counts only when the key policy lets IAM policies allow access, as the',
      "  default key policy's statement for the account root does.)",
    );
  }
  if (scopeIsLiteral(proposal)) {
    lines.push('', '  CDK (TypeScript):', '', ...block(cdkSnippet(plan, proposal)));
    lines.push('', '  CloudFormation (YAML):', '', ...block(cloudFormationSnippet(plan, proposal)));
    lines.push('', '  Terraform:', '', ...block(terraformSnippet(plan)));
  } else {
    lines.push('', '  (No code shown: the names in this problem are not plain ARNs of one Region.)');
  }
  return section('MAKE IT PERMANENT IN CODE', lines);
}

function history(proposal: Proposal): string[] {
  const entries = proposal.audit.slice(-AUDIT_LINES);
  const lines = entries.map(
    (e) =>
      `  ${plainValue(e.at, 64)} ${plainValue(e.actor, 64)} ${plainValue(e.action, 64)}: ${plainValue(e.outcome, 256)}${e.detail ? ` (${plainValue(e.detail, 512)})` : ''}`,
  );
  if (proposal.audit.length > entries.length) {
    lines.unshift(`  (the ${entries.length} newest of ${proposal.audit.length} entries)`);
  }
  return section('HISTORY', lines);
}

function body(
  kind: NotificationKind,
  proposal: Proposal,
  proposalLinks: ProposalLinks | null,
  options: Options,
) {
  const text = kindText(kind);
  const lines = [
    kind === 'approved-applied' && !proposalLinks?.revoke
      ? approvedWithoutRevokeLink(plainValue(proposal.id))
      : text.headline,
    ...decision(kind, proposal),
    ...impact(kind, proposal),
    ...whatHappened(proposal),
    ...why(proposal),
    ...whatToDo(proposal),
    ...checkFirst(proposal),
    ...change(kind, proposal, options),
    ...proof(proposal),
    ...(options.compact ? [] : manualSection(kind, proposal)),
    ...links(proposalLinks),
    ...consoleSection(proposal),
    ...(options.compact ? [] : permanent(proposal)),
    ...(options.compact ? [] : history(proposal)),
    '',
    '-- ',
    'keymend: KMS permission fixes for encrypted Kinesis streams. Event-derived text above is shown',
    'escaped (\\uXXXX) and URLs in it are broken ([:]//) on purpose.',
  ];
  return `${lines.join('\n')}\n`;
}

/** The e-mail of one notification, always under SNS's 256 KB. */
export function renderEmail(
  kind: NotificationKind,
  proposal: Proposal,
  links: ProposalLinks | null,
): OutgoingMessage {
  let message = body(kind, proposal, links, { compact: false });
  if (Buffer.byteLength(message, 'utf8') > BODY_BYTE_BUDGET) {
    message = body(kind, proposal, links, { compact: true });
  }
  return { topic: 'email', subject: emailSubject(kind, proposal), message };
}
