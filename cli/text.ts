/**
 * Text for people at an 80-column terminal. Everything shown that came from an event is untrusted:
 * `printable` turns it into one line of printable ASCII first, so a crafted session name cannot
 * move the cursor, hide text or forge lines.
 */
import { parseArn } from '../functions/commons/arn';
import type { DiagnoseResult } from '../functions/core/diagnose';
import type { IntakeResult } from '../functions/core/intake';
import type { NextStep } from '../functions/core/next-steps';
import type { Plan } from '../functions/core/plan';
import type { DeniedBy } from '../functions/core/request';
import { type ManualCommand, manualPath, terraformSnippet } from '../functions/render/manual';

/** Terminal width the text output is laid out for. */
export const WIDTH = 80;

/** One line of printable ASCII: anything else (controls, escapes, non-ASCII) as `\uXXXX`. */
export function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** 1234567 -> `1,234,567`. */
export function count(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Words of `text` wrapped to `width`, every line indented by `indent` spaces; overlong words are cut. */
export function wrap(text: string, indent: number, width = WIDTH): string[] {
  const room = Math.max(10, width - indent);
  const pad = ' '.repeat(indent);
  const lines: string[] = [];
  let line = '';
  for (let word of text.split(' ')) {
    while (word.length > room) {
      if (line) {
        lines.push(line);
        line = '';
      }
      lines.push(word.slice(0, room));
      word = word.slice(room);
    }
    if (!line) line = word;
    else if (line.length + 1 + word.length <= room) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line) lines.push(line);
  return lines.map((l) => pad + l);
}

/** `2026-11-30T12:34:56Z` -> `2026-11-30 12:34` (UTC); anything unparsable as printable text. */
export function minute(time: string): string {
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) return printable(time).slice(0, 16);
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/**
 * An ARN shown relative to the account and Region it is in when those are the ones given
 * (`role/service-role/orders-consumer`, `stream/orders`), else in full.
 */
export function shortArn(arn: string | null, accountId: string, region: string): string {
  if (!arn) return '(unknown)';
  const parsed = parseArn(arn);
  if (parsed && parsed.accountId === accountId && (parsed.region === region || parsed.region === '')) {
    return printable(parsed.resource);
  }
  return printable(arn);
}

/** What AWS's message blamed, in words. */
export function deniedByText(deniedBy: DeniedBy): string {
  const type = deniedBy.policyType ? `${deniedBy.policyType} policy` : 'policy';
  const arn = deniedBy.policyArn ? ` ${printable(deniedBy.policyArn)}` : '';
  switch (deniedBy.kind) {
    case 'implicit':
      return `no ${type} allows it`;
    case 'explicit':
      return `an explicit deny in ${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}${arn}`;
    case 'unknown':
      return deniedBy.policyType ? `denied, in the ${type} (no reason given)` : 'denied (no reason given)';
    default: {
      const never: never = deniedBy.kind;
      return String(never);
    }
  }
}

/** The intake's answer for one record, for people. */
export function intakeText(result: IntakeResult): string[] {
  if (!result.match) return wrap(`no match (${result.reason}): ${printable(result.detail)}`, 0);
  const r = result.request;
  const at = (arn: string | null) => shortArn(arn, r.accountId, r.region);
  return [
    ...wrap(
      `match: ${printable(r.operation)} by ${at(r.principalArn)} on ${at(r.streamArn)} denied at ${minute(r.eventTime)} UTC`,
      0,
    ),
    ...wrap(
      `key ${r.keyArn ? at(r.keyArn) : `${printable(r.keyReference ?? '(unknown)')} (to resolve)`}, account ${printable(r.accountId)}, ${printable(r.region)}; ${r.viaKinesis ? 'through Kinesis' : 'Kinesis context only'}`,
      2,
    ),
    ...wrap(`session ${printable(r.sessionArn)}`, 2),
    ...wrap(`AWS: ${deniedByText(r.deniedBy)}; event ${printable(r.eventId)}`, 2),
  ];
}

function planText(plan: Plan, accountId: string, region: string): string {
  const at = (arn: string) => shortArn(arn, accountId, region);
  switch (plan.mechanism) {
    case 'cross-account':
      return `plan: two changes, applied together (across accounts both sides must allow): 1. in account ${printable(plan.keyAccountId)}, ${planText(plan.keySide, accountId, region).replace(/^plan: /, '')}; 2. in account ${printable(plan.callerAccountId)}, ${planText(plan.callerSide, accountId, region).replace(/^plan: /, '')}`;
    case 'kms-grant':
      return `plan: a KMS grant on ${at(plan.keyArn)} to ${at(plan.granteePrincipal)} for ${plan.operations.join(', ')}, only with encryption context aws:kinesis:arn = ${at(plan.constraints.encryptionContextSubset['aws:kinesis:arn'])}`;
    case 'iam-inline-policy':
      return `plan: inline policy ${printable(plan.policyName)} on ${at(plan.principalArn)}, allowing only the one operation on the one key through Kinesis for the one stream`;
    case 'key-policy-statement':
      return `plan: key policy statement ${printable(plan.statement.Sid)} on ${at(plan.keyArn)}: ${plan.statement.Action} for ${at(plan.statement.Principal?.AWS ?? '')} through Kinesis for the one stream`;
    default: {
      const never: never = plan;
      return String(never);
    }
  }
}

/** Shell comment lines, wrapped, each starting `    # ` so a pasted block stays runnable. */
function comment(text: string): string[] {
  return wrap(text, 6).map((line) => `    # ${line.slice(6)}`);
}

/** Each line of a block indented by four spaces (blank lines stay empty). */
function indented(block: string): string[] {
  return block.split('\n').map((line) => (line === '' ? '' : `    ${line}`));
}

/**
 * The manual path of a plan for a terminal: the aws CLI commands that make and undo it, each after a
 * line saying what it needs, and (with `terraform`) the Terraform. The commands are not wrapped or cut:
 * they must stay runnable when copied.
 */
export function manualText(plan: Plan, terraform = true): string[] {
  const path = manualPath(plan);
  if (path === null) return ['  (no commands: a name in the plan is not printable ASCII)'];
  const lines: string[] = [];
  const show = (title: string, commands: ManualCommand[]) => {
    if (commands.length === 0) return;
    lines.push(`  ${title}:`);
    for (const c of commands) {
      lines.push(...comment(`${c.purpose}. Needs ${c.needs}.`), ...indented(c.command));
    }
  };
  show('by hand', path.apply);
  show('undo', path.undo);
  for (const note of path.notes) lines.push(...comment(note));
  if (terraform) lines.push('  terraform:', ...indented(terraformSnippet(plan)));
  return lines;
}

/** One next step of a refusal: `next: WHO: WHAT`, wrapped, and its statement as JSON when it has one. */
export function nextStepText(step: NextStep, indent: number): string[] {
  const lines = wrap(`next: ${printable(step.who)}: ${printable(step.what)}`, indent);
  if (step.statement) {
    const pad = ' '.repeat(indent + 2);
    lines.push(
      ...JSON.stringify(step.statement, null, 2)
        .split('\n')
        .map((l) => `${pad}${printable(l)}`),
    );
  }
  return lines;
}

/** diagnose's answer for one record, for people. */
export function diagnoseText(result: DiagnoseResult): string[] {
  const lines = wrap(`${result.verdict} (${result.code}): ${printable(result.reason)}`, 0);
  const request = result.request;
  if (result.diagnosis && request) {
    const layers = result.diagnosis.blockingLayers.join(', ') || 'none';
    lines.push(...wrap(`now: ${result.diagnosis.current}; blocking layers: ${layers}`, 2));
  }
  for (const note of result.diagnosis?.notes ?? []) {
    lines.push(...wrap(`check first: ${printable(note.message)}`, 2));
  }
  if (result.verdict === 'propose' && request) {
    lines.push(...wrap(planText(result.plan, request.accountId, request.region), 2));
    const probes = result.proof.probes;
    const opened = probes.filter((p) => p.result === 'allowed' && p.before !== 'allowed').length;
    lines.push(
      ...wrap(
        `proof: ${result.proof.before} before, ${result.proof.after} after; ${probes.length} neighbouring requests checked, ${opened === 0 ? 'none' : opened} newly allowed`,
        2,
      ),
    );
    lines.push(...manualText(result.plan));
  }
  for (const attempt of ('attempts' in result ? result.attempts : undefined) ?? []) {
    lines.push(...wrap(`set aside ${attempt.mechanism}: ${printable(attempt.reason)}`, 2));
  }
  if (result.verdict === 'refuse') for (const step of result.nextSteps) lines.push(...nextStepText(step, 2));
  return lines;
}
