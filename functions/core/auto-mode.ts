/**
 * Auto mode's guards: a proposal is applied without a person only when every one of them holds.
 * Each guard is a small pure function that says why it stops an apply, or null when it holds; the
 * remediate flow proposes instead (and says which guard) when any does.
 */
import { arnAccount } from '../commons/arn';
import { AUTO_REMEDIATE_TAG, CLOUDFORMATION_STACK_TAG } from '../commons/constants';
import type { DiagnosisNote } from './layer-note';
import type { Mechanism } from './plan';

export type GuardName =
  | 'principal-not-opted-in'
  | 'mechanism-not-automatic'
  | 'principal-in-another-account'
  | 'hourly-limit-reached'
  | 'managed-by-cloudformation'
  | 'diagnosis-has-notes';

/** A guard that stops an apply, and why (a sentence for people). */
export interface GuardStop {
  guard: GuardName;
  reason: string;
}

/** The mechanisms auto mode may apply. Never a key policy: that is for a person to approve. */
export const AUTOMATIC_MECHANISMS: readonly Mechanism[] = ['kms-grant', 'iam-inline-policy'];

/**
 * True when `pattern` matches the whole of `text`: `*` matches any run of characters (also none),
 * `?` exactly one; every other character only itself (case-sensitive, as ARNs compare).
 */
export function arnPatternMatches(pattern: string, text: string): boolean {
  // Iterative wildcard matching with one backtrack point: linear-ish, no regular expression built
  // from configuration text.
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** The principal matches an allow-list pattern or carries `keymend:auto-remediate=true`. */
export function principalOptedIn(
  principalArn: string,
  tags: Readonly<Record<string, string>> | undefined,
  patterns: readonly string[],
): GuardStop | null {
  if (tags?.[AUTO_REMEDIATE_TAG.key] === AUTO_REMEDIATE_TAG.value) return null;
  if (patterns.some((pattern) => arnPatternMatches(pattern, principalArn))) return null;
  return {
    guard: 'principal-not-opted-in',
    reason: `the principal matches no auto-apply pattern and has no ${AUTO_REMEDIATE_TAG.key}=${AUTO_REMEDIATE_TAG.value} tag`,
  };
}

/**
 * Every write of the fix is automatic: a plan that holds a key-policy change (a cross-account fix's key
 * side) is stopped whatever its other writes are.
 */
export function mechanismsAutomatic(mechanisms: readonly Mechanism[]): GuardStop | null {
  for (const mechanism of mechanisms) {
    const stop = mechanismAutomatic(mechanism);
    if (stop) return stop;
  }
  return null;
}

/** The fix is a grant or an inline policy: never a key policy. */
export function mechanismAutomatic(mechanism: Mechanism): GuardStop | null {
  return AUTOMATIC_MECHANISMS.includes(mechanism)
    ? null
    : {
        guard: 'mechanism-not-automatic',
        reason: `a ${mechanism} is applied only after a person approves it`,
      };
}

/**
 * The principal belongs to the account keymend acts in for this denial: the account the denial was
 * recorded in (keymend's own, or, for an organization hub, the member account it reads and writes
 * through the member role).
 */
export function principalInOwnAccount(principalArn: string, ownAccountId: string): GuardStop | null {
  const account = arnAccount(principalArn);
  return account === ownAccountId
    ? null
    : {
        guard: 'principal-in-another-account',
        reason: `the principal is in account ${account ?? '?'}, not keymend's ${ownAccountId}`,
      };
}

/** Fewer than `limit` automatic applies in the last hour. */
export function underHourlyLimit(appliesInLastHour: number, limit: number): GuardStop | null {
  return appliesInLastHour < limit
    ? null
    : {
        guard: 'hourly-limit-reached',
        reason: `${appliesInLastHour} automatic applies in the last hour reach the limit of ${limit}`,
      };
}

/** The principal is not managed by CloudFormation, unless that is allowed: a live change drifts from its template. */
export function notManagedByCloudFormation(
  tags: Readonly<Record<string, string>> | undefined,
  allowCloudFormation: boolean,
): GuardStop | null {
  if (allowCloudFormation) return null;
  const stack = tags?.[CLOUDFORMATION_STACK_TAG];
  return stack === undefined
    ? null
    : {
        guard: 'managed-by-cloudformation',
        reason: `the principal is managed by CloudFormation (stack ${JSON.stringify(stack)}): a live change would drift from its template`,
      };
}

/**
 * The diagnosis carries no note. A note (core/layer-note.ts) says keymend's picture of the account may
 * be incomplete or stale: a person reads it and decides, so auto mode proposes instead of applying.
 */
export function diagnosisWithoutNotes(notes: readonly DiagnosisNote[] | undefined): GuardStop | null {
  if (!notes || notes.length === 0) return null;
  return {
    guard: 'diagnosis-has-notes',
    reason: `the diagnosis carries ${notes.length === 1 ? 'a note' : `${notes.length} notes`} a person must read first (${notes.map((n) => n.code).join(', ')})`,
  };
}

export interface AutoModeSettings {
  allowPrincipals: readonly string[];
  allowCloudFormation: boolean;
  hourlyLimit: number;
}

export interface AutoModeSubject {
  principalArn: string;
  principalTags: Readonly<Record<string, string>> | undefined;
  /** Every mechanism the plan writes with (core/plan.ts planMechanisms): each must be automatic. */
  mechanisms: readonly Mechanism[];
  ownAccountId: string;
  /** The diagnosis's notes: any one keeps the fix for a person. */
  notes?: readonly DiagnosisNote[];
}

/**
 * The guards that need no store read, in order; the first that stops wins. The hourly limit needs a
 * count from the store: the flow asks for it only when these hold, then checks `underHourlyLimit`.
 */
export function staticGuardStop(subject: AutoModeSubject, settings: AutoModeSettings): GuardStop | null {
  return (
    principalOptedIn(subject.principalArn, subject.principalTags, settings.allowPrincipals) ??
    mechanismsAutomatic(subject.mechanisms) ??
    principalInOwnAccount(subject.principalArn, subject.ownAccountId) ??
    notManagedByCloudFormation(subject.principalTags, settings.allowCloudFormation) ??
    diagnosisWithoutNotes(subject.notes)
  );
}
