/**
 * A proposal: what keymend decided about one problem (a fingerprint), and what happened to it since.
 * Pure data and pure rules: the store persists it, the flows move it from status to status, the
 * renderers show it. Everything in `request` came from an event and is untrusted text.
 */
import { createHash } from 'node:crypto';
import type { Diagnosis, Proof, RefusalCode, RejectedAttempt } from './diagnose';
import type { NextStep } from './next-steps';
import type { Plan } from './plan';
import type { KinesisKmsRequest } from './request';

export type ProposalStatus =
  | 'pending'
  | 'applying'
  | 'applied'
  | 'rejected'
  | 'expired'
  | 'revoked'
  | 'failed'
  | 'superseded'
  | 'refused';

/**
 * Which status may follow which. Every change of status is a conditional write on the old status, so
 * two actors racing for one proposal (ten clicks on Approve) cannot both move it.
 * `applying -> pending` is the way back when a re-read finds nothing to do yet (never used to retry blindly).
 */
export const TRANSITIONS: Readonly<Record<ProposalStatus, readonly ProposalStatus[]>> = {
  pending: ['applying', 'rejected', 'expired', 'superseded'],
  applying: ['applied', 'failed', 'superseded', 'pending'],
  applied: ['revoked'],
  rejected: [],
  expired: [],
  revoked: [],
  failed: [],
  superseded: [],
  refused: [],
};

/** True when `to` may follow `from`. */
export function canTransition(from: ProposalStatus, to: ProposalStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The six facts that identify one problem. Never the session name: every AssumeRole makes a new one. */
export interface FingerprintFields {
  accountId: string;
  region: string;
  principalArn: string;
  operation: string;
  keyArn: string;
  streamArn: string;
}

/** The fingerprint of a problem: a SHA-256 (hex, 32 characters kept) of its six fields. */
export function fingerprintOf(fields: FingerprintFields): string {
  const text = JSON.stringify([
    fields.accountId,
    fields.region,
    fields.principalArn,
    fields.operation,
    fields.keyArn,
    fields.streamArn,
  ]);
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/**
 * The hash an approval token is bound to: the plan exactly as it would be written. Keys are sorted, so
 * the same plan always hashes the same, and any change to what would be written changes the hash.
 */
export function planHash(plan: Plan): string {
  return createHash('sha256').update(canonicalJson(plan)).digest('hex');
}

/** JSON with object keys sorted at every depth. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The actor of what keymend does by itself, in audit entries (an approval's is `approval-link`). */
export const KEYMEND_ACTOR = 'keymend';

/** One line of a proposal's audit trail. `actor` is `keymend` (KEYMEND_ACTOR), `approval-link` or `cli`. */
export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  outcome: string;
  detail?: string;
  sourceIp?: string;
  userAgent?: string;
}

/** What keymend wrote, with what it needs to undo exactly that. */
export type AppliedChange =
  | { mechanism: 'kms-grant'; keyArn: string; grantId: string; grantName: string }
  | { mechanism: 'iam-inline-policy'; principalArn: string; policyName: string }
  | {
      mechanism: 'key-policy-statement';
      keyArn: string;
      /** The key policy before keymend's write, restored by revoke only if the policy is still keymend's. */
      previousPolicy: string;
      /** The key policy keymend wrote, to tell whether someone changed it since. */
      writtenPolicy: string;
    };

export interface Proposal {
  /** Opaque, unguessable (random), URL-safe. */
  id: string;
  fingerprint: string;
  scope: FingerprintFields;
  status: ProposalStatus;
  /** `propose` proposals start `pending`; refusals are stored as `refused` so a person hears of them once. */
  verdict: 'propose' | 'refuse';
  /** The diagnosis code (`propose` or a RefusalCode) and its sentence for people. */
  code: 'propose' | RefusalCode;
  reason: string;
  /** The first denial of this problem, as the intake read it. */
  request: KinesisKmsRequest;
  /** The alias of the account keymend runs in (iam:ListAccountAliases), for subjects; absent when not known. */
  accountAlias?: string;
  /** The stream's retention in hours (DescribeStreamSummary), for the impact; absent when not known. */
  retentionPeriodHours?: number;
  /** The consumer's lag from CloudWatch when the proposal was made; absent when not read or not readable. */
  consumerLag?: ConsumerLag;
  /** The key's aliases, for people (`alias/orders`). */
  keyAliases: string[];
  /**
   * The principal's tags as read when the proposal was made (PrincipalState.tags), for what the
   * notifications say: `aws:cloudformation:stack-name` marks a principal CloudFormation manages.
   */
  principalTags?: Record<string, string>;
  diagnosis: Diagnosis | null;
  plan: Plan | null;
  /** planHash(plan); null for refusals. */
  planHash: string | null;
  proof: Proof | null;
  attempts?: RejectedAttempt[];
  /** For a refusal: what a person can do instead (next-steps.ts). */
  nextSteps?: NextStep[];
  /** How many denials of this problem were seen, and when the first and last were recorded. */
  count: number;
  firstSeen: string;
  lastSeen: string;
  createdAt: string;
  updatedAt: string;
  /** When the approval links stop working (ISO time). */
  expiresAt: string;
  /** DynamoDB TTL, epoch seconds: when the item may be deleted. */
  ttl: number;
  applied?: AppliedChange;
  appliedAt?: string;
  /** Set when a "still failing" notice was sent, so it is sent once. */
  stillFailingNotifiedAt?: string;
  audit: AuditEntry[];
}

/** A consumer's lag as CloudWatch reported it. */
export interface ConsumerLag {
  /** The greatest iterator age in the period read, in milliseconds. */
  milliseconds: number;
  /** Which metric: `GetRecords.IteratorAgeMilliseconds` of the stream, or `IteratorAge` of a function. */
  metric: string;
  /** The end of the period read (ISO). */
  at: string;
}

/** The events people are told about. Repeats of a live problem are never one of them. */
export type NotificationKind =
  | 'proposed'
  | 'refused'
  | 'auto-applied'
  | 'approved-applied'
  | 'rejected'
  | 'failed'
  | 'revoked'
  | 'expired'
  | 'still-failing';
