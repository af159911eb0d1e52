/**
 * Reads which policy type an AWS access-denied message blames ("... because no identity-based policy
 * allows ...", "... with an explicit deny in a service control policy: ARN"). Pure; the message is
 * untrusted and only its first MAX_MESSAGE_SCAN characters are read.
 */
import { ARN_IN_TEXT, parseArn } from '../commons/arn';
import type { DeniedBy, DeniedPolicyType } from './request';

/** Real messages are a few hundred characters; scanning more only costs time on hostile input. */
export const MAX_MESSAGE_SCAN = 4096;

const POLICY_TYPES: ReadonlyArray<readonly [RegExp, DeniedPolicyType]> = [
  [/^identity-based policy$/i, 'identity-based'],
  [/^resource-based policy$/i, 'resource-based'],
  [/^permissions boundary(?: policy)?$/i, 'permissions-boundary'],
  [/^session policy$/i, 'session'],
  [/^service control policy$/i, 'service-control'],
  [/^resource control policy$/i, 'resource-control'],
  [/^VPC endpoint policy$/i, 'vpc-endpoint'],
];
const POLICY_NAME =
  '(identity-based policy|resource-based policy|permissions boundary(?: policy)?|session policy|service control policy|resource control policy|VPC endpoint policy)';
const EXPLICIT_TYPED = new RegExp(
  `\\b(?:with|due to) an explicit deny in (?:an?|the) ${POLICY_NAME}(?::\\s*(${ARN_IN_TEXT}))?`,
  'i',
);
const EXPLICIT_UNTYPED = /\b(?:with|due to) an explicit deny\b/i;
const IMPLICIT = new RegExp(`\\bbecause no ${POLICY_NAME} allows\\b`, 'i');
/**
 * KMS's wording when it will not say which (seen for callers in another account than the key):
 * the key policy is to blame, but whether it lacks an allow, denies, or the key is elsewhere is
 * hidden. It names neither kind nor key ARN ("on this resource").
 */
const KMS_HIDDEN_RESOURCE_POLICY =
  /\bbecause the resource does not exist in this Region, no resource-based policies allow access, or a resource-based policy explicitly denies access\b/i;

function policyType(name: string): DeniedPolicyType | null {
  return POLICY_TYPES.find(([pattern]) => pattern.test(name))?.[1] ?? null;
}

/**
 * Reads which policy type an AWS access-denied message blames.
 *
 * Recognises `because no POLICY allows` (implicit) and `with an explicit deny in a(n) POLICY`
 * (explicit, with the newer `: POLICY_ARN` suffix kept as `policyArn` when it is a well-formed ARN).
 * KMS's `because the resource does not exist in this Region, no resource-based policies allow
 * access, or a resource-based policy explicitly denies access` blames the key policy without saying
 * how: `{ kind: 'unknown', policyType: 'resource-based' }`. Older messages with no such clause,
 * unknown wording, and non-strings give `{ kind: 'unknown', policyType: null }`. AWS names one
 * policy type even when several deny.
 */
export function parseDeniedBy(message: unknown): DeniedBy {
  if (typeof message !== 'string') return { kind: 'unknown', policyType: null };
  const text = message.slice(0, MAX_MESSAGE_SCAN);
  const explicit = EXPLICIT_TYPED.exec(text);
  if (explicit) {
    const deniedBy: DeniedBy = { kind: 'explicit', policyType: policyType(explicit[1] ?? '') };
    const policyArn = explicit[2]?.replace(/[.,;)]+$/, '');
    if (policyArn !== undefined && parseArn(policyArn) !== null) deniedBy.policyArn = policyArn;
    return deniedBy;
  }
  if (EXPLICIT_UNTYPED.test(text)) return { kind: 'explicit', policyType: null };
  const implicit = IMPLICIT.exec(text);
  if (implicit) return { kind: 'implicit', policyType: policyType(implicit[1] ?? '') };
  if (KMS_HIDDEN_RESOURCE_POLICY.test(text)) return { kind: 'unknown', policyType: 'resource-based' };
  return { kind: 'unknown', policyType: null };
}
