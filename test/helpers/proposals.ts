import path from 'node:path';
import { SnapshotReader } from '../../functions/adapters/snapshot';
import type { AccountSnapshot } from '../../functions/core/account';
import { denialSeen } from '../../functions/core/denials-seen';
import type { DiagnoseResult } from '../../functions/core/diagnose';
import { diagnose } from '../../functions/core/diagnose';
import { gatherState } from '../../functions/core/gather';
import { intake } from '../../functions/core/intake';
import type { Mechanism } from '../../functions/core/plan';
import { type AuditEntry, fingerprintOf, type Proposal, planHash } from '../../functions/core/proposal';
import type { KinesisKmsRequest } from '../../functions/core/request';
import { loadSnapshot } from './accounts';
import { loadEvent } from './events';

/** events/accounts/NAME, validated; a fresh copy each call. */
export function loadAccount(name = 'demo.json'): AccountSnapshot {
  return loadSnapshot(path.basename(name, '.json'));
}

/** The request of a sample event (events/NAME) that the intake matches. */
export function sampleRequest(
  event = 'consumer-decrypt-denied-service-role.eventbridge.json',
): KinesisKmsRequest {
  const result = intake(loadEvent(event));
  if (!result.match) throw new Error(`${event} does not match: ${result.detail}`);
  return result.request;
}

export interface ProposalOptions {
  id?: string;
  event?: string;
  account?: string;
  prefer?: Mechanism;
  now?: Date;
}

/** A `pending` proposal (or `refused`, when the diagnosis refuses) for a sample denial. */
export async function sampleProposal(options: ProposalOptions = {}): Promise<Proposal> {
  const request = sampleRequest(options.event);
  const reader = new SnapshotReader(loadAccount(options.account));
  const state = await gatherState(reader, request);
  const result = diagnose(request, state, options.prefer ? { prefer: options.prefer } : {});
  if (result.verdict === 'ignore') throw new Error(`the sample is ignored: ${result.reason}`);
  const now = options.now ?? new Date('2026-12-03T09:00:00.000Z');
  const at = now.toISOString();
  return proposalOf(request, result, {
    id: options.id ?? 'p-sample',
    keyArn: state.key?.arn ?? request.keyArn ?? '',
    keyAliases: state.key?.aliases ? [...state.key.aliases] : [],
    count: 1,
    times: { firstSeen: at, lastSeen: at, createdAt: at, updatedAt: at },
    expiresAt: new Date(now.getTime() + 72 * 3600_000).toISOString(),
    ttl: Math.floor(now.getTime() / 1000) + 30 * 86_400,
    audit: [{ at, actor: 'keymend', action: 'propose', outcome: 'pending' }],
  });
}

/** What a sample helper chooses for its proposal; the rest comes from the diagnosis. */
export interface SampleFields {
  id: string;
  keyArn: string;
  keyAliases: Proposal['keyAliases'];
  principalTags?: Proposal['principalTags'] | undefined;
  accountAlias?: string | undefined;
  retentionPeriodHours?: number | undefined;
  count: number;
  times: Pick<Proposal, 'firstSeen' | 'lastSeen' | 'createdAt' | 'updatedAt'>;
  expiresAt: string;
  ttl: number;
  audit: AuditEntry[];
}

/** The proposal for a diagnosed sample denial, as the remediate flow stores one (`pending` or `refused`). */
export function proposalOf(
  request: KinesisKmsRequest,
  result: Exclude<DiagnoseResult, { verdict: 'ignore' }>,
  fields: SampleFields,
): Proposal {
  const scope = {
    accountId: request.accountId,
    region: request.region,
    principalArn: request.principalArn,
    operation: request.operation,
    keyArn: fields.keyArn,
    streamArn: request.streamArn ?? '',
  };
  return {
    id: fields.id,
    fingerprint: fingerprintOf(scope),
    scope,
    status: result.verdict === 'propose' ? 'pending' : 'refused',
    verdict: result.verdict,
    code: result.verdict === 'propose' ? 'propose' : result.code,
    reason: result.reason,
    request,
    keyAliases: fields.keyAliases,
    ...(fields.principalTags ? { principalTags: { ...fields.principalTags } } : {}),
    ...(fields.accountAlias ? { accountAlias: fields.accountAlias } : {}),
    ...(fields.retentionPeriodHours ? { retentionPeriodHours: fields.retentionPeriodHours } : {}),
    diagnosis: result.diagnosis,
    plan: result.plan,
    planHash: result.plan ? planHash(result.plan) : null,
    proof: result.proof,
    ...(result.attempts ? { attempts: result.attempts } : {}),
    ...(result.verdict === 'refuse' ? { nextSteps: result.nextSteps } : {}),
    count: fields.count,
    ...fields.times,
    // As newProposal: the first denial's CloudTrail eventTime and session.
    ...denialFields(request),
    expiresAt: fields.expiresAt,
    ttl: fields.ttl,
    audit: fields.audit,
  };
}

/** The denial times and sessions newProposal gives a new proposal. */
function denialFields(
  request: KinesisKmsRequest,
): Pick<Proposal, 'firstDenialAt' | 'lastDenialAt' | 'sessions'> {
  const seen = denialSeen(request);
  return seen ? { firstDenialAt: seen.firstAt, lastDenialAt: seen.lastAt, sessions: 1 } : {};
}
