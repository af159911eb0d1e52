/**
 * Parses and validates a policy document once into the form `evaluate` tests: one readonly object per
 * statement, with lowercased action names, wildcard patterns compiled into matchers, ARN patterns (a
 * literal five-segment prefix, or segment by segment) and parsed condition values. A caller that
 * evaluates the same policies many times compiles them once and keeps the result (core/proof.ts).
 * Grammar: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
 */
import { isAccountId, parseRootArn } from '../commons/arn';
import { PolicyParseError } from '../commons/errors';
import { type ArnPattern, compileArnPattern, isArnShaped } from './arn-pattern';
import { type CompiledCondition, type ConditionOperator, OPERATORS } from './conditions';
import { compileGlob, compileTokens, exactGlob, type Glob, type GlobToken } from './glob';
import { hasVariables, parseTemplate, type TemplatePart } from './template';
import type { DecidedBy, PolicyLayer } from './types';

export interface ActionSet {
  readonly any: boolean;
  /** Lowercased `service:action` names without wildcards. */
  readonly exact: readonly string[];
  readonly patterns: readonly { readonly service: Glob; readonly action: Glob }[];
}

/** A Resource entry with wildcards or variables: an ARN pattern (kind `prefix` or `segments`), stored as it is. */
export type ResourcePattern =
  | Exclude<ArnPattern, { readonly kind: 'invalid' }>
  /** A pattern with fewer than six segments, matched as one string (`arn:aws:kms:*`). */
  | { readonly kind: 'whole'; readonly glob: Glob }
  | { readonly kind: 'whole-template'; readonly parts: readonly TemplatePart[] };

export interface ResourceSet {
  readonly any: boolean;
  /** Full ARNs without wildcards or variables. */
  readonly exact: readonly string[];
  readonly patterns: readonly ResourcePattern[];
}

export interface PrincipalSpec {
  /** `"*"` or `{"AWS": "*"}`: everyone. */
  readonly any: boolean;
  /** Account ids named by 12-digit id or `arn:PARTITION:iam::ACCOUNT:root`. */
  readonly accounts: readonly string[];
  /** Role, user, assumed-role session and other principal ARNs, exactly as written. */
  readonly arns: readonly string[];
  /** Service principals (`kinesis.amazonaws.com`). */
  readonly services: readonly string[];
}

export interface CompiledStatement {
  /** The Sid, else the statement's index as a string. */
  readonly id: string;
  /** What `decidedBy` reports for this statement (read-only: every result gets its own copy). */
  readonly decidedBy: Readonly<DecidedBy>;
  readonly effect: 'Allow' | 'Deny';
  readonly actions: ActionSet;
  readonly notAction: boolean;
  readonly resources: ResourceSet;
  readonly notResource: boolean;
  /** null when the statement has neither Principal nor NotPrincipal (identity-side policies). */
  readonly principal: PrincipalSpec | null;
  readonly notPrincipal: boolean;
  readonly conditions: readonly CompiledCondition[];
}

/** A policy compiled for evaluation. Build it with `compilePolicy`. */
export interface CompiledPolicy {
  readonly name: string;
  readonly layer: PolicyLayer;
  /** In document order. */
  readonly statements: readonly CompiledStatement[];
  /** The Deny statements, then the Allow statements: evaluation tests denies first. */
  readonly denies: readonly CompiledStatement[];
  readonly allows: readonly CompiledStatement[];
}

const POLICY_KEYS: ReadonlySet<string> = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_KEYS: ReadonlySet<string> = new Set([
  'Sid',
  'Effect',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Principal',
  'NotPrincipal',
  'Condition',
]);
const PRINCIPAL_KEYS: ReadonlySet<string> = new Set(['AWS', 'Service', 'Federated', 'CanonicalUser']);
const NEEDS_PRINCIPAL: ReadonlySet<PolicyLayer> = new Set(['resource-based', 'resource-control']);

/** Throws the PolicyParseError for `message` in policy `name`. */
function fail(name: string, message: string): never {
  throw new PolicyParseError(`policy ${name}: ${message}`);
}

/**
 * Parses and validates once; throws PolicyParseError naming the problem
 * (e.g. 'Statement[2].Effect must be "Allow" or "Deny"'). A JSON string is parsed first (IAM and KMS APIs
 * return documents as strings).
 */
export function compilePolicy(document: unknown, name: string, layer: PolicyLayer): CompiledPolicy {
  let doc = document;
  if (typeof doc === 'string') {
    try {
      doc = JSON.parse(doc);
    } catch {
      fail(name, 'is not valid JSON');
    }
  }
  if (!isObject(doc)) return fail(name, 'must be a JSON object');
  for (const key of Object.keys(doc)) {
    if (!POLICY_KEYS.has(key)) fail(name, `has unknown element "${key}"`);
  }
  const version = doc.Version;
  if (version !== undefined && version !== '2012-10-17' && version !== '2008-10-17') {
    fail(name, 'Version must be "2012-10-17" or "2008-10-17"');
  }
  // Policy variables exist only in version 2012-10-17; before it `${...}` is literal text.
  const variables = version === '2012-10-17';
  const raw = doc.Statement;
  if (raw === undefined) fail(name, 'has no Statement');
  const list: readonly unknown[] = Array.isArray(raw) ? raw : [raw];
  const statements = list.map((statement, i) => {
    const where = Array.isArray(raw) ? `Statement[${i}]` : 'Statement';
    try {
      return compileStatement(statement, String(i), { policy: name, layer, variables });
    } catch (error) {
      if (error instanceof Problem) fail(name, `${where}${error.message}`);
      throw error;
    }
  });
  return {
    name,
    layer,
    statements,
    denies: compact(statements.filter((s) => s.effect === 'Deny')),
    allows: compact(statements.filter((s) => s.effect === 'Allow')),
  };
}

/**
 * A problem in a statement, thrown with the rest of its path (`.Action[2] ...`) and turned into the
 * PolicyParseError by compilePolicy, which knows the statement's place.
 */
class Problem {
  constructor(readonly message: string) {}
}
function bad(message: string): never {
  throw new Problem(message);
}

interface Where {
  readonly policy: string;
  readonly layer: PolicyLayer;
  /** Whether the policy's version has policy variables (2012-10-17). */
  readonly variables: boolean;
}

function compileStatement(raw: unknown, index: string, where: Where): CompiledStatement {
  if (!isObject(raw)) return bad(' must be an object');
  for (const key of Object.keys(raw)) {
    if (!STATEMENT_KEYS.has(key)) bad(` has unknown element "${key}"`);
  }
  const { Sid: sid, Effect: effect, Condition: condition } = raw;
  if (sid !== undefined && typeof sid !== 'string') bad('.Sid must be a string');
  if (effect !== 'Allow' && effect !== 'Deny') return bad('.Effect must be "Allow" or "Deny"');

  // KMS stores a key-policy statement that lacks Action or Resource, and it has no effect
  // (https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html): it is read as matching
  // nothing rather than refusing the whole key policy. IAM and Organizations reject such statements.
  const inert = where.layer === 'resource-based';
  const hasAction = raw.Action !== undefined;
  const hasNotAction = raw.NotAction !== undefined;
  if (hasAction && hasNotAction) bad(' must not have both Action and NotAction');
  let actions: ActionSet;
  if (hasAction) actions = compileActions(raw.Action, '.Action');
  else if (hasNotAction) actions = compileActions(raw.NotAction, '.NotAction');
  else if (inert) actions = NO_ACTION;
  else return bad(' must have exactly one of Action or NotAction');

  const hasResource = raw.Resource !== undefined;
  const hasNotResource = raw.NotResource !== undefined;
  if (hasResource && hasNotResource) bad(' must not have both Resource and NotResource');
  let resources: ResourceSet;
  if (hasResource) resources = compileResources(raw.Resource, '.Resource', where.variables);
  else if (hasNotResource) resources = compileResources(raw.NotResource, '.NotResource', where.variables);
  // SCPs written before Resource became mandatory default to every resource.
  else if (where.layer === 'service-control') resources = ANY_RESOURCE;
  else if (inert) resources = NO_RESOURCE;
  else return bad(' must have Resource or NotResource');

  const hasPrincipal = raw.Principal !== undefined;
  const hasNotPrincipal = raw.NotPrincipal !== undefined;
  if (hasPrincipal && hasNotPrincipal) bad(' must not have both Principal and NotPrincipal');
  let principal: PrincipalSpec | null = null;
  if (NEEDS_PRINCIPAL.has(where.layer)) {
    if (hasPrincipal) principal = compilePrincipal(raw.Principal, '.Principal');
    else if (hasNotPrincipal) principal = compilePrincipal(raw.NotPrincipal, '.NotPrincipal');
    else bad(` must have Principal or NotPrincipal in a ${where.layer} policy`);
    // An Allow with NotPrincipal is legal in a resource-based policy, if discouraged; RCPs only deny
    // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html).
    if (hasNotPrincipal && effect !== 'Deny' && where.layer !== 'resource-based') {
      bad('.NotPrincipal must be used with "Effect": "Deny"');
    }
  } else if (hasPrincipal || hasNotPrincipal) {
    bad(` must not have ${hasPrincipal ? 'Principal' : 'NotPrincipal'} in a ${where.layer} policy`);
  }

  const conditions = condition === undefined ? NONE : compact(compileConditions(condition, where.variables));
  const id = sid === undefined || sid === '' ? index : sid;
  // What every evaluation reads comes first: the object's first cache line holds it.
  return {
    actions,
    notAction: hasNotAction,
    resources,
    notResource: hasNotResource,
    principal,
    notPrincipal: hasNotPrincipal,
    conditions,
    effect,
    id,
    decidedBy: { policyType: where.layer, policy: where.policy, statement: id },
  };
}

// Most lists of a compiled statement are empty, and most Action and Resource elements are "*": these
// share one object each, so that a large set of policies stays small in memory. The empty list is
// readonly by type only: a frozen array has an elements kind of its own, and every loop and `includes`
// over compiled lists that sees both kinds runs about 10% slower (measured with the bench).
const NONE: readonly never[] = [];
const ANY_ACTION: ActionSet = { any: true, exact: NONE, patterns: NONE };
const ANY_RESOURCE: ResourceSet = { any: true, exact: NONE, patterns: NONE };
const ANY_PRINCIPAL: PrincipalSpec = { any: true, accounts: NONE, arns: NONE, services: NONE };
/** The Action and Resource of a key-policy statement that lacks them: they match nothing. */
const NO_ACTION: ActionSet = { any: false, exact: NONE, patterns: NONE };
const NO_RESOURCE: ResourceSet = { any: false, exact: NONE, patterns: NONE };

/**
 * `list` at its exact length (an array grown by push keeps room for more), or the shared empty list:
 * compiled lists hold a handful of entries and live as long as their policy.
 */
const compact = <T>(list: readonly T[]): readonly T[] => (list.length === 0 ? NONE : list.slice());

function compileActions(value: unknown, where: string): ActionSet {
  const list = strings(value, where);
  let any = false;
  const exact: string[] = [];
  const patterns: { service: Glob; action: Glob }[] = [];
  list.forEach((raw, i) => {
    const action = raw.toLowerCase();
    if (action === '*') {
      any = true;
      return;
    }
    const colon = action.indexOf(':');
    if (colon <= 0) bad(`${where}[${i}] "${raw}" must be "*" or "service:action"`);
    if (!action.includes('*') && !action.includes('?')) exact.push(action);
    else {
      patterns.push({
        service: compileGlob(action.slice(0, colon)),
        action: compileGlob(action.slice(colon + 1)),
      });
    }
  });
  if (any && exact.length === 0 && patterns.length === 0) return ANY_ACTION;
  return { any, exact: compact(exact), patterns: compact(patterns) };
}

function compileResources(value: unknown, where: string, variables: boolean): ResourceSet {
  let any = false;
  const exact: string[] = [];
  const patterns: ResourcePattern[] = [];
  for (const raw of strings(value, where)) {
    if (raw === '*') {
      any = true;
      continue;
    }
    const parts = parseTemplate(raw, variables, true);
    if (parts.every((part) => typeof part === 'string')) {
      // No wildcard, no variable: a full ARN is compared as one string, anything else is a whole-string glob.
      const text = parts.join('');
      if (isArnShaped(text)) exact.push(text);
      else patterns.push({ kind: 'whole', glob: exactGlob(text) });
      continue;
    }
    const arn = compileArnPattern(parts);
    if (arn.kind !== 'invalid') patterns.push(arn);
    else if (hasVariables(parts)) patterns.push({ kind: 'whole-template', parts });
    else patterns.push({ kind: 'whole', glob: compileTokens(parts as GlobToken[]) });
  }
  if (any && exact.length === 0 && patterns.length === 0) return ANY_RESOURCE;
  return { any, exact: compact(exact), patterns: compact(patterns) };
}

function compilePrincipal(raw: unknown, where: string): PrincipalSpec {
  if (raw === '*') return ANY_PRINCIPAL;
  if (!isObject(raw)) return bad(`${where} must be "*" or an object such as {"AWS": ...}`);
  let any = false;
  const accounts: string[] = [];
  const arns: string[] = [];
  const services: string[] = [];
  for (const kind of Object.keys(raw)) {
    if (!PRINCIPAL_KEYS.has(kind)) bad(`${where} has unknown principal type "${kind}"`);
    const value = raw[kind];
    const list = typeof value === 'string' ? [value] : strings(value, kind, where);
    for (const v of list) {
      if (kind === 'AWS') {
        if (v === '*') any = true;
        else if (isAccountId(v)) accounts.push(v);
        else {
          const root = parseRootArn(v);
          if (root) accounts.push(root.accountId);
          else arns.push(v);
        }
      } else if (kind === 'Service') {
        services.push(v.toLowerCase());
      } else {
        arns.push(v);
      }
    }
  }
  return { any, accounts: compact(accounts), arns: compact(arns), services: compact(services) };
}

/** A condition operator as written (`ForAnyValue:StringLikeIfExists`), parsed. */
interface OperatorSpec {
  /** null for `Null`. */
  readonly operator: ConditionOperator | null;
  readonly set: 'none' | 'any' | 'all';
  readonly ifExists: boolean;
}

function operatorSpec(operatorText: string): OperatorSpec {
  let rest = operatorText;
  let set: 'none' | 'any' | 'all' = 'none';
  const text = operatorText.toLowerCase();
  if (text.startsWith('forallvalues:')) {
    set = 'all';
    rest = operatorText.slice('forallvalues:'.length);
  } else if (text.startsWith('foranyvalue:')) {
    set = 'any';
    rest = operatorText.slice('foranyvalue:'.length);
  }
  let base = rest.toLowerCase();
  const ifExists = base.endsWith('ifexists');
  if (ifExists) base = base.slice(0, -'ifexists'.length);
  const isNull = base === 'null';
  const operator = isNull ? null : OPERATORS.get(base);
  if (operator === undefined) bad(`.Condition has unknown operator "${operatorText}"`);
  if (isNull && (ifExists || set !== 'none')) bad(`.Condition operator "${operatorText}" is not valid`);
  return { operator: operator ?? null, set, ifExists };
}

function compileConditions(raw: unknown, variables: boolean): CompiledCondition[] {
  if (!isObject(raw)) return bad('.Condition must be an object');
  const out: CompiledCondition[] = [];
  for (const [operatorText, block] of Object.entries(raw)) {
    const spec = operatorSpec(operatorText);
    if (!isObject(block)) return bad(`.Condition.${operatorText} must be an object of condition keys`);
    for (const [key, value] of Object.entries(block)) {
      out.push(compileCondition(spec, operatorText, key, value, variables));
    }
  }
  return out;
}

function compileCondition(
  spec: OperatorSpec,
  operatorText: string,
  key: string,
  value: unknown,
  variables: boolean,
): CompiledCondition {
  // Every value is checked before any is compiled.
  const texts = scalars(value, operatorText, key);
  const { operator } = spec;
  const values = texts.map((text): unknown => {
    if (operator) return operator.compile(text, variables);
    const v = text.toLowerCase();
    if (v !== 'true' && v !== 'false') bad(`.Condition.${operatorText}["${key}"] must be "true" or "false"`);
    return v === 'true';
  });
  // What evaluation reads first (see compileStatement); operatorText is for messages.
  return { key: key.toLowerCase(), operator, set: spec.set, ifExists: spec.ifExists, values, operatorText };
}

/**
 * A string or a non-empty array of strings, as Action, Resource and principal values must be. `where` is
 * the element (`.Action`); `within` prefixes it for principal values (`.Principal` + `.AWS`).
 */
function strings(value: unknown, where: string, within = ''): readonly string[] {
  const at = within === '' ? where : `${within}.${where}`;
  if (!Array.isArray(value)) {
    if (typeof value !== 'string') bad(`${at} must be a string`);
    return [value as string];
  }
  if (value.length === 0) bad(`${at} must not be empty`);
  value.forEach((v, i) => {
    if (typeof v !== 'string') bad(`${at}[${i}] must be a string`);
  });
  return value as string[];
}

/** A condition's values as text. */
function scalars(value: unknown, operatorText: string, key: string): readonly string[] {
  if (!Array.isArray(value)) return [scalar(value, operatorText, key)];
  if (value.length === 0) bad(`.Condition.${operatorText}["${key}"] must have at least one value`);
  return value.map((v) => scalar(v, operatorText, key));
}

function scalar(v: unknown, operatorText: string, key: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return bad(`.Condition.${operatorText}["${key}"] values must be strings, numbers or booleans`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
