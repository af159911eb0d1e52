/**
 * `npm run demo`: keymend end to end on one machine, with no AWS. It starts `keymend local` on the demo
 * account, replays the sample events through POST /_local/events as EventBridge would (a storm of
 * repeats included), reads what keymend did from the outbox, approves one proposal as a person would
 * (the e-mailed link's page, its Approve form), checks the account now allows exactly that request,
 * revokes the change from the applied notification's link, and checks the account is as it was.
 * Everything goes over the HTTP contract of `keymend local` (cli/local/runtime.ts); nothing here
 * reaches into the functions' state.
 */
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { LocalAccount } from '../../functions/adapters/local-account';
import { parseSnapshot } from '../../functions/adapters/snapshot';
import {
  parseAssumedRoleArn,
  parseFederatedUserArn,
  parsePrincipalArn,
  parseRootArn,
  parseStreamArn,
} from '../../functions/commons/arn';
import { KeymendError } from '../../functions/commons/errors';
import type { AccountSnapshot } from '../../functions/core/account';
import { diagnose } from '../../functions/core/diagnose';
import { gatherState } from '../../functions/core/gather';
import { intake } from '../../functions/core/intake';
import type { OutgoingMessage } from '../../functions/core/ports';
import type { RemediateOutcome, RemediateResult } from '../../functions/flows/remediate';
import { evaluateCommand } from '../commands/evaluate';
import type { CliIo } from '../io';
import { type LocalRuntime, type LocalStats, startLocal } from '../local/runtime';
import { findForm, type OpenedPage, openLink, pageHeading, submitForm } from './browser';
import { DEMO_ACCOUNT, demoReplay, STORM_SIZE } from './events';

/** How many events go in one POST to /_local/events (EventBridge's own batches are one event). */
const BATCH = 100;

/** One distinct problem as keymend handled the first event of it. */
export interface Problem {
  /** The sample file in events/. */
  sample: string;
  outcome: RemediateOutcome;
  verdict: 'propose' | 'refuse' | 'ignore' | 'failed';
  principal: string | null;
  operation: string | null;
  stream: string | null;
  /** The fix keymend proposes (kms-grant, iam-inline-policy, key-policy-statement). */
  mechanism: string | null;
  /** Why not: the refusal code, or the intake's reason for ignoring the event. */
  code: string | null;
  proposalId: string | null;
}

/** A request evaluated against the account as it is now. */
export interface Check {
  label: string;
  principal: string;
  operation: string;
  stream: string;
  decision: string;
  /** The policies that decided it (`policyType: policy`). */
  decidedBy: string[];
}

export interface DemoSummary {
  url: string;
  account: string;
  events: { posted: number; problems: number; repeats: number };
  problems: Problem[];
  repeats: {
    /** Events recognised as a problem keymend already has (outcome `repeat`). */
    absorbed: number;
    /** Events EventBridge delivered twice (same eventID), dropped (outcome `duplicate`). */
    duplicates: number;
    storm: number;
    shapes: number;
    /** What the repeats cost: account reads, notifications and DynamoDB requests, all of them. */
    accountReads: number;
    notifications: number;
    dynamodbRequests: number;
  };
  notifications: { email: number; chat: number };
  email: { subject: string; message: string };
  approval: {
    proposalId: string;
    /** The page the e-mailed link opens, and the page the Approve form answers with. */
    pageTitle: string;
    resultTitle: string;
    /** The subject of the notification that says it was applied. */
    appliedNotice: string;
    /** diagnose of the original event against the account after approval. */
    diagnoseAfter: { verdict: string; code: string };
    after: Check[];
  };
  revoke: {
    resultTitle: string;
    revokedNotice: string;
    /** The account after the revoke equals the account before the demo. */
    accountRestored: boolean;
    after: Check;
  };
  /** Links worth opening in a browser (printed by --serve). */
  links: { label: string; url: string }[];
}

export interface DemoOptions {
  /** Progress lines (stderr). */
  progress(line: string): void;
  /** The storm's size. @default STORM_SIZE */
  stormSize?: number;
  /** Keep the server: the caller closes it. */
  keep?: boolean;
}

/** A step of the demo did not do what it should; the message says which. */
export class DemoError extends KeymendError {
  override readonly name: string = 'DemoError';
}

function must(condition: unknown, message: string): asserts condition {
  if (!condition) throw new DemoError(message);
}

async function getJson<T>(runtime: LocalRuntime, path: string): Promise<T> {
  const response = await fetch(`${runtime.url}${path}`);
  must(response.ok, `GET ${path} answered ${response.status}`);
  return (await response.json()) as T;
}

async function post(runtime: LocalRuntime, events: unknown[]): Promise<RemediateResult[]> {
  const out: RemediateResult[] = [];
  for (let i = 0; i < events.length; i += BATCH) {
    const response = await fetch(`${runtime.url}/_local/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(events.slice(i, i + BATCH)),
    });
    must(response.ok, `POST /_local/events answered ${response.status}`);
    out.push(...((await response.json()) as RemediateResult[]));
  }
  return out;
}

const total = (aws: Record<string, number>) => Object.values(aws).reduce((a, b) => a + b, 0);

interface ChatFacts {
  kind: string;
  mechanism: string;
  keywords: string[];
}

/** What the chat notifications (the machine-readable topic) say about each proposal, by id. */
function chatFacts(outbox: OutgoingMessage[]): Map<string, ChatFacts[]> {
  const facts = new Map<string, ChatFacts[]>();
  for (const message of outbox) {
    if (message.topic !== 'chat') continue;
    try {
      const parsed = JSON.parse(message.message) as {
        content?: { keywords?: string[] };
        metadata?: { additionalContext?: Record<string, string> };
      };
      const context = parsed.metadata?.additionalContext ?? {};
      const id = context.proposalId;
      if (!id) continue;
      const list = facts.get(id) ?? [];
      list.push({
        kind: context.kind ?? '',
        mechanism: context.mechanism ?? 'none',
        keywords: parsed.content?.keywords ?? [],
      });
      facts.set(id, list);
    } catch {
      // Not keymend's JSON: nothing to learn from it.
    }
  }
  return facts;
}

const VERDICTS: Readonly<Partial<Record<RemediateOutcome, Problem['verdict']>>> = {
  proposed: 'propose',
  applied: 'propose',
  refused: 'refuse',
  ignored: 'ignore',
};

function problemOf(
  sample: string,
  event: unknown,
  result: RemediateResult,
  chat: Map<string, ChatFacts[]>,
): Problem {
  const read = intake(event);
  const request = read.match ? read.request : null;
  const first = result.proposalId ? chat.get(result.proposalId)?.[0] : undefined;
  const verdict = VERDICTS[result.outcome] ?? 'failed';
  let code: string | null = null;
  if (verdict === 'ignore') code = read.match ? (result.reason ?? null) : read.reason;
  if (verdict === 'refuse' && first) {
    const ignored = new Set(['keymend', first.kind, request?.operation ?? '']);
    code = first.keywords.find((k) => !ignored.has(k)) ?? null;
  }
  if (verdict === 'failed') code = result.reason ?? result.outcome;
  const operation = request?.operation ?? (read.match ? null : eventName(event));
  return {
    sample,
    outcome: result.outcome,
    verdict,
    principal: request?.principalArn ?? callerArn(event),
    operation,
    stream: request?.streamArn ?? null,
    mechanism: verdict === 'propose' && first && first.mechanism !== 'none' ? first.mechanism : null,
    code,
    proposalId: result.proposalId ?? null,
  };
}

/** The caller's ARN as the record gives it, for an event the intake did not take. */
function callerArn(event: unknown): string | null {
  const identity = (event as { detail?: { userIdentity?: { arn?: unknown } } }).detail?.userIdentity;
  return typeof identity?.arn === 'string' ? identity.arn : null;
}

function eventName(event: unknown): string | null {
  const detail = (event as { detail?: { eventName?: unknown } }).detail;
  return typeof detail?.eventName === 'string' ? `kms:${detail.eventName}` : null;
}

/** The first link of `action` for `proposalId` in the e-mails of the outbox. */
function emailedLink(
  outbox: OutgoingMessage[],
  url: string,
  proposalId: string,
  action: string,
): string | null {
  const pattern = new RegExp(`${escapeRegExp(`${url}/p/${proposalId}?a=${action}&t=`)}[A-Za-z0-9._~-]+`);
  for (const message of outbox) {
    if (message.topic !== 'email') continue;
    const found = pattern.exec(message.message);
    if (found) return found[0];
  }
  return null;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `keymend evaluate` against the account as it is now. */
async function evaluateNow(
  account: AccountSnapshot,
  label: string,
  principal: string,
  operation: string,
  keyArn: string,
  streamArn: string,
): Promise<Check> {
  let out = '';
  let err = '';
  const bytes = Buffer.from(JSON.stringify(account));
  const io: CliIo = {
    stdout: (text) => {
      out += text;
    },
    stderr: (text) => {
      err += text;
    },
    readInput: async () => bytes,
  };
  const argv = ['--account', '-', '--principal', principal, '--action', operation, '--resource', keyArn];
  const code = await evaluateCommand.run([...argv, '--via-kinesis', streamArn], io);
  must(code === 0, `keymend evaluate failed: ${err.trim()}`);
  const result = JSON.parse(out) as { decision: string; decidedBy: { policyType: string; policy: string }[] };
  return {
    label,
    principal,
    operation,
    stream: streamArn,
    decision: result.decision,
    decidedBy: result.decidedBy.map((d) => `${d.policyType}: ${d.policy}`),
  };
}

/** Runs the demo and returns what happened; the server is closed unless `keep` is set. */
export async function runDemo(
  options: DemoOptions,
): Promise<{ summary: DemoSummary; runtime: LocalRuntime }> {
  const { progress } = options;
  const snapshot = parseSnapshot(JSON.parse(readFileSync(DEMO_ACCOUNT, 'utf8')));
  progress('Starting keymend local on events/accounts/demo.json (no AWS) ...');
  const runtime = await startLocal({ snapshot, port: 0, log: () => {} });
  let summary: DemoSummary;
  try {
    summary = await drive(runtime, options);
  } catch (error) {
    await runtime.close();
    throw error;
  }
  if (!options.keep) await runtime.close();
  return { summary, runtime };
}

/** Phase 1: the distinct denials, then the storm of repeats, as EventBridge delivers them. */
interface Replayed {
  replay: ReturnType<typeof demoReplay>;
  firstResults: RemediateResult[];
  repeatResults: RemediateResult[];
  /** The runtime's counters after the distinct denials and after the repeats. */
  afterFirsts: LocalStats;
  afterRepeats: LocalStats;
  /** Every notification after the replay. */
  outbox: OutgoingMessage[];
}

async function replayEvents(runtime: LocalRuntime, options: DemoOptions): Promise<Replayed> {
  const { progress } = options;
  const replay = demoReplay(options.stormSize ?? STORM_SIZE);
  progress(`keymend local is at ${runtime.url}. Replaying ${replay.firsts.length} distinct denials ...`);
  const firstResults = await post(
    runtime,
    replay.firsts.map((f) => f.event),
  );
  const afterFirsts = await getJson<LocalStats>(runtime, '/_local/stats');
  progress(
    `Replaying ${replay.repeats.length} repeats (a storm of ${replay.counts.storm} sessions of one role) ...`,
  );
  const repeatResults = await post(runtime, replay.repeats);
  const afterRepeats = await getJson<LocalStats>(runtime, '/_local/stats');
  const outbox = await getJson<OutgoingMessage[]>(runtime, '/_local/outbox');
  return { replay, firstResults, repeatResults, afterFirsts, afterRepeats, outbox };
}

/** Phase 2: what keymend made of each denial, and the e-mail proposing the storm's fix. */
interface Found {
  problems: Problem[];
  /** The proposal for the storm's problem, the one the demo approves. */
  proposalId: string;
  email: OutgoingMessage;
}

function findProblems({ replay, firstResults, repeatResults, outbox }: Replayed): Found {
  const chat = chatFacts(outbox);
  const problems = replay.firsts.map((f, i) =>
    problemOf(f.name, f.event, firstResults[i] as RemediateResult, chat),
  );
  const stormProblem = problems[0];
  must(
    stormProblem?.outcome === 'proposed' && stormProblem.proposalId,
    'the consumer denial was not proposed',
  );
  const proposalId = stormProblem.proposalId;
  const surprises = repeatResults.filter((r) => r.outcome !== 'repeat' && r.outcome !== 'duplicate');
  must(surprises.length === 0, `a repeat was handled as ${surprises[0]?.outcome}: ${surprises[0]?.reason}`);

  // The e-mail a person receives about the storm's problem.
  const email = outbox.find((m) => m.topic === 'email' && m.message.includes(`/p/${proposalId}?a=approve`));
  must(email, 'no e-mail proposes the consumer fix');
  return { problems, proposalId, email };
}

/** Phase 3: approved as a person would: the e-mailed link opened, Approve pressed. */
interface Approved {
  page: OpenedPage;
  approved: OpenedPage;
  /** Every notification after the approval, and the one saying the change was applied. */
  outbox: OutgoingMessage[];
  applied: OutgoingMessage;
}

async function approveByEmail(
  runtime: LocalRuntime,
  outbox: OutgoingMessage[],
  proposalId: string,
  progress: DemoOptions['progress'],
): Promise<Approved> {
  const approveLink = emailedLink(outbox, runtime.url, proposalId, 'approve');
  must(approveLink, 'the e-mail has no approve link');
  progress('Opening the e-mailed link and pressing Approve ...');
  const page = await openLink(approveLink);
  must(page.status === 200, `the review page answered ${page.status}`);
  const approved = await submitForm(findForm(page, 'Approve'));
  must(approved.status === 200, `the Approve form answered ${approved.status}`);
  const afterApproval = await getJson<OutgoingMessage[]>(runtime, '/_local/outbox');
  const applied = afterApproval
    .slice(outbox.length)
    .find((m) => m.topic === 'email' && m.message.includes(`/p/${proposalId}?a=revoke`));
  must(applied, `no notification says the change was applied (${pageHeading(approved.html)})`);
  return { page, approved, outbox: afterApproval, applied };
}

/** The request the demo fixed: the storm's denial, as the intake reads it. */
interface Fixed {
  principal: string;
  operation: string;
  keyArn: string;
  streamArn: string;
}

/** Phase 4: the account now: keymend's own diagnosis, and the request allowed while its neighbours are not. */
interface Verified {
  fixed: Fixed;
  diagnoseAfter: { verdict: string; code: string };
  checks: Check[];
}

async function verifyTheFix(runtime: LocalRuntime, replay: Replayed['replay']): Promise<Verified> {
  const account = await getJson<AccountSnapshot>(runtime, '/_local/account');
  const consumerEvent = replay.firsts[0]?.event;
  const read = intake(consumerEvent);
  must(read.match, 'the consumer event is not recognised');
  const request = read.request;
  const afterDiagnosis = diagnose(
    request,
    await gatherState(new LocalAccount(parseSnapshot(account)), request),
  );
  const fixed: Fixed = {
    principal: request.principalArn,
    operation: request.operation,
    keyArn: request.keyArn ?? '',
    streamArn: request.streamArn ?? '',
  };
  const { principal, operation, keyArn, streamArn } = fixed;
  // Another stream of the account, read with this key: the grant's encryption context must keep it out.
  const otherStream =
    (account.streams ?? []).find((s) => s.arn !== streamArn)?.arn ?? siblingStream(streamArn);
  const checks = [
    await evaluateNow(account, 'the request', principal, operation, keyArn, streamArn),
    await evaluateNow(
      account,
      'another operation',
      principal,
      operation === 'kms:Decrypt' ? 'kms:GenerateDataKey' : 'kms:Decrypt',
      keyArn,
      streamArn,
    ),
    await evaluateNow(account, 'another stream', principal, operation, keyArn, otherStream),
  ];
  return {
    fixed,
    diagnoseAfter: { verdict: afterDiagnosis.verdict, code: afterDiagnosis.code },
    checks,
  };
}

/** The `clicks` stream beside `streamArn`, for an account that lists no other stream. */
function siblingStream(streamArn: string): string {
  const stream = parseStreamArn(streamArn);
  must(stream, `the fixed request has no stream ARN (${JSON.stringify(streamArn)})`);
  return `arn:${stream.partition}:kinesis:${stream.region}:${stream.accountId}:stream/clicks`;
}

/** Phase 5: revoked as a person would: the applied notification's Revoke link, its page, its form. */
interface Revoked {
  revoked: OpenedPage;
  revokedNotice: string;
  account: AccountSnapshot;
  after: Check;
}

async function revokeByLink(
  runtime: LocalRuntime,
  approval: Approved,
  proposalId: string,
  fixed: Fixed,
  progress: DemoOptions['progress'],
): Promise<Revoked> {
  const revokeLink = emailedLink([approval.applied], runtime.url, proposalId, 'revoke');
  must(revokeLink, 'the applied notification has no revoke link');
  progress('Opening the revoke link and pressing Revoke ...');
  const revokePage = await openLink(revokeLink);
  must(revokePage.status === 200, `the revoke page answered ${revokePage.status}`);
  const revoked = await submitForm(findForm(revokePage, 'Revoke'));
  must(revoked.status === 200, `the Revoke form answered ${revoked.status}`);
  const finalOutbox = await getJson<OutgoingMessage[]>(runtime, '/_local/outbox');
  const revokedNotice =
    finalOutbox
      .slice(approval.outbox.length)
      .find((m) => m.topic === 'email' && m.message.includes(proposalId))?.subject ?? '';
  const account = await getJson<AccountSnapshot>(runtime, '/_local/account');
  const { principal, operation, keyArn, streamArn } = fixed;
  const after = await evaluateNow(account, 'the request', principal, operation, keyArn, streamArn);
  return { revoked, revokedNotice, account, after };
}

/** Links worth opening: the other proposals' reviews, the outbox and the account. */
function linksToOpen(url: string, found: Found, outbox: OutgoingMessage[]): DemoSummary['links'] {
  const pending = found.problems.filter((p) => p.outcome === 'proposed' && p.proposalId !== found.proposalId);
  return [
    ...pending.flatMap((p) => {
      const link = p.proposalId ? emailedLink(outbox, url, p.proposalId, 'approve') : null;
      return link ? [{ label: `review ${shortName(p.principal)} ${p.operation}`, url: link }] : [];
    }),
    { label: 'every notification (JSON)', url: `${url}/_local/outbox` },
    { label: 'the account now (JSON)', url: `${url}/_local/account` },
  ];
}

/** What the repeats did and cost, from the results and the counters around them. */
function repeatsSummary({
  replay,
  repeatResults,
  afterFirsts,
  afterRepeats,
}: Replayed): DemoSummary['repeats'] {
  return {
    absorbed: repeatResults.filter((r) => r.outcome === 'repeat').length,
    duplicates: repeatResults.filter((r) => r.outcome === 'duplicate').length,
    storm: replay.counts.storm,
    shapes: replay.counts.shapes,
    accountReads: total(afterRepeats.aws) - total(afterFirsts.aws),
    notifications: afterRepeats.publishes - afterFirsts.publishes,
    dynamodbRequests: afterRepeats.dynamodb - afterFirsts.dynamodb,
  };
}

/** The demo's phases in order, over the HTTP contract of `keymend local`. */
async function drive(runtime: LocalRuntime, options: DemoOptions): Promise<DemoSummary> {
  const { url } = runtime;
  const before = await getJson<AccountSnapshot>(runtime, '/_local/account');
  const replayed = await replayEvents(runtime, options);
  const found = findProblems(replayed);
  const approval = await approveByEmail(runtime, replayed.outbox, found.proposalId, options.progress);
  const verified = await verifyTheFix(runtime, replayed.replay);
  const revoke = await revokeByLink(runtime, approval, found.proposalId, verified.fixed, options.progress);
  const { outbox, replay } = replayed;
  return {
    url,
    account: 'events/accounts/demo.json',
    events: {
      posted: replay.firsts.length + replay.repeats.length,
      problems: replay.firsts.length,
      repeats: replay.repeats.length,
    },
    problems: found.problems,
    repeats: repeatsSummary(replayed),
    notifications: {
      email: outbox.filter((m) => m.topic === 'email').length,
      chat: outbox.filter((m) => m.topic === 'chat').length,
    },
    email: { subject: found.email.subject, message: found.email.message },
    approval: {
      proposalId: found.proposalId,
      pageTitle: pageHeading(approval.page.html),
      resultTitle: pageHeading(approval.approved.html),
      appliedNotice: approval.applied.subject,
      diagnoseAfter: verified.diagnoseAfter,
      after: verified.checks,
    },
    revoke: {
      resultTitle: pageHeading(revoke.revoked.html),
      revokedNotice: revoke.revokedNotice,
      accountRestored: isDeepStrictEqual(revoke.account, before),
      after: revoke.after,
    },
    links: linksToOpen(url, found, outbox),
  };
}

/** `role/service-role/orders-consumer` -> `orders-consumer`; a user, a session or the root likewise. */
export function shortName(arn: string | null): string {
  if (!arn) return '(unknown)';
  if (parseRootArn(arn)) return 'root';
  // A session ARN (assumed-role/ROLE/SESSION) is shown by its role.
  const name = parseAssumedRoleArn(arn)?.roleName ?? parsePrincipalArn(arn)?.name;
  return name ?? parseFederatedUserArn(arn)?.userName ?? arn;
}
