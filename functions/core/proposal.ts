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

/**
 * What a link for `action` is bound to: the plan hash for approve and reject; for revoke, a hash of the
 * plan hash and the applied change as recorded (grant id, policy name, the previous key policy to
 * restore). The approval function signs revoke links right after it applies, with a key the remediate
 * function cannot use: a record changed since (a forged grant id, a different "previous" key policy)
 * no longer matches its link, and nothing is undone.
 */
export function boundHash(proposal: Pick<Proposal, 'planHash' | 'applied'>, action: string): string {
  if (action !== 'revoke') return proposal.planHash ?? '';
  return createHash('sha256')
    .update(canonicalJson({ planHash: proposal.planHash ?? '', applied: proposal.applied ?? null }))
    .digest('hex');
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
  /** The signed-in approver (OpenID Connect `sub` and e-mail), when sign-in is on. */
  approverSubject?: string;
  approverEmail?: string;
  /** The reason a person gave (a reject's optional reason). */
  reason?: string;
}

/** Who acted through an approval link, for the audit trail: the signed-in approver, else IP and browser. */
export type ActorContext = Pick<AuditEntry, 'sourceIp' | 'userAgent' | 'approverSubject' | 'approverEmail'>;

/** What keymend wrote, with what it needs to undo exactly that. */
export type AppliedChange = SingleAppliedChange | CrossAccountAppliedChange;

/** Both halves of a cross-account fix as written: the key side in the key's account, then the caller side. */
export interface CrossAccountAppliedChange {
  mechanism: 'cross-account';
  keySide: Extract<SingleAppliedChange, { mechanism: 'key-policy-statement' }>;
  callerSide: Extract<SingleAppliedChange, { mechanism: 'iam-inline-policy' }>;
}

/** One write in one account. */
export type SingleAppliedChange =
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
  /** The alias of the key owner's account when it is another one keymend read; absent when not known. */
  keyAccountAlias?: string;
  /**
   * The notification route chosen when the proposal was made (an account id or an OU id of the routing
   * map, core/routing.ts): every message of the problem goes to its topic. Absent: the e-mail topic.
   */
  notificationRoute?: string;
  /** The stream's retention in hours (DescribeStreamSummary), for the impact; absent when not known. */
  retentionPeriodHours?: number;
  /** The consumer's lag from CloudWatch when the proposal was made; absent when not read or not readable. */
  consumerLag?: ConsumerLag;
  /**
   * The `IteratorAge` of the Lambda function the denied session is named after (a function's event
   * source mapping reads with its execution role), when CloudWatch has it; absent otherwise.
   */
  functionLag?: ConsumerLag;
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
  /** How many denials of this problem were seen, and when keymend processed the first and the last. */
  count: number;
  firstSeen: string;
  lastSeen: string;
  /** The earliest and latest CloudTrail eventTime of its denials (absent in proposals made before keymend kept them). */
  firstDenialAt?: string;
  lastDenialAt?: string;
  /** Distinct sessions denied (a lower bound from SESSION_CAP on: core/denials-seen.ts). */
  sessions?: number;
  createdAt: string;
  updatedAt: string;
  /** When the approval links stop working (ISO time). */
  expiresAt: string;
  /**
   * DynamoDB TTL, epoch seconds: when the item may be deleted. Absent while an applied change is
   * live (see `ttlChange`): the grant id, the previous key policy and the audit trail must outlive it.
   */
  ttl?: number;
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
  /** For `IteratorAge`: the function (the FunctionName dimension). */
  functionName?: string;
}

/**
 * How long a proposal's item is kept after its links expire, or after its change is revoked, for its
 * audit trail and its undo data.
 */
export const PROPOSAL_RETENTION_DAYS = 90;

/**
 * What a move into `to` at time `at` does to the item's TTL: applied, the TTL is removed (the change
 * is live in the account: its record must never expire under it); revoked, it is set again,
 * PROPOSAL_RETENTION_DAYS after the revoke; any other move keeps it.
 */
export function ttlChange(to: ProposalStatus, at: string): 'remove' | { set: number } | 'keep' {
  if (to === 'applied') return 'remove';
  if (to === 'revoked') return { set: Math.floor(Date.parse(at) / 1000) + PROPOSAL_RETENTION_DAYS * 86_400 };
  return 'keep';
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
