/**
 * Who decided: the audit entry of a proposal's approve, reject or revoke, in words for people. With
 * sign-in on, the signed-in approver (e-mail and OpenID Connect subject); without it, only where the
 * click came from (source IP and browser), since whoever held the link could press the button. Pure.
 */
import type { AuditEntry, NotificationKind, Proposal } from '../core/proposal';

/** The decision a notification kind reports, and the audit outcome that records it. */
const DECISIONS: Partial<Record<NotificationKind, { action: string; outcome: string; verb: string }>> = {
  'approved-applied': { action: 'approve', outcome: 'accepted', verb: 'Approved' },
  rejected: { action: 'reject', outcome: 'rejected', verb: 'Rejected' },
  revoked: { action: 'revoke', outcome: 'revoked', verb: 'Revoked' },
};

export interface Decision {
  /** `Approved`, `Rejected`, `Revoked`. */
  verb: string;
  entry: AuditEntry;
}

/** The latest audit entry recording the decision `kind` reports; null for other kinds or none. */
export function decisionOf(kind: NotificationKind, proposal: Pick<Proposal, 'audit'>): Decision | null {
  const wanted = DECISIONS[kind];
  if (!wanted) return null;
  const entry = proposal.audit.findLast((e) => e.action === wanted.action && e.outcome === wanted.outcome);
  return entry ? { verb: wanted.verb, entry } : null;
}

/**
 * Who acted, in one line (unescaped: each renderer escapes): `alice@example.com (signed in, subject
 * 248289761001)`, or `someone holding the link, from 203.0.113.9 with "Mozilla/5.0 ..." (no sign-in)`;
 * `keymend` or `cli` for the others.
 */
export function actorWords(entry: AuditEntry): string {
  if (entry.approverSubject) {
    const who = entry.approverEmail || '(no e-mail address)';
    return `${who} (signed in, subject ${entry.approverSubject})`;
  }
  if (entry.actor === 'approval-link') {
    const from = entry.sourceIp ? `from ${entry.sourceIp}` : 'from an unknown address';
    const agent = entry.userAgent ? ` with "${entry.userAgent}"` : '';
    return `someone holding the link, ${from}${agent} (no sign-in)`;
  }
  return entry.actor;
}
