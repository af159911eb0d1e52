/**
 * AWS's message names one policy layer; keymend's evaluation finds the layers that block. When the
 * named layer is not among them, keymend's picture of the account is incomplete or stale (a policy it
 * cannot see, or one changed since the event), and a person must know before trusting the diagnosis.
 * Pure.
 */
import type { Decision, PolicyLayer } from '../policy';
import type { DeniedBy } from './request';

/** A remark on a diagnosis that does not change its verdict but bears on trusting it. */
export interface DiagnosisNote {
  code: 'layer-disagreement';
  message: string;
}

/**
 * The note when AWS's message names a layer that keymend does not find blocking, else null. Nothing is
 * said when AWS names no layer, names a VPC endpoint policy (keymend has none to compare), or keymend
 * finds the request allowed (then it was fixed after the event, which diagnose reports itself).
 */
export function layerDisagreement(
  named: DeniedBy,
  decision: Decision,
  blockingLayers: readonly PolicyLayer[],
): DiagnosisNote | null {
  const layer = named.policyType;
  if (layer === null || layer === 'vpc-endpoint' || decision === 'allowed') return null;
  if (blockingLayers.includes(layer)) return null;
  const found = blockingLayers.length > 0 ? blockingLayers.join(' and ') : 'no blocking layer';
  return {
    code: 'layer-disagreement',
    message: `AWS named the ${layer} policy as denying, but keymend finds ${found} blocking: keymend's picture of the account is incomplete or stale (a policy it cannot see, or one changed since the event).`,
  };
}
