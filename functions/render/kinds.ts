/**
 * What each notification kind is called and says first, shared by the e-mail and chat renderers.
 */
import type { NotificationKind } from '../core/proposal';

export interface KindText {
  /** The few words a subject or title starts with. */
  label: string;
  /** The first sentence of the message: what happened, in words a person on call reads first. */
  headline: string;
  /** Whether the fix was written to the account (and is live, unless revoked). */
  applied: boolean;
}

/** Every kind, in the order a problem's life may go through them. */
export const NOTIFICATION_KINDS: readonly NotificationKind[] = [
  'proposed',
  'refused',
  'auto-applied',
  'approved-applied',
  'rejected',
  'failed',
  'revoked',
  'expired',
  'still-failing',
];

/** The words of each kind. */
export function kindText(kind: NotificationKind): KindText {
  switch (kind) {
    case 'proposed':
      return {
        label: 'Proposed fix',
        headline:
          'keymend found a KMS permission denial and proposes a least-privilege fix. Nothing has been changed: the fix is applied only if someone approves it.',
        applied: false,
      };
    case 'refused':
      return {
        label: 'Refused',
        headline:
          'keymend found a KMS permission denial and will not propose a fix for it. Nothing has been changed; the reason is below.',
        applied: false,
      };
    case 'auto-applied':
      return {
        label: 'Fix applied',
        headline:
          'keymend applied a least-privilege fix automatically (auto mode). The review link below shows it; with sign-in on, an approver can revoke it there.',
        applied: true,
      };
    case 'approved-applied':
      return {
        label: 'Approved, applied',
        headline:
          'The proposed fix was approved and keymend applied it. You can revoke it with the link below.',
        applied: true,
      };
    case 'rejected':
      return {
        label: 'Rejected',
        headline:
          'The proposed fix was rejected. Nothing was changed, and keymend stays quiet about this problem for a while.',
        applied: false,
      };
    case 'failed':
      return {
        label: 'Fix failed',
        headline: 'keymend could not apply the fix. The account is as it was before, or as described below.',
        applied: false,
      };
    case 'revoked':
      return {
        label: 'Fix revoked',
        headline: 'The fix keymend applied was revoked: keymend undid exactly what it had written.',
        applied: false,
      };
    case 'expired':
      return {
        label: 'Expired',
        headline:
          'The proposed fix expired without being approved. Nothing was changed. If the denials go on, keymend proposes again.',
        applied: false,
      };
    case 'still-failing':
      return {
        label: 'Still failing',
        headline:
          'Denials of this request go on more than 10 minutes after keymend applied the fix: the fix did not solve the problem, or another policy blocks it too.',
        applied: true,
      };
    default: {
      const unreachable: never = kind;
      throw new Error(`unknown notification kind ${String(unreachable)}`);
    }
  }
}

/**
 * The headline of an approved fix whose message carries no revoke link (applied by `keymend apply`,
 * which signs no links, or when the link could not be signed): how it is undone instead.
 */
export function approvedWithoutRevokeLink(proposalId: string): string {
  const command = proposalId.startsWith('-')
    ? `keymend revoke --aws -- ${proposalId}`
    : `keymend revoke ${proposalId} --aws`;
  return `The proposed fix was approved and keymend applied it. This message carries no revoke link: '${command}' undoes it, or the commands under BY HAND.`;
}
