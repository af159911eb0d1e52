/**
 * Parses and validates a policy document once into a form `evaluate` can test quickly: lowercased
 * action sets, precompiled wildcard patterns, ARN patterns split into segments, parsed condition values.
 * Grammar: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
 */
import { PolicyParseError } from '../core/errors';
import { type ArnPattern, compileArnPattern, isArnShaped } from './arn';
import { type CompiledCondition, type ConditionOperator, OPERATORS } from './conditions';
import { compileGlob, compileTokens, exactGlob, type Glob, type GlobToken } from './glob';
import { lower, Memo } from './memo';
import { hasVariables, parseTemplate, type TemplatePart } from './template';
import type { DecidedBy, PolicyLayer } from './types';

// Lists below are arrays, not sets: they hold a handful of entries, which an array compiles and scans
// faster than a Set hashes.

export interface ActionSet {
  readonly any: boolean;
  /** Lowercased `service:action` names without wildcards. */
  readonly exact: readonly string[];
  readonly patterns: readonly { readonly service: Glob; readonly action: Glob }[];
}

export type ResourcePattern =
  | { readonly kind: 'arn'; readonly pattern: ArnPattern }
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
  /** Account ids named by 12-digit id or `arn:aws:iam::ACCOUNT:root`. */
  readonly accounts: readonly string[];
  /** Role, user, assumed-role session and other principal ARNs, exactly as written. */
  readonly arns: readonly string[];
  /** Service principals (`kinesis.amazonaws.com`). */
  readonly services: readonly string[];
}

export interface CompiledStatement {
  /** The Sid, else the statement's index as a string. */
  readonly id: string;
  /** What `decidedBy` reports for this statement (frozen, shared by every result). */
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

/** A policy compiled for evaluation. Build it with `compilePolicy`; treat everything but name and layer as opaque. */
export interface CompiledPolicy {
  readonly name: string;
  readonly layer: PolicyLayer;
  /** Internal: the compiled statements, in document order. */
  readonly statements: readonly CompiledStatement[];
  /** Internal: the Allow statements, in document order. */
  readonly allows: readonly CompiledStatement[];
  /** Internal: the Deny statements, in document order. */
  readonly denies: readonly CompiledStatement[];
}

const POLICY_KEYS = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_KEYS = new Set([
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
const PRINCIPAL_KEYS = new Set(['AWS', 'Service', 'Federated', 'CanonicalUser']);
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
  for (const key of Object.keys(doc)) if (!POLICY_KEYS.has(key)) fail(name, `has unknown element "${key}"`);
  const version = doc.Version;
  if (version !== undefined && version !== '2012-10-17' && version !== '2008-10-17') {
    fail(name, 'Version must be "2012-10-17" or "2008-10-17"');
  }
  // Policy variables exist only in version 2012-10-17; before it `${...}` is literal text.
  const variables = version === '2012-10-17';
  const raw = doc.Statement;
  if (raw === undefined) fail(name, 'has no Statement');
  const many = Array.isArray(raw);
  const list: readonly unknown[] = many ? raw : [raw];
  const statements: CompiledStatement[] = [];
  const allows: CompiledStatement[] = [];
  const denies: CompiledStatement[] = [];
  for (let i = 0; i < list.length; i++) {
    const statement = compileStatement(list[i], many ? i : -1, i, name, layer, variables);
    statements.push(statement);
    (statement.effect === 'Allow' ? allows : denies).push(statement);
  }
  return { name, layer, statements, allows, denies };
}

/**
 * A problem in a statement, thrown with the rest of its path (`.Action[2] ...`) and turned into the
 * PolicyParseError by compileStatement: paths (`Statement[2].Action`) are built only when a check fails.
 */
class Problem {
  constructor(readonly message: string) {}
}
function bad(message: string): never {
  throw new Problem(message);
}

function compileStatement(
  raw: unknown,
  at: number,
  index: number,
  policyName: string,
  layer: PolicyLayer,
  variables: boolean,
): CompiledStatement {
  try {
    return statementOf(raw, index, policyName, layer, variables);
  } catch (error) {
    if (error instanceof Problem) {
      fail(policyName, `${at < 0 ? 'Statement' : `Statement[${at}]`}${error.message}`);
    }
    throw error;
  }
}

function statementOf(
  raw: unknown,
  index: number,
  policyName: string,
  layer: PolicyLayer,
  variables: boolean,
): CompiledStatement {
  if (!isObject(raw)) return bad(' must be an object');
  for (const key of Object.keys(raw)) if (!STATEMENT_KEYS.has(key)) bad(` has unknown element "${key}"`);
  if (raw.Sid !== undefined && typeof raw.Sid !== 'string') bad('.Sid must be a string');
  if (raw.Effect !== 'Allow' && raw.Effect !== 'Deny') bad('.Effect must be "Allow" or "Deny"');
  const effect = raw.Effect as 'Allow' | 'Deny';

  const hasAction = raw.Action !== undefined;
  if (hasAction === (raw.NotAction !== undefined)) bad(' must have exactly one of Action or NotAction');
  const actions = compileActions(
    hasAction ? raw.Action : raw.NotAction,
    hasAction ? '.Action' : '.NotAction',
  );

  const hasResource = raw.Resource !== undefined;
  const hasNotResource = raw.NotResource !== undefined;
  if (hasResource && hasNotResource) bad(' must not have both Resource and NotResource');
  let resources: ResourceSet;
  if (!hasResource && !hasNotResource) {
    // SCPs written before Resource became mandatory default to every resource.
    if (layer !== 'service-control') bad(' must have Resource or NotResource');
    resources = ANY_RESOURCE;
  } else {
    resources = compileResources(
      hasResource ? raw.Resource : raw.NotResource,
      hasResource ? '.Resource' : '.NotResource',
      variables,
    );
  }

  const hasPrincipal = raw.Principal !== undefined;
  const hasNotPrincipal = raw.NotPrincipal !== undefined;
  if (hasPrincipal && hasNotPrincipal) bad(' must not have both Principal and NotPrincipal');
  let principal: PrincipalSpec | null = null;
  if (NEEDS_PRINCIPAL.has(layer)) {
    if (!hasPrincipal && !hasNotPrincipal) bad(` must have Principal or NotPrincipal in a ${layer} policy`);
    principal = compilePrincipal(
      hasPrincipal ? raw.Principal : raw.NotPrincipal,
      hasPrincipal ? '.Principal' : '.NotPrincipal',
    );
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
    if (hasNotPrincipal && effect !== 'Deny') bad('.NotPrincipal must be used with "Effect": "Deny"');
  } else if (hasPrincipal || hasNotPrincipal) {
    bad(` must not have ${hasPrincipal ? 'Principal' : 'NotPrincipal'} in a ${layer} policy`);
  }

  const conditions =
    raw.Condition === undefined ? NO_CONDITIONS : compileConditions(raw.Condition, variables);
  const id = raw.Sid === undefined || raw.Sid === '' ? String(index) : (raw.Sid as string);
  return {
    id,
    decidedBy: Object.freeze({ policyType: layer, policy: policyName, statement: id }),
    effect,
    actions,
    notAction: !hasAction,
    resources,
    notResource: hasNotResource,
    principal,
    notPrincipal: hasNotPrincipal,
    conditions,
  };
}

const NO_STRINGS: readonly string[] = [];
const NO_CONDITIONS: readonly CompiledCondition[] = [];
const ANY_RESOURCE: ResourceSet = { any: true, exact: NO_STRINGS, patterns: [] };

/** An action pattern with a wildcard, compiled once per process (memo.ts). */
type ActionPattern = ActionSet['patterns'][number];
const ACTION_PATTERNS = new Memo<ActionPattern>();

function compileActions(value: unknown, where: string): ActionSet {
  const list = strings(value, where);
  let any = false;
  const exact: string[] = [];
  const patterns: ActionPattern[] = [];
  for (let i = 0; i < list.length; i++) {
    const raw = list[i] as string;
    // The shared lowercase string: the evaluator's action compares with it by reference.
    const a = lower(raw);
    if (a === '*') {
      any = true;
      continue;
    }
    const colon = a.indexOf(':');
    if (colon <= 0) bad(`${where}[${i}] "${raw}" must be "*" or "service:action"`);
    if (a.indexOf('*') === -1 && a.indexOf('?') === -1) exact.push(a);
    else {
      patterns.push(
        ACTION_PATTERNS.get(a) ??
          ACTION_PATTERNS.set(a, {
            service: compileGlob(a.slice(0, colon)),
            action: compileGlob(a.slice(colon + 1)),
          }),
      );
    }
  }
  return { any, exact, patterns };
}

/** One Resource entry compiled: a full ARN without wildcards (compared as a string), or a pattern. */
type ResourceEntry = ResourcePattern | { readonly kind: 'exact'; readonly text: string };
/** Resource entries by text, for policies with variables (2012-10-17) and without. */
const RESOURCE_ENTRIES = new Memo<ResourceEntry>();
const RESOURCE_ENTRIES_2008 = new Memo<ResourceEntry>();

function compileResources(value: unknown, where: string, variables: boolean): ResourceSet {
  const list = strings(value, where);
  let any = false;
  const exact: string[] = [];
  const patterns: ResourcePattern[] = [];
  const memo = variables ? RESOURCE_ENTRIES : RESOURCE_ENTRIES_2008;
  for (let i = 0; i < list.length; i++) {
    const raw = list[i] as string;
    if (raw === '*') {
      any = true;
      continue;
    }
    const entry = memo.get(raw) ?? memo.set(raw, resourceEntry(raw, variables));
    if (entry.kind === 'exact') exact.push(entry.text);
    else patterns.push(entry);
  }
  return { any, exact, patterns };
}

function resourceEntry(raw: string, variables: boolean): ResourceEntry {
  const parts = parseTemplate(raw, variables, true);
  let literal = true;
  for (const part of parts) if (typeof part !== 'string') literal = false;
  if (literal) {
    // No wildcard, no variable: a full ARN is compared as one string, anything else is a whole-string glob.
    const text = parts.length === 1 ? (parts[0] as string) : parts.join('');
    return isArnShaped(text) ? { kind: 'exact', text } : { kind: 'whole', glob: exactGlob(text) };
  }
  const arn = compileArnPattern(parts);
  if (arn.kind !== 'invalid') return { kind: 'arn', pattern: arn };
  return hasVariables(parts)
    ? { kind: 'whole-template', parts }
    : { kind: 'whole', glob: compileTokens(parts as GlobToken[]) };
}

const ACCOUNT_ID = /^\d{12}$/;
const ROOT_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):root$/;

const ANY_PRINCIPAL: PrincipalSpec = {
  any: true,
  accounts: NO_STRINGS,
  arns: NO_STRINGS,
  services: NO_STRINGS,
};

function compilePrincipal(raw: unknown, where: string): PrincipalSpec {
  if (raw === '*') return ANY_PRINCIPAL;
  if (!isObject(raw)) return bad(`${where} must be "*" or an object such as {"AWS": ...}`);
  let any = false;
  const accounts: string[] = [];
  const arns: string[] = [];
  const services: string[] = [];
  for (const kind of Object.keys(raw)) {
    if (!PRINCIPAL_KEYS.has(kind)) bad(`${where} has unknown principal type "${kind}"`);
    const list = strings(raw[kind], kind, where);
    for (let i = 0; i < list.length; i++) {
      const v = list[i] as string;
      if (kind === 'AWS') {
        if (v === '*') any = true;
        else if (ACCOUNT_ID.test(v)) accounts.push(v);
        else {
          const root = ROOT_ARN.exec(v);
          if (root) accounts.push(root[1] as string);
          else arns.push(v);
        }
      } else if (kind === 'Service') {
        services.push(v.toLowerCase());
      } else {
        arns.push(v);
      }
    }
  }
  return { any, accounts, arns, services };
}

/** A condition operator as written (`ForAnyValue:StringLikeIfExists`), parsed. */
interface OperatorSpec {
  /** null for `Null`. */
  readonly operator: ConditionOperator | null;
  readonly set: 'none' | 'any' | 'all';
  readonly ifExists: boolean;
}
const OPERATOR_SPECS = new Memo<OperatorSpec>();

function operatorSpec(operatorText: string): OperatorSpec {
  const hit = OPERATOR_SPECS.get(operatorText);
  if (hit !== undefined) return hit;
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
  return OPERATOR_SPECS.set(operatorText, { operator: operator ?? null, set, ifExists });
}

/** Compiled condition values by operator and text, for policies with variables (2012-10-17) and without. */
const CONDITION_VALUES = new Map<ConditionOperator, Memo<unknown>>();
const CONDITION_VALUES_2008 = new Map<ConditionOperator, Memo<unknown>>();

function conditionValue(operator: ConditionOperator, text: string, variables: boolean): unknown {
  const memos = variables ? CONDITION_VALUES : CONDITION_VALUES_2008;
  let memo = memos.get(operator);
  if (memo === undefined) {
    memo = new Memo<unknown>();
    memos.set(operator, memo);
  }
  return memo.get(text) ?? memo.set(text, operator.compile(text, variables));
}

function compileConditions(raw: unknown, variables: boolean): CompiledCondition[] {
  if (!isObject(raw)) return bad('.Condition must be an object');
  const out: CompiledCondition[] = [];
  for (const operatorText of Object.keys(raw)) {
    const block = raw[operatorText];
    const { operator, set, ifExists } = operatorSpec(operatorText);
    if (!isObject(block)) bad(`.Condition.${operatorText} must be an object of condition keys`);
    const keys = block as Record<string, unknown>;
    for (const key of Object.keys(keys)) {
      const texts = scalars(keys[key], operatorText, key);
      const values: unknown[] = [];
      for (const t of texts) {
        if (operator) values.push(conditionValue(operator, t, variables));
        else {
          const v = t.toLowerCase();
          if (v !== 'true' && v !== 'false')
            bad(`.Condition.${operatorText}["${key}"] must be "true" or "false"`);
          values.push(v === 'true');
        }
      }
      out.push({ operatorText, key: lower(key), operator, set, ifExists, values });
    }
  }
  return out;
}

/**
 * A string or a non-empty array of strings, as Action, Resource and principal values must be. `where` is
 * the element (`.Action`); `within` prefixes it for principal values (`.Principal` + `.AWS`).
 */
function strings(value: unknown, where: string, within = ''): readonly string[] {
  if (!Array.isArray(value)) {
    if (typeof value !== 'string') bad(`${joined(within, where)} must be a string`);
    return [value as string];
  }
  if (value.length === 0) bad(`${joined(within, where)} must not be empty`);
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== 'string') bad(`${joined(within, where)}[${i}] must be a string`);
  }
  return value as string[];
}

const joined = (within: string, where: string) => (within === '' ? where : `${within}.${where}`);

function scalars(value: unknown, operatorText: string, key: string): string[] {
  const list: readonly unknown[] = Array.isArray(value) ? value : [value];
  if (list.length === 0) bad(`.Condition.${operatorText}["${key}"] must have at least one value`);
  const out: string[] = [];
  for (const v of list) {
    if (typeof v === 'string') out.push(v);
    else if (typeof v === 'number' || typeof v === 'boolean') out.push(String(v));
    else bad(`.Condition.${operatorText}["${key}"] values must be strings, numbers or booleans`);
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
