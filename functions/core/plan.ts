/**
 * The three fixes keymend can plan, each scoped to one principal, one key, one stream, one operation.
 * Pure: builds the change and the account state as it would be after the change; never applies anything.
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import {
  arnAccount,
  isRegion,
  parseKeyArn,
  parseRoleArn,
  parseStreamArn,
  parseUserArn,
} from '../commons/arn';
import { InputError } from '../commons/errors';
/** The mechanisms are settings too (KEYMEND_ENABLED_MECHANISMS): defined once, in commons/settings.ts. */
import type { Mechanism } from '../commons/settings';
import type { KeyState, PrincipalState } from './account';

export { MECHANISMS, type Mechanism } from '../commons/settings';

/** IAM counts the characters of all of a role's inline policies, whitespace excluded. */
export const INLINE_POLICY_AGGREGATE_LIMIT = 10_240;
/** A key policy document may hold at most 32 KB. */
export const KEY_POLICY_BYTE_LIMIT = 32_768;

/** What the fix is for: the one principal, key, stream and KMS operation. */
export interface FixScope {
  principalArn: string;
  keyArn: string;
  streamArn: string;
  region: string;
  /** e.g. `kms:Decrypt`. */
  operation: string;
}

export interface GrantPlan {
  mechanism: 'kms-grant';
  keyArn: string;
  granteePrincipal: string;
  operations: [string];
  constraints: { encryptionContextSubset: { 'aws:kinesis:arn': string } };
  name: string;
}

export interface InlinePolicyPlan {
  mechanism: 'iam-inline-policy';
  principalArn: string;
  policyName: string;
  document: PolicyDocument;
}

export interface KeyPolicyPlan {
  mechanism: 'key-policy-statement';
  keyArn: string;
  statement: PolicyStatement;
  /** The complete new key policy: every existing statement unchanged, the new one last. */
  document: PolicyDocument;
}

/** A fix made by one write in one account. */
export type SinglePlan = GrantPlan | InlinePolicyPlan | KeyPolicyPlan;

/**
 * A cross-account fix in two halves, proved together and applied in order (the key side first), revoked
 * together: a statement in the key policy of the key's account naming the caller (a grant is never
 * planned across accounts: keymend's grants name principals of the key's own account), and an inline
 * statement in the caller's own account (cross-account, the caller's IAM must allow the call too). Each
 * half is scoped exactly as the single-account fix of its mechanism. It holds a key-policy change, so
 * it is applied only when a person approves it.
 */
export interface CrossAccountPlan {
  mechanism: 'cross-account';
  /** The account that owns the key, where `keySide` is written. */
  keyAccountId: string;
  /** The caller's account, where `callerSide` is written. */
  callerAccountId: string;
  keySide: KeyPolicyPlan;
  callerSide: InlinePolicyPlan;
}

export type Plan = SinglePlan | CrossAccountPlan;

/** The one-account writes of a plan, in the order they are applied. */
export function planHalves(plan: Plan): SinglePlan[] {
  return plan.mechanism === 'cross-account' ? [plan.keySide, plan.callerSide] : [plan];
}

/** The mechanisms a plan uses (each must be enabled for it to be applied). */
export function planMechanisms(plan: Plan): Mechanism[] {
  return planHalves(plan).map((half) => half.mechanism);
}

/** The mechanism a re-diagnosis should try first to find the same plan again. */
export function preferredMechanism(plan: Plan): Mechanism {
  return plan.mechanism === 'cross-account' ? 'key-policy-statement' : plan.mechanism;
}

/** The account a single write is made in: the principal's for an inline policy, the key's otherwise. */
export function planAccount(plan: SinglePlan): string {
  return arnAccount(plan.mechanism === 'iam-inline-policy' ? plan.principalArn : plan.keyArn) ?? '';
}

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Principal?: { AWS: string };
  Action: string;
  Resource: string;
  Condition: { StringEquals: Record<string, string> };
}

export interface PolicyDocument {
  /** Absent in a key policy that had none (see planKeyPolicyStatement). */
  Version?: string;
  Statement: unknown[];
  [extra: string]: unknown;
}

/** A plan, or why the mechanism cannot serve this scope. */
export type PlanAttempt = { ok: true; plan: Plan } | { ok: false; reason: string };

function streamName(streamArn: string): string {
  return streamArn.slice(streamArn.indexOf(':stream/') + ':stream/'.length);
}

function operationName(operation: string): string {
  return operation.slice(operation.indexOf(':') + 1);
}

/**
 * A readable name within `max` characters of `allowed` characters; when it must be shortened,
 * a hash of the full name keeps two long names from colliding.
 */
function boundedName(parts: string[], allowed: RegExp, max: number): string {
  const full = parts.map((p) => p.replace(allowed, '-')).join('-');
  if (full.length <= max) return full;
  const digest = createHash('sha256').update(full).digest('hex').slice(0, 12);
  return `${full.slice(0, max - digest.length - 1)}-${digest}`;
}

/** The conditions that tie a permission to calls Kinesis makes for this one stream. */
function kinesisConditions(scope: FixScope): { StringEquals: Record<string, string> } {
  return {
    StringEquals: {
      'kms:ViaService': `kinesis.${scope.region}.amazonaws.com`,
      'kms:EncryptionContext:aws:kinesis:arn': scope.streamArn,
    },
  };
}

/**
 * The one statement of a fix, without its Sid: in an IAM policy (no principal) the one action on the key
 * ARN; in a key policy, naming `principal`, on `*` (there "this key") with the same action. Both only
 * through Kinesis for the one stream, with StringEquals, which reads its values literally.
 */
function grantStatement(scope: FixScope, principal?: string): Omit<PolicyStatement, 'Sid'> {
  return fixStatement(scope, principal);
}

/**
 * The least-privilege statement of a fix, without its Sid (for a person to add by hand: to a permissions
 * boundary, an SCP, a key policy in another account): in an identity policy the one action on the key
 * ARN; with `principal`, the key-policy form naming it, on `*`. Only through Kinesis for the one stream.
 */
export function fixStatement(scope: FixScope, principal?: string): Omit<PolicyStatement, 'Sid'> {
  return {
    Effect: 'Allow',
    ...(principal === undefined ? {} : { Principal: { AWS: principal } }),
    Action: scope.operation,
    Resource: principal === undefined ? scope.keyArn : '*',
    Condition: kinesisConditions(scope),
  };
}

function statementSid(scope: FixScope): string {
  // Sids allow only ASCII letters and digits.
  const name = `Keymend${operationName(scope.operation)}${streamName(scope.streamArn)}`.replace(
    /[^A-Za-z0-9]/g,
    '',
  );
  return name.length <= 100 ? name : name.slice(0, 100);
}

/** A KMS grant for the principal, this one operation, constrained to the stream's encryption context. */
export function planGrant(scope: FixScope): GrantPlan {
  return {
    mechanism: 'kms-grant',
    keyArn: scope.keyArn,
    granteePrincipal: scope.principalArn,
    operations: [operationName(scope.operation)],
    constraints: { encryptionContextSubset: { 'aws:kinesis:arn': scope.streamArn } },
    // Grant names allow letters, digits and :/_- only, up to 256 characters.
    name: boundedName(
      ['keymend', operationName(scope.operation), streamName(scope.streamArn)],
      /[^A-Za-z0-9:/_-]/g,
      256,
    ),
  };
}

/** Characters IAM counts toward the inline-policy aggregate: the document without whitespace. */
export function iamPolicySize(document: unknown): number {
  return (JSON.stringify(document) ?? '').replace(/\s/g, '').length;
}

/** One inline statement: the one action, on the one key, only through Kinesis for the one stream. */
export function planInlinePolicy(scope: FixScope, principal: PrincipalState): PlanAttempt {
  const policyName = boundedName(
    ['keymend', operationName(scope.operation), streamName(scope.streamArn)],
    /[^\w+=,.@-]/g,
    128,
  );
  if (Object.hasOwn(principal.inlinePolicies, policyName)) {
    return { ok: false, reason: `the principal already has an inline policy named ${policyName}` };
  }
  const document: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [{ Sid: statementSid(scope), ...grantStatement(scope) }],
  };
  // A user's group policies are folded into inlinePolicies as `group/GROUP/POLICY`: they count
  // toward their group's limit, not the principal's.
  const own = Object.entries(principal.inlinePolicies).filter(([name]) => !name.startsWith('group/'));
  const total = own.reduce<number>((sum, [, doc]) => sum + iamPolicySize(doc), 0) + iamPolicySize(document);
  if (total > INLINE_POLICY_AGGREGATE_LIMIT) {
    return {
      ok: false,
      reason: `the role's inline policies would total ${total} characters, over IAM's ${INLINE_POLICY_AGGREGATE_LIMIT}`,
    };
  }
  return {
    ok: true,
    plan: { mechanism: 'iam-inline-policy', principalArn: scope.principalArn, policyName, document },
  };
}

/** The key policy's statements as an array, whether the document holds one statement or many. */
export function statementsOf(policy: unknown): unknown[] | null {
  if (typeof policy !== 'object' || policy === null) return null;
  const statement = (policy as { Statement?: unknown }).Statement;
  if (Array.isArray(statement)) return statement;
  if (typeof statement === 'object' && statement !== null) return [statement];
  return null;
}

/** One key-policy statement naming the principal; every existing statement is kept as it is. */
export function planKeyPolicyStatement(scope: FixScope, key: KeyState): PlanAttempt {
  const existing = statementsOf(key.policy);
  if (!existing) return { ok: false, reason: 'the key policy has no readable Statement' };
  const sids = new Set(
    existing.map((s) => (typeof s === 'object' && s !== null ? (s as { Sid?: unknown }).Sid : undefined)),
  );
  const sid = statementSid(scope);
  if (sids.has(sid)) return { ok: false, reason: `the key policy already has a statement with Sid ${sid}` };
  const statement: PolicyStatement = { Sid: sid, ...grantStatement(scope, scope.principalArn) };
  // Every other field stays as it is, Version included: a policy without one is read as 2008-10-17, where
  // `${...}` is literal text; adding 2012-10-17 would turn such text in existing statements into policy
  // variables (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html).
  // The new statement uses no variables, so it means the same under either version.
  const document = {
    ...(key.policy as Record<string, unknown>),
    Statement: [...existing, statement],
  } as PolicyDocument;
  const bytes = Buffer.byteLength(JSON.stringify(document), 'utf8');
  if (bytes > KEY_POLICY_BYTE_LIMIT) {
    return {
      ok: false,
      reason: `the key policy would be ${bytes} bytes, over KMS's ${KEY_POLICY_BYTE_LIMIT}`,
    };
  }
  return { ok: true, plan: { mechanism: 'key-policy-statement', keyArn: scope.keyArn, statement, document } };
}

/**
 * The principal and key as they would be once the plan is applied (copies; the inputs are untouched).
 * Throws InputError when the plan changes another principal or key than those given: the result would
 * show the change where it is not made.
 */
export function applyPlan(
  plan: Plan,
  principal: PrincipalState,
  key: KeyState,
): { principal: PrincipalState; key: KeyState } {
  if (plan.mechanism === 'cross-account') {
    const keyed = applyPlan(plan.keySide, principal, key);
    return applyPlan(plan.callerSide, keyed.principal, keyed.key);
  }
  const target = plan.mechanism === 'iam-inline-policy' ? plan.principalArn : plan.keyArn;
  const given = plan.mechanism === 'iam-inline-policy' ? principal.arn : key.arn;
  if (target !== given) throw new InputError(`the plan changes ${target}, not ${given}`);
  switch (plan.mechanism) {
    case 'kms-grant':
      return {
        principal,
        key: {
          ...key,
          grants: [
            ...(key.grants ?? []),
            {
              grantId: 'keymend-planned-grant',
              name: plan.name,
              granteePrincipal: plan.granteePrincipal,
              operations: [...plan.operations],
              constraints: { encryptionContextSubset: { ...plan.constraints.encryptionContextSubset } },
            },
          ],
        },
      };
    case 'iam-inline-policy':
      return {
        principal: {
          ...principal,
          inlinePolicies: { ...principal.inlinePolicies, [plan.policyName]: plan.document },
        },
        key,
      };
    case 'key-policy-statement':
      return { principal, key: { ...key, policy: plan.document } };
    default: {
      const unreachable: never = plan;
      throw new Error(`unknown plan ${JSON.stringify(unreachable)}`);
    }
  }
}

/** The KMS operations keymend plans fixes for: the data-key calls Kinesis makes. */
const PLANNED_OPERATIONS: ReadonlySet<string> = new Set([
  'kms:Decrypt',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
]);

/** Characters that IAM or KMS would read as a wildcard or the start of a policy variable. */
const PATTERN_CHARACTERS = /[*?$]/;

/**
 * Why `scope` cannot be fixed literally, or null: every name must be an exact ARN of its kind (the strict
 * parsers admit no `*`, `?` or `$`), the operation one keymend plans, and stream, key and Region one Region.
 */
export function scopeProblem(scope: FixScope): string | null {
  const literal = [scope.principalArn, scope.keyArn, scope.streamArn, scope.region, scope.operation];
  if (literal.some((text) => PATTERN_CHARACTERS.test(text))) {
    return 'a name in the request holds a wildcard or policy-variable character';
  }
  if (!parseRoleArn(scope.principalArn) && !parseUserArn(scope.principalArn)) {
    return `${JSON.stringify(scope.principalArn)} is not a role or user ARN`;
  }
  const key = parseKeyArn(scope.keyArn);
  if (!key) return `${JSON.stringify(scope.keyArn)} is not a key ARN`;
  const stream = parseStreamArn(scope.streamArn);
  if (!stream) return `${JSON.stringify(scope.streamArn)} is not a stream ARN`;
  if (!isRegion(scope.region) || key.region !== scope.region || stream.region !== scope.region) {
    return `the key, the stream and the Region ${JSON.stringify(scope.region)} are not in one Region`;
  }
  if (!PLANNED_OPERATIONS.has(scope.operation)) return `keymend plans no fix for ${scope.operation}`;
  return null;
}

/**
 * Why `plan` is not exactly the change keymend plans for `scope`, or null. The proof's probes sample the
 * neighbourhood of the request; this checks what sampling cannot: that the plan names only the scope's
 * principal, key, stream and operation, literally, with nothing added (another principal or key, a second
 * action or statement, a looser operator), and that a key-policy plan keeps every existing statement and
 * field of `key`'s policy as it is.
 */
export function scopeViolation(plan: Plan, scope: FixScope, key: KeyState): string | null {
  const problem = scopeProblem(scope);
  if (problem) return problem;
  const op = operationName(scope.operation);
  switch (plan.mechanism) {
    case 'cross-account': {
      const keyAccount = arnAccount(scope.keyArn);
      const callerAccount = arnAccount(scope.principalArn);
      if (plan.keyAccountId !== keyAccount || plan.callerAccountId !== callerAccount) {
        return 'the halves are not in the accounts of the key and of the caller';
      }
      if (keyAccount === callerAccount) return 'a two-sided fix is for a key of another account only';
      const keys = Object.keys(plan).sort().join(',');
      if (keys !== 'callerAccountId,callerSide,keyAccountId,keySide,mechanism') {
        return 'the two-sided fix holds something beside its two halves';
      }
      if (
        plan.keySide?.mechanism !== 'key-policy-statement' ||
        plan.callerSide?.mechanism !== 'iam-inline-policy'
      ) {
        return 'the two-sided fix is not a key-policy statement and an inline policy';
      }
      return scopeViolation(plan.keySide, scope, key) ?? scopeViolation(plan.callerSide, scope, key);
    }
    case 'kms-grant': {
      const expected: Omit<GrantPlan, 'name'> = {
        mechanism: 'kms-grant',
        keyArn: scope.keyArn,
        granteePrincipal: scope.principalArn,
        operations: [op],
        constraints: { encryptionContextSubset: { 'aws:kinesis:arn': scope.streamArn } },
      };
      const { name, ...rest } = plan;
      if (!isDeepStrictEqual(rest, expected)) {
        return 'the grant is not for exactly this principal, key, operation and stream';
      }
      return typeof name === 'string' && /^[A-Za-z0-9:/_-]{1,256}$/.test(name)
        ? null
        : 'the grant name is not a valid KMS grant name';
    }
    case 'iam-inline-policy': {
      if (plan.principalArn !== scope.principalArn) return `the policy is for ${plan.principalArn}`;
      if (typeof plan.policyName !== 'string' || !/^[\w+=,.@-]{1,128}$/.test(plan.policyName)) {
        return 'the policy name is not a valid IAM policy name';
      }
      const statements = plan.document.Statement;
      const sid = (statements[0] as { Sid?: unknown } | undefined)?.Sid;
      const expected = {
        Version: '2012-10-17',
        Statement: [{ Sid: sid, ...grantStatement(scope) }],
      };
      if (typeof sid !== 'string' || !isDeepStrictEqual(plan.document, expected)) {
        return 'the policy is not one statement for exactly this action, key, stream and service';
      }
      return null;
    }
    case 'key-policy-statement': {
      if (plan.keyArn !== scope.keyArn || key.arn !== scope.keyArn) return `the plan changes ${plan.keyArn}`;
      const sid = (plan.statement as { Sid?: unknown }).Sid;
      const statement = { Sid: sid, ...grantStatement(scope, scope.principalArn) };
      if (typeof sid !== 'string' || !isDeepStrictEqual(plan.statement, statement)) {
        return 'the statement is not for exactly this principal, action, stream and service';
      }
      const existing = statementsOf(key.policy);
      const expected = existing && {
        ...(key.policy as Record<string, unknown>),
        Statement: [...existing, statement],
      };
      if (!expected || !isDeepStrictEqual(plan.document, expected)) {
        return 'the new key policy does not keep every existing statement and field as it is';
      }
      return null;
    }
    default: {
      const unreachable: never = plan;
      return `unknown plan ${JSON.stringify(unreachable)}`;
    }
  }
}
