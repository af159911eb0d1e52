/**
 * AWS authorization of one request against compiled policies, with the KMS rules on top of the general
 * evaluation logic (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
 * https://docs.aws.amazon.com/kms/latest/developerguide/control-access.html). docs/evaluator.md describes
 * what is modelled and the choices made where AWS documentation is silent.
 */
import { arnPatternMatches, splitArn } from './arn';
import type { ActionSet, CompiledPolicy, CompiledStatement, PrincipalSpec, ResourceSet } from './compile';
import { evaluateCondition } from './conditions';
import { takesEncryptionContext } from './context';
import { compileTokens, globMatch } from './glob';
import { type Ctx, resolveTemplate } from './template';
import type {
  AuthorizationRequest,
  DecidedBy,
  EvaluationResult,
  KmsGrant,
  PolicySet,
  RequestPrincipal,
} from './types';

/** How a Principal element matches the caller (ordered: higher is more specific). */
type Match = 0 | 1 | 2 | 3;
const Match = {
  None: 0,
  /** The caller's account (`arn:aws:iam::ACCOUNT:root` or the account id): delegation to IAM. */
  Account: 1,
  /** The role ARN of a role session: limited by boundaries and session policies. */
  Role: 2,
  /** `*`, the session ARN, the user ARN, or root itself: the caller as such. */
  Direct: 3,
} as const;

interface Prepared {
  readonly principal: RequestPrincipal;
  readonly accountId: string;
  readonly action: string;
  readonly service: string;
  readonly actionName: string;
  readonly resource: string;
  readonly resourceSegments: string[] | null;
  readonly ctx: Ctx;
  readonly boundaryAttached: boolean;
}

const PRINCIPAL_TYPE: Record<RequestPrincipal['type'], string> = {
  AssumedRole: 'AssumedRole',
  IAMUser: 'User',
  Root: 'Account',
  FederatedUser: 'FederatedUser',
};

function prepare(request: AuthorizationRequest, boundaryAttached: boolean): Prepared {
  const ctx = new Map<string, string | string[]>();
  const context = request.context;
  for (const key in context) {
    const v = context[key];
    if (v === undefined || v === null) continue;
    ctx.set(key.toLowerCase(), Array.isArray(v) ? v.map(String) : String(v));
  }
  // The caller's own global keys (principalContext), where the request does not carry them.
  const principal = request.principal;
  const fill = (key: string, value: string | undefined) => {
    if (value !== undefined && !ctx.has(key)) ctx.set(key, value);
  };
  fill('aws:principalarn', principal.arn);
  fill('aws:principalaccount', principal.accountId);
  fill('aws:principaltype', PRINCIPAL_TYPE[principal.type]);
  fill('aws:userid', principal.userId);
  if (principal.type === 'IAMUser') fill('aws:username', principal.username);
  if (principal.tags)
    for (const tag in principal.tags) fill(`aws:principaltag/${tag.toLowerCase()}`, principal.tags[tag]);
  const action = request.action.toLowerCase();
  const colon = action.indexOf(':');
  return {
    principal,
    accountId: principal.accountId,
    action,
    service: colon === -1 ? '' : action.slice(0, colon),
    actionName: action.slice(colon + 1),
    resource: request.resource,
    resourceSegments: splitArn(request.resource),
    ctx,
    boundaryAttached,
  };
}

function actionsMatch(set: ActionSet, p: Prepared): boolean {
  if (set.any || set.exact.has(p.action)) return true;
  for (const pattern of set.patterns) {
    if (globMatch(pattern.service, p.service) && globMatch(pattern.action, p.actionName)) return true;
  }
  return false;
}

/**
 * true when some entry matches; null when none does but an entry's variable could not be resolved (AWS:
 * "If AWS cannot resolve a variable this might cause the entire statement to be invalid", so a
 * NotResource statement with such an entry does not apply); false otherwise.
 */
function resourcesMatch(set: ResourceSet, p: Prepared): boolean | null {
  if (set.any || set.exact.has(p.resource)) return true;
  let unresolved = false;
  for (const pattern of set.patterns) {
    if (pattern.kind === 'arn') {
      if (p.resourceSegments === null) continue;
      const m = arnPatternMatches(pattern.pattern, p.resourceSegments, p.ctx);
      if (m === true) return true;
      if (m === null) unresolved = true;
    } else if (pattern.kind === 'whole') {
      if (globMatch(pattern.glob, p.resource)) return true;
    } else {
      const tokens = resolveTemplate(pattern.parts, p.ctx);
      if (tokens === null) unresolved = true;
      else if (globMatch(compileTokens(tokens), p.resource)) return true;
    }
  }
  return unresolved ? null : false;
}

function principalMatch(spec: PrincipalSpec, p: Prepared): Match {
  if (spec.any) return Match.Direct;
  const principal = p.principal;
  if (principal.sessionArn !== undefined && spec.arns.has(principal.sessionArn)) return Match.Direct;
  if (spec.arns.has(principal.arn)) return principal.type === 'AssumedRole' ? Match.Role : Match.Direct;
  if (spec.accounts.has(p.accountId)) return principal.type === 'Root' ? Match.Direct : Match.Account;
  return Match.None;
}

/**
 * NotPrincipal (Deny only): AWS may check the account, then the role or user, then the session, and
 * denies unless every one of them is listed. So the statement applies when any identity in the caller's
 * chain is missing from the list, and always for a caller with a permissions boundary
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html).
 */
function notPrincipalApplies(spec: PrincipalSpec, p: Prepared): boolean {
  if (p.boundaryAttached) return true;
  if (spec.any) return false;
  const principal = p.principal;
  if (!spec.accounts.has(p.accountId)) return true;
  if (principal.type === 'Root') return false;
  if (!spec.arns.has(principal.arn)) return true;
  return principal.sessionArn !== undefined && !spec.arns.has(principal.sessionArn);
}

/** Whether a statement applies to the request; for statements with a principal, how it matched. */
function applies(s: CompiledStatement, p: Prepared): Match {
  if (actionsMatch(s.actions, p) === s.notAction) return Match.None;
  const resource = resourcesMatch(s.resources, p);
  if (s.notResource ? resource !== false : resource !== true) return Match.None;
  let match: Match = Match.Direct;
  if (s.principal !== null) {
    if (s.notPrincipal) {
      if (!notPrincipalApplies(s.principal, p)) return Match.None;
    } else {
      match = principalMatch(s.principal, p);
      if (match === Match.None) return Match.None;
    }
  }
  const conditions = s.conditions;
  for (let i = 0; i < conditions.length; i++) {
    if (!evaluateCondition(conditions[i] as (typeof conditions)[number], p.ctx)) return Match.None;
  }
  return match;
}

/** Allow statements of some policies that apply, and deny statements pushed into `denies`. */
function scan(policies: readonly CompiledPolicy[], p: Prepared, denies: DecidedBy[]): DecidedBy[] {
  let allows: DecidedBy[] | undefined;
  for (const policy of policies) {
    for (const s of policy.statements) {
      if (applies(s, p) === Match.None) continue;
      if (s.effect === 'Deny') denies.push(s.decidedBy);
      else {
        allows ??= [];
        allows.push(s.decidedBy);
      }
    }
  }
  return allows ?? NONE;
}
const NONE: DecidedBy[] = [];
// Statements share one frozen DecidedBy; results get their own copies.
const copy = (d: DecidedBy): DecidedBy => ({
  policyType: d.policyType,
  policy: d.policy,
  statement: d.statement,
});

/**
 * The request's encryption context, from its kms:EncryptionContext:KEY keys, with KEY lowercased: grant
 * constraints compare keys case-insensitively and values exactly ("in a grant constraint, the key in each
 * key-value pair is not case sensitive, but the value is case sensitive",
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GrantConstraints.html).
 */
function encryptionContextOf(request: AuthorizationRequest): Map<string, string> {
  const ec = new Map<string, string>();
  const prefix = 'kms:encryptioncontext:';
  for (const key in request.context) {
    if (key.length > prefix.length && key.toLowerCase().startsWith(prefix)) {
      const v = request.context[key];
      if (typeof v === 'string') ec.set(key.slice(prefix.length).toLowerCase(), v);
    }
  }
  return ec;
}

/**
 * Grants that allow the request: the grantee is the caller (a role ARN grantee covers its sessions), the
 * operation is listed, and, for an operation that takes an encryption context, the constraints hold: EncryptionContextSubset, every pair is in the request's
 * context; EncryptionContextEquals, the contexts are equal (keys compared without case, values exactly)
 * (https://docs.aws.amazon.com/kms/latest/APIReference/API_GrantConstraints.html).
 */
function matchingGrants(
  grants: readonly KmsGrant[],
  request: AuthorizationRequest,
  p: Prepared,
): DecidedBy[] {
  if (p.service !== 'kms') return NONE;
  const principal = p.principal;
  let ec: Map<string, string> | undefined;
  const out: DecidedBy[] = [];
  for (const grant of grants) {
    const grantee = grant.granteePrincipal;
    if (grantee !== principal.arn && grantee !== principal.sessionArn) continue;
    const operation = grant.operations.find((o) => o.toLowerCase() === p.actionName);
    if (operation === undefined) continue;
    // Constraints bind only operations that take an encryption context; a grant for DescribeKey with a
    // constraint allows DescribeKey whatever the context.
    const constrained = takesEncryptionContext(p.actionName);
    const subset = constrained ? grant.constraints?.encryptionContextSubset : undefined;
    const equals = constrained ? grant.constraints?.encryptionContextEquals : undefined;
    if (subset !== undefined || equals !== undefined) {
      ec ??= encryptionContextOf(request);
      const has = ([k, v]: [string, string]) => ec?.get(k.toLowerCase()) === v;
      if (subset !== undefined && !Object.entries(subset).every(has)) continue;
      if (equals !== undefined) {
        const pairs = Object.entries(equals);
        if (pairs.length !== ec.size || !pairs.every(has)) continue;
      }
    }
    out.push({ policyType: 'grant', policy: grant.grantId, statement: operation });
  }
  return out;
}

/**
 * Evaluates one request against the policies that bear on it.
 *
 * `decidedBy` names what decided the result:
 * - `explicit-deny`: every Deny statement that applies, in any layer (identity, permissions boundary,
 *   session, key policy, SCP, RCP).
 * - `allowed`: the allows that granted it: key policy statements naming the caller; for the identity
 *   path, the key policy statement(s) that allow the account together with the identity statement(s);
 *   grants (`policy` is the grant id, `statement` the operation).
 * - `implicit-deny`: one entry per layer that lacked a needed allow, with `statement: ""`: each SCP level
 *   without an allow (`policy` lists that level's policy names), `resource-based` (the key policy allows
 *   neither the caller nor, for IAM delegation, its account), `identity-based` (`policy` is the caller's
 *   ARN: no identity statement allows), `permissions-boundary`, `session`. Every listed layer must change
 *   for the request to be allowed, by the path the listing implies.
 */
export function evaluate(
  request: AuthorizationRequest,
  policies: PolicySet<CompiledPolicy>,
): EvaluationResult {
  const boundary = policies.permissionsBoundary;
  const sessions = policies.sessionPolicies;
  const hasSession = sessions !== undefined && sessions.length > 0;
  const p = prepare(request, boundary !== undefined);
  const denies: DecidedBy[] = [];

  const identityAllows = scan(policies.identityPolicies, p, denies);
  const boundaryAllows = boundary === undefined ? NONE : scan([boundary], p, denies);
  const sessionAllows = hasSession ? scan(sessions, p, denies) : NONE;

  const keyDirect: DecidedBy[] = [];
  const keyRole: DecidedBy[] = [];
  const keyAccount: DecidedBy[] = [];
  const key = policies.resourcePolicy;
  if (key !== undefined) {
    for (const s of key.statements) {
      const match = applies(s, p);
      if (match === Match.None) continue;
      const hit = s.decidedBy;
      if (s.effect === 'Deny') denies.push(hit);
      else if (match === Match.Direct) keyDirect.push(hit);
      else if (match === Match.Role) keyRole.push(hit);
      else keyAccount.push(hit);
    }
  }

  // SCPs: every level from the root to the account must allow. RCPs: RCPFullAWSAccess is attached at
  // every level and cannot be detached, so only their denies matter
  // (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html).
  const scpGaps: DecidedBy[] = [];
  (policies.serviceControlPolicies ?? []).forEach((level, i) => {
    if (scan(level, p, denies).length === 0) {
      const names = level.map((policy) => policy.name).join(', ');
      scpGaps.push({
        policyType: 'service-control',
        policy: names || `service-control-policies[${i}]`,
        statement: '',
      });
    }
  });
  for (const level of policies.resourceControlPolicies ?? []) {
    for (const policy of level) {
      for (const s of policy.statements) {
        if (s.effect === 'Deny' && applies(s, p) !== Match.None) denies.push(s.decidedBy);
      }
    }
  }

  if (denies.length > 0) return { decision: 'explicit-deny', decidedBy: denies.map(copy) };

  const boundaryOk = boundary === undefined || boundaryAllows.length > 0;
  const sessionOk = !hasSession || sessionAllows.length > 0;
  const limitsOk = boundaryOk && sessionOk;
  const grants =
    policies.grants !== undefined && policies.grants.length > 0 && limitsOk
      ? matchingGrants(policies.grants, request, p)
      : NONE;
  const sameAccount = p.accountId === policies.resourceAccountId;

  const granted: DecidedBy[] = [];
  // Without a key, the request is for another service's resource (a Kinesis stream, say) whose
  // resource policy, if any, the caller did not pass: within one account an identity allow inside
  // the boundary and session limits is enough; across accounts the missing resource policy denies
  // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
  const plainIam = key === undefined && p.service !== 'kms';
  if (plainIam) {
    if (sameAccount && limitsOk) granted.push(...identityAllows);
  } else if (sameAccount) {
    // An implicit deny in a boundary or session policy does not limit what a resource-based policy gives
    // the session (or user) itself, only what it gives the role ARN
    // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policies.html).
    granted.push(...keyDirect);
    if (limitsOk) {
      granted.push(...keyRole);
      if (identityAllows.length > 0 && keyAccount.length > 0) granted.push(...keyAccount, ...identityAllows);
    }
  } else if (limitsOk && identityAllows.length > 0) {
    // Cross-account: the key policy must allow the caller or its account AND the caller's account must
    // allow it in IAM (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html).
    const keyAllows = [...keyDirect, ...keyRole, ...keyAccount];
    if (keyAllows.length > 0) granted.push(...keyAllows, ...identityAllows);
  }
  granted.push(...grants);

  if (granted.length > 0 && scpGaps.length === 0)
    return { decision: 'allowed', decidedBy: granted.map(copy) };

  const gaps = scpGaps;
  if (granted.length === 0) {
    const keyNamesCaller = keyDirect.length > 0 || keyRole.length > 0;
    const keyPolicyName = key?.name ?? 'key-policy';
    if (plainIam) {
      if (!sameAccount) gaps.push({ policyType: 'resource-based', policy: 'resource-policy', statement: '' });
      if (identityAllows.length === 0) {
        gaps.push({ policyType: 'identity-based', policy: p.principal.arn, statement: '' });
      }
    } else if (sameAccount) {
      if (!keyNamesCaller && keyAccount.length === 0) {
        gaps.push({ policyType: 'resource-based', policy: keyPolicyName, statement: '' });
      }
      if (!keyNamesCaller && identityAllows.length === 0) {
        gaps.push({ policyType: 'identity-based', policy: p.principal.arn, statement: '' });
      }
    } else {
      if (!keyNamesCaller && keyAccount.length === 0) {
        gaps.push({ policyType: 'resource-based', policy: keyPolicyName, statement: '' });
      }
      if (identityAllows.length === 0) {
        gaps.push({ policyType: 'identity-based', policy: p.principal.arn, statement: '' });
      }
    }
    if (!boundaryOk && boundary !== undefined) {
      gaps.push({ policyType: 'permissions-boundary', policy: boundary.name, statement: '' });
    }
    if (!sessionOk && sessions !== undefined) {
      gaps.push({ policyType: 'session', policy: sessions.map((s) => s.name).join(', '), statement: '' });
    }
  }
  return { decision: 'implicit-deny', decidedBy: gaps };
}
