/**
 * Whether a plan someone brings (a plan file for `keymend apply`) may be applied now: it must be the
 * exact change a diagnosis of the account as it is now makes for the same denial, and one the
 * deployment would apply on an approval. Pure: the account is re-read by the caller and passed in as
 * the diagnosis it gives.
 */
import { arnPatternMatches } from './auto-mode';
import type { DiagnoseResult, RefusalCode } from './diagnose';
import { type Mechanism, type Plan, planHalves, planMechanisms } from './plan';
import { canonicalJson, planHash } from './proposal';

/** What the deployed stack allows an approval to apply (its outputs, from its construct's props). */
export interface DeploymentRules {
  /** KEYMEND_ENABLED_MECHANISMS: a key-policy change is applied on approval only when enabled. */
  enabledMechanisms: readonly Mechanism[];
  /** The ARN patterns whose inline policies keymend's role may write (IAM enforces it for the role). */
  inlinePolicyPrincipals: readonly string[];
}

/** Why a plan is not applied. */
export type PlanRefusalCode =
  /** A re-read shows the request allowed by now. */
  | 'denial-gone'
  /** The denial is not one keymend acts on. */
  | 'not-applicable'
  /** The account now gives another plan (another principal, key, stream, document or mechanism). */
  | 'plan-changed'
  /** The deployment does not enable this mechanism (a key-policy change included). */
  | 'mechanism-disabled'
  /** An inline policy on a principal outside the deployment's inlinePolicyPrincipals. */
  | 'principal-not-allowed'
  /** What a diagnosis refuses now (explicit-deny, aws-managed-key, ...). */
  | RefusalCode;

export type PlanBinding =
  | { ok: true; result: Extract<DiagnoseResult, { verdict: 'propose' }> }
  | { ok: false; code: PlanRefusalCode; reason: string };

/**
 * Why `plan` may not be applied where only `enabled` (KEYMEND_ENABLED_MECHANISMS, read when it is
 * decided) is enabled; null when every mechanism it uses is. The one place this rule is written: the
 * remediate flow and a superseding re-diagnosis make such a diagnosis a refused proposal, the apply step
 * refuses such a proposal (the deployment may have changed since it was made), and bindPlan refuses
 * such a plan file.
 */
export function mechanismRefusal(
  plan: Plan,
  enabled: readonly Mechanism[],
): { code: 'mechanism-disabled'; reason: string } | null {
  const off = planMechanisms(plan).filter((m) => !enabled.includes(m));
  if (off.length === 0) return null;
  const reason = `the deployment does not enable ${off.join(' or ')}, which this plan needs (KEYMEND_ENABLED_MECHANISMS: ${enabled.join(', ')})`;
  return {
    code: 'mechanism-disabled',
    reason: off.includes('key-policy-statement')
      ? `${reason}: a key-policy change is applied only where the deployment enables key-policy changes (enableKeyPolicyChanges)`
      : reason,
  };
}

/**
 * A diagnosis whose plan needs a mechanism the deployment does not enable, as the refusal a new
 * proposal records instead (newProposal's `refuseInstead`); undefined when it may be proposed as it is.
 */
export function refusalInstead(
  result: Exclude<DiagnoseResult, { verdict: 'ignore' }>,
  enabled: readonly Mechanism[],
): { reason: string } | undefined {
  const refusal = result.verdict === 'propose' ? mechanismRefusal(result.plan, enabled) : null;
  return refusal === null
    ? undefined
    : { reason: `${result.reason} Not proposed: ${refusal.reason}. Apply it by hand if you agree.` };
}

/** The fields of two plans that differ, each as `field: X in the plan, Y now` (strings shown whole). */
function differences(given: Plan, now: Plan): string[] {
  const a = given as unknown as Record<string, unknown>;
  const b = now as unknown as Record<string, unknown>;
  const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return fields
    .filter((field) => canonicalJson(a[field]) !== canonicalJson(b[field]))
    .map((field) => {
      const x = a[field];
      const y = b[field];
      return typeof x === 'string' && typeof y === 'string'
        ? `${field} is ${x} in the plan, ${y} now`
        : `${field} differs`;
    });
}

/**
 * Checks `plan` against `now`, the diagnosis of the same denial on the account as re-read (with the
 * plan's mechanism preferred), and against the deployment's rules.
 */
export function bindPlan(plan: Plan, now: DiagnoseResult, rules: DeploymentRules): PlanBinding {
  const disabled = mechanismRefusal(plan, rules.enabledMechanisms);
  if (disabled !== null) {
    return { ok: false, code: disabled.code, reason: `${disabled.reason}: an approval would refuse it too` };
  }
  if (now.verdict === 'ignore') {
    return now.code === 'already-allowed'
      ? { ok: false, code: 'denial-gone', reason: `the denial is gone: ${now.reason}` }
      : { ok: false, code: 'not-applicable', reason: now.reason };
  }
  if (now.verdict === 'refuse') return { ok: false, code: now.code, reason: now.reason };
  if (planHash(now.plan) !== planHash(plan)) {
    const what = now.plan.mechanism === plan.mechanism ? differences(plan, now.plan) : [];
    return {
      ok: false,
      code: 'plan-changed',
      reason:
        now.plan.mechanism !== plan.mechanism
          ? `the account now needs a ${now.plan.mechanism}, not the plan's ${plan.mechanism}: diagnose again`
          : `the plan is not the change the account needs now (${what.join('; ')}): diagnose again`,
    };
  }
  const outside = planHalves(plan).find(
    (half) =>
      half.mechanism === 'iam-inline-policy' &&
      !rules.inlinePolicyPrincipals.some((pattern) => arnPatternMatches(pattern, half.principalArn)),
  );
  if (outside?.mechanism === 'iam-inline-policy') {
    return {
      ok: false,
      code: 'principal-not-allowed',
      reason: `the deployment lets keymend write inline policies only on ${rules.inlinePolicyPrincipals.join(', ') || 'no principal'}, not on ${outside.principalArn}`,
    };
  }
  return { ok: true, result: now };
}
