/**
 * Diagnose a denied Kinesis KMS call, plan the least-privilege fix and prove it. Pure: the account
 * state comes in already read (see gather.ts), the decision goes out as data.
 */

import { InputError, KeymendError } from '../commons/errors';
import type { CompiledPolicy } from '../policy/compile';
import { takesEncryptionContext } from '../policy/context';
import { evaluate } from '../policy/evaluate';
import type {
  AuthorizationRequest,
  DecidedBy,
  Decision,
  EvaluationResult,
  PolicyLayer,
  PolicySet,
  RequestPrincipal,
} from '../policy/types';
import type { KeyState, OrganizationState, PrincipalState, StreamState } from './account';
import { buildPolicySet, requestPrincipal } from './authorization';
import { kinesisCall, kmsKeyFacts } from './context-keys';
import { type DiagnosisNote, layerDisagreement } from './layer-note';
import {
  applyPlan,
  type FixScope,
  MECHANISMS,
  type Mechanism,
  type Plan,
  type PlanAttempt,
  planGrant,
  planInlinePolicy,
  planKeyPolicyStatement,
  scopeProblem,
  scopeViolation,
} from './plan';
import type { DeniedBy, KinesisKmsRequest } from './request';
import { findUncertainty, type Uncertainty } from './uncertainty';

/** The account state that bears on one denial, as read from a snapshot or a real account. */
export interface ResolvedState {
  /** The account keymend runs in (and may change). */
  accountId: string;
  principal: PrincipalState | null;
  key: KeyState | null;
  stream: StreamState | null;
  /** null when keymend cannot see the organization's policies. */
  organization: OrganizationState | null;
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

export interface Probe {
  description: string;
  action: string;
  resource: string;
  /** The decision with the plan applied: it must not be `allowed` unless `before` was. */
  result: Decision;
  before: Decision;
}

export interface Proof {
  before: Decision;
  after: Decision;
  probes: Probe[];
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
      /** For the uncertainty codes: what keymend cannot know, and every answer. */
      uncertainty?: Uncertainty;
    })
  | (Outcome & {
      verdict: 'propose';
      diagnosis: Diagnosis;
      plan: Plan;
      proof: Proof;
      attempts?: RejectedAttempt[];
    });

/** A mechanism keymend tried and set aside, with why. */
export interface RejectedAttempt {
  mechanism: Mechanism;
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

/**
 * Operations a fix must never open up, probed after every plan: every data-key and cryptographic operation
 * a leaky action list or wildcard (`kms:GenerateDataKey*`, `kms:ReEncrypt*`) would add, and the grant and
 * key-management operations that would hand over the key itself.
 */
const NEIGHBOUR_ACTIONS = [
  'kms:Decrypt',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:GenerateDataKeyPair',
  'kms:GenerateDataKeyPairWithoutPlaintext',
  'kms:Encrypt',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
  'kms:CreateGrant',
  'kms:RetireGrant',
  'kms:RevokeGrant',
  'kms:DescribeKey',
  'kms:PutKeyPolicy',
  'kms:DisableKey',
  'kms:ScheduleKeyDeletion',
];

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

/** The fifth segment of an ARN (its account), '' when there is none: `arn.split(':')[4] ?? ''`, unsplit. */
function accountOf(arn: string): string {
  let start = 0;
  for (let n = 0; n < 4; n++) {
    const colon = arn.indexOf(':', start);
    if (colon === -1) return '';
    start = colon + 1;
  }
  const end = arn.indexOf(':', start);
  return end === -1 ? arn.slice(start) : arn.slice(start, end);
}

/** The layers an implicit deny names as lacking an allow (statement ""), in a stable order. */
function blockingLayersOf(decision: Decision, decidedBy: DecidedBy[]): PolicyLayer[] {
  if (decision === 'allowed') return [];
  const layers = decidedBy
    .filter((d) => decision === 'explicit-deny' || d.statement === '')
    .map((d) => d.policyType);
  return [...new Set(layers)];
}

function diagnosisOf(result: EvaluationResult, named?: DeniedBy): Diagnosis {
  const diagnosis: Diagnosis = {
    current: result.decision,
    blockingLayers: blockingLayersOf(result.decision, result.decidedBy),
    decidedBy: result.decidedBy,
  };
  const note = named ? layerDisagreement(named, diagnosis.current, diagnosis.blockingLayers) : null;
  if (note) diagnosis.notes = [note];
  return diagnosis;
}

/** Evaluates requests against one principal and key, compiling each policy set once. */
class Evaluator {
  private readonly sets = new Map<KeyState, PolicySet<CompiledPolicy>>();
  constructor(
    private readonly principal: PrincipalState,
    private readonly organization: OrganizationState | null,
    private readonly accounts: {
      /** The account the organization state describes: the one keymend runs in. */
      organization: string;
      /** The resource's account when no key is involved (a Kinesis stream request). */
      stream: string;
    },
  ) {}

  policies(key: KeyState | null): PolicySet<CompiledPolicy> {
    const cacheKey = key ?? NO_KEY;
    let set = this.sets.get(cacheKey);
    if (!set) {
      set = buildPolicySet({
        principal: this.principal,
        key,
        organization: this.organization,
        resourceAccountId: key ? accountOf(key.arn) : this.accounts.stream,
        organizationAccountId: this.accounts.organization,
      });
      this.sets.set(cacheKey, set);
    }
    return set;
  }

  run(request: AuthorizationRequest, key: KeyState | null) {
    return evaluate(request, this.policies(key));
  }
}
const NO_KEY: KeyState = { arn: '', keyManager: 'CUSTOMER', keyState: 'Enabled', policy: {} };

interface Subject {
  request: KinesisKmsRequest;
  scope: FixScope;
  principal: PrincipalState;
  key: KeyState;
  organization: OrganizationState | null;
  accounts: { organization: string; stream: string };
  /**
   * What one diagnosis builds once and reuses for every plan it proves: the requests (the same probes
   * run for each plan), the evaluators of the subject and of the probe callers, and the probe key.
   * Everything here is a pure function of the subject; nothing in it is changed after it is built.
   */
  cache: {
    requests: Map<string, AuthorizationRequest>;
    principals: Map<string, RequestPrincipal>;
    evaluator?: Evaluator;
    strangers?: Record<Exclude<ProbeCaller, 'subject'>, Evaluator>;
    probeKey?: KeyState;
    probes?: ProbeSpec[];
  };
}

/** Builds the KMS request Kinesis would make, for this subject or a neighbour of it. */
function kmsRequest(
  subject: Subject,
  overrides: {
    action?: string;
    keyArn?: string;
    streamArn?: string;
    principalArn?: string;
    viaKinesis?: boolean;
    forwardAccessSession?: boolean;
  },
): AuthorizationRequest {
  const id = `${part(overrides.action)}${part(overrides.keyArn)}${part(overrides.streamArn)}${part(
    overrides.principalArn,
  )}${overrides.viaKinesis === undefined ? '-' : overrides.viaKinesis ? 't' : 'f'}${
    overrides.forwardAccessSession ? 'F' : ''
  }`;
  const known = subject.cache.requests.get(id);
  if (known !== undefined) return known;
  // Every key AWS would set that account state tells (context-keys.ts); a probe's other key shares
  // the subject key's attributes.
  const { request } = kinesisCall({
    principal: callerOf(subject, overrides.principalArn ?? subject.scope.principalArn),
    action: overrides.action ?? subject.scope.operation,
    keyArn: overrides.keyArn ?? subject.scope.keyArn,
    streamArn: overrides.streamArn ?? subject.scope.streamArn,
    region: subject.scope.region,
    viaKinesis: overrides.viaKinesis ?? true,
    forwardAccessSession: overrides.forwardAccessSession ?? false,
    key: subject.key,
    organization: subject.organization,
    organizationAccountId: subject.accounts.organization,
  });
  subject.cache.requests.set(id, request);
  return request;
}

/** What keymend cannot know that decides the subject's request (uncertainty.ts), or null. */
function uncertaintyOf(subject: Subject): Uncertainty | null {
  const facts = {
    principal: callerOf(subject, subject.scope.principalArn),
    action: subject.scope.operation,
    keyArn: subject.scope.keyArn,
    key: subject.key,
    organization: subject.organization,
    organizationAccountId: subject.accounts.organization,
  };
  return findUncertainty({
    principal: subject.principal,
    key: subject.key,
    organization: subject.organization,
    resourceAccountId: accountOf(subject.key.arn),
    organizationAccountId: subject.accounts.organization,
    request: (forwardAccessSession) => ({
      request: kmsRequest(subject, { forwardAccessSession }),
      unknown: kmsKeyFacts(facts).unknown,
    }),
  });
}

function describeUncertainty(u: Uncertainty): string {
  const answers = u.answers.map((a) => `if ${a.assumption}, the request is ${a.decision}`).join('; ');
  const statements = u.statements
    .map((d) => `${d.policyType} policy ${d.policy} statement ${d.statement}`)
    .join('; ');
  const what =
    u.code === 'forward-access-session-uncertain'
      ? 'AWS does not document whether Kinesis calls KMS in a forward access session, and the verdict depends on it'
      : `The verdict depends on ${u.keys.join(', ')}, which keymend cannot know for this call`;
  return `${what}: ${answers} (${statements || 'no statement found'}). keymend does not guess: a person must decide.`;
}

/** An override in a request's cache key: '-' when absent, else its length and text (unambiguous). */
const part = (value: string | undefined) => (value === undefined ? '-' : `${value.length}:${value}`);

/** The request principal for `principalArn`: the subject itself (with its session and tags) or a stranger. */
function callerOf(subject: Subject, principalArn: string): RequestPrincipal {
  const known = subject.cache.principals.get(principalArn);
  if (known !== undefined) return known;
  const own = principalArn === subject.scope.principalArn;
  const principal = requestPrincipal({
    arn: principalArn,
    sessionArn: own && subject.request.sessionArn !== principalArn ? subject.request.sessionArn : undefined,
    state: own ? subject.principal : null,
  });
  // The record's principalId is the caller's aws:userid: without it a policy testing aws:userid (a Deny
  // on a role's unique id, say) would not apply to the caller.
  const userId = own ? subject.request.principalId : undefined;
  const caller = userId === undefined ? principal : { ...principal, userId };
  subject.cache.principals.set(principalArn, caller);
  return caller;
}

/** The evaluator of the subject's own policies, before any plan. */
function subjectEvaluator(subject: Subject): Evaluator {
  subject.cache.evaluator ??= new Evaluator(subject.principal, subject.organization, subject.accounts);
  return subject.cache.evaluator;
}

/** A name beside `arn`'s last path segment that no real resource of the account is expected to have. */
function neighbourArn(arn: string, marker: string): string {
  return `${arn}-${marker}`;
}

/**
 * `arn` with its last character changed: a resource of the same shape and length, which a `?` wildcard
 * (or a `*`) that matches `arn` would match too (key ids and stream names end in a letter or digit).
 */
function siblingArn(arn: string): string {
  return `${arn.slice(0, -1)}${arn.endsWith('0') ? '1' : '0'}`;
}

/** Who a probe runs as. */
type ProbeCaller =
  /** The subject, with its policies before and after the plan. */
  | 'subject'
  /** Another principal with no policies of its own: only what the key side (key policy, grants) gives counts. */
  | 'stranger'
  /**
   * Another principal whose IAM policies allow every KMS action: what the key policy lets IAM policies give
   * counts, so a key-policy change that delegates to the account (not to the one principal) shows.
   */
  | 'stranger-with-kms';

interface ProbeSpec {
  description: string;
  request: AuthorizationRequest;
  /**
   * Which key state the probe runs against: the planned key, or another key whose policy lets any IAM
   * statement of the caller's account through (so a leaky identity statement would show there).
   */
  key: 'planned' | 'other';
  caller: ProbeCaller;
}

function probeSpecs(subject: Subject, plan: Plan): ProbeSpec[] {
  subject.cache.probes ??= allProbeSpecs(subject);
  // A grant cannot require kms:ViaService (its constraints see only the encryption context), so the
  // direct-call probe, the last, applies to policy statements only.
  return plan.mechanism === 'kms-grant' ? subject.cache.probes.slice(0, -1) : subject.cache.probes;
}

function allProbeSpecs(subject: Subject): ProbeSpec[] {
  const { scope } = subject;
  const op = scope.operation;
  const otherStreams = [neighbourArn(scope.streamArn, 'keymend-probe'), siblingArn(scope.streamArn)];
  const otherKey = siblingArn(scope.keyArn);
  const stranger = neighbourArn(scope.principalArn, 'keymend-probe');
  const specs: ProbeSpec[] = otherStreams.map((streamArn) => ({
    description: `${op} through Kinesis for another stream (${streamArn})`,
    request: kmsRequest(subject, { streamArn }),
    key: 'planned',
    caller: 'subject',
  }));
  specs.push({
    description: `${op} through Kinesis for this stream on another key (${otherKey}) whose policy lets IAM policies count`,
    request: kmsRequest(subject, { keyArn: otherKey }),
    key: 'other',
    caller: 'subject',
  });
  specs.push({
    description: `${op} through Kinesis for this stream by another principal (${stranger}) with no policies of its own`,
    request: kmsRequest(subject, { principalArn: stranger }),
    key: 'planned',
    caller: 'stranger',
  });
  specs.push({
    description: `${op} through Kinesis for this stream by another principal (${stranger}) whose IAM policies allow kms:*`,
    request: kmsRequest(subject, { principalArn: stranger }),
    key: 'planned',
    caller: 'stranger-with-kms',
  });
  for (const action of NEIGHBOUR_ACTIONS) {
    if (action === op) continue;
    specs.push({
      description: `${action} on this key through Kinesis${takesEncryptionContext(action) ? ' for this stream' : ''}`,
      request: kmsRequest(subject, { action }),
      key: 'planned',
      caller: 'subject',
    });
  }
  specs.push({
    description: `${op} called directly (not through Kinesis) with this stream's encryption context`,
    request: kmsRequest(subject, { viaKinesis: false }),
    key: 'planned',
    caller: 'subject',
  });
  return specs;
}

/**
 * The other key of the probes: a customer key beside the planned one whose policy delegates every KMS
 * action to the key's account and to the caller's (so any IAM statement of the caller counts there), with
 * no grants.
 */
function probeKey(subject: Subject): KeyState {
  subject.cache.probeKey ??= frozen(newProbeKey(subject));
  return subject.cache.probeKey;
}

function newProbeKey(subject: Subject): KeyState {
  const accounts = [...new Set([accountOf(subject.scope.keyArn), accountOf(subject.scope.principalArn)])];
  const partition = subject.scope.keyArn.split(':')[1] ?? 'aws';
  const roots = accounts.map((a) => `arn:${partition}:iam::${a}:root`);
  // One frozen policy per set of accounts, so that compilePolicy compiles it once per process.
  const id = JSON.stringify(roots);
  let policy = PROBE_KEY_POLICIES.get(id);
  if (policy === undefined) {
    policy = frozen({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'KeymendProbeDelegateToIam',
          Effect: 'Allow',
          Principal: { AWS: roots },
          Action: 'kms:*',
          Resource: '*',
        },
      ],
    });
    if (PROBE_KEY_POLICIES.size >= 256) PROBE_KEY_POLICIES.clear();
    PROBE_KEY_POLICIES.set(id, policy);
  }
  return { arn: siblingArn(subject.key.arn), keyManager: 'CUSTOMER', keyState: 'Enabled', policy };
}
const PROBE_KEY_POLICIES = new Map<string, unknown>();

/** The probe callers other than the subject, with no policies of their own, or with kms:* (see ProbeCaller). */
function strangerEvaluators(subject: Subject): Record<Exclude<ProbeCaller, 'subject'>, Evaluator> {
  const strangerArn = neighbourArn(subject.scope.principalArn, 'keymend-probe');
  subject.cache.strangers ??= {
    stranger: new Evaluator(
      { arn: strangerArn, inlinePolicies: {}, managedPolicies: {} },
      subject.organization,
      subject.accounts,
    ),
    'stranger-with-kms': new Evaluator(
      { arn: strangerArn, inlinePolicies: { 'keymend-probe-kms': PROBE_KMS_POLICY }, managedPolicies: {} },
      subject.organization,
      subject.accounts,
    ),
  };
  return subject.cache.strangers;
}

/** The inline policy of the stranger with KMS rights: frozen, so it is compiled once per process. */
const PROBE_KMS_POLICY = frozen({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }],
});

/** `value` frozen all the way down: compilePolicy then compiles its documents once (compile.ts). */
function frozen<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) frozen(child);
    Object.freeze(value);
  }
  return value;
}

/** Runs the proof: before denied, after allowed, every probe no more allowed than it was. */
function prove(subject: Subject, plan: Plan, before: Decision): { proof: Proof; failure: string | null } {
  // Probes sample the neighbourhood; a plan that names anything but the scope's principal, key, stream and
  // operation, literally, fails before any probe runs.
  const violation = scopeViolation(plan, subject.scope, subject.key);
  if (violation) return { proof: { before, after: before, probes: [] }, failure: violation };
  const applied = applyPlan(plan, subject.principal, subject.key);
  const was = subjectEvaluator(subject);
  const now = new Evaluator(applied.principal, subject.organization, subject.accounts);
  const strangers = strangerEvaluators(subject);
  const otherKey = probeKey(subject);
  const after = now.run(kmsRequest(subject, {}), applied.key).decision;
  const probes = probeSpecs(subject, plan).map((spec): Probe => {
    const beforeKey = spec.key === 'other' ? otherKey : subject.key;
    const afterKey = spec.key === 'other' ? otherKey : applied.key;
    const [pre, post] =
      spec.caller === 'subject' ? [was, now] : [strangers[spec.caller], strangers[spec.caller]];
    return {
      description: spec.description,
      action: spec.request.action,
      resource: spec.request.resource,
      before: pre.run(spec.request, beforeKey).decision,
      result: post.run(spec.request, afterKey).decision,
    };
  });
  const proof: Proof = { before, after, probes };
  if (after !== 'allowed') return { proof, failure: `with the change the request would still be ${after}` };
  const opened = probes.find((p) => p.result === 'allowed' && p.before !== 'allowed');
  if (opened) return { proof, failure: `the change would also allow: ${opened.description}` };
  return { proof, failure: null };
}

function attemptPlan(mechanism: Mechanism, subject: Subject, deploymentAccount: string): PlanAttempt {
  const { scope } = subject;
  const keyAccount = accountOf(scope.keyArn);
  const principalAccount = accountOf(scope.principalArn);
  switch (mechanism) {
    case 'kms-grant':
      if (keyAccount !== principalAccount)
        return { ok: false, reason: 'grants are planned for same-account principals only' };
      if (keyAccount !== deploymentAccount)
        return { ok: false, reason: `the key belongs to account ${keyAccount}` };
      return { ok: true, plan: planGrant(scope) };
    case 'iam-inline-policy':
      if (principalAccount !== deploymentAccount) {
        return { ok: false, reason: `the principal belongs to account ${principalAccount}` };
      }
      return planInlinePolicy(scope, subject.principal);
    case 'key-policy-statement':
      if (keyAccount !== deploymentAccount)
        return { ok: false, reason: `the key belongs to account ${keyAccount}` };
      return planKeyPolicyStatement(scope, subject.key);
    default: {
      const unreachable: never = mechanism;
      throw new Error(`unknown mechanism ${String(unreachable)}`);
    }
  }
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
  const key = state.key;
  const summary = summarize(request, key?.arn ?? request.keyArn);
  const refuse = (
    code: RefusalCode,
    reason: string,
    diagnosis: Diagnosis | null = null,
    attempts?: RejectedAttempt[],
  ) =>
    ({
      verdict: 'refuse',
      code,
      reason,
      request: summary,
      diagnosis,
      plan: null,
      proof: null,
      ...(attempts ? { attempts } : {}),
    }) as const;

  if (request.accountId !== state.accountId) {
    return refuse(
      'wrong-account',
      `The event was recorded in account ${request.accountId}, but the account state is of ${state.accountId}.`,
    );
  }
  if (request.principalType !== 'AssumedRole' && request.principalType !== 'IAMUser') {
    return refuse(
      'unsupported-principal',
      `keymend does not change permissions of ${request.principalType} principals.`,
    );
  }
  if (!Object.hasOwn(KINESIS_ACTIONS, request.operation)) {
    // A grant's encryption-context constraint does not bind an operation that takes no encryption context,
    // and a condition on the context never matches it: no fix for it could be scoped to one stream.
    return refuse(
      'unsupported-operation',
      `${request.operation} takes no encryption context, so no fix for it can be scoped to one stream; keymend fixes the data-key calls Kinesis makes (kms:Decrypt, kms:GenerateDataKey).`,
    );
  }
  if (!request.streamArn) {
    return refuse('no-stream', 'The record names no stream, so no fix can be scoped to one.');
  }
  if (!state.principal) {
    return refuse(
      'principal-not-found',
      `The principal ${request.principalArn} was not found in the account state.`,
    );
  }
  if (!key) {
    return refuse(
      'key-not-found',
      `The key ${request.keyArn ?? request.keyReference ?? 'used by the stream'} was not found.`,
    );
  }
  if (key.keyManager === 'AWS') {
    return refuse(
      'aws-managed-key',
      `${key.arn} is an AWS managed key: its policy cannot be changed and needs none.`,
    );
  }
  if (key.keyState !== 'Enabled') {
    return refuse(
      'key-not-enabled',
      `${key.arn} is ${key.keyState}, not Enabled: permissions are not the problem.`,
    );
  }
  if (state.stream?.keyArn && state.stream.keyArn !== key.arn) {
    return refuse(
      'stream-key-mismatch',
      `The stream is encrypted with ${state.stream.keyArn}, not with ${key.arn}: the call was not made for this stream's data.`,
    );
  }

  const subject = subjectOf(request, request.streamArn, state.principal, key, state);
  // The request may come from anywhere, not only the intake: a name that is not an exact ARN of its kind
  // (a wildcard or a policy variable in a role path, say) must never reach a plan.
  const problem = scopeProblem(subject.scope);
  if (problem) return refuse('malformed-request', `No fix can be planned: ${problem}.`);

  try {
    return decide(subject, state, options, refuse, summary);
  } catch (error) {
    if (error instanceof KeymendError) {
      return refuse('invalid-policy', `A policy could not be read: ${error.message}`);
    }
    throw error;
  }
}

function subjectOf(
  request: KinesisKmsRequest,
  streamArn: string,
  principal: PrincipalState,
  key: KeyState,
  state: ResolvedState,
): Subject {
  return {
    request,
    scope: {
      principalArn: request.principalArn,
      keyArn: key.arn,
      streamArn,
      region: request.region,
      operation: request.operation,
    },
    principal,
    key,
    organization: state.organization,
    accounts: { organization: state.accountId, stream: accountOf(streamArn) },
    cache: { requests: new Map(), principals: new Map() },
  };
}

/**
 * The proof `diagnose` runs for a plan, run for any plan: the request before and after the plan, and the
 * probes that must stay denied. `failure` is null when the plan is proven. Exported so that tests can show
 * that the proof rejects plans that grant too much. Throws InputError when the request names no stream or
 * the state lacks the principal or key, PolicyParseError for a malformed policy.
 */
export function provePlan(
  request: KinesisKmsRequest,
  state: ResolvedState,
  plan: Plan,
): { proof: Proof; failure: string | null } {
  if (!request.streamArn || !state.principal || !state.key) {
    throw new InputError('a proof needs the stream, the principal and the key');
  }
  const subject = subjectOf(request, request.streamArn, state.principal, state.key, state);
  return prove(subject, plan, subjectEvaluator(subject).run(kmsRequest(subject, {}), subject.key).decision);
}

function decide(
  subject: Subject,
  state: ResolvedState,
  options: DiagnoseOptions,
  refuse: (
    code: RefusalCode,
    reason: string,
    diagnosis?: Diagnosis | null,
    attempts?: RejectedAttempt[],
  ) => Extract<DiagnoseResult, { verdict: 'refuse' }>,
  summary: RequestSummary,
): DiagnoseResult {
  const { request } = subject;
  const evaluator = subjectEvaluator(subject);

  if (!request.viaKinesis) {
    // A direct KMS call can carry any encryption context it likes: act only if the principal
    // may already use the stream the context names.
    const streamAccess = (KINESIS_ACTIONS[request.operation] ?? []).some(
      (action) => evaluator.run(streamRequest(subject, action), null).decision === 'allowed',
    );
    if (!streamAccess) {
      return refuse(
        'forged-context',
        `The call did not come through Kinesis and ${request.principalArn} may not read or write ${subject.scope.streamArn}.`,
      );
    }
  }

  const explicitDeny = (result: EvaluationResult, what: string) => {
    const by = result.decidedBy
      .map((d) => `${d.policyType} policy ${d.policy} statement ${d.statement}`)
      .join('; ');
    return refuse(
      'explicit-deny',
      `An explicit deny blocks ${what} (${by}); keymend never overrides one.`,
      diagnosisOf(result, request.deniedBy),
    );
  };

  if (!request.viaKinesis) {
    // Without the service markers keymend cannot tell whether Kinesis made the call. If the call as
    // recorded, without kms:ViaService, meets an explicit deny, that deny may be what AWS applied: reading
    // the call as a Kinesis one would explain it away.
    const recorded = evaluator.run(kmsRequest(subject, { viaKinesis: false }), subject.key);
    if (recorded.decision === 'explicit-deny') {
      return explicitDeny(recorded, 'the request as recorded, not through Kinesis');
    }
  }

  const current = evaluator.run(kmsRequest(subject, {}), subject.key);
  const diagnosis = diagnosisOf(current, request.deniedBy);
  // A verdict that turns on what keymend cannot know is never presented as certain.
  const uncertainty = uncertaintyOf(subject);
  if (uncertainty) {
    return { ...refuse(uncertainty.code, describeUncertainty(uncertainty), diagnosis), uncertainty };
  }
  if (current.decision === 'explicit-deny') return explicitDeny(current, 'the request');

  // A layer keymend cannot see may still deny, whatever the visible policies say: neither "fixed since
  // the event" nor a fix can be claimed.
  const named = request.deniedBy;
  if (named.policyType === 'vpc-endpoint' || named.policyType === 'session') {
    return refuse(
      'invisible-layer',
      `AWS names a ${named.policyType} policy, which keymend cannot read or change.`,
      diagnosis,
    );
  }
  if (
    (named.policyType === 'service-control' || named.policyType === 'resource-control') &&
    !organizationPoliciesVisible(state.organization, named.policyType)
  ) {
    return refuse(
      'invisible-layer',
      `AWS names a ${named.policyType} policy and keymend cannot see the organization's policies.`,
      diagnosis,
    );
  }
  if (current.decision === 'allowed') {
    return {
      verdict: 'ignore',
      code: 'already-allowed',
      reason: 'The request is allowed by the current policies: it was fixed after the event.',
      request: summary,
      diagnosis,
      plan: null,
      proof: null,
    };
  }
  if (named.kind === 'explicit') {
    return refuse(
      'invisible-layer',
      `AWS reported an explicit deny${named.policyType ? ` in a ${named.policyType} policy` : ''} that the account state does not show.`,
      diagnosis,
    );
  }
  for (const layer of diagnosis.blockingLayers) {
    const code = UNFIXABLE_LAYERS[layer];
    if (code) {
      return refuse(
        code,
        `The ${layer} layer does not allow ${request.operation}; keymend does not change it.`,
        diagnosis,
      );
    }
  }
  if (named.policyType === 'permissions-boundary') {
    return refuse(
      'boundary-blocks',
      'AWS names the permissions boundary; keymend does not change boundaries.',
      diagnosis,
    );
  }

  const keyAccount = accountOf(subject.scope.keyArn);
  if (keyAccount !== state.accountId && diagnosis.blockingLayers.includes('resource-based')) {
    return refuse(
      'foreign-key-policy',
      `The policy of key ${subject.scope.keyArn} does not allow account ${state.accountId}; only its owner, account ${keyAccount}, can change that.`,
      diagnosis,
    );
  }

  const prefer = options.prefer ?? 'kms-grant';
  const order = [prefer, ...MECHANISMS.filter((m) => m !== prefer)];
  const rejected: RejectedAttempt[] = [];
  for (const mechanism of order) {
    const attempt = attemptPlan(mechanism, subject, state.accountId);
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
      reason: proposalReason(attempt.plan, subject, diagnosis),
      request: summary,
      diagnosis,
      plan: attempt.plan,
      proof,
      ...(rejected.length ? { attempts: rejected } : {}),
    };
  }
  return refuse(
    'no-sufficient-fix',
    `No fix keymend may plan is proven sufficient: ${rejected.map((r) => `${r.mechanism}: ${r.reason}`).join('; ')}.`,
    diagnosis,
    rejected,
  );
}

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

function streamRequest(subject: Subject, action: string): AuthorizationRequest {
  const base = kmsRequest(subject, {});
  const context = Object.fromEntries(
    Object.entries(base.context).filter(([k]) => k.toLowerCase().startsWith('aws:')),
  );
  return { principal: base.principal, action, resource: subject.scope.streamArn, context };
}

function proposalReason(plan: Plan, subject: Subject, diagnosis: Diagnosis): string {
  const layers = diagnosis.blockingLayers.length ? diagnosis.blockingLayers.join(' and ') : 'no policy';
  const what = {
    'kms-grant': 'a KMS grant',
    'iam-inline-policy': 'an inline IAM policy statement',
    'key-policy-statement': 'a key policy statement',
  }[plan.mechanism];
  return `${subject.scope.principalArn} lacks ${subject.scope.operation} on ${subject.scope.keyArn} (blocked at: ${layers}); ${what} scoped to ${subject.scope.streamArn} fixes it.`;
}
