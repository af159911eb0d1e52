/**
 * `keymend evaluate` in words: the warnings that catch a typo before its confident implicit deny is
 * believed, and the decision explained in a sentence.
 */
import {
  parseAliasArn,
  parseArn,
  parseAssumedRoleArn,
  parseKeyArn,
  parsePrincipalArn,
  parseStreamArn,
} from '../functions/commons/arn';
import { nearest } from '../functions/commons/nearest';
import type { AccountSnapshot, KeyState, PrincipalState, StreamState } from '../functions/core/account';
import type { Uncertainty } from '../functions/core/uncertainty';
import type { DecidedBy, Decision } from '../functions/policy/types';
import { printable, wrap } from './text';

/**
 * Every KMS action (the Service Authorization Reference's list for AWS Key Management Service), to
 * tell a KMS action from a typo of one.
 */
const KMS_ACTIONS = [
  'CancelKeyDeletion',
  'ConnectCustomKeyStore',
  'CreateAlias',
  'CreateCustomKeyStore',
  'CreateGrant',
  'CreateKey',
  'Decapsulate',
  'Decrypt',
  'DeleteAlias',
  'DeleteCustomKeyStore',
  'DeleteImportedKeyMaterial',
  'DeriveSharedSecret',
  'DescribeCustomKeyStores',
  'DescribeKey',
  'DisableKey',
  'DisableKeyRotation',
  'DisconnectCustomKeyStore',
  'EnableKey',
  'EnableKeyRotation',
  'Encapsulate',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateMac',
  'GenerateRandom',
  'GetKeyPolicy',
  'GetKeyRotationStatus',
  'GetParametersForImport',
  'GetPublicKey',
  'ImportKeyMaterial',
  'ListAliases',
  'ListGrants',
  'ListKeyPolicies',
  'ListKeyRotations',
  'ListKeys',
  'ListResourceTags',
  'ListRetirableGrants',
  'PutKeyPolicy',
  'ReEncryptFrom',
  'ReEncryptTo',
  'ReplicateKey',
  'RetireGrant',
  'RevokeGrant',
  'RotateKeyOnDemand',
  'ScheduleKeyDeletion',
  'Sign',
  'SynchronizeMultiRegionKey',
  'TagResource',
  'UntagResource',
  'UpdateAlias',
  'UpdateCustomKeyStore',
  'UpdateKeyDescription',
  'UpdatePrimaryRegion',
  'Verify',
  'VerifyMac',
] as const;

/** What evaluate was asked. */
export interface EvaluateQuestion {
  principal: string;
  action: string;
  resource: string;
  viaKinesis?: string;
}

/** What the account held of it (null: not found; undefined: not asked). */
export interface EvaluateFound {
  principal: PrincipalState | null;
  key: KeyState | null;
  stream?: StreamState | null;
}

/**
 * The warnings for a question that names something the account does not hold, or an action that is not
 * a KMS action, each with the nearest name when there is one. `snapshot` is null for a live account
 * (nothing to suggest from).
 */
export function evaluateWarnings(
  q: EvaluateQuestion,
  found: EvaluateFound,
  snapshot: AccountSnapshot | null,
  accountId: string,
): string[] {
  const where = snapshot ? 'the snapshot' : `account ${accountId}`;
  const warnings: string[] = [];
  const suggest = (near: string | null) => (near ? `; did you mean ${near}?` : '');

  if (found.principal === null) {
    const asked = principalName(q.principal);
    const near = nearestBy(asked, snapshot?.principals.map((p) => p.arn) ?? [], principalName);
    warnings.push(
      `principal ${q.principal} is not in ${where}, so it is evaluated with no identity policies${suggest(near)}`,
    );
  }

  const service = q.action.split(':')[0]?.toLowerCase();
  const name = q.action.slice(q.action.indexOf(':') + 1);
  if (service !== 'kms') {
    warnings.push(`${q.action} is not a KMS action: a key policy or grant does not bear on it`);
  } else if (!/[*?]/.test(name) && !KMS_ACTIONS.some((a) => a.toLowerCase() === name.toLowerCase())) {
    const near = nearestBy(name, KMS_ACTIONS, (a) => a, 4);
    warnings.push(`${q.action} is not a KMS action${suggest(near ? `kms:${near}` : null)}`);
  }

  const keyRef = parseKeyArn(q.resource) ?? parseAliasArn(q.resource);
  if (found.key === null && keyRef) {
    const candidates = (snapshot?.keys ?? []).flatMap((k) => {
      const arn = parseKeyArn(k.arn);
      return [
        k.arn,
        ...(k.aliases ?? []).map(
          (alias) => `arn:${arn?.partition}:kms:${arn?.region}:${arn?.accountId}:${alias}`,
        ),
      ];
    });
    const near = nearestBy(keyName(q.resource), candidates, keyName);
    warnings.push(
      `key ${q.resource} is not in ${where}, so no key policy or grant allows anything${suggest(near)}`,
    );
  }

  // A snapshot without `streams` says nothing of streams; one with them lists the account's.
  if (q.viaKinesis !== undefined && found.stream === null && (!snapshot || snapshot.streams !== undefined)) {
    const near = nearestBy(
      streamName(q.viaKinesis),
      (snapshot?.streams ?? []).map((s) => s.arn),
      streamName,
    );
    warnings.push(`stream ${q.viaKinesis} is not in ${where}${suggest(near)}`);
  }
  return warnings;
}

function principalName(arn: string): string {
  const session = parseAssumedRoleArn(arn);
  if (session) return session.roleName;
  return parsePrincipalArn(arn)?.name ?? parseArn(arn)?.resource ?? arn;
}

function keyName(arn: string): string {
  return parseKeyArn(arn)?.keyId ?? parseAliasArn(arn)?.aliasName ?? arn;
}

function streamName(arn: string): string {
  return parseStreamArn(arn)?.streamName ?? arn;
}

/**
 * The candidate whose name (by `nameOf`) is nearest `asked`: the same name but for case or path first,
 * else within `max` edits (and less than half the name), else none.
 */
function nearestBy<T extends string>(
  asked: string,
  candidates: readonly T[],
  nameOf: (candidate: T) => string,
  max = 3,
): T | null {
  return nearest(asked, candidates, Math.min(max, Math.ceil(asked.length / 2)), nameOf);
}

const LAYER_WORDS: Record<DecidedBy['policyType'], string> = {
  'identity-based': 'identity policy',
  'resource-based': 'key policy',
  grant: 'grant',
  'permissions-boundary': 'permissions boundary',
  session: 'session policy',
  'service-control': 'SCP',
  'resource-control': 'RCP',
};

function statementWords(d: DecidedBy): string {
  const policy =
    d.policyType === 'resource-based' ? 'the key policy' : `${LAYER_WORDS[d.policyType]} ${d.policy}`;
  return d.statement === '' ? policy : `${policy} (statement ${d.statement})`;
}

/** The decision in a sentence (wrapped for a terminal), then the uncertainty and the warnings. */
export function evaluateText(
  output: { decision: Decision; decidedBy: DecidedBy[]; uncertainty?: Uncertainty; warnings?: string[] },
  q: EvaluateQuestion,
): string[] {
  const call = `${q.principal} calling ${q.action} on ${q.resource}${q.viaKinesis ? ` through ${q.viaKinesis}` : ''}`;
  const list = (items: string[]) =>
    items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
  let sentence: string;
  switch (output.decision) {
    case 'allowed':
      sentence = `Allowed: ${call} is allowed by ${list(output.decidedBy.map(statementWords))}.`;
      break;
    case 'explicit-deny':
      sentence = `Explicitly denied: ${call} is denied by ${list(output.decidedBy.map(statementWords))}; no allow can override an explicit deny.`;
      break;
    case 'implicit-deny': {
      const layers = output.decidedBy.map((d) =>
        d.policyType === 'resource-based'
          ? 'the key policy'
          : `the ${LAYER_WORDS[d.policyType]}${d.policyType === 'identity-based' ? ` of ${d.policy}` : ''}`,
      );
      sentence = `Implicitly denied: ${call} is allowed by no statement of ${list(layers)}, so it is denied (no explicit deny).`;
      break;
    }
    default: {
      const never: never = output.decision;
      sentence = String(never);
    }
  }
  const lines = wrap(printable(sentence), 0);
  if (output.uncertainty) {
    const answers = output.uncertainty.answers.length;
    lines.push(
      ...wrap(
        printable(
          `Uncertain: the decision turns on ${list(output.uncertainty.keys)}, which keymend cannot know from here (${answers} possible answers; see the JSON output).`,
        ),
        0,
      ),
    );
  }
  for (const warning of output.warnings ?? []) lines.push(...wrap(printable(`Warning: ${warning}.`), 0));
  return lines;
}
