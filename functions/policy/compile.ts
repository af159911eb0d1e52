/**
 * Parses and validates a policy document once into a form `evaluate` can test quickly: lowercased
 * action sets, precompiled wildcard patterns, ARN patterns (a literal five-segment prefix, or segment by
 * segment), parsed condition values, all in one flat table per policy (Slot). Elements that recur across
 * policies (an Action list, a key ARN, a condition) compile once per process and are shared (memo.ts).
 * Grammar: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
 */
import { isAccountId, parseRootArn } from '../commons/arn';
import { PolicyParseError } from '../commons/errors';
import { type ArnPattern, compileArnPattern, isArnShaped } from './arn-pattern';
import { type CompiledCondition, type ConditionOperator, OPERATORS } from './conditions';
import { compileGlob, compileTokens, exactGlob, type Glob, type GlobToken } from './glob';
import { canonical, lower, Memo, Memo3 } from './memo';
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

/**
 * The slots of one statement in CompiledPolicy.table. A policy keeps its statements in one flat array,
 * so that evaluating it reads one or two cache lines however its objects were laid out, and compiling a
 * statement allocates nothing of its own (its elements are shared objects, memo.ts).
 */
export const Slot = { Actions: 0, Resources: 1, Principal: 2, Conditions: 3, Flags: 4, Id: 5 } as const;
/** Slots per statement. */
export const STRIDE = 6;
/** Bits of the Flags slot. */
export const Flag = { Deny: 1, NotAction: 2, NotResource: 4, NotPrincipal: 8 } as const;

/** A policy compiled for evaluation. Build it with `compilePolicy`; treat everything but name and layer as opaque. */
export class CompiledPolicy {
  private materialized: readonly CompiledStatement[] | null = null;

  constructor(
    readonly name: string,
    readonly layer: PolicyLayer,
    /**
     * Internal: STRIDE slots per statement, in document order: ActionSet, ResourceSet, PrincipalSpec or
     * null, conditions, Flag bits, id (the Sid, else the index).
     */
    readonly table: readonly unknown[],
    /** Internal: how many statements, and how many of them are Deny. */
    readonly size: number,
    readonly denies: number,
  ) {}

  /** The compiled statements, in document order (built on first use: the evaluator reads the table). */
  get statements(): readonly CompiledStatement[] {
    if (this.materialized === null) {
      const out: CompiledStatement[] = [];
      for (let i = 0; i < this.size; i++) out.push(statementAt(this, i * STRIDE));
      this.materialized = out;
    }
    return this.materialized;
  }
}

function statementAt(policy: CompiledPolicy, base: number): CompiledStatement {
  const t = policy.table;
  const flags = t[base + Slot.Flags] as number;
  const id = t[base + Slot.Id] as string;
  return {
    id,
    decidedBy: { policyType: policy.layer, policy: policy.name, statement: id },
    effect: flags & Flag.Deny ? 'Deny' : 'Allow',
    actions: t[base + Slot.Actions] as ActionSet,
    notAction: (flags & Flag.NotAction) !== 0,
    resources: t[base + Slot.Resources] as ResourceSet,
    notResource: (flags & Flag.NotResource) !== 0,
    principal: t[base + Slot.Principal] as PrincipalSpec | null,
    notPrincipal: (flags & Flag.NotPrincipal) !== 0,
    conditions: t[base + Slot.Conditions] as readonly CompiledCondition[],
  };
}

// Element names are checked with a switch: a few comparisons of internalized strings, cheaper than a
// Set lookup per element (statementOf reads the statement's the same way).
function isPolicyKey(key: string): boolean {
  switch (key) {
    case 'Version':
    case 'Id':
    case 'Statement':
      return true;
    default:
      return false;
  }
}

const PRINCIPAL_KEYS = new Set(['AWS', 'Service', 'Federated', 'CanonicalUser']);
const NEEDS_PRINCIPAL: ReadonlySet<PolicyLayer> = new Set(['resource-based', 'resource-control']);

/** Throws the PolicyParseError for `message` in policy `name`. */
function fail(name: string, message: string): never {
  throw new PolicyParseError(`policy ${name}: ${message}`);
}

/**
 * Compiled policies of deeply frozen documents, by document: such a document can never change, so the
 * same document, name and layer always compile to the same policy. The account readers hand out frozen
 * state (functions/commons/freeze.ts), so diagnose and its proofs compile each document of an account
 * once, however many policy sets, probes and plans they build from it. Documents that are not deeply
 * frozen (a plan's new key policy, a caller's own object) are compiled afresh every time.
 */
const FROZEN_DOCUMENTS = new WeakMap<object, CompiledPolicy[]>();

/**
 * Parses and validates once; throws PolicyParseError naming the problem
 * (e.g. 'Statement[2].Effect must be "Allow" or "Deny"'). A JSON string is parsed first (IAM and KMS APIs
 * return documents as strings). A deeply frozen document compiled before with the same name and layer
 * returns the same CompiledPolicy.
 */
export function compilePolicy(document: unknown, name: string, layer: PolicyLayer): CompiledPolicy {
  if (typeof document !== 'object' || document === null || !Object.isFrozen(document)) {
    return compileDocument(document, name, layer);
  }
  const known = FROZEN_DOCUMENTS.get(document);
  if (known !== undefined) {
    for (const policy of known) if (policy.name === name && policy.layer === layer) return policy;
  }
  const policy = compileDocument(document, name, layer);
  // Frozen all the way down, or a nested object could still change under the cached policy.
  if (known !== undefined) known.push(policy);
  else if (deeplyFrozen(document)) FROZEN_DOCUMENTS.set(document, [policy]);
  return policy;
}

/** Frozen, with plain data properties only (no getter could answer differently later), all the way down. */
function deeplyFrozen(value: object): boolean {
  if (!Object.isFrozen(value)) return false;
  const properties = Object.getOwnPropertyDescriptors(value);
  for (const key of Object.keys(properties)) {
    const property = properties[key] as PropertyDescriptor;
    if (!('value' in property)) return false;
    const child: unknown = property.value;
    if (typeof child === 'object' && child !== null && !deeplyFrozen(child)) return false;
  }
  return true;
}

function compileDocument(document: unknown, name: string, layer: PolicyLayer): CompiledPolicy {
  let doc = document;
  if (typeof doc === 'string') {
    try {
      doc = JSON.parse(doc);
    } catch {
      fail(name, 'is not valid JSON');
    }
  }
  if (!isObject(doc)) return fail(name, 'must be a JSON object');
  for (const key in doc) {
    if (!isPolicyKey(key) && Object.hasOwn(doc, key)) fail(name, `has unknown element "${key}"`);
  }
  const version = doc.Version;
  if (version !== undefined && version !== '2012-10-17' && version !== '2008-10-17') {
    fail(name, 'Version must be "2012-10-17" or "2008-10-17"');
  }
  // Policy variables exist only in version 2012-10-17; before it `${...}` is literal text.
  const variables = version === '2012-10-17';
  const raw = doc.Statement;
  if (raw === undefined) fail(name, 'has no Statement');
  const many = Array.isArray(raw);
  const size = many ? raw.length : 1;
  // Filled slot by slot below; never read before it is full.
  const table: unknown[] = new Array(size * STRIDE);
  let denies = 0;
  for (let i = 0; i < size; i++) {
    const flags = compileStatement(many ? raw[i] : raw, many ? i : -1, i, name, layer, variables, table);
    if (flags & Flag.Deny) denies++;
  }
  return new CompiledPolicy(name, layer, table, size, denies);
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

/** Compiles statement `index` into its slots of `table`; returns its Flag bits. */
function compileStatement(
  raw: unknown,
  at: number,
  index: number,
  policyName: string,
  layer: PolicyLayer,
  variables: boolean,
  table: unknown[],
): number {
  try {
    return statementOf(raw, index, layer, variables, table);
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
  layer: PolicyLayer,
  variables: boolean,
  table: unknown[],
): number {
  if (!isObject(raw)) return bad(' must be an object');
  // One pass over the elements: a for-in key reads its value through the enumeration cache, where a
  // lookup by name (raw.Action, most often of an absent element) is a slow megamorphic load.
  let sid: unknown;
  let effectValue: unknown;
  let action: unknown;
  let notAction: unknown;
  let resource: unknown;
  let notResource: unknown;
  let principalValue: unknown;
  let notPrincipalValue: unknown;
  let condition: unknown;
  for (const key in raw) {
    const value = raw[key];
    switch (key) {
      case 'Sid':
        sid = value;
        break;
      case 'Effect':
        effectValue = value;
        break;
      case 'Action':
        action = value;
        break;
      case 'NotAction':
        notAction = value;
        break;
      case 'Resource':
        resource = value;
        break;
      case 'NotResource':
        notResource = value;
        break;
      case 'Principal':
        principalValue = value;
        break;
      case 'NotPrincipal':
        notPrincipalValue = value;
        break;
      case 'Condition':
        condition = value;
        break;
      default:
        if (Object.hasOwn(raw, key)) bad(` has unknown element "${key}"`);
    }
  }
  if (sid !== undefined && typeof sid !== 'string') bad('.Sid must be a string');
  if (effectValue !== 'Allow' && effectValue !== 'Deny') bad('.Effect must be "Allow" or "Deny"');
  const effect = effectValue as 'Allow' | 'Deny';

  const hasAction = action !== undefined;
  const hasNotAction = notAction !== undefined;
  if (hasAction && hasNotAction) bad(' must not have both Action and NotAction');
  // KMS stores a key-policy statement that lacks Action or Resource, and it has no effect
  // (https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html): read it as matching
  // nothing rather than refuse the whole key policy. IAM and Organizations reject such statements.
  const inert = layer === 'resource-based';
  let actions: ActionSet;
  if (!hasAction && !hasNotAction) {
    if (!inert) bad(' must have exactly one of Action or NotAction');
    actions = NO_ACTIONS;
  } else {
    actions = compileActions(hasAction ? action : notAction, hasAction ? '.Action' : '.NotAction');
  }

  const hasResource = resource !== undefined;
  const hasNotResource = notResource !== undefined;
  if (hasResource && hasNotResource) bad(' must not have both Resource and NotResource');
  let resources: ResourceSet = NO_RESOURCES;
  if (!hasResource && !hasNotResource) {
    // SCPs written before Resource became mandatory default to every resource; in a key policy such a
    // statement has no effect (above).
    if (layer === 'service-control') resources = ANY_RESOURCE;
    else if (inert) resources = NO_RESOURCES;
    else bad(' must have Resource or NotResource');
  } else {
    resources = compileResources(
      hasResource ? resource : notResource,
      hasResource ? '.Resource' : '.NotResource',
      variables,
    );
  }

  const hasPrincipal = principalValue !== undefined;
  const hasNotPrincipal = notPrincipalValue !== undefined;
  if (hasPrincipal && hasNotPrincipal) bad(' must not have both Principal and NotPrincipal');
  let principal: PrincipalSpec | null = null;
  if (NEEDS_PRINCIPAL.has(layer)) {
    if (!hasPrincipal && !hasNotPrincipal) bad(` must have Principal or NotPrincipal in a ${layer} policy`);
    principal = compilePrincipal(
      hasPrincipal ? principalValue : notPrincipalValue,
      hasPrincipal ? '.Principal' : '.NotPrincipal',
    );
    // An Allow with NotPrincipal is legal in a resource-based policy, if discouraged; RCPs only deny
    // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html).
    if (hasNotPrincipal && effect !== 'Deny' && layer !== 'resource-based') {
      bad('.NotPrincipal must be used with "Effect": "Deny"');
    }
  } else if (hasPrincipal || hasNotPrincipal) {
    bad(` must not have ${hasPrincipal ? 'Principal' : 'NotPrincipal'} in a ${layer} policy`);
  }

  const conditions = condition === undefined ? NO_CONDITIONS : compileConditions(condition, variables);
  const base = index * STRIDE;
  const flags =
    (effect === 'Deny' ? Flag.Deny : 0) |
    (hasNotAction ? Flag.NotAction : 0) |
    (hasNotResource ? Flag.NotResource : 0) |
    (hasNotPrincipal ? Flag.NotPrincipal : 0);
  table[base + Slot.Actions] = actions;
  table[base + Slot.Resources] = resources;
  table[base + Slot.Principal] = principal;
  table[base + Slot.Conditions] = conditions;
  table[base + Slot.Flags] = flags;
  table[base + Slot.Id] = sid === undefined || sid === '' ? indexId(index) : sid;
  return flags;
}

const INDEX_IDS = Array.from({ length: 32 }, (_, i) => String(i));
const indexId = (index: number) => INDEX_IDS[index] ?? String(index);

const NO_STRINGS: readonly string[] = [];
const NO_ACTION_PATTERNS: readonly ActionSet['patterns'][number][] = [];
const NO_RESOURCE_PATTERNS: readonly ResourcePattern[] = [];
const NO_CONDITIONS: readonly CompiledCondition[] = [];
const ANY_RESOURCE: ResourceSet = { any: true, exact: NO_STRINGS, patterns: NO_RESOURCE_PATTERNS };
/** The action and resource sets of a statement that has no effect: they match nothing. */
const NO_ACTIONS: ActionSet = { any: false, exact: NO_STRINGS, patterns: NO_ACTION_PATTERNS };
const NO_RESOURCES: ResourceSet = { any: false, exact: NO_STRINGS, patterns: NO_RESOURCE_PATTERNS };

/** An action pattern with a wildcard, compiled once per process (memo.ts). */
type ActionPattern = ActionSet['patterns'][number];
const ACTION_PATTERNS = new Memo<ActionPattern>();

/** Action elements that are one string, compiled: the usual case, shared by every statement that has it. */
const ACTION_SETS = new Memo<ActionSet>();

function compileActions(value: unknown, where: string): ActionSet {
  if (typeof value === 'string')
    return ACTION_SETS.get(value) ?? ACTION_SETS.set(value, actionSet([value], where));
  return actionSet(strings(value, where), where);
}

function actionSet(list: readonly string[], where: string): ActionSet {
  let any = false;
  let exact = NO_STRINGS;
  let patterns = NO_ACTION_PATTERNS;
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
    if (a.indexOf('*') === -1 && a.indexOf('?') === -1) exact = append(exact, a);
    else {
      const pattern =
        ACTION_PATTERNS.get(a) ??
        ACTION_PATTERNS.set(a, {
          service: compileGlob(a.slice(0, colon)),
          action: compileGlob(a.slice(colon + 1)),
        });
      patterns = append(patterns, pattern);
    }
  }
  return { any, exact, patterns };
}

/** One Resource entry compiled: a full ARN without wildcards (compared as a string), or a pattern. */
type ResourceEntry = ResourcePattern | { readonly kind: 'exact'; readonly text: string };
/** Resource entries by text, for policies with variables (2012-10-17) and without. */
const RESOURCE_ENTRIES = new Memo<ResourceEntry>();
const RESOURCE_ENTRIES_2008 = new Memo<ResourceEntry>();
/** Resource elements that are one string, compiled, likewise. */
const RESOURCE_SETS = new Memo<ResourceSet>();
const RESOURCE_SETS_2008 = new Memo<ResourceSet>();

function compileResources(value: unknown, where: string, variables: boolean): ResourceSet {
  if (typeof value === 'string') {
    const memo = variables ? RESOURCE_SETS : RESOURCE_SETS_2008;
    return memo.get(value) ?? memo.set(value, resourceSet([value], variables));
  }
  return resourceSet(strings(value, where), variables);
}

function resourceSet(list: readonly string[], variables: boolean): ResourceSet {
  let any = false;
  let exact = NO_STRINGS;
  let patterns = NO_RESOURCE_PATTERNS;
  const memo = variables ? RESOURCE_ENTRIES : RESOURCE_ENTRIES_2008;
  for (let i = 0; i < list.length; i++) {
    const raw = list[i] as string;
    if (raw === '*') {
      any = true;
      continue;
    }
    const entry = memo.get(raw) ?? memo.set(raw, resourceEntry(raw, variables));
    if (entry.kind === 'exact') exact = append(exact, entry.text);
    else patterns = append(patterns, entry);
  }
  return { any, exact, patterns };
}

/**
 * `list` with `item` added, as a new array of its exact length: compiled lists hold a handful of entries,
 * and an array grown by push keeps room for seventeen.
 */
function append<T>(list: readonly T[], item: T): readonly T[] {
  switch (list.length) {
    case 0:
      return [item];
    case 1:
      return [list[0] as T, item];
    case 2:
      return [list[0] as T, list[1] as T, item];
    default:
      return [...list, item];
  }
}

function resourceEntry(raw: string, variables: boolean): ResourceEntry {
  const parts = parseTemplate(raw, variables, true);
  let literal = true;
  for (const part of parts) if (typeof part !== 'string') literal = false;
  if (literal) {
    // No wildcard, no variable: a full ARN is compared as one string, anything else is a whole-string glob.
    const text = parts.length === 1 ? (parts[0] as string) : parts.join('');
    return isArnShaped(text)
      ? { kind: 'exact', text: canonical(text) }
      : { kind: 'whole', glob: exactGlob(text) };
  }
  const arn = compileArnPattern(parts);
  if (arn.kind !== 'invalid') return { kind: 'arn', pattern: arn };
  return hasVariables(parts)
    ? { kind: 'whole-template', parts }
    : { kind: 'whole', glob: compileTokens(parts as GlobToken[]) };
}

const ANY_PRINCIPAL: PrincipalSpec = {
  any: true,
  accounts: NO_STRINGS,
  arns: NO_STRINGS,
  services: NO_STRINGS,
};

/** Principals of one type and one value (`{"AWS": "arn:aws:iam::111122223333:root"}`), by type and value. */
const PRINCIPAL_SPECS = new Memo3<PrincipalSpec>();

function compilePrincipal(raw: unknown, where: string): PrincipalSpec {
  if (raw === '*') return ANY_PRINCIPAL;
  if (!isObject(raw)) return bad(`${where} must be "*" or an object such as {"AWS": ...}`);
  const kinds = Object.keys(raw);
  const only = kinds.length === 1 ? (kinds[0] as string) : '';
  const value = raw[only];
  if (PRINCIPAL_KEYS.has(only) && typeof value === 'string') {
    return (
      PRINCIPAL_SPECS.get(only, value, '') ??
      PRINCIPAL_SPECS.set(only, value, '', principalSpec(raw, kinds, where))
    );
  }
  return principalSpec(raw, kinds, where);
}

function principalSpec(raw: Record<string, unknown>, kinds: readonly string[], where: string): PrincipalSpec {
  let any = false;
  let accounts = NO_STRINGS;
  let arns = NO_STRINGS;
  let services = NO_STRINGS;
  for (const kind of kinds) {
    if (!PRINCIPAL_KEYS.has(kind)) bad(`${where} has unknown principal type "${kind}"`);
    const value = raw[kind];
    const list = typeof value === 'string' ? [value] : strings(value, kind, where);
    for (let i = 0; i < list.length; i++) {
      const v = list[i] as string;
      if (kind === 'AWS') {
        if (v === '*') any = true;
        else if (isAccountId(v)) accounts = append(accounts, v);
        else {
          const root = parseRootArn(v);
          if (root) accounts = append(accounts, root.accountId);
          else arns = append(arns, v);
        }
      } else if (kind === 'Service') {
        services = append(services, v.toLowerCase());
      } else {
        arns = append(arns, v);
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

function compileConditions(raw: unknown, variables: boolean): readonly CompiledCondition[] {
  if (!isObject(raw)) return bad('.Condition must be an object');
  let out = NO_CONDITIONS;
  for (const operatorText of Object.keys(raw)) {
    const block = raw[operatorText];
    const spec = operatorSpec(operatorText);
    if (!isObject(block)) bad(`.Condition.${operatorText} must be an object of condition keys`);
    const keys = block as Record<string, unknown>;
    for (const key of Object.keys(keys)) {
      out = append(out, compileCondition(spec, operatorText, key, keys[key], variables));
    }
  }
  return out;
}

/**
 * Conditions with one value (`"StringEquals": {"kms:CallerAccount": "111122223333"}`), by operator as
 * written, key and value, for policies with variables (2012-10-17) and without.
 */
const CONDITION_ENTRIES = new Memo3<CompiledCondition>();
const CONDITION_ENTRIES_2008 = new Memo3<CompiledCondition>();

function compileCondition(
  spec: OperatorSpec,
  operatorText: string,
  key: string,
  value: unknown,
  variables: boolean,
): CompiledCondition {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    return condition(spec, operatorText, key, value, variables);
  }
  const memo = variables ? CONDITION_ENTRIES : CONDITION_ENTRIES_2008;
  const text = typeof value === 'string' ? value : String(value);
  return (
    memo.get(operatorText, key, text) ??
    memo.set(operatorText, key, text, condition(spec, operatorText, key, value, variables))
  );
}

function condition(
  spec: OperatorSpec,
  operatorText: string,
  key: string,
  value: unknown,
  variables: boolean,
): CompiledCondition {
  const texts = scalars(value, operatorText, key);
  let values: readonly unknown[] = NO_VALUES;
  for (const t of texts) {
    if (spec.operator) values = append(values, conditionValue(spec.operator, t, variables));
    else {
      const v = t.toLowerCase();
      if (v !== 'true' && v !== 'false')
        bad(`.Condition.${operatorText}["${key}"] must be "true" or "false"`);
      values = append(values, v === 'true');
    }
  }
  return {
    operatorText,
    key: lower(key),
    operator: spec.operator,
    set: spec.set,
    ifExists: spec.ifExists,
    values,
  };
}
const NO_VALUES: readonly unknown[] = [];

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

/** A condition's values as text: every value is checked before any is compiled. */
function scalars(value: unknown, operatorText: string, key: string): readonly string[] {
  if (!Array.isArray(value)) return [scalar(value, operatorText, key)];
  if (value.length === 0) bad(`.Condition.${operatorText}["${key}"] must have at least one value`);
  let out: readonly string[] = NO_STRINGS;
  for (const v of value) out = append(out, scalar(v, operatorText, key));
  return out;
}

function scalar(v: unknown, operatorText: string, key: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return bad(`.Condition.${operatorText}["${key}"] values must be strings, numbers or booleans`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
