/**
 * AWS authorization of one request against compiled policies, with the KMS rules on top of the general
 * evaluation logic (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
 * https://docs.aws.amazon.com/kms/latest/developerguide/control-access.html). docs/evaluator.md describes
 * what is modelled and the choices made where AWS documentation is silent.
 *
 * Explicit denies are tested first: when one applies, no Allow statement is tested. Within a statement,
 * the cheap tests (action, resource) come before principals and conditions, and ARNs are matched in
 * place (arn-pattern.ts), without splitting them.
 */
import { arnPatternMatches, segmentMatches } from './arn-pattern';
import type { ActionSet, CompiledPolicy, CompiledStatement, PrincipalSpec, ResourceSet } from './compile';
import { evaluateCondition } from './conditions';
import { globMatch } from './glob';
import { matchingGrants } from './grants';
import { RequestView } from './request-context';
import { matchTemplate } from './template';
import type { AuthorizationRequest, DecidedBy, EvaluationResult, PolicySet } from './types';

/** How a Principal element matches the caller (ordered: higher is more specific). */
const Match = {
  None: 0,
  /** The caller's account (`arn:aws:iam::ACCOUNT:root` or the account id): delegation to IAM. */
  Account: 1,
  /** The role ARN of a role session: limited by boundaries and session policies. */
  Role: 2,
  /** `*`, the session ARN, the user ARN, or root itself: the caller as such. */
  Direct: 3,
} as const;
type Match = (typeof Match)[keyof typeof Match];

/** Whether `value` is in `list`: a loop the compiler inlines (`includes` is a call into the runtime). */
function listed(list: readonly string[], value: string): boolean {
  for (const entry of list) if (entry === value) return true;
  return false;
}

function actionsMatch(set: ActionSet, view: RequestView): boolean {
  if (set.any || listed(set.exact, view.action)) return true;
  for (const pattern of set.patterns) {
    if (globMatch(pattern.service, view.service) && globMatch(pattern.action, view.actionName)) return true;
  }
  return false;
}

/**
 * true when some entry matches; null when none does but an entry's variable could not be resolved (AWS:
 * "If AWS cannot resolve a variable this might cause the entire statement to be invalid", so a
 * NotResource statement with such an entry does not apply); false otherwise.
 */
function resourcesMatch(set: ResourceSet, view: RequestView): boolean | null {
  const resource = view.resource;
  if (set.any || listed(set.exact, resource)) return true;
  let unresolved = false;
  for (const pattern of set.patterns) {
    let m: boolean | null;
    if (pattern.kind === 'prefix') {
      // The resource's five first segments are the pattern's, or it does not match.
      m =
        pattern.prefix === view.resourcePrefix &&
        segmentMatches(pattern.rest, view, resource, pattern.prefix.length, resource.length);
    } else if (pattern.kind === 'segments') {
      if (!view.resourceShaped) continue;
      m = arnPatternMatches(pattern, resource, view);
    } else if (pattern.kind === 'whole') {
      m = globMatch(pattern.glob, resource);
    } else {
      m = matchTemplate(pattern.parts, view, resource, 0, resource.length);
    }
    if (m === true) return true;
    if (m === null) unresolved = true;
  }
  return unresolved ? null : false;
}

function principalMatch(spec: PrincipalSpec, view: RequestView): Match {
  const { principal } = view;
  if (spec.any) return Match.Direct;
  if (principal.sessionArn !== undefined && listed(spec.arns, principal.sessionArn)) return Match.Direct;
  if (listed(spec.arns, principal.arn)) return principal.type === 'AssumedRole' ? Match.Role : Match.Direct;
  if (listed(spec.accounts, principal.accountId))
    return principal.type === 'Root' ? Match.Direct : Match.Account;
  return Match.None;
}

/**
 * NotPrincipal: AWS may check the account, then the role or user, then the session, and
 * denies unless every one of them is listed. So the statement applies when any identity in the caller's
 * chain is missing from the list, and always for a caller with a permissions boundary
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html).
 */
function notPrincipalApplies(spec: PrincipalSpec, view: RequestView, deny: boolean): boolean {
  const { principal } = view;
  // The boundary rule is AWS's for Deny; an Allow with NotPrincipal (legal in a key policy) allows
  // whoever is not listed, by the same chain.
  if (deny && view.boundaryAttached) return true;
  if (spec.any) return false;
  if (!listed(spec.accounts, principal.accountId)) return true;
  if (principal.type === 'Root') return false;
  if (!listed(spec.arns, principal.arn)) return true;
  return principal.sessionArn !== undefined && !listed(spec.arns, principal.sessionArn);
}

/** Whether the statement applies to the request; for statements with a principal, how it matched. */
function applies(statement: CompiledStatement, view: RequestView): Match {
  if (actionsMatch(statement.actions, view) === statement.notAction) return Match.None;
  const resource = resourcesMatch(statement.resources, view);
  if (statement.notResource ? resource !== false : resource !== true) return Match.None;
  let match: Match = Match.Direct;
  const { principal } = statement;
  if (principal !== null) {
    if (statement.notPrincipal) {
      if (!notPrincipalApplies(principal, view, statement.effect === 'Deny')) return Match.None;
    } else {
      match = principalMatch(principal, view);
      if (match === Match.None) return Match.None;
    }
  }
  for (const condition of statement.conditions) {
    if (!evaluateCondition(condition, view)) return Match.None;
  }
  return match;
}

/** What decided: a copy of the statement's `decidedBy`, so no result shares objects with a policy. */
const hit = ({ decidedBy }: CompiledStatement): DecidedBy => ({
  policyType: decidedBy.policyType,
  policy: decidedBy.policy,
  statement: decidedBy.statement,
});

/** Adds the Deny statements of `policy` that apply to the request to `out`. */
function addDenies(out: DecidedBy[], policy: CompiledPolicy, view: RequestView): void {
  for (const statement of policy.denies) {
    if (applies(statement, view) !== Match.None) out.push(hit(statement));
  }
}

/** The Allow statements of the policies that apply to the request. */
function allowsOf(policies: readonly CompiledPolicy[], view: RequestView): DecidedBy[] {
  const out: DecidedBy[] = [];
  for (const policy of policies) {
    for (const statement of policy.allows) {
      if (applies(statement, view) !== Match.None) out.push(hit(statement));
    }
  }
  return out;
}

/** Whether some Allow statement of the policies applies (stops at the first). */
function someAllow(policies: readonly CompiledPolicy[], view: RequestView): boolean {
  for (const policy of policies) {
    for (const statement of policy.allows) if (applies(statement, view) !== Match.None) return true;
  }
  return false;
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
  const key = policies.resourcePolicy;
  const scps = policies.serviceControlPolicies;
  const rcps = policies.resourceControlPolicies;
  const view = new RequestView(request, boundary !== undefined);

  // Explicit denies first, layer by layer in the order decidedBy lists them: when one applies, no Allow
  // statement needs testing. RCPs count for their denies only: RCPFullAWSAccess is attached at every level
  // and cannot be detached (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html).
  const denies: DecidedBy[] = [];
  for (const policy of policies.identityPolicies) addDenies(denies, policy, view);
  if (boundary !== undefined) addDenies(denies, boundary, view);
  for (const policy of sessions ?? []) addDenies(denies, policy, view);
  if (key !== undefined) addDenies(denies, key, view);
  for (const level of scps ?? []) for (const policy of level) addDenies(denies, policy, view);
  for (const level of rcps ?? []) for (const policy of level) addDenies(denies, policy, view);
  if (denies.length > 0) return { decision: 'explicit-deny', decidedBy: denies };

  const identityAllows = allowsOf(policies.identityPolicies, view);
  const boundaryOk = boundary === undefined || someAllow([boundary], view);
  const sessionOk = !hasSession || someAllow(sessions, view);

  // The key policy's allows, by how their Principal names the caller.
  const keyDirect: DecidedBy[] = [];
  const keyRole: DecidedBy[] = [];
  const keyAccount: DecidedBy[] = [];
  for (const statement of key?.allows ?? []) {
    const match = applies(statement, view);
    if (match === Match.Direct) keyDirect.push(hit(statement));
    else if (match === Match.Role) keyRole.push(hit(statement));
    else if (match === Match.Account) keyAccount.push(hit(statement));
  }

  // SCPs: every level from the root to the account must allow.
  const scpGaps: DecidedBy[] = [];
  if (scps !== undefined) {
    for (let i = 0; i < scps.length; i++) {
      const level = scps[i] as CompiledPolicy[];
      if (someAllow(level, view)) continue;
      const names = level.map((policy) => policy.name).join(', ');
      scpGaps.push({
        policyType: 'service-control',
        policy: names || `service-control-policies[${i}]`,
        statement: '',
      });
    }
  }

  const limitsOk = boundaryOk && sessionOk;
  const grants =
    policies.grants !== undefined && policies.grants.length > 0 && limitsOk
      ? matchingGrants(policies.grants, request, view)
      : [];
  const sameAccount = view.principal.accountId === policies.resourceAccountId;

  const granted: DecidedBy[] = [];
  // Without a key, the request is for another service's resource (a Kinesis stream, say) whose
  // resource policy, if any, the caller did not pass: within one account an identity allow inside
  // the boundary and session limits is enough; across accounts the missing resource policy denies
  // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
  const plainIam = key === undefined && view.service !== 'kms';
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

  if (granted.length > 0 && scpGaps.length === 0) return { decision: 'allowed', decidedBy: granted };

  const gaps = scpGaps;
  if (granted.length === 0) {
    const keyNamesCaller = keyDirect.length > 0 || keyRole.length > 0;
    const keyPolicyName = key?.name ?? 'key-policy';
    if (plainIam) {
      if (!sameAccount) gaps.push({ policyType: 'resource-based', policy: 'resource-policy', statement: '' });
      if (identityAllows.length === 0) {
        gaps.push({ policyType: 'identity-based', policy: view.principal.arn, statement: '' });
      }
    } else if (sameAccount) {
      if (!keyNamesCaller && keyAccount.length === 0) {
        gaps.push({ policyType: 'resource-based', policy: keyPolicyName, statement: '' });
      }
      if (!keyNamesCaller && identityAllows.length === 0) {
        gaps.push({ policyType: 'identity-based', policy: view.principal.arn, statement: '' });
      }
    } else {
      if (!keyNamesCaller && keyAccount.length === 0) {
        gaps.push({ policyType: 'resource-based', policy: keyPolicyName, statement: '' });
      }
      if (identityAllows.length === 0) {
        gaps.push({ policyType: 'identity-based', policy: view.principal.arn, statement: '' });
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
