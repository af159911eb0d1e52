/**
 * The three fixes keymend can plan, each scoped to one principal, one key, one stream, one operation.
 * Pure: builds the change and the account state as it would be after the change; never applies anything.
 */
import { createHash } from 'node:crypto';
import type { KeyState, PrincipalState } from './account';

export type Mechanism = 'kms-grant' | 'iam-inline-policy' | 'key-policy-statement';

/** Every mechanism, in the order keymend tries them after the preferred one. */
export const MECHANISMS: readonly Mechanism[] = ['kms-grant', 'iam-inline-policy', 'key-policy-statement'];

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

export type Plan = GrantPlan | InlinePolicyPlan | KeyPolicyPlan;

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
  return JSON.stringify(document).replace(/\s/g, '').length;
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
    Statement: [
      {
        Sid: statementSid(scope),
        Effect: 'Allow',
        Action: scope.operation,
        Resource: scope.keyArn,
        Condition: kinesisConditions(scope),
      },
    ],
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
function statementsOf(policy: unknown): unknown[] | null {
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
  const sids = new Set(existing.map((s) => (s as { Sid?: unknown }).Sid));
  const sid = statementSid(scope);
  if (sids.has(sid)) return { ok: false, reason: `the key policy already has a statement with Sid ${sid}` };
  const statement: PolicyStatement = {
    Sid: sid,
    Effect: 'Allow',
    Principal: { AWS: scope.principalArn },
    Action: scope.operation,
    Resource: '*',
    Condition: kinesisConditions(scope),
  };
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

/** The principal and key as they would be once the plan is applied (copies; the inputs are untouched). */
export function applyPlan(
  plan: Plan,
  principal: PrincipalState,
  key: KeyState,
): { principal: PrincipalState; key: KeyState } {
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
