/**
 * A person applies a plan they bring (`keymend apply --plan FILE --aws`, with their own credentials:
 * break-glass, pipelines). The same steps as an approval, and the same refusals:
 *
 *   re-read the account and diagnose the denial again (the plan's mechanism preferred) -> the plan
 *   must be exactly that diagnosis's plan, and one the deployment enables (core/plan-binding.ts) ->
 *   record it as a proposal (or take the problem's pending proposal of the same plan) -> claim it
 *   `pending -> applying` as an approval does -> the apply step of flows/apply.ts (re-read, write,
 *   re-read, record `applied`, notify).
 *
 * A dry run stops after the checks and writes nothing, not even to the table.
 */
import { type DiagnoseResult, diagnose, type ResolvedState } from '../core/diagnose';
import { gatherState } from '../core/gather';
import type { LinkSettings } from '../core/links';
import { accountFacts, newProposal, newProposalId } from '../core/new-proposal';
import { type Plan, preferredMechanism } from '../core/plan';
import { bindPlan, type DeploymentRules, type PlanRefusalCode } from '../core/plan-binding';
import { type AuditEntry, type Proposal, planHash } from '../core/proposal';
import type { KinesisKmsRequest } from '../core/request';
import { type ApplyOptions, type ApplyResult, applyProposal, settleInterruptedApply } from './apply';
import { type FlowContext, messageOf } from './context';

/** What is applied, and how. */
export interface PlanApplyOptions {
  /** Who applies it, for the audit trail (the CLI: `keymend apply (<the caller's ARN>)`). */
  actor: string;
  /** What the deployment lets an approval apply. */
  rules: DeploymentRules;
  /** Where the notifications' links point (a caller without a signing key sends none). */
  links: LinkSettings;
  /** Check everything, write nothing. */
  dryRun: boolean;
  /** The problem's live proposal (its fingerprint's), read by the caller; null when there is none. */
  live: Proposal | null;
}

export type PlanApplyResult =
  /** Nothing written: the plan may not be applied now, and why. */
  | {
      outcome: 'refused';
      /**
       * `in-progress`: the problem's proposal is being applied; `cross-account`: a plan of two accounts;
       * `wrong-region`: the caller's check.
       */
      code: PlanRefusalCode | 'in-progress' | 'wrong-region' | 'cross-account';
      reason: string;
      proposalId?: string;
    }
  /** A dry run whose checks all hold: `proposalId` is the pending proposal an apply would approve. */
  | { outcome: 'would-apply'; plan: Plan; proposalId?: string }
  /** Applied and recorded; `verified` when a re-read shows the request allowed. */
  | { outcome: 'applied'; proposal: Proposal; verified: boolean }
  /** The apply step's other outcomes (flows/apply.ts), recorded on the proposal. */
  | { outcome: 'failed' | 'not-applied' | 'superseded' | 'conflict'; reason: string; proposalId: string };

/** Applies `plan` for the denied `request`; see the module comment. Throws when a read or the store fails. */
export async function applyPlan(
  ports: FlowContext,
  file: { request: KinesisKmsRequest; plan: Plan },
  options: PlanApplyOptions,
): Promise<PlanApplyResult> {
  const { request, plan } = file;
  const { live } = options;
  const audit = (action: string, outcome: string, detail?: string): AuditEntry => ({
    at: ports.now().toISOString(),
    actor: options.actor,
    action,
    outcome,
    ...(detail === undefined ? {} : { detail }),
  });
  // As a refused approval is, a refused apply is noted on the problem's proposal (never on a dry run).
  const refuse = async (
    code: Extract<PlanApplyResult, { outcome: 'refused' }>['code'],
    reason: string,
  ): Promise<PlanApplyResult> => {
    if (live && !options.dryRun) {
      await ports.store.appendAudit(
        live.id,
        audit('approve', 'refused', `keymend apply: ${code}: ${reason}`),
      );
    }
    return { outcome: 'refused', code, reason, ...(live ? { proposalId: live.id } : {}) };
  };
  if (plan.mechanism === 'cross-account') {
    return refuse(
      'cross-account',
      "a cross-account fix writes in two accounts (the key's and the caller's), and keymend apply acts with one account's credentials: approve it through its link, where the organization's keymend holds both accounts' roles",
    );
  }
  const state = await gatherState(ports.reader, request);
  const now = diagnose(request, state, { prefer: preferredMechanism(plan) });
  const bound = bindPlan(plan, now, options.rules);
  if (!bound.ok) return refuse(bound.code, bound.reason);
  if (live?.status === 'applying') {
    return refuse(
      'in-progress',
      `the problem's proposal ${live.id} is being applied (since ${live.updatedAt}): see 'keymend list --aws'`,
    );
  }
  // The problem's pending proposal of this very plan is approved, as its link would; otherwise a new one.
  const pending = live?.status === 'pending' && live.planHash === planHash(plan) ? live : null;
  if (options.dryRun) return { outcome: 'would-apply', plan, ...(pending ? { proposalId: pending.id } : {}) };

  const proposal = pending ?? (await recordNew(ports, request, bound.result, state, options, audit));
  const applyOptions: ApplyOptions = {
    enabledMechanisms: options.rules.enabledMechanisms,
    kind: 'approved-applied',
    links: options.links,
  };
  let result: ApplyResult;
  try {
    const claimed = await ports.store.transition(
      proposal.id,
      'pending',
      'applying',
      {},
      audit('approve', 'accepted', "keymend apply --plan, with the caller's credentials"),
    );
    if (!claimed) {
      return {
        outcome: 'conflict',
        reason: 'another approval is applying the proposal',
        proposalId: proposal.id,
      };
    }
    result = await applyProposal(ports, claimed, options.actor, applyOptions);
  } catch (error) {
    // As an approval does: a change already written is recorded; otherwise the proposal goes back to
    // pending (a new apply re-reads everything and finds a write already made) and the error stands.
    const settled = await settleInterruptedApply(
      ports,
      proposal.id,
      { actor: options.actor, action: 'approve', why: messageOf(error) },
      applyOptions,
    ).catch(() => null);
    if (settled?.status !== 'applied') throw error;
    result = { outcome: 'applied', proposal: settled, verified: false };
  }
  if (result.outcome === 'applied') {
    if (live && live.id !== proposal.id && live.status === 'pending') {
      await ports.store.transition(
        live.id,
        'pending',
        'superseded',
        {},
        audit('apply', 'superseded', `the problem was fixed by proposal ${proposal.id} (keymend apply)`),
      );
    }
    return { outcome: 'applied', proposal: result.proposal, verified: result.verified };
  }
  if (result.outcome === 'conflict') return { ...result, proposalId: proposal.id };
  return { outcome: result.outcome, reason: result.reason, proposalId: proposal.id };
}

/** A new proposal for the plan, recorded as the remediate function records one, and made the problem's live one. */
async function recordNew(
  ports: FlowContext,
  request: KinesisKmsRequest,
  result: Extract<DiagnoseResult, { verdict: 'propose' }>,
  state: ResolvedState,
  options: PlanApplyOptions,
  audit: (action: string, outcome: string, detail?: string) => AuditEntry,
): Promise<Proposal> {
  const proposal = newProposal({
    id: newProposalId(),
    request,
    result,
    ...accountFacts(state),
    now: ports.now(),
    linkTtlHours: options.links.ttlHours,
    audit: audit('diagnose', 'propose', `${result.plan.mechanism}, from a plan file (keymend apply)`),
  });
  await ports.store.createProposal(proposal, new Date(proposal.expiresAt));
  return proposal;
}
