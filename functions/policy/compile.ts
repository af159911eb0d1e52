/**
 * Parses and validates a policy document once into a form `evaluate` can test quickly: lowercased
 * action sets, precompiled wildcard patterns, ARN patterns split into segments, parsed condition values.
 * Grammar: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
 */
import { PolicyParseError } from '../core/errors';
import { type ArnPattern, compileArnPattern, isArnShaped } from './arn';
import { type CompiledCondition, type ConditionOperator, OPERATORS } from './conditions';
import { compileGlob, compileTokens, exactGlob, type Glob, type GlobToken } from './glob';
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

/**
 * Parses and validates once; throws PolicyParseError naming the problem
 * (e.g. 'Statement[2].Effect must be "Allow" or "Deny"'). A JSON string is parsed first (IAM and KMS APIs
 * return documents as strings).
 */
export function compilePolicy(document: unknown, name: string, layer: PolicyLayer): CompiledPolicy {
  const fail = (message: string): never => {
    throw new PolicyParseError(`policy ${name}: ${message}`);
  };
  let doc = document;
  if (typeof doc === 'string') {
    try {
      doc = JSON.parse(doc);
    } catch {
      fail('is not valid JSON');
    }
  }
  if (!isObject(doc)) return fail('must be a JSON object');
  for (const key of Object.keys(doc)) if (!POLICY_KEYS.has(key)) fail(`has unknown element "${key}"`);
  const version = doc.Version;
  if (version !== undefined && version !== '2012-10-17' && version !== '2008-10-17') {
    fail('Version must be "2012-10-17" or "2008-10-17"');
  }
  // Policy variables exist only in version 2012-10-17; before it `${...}` is literal text.
  const variables = version === '2012-10-17';
  const raw = doc.Statement;
  if (raw === undefined) fail('has no Statement');
  const list: unknown[] = Array.isArray(raw) ? raw : [raw];
  const statements: CompiledStatement[] = [];
  const allows: CompiledStatement[] = [];
  const denies: CompiledStatement[] = [];
  for (let i = 0; i < list.length; i++) {
    const path = Array.isArray(raw) ? `Statement[${i}]` : 'Statement';
    const statement = compileStatement(list[i], path, i, name, layer, variables, fail);
    statements.push(statement);
    (statement.effect === 'Allow' ? allows : denies).push(statement);
  }
  return { name, layer, statements, allows, denies };
}

function compileStatement(
  raw: unknown,
  path: string,
  index: number,
  policyName: string,
  layer: PolicyLayer,
  variables: boolean,
  fail: (message: string) => never,
): CompiledStatement {
  if (!isObject(raw)) return fail(`${path} must be an object`);
  for (const key of Object.keys(raw))
    if (!STATEMENT_KEYS.has(key)) fail(`${path} has unknown element "${key}"`);
  if (raw.Sid !== undefined && typeof raw.Sid !== 'string') fail(`${path}.Sid must be a string`);
  if (raw.Effect !== 'Allow' && raw.Effect !== 'Deny') fail(`${path}.Effect must be "Allow" or "Deny"`);
  const effect = raw.Effect as 'Allow' | 'Deny';

  const hasAction = raw.Action !== undefined;
  if (hasAction === (raw.NotAction !== undefined))
    fail(`${path} must have exactly one of Action or NotAction`);
  const actionKey = hasAction ? 'Action' : 'NotAction';
  const actions = compileActions(
    strings(raw[actionKey], `${path}.${actionKey}`, fail),
    `${path}.${actionKey}`,
    fail,
  );

  const hasResource = raw.Resource !== undefined;
  const hasNotResource = raw.NotResource !== undefined;
  if (hasResource && hasNotResource) fail(`${path} must not have both Resource and NotResource`);
  let resources: ResourceSet;
  if (!hasResource && !hasNotResource) {
    // SCPs written before Resource became mandatory default to every resource.
    if (layer !== 'service-control') fail(`${path} must have Resource or NotResource`);
    resources = ANY_RESOURCE;
  } else {
    const key = hasResource ? 'Resource' : 'NotResource';
    resources = compileResources(strings(raw[key], `${path}.${key}`, fail), variables);
  }

  const hasPrincipal = raw.Principal !== undefined;
  const hasNotPrincipal = raw.NotPrincipal !== undefined;
  if (hasPrincipal && hasNotPrincipal) fail(`${path} must not have both Principal and NotPrincipal`);
  let principal: PrincipalSpec | null = null;
  if (NEEDS_PRINCIPAL.has(layer)) {
    if (!hasPrincipal && !hasNotPrincipal)
      fail(`${path} must have Principal or NotPrincipal in a ${layer} policy`);
    const key = hasPrincipal ? 'Principal' : 'NotPrincipal';
    principal = compilePrincipal(raw[key], `${path}.${key}`, fail);
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
    if (hasNotPrincipal && effect !== 'Deny') fail(`${path}.NotPrincipal must be used with "Effect": "Deny"`);
  } else if (hasPrincipal || hasNotPrincipal) {
    fail(`${path} must not have ${hasPrincipal ? 'Principal' : 'NotPrincipal'} in a ${layer} policy`);
  }

  const conditions =
    raw.Condition === undefined ? [] : compileConditions(raw.Condition, path, variables, fail);
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
const ANY_RESOURCE: ResourceSet = { any: true, exact: NO_STRINGS, patterns: [] };

function compileActions(list: string[], path: string, fail: (message: string) => never): ActionSet {
  let any = false;
  const exact: string[] = [];
  const patterns: { service: Glob; action: Glob }[] = [];
  for (let i = 0; i < list.length; i++) {
    const raw = list[i] as string;
    const a = raw.toLowerCase();
    if (a === '*') {
      any = true;
      continue;
    }
    const colon = a.indexOf(':');
    if (colon <= 0) fail(`${path}[${i}] "${raw}" must be "*" or "service:action"`);
    if (a.indexOf('*') === -1 && a.indexOf('?') === -1) exact.push(a);
    else patterns.push({ service: compileGlob(a.slice(0, colon)), action: compileGlob(a.slice(colon + 1)) });
  }
  return { any, exact, patterns };
}

function compileResources(list: string[], variables: boolean): ResourceSet {
  let any = false;
  const exact: string[] = [];
  const patterns: ResourcePattern[] = [];
  for (const raw of list) {
    if (raw === '*') {
      any = true;
      continue;
    }
    const parts = parseTemplate(raw, variables, true);
    let literal = true;
    for (const part of parts) if (typeof part !== 'string') literal = false;
    if (literal) {
      // No wildcard, no variable: a full ARN is compared as one string, anything else is a whole-string glob.
      const text = parts.length === 1 ? (parts[0] as string) : parts.join('');
      if (isArnShaped(text)) exact.push(text);
      else patterns.push({ kind: 'whole', glob: exactGlob(text) });
      continue;
    }
    const arn = compileArnPattern(parts);
    if (arn.kind === 'invalid') {
      patterns.push(
        hasVariables(parts)
          ? { kind: 'whole-template', parts }
          : { kind: 'whole', glob: compileTokens(parts as GlobToken[]) },
      );
    } else {
      patterns.push({ kind: 'arn', pattern: arn });
    }
  }
  return { any, exact, patterns };
}

const ACCOUNT_ID = /^\d{12}$/;
const ROOT_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):root$/;

const ANY_PRINCIPAL: PrincipalSpec = {
  any: true,
  accounts: NO_STRINGS,
  arns: NO_STRINGS,
  services: NO_STRINGS,
};

function compilePrincipal(raw: unknown, path: string, fail: (message: string) => never): PrincipalSpec {
  if (raw === '*') return ANY_PRINCIPAL;
  if (!isObject(raw)) return fail(`${path} must be "*" or an object such as {"AWS": ...}`);
  let any = false;
  const accounts: string[] = [];
  const arns: string[] = [];
  const services: string[] = [];
  for (const kind of Object.keys(raw)) {
    if (!PRINCIPAL_KEYS.has(kind)) fail(`${path} has unknown principal type "${kind}"`);
    for (const v of strings(raw[kind], `${path}.${kind}`, fail)) {
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

function compileConditions(
  raw: unknown,
  path: string,
  variables: boolean,
  fail: (message: string) => never,
): CompiledCondition[] {
  if (!isObject(raw)) return fail(`${path}.Condition must be an object`);
  const out: CompiledCondition[] = [];
  for (const [operatorText, block] of Object.entries(raw)) {
    const where = `${path}.Condition.${operatorText}`;
    let rest = operatorText;
    let set: 'none' | 'any' | 'all' = 'none';
    const lower = operatorText.toLowerCase();
    if (lower.startsWith('forallvalues:')) {
      set = 'all';
      rest = operatorText.slice('forallvalues:'.length);
    } else if (lower.startsWith('foranyvalue:')) {
      set = 'any';
      rest = operatorText.slice('foranyvalue:'.length);
    }
    let base = rest.toLowerCase();
    const ifExists = base.endsWith('ifexists');
    if (ifExists) base = base.slice(0, -'ifexists'.length);
    const isNull = base === 'null';
    const operator = isNull ? null : OPERATORS.get(base);
    if (operator === undefined) fail(`${path}.Condition has unknown operator "${operatorText}"`);
    if (isNull && (ifExists || set !== 'none'))
      fail(`${path}.Condition operator "${operatorText}" is not valid`);
    if (!isObject(block)) fail(`${where} must be an object of condition keys`);
    const keys = block as Record<string, unknown>;
    for (const key of Object.keys(keys)) {
      const texts = scalars(keys[key], `${where}["${key}"]`, fail);
      const values: unknown[] = [];
      for (const t of texts) {
        if (operator) values.push((operator as ConditionOperator).compile(t, variables));
        else {
          const v = t.toLowerCase();
          if (v !== 'true' && v !== 'false') fail(`${where}["${key}"] must be "true" or "false"`);
          values.push(v === 'true');
        }
      }
      out.push({ operatorText, key: key.toLowerCase(), operator: operator ?? null, set, ifExists, values });
    }
  }
  return out;
}

function strings(value: unknown, path: string, fail: (message: string) => never): string[] {
  if (!Array.isArray(value)) {
    if (typeof value !== 'string') fail(`${path} must be a string`);
    return [value as string];
  }
  if (value.length === 0) fail(`${path} must not be empty`);
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== 'string') fail(`${path}[${i}] must be a string`);
  }
  return value as string[];
}

function scalars(value: unknown, path: string, fail: (message: string) => never): string[] {
  const list: unknown[] = Array.isArray(value) ? value : [value];
  if (list.length === 0) fail(`${path} must have at least one value`);
  const out: string[] = [];
  for (const v of list) {
    if (typeof v === 'string') out.push(v);
    else if (typeof v === 'number' || typeof v === 'boolean') out.push(String(v));
    else fail(`${path} values must be strings, numbers or booleans`);
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
