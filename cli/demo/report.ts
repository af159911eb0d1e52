/**
 * The demo's account of what happened, for a person at an 80-column terminal. Every value that came
 * from an event or a page is made printable first (cli/text.ts `printable`).
 */
import { streamName } from '../../functions/render/names';
import { count, printable, WIDTH } from '../text';
import { type Check, type DemoSummary, type Problem, shortName } from './run';

/** `text` cut in the middle to `width` characters, with `...` where it was cut. */
export function abbreviate(text: string, width: number): string {
  if (text.length <= width) return text;
  const head = Math.ceil((width - 3) / 2);
  return `${text.slice(0, head)}...${text.slice(text.length - (width - 3 - head))}`;
}

const op = (operation: string | null) => (operation ?? '?').replace(/^kms:/, '');
const streamShort = (arn: string | null) => (arn ? streamName(arn) : '-');

/** The problem table's columns: verdict, principal, operation, stream, then the fix or the code. */
const COLUMNS = [9, 23, 17, 8] as const;

function row(cells: string[]): string {
  return `  ${cells.map((cell, i) => (i < COLUMNS.length ? cell.padEnd(COLUMNS[i] ?? 0) : cell)).join('')}`.trimEnd();
}

function problemRow(p: Problem): string {
  return row([
    p.verdict,
    abbreviate(printable(shortName(p.principal)), (COLUMNS[1] ?? 0) - 2),
    printable(op(p.operation)),
    abbreviate(printable(streamShort(p.stream)), (COLUMNS[3] ?? 0) - 2),
    printable(p.mechanism ?? p.code ?? ''),
  ]);
}

/**
 * A long line of the e-mail wrapped to the terminal: continuation lines keep the line's indent plus two;
 * a word too long for the line (a link, an ARN) stays whole on a line of its own, so it can still be
 * copied.
 */
export function wrapLine(text: string, width = WIDTH): string[] {
  const line = text.trimEnd();
  if (line.length <= width) return [line];
  const indent = /^ */.exec(line)?.[0].length ?? 0;
  const words = line
    .slice(indent)
    .split(' ')
    .filter((w) => w !== '');
  const out: string[] = [];
  let current = ' '.repeat(indent);
  let hasWord = false;
  const pad = ' '.repeat(Math.min(indent + 2, 20));
  for (const word of words) {
    if (!hasWord) {
      current += word;
      hasWord = true;
    } else if (current.length + 1 + word.length <= width) {
      current += ` ${word}`;
    } else {
      out.push(current);
      // A word too long for the indent gets less of it (none, if need be), and is never cut.
      current = pad.slice(0, Math.max(0, width - word.length)) + word;
    }
  }
  out.push(current);
  return out;
}

function checkRow(c: Check): string {
  const by = c.decision === 'allowed' && c.decidedBy.some((d) => d.startsWith('grant')) ? ' (a grant)' : '';
  return row([
    c.decision === 'allowed' ? 'allowed' : 'denied',
    abbreviate(printable(shortName(c.principal)), (COLUMNS[1] ?? 0) - 2),
    printable(op(c.operation)),
    abbreviate(printable(streamShort(c.stream)), (COLUMNS[3] ?? 0) - 2),
    `${c.label}${by}`,
  ]);
}

/** The demo's text output. */
export function demoText(s: DemoSummary): string {
  const out: string[] = [];
  const heading = (title: string) => out.push('', title, '-'.repeat(title.length));
  const proposals = s.problems.filter((p) => p.verdict === 'propose').length;
  const refusals = s.problems.filter((p) => p.verdict === 'refuse').length;
  const ignored = s.problems.filter((p) => p.verdict === 'ignore').length;
  const problem = s.problems[0];
  const who = printable(shortName(problem?.principal ?? null));
  const what = `${printable(problem?.operation ?? '')} on stream ${printable(streamShort(problem?.stream ?? null))}`;

  out.push(
    `keymend demo on ${s.account}, with no AWS.`,
    `keymend local is at ${s.url}.`,
    ...wrapLine(
      `It replays ${count(s.events.posted)} CloudTrail events through POST /_local/events, as the EventBridge rule delivers them, approves one fix and revokes it.`,
    ),
  );

  heading(`1. ${s.events.problems} distinct denials`);
  out.push(row(['verdict', 'principal', 'operation', 'stream', 'fix, or why not']));
  for (const p of s.problems) out.push(problemRow(p));
  out.push(
    '',
    ...wrapLine(
      `${proposals} fixes proposed, ${refusals} refused with a reason, ${ignored} ignored (not a Kinesis call). Each got one e-mail and one chat message: ${s.notifications.email} and ${s.notifications.chat}.`,
    ),
  );

  heading('2. The storm');
  const r = s.repeats;
  const perRepeat = r.absorbed + r.duplicates > 0 ? r.dynamodbRequests / (r.absorbed + r.duplicates) : 0;
  out.push(
    ...wrapLine(
      `${count(r.absorbed)} repeats absorbed: ${count(r.storm)} sessions of ${who} denied ${what} (each its own session name, principalId and eventID), and ${r.shapes} other shapes of the same denial.`,
    ),
    ...wrapLine(`${r.duplicates} redeliveries of an event already seen (same eventID) dropped.`),
    ...wrapLine(
      `They cost ${count(r.accountReads)} account reads and ${count(r.notifications)} notifications; ${perRepeat.toFixed(1)} DynamoDB requests each.`,
    ),
  );

  heading(`3. The e-mail about ${who}, in full`);
  out.push(...wrapLine(`Subject: ${printable(s.email.subject)}`), '');
  // Shell commands (a line ending in `\` and its continuations) are kept whole so they can be copied.
  let continued = false;
  for (const line of s.email.message.split('\n')) {
    const command = continued || line.endsWith(' \\');
    out.push(...(command ? [printable(line)] : wrapLine(printable(line))));
    continued = line.endsWith(' \\');
  }

  heading('4. Approve, as a person would');
  const a = s.approval;
  out.push(
    ...wrapLine(`GET the e-mailed link: the review page "${printable(a.pageTitle)}".`),
    ...wrapLine(`POST its Approve form: "${printable(a.resultTitle)}".`),
    ...wrapLine(`Notification: ${printable(a.appliedNotice)}`),
    '',
    'The account now (keymend evaluate on GET /_local/account):',
  );
  for (const c of a.after) out.push(checkRow(c));
  out.push(
    ...wrapLine(
      `diagnose on the same event now answers ${printable(a.diagnoseAfter.verdict)} (${printable(a.diagnoseAfter.code)}).`,
    ),
  );

  heading('5. Revoke, from the link in the applied notification');
  const v = s.revoke;
  out.push(
    ...wrapLine(`GET the revoke link, POST its Revoke form: "${printable(v.resultTitle)}".`),
    ...wrapLine(`Notification: ${printable(v.revokedNotice)}`),
    checkRow(v.after),
    v.accountRestored
      ? 'The account is exactly as it was before the demo.'
      : 'The account differs from before the demo: see GET /_local/account.',
  );
  return `${out.join('\n')}\n`;
}

/** The links `--serve` prints, to click through the rest in a browser. */
export function serveText(s: DemoSummary): string {
  const out = [
    '',
    `keymend local stays up at ${s.url} (Ctrl-C stops it). Open in a browser:`,
    ...s.links.flatMap((l) => [`  ${printable(l.label)}:`, `    ${l.url}`]),
    ...wrapLine(`More events: POST them to ${s.url}/_local/events (see 'keymend local --help').`),
  ];
  return `${out.join('\n')}\n`;
}
