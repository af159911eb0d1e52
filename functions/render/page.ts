/**
 * The approval pages (issues 10 and 21): the review page a link opens, the result of an action, and
 * the 4xx pages of a refused link. Pure: data in, HTML out. Every interpolated value is escaped by
 * `html`; the page has no script and one `<style>` whose hash the Content-Security-Policy names
 * (`PAGE_STYLE`, hashed by the handler at cold start).
 *
 * The review page is decision first: one box at the top says what changes in one sentence, that
 * nothing else gains access (with the count of calls checked), how to undo, the notes to check first,
 * and holds the buttons, in view without scrolling at 1280x900. The details follow, each a collapsible
 * section (`DetailSection`): what was denied, why, the exact change, the proof.
 */
import { arnAccount } from '../commons/arn';
import type { Approver } from '../core/approvers';
import type { Proof } from '../core/diagnose';
import type { Plan } from '../core/plan';
import type { AppliedChange, Proposal } from '../core/proposal';
import type { ApprovalAction, LinkAction } from '../core/token';
import { actorWords, decisionOf } from './actor';
import { diagnosisWords } from './diagnosis-words';
import { scopeIsLiteral } from './fix';
import { Html, html } from './html';
import { impactLines } from './impact';
import { changeRequest, type ManualCommand, manualPath, terraformSnippet } from './manual';
import { accountOf, accountShown, principalName, streamName } from './names';
import { diagnosisNotes, NOTES_LEAD } from './notes';

/** The page's only style. Its SHA-256 goes into the CSP's `style-src`: change it and the hash follows. */
export const PAGE_STYLE =
  '*{box-sizing:border-box}' +
  'body{font:15px/1.45 system-ui,sans-serif;max-width:52rem;margin:1rem auto;padding:0 1rem;color:#1b1b1b;overflow-wrap:anywhere}' +
  'h1{font-size:1.3rem;margin:.4rem 0}h2{font-size:1.05rem;display:inline}' +
  'table{border-collapse:collapse;width:100%;table-layout:fixed}' +
  'th{text-align:left;vertical-align:top;padding-right:1rem;width:9rem}td{word-break:break-all}' +
  'pre{background:#f4f4f4;padding:.6rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all;max-width:100%}' +
  '.status{display:inline-block;padding:.1rem .5rem;border:1px solid #888;border-radius:3px}' +
  '.decide{border:2px solid #1d6b2c;border-radius:6px;padding:.6rem 1rem;margin:.6rem 0 1rem}' +
  '.decide p{margin:.45rem 0}.decide ul{margin:.3rem 0;padding-left:1.2rem}' +
  '.check{background:#fff4ce;border:1px solid #c99a00;border-radius:4px;padding:.4rem .8rem;margin:.6rem 0}' +
  '.check strong{display:block}' +
  '.actions{display:flex;flex-wrap:wrap;gap:.8rem 1rem;align-items:flex-start;margin:.8rem 0 .4rem}' +
  '.actions form{margin:0}.reason{display:flex;flex-direction:column;gap:.3rem}.reason button{align-self:flex-start}' +
  'textarea{width:18rem;max-width:100%;font:inherit}' +
  'button{font-size:1rem;padding:.5rem 1.4rem;border:1px solid #444;border-radius:4px;cursor:pointer}' +
  'button.approve{background:#1d6b2c;color:#fff}button.reject,button.revoke{background:#fff;color:#8a1c1c}' +
  'details{border-top:1px solid #ddd;padding:.5rem 0}summary{cursor:pointer}' +
  '.added{background:#e6f4ea}' +
  '.who{color:#333}.note{color:#555}.bad{color:#8a1c1c}';

/** A page to send: its HTTP status and the whole document. */
export interface Page {
  statusCode: number;
  html: string;
}

/** Who is looking at the page: sign-in off, or the signed-in person (null: nobody) and whether listed. */
export type Viewer = { signIn: false } | { signIn: true; approver: Approver | null; allowed: boolean };

/** What the review page needs: the proposal and, per action the reader may take, its signed token. */
export interface ReviewInput {
  proposal: Proposal;
  /** The link that opened the page: a reject link's page offers Reject only, a review link's nothing. */
  opened?: LinkAction;
  forms: Partial<Record<ApprovalAction, string>>;
  /** When the tokens stop working (ISO time). */
  expiresAt: string;
  /** False when this deployment does not apply key-policy changes: the page says so before Approve. */
  keyPolicyEnabled: boolean;
  /** @default { signIn: false } */
  viewer?: Viewer;
}

/** The outcome of a POST that did something. */
export type ResultKind = 'applied' | 'rejected' | 'revoked' | 'failed' | 'not-applied' | 'not-revoked';

/** Why a link was refused; each has its own 4xx status. */
export type RefusalKind =
  | 'bad-request'
  | 'bad-token'
  | 'expired'
  | 'not-pending'
  | 'not-found'
  | 'method'
  | 'sign-in'
  | 'sign-in-failed'
  | 'not-approver';

const REFUSALS: Readonly<Record<RefusalKind, { statusCode: number; title: string; text: string }>> = {
  'bad-request': {
    statusCode: 400,
    title: 'This is not a keymend link',
    text: 'The address or the form is not one keymend sends. Open the link from the notification again.',
  },
  'bad-token': {
    statusCode: 403,
    title: 'This link is not valid',
    text: 'Its signature does not match this proposal, this action or this change. Nothing was changed.',
  },
  expired: {
    statusCode: 410,
    title: 'This link has expired',
    text: 'Approval links work for a limited time. Nothing was changed; the next denial of this problem starts a new proposal.',
  },
  'not-pending': {
    statusCode: 409,
    title: 'This link was already used',
    text: 'The proposal is no longer waiting for this action. Nothing was changed.',
  },
  'not-found': {
    statusCode: 404,
    title: 'No such proposal',
    text: 'keymend has no proposal at this address (it may have been deleted after it expired).',
  },
  method: {
    statusCode: 405,
    title: 'Not allowed',
    text: 'Open the link in a browser; the page has buttons for each action.',
  },
  'sign-in': {
    statusCode: 403,
    title: 'Sign in first',
    text: 'This deployment needs a signed-in approver, and your sign-in is missing or has expired. Open the link from the notification again to sign in. Nothing was changed.',
  },
  'sign-in-failed': {
    statusCode: 403,
    title: 'Sign-in did not complete',
    text: 'The answer from your identity provider failed a check (it may have taken too long, or come from another sign-in). Open the link from the notification again. Nothing was changed.',
  },
  'not-approver': {
    statusCode: 403,
    title: 'You may not approve this',
    text: 'You are signed in, but not as one of the people this deployment lets approve, reject or revoke. Nothing was changed.',
  },
};

const BUTTONS: Readonly<Record<ApprovalAction, { label: string; text: string }>> = {
  approve: { label: 'Approve', text: 'Apply exactly the change described above.' },
  reject: { label: 'Reject', text: 'Do nothing, and stay quiet about this problem for a while.' },
  revoke: { label: 'Revoke', text: 'Undo the change keymend applied.' },
};

/** ISO time as `2026-12-03 08:55 UTC`; the text as given when it is not a time. */
export function formatTime(iso: string): string {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return iso;
  return `${new Date(time).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function htmlDocument(title: string, body: Html): string {
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>${title}</title>
<style>${new Html(PAGE_STYLE)}</style>
</head>
<body>
${body}
</body>
</html>
`.text;
}

function row(label: string, value: unknown): Html {
  return html`<tr><th scope="row">${label}</th><td>${value}</td></tr>\n`;
}

function keyText(proposal: Proposal): string {
  const aliases = proposal.keyAliases.length > 0 ? ` (${proposal.keyAliases.join(', ')})` : '';
  return `${proposal.scope.keyArn}${aliases}`;
}

/** The key in a few words: its first alias, else its ARN. */
function keyName(proposal: Proposal): string {
  return proposal.keyAliases[0] ?? proposal.scope.keyArn;
}

/** `role orders-consumer`. */
function whoName(proposal: Proposal): string {
  const who = principalName(proposal.scope.principalArn);
  return `${who.kind} ${who.name}`;
}

/**
 * One section of the details below the decision box: collapsible (`<details open>`), with a heading.
 * Sections other issues add (subjects, impact, the manual path) slot into `detailSections`.
 */
export interface DetailSection {
  id: string;
  title: string;
  body: Html;
}

function detailsHtml(sections: readonly DetailSection[]): Html {
  return html`${sections.map(
    (section) => html`<details open id="${section.id}">
<summary><h2>${section.title}</h2></summary>
${section.body}</details>
`,
  )}`;
}

/** What was denied: principal, operation, key with alias, stream, Region, account, how many since when. */
function deniedSection(proposal: Proposal): DetailSection {
  const { scope, request } = proposal;
  // A lower bound: warm remediate environments write repeats back in batches (docs/remediate.md).
  const denials = `at least ${proposal.count === 1 ? '1 denial' : `${proposal.count} denials`}`;
  return {
    id: 'denied',
    title: 'What was denied',
    body: html`<table>
${row('Principal', scope.principalArn)}${
  request.sessionArn && request.sessionArn !== scope.principalArn ? row('Session', request.sessionArn) : ''
}${row('Operation', scope.operation)}${row('Key', keyText(proposal))}${row('Stream', scope.streamArn)}${row(
  'Region',
  scope.region,
)}${row('Account', accountShown(scope.accountId, proposal.accountAlias))}${row(
  'Seen',
  `${denials} since ${formatTime(proposal.firstSeen)} (last ${formatTime(proposal.lastSeen)})`,
)}</table>
`,
  };
}

/** AWS's own words: the message of the event when the intake kept it, else what it said it was denied by. */
function awsMessage(proposal: Proposal): string {
  const kept = proposal.request.errorMessage;
  if (kept) return kept;
  const { kind, policyType, policyArn } = proposal.request.deniedBy;
  if (kind === 'unknown' && policyType === null) return 'AWS did not say which policy denied the call.';
  const how = kind === 'explicit' ? 'with an explicit deny in' : kind === 'implicit' ? 'because no' : 'by';
  const which = policyType ? `${policyType} policy` : 'policy';
  const allows = kind === 'implicit' ? ' allows the call' : '';
  return `Denied ${how} ${which}${allows}${policyArn ? `: ${policyArn}` : ''}.`;
}

function whySection(proposal: Proposal): DetailSection {
  const words = proposal.diagnosis ? diagnosisWords(proposal.diagnosis) : [];
  return {
    id: 'why',
    title: 'Why',
    body: html`${words.length > 0 ? html`<ul>${words.map((w) => html`<li>${w}</li>`)}</ul>\n` : ''}<p>${proposal.reason}</p>
<p>AWS said: <q>${awsMessage(proposal)}</q></p>
`,
  };
}

/** The impact: what the denial costs and since when (CloudTrail's time of the first denial). */
function impactSection(proposal: Proposal): DetailSection | null {
  if (proposal.status === 'revoked') return null;
  const lines = impactLines(proposal, proposal.status === 'applied');
  return {
    id: 'impact',
    title: 'Impact',
    body: html`<table>
${lines.map((l) => row(l.label, l.text))}</table>
`,
  };
}

/** What to do about a refusal: who can act, what to change, each statement to add. */
function whatToDoSection(proposal: Proposal): DetailSection | null {
  const steps = proposal.nextSteps ?? [];
  if (proposal.verdict !== 'refuse' || steps.length === 0) return null;
  return {
    id: 'what-to-do',
    title: 'What to do',
    body: html`<ol>${steps.map(
      (step) =>
        html`<li><strong>${step.who}</strong>: ${step.what}${
          step.statement ? html`<pre>${JSON.stringify(step.statement, null, 2)}</pre>` : ''
        }</li>\n`,
    )}</ol>
`,
  };
}

/** The change in one sentence, and exactly what would be written, as JSON. */
export function describeChange(plan: Plan): { summary: string; json: string; document?: string } {
  switch (plan.mechanism) {
    case 'cross-account': {
      const key = describeChange(plan.keySide);
      const caller = describeChange(plan.callerSide);
      return {
        summary: `Two changes, applied in this order and revoked together. 1. In account ${plan.keyAccountId} (the key's owner): ${key.summary} 2. In account ${plan.callerAccountId} (the caller's): ${caller.summary}`,
        json: JSON.stringify(
          {
            [`1. account ${plan.keyAccountId}`]: plan.keySide.statement,
            [`2. account ${plan.callerAccountId}`]: changeRequest(plan.callerSide).request,
          },
          null,
          2,
        ),
        ...(key.document ? { document: key.document } : {}),
      };
    }
    case 'kms-grant':
      return {
        summary: `Create a KMS grant named ${plan.name} on the key for ${plan.granteePrincipal}: ${plan.operations.join(
          ', ',
        )} only, only for the stream its encryption context names.`,
        json: JSON.stringify(changeRequest(plan).request, null, 2),
      };
    case 'iam-inline-policy':
      return {
        summary: `Put an inline IAM policy named ${plan.policyName} on ${plan.principalArn}.`,
        json: JSON.stringify(changeRequest(plan).request, null, 2),
      };
    case 'key-policy-statement':
      return {
        summary: `Add one statement (${plan.statement.Sid}) to the key policy of ${plan.keyArn}; every other statement stays as it is.`,
        json: JSON.stringify(plan.statement, null, 2),
        document: JSON.stringify(plan.document, null, 2),
      };
    default: {
      const unreachable: never = plan;
      throw new Error(`unknown plan ${JSON.stringify(unreachable)}`);
    }
  }
}

/** What changes, in one sentence a person decides on: who gets which operation on which key, for which stream. */
export function changeSentence(plan: Plan, proposal: Proposal): string {
  const op = proposal.scope.operation;
  const only = `only when Kinesis calls KMS for stream ${streamName(proposal.scope.streamArn)}`;
  switch (plan.mechanism) {
    case 'kms-grant':
      return `Let ${whoName(proposal)} use ${op} on key ${keyName(proposal)}, ${only} (a KMS grant, ${plan.name}).`;
    case 'iam-inline-policy':
      return `Let ${whoName(proposal)} use ${op} on key ${keyName(proposal)}, ${only} (an inline IAM policy, ${plan.policyName}, on the ${principalName(proposal.scope.principalArn).kind}).`;
    case 'key-policy-statement':
      return `Let ${whoName(proposal)} use ${op} on key ${keyName(proposal)}, ${only} (one statement, ${plan.statement.Sid}, added to the key policy).`;
    case 'cross-account':
      return `Let ${whoName(proposal)} use ${op} on key ${keyName(proposal)}, ${only}: across accounts both sides must allow, so two changes, made together: one statement, ${plan.keySide.statement.Sid}, added to the key policy in account ${accountOf(proposal, plan.keyAccountId)} (the key's owner), then an inline IAM policy, ${plan.callerSide.policyName}, on the ${principalName(proposal.scope.principalArn).kind} in account ${accountOf(proposal, plan.callerAccountId)} (the caller's).`;
    default: {
      const unreachable: never = plan;
      throw new Error(`unknown plan ${JSON.stringify(unreachable)}`);
    }
  }
}

/** How the change is undone, before it is made. */
function undoSentence(plan: Plan): string {
  switch (plan.mechanism) {
    case 'kms-grant':
      return 'To undo: the Revoke link (on the next page and in the "applied" e-mail) retires exactly this grant.';
    case 'iam-inline-policy':
      return 'To undo: the Revoke link (on the next page and in the "applied" e-mail) deletes exactly this inline policy.';
    case 'key-policy-statement':
      return 'To undo: the Revoke link (on the next page and in the "applied" e-mail) restores the key policy as it was, if nobody changed it since.';
    case 'cross-account':
      return `To undo: the Revoke link (on the next page and in the "applied" e-mail) undoes both together: it deletes exactly this inline policy in account ${plan.callerAccountId} and restores the key policy in account ${plan.keyAccountId} as it was, if nobody changed either since.`;
    default: {
      const unreachable: never = plan;
      throw new Error(`unknown plan ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * A key-policy change as a diff of the whole new policy: every existing statement as context (`  `),
 * the added statement's lines marked `+ `.
 */
function keyPolicyDiff(plan: Extract<Plan, { mechanism: 'key-policy-statement' }>): Html {
  const lines = JSON.stringify(plan.document, null, 2).split('\n');
  const added = JSON.stringify(plan.statement, null, 2)
    .split('\n')
    .map((line) => `    ${line}`);
  // The added statement is the last of `Statement`: find its block (its last line may carry no comma).
  let at = -1;
  for (let i = lines.length - added.length; i >= 0 && at < 0; i--) {
    if (added.every((line, j) => lines[i + j]?.replace(/,$/, '') === line.replace(/,$/, ''))) at = i;
  }
  const marked =
    at < 0
      ? added.map((line) => ({ line, plus: true }))
      : lines.map((line, i) => ({ line, plus: i >= at && i < at + added.length }));
  return html`<pre class="diff">${marked.map(({ line, plus }) =>
    plus ? html`<span class="added">+ ${line}</span>\n` : html`  ${line}\n`,
  )}</pre>
`;
}

function changeSection(plan: Plan, keyPolicyEnabled: boolean, proposal: Proposal): DetailSection {
  const change = describeChange(plan);
  if (plan.mechanism === 'cross-account') {
    const key = changeSection(plan.keySide, keyPolicyEnabled, proposal);
    const caller = changeSection(plan.callerSide, keyPolicyEnabled, proposal);
    return {
      id: 'change',
      title: 'The exact change, in two accounts',
      body: html`<p>Across accounts both sides must allow. Approving makes both changes, in this order, and Revoke undoes both.</p>
<h3>1. In account ${accountOf(proposal, plan.keyAccountId)}, the key's owner</h3>
${key.body}<h3>2. In account ${accountOf(proposal, plan.callerAccountId)}, the caller's</h3>
${caller.body}`,
    };
  }
  const disabled =
    plan.mechanism === 'key-policy-statement' && !keyPolicyEnabled
      ? html`<p class="bad">This deployment does not apply key-policy changes: Approve will record the approval and change nothing. Make the change by hand, or enable key-policy-statement.</p>\n`
      : '';
  return {
    id: 'change',
    title: 'The exact change',
    body: html`<p>${change.summary}</p>
${
  plan.mechanism === 'key-policy-statement'
    ? html`<p>The complete new key policy, as a diff: every existing statement unchanged, the lines marked + added.</p>
${keyPolicyDiff(plan)}`
    : html`<pre>${change.json}</pre>
`
}${disabled}`,
  };
}

/**
 * The manual path, in the page's details: the aws CLI commands that make and undo the change, each with
 * the permission it needs, and the Terraform. Empty when the scope's names are not plain ARNs.
 */
function manualPageSection(proposal: Proposal): DetailSection | null {
  const { plan } = proposal;
  if (plan === null || proposal.status === 'revoked' || !scopeIsLiteral(proposal)) return null;
  const live = proposal.status === 'applied';
  const path = manualPath(plan, live ? proposal.applied : undefined);
  if (path === null) return null;
  const commands = (list: ManualCommand[]) =>
    list.map((c) => html`<p>${c.purpose}. Needs ${c.needs}:</p>\n<pre>${c.command}</pre>\n`);
  return {
    id: 'by-hand',
    title: 'By hand: aws CLI and Terraform',
    body: html`${path.apply.length > 0 ? html`<p>To make the change yourself instead (then reject this proposal):</p>\n${commands(path.apply)}` : ''}<p>To undo it:</p>
${commands(path.undo)}${path.notes.map((n) => html`<p class="note">${n}</p>\n`)}<p>Terraform:</p>
<pre>${terraformSnippet(plan)}</pre>
`,
  };
}

const MAX_PROBE_LINES = 8;

/** Neighbouring calls the change must leave as they were, and how many it would open (should be 0). */
function gainedCount(proof: Proof): number {
  return proof.probes.filter((p) => p.result === 'allowed' && p.before !== 'allowed').length;
}

function proofSection(proof: Proof): DetailSection {
  const gained = gainedCount(proof);
  const lines = proof.probes.slice(0, MAX_PROBE_LINES);
  const more = proof.probes.length - lines.length;
  // A neighbour that was allowed before the change (a principal whose own policies allow kms:*) says so,
  // so "allowed" never reads as something the change opened.
  const outcome = (p: Proof['probes'][number]) =>
    p.before !== p.result
      ? `${p.before} -> ${p.result}`
      : p.result === 'allowed'
        ? 'allowed already, unchanged'
        : `${p.result}, unchanged`;
  return {
    id: 'proof',
    title: 'The proof',
    body: html`<p>The call is <strong>${proof.before}</strong> now and <strong>${proof.after}</strong> with the change. keymend's policy evaluator checked ${
      proof.probes.length
    } neighbouring calls, on hypothetical resources and principals made up for the check (none of them is named as if it existed): ${
      gained === 0
        ? 'the change allows none of them that was not allowed before.'
        : `${gained} would gain access.`
    }</p>
<ul>${lines.map((p) => html`<li>${p.description}: ${outcome(p)}</li>`)}${
      more > 0 ? html`<li>and ${more} more</li>` : ''
    }</ul>
`,
  };
}

/** The details below the decision box, in order. */
export function detailSections(proposal: Proposal, keyPolicyEnabled: boolean): DetailSection[] {
  const sections: Array<DetailSection | null> = [
    impactSection(proposal),
    deniedSection(proposal),
    whySection(proposal),
    whatToDoSection(proposal),
    ...(proposal.plan ? [changeSection(proposal.plan, keyPolicyEnabled, proposal)] : []),
    ...(proposal.proof ? [proofSection(proposal.proof)] : []),
    manualPageSection(proposal),
  ];
  return sections.filter((section): section is DetailSection => section !== null);
}

/**
 * One form per action: it POSTs the action and its token to the page's own path. The action attribute is
 * the bare proposal id, relative to `/p/`, so the form works behind any base path and the token never
 * rides in a URL a proxy logs on submit. Reject takes an optional reason, shown in the notification.
 */
function forms(proposal: Proposal, tokens: Partial<Record<ApprovalAction, string>>): Html {
  const actions = (['approve', 'reject', 'revoke'] as const).filter((a) => tokens[a] !== undefined);
  if (actions.length === 0) return html``;
  return html`<div class="actions">
${actions.map(
  (
    action,
  ) => html`<form method="post" action="${proposal.id}"${action === 'reject' ? html` class="reason"` : ''}>
<input type="hidden" name="a" value="${action}">
<input type="hidden" name="t" value="${tokens[action]}">
${
  action === 'reject'
    ? html`<label for="reason">Reason (optional, shown in the notification)</label>
<textarea id="reason" name="reason" rows="2" maxlength="500"></textarea>
`
    : ''
}<button type="submit" class="${action}" title="${BUTTONS[action].text}">${BUTTONS[action].label}</button>
</form>
`,
)}</div>
`;
}

/**
 * The status, and the account and Region the change is in: in an organization one approval page looks
 * much like another, and the account (with its alias) is what tells them apart.
 */
function statusLine(proposal: Proposal): Html {
  const applied = proposal.appliedAt ? html` at ${formatTime(proposal.appliedAt)}` : '';
  return html`<p>Status: <span class="status">${proposal.status}</span>${applied}</p>
<p>Account <strong>${accountShown(proposal.scope.accountId, proposal.accountAlias)}</strong>, Region ${proposal.scope.region}</p>
`;
}

/** The page's title: the heading and the account it happened in (a browser tab shows little else). */
function pageTitle(prefix: string, proposal: Proposal): string {
  return `${prefix}${heading(proposal)} in account ${accountShown(proposal.scope.accountId, proposal.accountAlias)}`;
}

/** `kms:Decrypt denied to role orders-consumer on stream orders`: names, not ARNs (the details have those). */
function heading(proposal: Proposal): string {
  return `${proposal.scope.operation} denied to ${whoName(proposal)} on stream ${streamName(proposal.scope.streamArn)}`;
}

/** The notes, highlighted: a person reads them before pressing a button. */
function notesBox(proposal: Proposal): Html {
  const notes = diagnosisNotes(proposal.diagnosis);
  if (notes.length === 0) return html``;
  return html`<div class="check" role="note"><strong>Check first. ${NOTES_LEAD}</strong>
<ul>${notes.map((n) => html`<li>${n}</li>`)}</ul></div>
`;
}

/** Who is deciding, or that anyone holding the link can. */
function viewerLine(viewer: Viewer): Html {
  if (!viewer.signIn) {
    return html`<p class="who">Sign-in is off: anyone holding this link can press these buttons. keymend records the IP address and browser of the click.</p>\n`;
  }
  if (!viewer.approver) return html`<p class="who">Nobody is signed in.</p>\n`;
  const who = viewer.approver.email || `subject ${viewer.approver.subject}`;
  return viewer.allowed
    ? html`<p class="who">Signed in as <strong>${who}</strong>: an approver. Your name goes into the audit trail and the notification.</p>\n`
    : html`<p class="who bad">Signed in as <strong>${who}</strong>, who is not one of this deployment's approvers: you can read this page, not decide.</p>\n`;
}

/** The decision box: the change, its reach, how to undo, the notes, and the buttons. */
function decisionBox(input: ReviewInput, viewer: Viewer): Html {
  const { proposal } = input;
  const plan = proposal.plan;
  const proof = proposal.proof;
  const canAct = Object.keys(input.forms).length > 0;
  const lines: Html[] = [];
  if (plan && proposal.status === 'applied' && (input.opened === 'revoke' || input.forms.revoke)) {
    lines.push(
      html`<p><strong>Revoking</strong> undoes this change: ${changeSentence(plan, proposal)}</p>
<p class="bad">After Revoke, ${whoName(proposal)} is denied ${proposal.scope.operation} on key ${keyName(
        proposal,
      )} for stream ${streamName(proposal.scope.streamArn)} again, as before the change (unless another policy allows it by then).</p>
`,
    );
  } else if (plan) {
    lines.push(html`<p><strong>The change:</strong> ${changeSentence(plan, proposal)}</p>\n`);
    if (proof) {
      const gained = gainedCount(proof);
      lines.push(
        gained === 0
          ? html`<p><strong>Nothing else gains access:</strong> keymend checked ${proof.probes.length} other calls (other streams, keys, principals and operations): the change opens none of them.</p>\n`
          : html`<p class="bad"><strong>Warning:</strong> ${gained} of ${proof.probes.length} other calls checked would gain access.</p>\n`,
      );
    }
    lines.push(html`<p>${undoSentence(plan)}</p>\n`);
    if (
      (plan.mechanism === 'key-policy-statement' || plan.mechanism === 'cross-account') &&
      !input.keyPolicyEnabled
    ) {
      lines.push(
        html`<p class="bad">This deployment does not apply key-policy changes: Approve records the approval and changes nothing.</p>\n`,
      );
    }
  } else {
    lines.push(html`<p>${proposal.reason}</p>\n`);
  }
  const decide = canAct
    ? html`${viewerLine(viewer)}${forms(proposal, input.forms)}<p class="note">This link works until ${formatTime(
        input.expiresAt,
      )}. Opening it changes nothing; only a button does.</p>
`
    : html`${viewer.signIn ? viewerLine(viewer) : ''}<p class="note">${
        proposal.status === 'pending' && input.opened === 'review'
          ? 'This review link shows the change and decides nothing: approvers decide from the links keymend e-mailed them.'
          : `Nothing is left to decide with this link: the proposal is ${proposal.status}.`
      }</p>
`;
  return html`<section class="decide" aria-label="Decision">
${lines}${notesBox(proposal)}${decide}</section>
`;
}

/** The review page a link opens. It shows; only its forms act, by POST. */
export function reviewPage(input: ReviewInput): Page {
  const { proposal } = input;
  const viewer = input.viewer ?? { signIn: false };
  const title = pageTitle('keymend: ', proposal);
  const body = html`<h1>${heading(proposal)}</h1>
${statusLine(proposal)}${decisionBox(input, viewer)}${detailsHtml(
  detailSections(proposal, input.keyPolicyEnabled),
)}`;
  return { statusCode: 200, html: htmlDocument(title, body) };
}

const RESULTS: Readonly<Record<ResultKind, { title: string; statusCode: number }>> = {
  applied: { title: 'Applied', statusCode: 200 },
  rejected: { title: 'Rejected', statusCode: 200 },
  revoked: { title: 'Revoked', statusCode: 200 },
  failed: { title: 'The change failed', statusCode: 200 },
  'not-applied': { title: 'Nothing was applied', statusCode: 200 },
  'not-revoked': { title: 'Nothing was undone', statusCode: 200 },
};

/** What keymend wrote, named so it can be found in the console: the grant id, the policy name. */
function whatWasDone(proposal: Proposal): Html {
  return proposal.applied ? changeTable(proposal.applied) : html``;
}

function changeTable(applied: AppliedChange): Html {
  switch (applied.mechanism) {
    case 'cross-account':
      return html`<p>In account ${arnAccount(applied.keySide.keyArn)}, the key's owner:</p>
${changeTable(applied.keySide)}<p>In account ${arnAccount(applied.callerSide.principalArn)}, the caller's:</p>
${changeTable(applied.callerSide)}`;
    case 'kms-grant':
      return html`<table>
${row('Grant id', applied.grantId)}${row('Grant name', applied.grantName)}${row('Key', applied.keyArn)}</table>
`;
    case 'iam-inline-policy':
      return html`<table>
${row('Inline policy', applied.policyName)}${row('On', applied.principalArn)}</table>
`;
    case 'key-policy-statement':
      return html`<table>
${row('Key policy of', applied.keyArn)}</table>
`;
    default: {
      const unreachable: never = applied;
      throw new Error(`unknown applied change ${JSON.stringify(unreachable)}`);
    }
  }
}

/** Who decided (from the audit trail), and the reason given. */
function decidedBy(kind: ResultKind, proposal: Proposal): Html {
  const notification = kind === 'applied' ? 'approved-applied' : kind;
  if (notification !== 'approved-applied' && notification !== 'rejected' && notification !== 'revoked') {
    return html``;
  }
  const decision = decisionOf(notification, proposal);
  if (!decision) return html``;
  return html`<p class="who">${decision.verb} by ${actorWords(decision.entry)}.</p>
${decision.entry.reason ? html`<p>Reason: <q>${decision.entry.reason}</q></p>\n` : ''}`;
}

/**
 * The page after an action: what happened, who did it, what was done (grant id, policy name) and, after
 * an apply, the revoke link. `detail` is a sentence for people.
 */
export function resultPage(
  kind: ResultKind,
  proposal: Proposal,
  detail: string,
  revokeUrl: string | null = null,
): Page {
  const { title } = RESULTS[kind];
  const sentence = proposal.plan ? changeSentence(proposal.plan, proposal) : '';
  const undone =
    kind === 'revoked'
      ? html`<p class="bad">${whoName(proposal)} is denied ${proposal.scope.operation} on key ${keyName(
          proposal,
        )} for stream ${streamName(proposal.scope.streamArn)} again, as before the change.</p>\n`
      : '';
  const body = html`<h1>${title}: ${heading(proposal)}</h1>
${statusLine(proposal)}<p>${detail}</p>
${decidedBy(kind, proposal)}${sentence ? html`<p class="note">${kind === 'revoked' ? 'It was: ' : ''}${sentence}</p>\n` : ''}${undone}${
  kind === 'applied' ? whatWasDone(proposal) : ''
}${
  revokeUrl
    ? html`<p>To undo it: <a href="${revokeUrl}">the revoke link</a> (it opens a page; nothing changes until you press Revoke there). The "applied" e-mail carries the same link.</p>\n`
    : ''
}`;
  return {
    statusCode: RESULTS[kind].statusCode,
    html: htmlDocument(pageTitle(`keymend: ${title}: `, proposal), body),
  };
}

/** A refused link: its 4xx status and a page that says nothing about the proposal. */
export function refusalPage(kind: RefusalKind): Page {
  const refusal = REFUSALS[kind];
  const body = html`<h1>${refusal.title}</h1>
<p>${refusal.text}</p>
`;
  return { statusCode: refusal.statusCode, html: htmlDocument(`keymend: ${refusal.title}`, body) };
}

/** The page for anything keymend did not expect: no detail reaches the client. */
export function errorPage(): Page {
  const body = html`<h1>Something went wrong</h1>
<p>keymend could not finish this request. Nothing more is said here; the logs have the details.</p>
`;
  return { statusCode: 500, html: htmlDocument('keymend: error', body) };
}
