/**
 * Proposals built from the samples in events/: an event run through the intake, the state gathered
 * from an account snapshot (events/accounts/), diagnosed, and stored as the remediate flow would store
 * it, with fixed ids and times so renderings are stable.
 */
import { SnapshotReader } from '../../functions/adapters/snapshot';
import { CLOUDFORMATION_STACK_TAG } from '../../functions/commons/constants';
import { diagnose } from '../../functions/core/diagnose';
import { gatherState } from '../../functions/core/gather';
import { intake } from '../../functions/core/intake';
import type { Mechanism } from '../../functions/core/plan';
import type { ProposalLinks } from '../../functions/core/ports';
import type { AuditEntry, NotificationKind, Proposal } from '../../functions/core/proposal';
import { loadEvent } from './events';
import { loadAccount, proposalOf } from './proposals';

/** The fixed clock of the samples: the denial, then the proposal a minute later. */
export const SAMPLE_TIMES = {
  firstSeen: '2025-06-01T12:05:31Z',
  lastSeen: '2025-06-01T13:40:02Z',
  lastDenialAt: '2025-06-01T13:39:48.000Z',
  createdAt: '2025-06-01T12:06:00Z',
  updatedAt: '2025-06-01T14:00:00Z',
  expiresAt: '2025-06-04T12:06:00Z',
} as const;

export interface SampleOptions {
  /** The proposal's id (fixed, URL-safe). */
  id: string;
  prefer?: Mechanism;
  /** Changes to the event before the intake reads it (the record itself, inside any envelope). */
  editRecord?: (record: Record<string, unknown>) => void;
}

/** The proposal keymend stores for the event `eventFile` diagnosed against `events/accounts/ACCOUNT.json`. */
export async function sampleProposal(
  eventFile: string,
  account: string,
  options: SampleOptions,
): Promise<Proposal> {
  const event = loadEvent(eventFile);
  const record = (event.detail as Record<string, unknown> | undefined) ?? event;
  options.editRecord?.(record);
  const intook = intake(event);
  if (!intook.match) throw new Error(`${eventFile}: no match (${intook.reason}: ${intook.detail})`);
  const request = intook.request;
  const state = await gatherState(new SnapshotReader(loadAccount(`${account}.json`)), request);
  const result = diagnose(request, state, options.prefer ? { prefer: options.prefer } : {});
  if (result.verdict === 'ignore') throw new Error(`${eventFile} on ${account}: ignored (${result.reason})`);
  const { expiresAt, lastDenialAt: _last, ...times } = SAMPLE_TIMES;
  const proposal = proposalOf(request, result, {
    id: options.id,
    keyArn: result.request.keyArn ?? request.keyArn ?? '',
    keyAliases: state.key?.aliases ?? [],
    principalTags: state.principal?.tags,
    accountAlias: state.accountAlias ?? undefined,
    retentionPeriodHours: state.stream?.retentionPeriodHours,
    count: 42,
    times,
    expiresAt,
    ttl: Date.parse(expiresAt) / 1000 + 30 * 86_400,
    audit: [
      {
        at: SAMPLE_TIMES.createdAt,
        actor: 'keymend',
        action: result.verdict === 'propose' ? 'propose' : 'refuse',
        outcome: 'ok',
      },
    ],
  });
  // The 42 denials, as the store keeps them: the latest CloudTrail eventTime (recorded a little before
  // keymend processed it) and the distinct sessions (a consumer fleet of three).
  return { ...proposal, lastDenialAt: SAMPLE_TIMES.lastDenialAt, sessions: 3 };
}

/** The approval links of a proposal as the approval function would sign them (fixed tokens). */
export function sampleLinks(
  proposal: Proposal,
  which: Array<'approve' | 'reject' | 'revoke'>,
): ProposalLinks {
  const base = `https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws/p/${proposal.id}`;
  const links: ProposalLinks = { review: `${base}?t=review.TOKEN`, expiresAt: proposal.expiresAt };
  for (const action of which) links[action] = `${base}/${action}?t=${action}.TOKEN`;
  return links;
}

/** One sample proposal for a notification kind, with the links that kind offers. */
export interface KindSample {
  proposal: Proposal;
  links: ProposalLinks | null;
}

const LATER = '2025-06-01T14:00:00Z';

function audit(
  actor: string,
  action: string,
  outcome: string,
  detail?: string,
  extra: Partial<AuditEntry> = {},
) {
  return { at: LATER, actor, action, outcome, ...(detail ? { detail } : {}), ...extra };
}

/** A signed-in approver, as the approval function records one (sign-in on). */
const SIGNED_IN: Partial<AuditEntry> = {
  sourceIp: '203.0.113.9',
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
  approverSubject: '00u1a2b3c4d5e6f7g8h9',
  approverEmail: 'alice@example.com',
};
/** A click on a link with sign-in off: only where it came from is known. */
const LINK_ONLY: Partial<AuditEntry> = { sourceIp: '198.51.100.7', userAgent: 'Mozilla/5.0 (Macintosh)' };

/**
 * A sample of every notification kind, each from a different event and account of events/, in the state
 * the flows leave it in when they notify.
 */
export async function kindSamples(): Promise<Record<NotificationKind, KindSample>> {
  const proposed = await sampleProposal('consumer-decrypt-denied-service-role.eventbridge.json', 'demo', {
    id: 'pr0p0sed-Aq3xZ9kLm2',
  });

  const refused = await sampleProposal(
    'consumer-decrypt-denied-explicit-identity.record.json',
    'explicit-deny',
    {
      id: 'refused-Bc7yW1nPq4',
    },
  );

  const auto = await sampleProposal('producer-generatedatakey-denied.record.json', 'demo', {
    id: 'autoapplied-Kd8eR2',
  });
  Object.assign(auto, {
    status: 'applied',
    appliedAt: LATER,
    applied: {
      mechanism: 'kms-grant',
      keyArn: auto.scope.keyArn,
      grantId: '0c237476b39f8bc44e45212e08498fbe3151305030726c0590dd8d3e9f3d6a68',
      grantName: auto.plan?.mechanism === 'kms-grant' ? auto.plan.name : '',
    },
  });
  auto.audit.push(audit('keymend', 'auto-apply', 'applied'));

  const approved = await sampleProposal('flink-decrypt-denied.record.json', 'demo', {
    id: 'approved-Mn4tY6uV8w',
    prefer: 'iam-inline-policy',
  });
  approved.principalTags = { ...approved.principalTags, [CLOUDFORMATION_STACK_TAG]: 'orders-analytics' };
  Object.assign(approved, {
    status: 'applied',
    appliedAt: LATER,
    applied: {
      mechanism: 'iam-inline-policy',
      principalArn: approved.scope.principalArn,
      policyName: approved.plan?.mechanism === 'iam-inline-policy' ? approved.plan.policyName : '',
    },
  });
  approved.audit.push(
    audit('approval-link', 'approve', 'accepted', undefined, SIGNED_IN),
    audit('approval-link', 'apply', 'applied', undefined, SIGNED_IN),
  );

  const rejected = await sampleProposal('iam-user-decrypt-denied.record.json', 'demo', {
    id: 'rejected-Pq2wE5rT7y',
  });
  rejected.status = 'rejected';
  rejected.audit.push(
    audit('approval-link', 'reject', 'rejected', 'suppressed for 168 hours', {
      ...LINK_ONLY,
      reason: 'This user is being retired next week; no new access.',
    }),
  );

  const failed = await sampleProposal(
    'consumer-decrypt-denied-service-role.eventbridge.json',
    'no-iam-delegation',
    {
      id: 'failed-Rs9uI3oP1a',
      prefer: 'key-policy-statement',
    },
  );
  failed.status = 'failed';
  failed.reason =
    'The key policy changed since the plan was made: keymend did not write it. Review the new policy.';
  failed.audit.push(audit('approval-link', 'approve', 'failed', 'key policy changed since the plan'));

  const revoked = await sampleProposal('lambda-esm-decrypt-denied.eventbridge.json', 'demo', {
    id: 'revoked-Tu1iO4pA6s',
  });
  Object.assign(revoked, {
    status: 'revoked',
    appliedAt: LATER,
    applied: {
      mechanism: 'kms-grant',
      keyArn: revoked.scope.keyArn,
      grantId: '9a1f0c2d3e4b5a6978877665544332211ffeeddccbbaa0099887766554433221',
      grantName: revoked.plan?.mechanism === 'kms-grant' ? revoked.plan.name : '',
    },
  });
  revoked.audit.push(
    audit('keymend', 'auto-apply', 'applied'),
    audit('approval-link', 'revoke', 'revoked', undefined, SIGNED_IN),
  );

  const expired = await sampleProposal('cross-account-decrypt-denied.eventbridge.json', 'cross-account', {
    id: 'expired-Vw3sD7fG9h',
  });
  expired.status = 'expired';
  expired.audit.push(audit('keymend', 'expire', 'expired'));

  const still = await sampleProposal('consumer-decrypt-denied-service-role.eventbridge.json', 'demo', {
    id: 'stillfailing-Xy5hJ8',
  });
  Object.assign(still, {
    status: 'applied',
    appliedAt: '2025-06-01T12:10:00Z',
    stillFailingNotifiedAt: LATER,
    applied: {
      mechanism: 'kms-grant',
      keyArn: still.scope.keyArn,
      grantId: '5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071829304',
      grantName: still.plan?.mechanism === 'kms-grant' ? still.plan.name : '',
    },
  });
  still.audit.push(audit('approval-link', 'approve', 'applied'));

  return {
    proposed: { proposal: proposed, links: sampleLinks(proposed, ['approve', 'reject']) },
    refused: { proposal: refused, links: null },
    // The remediate function cannot sign a revoke link (issue 19): an automatic fix's notification has
    // the review link only.
    'auto-applied': { proposal: auto, links: sampleLinks(auto, []) },
    'approved-applied': { proposal: approved, links: sampleLinks(approved, ['revoke']) },
    rejected: { proposal: rejected, links: null },
    failed: { proposal: failed, links: null },
    revoked: { proposal: revoked, links: null },
    expired: { proposal: expired, links: null },
    'still-failing': { proposal: still, links: sampleLinks(still, ['revoke']) },
  };
}
