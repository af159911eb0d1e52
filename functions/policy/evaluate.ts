/**
 * AWS authorization of one request against compiled policies, with the KMS rules on top of the general
 * evaluation logic (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
 * https://docs.aws.amazon.com/kms/latest/developerguide/control-access.html). docs/evaluator.md describes
 * what is modelled and the choices made where AWS documentation is silent.
 */
import * as arnModule from './arn-pattern';
import type { ActionSet, CompiledPolicy, PrincipalSpec, ResourceSet } from './compile';
import * as compileModule from './compile';
import type { CompiledCondition } from './conditions';
import * as conditionsModule from './conditions';
import { takesEncryptionContext } from './context';
import * as globModule from './glob';
import * as memoModule from './memo';
import { Memo } from './memo';
import type { Ctx } from './template';
import * as templateModule from './template';
import type {
  AuthorizationRequest,
  ContextValue,
  DecidedBy,
  EvaluationResult,
  KmsGrant,
  PolicySet,
  RequestPrincipal,
} from './types';

// Hot functions of other modules, bound once. Run under tsx (the CLI, npm run bench), each use of an
// imported name reads it through a getter on the module's exports: binding them here makes evaluation
// ~12% faster.
const { arnPatternMatches, isArnShaped, segmentMatches } = arnModule;
const { STRIDE } = compileModule;
const { Actions, Resources, Principal, Conditions, Flags, Id } = compileModule.Slot;
const { Deny, NotAction, NotResource, NotPrincipal } = compileModule.Flag;
const { evaluateCondition } = conditionsModule;
const { globMatch } = globModule;
const { matchTemplate } = templateModule;
const { canonical, lower } = memoModule;

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

const PRINCIPAL_TYPE: Record<RequestPrincipal['type'], string> = {
  AssumedRole: 'AssumedRole',
  IAMUser: 'User',
  Root: 'Account',
  FederatedUser: 'FederatedUser',
};

/** Keys of principal tags (`aws:principaltag/team`) by tag name. */
const TAG_KEYS = new Memo<string>();
function tagKey(tag: string): string {
  return TAG_KEYS.get(tag) ?? TAG_KEYS.set(tag, `aws:principaltag/${lower(tag)}`);
}
const TAG_PREFIX = 'aws:principaltag/';

interface ActionName {
  /** Lowercased `service:action` (the shared string of memo.ts `lower`), and its two halves. */
  readonly action: string;
  readonly service: string;
  readonly name: string;
}
const ACTION_NAMES = new Memo<ActionName>();
function actionName(action: string): ActionName {
  const hit = ACTION_NAMES.get(action);
  if (hit !== undefined) return hit;
  const l = lower(action);
  const colon = l.indexOf(':');
  return ACTION_NAMES.set(action, {
    action: l,
    service: colon === -1 ? '' : l.slice(0, colon),
    name: l.slice(colon + 1),
  });
}

/**
 * The request as statements test it, read once per evaluation, and its context as conditions and policy
 * variables read it (Ctx): key names without case, where a later key wins over an earlier one that
 * differs only in case, and the caller's own global keys (principalContext) where the request does not
 * carry them. The key names are lowercased on the first read only: most statements never reach a
 * condition or a policy variable.
 */
class Prepared implements Ctx {
  readonly principal: RequestPrincipal;
  readonly accountId: string;
  /** Lowercased `service:action`, and its two halves. */
  readonly action: string;
  readonly service: string;
  readonly actionName: string;
  readonly resource: string;
  readonly boundaryAttached: boolean;
  private readonly context: Record<string, ContextValue>;
  /** The context's lowercased key names (memo.ts `lower`) and values, in order, absent values left out. */
  private keys: string[] | null = null;
  private values: ContextValue[] | null = null;
  /** Whether the resource has six ARN segments: 1 yes, 0 no, -1 not yet known. */
  private shaped = -1;
  private exact: string | null = null;
  private prefix: string | null | undefined = undefined;

  constructor(request: AuthorizationRequest, boundaryAttached: boolean) {
    const principal = request.principal;
    this.principal = principal;
    this.accountId = principal.accountId;
    const action = actionName(request.action);
    this.action = action.action;
    this.service = action.service;
    this.actionName = action.name;
    this.resource = request.resource;
    this.boundaryAttached = boundaryAttached;
    this.context = request.context;
  }

  get(key: string): string | readonly string[] | undefined {
    if (this.keys === null) this.index();
    const keys = this.keys as string[];
    // From the end: the last key of that name wins.
    for (let i = keys.length - 1; i >= 0; i--) {
      if (keys[i] === key) {
        const v = (this.values as ContextValue[])[i];
        return Array.isArray(v) ? stringsOf(v) : String(v);
      }
    }
    return this.principalValue(key);
  }

  private index(): void {
    const keys: string[] = [];
    const values: ContextValue[] = [];
    const context = this.context;
    for (const key in context) {
      const v = context[key];
      if (v === undefined || v === null) continue;
      keys.push(lower(key));
      values.push(v);
    }
    this.keys = keys;
    this.values = values;
  }

  /** The caller's global keys, as principalContext gives them (tags: the first tag of that name). */
  private principalValue(key: string): string | undefined {
    const principal = this.principal;
    switch (key) {
      case 'aws:principalarn':
        return principal.arn;
      case 'aws:principalaccount':
        return principal.accountId;
      case 'aws:principaltype':
        return PRINCIPAL_TYPE[principal.type];
      case 'aws:userid':
        return principal.userId;
      case 'aws:username':
        return principal.type === 'IAMUser' ? principal.username : undefined;
    }
    const tags = principal.tags;
    if (tags !== undefined && key.startsWith(TAG_PREFIX)) {
      for (const tag in tags) {
        const v = tags[tag];
        if (v !== undefined && tagKey(tag) === key) return v;
      }
    }
    return undefined;
  }

  get resourceShaped(): boolean {
    if (this.shaped === -1) this.shaped = isArnShaped(this.resource) ? 1 : 0;
    return this.shaped === 1;
  }

  /**
   * The resource as its canonical string, and its first five ARN segments with their colons (null for
   * fewer): compiled exact ARNs and ARN prefixes are canonical too, so a match is usually a reference
   * comparison.
   */
  get exactResource(): string {
    if (this.exact === null) this.exact = canonical(this.resource);
    return this.exact;
  }

  get resourcePrefix(): string | null {
    if (this.prefix === undefined) {
      let at = -1;
      for (let n = 0; n < 5 && (n === 0 || at !== -1); n++) at = this.resource.indexOf(':', at + 1);
      this.prefix = at === -1 ? null : canonical(this.resource.slice(0, at + 1));
    }
    return this.prefix;
  }
}

/** The array itself when it holds strings only (the usual case; it is only read), else a string copy. */
function stringsOf(values: readonly unknown[]): readonly string[] {
  for (const v of values) if (typeof v !== 'string') return values.map(String);
  return values as readonly string[];
}

function actionsMatch(set: ActionSet, p: Prepared): boolean {
  if (set.any) return true;
  const exact = set.exact;
  for (let i = 0; i < exact.length; i++) if (exact[i] === p.action) return true;
  const patterns = set.patterns;
  for (let i = 0; i < patterns.length; i++) {
    const pattern = patterns[i] as (typeof patterns)[number];
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
  if (set.any) return true;
  const resource = p.resource;
  const exact = set.exact;
  if (exact.length > 0) {
    const canonicalResource = p.exactResource;
    for (let i = 0; i < exact.length; i++) if (exact[i] === canonicalResource) return true;
  }
  const patterns = set.patterns;
  let unresolved = false;
  for (let i = 0; i < patterns.length; i++) {
    const pattern = patterns[i] as (typeof patterns)[number];
    let m: boolean | null;
    if (pattern.kind === 'arn') {
      const arn = pattern.pattern;
      if (arn.kind === 'prefix') {
        // The resource's five first segments are the pattern's, or it does not match.
        m =
          arn.prefix === p.resourcePrefix &&
          segmentMatches(arn.rest, p, resource, arn.prefix.length, resource.length);
      } else {
        if (!p.resourceShaped) continue;
        m = arnPatternMatches(arn, resource, p);
      }
    } else if (pattern.kind === 'whole') {
      m = globMatch(pattern.glob, resource);
    } else {
      m = matchTemplate(pattern.parts, p, resource, 0, resource.length);
    }
    if (m === true) return true;
    if (m === null) unresolved = true;
  }
  return unresolved ? null : false;
}

function principalMatch(spec: PrincipalSpec, p: Prepared): Match {
  if (spec.any) return Match.Direct;
  const principal = p.principal;
  if (principal.sessionArn !== undefined && spec.arns.includes(principal.sessionArn)) return Match.Direct;
  if (spec.arns.includes(principal.arn)) return principal.type === 'AssumedRole' ? Match.Role : Match.Direct;
  if (spec.accounts.includes(p.accountId)) return principal.type === 'Root' ? Match.Direct : Match.Account;
  return Match.None;
}

/**
 * NotPrincipal (Deny only): AWS may check the account, then the role or user, then the session, and
 * denies unless every one of them is listed. So the statement applies when any identity in the caller's
 * chain is missing from the list, and always for a caller with a permissions boundary
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html).
 */
function notPrincipalApplies(spec: PrincipalSpec, p: Prepared, deny: boolean): boolean {
  // The boundary rule is AWS's for Deny; an Allow with NotPrincipal (legal in a key policy) allows
  // whoever is not listed, by the same chain.
  if (deny && p.boundaryAttached) return true;
  if (spec.any) return false;
  const principal = p.principal;
  if (!spec.accounts.includes(p.accountId)) return true;
  if (principal.type === 'Root') return false;
  if (!spec.arns.includes(principal.arn)) return true;
  return principal.sessionArn !== undefined && !spec.arns.includes(principal.sessionArn);
}

/**
 * Whether the statement at `base` of a policy table applies to the request; for statements with a
 * principal, how it matched.
 */
function applies(t: readonly unknown[], base: number, p: Prepared): Match {
  const flags = t[base + Flags] as number;
  if (actionsMatch(t[base + Actions] as ActionSet, p) === ((flags & NotAction) !== 0)) return Match.None;
  const resource = resourcesMatch(t[base + Resources] as ResourceSet, p);
  if (flags & NotResource ? resource !== false : resource !== true) return Match.None;
  let match: Match = Match.Direct;
  const principal = t[base + Principal] as PrincipalSpec | null;
  if (principal !== null) {
    if (flags & NotPrincipal) {
      if (!notPrincipalApplies(principal, p, (flags & Deny) !== 0)) return Match.None;
    } else {
      match = principalMatch(principal, p);
      if (match === Match.None) return Match.None;
    }
  }
  const conditions = t[base + Conditions] as readonly CompiledCondition[];
  for (let i = 0; i < conditions.length; i++) {
    if (!evaluateCondition(conditions[i] as CompiledCondition, p)) return Match.None;
  }
  return match;
}

/** What decided: the statement at `base` of `policy` (each result gets its own objects). */
const hit = (policy: CompiledPolicy, base: number): DecidedBy => ({
  policyType: policy.layer,
  policy: policy.name,
  statement: policy.table[base + Id] as string,
});

/** Adds the Deny statements of `policy` that apply to `into` (allocated on the first one). */
function addDenies(policy: CompiledPolicy, p: Prepared, into: DecidedBy[] | null): DecidedBy[] | null {
  if (policy.denies === 0) return into;
  const t = policy.table;
  const end = policy.size * STRIDE;
  let out = into;
  for (let base = 0; base < end; base += STRIDE) {
    if ((t[base + Flags] as number) & Deny && applies(t, base, p) !== Match.None) {
      out ??= [];
      out.push(hit(policy, base));
    }
  }
  return out;
}

function addAllDenies(policies: readonly CompiledPolicy[], p: Prepared, into: DecidedBy[] | null) {
  let out = into;
  for (let i = 0; i < policies.length; i++) out = addDenies(policies[i] as CompiledPolicy, p, out);
  return out;
}

/** The Allow statements of the policies that apply. */
function allowsOf(policies: readonly CompiledPolicy[], p: Prepared): DecidedBy[] {
  let out: DecidedBy[] | undefined;
  for (let i = 0; i < policies.length; i++) {
    const policy = policies[i] as CompiledPolicy;
    if (policy.denies === policy.size) continue;
    const t = policy.table;
    const end = policy.size * STRIDE;
    for (let base = 0; base < end; base += STRIDE) {
      if ((t[base + Flags] as number) & Deny || applies(t, base, p) === Match.None) continue;
      out ??= [];
      out.push(hit(policy, base));
    }
  }
  return out ?? NONE;
}

/** Whether some Allow statement of the policy applies (stops at the first). */
function policyAllows(policy: CompiledPolicy, p: Prepared): boolean {
  if (policy.denies === policy.size) return false;
  const t = policy.table;
  const end = policy.size * STRIDE;
  for (let base = 0; base < end; base += STRIDE) {
    if (!((t[base + Flags] as number) & Deny) && applies(t, base, p) !== Match.None) return true;
  }
  return false;
}

function someAllow(policies: readonly CompiledPolicy[], p: Prepared): boolean {
  for (let i = 0; i < policies.length; i++) if (policyAllows(policies[i] as CompiledPolicy, p)) return true;
  return false;
}

const NONE: DecidedBy[] = [];

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
  const key = policies.resourcePolicy;
  const scps = policies.serviceControlPolicies;
  const rcps = policies.resourceControlPolicies;
  const p = new Prepared(request, boundary !== undefined);

  // Explicit denies first, layer by layer in the order decidedBy lists them: when one applies, no Allow
  // statement needs testing. RCPs count for their denies only: RCPFullAWSAccess is attached at every level
  // and cannot be detached (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html).
  let denies = addAllDenies(policies.identityPolicies, p, null);
  if (boundary !== undefined) denies = addDenies(boundary, p, denies);
  if (hasSession) denies = addAllDenies(sessions, p, denies);
  if (key !== undefined) denies = addDenies(key, p, denies);
  if (scps !== undefined) for (const level of scps) denies = addAllDenies(level, p, denies);
  if (rcps !== undefined) for (const level of rcps) denies = addAllDenies(level, p, denies);
  if (denies !== null) return { decision: 'explicit-deny', decidedBy: denies };

  const identityAllows = allowsOf(policies.identityPolicies, p);
  const boundaryOk = boundary === undefined || policyAllows(boundary, p);
  const sessionOk = !hasSession || someAllow(sessions, p);

  let keyDirect = NONE;
  let keyRole = NONE;
  let keyAccount = NONE;
  if (key !== undefined) {
    const t = key.table;
    const end = key.size * STRIDE;
    for (let base = 0; base < end; base += STRIDE) {
      if ((t[base + Flags] as number) & Deny) continue;
      const match = applies(t, base, p);
      if (match === Match.None) continue;
      if (match === Match.Direct) {
        if (keyDirect === NONE) keyDirect = [];
        keyDirect.push(hit(key, base));
      } else if (match === Match.Role) {
        if (keyRole === NONE) keyRole = [];
        keyRole.push(hit(key, base));
      } else {
        if (keyAccount === NONE) keyAccount = [];
        keyAccount.push(hit(key, base));
      }
    }
  }

  // SCPs: every level from the root to the account must allow.
  const scpGaps: DecidedBy[] = [];
  if (scps !== undefined) {
    for (let i = 0; i < scps.length; i++) {
      const level = scps[i] as CompiledPolicy[];
      if (someAllow(level, p)) continue;
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

  if (granted.length > 0 && scpGaps.length === 0) return { decision: 'allowed', decidedBy: granted };

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
