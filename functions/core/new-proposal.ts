/**
 * Building a new proposal from a diagnosis: its unguessable id, its status, its expiry and TTL. Pure
 * apart from the random id (node:crypto); the time comes in.
 */
import { randomBytes } from 'node:crypto';
import { denialSeen } from './denials-seen';
import type { DiagnoseResult, ResolvedState } from './diagnose';
import { linkExpiry } from './links';
import {
  type AuditEntry,
  type ConsumerLag,
  type FingerprintFields,
  fingerprintOf,
  PROPOSAL_RETENTION_DAYS,
  type Proposal,
  planHash,
} from './proposal';
import type { KinesisKmsRequest } from './request';

export { PROPOSAL_RETENTION_DAYS };

/**
 * A new proposal id: 18 random bytes, base64url (24 characters, URL-safe, unguessable), drawn again
 * when it would start with `-`: a command line (`keymend revoke ID`) would read that as an option.
 */
export function newProposalId(): string {
  for (;;) {
    const id = randomBytes(18).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * The fingerprint fields of a denial, from the record alone (no account read, so a repeat costs none):
 * the key ARN when the record gives one, else the key id or alias it names, else ''; the stream ARN
 * from the encryption context, else ''. A problem whose records name its key two ways can therefore
 * have two fingerprints (and two proposals); one denial never has two.
 */
export function fingerprintFieldsOf(request: KinesisKmsRequest): FingerprintFields {
  return {
    accountId: request.accountId,
    region: request.region,
    principalArn: request.principalArn,
    operation: request.operation,
    keyArn: request.keyArn ?? request.keyReference ?? '',
    streamArn: request.streamArn ?? '',
  };
}

export type ProposableResult = Extract<DiagnoseResult, { verdict: 'propose' | 'refuse' }>;

/** What a new proposal keeps of the account as read: key aliases, principal tags, retention, account aliases. */
export function accountFacts(
  state: ResolvedState,
): Pick<
  Parameters<typeof newProposal>[0],
  'keyAliases' | 'principalTags' | 'retentionPeriodHours' | 'accountAlias' | 'keyAccountAlias'
> {
  return {
    keyAliases: state.key?.aliases ?? [],
    principalTags: state.principal?.tags,
    retentionPeriodHours: state.stream?.retentionPeriodHours,
    accountAlias: state.accountAlias ?? undefined,
    keyAccountAlias: state.keyAccountAlias,
  };
}

/**
 * A new proposal for a diagnosis: `pending` with its plan, or `refused` with the reason.
 * `override` turns a proposable result into a refusal (a mechanism that is not enabled, say).
 */
export function newProposal(args: {
  id: string;
  request: KinesisKmsRequest;
  result: ProposableResult;
  keyAliases: string[];
  /** The principal's tags as read (notifications say when CloudFormation manages it). */
  principalTags?: Record<string, string> | undefined;
  /** The stream's retention in hours, as read (for the impact). */
  retentionPeriodHours?: number | undefined;
  /** The account's alias, as read (for subjects). */
  accountAlias?: string | undefined;
  /** The key owner's alias, when another account's (for people). */
  keyAccountAlias?: string | null | undefined;
  /** The notification route that applies (core/routing.ts), when one does. */
  notificationRoute?: string | null | undefined;
  /** The consumer's lag from CloudWatch, when read (for the impact). */
  consumerLag?: ConsumerLag | null | undefined;
  /** The IteratorAge of the Lambda function the session may belong to, when CloudWatch had it. */
  functionLag?: ConsumerLag | null | undefined;
  now: Date;
  linkTtlHours: number;
  audit: AuditEntry;
  refuseInstead?: { reason: string };
}): Proposal {
  const { result, now } = args;
  const scope = fingerprintFieldsOf(args.request);
  const expiresAt = linkExpiry(now, args.linkTtlHours);
  const at = now.toISOString();
  const refused = result.verdict === 'refuse' || args.refuseInstead !== undefined;
  const plan = refused ? null : result.plan;
  const seen = denialSeen(args.request);
  return {
    id: args.id,
    fingerprint: fingerprintOf(scope),
    scope,
    status: refused ? 'refused' : 'pending',
    verdict: refused ? 'refuse' : 'propose',
    code: result.verdict === 'refuse' ? result.code : refused ? 'no-sufficient-fix' : 'propose',
    reason: args.refuseInstead?.reason ?? result.reason,
    request: args.request,
    keyAliases: args.keyAliases,
    ...(args.principalTags ? { principalTags: args.principalTags } : {}),
    ...(args.accountAlias ? { accountAlias: args.accountAlias } : {}),
    ...(args.keyAccountAlias ? { keyAccountAlias: args.keyAccountAlias } : {}),
    ...(args.notificationRoute ? { notificationRoute: args.notificationRoute } : {}),
    ...(args.retentionPeriodHours ? { retentionPeriodHours: args.retentionPeriodHours } : {}),
    ...(args.consumerLag ? { consumerLag: args.consumerLag } : {}),
    ...(args.functionLag ? { functionLag: args.functionLag } : {}),
    diagnosis: result.diagnosis,
    plan,
    planHash: plan ? planHash(plan) : null,
    proof: refused ? null : result.proof,
    ...(result.attempts ? { attempts: result.attempts } : {}),
    ...(result.verdict === 'refuse' ? { nextSteps: result.nextSteps } : {}),
    count: 1,
    firstSeen: at,
    lastSeen: at,
    ...(seen ? { firstDenialAt: seen.firstAt, lastDenialAt: seen.lastAt, sessions: 1 } : {}),
    createdAt: at,
    updatedAt: at,
    expiresAt: expiresAt.toISOString(),
    ttl: Math.floor(expiresAt.getTime() / 1000) + PROPOSAL_RETENTION_DAYS * 86_400,
    audit: [args.audit],
  };
}
