/**
 * Applying a proposal's plan, and undoing it. Used by auto mode (flows/remediate.ts) and by an
 * approval (the approval function): both first move the proposal `pending -> applying` with a
 * conditional write, so only one caller ever gets here for one proposal.
 *
 * Order: re-read and re-diagnose, write, re-read and re-evaluate, record, notify. A retry after a crash
 * between the write and the record finds the planned change already in the account, does not write it
 * again, and records it; a notification that fails is audited, never thrown past the record.
 */
import { CLAIM_LEASE_SECONDS, GRANT_PROPAGATION_NOTE } from '../commons/constants';
import { NotKeymendsChangeError } from '../commons/errors';
import type { ResolvedState } from '../core/diagnose';
import { diagnose } from '../core/diagnose';
import { type LinkSettings, linkExpiry } from '../core/links';
import { newProposal, newProposalId } from '../core/new-proposal';
import {
  type Mechanism,
  type Plan,
  planAccount,
  planMechanisms,
  preferredMechanism,
  type SinglePlan,
  statementsOf,
} from '../core/plan';
import { mechanismRefusal, refusalInstead } from '../core/plan-binding';
import {
  type AppliedChange,
  type AuditEntry,
  type CrossAccountAppliedChange,
  canonicalJson,
  KEYMEND_ACTOR,
  type Proposal,
  planHash,
  type SingleAppliedChange,
} from '../core/proposal';
import { gatherFor, readerFor, writerFor } from './accounts';
import { type AuditContext, type FlowContext, messageOf } from './context';
import { notify } from './notify';

export interface ApplyOptions {
  /**
   * What the deployment enables now (KEYMEND_ENABLED_MECHANISMS): a plan that needs another mechanism
   * is refused here, whatever was enabled when it was proposed.
   */
  enabledMechanisms: readonly Mechanism[];
  /** Auto mode's or an approval's apply (and what its notification says): auto mode never applies a key-policy change. */
  kind: 'auto-applied' | 'approved-applied';
  /** Where the links of the notifications point (the revoke link, a replacement's links). */
  links: LinkSettings;
  /** The actor's source IP and user agent, for the audit trail of an approval. */
  auditContext?: AuditContext;
}

export type ApplyResult =
  /** Written (or found written by an earlier attempt) and recorded; `verified` when a re-read shows it allowed. */
  | { outcome: 'applied'; proposal: Proposal; verified: boolean }
  /** The write failed; recorded `failed`. */
  | { outcome: 'failed'; proposal: Proposal; reason: string }
  /** Nothing written: the request is allowed by now, or the plan may not be applied here; back to `pending`. */
  | { outcome: 'not-applied'; proposal: Proposal; reason: string }
  /** Nothing written: the plan changed; recorded `superseded`, and the new diagnosis is a new proposal. */
  | { outcome: 'superseded'; proposal: Proposal; replacement: Proposal; reason: string }
  /** The proposal was not `applying`, or another actor recorded it first: nothing done. */
  | { outcome: 'conflict'; reason: string };

export type RevokeResult =
  | { outcome: 'revoked'; proposal: Proposal }
  /** Not undone, and why (the key policy changed since keymend wrote it, the proposal is not applied). */
  | { outcome: 'refused'; reason: string }
  | { outcome: 'failed'; reason: string }
  | { outcome: 'conflict'; reason: string };

/** The prefix of every name keymend gives a grant or an inline policy (functions/core/plan.ts). */
const KEYMEND_POLICY_PREFIX = 'keymend-';

/** Two policy documents (parsed or as text) that say the same, whatever their spacing or key order. */
function samePolicy(a: unknown, b: unknown): boolean {
  const parse = (value: unknown) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  };
  return canonicalJson(parse(a)) === canonicalJson(parse(b));
}

/** The key policy a key-policy plan was made from: its document without the statement it adds (the last). */
function basePolicyOf(plan: Extract<Plan, { mechanism: 'key-policy-statement' }>): unknown {
  return { ...plan.document, Statement: plan.document.Statement.slice(0, -1) };
}

/**
 * The planned change when the account already holds it (an earlier attempt wrote it, then crashed
 * before recording), as the AppliedChange to record; null when it is not there.
 */
function alreadyWritten(plan: Plan, state: ResolvedState): AppliedChange | null {
  if (plan.mechanism === 'cross-account') {
    const halves = writtenHalves(plan, state);
    return halves.keySide && halves.callerSide
      ? { mechanism: 'cross-account', keySide: halves.keySide, callerSide: halves.callerSide }
      : null;
  }
  return singleWritten(plan, state);
}

/** The halves of a cross-account plan the account state already holds. */
function writtenHalves(
  plan: Extract<Plan, { mechanism: 'cross-account' }>,
  state: ResolvedState,
): Partial<Pick<CrossAccountAppliedChange, 'keySide' | 'callerSide'>> {
  const keySide = singleWritten(plan.keySide, state);
  const callerSide = singleWritten(plan.callerSide, state);
  return {
    ...(keySide?.mechanism === 'key-policy-statement' ? { keySide } : {}),
    ...(callerSide?.mechanism === 'iam-inline-policy' ? { callerSide } : {}),
  };
}

function singleWritten(plan: SinglePlan, state: ResolvedState): SingleAppliedChange | null {
  switch (plan.mechanism) {
    case 'kms-grant': {
      const grant = state.key?.grants?.find(
        (g) =>
          g.name === plan.name &&
          g.granteePrincipal === plan.granteePrincipal &&
          canonicalJson(g.operations) === canonicalJson(plan.operations) &&
          canonicalJson(g.constraints?.encryptionContextSubset ?? null) ===
            canonicalJson(plan.constraints.encryptionContextSubset),
      );
      return grant && state.key?.arn === plan.keyArn
        ? { mechanism: 'kms-grant', keyArn: plan.keyArn, grantId: grant.grantId, grantName: plan.name }
        : null;
    }
    case 'iam-inline-policy': {
      const policies = state.principal?.arn === plan.principalArn ? state.principal.inlinePolicies : {};
      return Object.hasOwn(policies, plan.policyName) && samePolicy(policies[plan.policyName], plan.document)
        ? { mechanism: 'iam-inline-policy', principalArn: plan.principalArn, policyName: plan.policyName }
        : null;
    }
    case 'key-policy-statement':
      return state.key?.arn === plan.keyArn && samePolicy(state.key.policy, plan.document)
        ? {
            mechanism: 'key-policy-statement',
            keyArn: plan.keyArn,
            previousPolicy: JSON.stringify(basePolicyOf(plan)),
            writtenPolicy: JSON.stringify(plan.document),
          }
        : null;
    default: {
      const unreachable: never = plan;
      throw new Error(`unknown plan ${JSON.stringify(unreachable)}`);
    }
  }
}

/** Thrown inside `write` when the key policy is not the one the plan was made from. */
class KeyPolicyChanged {
  constructor(readonly current: string) {}
}

/**
 * Makes the writes the plan needs, each through the writer of its account; returns what to record for
 * undoing them. A cross-account plan writes its key side first (unless `state` shows it written by an
 * earlier attempt), then its caller side; when the caller side fails, both are taken back (the caller
 * side too: a write whose answer was lost may have been made), so nothing is left half-applied (or,
 * when that fails too, the error says what remains).
 */
async function write(
  ports: FlowContext,
  plan: Plan,
  proposalId: string,
  state: ResolvedState,
): Promise<AppliedChange> {
  if (plan.mechanism !== 'cross-account') return writeOne(ports, plan, proposalId);
  const found = writtenHalves(plan, state);
  const keySide = found.keySide ?? (await writeOne(ports, plan.keySide, proposalId));
  if (keySide.mechanism !== 'key-policy-statement')
    throw new Error('unreachable: the key side is a key policy');
  try {
    const callerSide = found.callerSide ?? (await writeOne(ports, plan.callerSide, proposalId));
    if (callerSide.mechanism !== 'iam-inline-policy') throw new Error('unreachable: the caller side is IAM');
    return { mechanism: 'cross-account', keySide, callerSide };
  } catch (error) {
    try {
      if (found.callerSide === undefined) await takeBackCallerSide(ports, plan, proposalId);
    } catch (undo) {
      throw new Error(
        `${messageOf(error)}; the caller side may have been written in account ${plan.callerAccountId} and could not be checked or taken back (${messageOf(undo)}): delete inline policy ${plan.callerSide.policyName} of ${plan.callerSide.principalArn} by hand, and statement ${plan.keySide.statement.Sid} from the policy of ${plan.keySide.keyArn}`,
      );
    }
    const left = await takeBackKeySide(ports, { plan, keySide }, proposalId);
    if (left !== null) throw new Error(`${messageOf(error)}; ${left}`);
    throw error;
  }
}

/**
 * Puts back the key policy a cross-account plan's key side replaced, only while the key policy is still
 * exactly what keymend wrote (as revoke does). Returns null when taken back, else what remains and what
 * to do by hand.
 */
async function takeBackKeySide(
  ports: FlowContext,
  { plan, keySide }: HalfWritten,
  proposalId: string,
): Promise<string | null> {
  const byHand = `remove statement ${plan.keySide.statement.Sid} from the policy of ${plan.keySide.keyArn} by hand`;
  try {
    const writer = writerFor(ports, plan.keyAccountId, proposalId);
    if (!samePolicy(await writer.getKeyPolicy(keySide.keyArn), keySide.writtenPolicy)) {
      return `the key side written in account ${plan.keyAccountId} was left: the key policy changed since keymend wrote it; ${byHand} if it should go`;
    }
    await writer.putKeyPolicy({ keyArn: keySide.keyArn, policy: keySide.previousPolicy });
    return null;
  } catch (undo) {
    return `the key side written in account ${plan.keyAccountId} could not be taken back (${messageOf(undo)}): ${byHand}`;
  }
}

/** A cross-account plan an interrupted apply wrote half of: its key side, and not its caller side. */
interface HalfWritten {
  plan: Extract<Plan, { mechanism: 'cross-account' }>;
  keySide: Extract<SingleAppliedChange, { mechanism: 'key-policy-statement' }>;
}

/** The half of `plan` the account state holds, when it holds the key side only; null otherwise. */
function halfWritten(plan: Plan, state: ResolvedState): HalfWritten | null {
  if (plan.mechanism !== 'cross-account') return null;
  const halves = writtenHalves(plan, state);
  return halves.keySide !== undefined && halves.callerSide === undefined
    ? { plan, keySide: halves.keySide }
    : null;
}

/**
 * Whether an earlier apply of the proposal was interrupted (settleInterruptedApply records it so, as
 * every apply that stops before recording ends): only then can half of its plan in the account be
 * keymend's. Otherwise the same statement there was put by a person (the plan is printed for
 * people's own pipelines), and keymend neither takes it back nor finishes a fix around it.
 */
function interruptedBefore(proposal: Proposal): boolean {
  return proposal.audit.some((entry) => entry.outcome === 'interrupted');
}

/**
 * The key side an interrupted apply wrote, when the key policy still holds keymend's statement but
 * is no longer the policy keymend wrote (someone changed it since): neither finished nor taken back,
 * said. Null when the key policy does not hold the statement, or is exactly what keymend wrote.
 */
function changedKeySide(plan: Plan, state: ResolvedState): string | null {
  if (plan.mechanism !== 'cross-account' || state.key?.arn !== plan.keySide.keyArn) return null;
  if (samePolicy(state.key.policy, plan.keySide.document)) return null;
  const statements = statementsOf(state.key.policy) ?? [];
  const statement = canonicalJson(plan.keySide.statement);
  if (!statements.some((s) => canonicalJson(s) === statement)) return null;
  const { Sid } = plan.keySide.statement;
  return `the key side an interrupted apply wrote in account ${plan.keyAccountId} (statement ${Sid} on ${plan.keySide.keyArn}) is in place, but the key policy has changed since: keymend neither finishes a fix nor takes back a statement in a policy it no longer wrote as a whole; remove statement ${Sid} from the policy of ${plan.keySide.keyArn} by hand if it should go (the denial, if it recurs, is proposed anew)`;
}

/**
 * The state as it was before the key side was written: what a fresh apply re-diagnoses (with the key
 * side in place, a diagnosis would plan the caller side alone).
 */
function beforeKeySide(state: ResolvedState, { plan }: HalfWritten): ResolvedState {
  return state.key === null ? state : { ...state, key: { ...state.key, policy: basePolicyOf(plan.keySide) } };
}

/**
 * Deletes the caller side of a cross-account plan when the caller's account holds it exactly as planned
 * (under keymend's name, with keymend's document): its write failed, but its answer may only have been
 * lost. Anything else there is left alone.
 */
async function takeBackCallerSide(
  ports: FlowContext,
  plan: Extract<Plan, { mechanism: 'cross-account' }>,
  proposalId: string,
): Promise<void> {
  const { principalArn, policyName, document } = plan.callerSide;
  const reader = readerFor(ports, plan.callerAccountId, proposalId);
  if (reader === null) throw new Error(`keymend cannot read account ${plan.callerAccountId}`);
  const current = (await reader.getPrincipal(principalArn))?.inlinePolicies[policyName];
  if (current === undefined || !samePolicy(current, document)) return;
  await writerFor(ports, plan.callerAccountId, proposalId).deletePrincipalPolicy({
    principalArn,
    policyName,
  });
}

/** Makes the one write of a single-account plan, through the writer of the account it changes. */
async function writeOne(
  ports: FlowContext,
  plan: SinglePlan,
  proposalId: string,
): Promise<SingleAppliedChange> {
  const writer = writerFor(ports, planAccount(plan), proposalId);
  switch (plan.mechanism) {
    case 'kms-grant': {
      const { grantId } = await writer.createGrant({
        keyArn: plan.keyArn,
        name: plan.name,
        granteePrincipal: plan.granteePrincipal,
        operations: [...plan.operations],
        encryptionContextSubset: { ...plan.constraints.encryptionContextSubset },
      });
      return { mechanism: 'kms-grant', keyArn: plan.keyArn, grantId, grantName: plan.name };
    }
    case 'iam-inline-policy':
      await writer.putPrincipalPolicy({
        principalArn: plan.principalArn,
        policyName: plan.policyName,
        document: JSON.stringify(plan.document),
      });
      return { mechanism: 'iam-inline-policy', principalArn: plan.principalArn, policyName: plan.policyName };
    case 'key-policy-statement': {
      // PutKeyPolicy has no condition: read right before writing, and write only over the policy the
      // plan was made from, so a change made since is never overwritten.
      const current = await writer.getKeyPolicy(plan.keyArn);
      if (!samePolicy(current, basePolicyOf(plan))) throw new KeyPolicyChanged(current);
      const written = JSON.stringify(plan.document);
      await writer.putKeyPolicy({ keyArn: plan.keyArn, policy: written });
      return {
        mechanism: 'key-policy-statement',
        keyArn: plan.keyArn,
        previousPolicy: current,
        writtenPolicy: written,
      };
    }
    default: {
      const unreachable: never = plan;
      throw new Error(`unknown plan ${JSON.stringify(unreachable)}`);
    }
  }
}

/** Makes the audit entry of one step of an apply, as its actor. */
type Audit = (action: string, outcome: string, detail?: string) => AuditEntry;

/** One apply in progress: whose it is and what it records. */
interface ApplyStep {
  ports: FlowContext;
  /** The proposal, `applying` and owned by this caller. */
  proposal: Proposal;
  options: ApplyOptions;
  audit: Audit;
}

function applyStep(ports: FlowContext, proposal: Proposal, actor: string, options: ApplyOptions): ApplyStep {
  const audit: Audit = (action, outcome, detail) => ({
    at: ports.now().toISOString(),
    actor,
    action,
    outcome,
    ...(detail === undefined ? {} : { detail }),
    ...options.auditContext,
  });
  return { ports, proposal, options, audit };
}

/**
 * Applies an `applying` proposal's plan: `reconcile` (the account brought to the plan, or the reason it
 * is not), then `record`. See the module comment for the order. Throws only when a read or the store
 * fails before anything is recorded: the caller then settles the proposal (`settleInterruptedApply`).
 */
export async function applyProposal(
  ports: FlowContext,
  proposal: Proposal,
  actor: string,
  options: ApplyOptions,
): Promise<ApplyResult> {
  if (proposal.status !== 'applying') {
    return { outcome: 'conflict', reason: `the proposal is ${proposal.status}, not applying` };
  }
  const step = applyStep(ports, proposal, actor, options);
  const plan = proposal.plan;
  if (plan === null) return fail(step, 'the proposal has no plan');
  // Before any write: the deployment may have changed since the plan was proposed.
  const disabled = mechanismRefusal(plan, options.enabledMechanisms);
  if (disabled !== null) {
    const reason = `refused (${disabled.code}): ${disabled.reason}`;
    // A cross-account plan an interrupted apply half wrote is not left so: its key side is taken back.
    if (plan.mechanism !== 'cross-account' || !interruptedBefore(proposal)) return fail(step, reason);
    const state = await gatherFor(ports, proposal.request, proposal.id);
    const half = halfWritten(plan, state);
    if (half === null) {
      const changed = changedKeySide(plan, state);
      return fail(step, changed === null ? reason : `${reason}; ${changed}`);
    }
    const left = await takeBackKeySide(ports, half, proposal.id);
    return fail(step, `${reason}; ${left ?? takenBack(half)}`);
  }
  if (options.kind === 'auto-applied' && planMechanisms(plan).includes('key-policy-statement')) {
    return backToPending(step, 'a key-policy change is applied only when a person approves it');
  }
  const reconciled = await reconcile(step, plan);
  return 'outcome' in reconciled ? reconciled : record(step, plan, reconciled);
}

/**
 * Brings the account to the plan: finds the change already written (an earlier attempt), or re-reads,
 * re-diagnoses and writes it. Returns what was written, or the outcome when nothing is to be written
 * (allowed by now: back to pending; the plan changed: superseded; the write failed: failed).
 */
async function reconcile(step: ApplyStep, plan: Plan): Promise<AppliedChange | ApplyResult> {
  const { ports, proposal } = step;
  const state = await gatherFor(ports, proposal.request, proposal.id);
  const found = alreadyWritten(plan, state);
  if (found !== null) return found;
  // An earlier attempt wrote the key side of a cross-account plan and stopped. It is finished only if a
  // fresh apply would make the same plan: re-diagnosed on the accounts as they were without the key side
  // (as they are, a diagnosis would plan the caller side alone); otherwise the key side is taken back.
  const interrupted = interruptedBefore(proposal);
  const half = interrupted ? halfWritten(plan, state) : null;
  const changed = interrupted && half === null ? changedKeySide(plan, state) : null;
  if (changed !== null) return fail(step, changed);
  const now = diagnose(proposal.request, half ? beforeKeySide(state, half) : state, {
    prefer: preferredMechanism(plan),
  });
  if (now.verdict !== 'propose' || planHash(now.plan) !== proposal.planHash) {
    const why =
      now.verdict === 'ignore'
        ? `nothing to apply: ${now.reason}`
        : 'the account changed since the plan was made';
    if (half !== null) {
      const left = await takeBackKeySide(ports, half, proposal.id);
      if (left !== null) {
        return fail(
          step,
          `${why}${now.verdict === 'refuse' ? ` (${now.code}: ${now.reason})` : ''}; ${left}`,
        );
      }
      const reason = `${why}; ${takenBack(half)}`;
      return now.verdict === 'ignore' ? backToPending(step, reason) : supersede(step, now, reason);
    }
    return now.verdict === 'ignore' ? backToPending(step, why) : supersede(step, now, why);
  }
  try {
    return await write(ports, plan, proposal.id, state);
  } catch (error) {
    if (error instanceof KeyPolicyChanged) {
      // Changed between the re-read and the write: diagnose again on what is there now.
      const again = diagnose(proposal.request, await gatherFor(ports, proposal.request, proposal.id), {
        prefer: preferredMechanism(plan),
      });
      if (again.verdict === 'ignore') return backToPending(step, `nothing to apply: ${again.reason}`);
      return supersede(step, again, 'the key policy changed since the plan was made');
    }
    // A write that timed out may have been made: re-read before recording a failure, so the record
    // never says failed while the account holds the change (a failing re-read throws: retry).
    const written = alreadyWritten(plan, await gatherFor(ports, proposal.request, proposal.id));
    return written ?? fail(step, `the write failed: ${messageOf(error)}`);
  }
}

/**
 * Records a change the account holds: re-reads and re-evaluates, moves `applying -> applied` with how
 * to undo it, marks the fingerprint applied, and notifies. IAM and KMS are eventually consistent (a
 * grant takes up to five minutes), so a change not visible yet is recorded as applied, with the
 * check's result in the audit.
 */
async function record(step: ApplyStep, plan: Plan, applied: AppliedChange): Promise<ApplyResult> {
  const { ports, proposal, options } = step;
  const after = diagnose(proposal.request, await gatherFor(ports, proposal.request, proposal.id), {
    prefer: preferredMechanism(plan),
  });
  const verified = after.verdict === 'ignore' && after.code === 'already-allowed';
  const appliedAt = ports.now().toISOString();
  const notes = [
    verified
      ? 'a re-read shows the request allowed'
      : `a re-read does not show it allowed yet: ${after.reason}`,
    ...(plan.mechanism === 'kms-grant' ? [GRANT_PROPAGATION_NOTE] : []),
  ];
  const recorded = await ports.store.transition(
    proposal.id,
    'applying',
    'applied',
    { applied, appliedAt },
    step.audit('apply', verified ? 'applied' : 'applied-unverified', notes.join(' ')),
  );
  if (recorded === null) return { outcome: 'conflict', reason: 'another actor recorded the proposal first' };
  await markFingerprintApplied(ports, recorded, appliedAt);
  await announceApplied(ports, recorded, options);
  return { outcome: 'applied', proposal: recorded, verified };
}

/**
 * Sets (or, with null, clears) when the fingerprint's proposal was applied, for the still-failing
 * notice. Best effort: the proposal's record is what counts; a failure is logged.
 */
async function markFingerprintApplied(
  ports: FlowContext,
  proposal: Proposal,
  appliedAt: string | null,
): Promise<void> {
  try {
    await ports.store.setFingerprintApplied(proposal.fingerprint, appliedAt);
  } catch (error) {
    ports.log?.warn('could not update the fingerprint', { proposalId: proposal.id, error: messageOf(error) });
  }
}

/** The notification of an applied proposal, with links (the revoke link) made now. */
function announceApplied(ports: FlowContext, proposal: Proposal, options: ApplyOptions): Promise<boolean> {
  return notify(ports, options.kind, proposal, {
    settings: options.links,
    expiresAt: linkExpiry(ports.now(), options.links.ttlHours),
  });
}

/** Who was applying, and what stopped them. */
export interface Interruption {
  actor: string;
  /** The action of the audit entry that says so: `auto-apply`, `approve`. */
  action: string;
  /** What failed, for the audit list. */
  why: string;
}

/**
 * Settles an apply that did not finish (a read or the store failed mid-way, or the invocation that
 * held the `applying` claim is gone), so that no proposal is left `applying` and nothing is written
 * twice. Reads where the proposal is:
 * - `applied`: recorded, but the answer was lost before the apply step announced it: announced now.
 * - `applying` (the caller's own claim): the account is re-read; a change the interrupted attempt wrote
 *   is recorded applied (checked and announced as the apply step does); otherwise, or when the re-read
 *   fails too, the proposal goes back to `pending` with why in its audit list, for a person: approving
 *   it then finds a write already made instead of repeating it.
 * - anything else: the apply step recorded its outcome (and announced it), or never started.
 * Returns the proposal as it is then. Throws only when the store cannot say or record where it is.
 */
export async function settleInterruptedApply(
  ports: FlowContext,
  proposalId: string,
  interruption: Interruption,
  options: ApplyOptions,
): Promise<Proposal> {
  const current = await ports.store.getProposal(proposalId);
  if (current === null) throw new Error(`proposal ${proposalId} is not in the store`);
  if (current.status === 'applied') {
    await announceApplied(ports, current, options);
    return current;
  }
  if (current.status !== 'applying') return current;
  const step = applyStep(ports, current, interruption.actor, options);
  const plan = current.plan;
  const state = plan === null ? null : await gatherFor(ports, current.request, current.id).catch(() => null);
  const written = plan === null || state === null ? null : alreadyWritten(plan, state);
  if (plan !== null && written !== null) {
    const recorded = await record(step, plan, written);
    if (recorded.outcome === 'applied') return recorded.proposal;
  } else {
    // Half of a cross-account fix in place is said so, never left silently.
    // (This attempt is the interrupted one: what it may have written is keymend's.)
    const half = plan === null || state === null ? null : halfWritten(plan, state);
    const changed = plan === null || state === null || half !== null ? null : changedKeySide(plan, state);
    const halfNote = half
      ? `; the key side is written in account ${half.plan.keyAccountId} (statement ${half.plan.keySide.statement.Sid} on ${half.plan.keySide.keyArn}), the caller side is not: approving re-checks the plan as a fresh apply does, then finishes it or takes the key side back`
      : changed !== null
        ? `; ${changed}`
        : '';
    const back = await ports.store.transition(
      current.id,
      'applying',
      'pending',
      {},
      step.audit(
        interruption.action,
        'interrupted',
        `${interruption.why}; approving the proposal finishes the apply without writing twice${halfNote}`,
      ),
    );
    if (back !== null) return back;
  }
  // Another actor moved it meanwhile: where it is now.
  return (await ports.store.getProposal(proposalId)) ?? current;
}

/** True when the proposal has been `applying` longer than a claim's lease: whoever applied it is gone. */
export function isAbandonedApply(proposal: Proposal, now: Date): boolean {
  return (
    proposal.status === 'applying' &&
    Date.parse(proposal.updatedAt) + CLAIM_LEASE_SECONDS * 1000 <= now.getTime()
  );
}

/**
 * A proposal left `applying` past its lease (CLAIM_LEASE_SECONDS) by an invocation that was killed or
 * timed out: taken over (store `reclaimApplying`, one conditional write) and settled as an interrupted
 * apply, announced as the kind of apply it was (auto mode's or an approval's). Null when the proposal
 * is not `applying` or its lease has not run out (someone is still applying it).
 */
export async function settleAbandonedApply(
  ports: FlowContext,
  proposalId: string,
  interruption: Interruption,
  options: ApplyOptions,
): Promise<Proposal | null> {
  const taken = await ports.store.reclaimApplying(proposalId, ports.now(), {
    at: ports.now().toISOString(),
    actor: interruption.actor,
    action: interruption.action,
    outcome: 'reclaimed',
    detail: interruption.why,
  });
  if (taken === null) return null;
  const started = taken.audit.findLast(
    (entry) => entry.action === 'auto-apply' || entry.action === 'approve',
  );
  const kind = started?.actor === KEYMEND_ACTOR ? 'auto-applied' : 'approved-applied';
  return settleInterruptedApply(ports, proposalId, interruption, { ...options, kind });
}

/** The audit's words for a key side an interrupted apply wrote and keymend took back. */
function takenBack({ plan }: HalfWritten): string {
  return `the key side an interrupted apply wrote in account ${plan.keyAccountId} (statement ${plan.keySide.statement.Sid} on ${plan.keySide.keyArn}) was taken back`;
}

async function backToPending(step: ApplyStep, reason: string): Promise<ApplyResult> {
  const back = await step.ports.store.transition(
    step.proposal.id,
    'applying',
    'pending',
    {},
    step.audit('apply', 'not-applied', reason),
  );
  return back
    ? { outcome: 'not-applied', proposal: back, reason }
    : { outcome: 'conflict', reason: 'another actor moved the proposal first' };
}

async function fail(step: ApplyStep, reason: string): Promise<ApplyResult> {
  const failed = await step.ports.store.transition(
    step.proposal.id,
    'applying',
    'failed',
    { reason: `Applying the fix failed: ${reason}` },
    step.audit('apply', 'failed', reason),
  );
  if (failed === null) return { outcome: 'conflict', reason: 'another actor moved the proposal first' };
  await notify(step.ports, 'failed', failed, null);
  return { outcome: 'failed', proposal: failed, reason };
}

/**
 * The plan is not what a diagnosis makes now: the proposal is superseded and the new diagnosis becomes
 * a new proposal (pending or refused), announced as such: never a silent, different change.
 */
async function supersede(
  step: ApplyStep,
  now: Extract<ReturnType<typeof diagnose>, { verdict: 'propose' | 'refuse' }>,
  why: string,
): Promise<ApplyResult> {
  const { ports, proposal, options } = step;
  const at = ports.now();
  const disabled = refusalInstead(now, options.enabledMechanisms);
  const replacement = newProposal({
    id: newProposalId(),
    request: proposal.request,
    result: now,
    keyAliases: proposal.keyAliases,
    principalTags: proposal.principalTags,
    now: at,
    linkTtlHours: options.links.ttlHours,
    audit: {
      at: at.toISOString(),
      actor: KEYMEND_ACTOR,
      action: 'propose',
      outcome: disabled ? 'refuse' : now.verdict,
      detail: `replaces ${proposal.id}: ${why}${disabled ? ' (mechanism-disabled)' : ''}`,
    },
    ...(disabled ? { refuseInstead: disabled } : {}),
  });
  const reason = `${why}: the new diagnosis is proposal ${replacement.id}`;
  const superseded = await ports.store.transition(
    proposal.id,
    'applying',
    'superseded',
    {},
    step.audit('apply', 'superseded', reason),
  );
  if (superseded === null) return { outcome: 'conflict', reason: 'another actor moved the proposal first' };
  await ports.store.createProposal(replacement, new Date(replacement.expiresAt));
  await notify(
    ports,
    replacement.status === 'pending' ? 'proposed' : 'refused',
    replacement,
    replacement.status === 'pending'
      ? { settings: options.links, expiresAt: new Date(replacement.expiresAt) }
      : null,
  );
  return { outcome: 'superseded', proposal: superseded, replacement, reason };
}

/**
 * Checks that one change is still keymend's as its plan describes it, and answers the undo to run (or
 * null-op when it is gone already), or why it is refused. Reads only; the undo writes through the writer
 * of the change's account.
 */
async function checkUndo(
  ports: FlowContext,
  proposalId: string,
  change: SingleAppliedChange,
  plan: SinglePlan,
): Promise<string | (() => Promise<void>)> {
  if (plan.mechanism !== change.mechanism) {
    return `the record's change (${change.mechanism}) is not what its plan says keymend would write`;
  }
  switch (change.mechanism) {
    case 'kms-grant': {
      const grantPlan = plan as Extract<Plan, { mechanism: 'kms-grant' }>;
      if (change.keyArn !== grantPlan.keyArn || change.grantName !== grantPlan.name) {
        return 'the recorded grant is not the one the plan describes';
      }
      const writer = writerFor(ports, planAccount(grantPlan), proposalId);
      // The writer lists the grant first and retires it only if it is keymend's as planned.
      return () =>
        writer.retireGrant({
          keyArn: change.keyArn,
          grantId: change.grantId,
          expected: {
            name: grantPlan.name,
            granteePrincipal: grantPlan.granteePrincipal,
            operations: grantPlan.operations,
            encryptionContextSubset: grantPlan.constraints.encryptionContextSubset,
          },
        });
    }
    case 'iam-inline-policy': {
      const policyPlan = plan as Extract<Plan, { mechanism: 'iam-inline-policy' }>;
      // Only a policy keymend named, on the principal it planned, and only while its document is
      // still what keymend wrote: anything else is someone else's, even under keymend's name.
      if (
        !change.policyName.startsWith(KEYMEND_POLICY_PREFIX) ||
        change.policyName !== policyPlan.policyName ||
        change.principalArn !== policyPlan.principalArn
      ) {
        return `the inline policy ${change.policyName} is not one keymend named in this plan`;
      }
      const account = planAccount(policyPlan);
      const reader = readerFor(ports, account, proposalId);
      if (reader === null) return `keymend cannot read account ${account}`;
      const principal = await reader.getPrincipal(change.principalArn);
      const current = principal?.inlinePolicies[change.policyName];
      if (current !== undefined && !samePolicy(current, policyPlan.document)) {
        return `the inline policy ${change.policyName} has changed since keymend wrote it: delete it by hand if it should go`;
      }
      const writer = writerFor(ports, account, proposalId);
      return async () => {
        if (current !== undefined) {
          await writer.deletePrincipalPolicy({
            principalArn: change.principalArn,
            policyName: change.policyName,
          });
        }
      };
    }
    case 'key-policy-statement': {
      const writer = writerFor(ports, planAccount(plan), proposalId);
      const current = await writer.getKeyPolicy(change.keyArn);
      if (!samePolicy(current, change.writtenPolicy)) {
        return `the key policy has changed since keymend wrote it: restoring the previous one would undo that change too; edit the key policy by hand`;
      }
      return () => writer.putKeyPolicy({ keyArn: change.keyArn, policy: change.previousPolicy });
    }
    default: {
      const unreachable: never = change;
      throw new Error(`unknown change ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * Each write of `change` with the part of `plan` it came from, in the order they are undone (the caller
 * side of a cross-account fix first); null when the record does not match its plan, so a revoke never
 * records `revoked` without an undo for every write.
 */
function undoPairs(change: AppliedChange, plan: Plan): Array<[SingleAppliedChange, SinglePlan]> | null {
  if (change.mechanism === 'cross-account') {
    return plan.mechanism === 'cross-account'
      ? [
          [change.callerSide, plan.callerSide],
          [change.keySide, plan.keySide],
        ]
      : null;
  }
  return plan.mechanism !== 'cross-account' && plan.mechanism === change.mechanism ? [[change, plan]] : null;
}

/**
 * Undoes what keymend applied for an `applied` proposal: retires the grant it created, deletes the
 * inline policy it named, or puts back the previous key policy, only when the key policy is still the
 * one keymend wrote (otherwise it refuses, and the audit trail says why). Records `revoked`, then notifies.
 */
export async function revokeProposal(
  ports: FlowContext,
  proposal: Proposal,
  actor: string,
  auditContext: AuditContext = {},
): Promise<RevokeResult> {
  const audit = (outcome: string, detail?: string): AuditEntry => ({
    at: ports.now().toISOString(),
    actor,
    action: 'revoke',
    outcome,
    ...(detail === undefined ? {} : { detail }),
    ...auditContext,
  });
  const change = proposal.applied;
  if (proposal.status !== 'applied' || change === undefined) {
    return {
      outcome: 'refused',
      reason: `the proposal is ${proposal.status}: there is nothing of keymend's to undo`,
    };
  }
  const refuse = async (reason: string): Promise<RevokeResult> => {
    await ports.store.appendAudit(proposal.id, audit('refused', reason));
    return { outcome: 'refused', reason };
  };
  const pairs = proposal.plan === null ? null : undoPairs(change, proposal.plan);
  if (pairs === null) {
    return refuse(`the record's change (${change.mechanism}) is not what its plan says keymend would write`);
  }
  try {
    // Every check first (each half still keymend's, as written), then the undos, the caller side first:
    // a cross-account fix is revoked together or not at all.
    const undos: Array<() => Promise<void>> = [];
    for (const [one, onePlan] of pairs) {
      const checked = await checkUndo(ports, proposal.id, one, onePlan);
      if (typeof checked === 'string') return refuse(checked);
      undos.push(checked);
    }
    for (const undo of undos) await undo();
  } catch (error) {
    if (error instanceof NotKeymendsChangeError) return refuse(error.message);
    const reason = `the undo failed: ${messageOf(error)}`;
    await ports.store.appendAudit(proposal.id, audit('failed', reason));
    return { outcome: 'failed', reason };
  }
  const revoked = await ports.store.transition(proposal.id, 'applied', 'revoked', {}, audit('revoked'));
  if (revoked === null) return { outcome: 'conflict', reason: 'another actor revoked the proposal first' };
  await markFingerprintApplied(ports, revoked, null);
  await notify(ports, 'revoked', revoked, null);
  return { outcome: 'revoked', proposal: revoked };
}
