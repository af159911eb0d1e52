/**
 * The approval pages (issue 10): the review page a link opens, the result of an action, and the 4xx
 * pages of a refused link. Pure: data in, HTML out. Every interpolated value is escaped by `html`;
 * the page has no script and one `<style>` whose hash the Content-Security-Policy names
 * (`PAGE_STYLE`, hashed by the handler at cold start).
 */
import type { Proof } from '../core/diagnose';
import type { Plan } from '../core/plan';
import type { Proposal } from '../core/proposal';
import type { ApprovalAction } from '../core/token';
import { diagnosisWords } from './diagnosis-words';
import { scopeIsLiteral } from './fix';
import { Html, html } from './html';
import { impactLines } from './impact';
import { changeRequest, type ManualCommand, manualPath, terraformSnippet } from './manual';

/** The page's only style. Its SHA-256 goes into the CSP's `style-src`: change it and the hash follows. */
export const PAGE_STYLE =
  'body{font:15px/1.45 system-ui,sans-serif;max-width:52rem;margin:1.5rem auto;padding:0 1rem;color:#1b1b1b}' +
  'h1{font-size:1.35rem}h2{font-size:1.05rem;margin-top:1.4rem;border-bottom:1px solid #ddd}' +
  'th{text-align:left;vertical-align:top;padding-right:1rem;white-space:nowrap}td{word-break:break-all}' +
  'pre{background:#f4f4f4;padding:.6rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}' +
  '.status{display:inline-block;padding:.1rem .5rem;border:1px solid #888;border-radius:3px}' +
  '.actions{display:flex;gap:1rem;margin:1.2rem 0}' +
  'button{font-size:1rem;padding:.5rem 1.4rem;border:1px solid #444;border-radius:4px;cursor:pointer}' +
  'button.approve{background:#1d6b2c;color:#fff}button.reject,button.revoke{background:#fff;color:#8a1c1c}' +
  '.note{color:#555}.bad{color:#8a1c1c}';

/** A page to send: its HTTP status and the whole document. */
export interface Page {
  statusCode: number;
  html: string;
}

/** What the review page needs: the proposal and, per action the reader may take, its signed token. */
export interface ReviewInput {
  proposal: Proposal;
  forms: Partial<Record<ApprovalAction, string>>;
  /** When the tokens stop working (ISO time). */
  expiresAt: string;
  /** False when this deployment does not apply key-policy changes: the page says so before Approve. */
  keyPolicyEnabled: boolean;
}

/** The outcome of a POST that did something. */
export type ResultKind = 'applied' | 'rejected' | 'revoked' | 'failed' | 'not-applied' | 'not-revoked';

/** Why a link was refused; each has its own 4xx status. */
export type RefusalKind = 'bad-request' | 'bad-token' | 'expired' | 'not-pending' | 'not-found' | 'method';

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
};

const BUTTONS: Readonly<Record<ApprovalAction, { label: string; text: string }>> = {
  approve: { label: 'Approve', text: 'Apply exactly the change above.' },
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

/** What was denied: principal, operation, key with alias, stream, Region, account, how many since when. */
function deniedSection(proposal: Proposal): Html {
  const { scope, request } = proposal;
  const denials = proposal.count === 1 ? '1 denial' : `${proposal.count} denials`;
  return html`<h2>What was denied</h2>
<table>
${row('Principal', scope.principalArn)}${
  request.sessionArn && request.sessionArn !== scope.principalArn ? row('Session', request.sessionArn) : ''
}${row('Operation', scope.operation)}${row('Key', keyText(proposal))}${row('Stream', scope.streamArn)}${row(
  'Region',
  scope.region,
)}${row('Account', scope.accountId)}${row(
  'Seen',
  `${denials} since ${formatTime(proposal.firstSeen)} (last ${formatTime(proposal.lastSeen)})`,
)}</table>
`;
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

function whySection(proposal: Proposal): Html {
  const words = proposal.diagnosis ? diagnosisWords(proposal.diagnosis) : [];
  return html`<h2>Why</h2>
${words.length > 0 ? html`<ul>${words.map((w) => html`<li>${w}</li>`)}</ul>\n` : ''}<p>${proposal.reason}</p>
<p>AWS said: <q>${awsMessage(proposal)}</q></p>
`;
}

/** The impact: what the denial costs and since when (CloudTrail's time of the first denial). */
function impactSection(proposal: Proposal): Html {
  if (proposal.status === 'revoked') return html``;
  const lines = impactLines(proposal, proposal.status === 'applied');
  return html`<h2>Impact</h2>
<table>
${lines.map((l) => row(l.label, l.text))}</table>
`;
}

/** What to do about a refusal: who can act, what to change, each statement to add. */
function whatToDoSection(proposal: Proposal): Html {
  const steps = proposal.nextSteps ?? [];
  if (proposal.verdict !== 'refuse' || steps.length === 0) return html``;
  return html`<h2>What to do</h2>
<ol>${steps.map(
    (step) =>
      html`<li><strong>${step.who}</strong>: ${step.what}${
        step.statement ? html`<pre>${JSON.stringify(step.statement, null, 2)}</pre>` : ''
      }</li>\n`,
  )}</ol>
`;
}

/** The change in one sentence, and exactly what would be written, as JSON. */
export function describeChange(plan: Plan): { summary: string; json: string; document?: string } {
  switch (plan.mechanism) {
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

function changeSection(plan: Plan, keyPolicyEnabled: boolean): Html {
  const change = describeChange(plan);
  const disabled =
    plan.mechanism === 'key-policy-statement' && !keyPolicyEnabled
      ? html`<p class="bad">This deployment does not apply key-policy changes: Approve will record the approval and change nothing. Make the change by hand, or enable key-policy-statement.</p>\n`
      : '';
  return html`<h2>The change</h2>
<p>${change.summary}</p>
<pre>${change.json}</pre>
${
  change.document
    ? html`<p>The complete new key policy (every existing statement unchanged, the one above added last):</p>
<pre>${change.document}</pre>
`
    : ''
}${disabled}`;
}

/**
 * The manual path, in the page's details: the aws CLI commands that make and undo the change, each with
 * the permission it needs, and the Terraform. Empty when the scope's names are not plain ARNs.
 */
function manualPageSection(proposal: Proposal): Html {
  const { plan } = proposal;
  if (plan === null || proposal.status === 'revoked' || !scopeIsLiteral(proposal)) return html``;
  const live = proposal.status === 'applied';
  const path = manualPath(plan, live ? proposal.applied : undefined);
  if (path === null) return html``;
  const commands = (list: ManualCommand[]) =>
    list.map((c) => html`<p>${c.purpose}. Needs ${c.needs}:</p>\n<pre>${c.command}</pre>\n`);
  return html`<details><summary>By hand: aws CLI and Terraform</summary>
${path.apply.length > 0 ? html`<p>To make the change yourself instead (then reject this proposal):</p>\n${commands(path.apply)}` : ''}<p>To undo it:</p>
${commands(path.undo)}${path.notes.map((n) => html`<p class="note">${n}</p>\n`)}<p>Terraform:</p>
<pre>${terraformSnippet(plan)}</pre>
</details>
`;
}

const MAX_PROBE_LINES = 6;

function proofSection(proof: Proof): Html {
  const gained = proof.probes.filter((p) => p.result === 'allowed' && p.before !== 'allowed').length;
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
  return html`<h2>The proof</h2>
<p>The call is <strong>${proof.before}</strong> now and <strong>${proof.after}</strong> with the change. keymend checked ${
    proof.probes.length
  } neighbouring calls (other streams, keys, principals, operations): ${
    gained === 0
      ? 'the change allows none of them that was not allowed before.'
      : `${gained} would gain access.`
  }</p>
<ul>${lines.map((p) => html`<li>${p.description}: ${outcome(p)}</li>`)}${
    more > 0 ? html`<li>and ${more} more</li>` : ''
  }</ul>
`;
}

/**
 * One form per action: it POSTs the action and its token to the page's own path. The action attribute is
 * the bare proposal id, relative to `/p/`, so the form works behind any base path and the token never
 * rides in a URL a proxy logs on submit.
 */
function forms(proposal: Proposal, tokens: Partial<Record<ApprovalAction, string>>): Html {
  const actions = (['approve', 'reject', 'revoke'] as const).filter((a) => tokens[a] !== undefined);
  if (actions.length === 0) return html``;
  return html`<div class="actions">
${actions.map(
  (action) => html`<form method="post" action="${proposal.id}">
<input type="hidden" name="a" value="${action}">
<input type="hidden" name="t" value="${tokens[action]}">
<button type="submit" class="${action}" title="${BUTTONS[action].text}">${BUTTONS[action].label}</button>
</form>
`,
)}</div>
`;
}

function statusLine(proposal: Proposal): Html {
  const applied = proposal.appliedAt ? html` at ${formatTime(proposal.appliedAt)}` : '';
  return html`<p>Status: <span class="status">${proposal.status}</span>${applied}</p>\n`;
}

function heading(proposal: Proposal): string {
  const stream = proposal.scope.streamArn.slice(proposal.scope.streamArn.indexOf(':stream/') + 8);
  return `${proposal.scope.operation} denied to ${proposal.scope.principalArn} on stream ${stream}`;
}

/** The review page a link opens. It shows; only its forms act, by POST. */
export function reviewPage(input: ReviewInput): Page {
  const { proposal } = input;
  const title = `keymend: ${heading(proposal)}`;
  const body = html`<h1>${heading(proposal)}</h1>
${statusLine(proposal)}${impactSection(proposal)}${deniedSection(proposal)}${whySection(proposal)}${whatToDoSection(proposal)}${
  proposal.plan ? changeSection(proposal.plan, input.keyPolicyEnabled) : ''
}${proposal.proof ? proofSection(proposal.proof) : ''}${manualPageSection(proposal)}<h2>Decide</h2>
${
  Object.keys(input.forms).length > 0
    ? html`<p>This link works until ${formatTime(input.expiresAt)}. Opening it changes nothing; only a button does.</p>
${forms(proposal, input.forms)}`
    : html`<p>Nothing is left to decide with this link: the proposal is ${proposal.status}.</p>
`
}`;
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

/** The page after an action: what happened, and what it means. `detail` is a sentence for people. */
export function resultPage(kind: ResultKind, proposal: Proposal, detail: string): Page {
  const { title } = RESULTS[kind];
  const change = proposal.plan ? describeChange(proposal.plan).summary : '';
  const body = html`<h1>${title}: ${heading(proposal)}</h1>
${statusLine(proposal)}<p>${detail}</p>
${change ? html`<p class="note">${change}</p>\n` : ''}`;
  return { statusCode: RESULTS[kind].statusCode, html: htmlDocument(`keymend: ${title}`, body) };
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
