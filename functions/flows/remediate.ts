/**
 * The remediate flow: one EventBridge event in, one outcome out. See docs/remediate.md.
 *
 *   intake -> the warm environment's memory (a redelivery: duplicate; a repeat of a live problem it
 *   knows: counted in memory, no request) -> claim the event id (duplicate?) -> a problem it saw
 *   live: count it in the store (its held repeats included) -> claim the problem (held by another
 *   invocation: counted as a repeat) -> read the account -> diagnose -> store the proposal while its
 *   links are signed -> point the problem at it while people are told; in auto mode, when every
 *   guard holds, apply and notify. Counted repeats are written back at the end of an invocation once
 *   held a minute (writeBackDue).
 */

import { showValue } from '../commons/text';
import { type AutoModeSettings, type GuardStop, staticGuardStop, underHourlyLimit } from '../core/auto-mode';
import type { Config } from '../core/config';
import { denialSeen } from '../core/denials-seen';
import { diagnose, type ResolvedState } from '../core/diagnose';
import { CLOUDTRAIL_DETAIL_TYPE, intake } from '../core/intake';
import { lambdaFunctionCandidate } from '../core/lambda-session';
import { type LinkSettings, linkExpiry } from '../core/links';
import { accountFacts, fingerprintFieldsOf, newProposal, newProposalId } from '../core/new-proposal';
import { planMechanisms } from '../core/plan';
import { refusalInstead } from '../core/plan-binding';
import type { ConsumerLags, DenialClaim, FingerprintRecord, FlowPorts, ProposalLinks } from '../core/ports';
import { fingerprintOf, KEYMEND_ACTOR, type Proposal } from '../core/proposal';
import type { KinesisKmsRequest } from '../core/request';
import { type WarmAnswer, WarmRepeats } from '../core/warm-repeats';
import { gatherFor } from './accounts';
import { type ApplyOptions, applyProposal, settleAbandonedApply, settleInterruptedApply } from './apply';
import { type FlowContext, messageOf } from './context';
import { linksFor, notify } from './notify';

export type RemediateOutcome =
  | 'ignored'
  | 'duplicate'
  | 'repeat'
  | 'proposed'
  | 'refused'
  | 'applied'
  | 'failed';

/** The result of one event: `{"outcome", "proposalId"?, "reason"?}`. */
export interface RemediateResult {
  outcome: RemediateOutcome;
  proposalId?: string;
  reason?: string;
}

export type RemediateConfig = Pick<
  Config,
  | 'mode'
  | 'autoApplyPrincipals'
  | 'preferMechanism'
  | 'linkTtlHours'
  | 'autoApplyHourlyLimit'
  | 'autoApplyCloudFormation'
  | 'enabledMechanisms'
  | 'approvalUrl'
>;

/** Denials continuing this long after a fix was applied are "still failing" (told once). */
export const STILL_FAILING_AFTER_MINUTES = 10;

const MINUTE = 60_000;

/** What one execution environment remembers of live problems and counted repeats, as the flow needs it. */
export function newWarmRepeats(): WarmRepeats {
  return new WarmRepeats({ stillFailingAfterMs: STILL_FAILING_AFTER_MINUTES * MINUTE });
}

const DUPLICATE: RemediateResult = { outcome: 'duplicate', reason: 'this event id was processed before' };

/**
 * A problem's earlier proposal whose links ran out unapproved: the fingerprint stopped being live, and
 * this denial starts a new proposal. Close the old one (pending -> expired, once: the write is
 * conditional) and tell people, so an ignored proposal does not vanish silently.
 */
async function expirePrevious(ports: FlowPorts, previousProposalId: string | undefined): Promise<void> {
  if (!previousProposalId) return;
  const expired = await ports.store.transition(
    previousProposalId,
    'pending',
    'expired',
    {},
    {
      at: ports.now().toISOString(),
      actor: KEYMEND_ACTOR,
      action: 'expire',
      outcome: 'expired',
      detail: 'its links expired unapproved; the problem goes on, so a new proposal replaces it',
    },
  );
  if (expired) await notify(ports, 'expired', expired, null);
}

/**
 * Handles one event. Throws only when a read or the store fails before anything is recorded: the
 * event's claims are released first, so the Lambda retry starts over (and after the last retry the
 * event reaches the dead-letter queue) instead of being taken for a duplicate. At the end, the
 * repeats this environment counted and has held long enough are written back (writeBackDue).
 */
export async function remediate(
  ports: FlowContext,
  config: RemediateConfig,
  event: unknown,
): Promise<RemediateResult> {
  try {
    return await handleEvent(ports, config, event);
  } finally {
    await writeBackDue(ports);
  }
}

async function handleEvent(
  ports: FlowContext,
  config: RemediateConfig,
  event: unknown,
): Promise<RemediateResult> {
  const found = intake(event);
  if (!found.match) return { outcome: 'ignored', reason: `${found.reason}: ${found.detail}` };
  // A record that reads as a Kinesis KMS denial counts only when AWS delivered it.
  const envelope = notFromKms(event);
  if (envelope !== null) return { outcome: 'ignored', reason: `not-from-kms: ${envelope}` };
  const request = found.request;
  const now = ports.now();
  const fingerprint = fingerprintOf(fingerprintFieldsOf(request));
  // A repeat of a problem this warm environment knows is counted here: no store request.
  const seen = denialSeen(request);
  const warm: WarmAnswer = ports.warm?.denial(fingerprint, request.eventId, now, seen) ?? {
    kind: 'ask-store',
    pending: 0,
    live: false,
    seen,
  };
  if (warm.kind === 'duplicate') return DUPLICATE;
  if (warm.kind === 'repeat') return repeat(warm.record);
  const recorded = await diagnoseAndRecord(ports, config, request, fingerprint, warm, now);
  if (!('proposal' in recorded)) return recorded;
  const { proposal, state, madeLive } = recorded;

  if (proposal.status === 'refused') {
    await Promise.all([notify(ports, 'refused', proposal, null), madeLive]);
    return { outcome: 'refused', proposalId: proposal.id, reason: proposal.reason };
  }
  if (config.mode !== 'auto' || proposal.plan === null) {
    // The links were signed while the proposal was written; the problem is pointed at it while people
    // are told: a new problem's alert waits for one round trip after the write, not two.
    const [result] = await Promise.all([
      (async (): Promise<RemediateResult> => {
        await notify(
          ports,
          'proposed',
          proposal,
          { settings: linkSettings(config), expiresAt: new Date(proposal.expiresAt) },
          recorded.signing,
        );
        return { outcome: 'proposed', proposalId: proposal.id };
      })(),
      madeLive,
    ]);
    return result;
  }
  await madeLive;
  const propose = async (reason?: string): Promise<RemediateResult> => {
    await notify(ports, 'proposed', proposal, {
      settings: linkSettings(config),
      expiresAt: new Date(proposal.expiresAt),
    });
    return { outcome: 'proposed', proposalId: proposal.id, ...(reason ? { reason } : {}) };
  };
  if (config.mode !== 'auto' || proposal.plan === null) return propose();
  try {
    return await autoApply(ports, config, proposal, state, propose);
  } catch (error) {
    return settleAutoApply(ports, config, proposal, error, propose);
  }
}

interface Recorded {
  proposal: Proposal;
  state: ResolvedState;
  /** The fingerprint made to point at the stored proposal (never rejects: a failure is logged). */
  madeLive: Promise<void>;
  /** Its links, signed while it was written (pending proposals in propose mode only). */
  signing?: Promise<ProposalLinks | null>;
}

/**
 * A denied consumer's lag, for the impact: the stream's and, when the session may be a Lambda
 * function's (core/lambda-session.ts), that function's event source mappings', in one read; only for
 * kms:Decrypt on a known stream, when the ports can read metrics. Nothing when the read fails (the lag
 * never stops a diagnosis).
 */
async function consumerLagsOf(
  ports: FlowContext,
  request: KinesisKmsRequest,
  now: Date,
): Promise<ConsumerLags> {
  const none: ConsumerLags = { stream: null, function: null };
  if (!ports.metrics || request.operation !== 'kms:Decrypt' || !request.streamArn) return none;
  const functionName = lambdaFunctionCandidate(request);
  return ports.metrics
    .consumerLag({ streamArn: request.streamArn, ...(functionName ? { functionName } : {}) }, now)
    .catch(() => none);
}

function linkSettings(config: RemediateConfig): LinkSettings {
  return { baseUrl: config.approvalUrl, ttlHours: config.linkTtlHours };
}

/**
 * From the event to the stored proposal; a RemediateResult when it stops before one (a duplicate, a
 * repeat, allowed by now). Claims the event id and the fingerprint at once (`claimDenial`, one round
 * trip); a problem this environment saw live is counted first, after the event's claim. When anything
 * fails before the proposal is stored, releases what it claimed and rethrows, so the retry starts over.
 */
async function diagnoseAndRecord(
  ports: FlowContext,
  config: RemediateConfig,
  request: KinesisKmsRequest,
  fingerprint: string,
  warm: Extract<WarmAnswer, { kind: 'ask-store' }>,
  now: Date,
): Promise<Recorded | RemediateResult> {
  // What this invocation may hold, released on a failure. The fingerprint lease even when the claim's
  // own answer was lost, since a retry must not find its own lease; the event id unless its claim
  // answered that another delivery holds it.
  let leased: string | null = null;
  let ownEvent = true;
  try {
    // Repeats racing this event's own requests wait in this environment's memory.
    if (!warm.live) ports.warm?.diagnosing(fingerprint, request.eventId, now);
    // A problem this environment saw live is counted first (with the repeats it held); any other
    // denial goes straight to the claim, which counts it when the problem is held or live.
    const counted = warm.pending + 1;
    // Their CloudTrail eventTimes and sessions go with the count.
    const seen = warm.seen ?? undefined;
    let claim: DenialClaim;
    if (warm.live) {
      const delivery = await ports.store.claimEvent(request.eventId, now);
      if (delivery === 'duplicate') {
        ports.warm?.failed(fingerprint, request.eventId);
        return DUPLICATE;
      }
      const live = await ports.store.touchFingerprint(fingerprint, now, counted, seen);
      ports.warm?.stored(fingerprint, live, warm.pending, now, request.eventId);
      if (live !== null) {
        if (delivery === 'retry' && live.proposalId !== null)
          await settleAbandoned(ports, config, live.proposalId);
        await stillFailing(ports, config, live, now);
        return repeat(live);
      }
      leased = fingerprint;
      ports.warm?.diagnosing(fingerprint, request.eventId, now);
      // The event id was claimed on its own item already: the claim needs only the count.
      claim = {
        ...(await ports.store.claimFingerprint(fingerprint, now, {
          count: counted,
          ...(seen ? { seen } : {}),
        })),
        delivery,
      };
    } else {
      leased = fingerprint;
      // The event id and the problem at once; the problem's claim records the event id, so a twin
      // delivery racing this one is a duplicate whichever of the two claims each wins.
      claim = await ports.store.claimDenial(request.eventId, fingerprint, now, {
        count: counted,
        ...(seen ? { seen } : {}),
      });
      ownEvent = claim.delivery !== 'duplicate';
    }
    if (!claim.claimed) {
      leased = null;
      if (claim.duplicate) {
        if (claim.delivery === 'duplicate') ports.warm?.failed(fingerprint, request.eventId);
        else ports.warm?.stored(fingerprint, null, 0, now);
        return DUPLICATE;
      }
      // The claim counted this denial and those held before; the ones counted since stay pending.
      ports.warm?.stored(fingerprint, claim.record, 0, now);
      if (claim.delivery === 'retry' && claim.record.proposalId !== null)
        await settleAbandoned(ports, config, claim.record.proposalId);
      await stillFailing(ports, config, claim.record, now);
      return repeat(claim.record);
    }
    await expirePrevious(ports, claim.previousProposalId);
    return await diagnoseAndStore(ports, config, request, fingerprint, now);
  } catch (error) {
    ports.warm?.failed(fingerprint, request.eventId);
    await releaseClaims(ports, ownEvent ? request.eventId : null, leased);
    throw error;
  }
}

/** Reads the account, diagnoses, and stores the proposal (pending or refused) of a claimed problem. */
async function diagnoseAndStore(
  ports: FlowContext,
  config: RemediateConfig,
  request: KinesisKmsRequest,
  fingerprint: string,
  now: Date,
): Promise<Recorded | RemediateResult> {
  // The id comes first: another account is read (and later written) as `keymend-<id>`.
  const id = newProposalId();
  // The lag is read beside the account, not after it: it adds no round trip.
  const [state, lags, notificationRoute] = await Promise.all([
    gatherFor(ports, request, id),
    consumerLagsOf(ports, request, now),
    // Beside the account too; never throws (the e-mail topic when no route can be told).
    ports.router ? ports.router.routeOf(request.accountId) : null,
  ]);
  const result = diagnose(request, state, { prefer: config.preferMechanism });
  // Allowed by now: nothing is stored. The claim's lease (two minutes) stays, so denials still in
  // flight are counted as repeats without reading the account; one after it is diagnosed afresh.
  if (result.verdict === 'ignore') {
    ports.warm?.stored(fingerprint, null, 0, now);
    return { outcome: 'ignored', reason: result.reason };
  }

  const disabled = refusalInstead(result, config.enabledMechanisms);
  const proposal = newProposal({
    id,
    request,
    result,
    ...accountFacts(state),
    notificationRoute,
    consumerLag: lags.stream,
    functionLag: lags.function,
    now,
    linkTtlHours: config.linkTtlHours,
    audit: {
      at: now.toISOString(),
      actor: KEYMEND_ACTOR,
      action: 'diagnose',
      outcome: disabled ? 'refuse' : result.verdict,
      detail:
        result.verdict === 'refuse' ? result.code : disabled ? 'mechanism-disabled' : result.plan.mechanism,
    },
    ...(disabled ? { refuseInstead: disabled } : {}),
  });
  // The links' signatures (KMS GenerateMac) do not need the record: they are made while it is written.
  const signing =
    proposal.status === 'pending' && (config.mode !== 'auto' || proposal.plan === null)
      ? linksFor(ports, proposal, linkSettings(config), new Date(proposal.expiresAt))
      : undefined;
  // Handled where it is awaited (notify); this only keeps a failure from being "unhandled" meanwhile.
  signing?.catch(() => {});
  try {
    await ports.store.storeProposal(proposal);
  } catch (error) {
    // Stored but the answer was lost (a timeout): go on and announce it, or no one ever would (its
    // fingerprint may be live, so a retry would be a repeat). Not stored: fail, and the retry starts over.
    const stored = await ports.store.getProposal(proposal.id).catch(() => null);
    if (stored === null) throw error;
  }
  const liveUntil = new Date(proposal.expiresAt);
  // Tried twice (the SDK retries each attempt too): a problem left pointing at no proposal would be
  // proposed again once the claim's lease ends.
  const makeLive = () => ports.store.makeLive(proposal, liveUntil);
  const madeLive = makeLive()
    .catch(makeLive)
    .then(
      () => {
        ports.warm?.stored(
          fingerprint,
          {
            fingerprint,
            proposalId: proposal.id,
            count: proposal.count,
            firstSeen: proposal.firstSeen,
            lastSeen: proposal.lastSeen,
            liveUntil: liveUntil.toISOString(),
          },
          0,
          ports.now(),
        );
      },
      (error: unknown) => {
        // The proposal is stored and announced; its fingerprint holds the claim's lease, so repeats
        // are still counted, and once the lease ends a denial starts the problem over.
        ports.warm?.stored(fingerprint, null, 0, now);
        ports.log?.warn("could not make the stored proposal its problem's live one", {
          proposalId: proposal.id,
          error: messageOf(error),
        });
      },
    );
  return { proposal, state, madeLive, ...(signing ? { signing } : {}) };
}

/**
 * Writes back what this environment counted and has held longest (see core/warm-repeats.ts): one
 * conditional update per problem, all at once. Never throws: a count that cannot be written is lost
 * (the problem's count then reads low, as docs/remediate.md says it may).
 */
export async function writeBackDue(ports: FlowContext, all = false): Promise<void> {
  const warm = ports.warm;
  if (!warm) return;
  const now = ports.now();
  const counts = all ? warm.all() : warm.due(now);
  await Promise.all(
    counts.map(async ({ fingerprint, count, seen }) => {
      try {
        const record = await ports.store.touchFingerprint(fingerprint, now, count, seen);
        warm.stored(fingerprint, record, count, now);
      } catch (error) {
        ports.log?.warn('could not write back counted repeats', {
          fingerprint,
          count,
          error: messageOf(error),
        });
      }
    }),
  );
}

/**
 * The retry of an invocation that did not finish (killed, timed out): when it left the problem's
 * proposal `applying` past the lease, settle it (flows/apply.ts) and tell people when it goes back to
 * a person. Best effort: the denial is counted either way.
 */
async function settleAbandoned(
  ports: FlowContext,
  config: RemediateConfig,
  proposalId: string,
): Promise<void> {
  try {
    const settled = await settleAbandonedApply(
      ports,
      proposalId,
      {
        actor: KEYMEND_ACTOR,
        action: 'reclaim',
        why: 'the invocation applying it stopped (killed or timed out)',
      },
      autoApplyOptions(config),
    );
    if (settled?.status === 'pending') {
      await notify(ports, 'proposed', settled, {
        settings: linkSettings(config),
        expiresAt: new Date(settled.expiresAt),
      });
    }
  } catch (error) {
    ports.log?.warn('could not settle an abandoned apply', { proposalId, error: messageOf(error) });
  }
}

/** Best effort: when the store is down too, the retry is a duplicate and the next denial starts over. */
async function releaseClaims(
  ports: FlowContext,
  eventId: string | null,
  fingerprint: string | null,
): Promise<void> {
  if (eventId === null && fingerprint === null) return;
  try {
    await ports.store.releaseClaim(eventId, fingerprint);
  } catch (error) {
    ports.log?.warn('could not release the claims of a failed invocation', {
      eventId,
      error: messageOf(error),
    });
  }
}

/** What auto mode's apply step is told: the enabled mechanisms (never a key-policy change), announced as auto-applied. */
function autoApplyOptions(config: RemediateConfig): ApplyOptions {
  return { enabledMechanisms: config.enabledMechanisms, kind: 'auto-applied', links: linkSettings(config) };
}

/**
 * Auto mode, after the proposal is stored: the guards, then `pending -> applying` (counted toward the
 * hourly cap) and the apply step. A failure anywhere here is settled by `settleAutoApply`.
 */
async function autoApply(
  ports: FlowContext,
  config: RemediateConfig,
  proposal: Proposal,
  state: Recorded['state'],
  propose: (reason?: string) => Promise<RemediateResult>,
): Promise<RemediateResult> {
  if (proposal.plan === null) return propose();
  const stop = await guardStop(ports, config, {
    principalArn: proposal.request.principalArn,
    principalTags: state.principal?.tags,
    mechanisms: planMechanisms(proposal.plan),
    // The account the denial was recorded in, and read: the hub's own, or a member's.
    ownAccountId: proposal.request.accountId,
    notes: proposal.diagnosis?.notes,
  });
  if (stop) return propose(`auto mode did not apply it (${stop.guard}): ${stop.reason}`);

  const startedAt = ports.now();
  const applying = await ports.store.transition(
    proposal.id,
    'pending',
    'applying',
    {},
    { at: startedAt.toISOString(), actor: KEYMEND_ACTOR, action: 'auto-apply', outcome: 'started' },
  );
  if (applying === null) {
    return {
      outcome: 'proposed',
      proposalId: proposal.id,
      reason: 'the proposal left pending before auto mode applied it',
    };
  }
  // Counted once the apply is this invocation's: an approval never counts toward auto mode's cap.
  await ports.store.recordAutoApply(applying.id, startedAt);
  const applied = await applyProposal(ports, applying, KEYMEND_ACTOR, autoApplyOptions(config));
  switch (applied.outcome) {
    case 'applied':
      return {
        outcome: 'applied',
        proposalId: proposal.id,
        ...(applied.verified ? {} : { reason: 'applied; a re-read does not show it in effect yet' }),
      };
    case 'failed':
      return { outcome: 'failed', proposalId: proposal.id, reason: applied.reason };
    case 'not-applied':
      await notify(ports, 'proposed', applied.proposal, {
        settings: linkSettings(config),
        expiresAt: new Date(proposal.expiresAt),
      });
      return { outcome: 'proposed', proposalId: proposal.id, reason: applied.reason };
    case 'superseded':
      return {
        outcome: applied.replacement.status === 'refused' ? 'refused' : 'proposed',
        proposalId: applied.replacement.id,
        reason: applied.reason,
      };
    case 'conflict':
      return { outcome: 'proposed', proposalId: proposal.id, reason: applied.reason };
    default: {
      const unreachable: never = applied;
      throw new Error(`unknown apply outcome ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * Auto mode failed after the proposal was stored (a guard's read, the claim, the apply step): the
 * proposal is settled (flows/apply.ts `settleInterruptedApply`: a change already written is recorded,
 * otherwise it goes back to `pending`) and people are told, so a problem is never stored and left
 * unannounced (its fingerprint is live: later denials are repeats). Throws the failure only when the
 * store cannot say where the proposal is.
 */
async function settleAutoApply(
  ports: FlowContext,
  config: RemediateConfig,
  proposal: Proposal,
  error: unknown,
  propose: (reason?: string) => Promise<RemediateResult>,
): Promise<RemediateResult> {
  const why = messageOf(error);
  ports.log?.warn('auto mode could not finish; settling the proposal', {
    proposalId: proposal.id,
    error: why,
  });
  let settled: Proposal;
  try {
    settled = await settleInterruptedApply(
      ports,
      proposal.id,
      { actor: KEYMEND_ACTOR, action: 'auto-apply', why },
      autoApplyOptions(config),
    );
  } catch {
    throw error;
  }
  switch (settled.status) {
    case 'pending':
      return propose(`auto mode was interrupted (${why}): it waits for approval`);
    case 'applied':
    case 'failed':
      return { outcome: settled.status, proposalId: proposal.id, reason: why };
    default:
      return { outcome: 'proposed', proposalId: proposal.id, reason: why };
  }
}

/**
 * Why an event is not one the rule delivers, or null when it is: an EventBridge event whose `source` is
 * `aws.kms` (no PutEvents caller may use an `aws.` source, so no custom bus or application can forge
 * one) and whose detail-type is CloudTrail's. A bare record, or any other source, is ignored, whatever
 * its detail claims (`invokedBy`, `sourceIPAddress`): only AWS can put those into an `aws.kms` event.
 */
export function notFromKms(event: unknown): string | null {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    return `the event is ${showValue(event)}, not an EventBridge event`;
  }
  const own = (key: string): unknown =>
    Object.hasOwn(event, key) ? (event as Record<string, unknown>)[key] : undefined;
  if (own('source') !== 'aws.kms') return `source is ${showValue(own('source'))}, not "aws.kms"`;
  if (own('detail-type') !== CLOUDTRAIL_DETAIL_TYPE) {
    return `detail-type is ${showValue(own('detail-type'))}, not ${JSON.stringify(CLOUDTRAIL_DETAIL_TYPE)}`;
  }
  return null;
}

function repeat(record: FingerprintRecord): RemediateResult {
  return {
    outcome: 'repeat',
    ...(record.proposalId ? { proposalId: record.proposalId } : {}),
    reason: `a repeat of a live problem (${record.count} denials since ${record.firstSeen})`,
  };
}

/** The first auto-mode guard that stops an apply; the store is asked for the hourly count only if the others hold. */
async function guardStop(
  ports: FlowContext,
  config: RemediateConfig,
  subject: Parameters<typeof staticGuardStop>[0],
): Promise<GuardStop | null> {
  const settings: AutoModeSettings = {
    allowPrincipals: config.autoApplyPrincipals,
    allowCloudFormation: config.autoApplyCloudFormation,
    hourlyLimit: config.autoApplyHourlyLimit,
  };
  const stop = staticGuardStop(subject, settings);
  if (stop) return stop;
  const now = ports.now();
  const since = new Date(now.getTime() - 60 * MINUTE);
  return underHourlyLimit(await ports.store.countAutoAppliesSince(since, now), settings.hourlyLimit);
}

/**
 * A denial of a fingerprint whose fix was applied more than ten minutes ago: tell people once that it
 * is still failing. The fingerprint item carries `appliedAt`, so the common repeat reads nothing more.
 */
async function stillFailing(
  ports: FlowContext,
  config: RemediateConfig,
  record: FingerprintRecord,
  now: Date,
): Promise<void> {
  if (record.appliedAt === undefined || record.proposalId === null) return;
  if (now.getTime() - Date.parse(record.appliedAt) <= STILL_FAILING_AFTER_MINUTES * MINUTE) return;
  try {
    const first = await ports.store.markStillFailingNotified(record.proposalId, now);
    await ports.store.setFingerprintApplied(record.fingerprint, null);
    if (!first) return;
    const proposal = await ports.store.getProposal(record.proposalId);
    if (proposal === null) return;
    await notify(ports, 'still-failing', proposal, {
      settings: linkSettings(config),
      expiresAt: linkExpiry(now, config.linkTtlHours),
    });
  } catch (error) {
    ports.log?.warn('could not send the still-failing notice', {
      proposalId: record.proposalId,
      error: messageOf(error),
    });
  }
}
