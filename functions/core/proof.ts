/**
 * The proof of a plan: the denied request is evaluated before and after the plan, and probes around it
 * (other streams, another key, other principals, every other KMS operation, a direct call) must be no
 * more allowed after the plan than before. Pure: account state in, decisions out.
 */
import { arnAccount, arnPartition } from '../commons/arn';
import { InputError } from '../commons/errors';
import {
  type AuthorizationRequest,
  type CompiledPolicy,
  type Decision,
  type EvaluationResult,
  evaluate,
  type PolicySet,
  type RequestPrincipal,
  takesEncryptionContext,
} from '../policy';
import type { KeyState, OrganizationState, PrincipalState } from './account';
import { buildPolicySet, requestPrincipal } from './authorization';
import { kinesisCall, kmsKeyFacts } from './context-keys';
import type { ResolvedState } from './diagnose';
import { applyPlan, type FixScope, type Plan, scopeViolation } from './plan';
import type { KinesisKmsRequest } from './request';

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

/** The account of an ARN, '' when it has none (the ARNs here were checked by the intake or the snapshot). */
export function accountOf(arn: string): string {
  return arnAccount(arn) ?? '';
}

/**
 * Evaluates requests for one principal against a key (or none), compiling the policy set of each key
 * once: a diagnosis evaluates many requests against the same few policy sets.
 */
export class Evaluator {
  /** By key state: the key before a plan and after it share an ARN, not a state. */
  private readonly sets = new Map<KeyState | null, PolicySet<CompiledPolicy>>();
  constructor(
    private readonly principal: PrincipalState,
    private readonly organization: OrganizationState | null,
    private readonly accounts: {
      /** The account the organization state describes: the one keymend runs in. */
      organization: string;
      /** The resource's account when no key is involved (a Kinesis stream request). */
      stream: string;
    },
    /** The key owner's organization state, for a key of another account keymend read (its RCPs). */
    private readonly keyOrganization: OrganizationState | null = null,
  ) {}

  /** Evaluates `request` against the principal's policies and `key` (null: a request for no key). */
  run(request: AuthorizationRequest, key: KeyState | null): EvaluationResult {
    return evaluate(request, this.policies(key));
  }

  private policies(key: KeyState | null): PolicySet<CompiledPolicy> {
    let set = this.sets.get(key);
    if (set === undefined) {
      set = buildPolicySet({
        principal: this.principal,
        key,
        organization: this.organization,
        resourceAccountId: key ? accountOf(key.arn) : this.accounts.stream,
        organizationAccountId: this.accounts.organization,
        keyOrganization: this.keyOrganization,
      });
      this.sets.set(key, set);
    }
    return set;
  }
}

/** One denial being diagnosed, and what its diagnosis builds once and reuses for every plan it proves. */
export interface Subject {
  request: KinesisKmsRequest;
  scope: FixScope;
  principal: PrincipalState;
  key: KeyState;
  organization: OrganizationState | null;
  /** The key owner's organization state when the key is in another account keymend read. */
  keyOrganization: OrganizationState | null;
  accounts: { organization: string; stream: string };
  cache: {
    evaluator?: Evaluator;
    strangers?: Record<Exclude<ProbeCaller, 'subject'>, Evaluator>;
    probeKey?: KeyState;
    probes?: ProbeSpec[];
  };
}

export function subjectOf(
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
    keyOrganization: state.keyOrganization ?? null,
    accounts: { organization: state.accountId, stream: accountOf(streamArn) },
    cache: {},
  };
}

/**
 * Builds the KMS request Kinesis would make, for this subject or a neighbour of it, with every key AWS
 * would set that account state tells (context-keys.ts); a probe's other key shares the subject key's
 * attributes.
 */
export function kmsRequest(
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
  return kinesisCall({
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
  }).request;
}

/** The keys of the subject's own request that keymend cannot know (context-keys.ts `unknown`). */
export function unknownKeys(subject: Subject): string[] {
  return kmsKeyFacts({
    principal: callerOf(subject, subject.scope.principalArn),
    action: subject.scope.operation,
    keyArn: subject.scope.keyArn,
    key: subject.key,
    organization: subject.organization,
    organizationAccountId: subject.accounts.organization,
  }).unknown;
}

/** The request principal for `principalArn`: the subject itself (with its session and tags) or a stranger. */
function callerOf(subject: Subject, principalArn: string): RequestPrincipal {
  const own = principalArn === subject.scope.principalArn;
  const principal = requestPrincipal({
    arn: principalArn,
    sessionArn: own && subject.request.sessionArn !== principalArn ? subject.request.sessionArn : undefined,
    state: own ? subject.principal : null,
  });
  // The record's principalId is the caller's aws:userid: without it a policy testing aws:userid (a Deny
  // on a role's unique id, say) would not apply to the caller.
  const userId = own ? subject.request.principalId : undefined;
  return userId === undefined ? principal : { ...principal, userId };
}

/**
 * An evaluator of `principal`'s policies in the subject's organization and accounts: the subject's own,
 * a probe stranger's, or the principal as a plan leaves it.
 */
function evaluatorFor(subject: Subject, principal: PrincipalState): Evaluator {
  return new Evaluator(principal, subject.organization, subject.accounts, subject.keyOrganization);
}

/** The evaluator of the subject's own policies, before any plan. */
export function subjectEvaluator(subject: Subject): Evaluator {
  subject.cache.evaluator ??= evaluatorFor(subject, subject.principal);
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
  // The probes' resources are made up (the proof needs resources that a too-wide change would also
  // match): the descriptions say so instead of naming them as if they existed.
  const streamWords = [
    'a hypothetical other stream whose name starts with this one',
    'a hypothetical other stream whose name differs in its last character',
  ];
  const specs: ProbeSpec[] = otherStreams.map((streamArn, i) => ({
    description: `${op} through Kinesis for another stream (${streamWords[i]})`,
    request: kmsRequest(subject, { streamArn }),
    key: 'planned',
    caller: 'subject',
  }));
  specs.push({
    description: `${op} through Kinesis for this stream on another key (a hypothetical key whose policy lets IAM policies count)`,
    request: kmsRequest(subject, { keyArn: otherKey }),
    key: 'other',
    caller: 'subject',
  });
  const strangerRequest = kmsRequest(subject, { principalArn: stranger });
  specs.push({
    description: `${op} through Kinesis for this stream by another principal (a hypothetical principal beside this one with no policies of its own)`,
    request: strangerRequest,
    key: 'planned',
    caller: 'stranger',
  });
  specs.push({
    description: `${op} through Kinesis for this stream by another principal (a hypothetical principal beside this one whose IAM policies allow kms:*)`,
    request: strangerRequest,
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
  subject.cache.probeKey ??= newProbeKey(subject);
  return subject.cache.probeKey;
}

function newProbeKey(subject: Subject): KeyState {
  const accounts = [...new Set([accountOf(subject.scope.keyArn), accountOf(subject.scope.principalArn)])];
  const partition = arnPartition(subject.scope.keyArn) ?? 'aws';
  const policy = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'KeymendProbeDelegateToIam',
        Effect: 'Allow',
        Principal: { AWS: accounts.map((a) => `arn:${partition}:iam::${a}:root`) },
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  };
  return { arn: siblingArn(subject.key.arn), keyManager: 'CUSTOMER', keyState: 'Enabled', policy };
}

/** The probe callers other than the subject, with no policies of their own, or with kms:* (see ProbeCaller). */
function strangerEvaluators(subject: Subject): Record<Exclude<ProbeCaller, 'subject'>, Evaluator> {
  const strangerArn = neighbourArn(subject.scope.principalArn, 'keymend-probe');
  subject.cache.strangers ??= {
    stranger: evaluatorFor(subject, { arn: strangerArn, inlinePolicies: {}, managedPolicies: {} }),
    'stranger-with-kms': evaluatorFor(subject, {
      arn: strangerArn,
      inlinePolicies: { 'keymend-probe-kms': PROBE_KMS_POLICY },
      managedPolicies: {},
    }),
  };
  return subject.cache.strangers;
}

/** The inline policy of the stranger with KMS rights. */
const PROBE_KMS_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }],
};

/** Runs the proof: before denied, after allowed, every probe no more allowed than it was. */
export function prove(
  subject: Subject,
  plan: Plan,
  before: Decision,
): { proof: Proof; failure: string | null } {
  // Probes sample the neighbourhood; a plan that names anything but the scope's principal, key, stream and
  // operation, literally, fails before any probe runs.
  const violation = scopeViolation(plan, subject.scope, subject.key);
  if (violation) return { proof: { before, after: before, probes: [] }, failure: violation };
  const applied = applyPlan(plan, subject.principal, subject.key);
  const was = subjectEvaluator(subject);
  const now = evaluatorFor(subject, applied.principal);
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
