/**
 * Diagnose a denied Kinesis KMS call: decide whether to ignore it, refuse it (with the reason) or plan
 * the least-privilege fix, proven by proof.ts. Pure: the account state comes in already read (see
 * gather.ts), the decision goes out as data. The refusals are a ladder of small named checks, tried in
 * order: the first that refuses decides.
 */
import { KeymendError } from '../commons/errors';
import type { AuthorizationRequest, DecidedBy, Decision, EvaluationResult, PolicyLayer } from '../policy';
import type { KeyState, OrganizationState, PrincipalState, StreamState } from './account';
import { type DiagnosisNote, layerDisagreement } from './layer-note';
import { type NextStep, nextSteps } from './next-steps';
import {
  MECHANISMS,
  type Mechanism,
  type Plan,
  type PlanAttempt,
  planGrant,
  planInlinePolicy,
  planKeyPolicyStatement,
  scopeProblem,
} from './plan';
import {
  accountOf,
  type Evaluator,
  kmsRequest,
  type Proof,
  prove,
  type Subject,
  subjectEvaluator,
  subjectOf,
  unknownKeys,
} from './proof';
import type { DeniedBy, KinesisKmsRequest } from './request';
import { findUncertainty, type Uncertainty } from './uncertainty';

export { type Probe, type Proof, provePlan } from './proof';

/** The account state that bears on one denial, as read from a snapshot or a real account. */
export interface ResolvedState {
  /** The account keymend runs in (and may change). */
  accountId: string;
  principal: PrincipalState | null;
  key: KeyState | null;
  stream: StreamState | null;
  /** null when keymend cannot see the organization's policies. */
  organization: OrganizationState | null;
  /** The account's alias (iam:ListAccountAliases), for people; absent or null when not known. */
  accountAlias?: string | null;
  /** The key owner's alias, when it is another account keymend read; absent when not known. */
  keyAccountAlias?: string | null;
  /** The key exists but KMS denied keymend's read of it (`call`): its key policy does not admit keymend. */
  unreadableKey?: { key: string; call: string };
  /**
   * The accounts keymend may change for this denial: its own, and in an organization deployment (or
   * `keymend local` with several snapshots) the key owner's when it could read it. Absent: `accountId`.
   */
  writableAccounts?: string[];
  /** The key owner's organization state when it is another account keymend read (its RCPs apply to the key). */
  keyOrganization?: OrganizationState | null;
  /**
   * The organization keymend serves, and each account's organization id as read (null: none); an
   * account absent from `members` is not known to be in it. Absent: no boundary (one account).
   */
  organizationBoundary?: { id: string; members: Record<string, string | null> };
  /** Accounts keymend could not read at all (their member role could not be assumed). */
  unreachable?: string[];
}

/** Why keymend refused to propose a fix, for machines (the `reason` sentence is for people). */
export type RefusalCode =
  | 'wrong-account'
  | 'unsupported-principal'
  | 'unsupported-operation'
  | 'malformed-request'
  | 'principal-not-found'
  | 'no-stream'
  | 'key-not-found'
  | 'key-in-other-account'
  | 'key-unreadable'
  | 'aws-managed-key'
  | 'key-not-enabled'
  | 'stream-key-mismatch'
  | 'forged-context'
  | 'explicit-deny'
  | 'invisible-layer'
  | 'boundary-blocks'
  | 'organization-policy-blocks'
  | 'invalid-policy'
  | 'forward-access-session-uncertain'
  | 'unknowable-condition'
  | 'foreign-key-policy'
  | 'outside-organization'
  | 'no-sufficient-fix';

export interface RequestSummary {
  eventId: string;
  accountId: string;
  region: string;
  operation: string;
  principalArn: string;
  keyArn: string | null;
  streamArn: string | null;
}

export interface Diagnosis {
  current: Decision;
  /** The layers that keep the request from being allowed (empty when it is allowed). */
  blockingLayers: PolicyLayer[];
  /** The policies and statements that decided, as the evaluator reports them. */
  decidedBy: DecidedBy[];
  /** Remarks that bear on trusting the diagnosis (layer-note.ts); absent when there are none. */
  notes?: DiagnosisNote[];
}

interface Outcome {
  reason: string;
  request: RequestSummary;
  diagnosis: Diagnosis | null;
}

export type DiagnoseResult =
  | {
      verdict: 'ignore';
      code: 'not-applicable';
      reason: string;
      request: null;
      diagnosis: null;
      plan: null;
      proof: null;
    }
  | (Outcome & { verdict: 'ignore'; code: 'already-allowed'; plan: null; proof: null })
  | (Outcome & {
      verdict: 'refuse';
      code: RefusalCode;
      plan: null;
      proof: null;
      attempts?: RejectedAttempt[];
      /** What a person can do instead: who must act, and what to change (next-steps.ts). */
      nextSteps: NextStep[];
      /** For the uncertainty codes: what keymend cannot know, and every answer. */
      uncertainty?: Uncertainty;
    })
  | (Outcome & {
      verdict: 'propose';
      code: 'propose';
      diagnosis: Diagnosis;
      plan: Plan;
      proof: Proof;
      attempts?: RejectedAttempt[];
    });

/** A mechanism keymend tried and set aside, with why (`cross-account`: the two-sided fix). */
export interface RejectedAttempt {
  mechanism: Mechanism | 'cross-account';
  reason: string;
}

export interface DiagnoseOptions {
  prefer?: Mechanism;
}

/** The Kinesis action a principal must hold on the stream to make this KMS call legitimately. */
const KINESIS_ACTIONS: Record<string, string[]> = {
  'kms:Decrypt': ['kinesis:GetRecords', 'kinesis:SubscribeToShard'],
  'kms:GenerateDataKey': ['kinesis:PutRecord', 'kinesis:PutRecords'],
  'kms:GenerateDataKeyWithoutPlaintext': ['kinesis:PutRecord', 'kinesis:PutRecords'],
};

/** Layers keymend never changes: when one of them blocks, no fix of keymend's can help. */
const UNFIXABLE_LAYERS: Partial<Record<PolicyLayer, RefusalCode>> = {
  'permissions-boundary': 'boundary-blocks',
  session: 'invisible-layer',
  'service-control': 'organization-policy-blocks',
  'resource-control': 'organization-policy-blocks',
};

function summarize(request: KinesisKmsRequest, keyArn: string | null): RequestSummary {
  return {
    eventId: request.eventId,
    accountId: request.accountId,
    region: request.region,
    operation: request.operation,
    principalArn: request.principalArn,
    keyArn,
    streamArn: request.streamArn,
  };
}

/** The layers an implicit deny names as lacking an allow (statement ""), in a stable order. */
function blockingLayersOf(decision: Decision, decidedBy: DecidedBy[]): PolicyLayer[] {
  if (decision === 'allowed') return [];
  const layers = decidedBy
    .filter((d) => decision === 'explicit-deny' || d.statement === '')
    .map((d) => d.policyType);
  return [...new Set(layers)];
}

/** The diagnosis of `result`, noting where it disagrees with the layer AWS's message names. */
function diagnosisOf(result: EvaluationResult, named: DeniedBy): Diagnosis {
  const diagnosis: Diagnosis = {
    current: result.decision,
    blockingLayers: blockingLayersOf(result.decision, result.decidedBy),
    decidedBy: result.decidedBy,
  };
  const note = layerDisagreement(named, diagnosis.current, diagnosis.blockingLayers);
  if (note) diagnosis.notes = [note];
  return diagnosis;
}

/** What a check of the ladder decides when it stops the diagnosis. */
interface Stop {
  code: RefusalCode | 'already-allowed';
  reason: string;
  diagnosis?: Diagnosis;
  uncertainty?: Uncertainty;
  /** For `outside-organization`: the account whose membership keymend could not establish. */
  unverifiedAccount?: string;
}
const refusal = (code: RefusalCode, reason: string, diagnosis?: Diagnosis): Stop =>
  diagnosis === undefined ? { code, reason } : { code, reason, diagnosis };

// --- Checks on the request and the state, before any policy is evaluated -------------------------

type RequestCheck = (request: KinesisKmsRequest, state: ResolvedState) => Stop | null;

const sameAccount: RequestCheck = (request, state) =>
  request.accountId === state.accountId
    ? null
    : refusal(
        'wrong-account',
        `The event was recorded in account ${request.accountId}, but the account read is ${state.accountId} (the snapshot's, or the one the AWS credentials belong to): diagnose it with account ${request.accountId}'s snapshot or credentials.`,
      );

/** `o-...`, `no organization`, or `an organization keymend could not read`, for an account's membership. */
function membershipWords(id: string | null | undefined): string {
  if (id === undefined) return 'not known to be in it (keymend could not read its organization)';
  return id === null ? 'in no organization' : `in organization ${id}`;
}

/** An `outside-organization` refusal, naming the account when its membership is unknown (not read). */
function outsideOrganization(reason: string, account: string, membership: string | null | undefined): Stop {
  const stop = refusal('outside-organization', reason);
  return membership === undefined ? { ...stop, unverifiedAccount: account } : stop;
}

/**
 * keymend acts for one organization (an organization deployment, or several snapshots): a denial whose
 * caller, or whose key owner, is not known to be in it is refused, whatever its policies say. Fail
 * closed: a key owner keymend did not read is not known to be inside, even when the caller's view shows
 * the key and a fix on the caller's side alone would do (it would name that account's key).
 */
const insideOrganization: RequestCheck = (request, state) => {
  const boundary = state.organizationBoundary;
  if (!boundary) return null;
  const caller = Object.hasOwn(boundary.members, request.accountId)
    ? boundary.members[request.accountId]
    : undefined;
  if (caller !== boundary.id) {
    const unreachable = state.unreachable?.includes(request.accountId)
      ? ' keymend could not assume its member role there.'
      : '';
    return outsideOrganization(
      `The caller's account ${request.accountId} is ${membershipWords(caller)}, not in organization ${boundary.id || '(unknown)'} that keymend serves: it acts only inside its organization.${unreachable}`,
      request.accountId,
      caller,
    );
  }
  const keyArn = request.keyArn ?? state.key?.arn ?? null;
  const keyAccount = keyArn ? accountOf(keyArn) : '';
  if (keyAccount === '' || keyAccount === request.accountId) return null;
  const owner = Object.hasOwn(boundary.members, keyAccount)
    ? boundary.members[keyAccount]
    : state.organization?.accounts?.[keyAccount]?.id;
  if (owner === boundary.id) return null;
  const unreachable = state.unreachable?.includes(keyAccount) ?? false;
  const read = state.writableAccounts?.includes(keyAccount) ?? false;
  const why = unreachable
    ? ' keymend could not assume its member role there.'
    : owner === undefined && !read
      ? ' keymend has no access to that account, so it cannot check.'
      : '';
  return outsideOrganization(
    `The key ${keyArn} belongs to account ${keyAccount}, which is ${membershipWords(owner)}, not in organization ${boundary.id} that keymend serves: keymend changes nothing across its organization's boundary.${why}`,
    keyAccount,
    owner,
  );
};

const supportedPrincipal: RequestCheck = (request) =>
  request.principalType === 'AssumedRole' || request.principalType === 'IAMUser'
    ? null
    : refusal(
        'unsupported-principal',
        `keymend does not change permissions of ${request.principalType} principals.`,
      );

// A grant's encryption-context constraint does not bind an operation that takes no encryption context,
// and a condition on the context never matches it: no fix for it could be scoped to one stream.
const supportedOperation: RequestCheck = (request) =>
  Object.hasOwn(KINESIS_ACTIONS, request.operation)
    ? null
    : refusal(
        'unsupported-operation',
        `${request.operation} takes no encryption context, so no fix for it can be scoped to one stream; keymend fixes the data-key calls Kinesis makes (kms:Decrypt, kms:GenerateDataKey).`,
      );

const namesStream: RequestCheck = (request) =>
  request.streamArn
    ? null
    : refusal('no-stream', 'The record names no stream, so no fix can be scoped to one.');

const principalFound: RequestCheck = (request, state) =>
  state.principal
    ? null
    : refusal(
        'principal-not-found',
        `The principal ${request.principalArn} was not found in the account state.`,
      );

const keyReadable: RequestCheck = (request, { unreadableKey, accountId }) =>
  unreadableKey
    ? refusal(
        'key-unreadable',
        `keymend may not read the key ${unreadableKey.key}: KMS denied ${unreadableKey.call}, so its key policy admits neither keymend's role nor IAM policies of account ${accountId}. To let keymend diagnose and fix ${request.principalArn}, add to the key policy a statement allowing keymend's role kms:DescribeKey, kms:GetKeyPolicy and kms:ListGrants on the key (and kms:CreateGrant, for the grants it proposes), or the "Enable IAM User Permissions" statement for arn:aws:iam::${accountId}:root.`,
      )
    : null;

// A key policy is readable only from the key's own account: a key of another account is not
// "not found", it is out of sight, and the sentence says what can be done from each side.
const keyInThisAccount: RequestCheck = (request, state) => {
  const keyAccount = request.keyArn ? accountOf(request.keyArn) : '';
  return !state.key && keyAccount !== '' && keyAccount !== state.accountId
    ? refusal(
        'key-in-other-account',
        `The key ${request.keyArn} is in account ${keyAccount}, whose key policy keymend cannot read from account ${state.accountId}. If that key policy admits account ${state.accountId}, the fix is an inline policy here letting ${request.principalArn} use the key for the stream; otherwise account ${keyAccount} must change the key policy to admit it.`,
      )
    : null;
};

const keyFound: RequestCheck = (request, state) =>
  state.key
    ? null
    : refusal(
        'key-not-found',
        `The key ${request.keyArn ?? request.keyReference ?? 'used by the stream'} was not found.`,
      );

const customerManagedKey: RequestCheck = (_request, { key }) =>
  key?.keyManager === 'AWS'
    ? refusal(
        'aws-managed-key',
        `${key.arn} is an AWS managed key: its policy cannot be changed and needs none.`,
      )
    : null;

const keyEnabled: RequestCheck = (_request, { key }) =>
  key && key.keyState !== 'Enabled'
    ? refusal(
        'key-not-enabled',
        `${key.arn} is ${key.keyState}, not Enabled: permissions are not the problem.`,
      )
    : null;

const streamUsesKey: RequestCheck = (_request, { key, stream }) =>
  key && stream?.keyArn && stream.keyArn !== key.arn
    ? refusal(
        'stream-key-mismatch',
        `The stream is encrypted with ${stream.keyArn}, not with ${key.arn}: the call was not made for this stream's data.`,
      )
    : null;

/** In order: the first that stops decides. */
const REQUEST_CHECKS: readonly RequestCheck[] = [
  sameAccount,
  insideOrganization,
  supportedPrincipal,
  supportedOperation,
  namesStream,
  principalFound,
  keyReadable,
  keyInThisAccount,
  keyFound,
  customerManagedKey,
  keyEnabled,
  streamUsesKey,
];

// --- Checks of a call that did not come through Kinesis (its service markers are missing) --------

type CallCheck = (subject: Subject, evaluator: Evaluator) => Stop | null;

/**
 * A direct KMS call can carry any encryption context it likes: act only if the principal may already
 * use the stream the context names.
 */
const mayUseStream: CallCheck = (subject, evaluator) => {
  const { request } = subject;
  if (request.viaKinesis) return null;
  const streamAccess = (KINESIS_ACTIONS[request.operation] ?? []).some(
    (action) => evaluator.run(streamRequest(subject, action), null).decision === 'allowed',
  );
  return streamAccess
    ? null
    : refusal(
        'forged-context',
        `The call did not come through Kinesis and ${request.principalArn} may not read or write ${subject.scope.streamArn}.`,
      );
};

/**
 * Without the service markers keymend cannot tell whether Kinesis made the call. If the call as
 * recorded, without kms:ViaService, meets an explicit deny, that deny may be what AWS applied: reading
 * the call as a Kinesis one would explain it away.
 */
const noDenyAsRecorded: CallCheck = (subject, evaluator) => {
  if (subject.request.viaKinesis) return null;
  const recorded = evaluator.run(kmsRequest(subject, { viaKinesis: false }), subject.key);
  return recorded.decision === 'explicit-deny'
    ? explicitDeny(recorded, 'the request as recorded, not through Kinesis', subject.request.deniedBy)
    : null;
};

const CALL_CHECKS: readonly CallCheck[] = [mayUseStream, noDenyAsRecorded];

function explicitDeny(result: EvaluationResult, what: string, named: DeniedBy): Stop {
  const by = result.decidedBy
    .map((d) => `${d.policyType} policy ${d.policy} statement ${d.statement}`)
    .join('; ');
  return refusal(
    'explicit-deny',
    `An explicit deny blocks ${what} (${by}); keymend never overrides one.`,
    diagnosisOf(result, named),
  );
}

// --- Checks of the request as evaluated against the current policies -----------------------------

interface Evaluated {
  subject: Subject;
  state: ResolvedState;
  current: EvaluationResult;
  diagnosis: Diagnosis;
}
type EvaluatedCheck = (evaluated: Evaluated) => Stop | null;

/**
 * A verdict that turns on what keymend cannot know (whether Kinesis uses a forward access session, a key
 * such as aws:SourceIp) is never presented as certain: refuse, naming the uncertainty, with every answer
 * (uncertainty.ts).
 */
const certainVerdict: EvaluatedCheck = ({ subject, diagnosis }) => {
  const uncertainty = findUncertainty({
    principal: subject.principal,
    key: subject.key,
    organization: subject.organization,
    resourceAccountId: accountOf(subject.key.arn),
    organizationAccountId: subject.accounts.organization,
    request: (forwardAccessSession) => ({
      request: kmsRequest(subject, { forwardAccessSession }),
      unknown: unknownKeys(subject),
    }),
    evaluate: (request) => subjectEvaluator(subject).run(request, subject.key),
  });
  if (!uncertainty) return null;
  const reason = describeUncertainty(uncertainty, subject.request.deniedBy);
  return { ...refusal(uncertainty.code, reason, diagnosis), uncertainty };
};

function describeUncertainty(u: Uncertainty, named: DeniedBy): string {
  const answers = u.answers.map((a) => `if ${a.assumption}, the request is ${a.decision}`).join('; ');
  const statements = u.statements
    .map((d) => `${d.policyType} policy ${d.policy} statement ${d.statement}`)
    .join('; ');
  const what =
    u.code === 'forward-access-session-uncertain'
      ? 'AWS does not document whether Kinesis calls KMS in a forward access session, and the verdict depends on it'
      : `The verdict depends on ${u.keys.join(', ')}, which keymend cannot know for this call`;
  // AWS's message may fit one reading only: say so, as evidence for the person, without choosing.
  const fitting = u.answers.filter(
    (a) =>
      named.policyType !== null &&
      blockingLayersOf(a.decision, a.decidedBy).includes(named.policyType as PolicyLayer),
  );
  const hint =
    fitting.length === 1 && fitting[0]
      ? ` AWS's message names the ${named.policyType} policy, which fits only the reading that ${fitting[0].assumption}.`
      : '';
  return `${what}: ${answers} (${statements || 'no statement found'}).${hint} keymend does not guess: a person must decide.`;
}

const noExplicitDeny: EvaluatedCheck = ({ subject, current }) =>
  current.decision === 'explicit-deny'
    ? explicitDeny(current, 'the request', subject.request.deniedBy)
    : null;

// A layer keymend cannot see may still deny, whatever the visible policies say: neither "fixed since
// the event" nor a fix can be claimed.
const noInvisibleLayerNamed: EvaluatedCheck = ({ subject, diagnosis }) => {
  const named = subject.request.deniedBy;
  return named.policyType === 'vpc-endpoint' || named.policyType === 'session'
    ? refusal(
        'invisible-layer',
        `AWS names a ${named.policyType} policy, which keymend cannot read or change.`,
        diagnosis,
      )
    : null;
};

const organizationVisible: EvaluatedCheck = ({ subject, state, diagnosis }) => {
  const named = subject.request.deniedBy;
  return (named.policyType === 'service-control' || named.policyType === 'resource-control') &&
    !organizationPoliciesVisible(state.organization, named.policyType)
    ? refusal(
        'invisible-layer',
        `AWS names a ${named.policyType} policy and keymend cannot see the organization's policies.`,
        diagnosis,
      )
    : null;
};

/**
 * Whether the organization state holds the policies of that type. An organization known only by its id
 * and path (the AWS reader outside the management account) shows none.
 */
function organizationPoliciesVisible(
  organization: OrganizationState | null,
  type: 'service-control' | 'resource-control',
): boolean {
  if (!organization) return false;
  return type === 'service-control'
    ? organization.serviceControlPolicies !== undefined
    : organization.resourceControlPolicies !== undefined;
}

const notAllowedYet: EvaluatedCheck = ({ current, diagnosis }) =>
  current.decision === 'allowed'
    ? {
        code: 'already-allowed',
        reason: 'The request is allowed by the current policies: it was fixed after the event.',
        diagnosis,
      }
    : null;

const noUnseenExplicitDeny: EvaluatedCheck = ({ subject, diagnosis }) => {
  const named = subject.request.deniedBy;
  return named.kind === 'explicit'
    ? refusal(
        'invisible-layer',
        `AWS reported an explicit deny${named.policyType ? ` in a ${named.policyType} policy` : ''} that the account state does not show.`,
        diagnosis,
      )
    : null;
};

const fixableLayers: EvaluatedCheck = ({ subject, diagnosis }) => {
  for (const layer of diagnosis.blockingLayers) {
    const code = UNFIXABLE_LAYERS[layer];
    if (code) {
      return refusal(
        code,
        `The ${layer} layer does not allow ${subject.request.operation}; keymend does not change it.`,
        diagnosis,
      );
    }
  }
  return null;
};

const boundaryNotNamed: EvaluatedCheck = ({ subject, diagnosis }) =>
  subject.request.deniedBy.policyType === 'permissions-boundary'
    ? refusal(
        'boundary-blocks',
        'AWS names the permissions boundary; keymend does not change boundaries.',
        diagnosis,
      )
    : null;

/** The accounts keymend may change for this denial. */
function writableAccounts(state: ResolvedState): string[] {
  return state.writableAccounts ?? [state.accountId];
}

const ownKeyPolicy: EvaluatedCheck = ({ subject, state, diagnosis }) => {
  const keyAccount = accountOf(subject.scope.keyArn);
  return !writableAccounts(state).includes(keyAccount) && diagnosis.blockingLayers.includes('resource-based')
    ? refusal(
        'foreign-key-policy',
        `The policy of key ${subject.scope.keyArn} does not allow account ${state.accountId}; only its owner, account ${keyAccount}, can change that.`,
        diagnosis,
      )
    : null;
};

const EVALUATED_CHECKS: readonly EvaluatedCheck[] = [
  certainVerdict,
  noExplicitDeny,
  noInvisibleLayerNamed,
  organizationVisible,
  notAllowedYet,
  noUnseenExplicitDeny,
  fixableLayers,
  boundaryNotNamed,
  ownKeyPolicy,
];

function attemptPlan(
  mechanism: Mechanism | 'cross-account',
  subject: Subject,
  writable: readonly string[],
): PlanAttempt {
  const { scope } = subject;
  const keyAccount = accountOf(scope.keyArn);
  const principalAccount = accountOf(scope.principalArn);
  switch (mechanism) {
    case 'kms-grant':
      if (keyAccount !== principalAccount)
        return { ok: false, reason: 'grants are planned for same-account principals only' };
      if (!writable.includes(keyAccount))
        return { ok: false, reason: `the key belongs to account ${keyAccount}` };
      return { ok: true, plan: planGrant(scope) };
    case 'iam-inline-policy':
      if (!writable.includes(principalAccount)) {
        return { ok: false, reason: `the principal belongs to account ${principalAccount}` };
      }
      return planInlinePolicy(scope, subject.principal);
    case 'key-policy-statement':
      if (!writable.includes(keyAccount))
        return { ok: false, reason: `the key belongs to account ${keyAccount}` };
      return planKeyPolicyStatement(scope, subject.key);
    case 'cross-account': {
      if (keyAccount === principalAccount) return { ok: false, reason: "the key is in the caller's account" };
      const notWritable = [keyAccount, principalAccount].filter((a) => !writable.includes(a));
      if (notWritable.length > 0)
        return { ok: false, reason: `keymend cannot change account ${notWritable.join(' or ')}` };
      const keySide = planKeyPolicyStatement(scope, subject.key);
      if (!keySide.ok) return keySide;
      const callerSide = planInlinePolicy(scope, subject.principal);
      if (!callerSide.ok) return callerSide;
      if (
        keySide.plan.mechanism !== 'key-policy-statement' ||
        callerSide.plan.mechanism !== 'iam-inline-policy'
      ) {
        throw new Error('unreachable: the planners return their own mechanism');
      }
      return {
        ok: true,
        plan: {
          mechanism: 'cross-account',
          keyAccountId: keyAccount,
          callerAccountId: principalAccount,
          keySide: keySide.plan,
          callerSide: callerSide.plan,
        },
      };
    }
    default: {
      const unreachable: never = mechanism;
      throw new Error(`unknown mechanism ${String(unreachable)}`);
    }
  }
}

/**
 * The order the fixes are tried in: the preferred mechanism, then the others; across accounts where
 * keymend may change both, the two-sided fix first when both sides block (no half alone can suffice),
 * last otherwise.
 */
function attemptOrder(
  prefer: Mechanism,
  subject: Subject,
  state: ResolvedState,
  diagnosis: Diagnosis,
): Array<Mechanism | 'cross-account'> {
  const order: Array<Mechanism | 'cross-account'> = [prefer, ...MECHANISMS.filter((m) => m !== prefer)];
  const keyAccount = accountOf(subject.scope.keyArn);
  const principalAccount = accountOf(subject.scope.principalArn);
  const writable = writableAccounts(state);
  if (
    keyAccount === principalAccount ||
    !writable.includes(keyAccount) ||
    !writable.includes(principalAccount)
  ) {
    return order;
  }
  const both =
    diagnosis.blockingLayers.includes('resource-based') &&
    diagnosis.blockingLayers.includes('identity-based');
  return both ? ['cross-account', ...order] : [...order, 'cross-account'];
}

/**
 * Decides what to do about one denied request: `ignore` (allowed by now), `refuse` (with the reason),
 * or `propose` a plan whose proof passed. Never proposes a plan whose proof failed.
 */
export function diagnose(
  request: KinesisKmsRequest,
  state: ResolvedState,
  options: DiagnoseOptions = {},
): DiagnoseResult {
  const summary = summarize(request, state.key?.arn ?? request.keyArn);
  const stop = (s: Stop, attempts?: RejectedAttempt[]): DiagnoseResult => {
    if (s.code === 'already-allowed') {
      const { code, reason } = s;
      const diagnosis = s.diagnosis ?? null;
      return { verdict: 'ignore', code, reason, request: summary, diagnosis, plan: null, proof: null };
    }
    // A refusal keeps what the policies say wherever they could be evaluated, so a person sees the
    // layers behind it too.
    const diagnosis = s.diagnosis ?? diagnosisIfEvaluable(request, state);
    const steps = nextSteps({
      code: s.code,
      request,
      keyArn: summary.keyArn,
      accountId: state.accountId,
      diagnosis,
      ...(s.unverifiedAccount ? { unverifiedAccount: s.unverifiedAccount } : {}),
    });
    return {
      verdict: 'refuse',
      code: s.code,
      reason: s.reason,
      request: summary,
      diagnosis,
      plan: null,
      proof: null,
      ...(attempts ? { attempts } : {}),
      nextSteps: steps,
      ...(s.uncertainty ? { uncertainty: s.uncertainty } : {}),
    };
  };

  for (const check of REQUEST_CHECKS) {
    const stopped = check(request, state);
    if (stopped) return stop(stopped);
  }
  const { principal, key } = state;
  // REQUEST_CHECKS refused every request without a stream, principal or key.
  if (!request.streamArn || !principal || !key) throw new Error('unreachable: the request checks passed');

  const subject = subjectOf(request, request.streamArn, principal, key, state);
  // The request may come from anywhere, not only the intake: a name that is not an exact ARN of its kind
  // (a wildcard or a policy variable in a role path, say) must never reach a plan.
  const problem = scopeProblem(subject.scope);
  if (problem) return stop(refusal('malformed-request', `No fix can be planned: ${problem}.`));

  try {
    return decide(subject, state, options, stop, summary);
  } catch (error) {
    if (error instanceof KeymendError) {
      return stop(refusal('invalid-policy', `A policy could not be read: ${error.message}`));
    }
    throw error;
  }
}

/**
 * The diagnosis of a request a check refused before evaluating it (an AWS managed key, a key not
 * enabled, a call not through Kinesis), when the principal, key and stream are known and the scope is
 * literal; null when it cannot be evaluated.
 */
function diagnosisIfEvaluable(request: KinesisKmsRequest, state: ResolvedState): Diagnosis | null {
  const { principal, key } = state;
  if (!request.streamArn || !principal || !key || request.accountId !== state.accountId) return null;
  try {
    const subject = subjectOf(request, request.streamArn, principal, key, state);
    if (scopeProblem(subject.scope)) return null;
    const current = subjectEvaluator(subject).run(kmsRequest(subject, {}), subject.key);
    return diagnosisOf(current, request.deniedBy);
  } catch (error) {
    if (error instanceof KeymendError) return null;
    throw error;
  }
}

function decide(
  subject: Subject,
  state: ResolvedState,
  options: DiagnoseOptions,
  stop: (s: Stop, attempts?: RejectedAttempt[]) => DiagnoseResult,
  summary: RequestSummary,
): DiagnoseResult {
  const evaluator = subjectEvaluator(subject);
  for (const check of CALL_CHECKS) {
    const stopped = check(subject, evaluator);
    if (stopped) return stop(stopped);
  }

  const current = evaluator.run(kmsRequest(subject, {}), subject.key);
  const diagnosis = diagnosisOf(current, subject.request.deniedBy);
  const evaluated: Evaluated = { subject, state, current, diagnosis };
  for (const check of EVALUATED_CHECKS) {
    const stopped = check(evaluated);
    if (stopped) return stop(stopped);
  }

  const order = attemptOrder(options.prefer ?? 'kms-grant', subject, state, diagnosis);
  const rejected: RejectedAttempt[] = [];
  for (const mechanism of order) {
    const attempt = attemptPlan(mechanism, subject, writableAccounts(state));
    if (!attempt.ok) {
      rejected.push({ mechanism, reason: attempt.reason });
      continue;
    }
    const { proof, failure } = prove(subject, attempt.plan, current.decision);
    if (failure) {
      rejected.push({ mechanism, reason: failure });
      continue;
    }
    return {
      verdict: 'propose',
      code: 'propose',
      reason: proposalReason(attempt.plan, subject, diagnosis),
      request: summary,
      diagnosis,
      plan: attempt.plan,
      proof,
      ...(rejected.length ? { attempts: rejected } : {}),
    };
  }
  return stop(
    refusal(
      'no-sufficient-fix',
      `No fix keymend may plan is proven sufficient: ${rejected.map((r) => `${r.mechanism}: ${r.reason}`).join('; ')}.`,
      diagnosis,
    ),
    rejected,
  );
}

function streamRequest(subject: Subject, action: string): AuthorizationRequest {
  const base = kmsRequest(subject, {});
  // The caller's global keys, not the key's: aws:ResourceTag/*, aws:ResourceOrgID/Paths of the key say
  // nothing of the stream, whose account is its own.
  const context = Object.fromEntries(
    Object.entries(base.context).filter(([k]) => {
      const key = k.toLowerCase();
      return key.startsWith('aws:') && !key.startsWith('aws:resource');
    }),
  );
  context['aws:ResourceAccount'] = subject.accounts.stream;
  return { principal: base.principal, action, resource: subject.scope.streamArn, context };
}

function proposalReason(plan: Plan, subject: Subject, diagnosis: Diagnosis): string {
  const layers = diagnosis.blockingLayers.length ? diagnosis.blockingLayers.join(' and ') : 'no policy';
  if (plan.mechanism === 'cross-account') {
    return `${subject.scope.principalArn} lacks ${subject.scope.operation} on ${subject.scope.keyArn} (blocked at: ${layers}); across accounts both sides must allow: a key policy statement in account ${plan.keyAccountId} and an inline IAM policy statement in account ${plan.callerAccountId}, each scoped to ${subject.scope.streamArn}, fix it together.`;
  }
  const what = {
    'kms-grant': 'a KMS grant',
    'iam-inline-policy': 'an inline IAM policy statement',
    'key-policy-statement': 'a key policy statement',
  }[plan.mechanism];
  return `${subject.scope.principalArn} lacks ${subject.scope.operation} on ${subject.scope.keyArn} (blocked at: ${layers}); ${what} scoped to ${subject.scope.streamArn} fixes it.`;
}
