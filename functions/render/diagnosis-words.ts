/** The diagnosis in plain words: the decision and what each blocking policy layer means. */
import type { Diagnosis } from '../core/diagnose';

type Decision = Diagnosis['current'];
type Layer = Diagnosis['blockingLayers'][number];

/** Each decision in words (a `Record`, so a new decision fails to compile until it has words). */
const DECISION_WORDS: Readonly<Record<Decision, string>> = {
  allowed: 'allowed',
  'implicit-deny': 'denied (no policy allows it)',
  'explicit-deny': 'denied by an explicit Deny',
};

/** What each blocking policy layer means: it lacks an allow (`missing`), or it denies (`explicit`). */
const LAYER_WORDS: Readonly<Record<Layer, { missing: string; explicit: string }>> = {
  'identity-based': {
    missing:
      "no IAM policy of the principal (identity-based policy) allows it, and neither the key policy nor a grant allows it on the principal's behalf",
    explicit: 'an IAM policy of the principal (identity-based policy) denies it explicitly',
  },
  'resource-based': {
    missing:
      "the key policy does not allow it (neither for the principal nor by delegating to the account's IAM policies)",
    explicit: 'the key policy denies it explicitly',
  },
  grant: {
    missing: 'no KMS grant on the key allows it',
    explicit: 'a KMS grant is involved in the decision',
  },
  'permissions-boundary': {
    missing: "the principal's permissions boundary does not allow it",
    explicit: "the principal's permissions boundary denies it explicitly",
  },
  session: {
    missing: "the role session's session policy does not allow it",
    explicit: "the role session's session policy denies it explicitly",
  },
  'service-control': {
    missing: 'an AWS Organizations service control policy (SCP) does not allow it',
    explicit: 'an AWS Organizations service control policy (SCP) denies it explicitly',
  },
  'resource-control': {
    missing: 'an AWS Organizations resource control policy (RCP) does not allow it',
    explicit: 'an AWS Organizations resource control policy (RCP) denies it explicitly',
  },
};

/** A decision in words. */
export function decisionWords(decision: Decision): string {
  return DECISION_WORDS[decision];
}

/** What a blocking policy layer means, in plain words: it lacks an allow, or (`explicit`) it denies. */
export function layerWords(layer: Layer, explicit = false): string {
  const words = LAYER_WORDS[layer];
  return explicit ? words.explicit : words.missing;
}

/** The diagnosis in plain words, one sentence per blocking layer. */
export function diagnosisWords(diagnosis: Diagnosis): string[] {
  if (diagnosis.current === 'allowed') return ['The request is allowed by the current policies.'];
  const how = diagnosis.current === 'explicit-deny' ? 'It is denied by an explicit Deny' : 'It is denied';
  if (diagnosis.blockingLayers.length === 0) return [`${how}.`];
  const explicit = diagnosis.current === 'explicit-deny';
  return diagnosis.blockingLayers.map(
    (layer, i) => `${i === 0 ? `${how}: ` : 'Also: '}${layerWords(layer, explicit)}.`,
  );
}
