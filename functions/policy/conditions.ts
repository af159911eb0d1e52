/**
 * Condition operators. Each operator compiles one policy value once and compares one request value with
 * it. The evaluator supplies the rest of the documented semantics uniformly (see `evaluateCondition`):
 * values OR-ed within a key (NOR for negated operators), `...IfExists`, `ForAnyValue:`/`ForAllValues:`,
 * absent keys, and `Null`.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
 *
 * A request value is read once per condition (`read`: parsed as a number, date or address, or lowercased)
 * and then compared with each policy value (`test`), so a condition with several values parses it once.
 *
 * To add an operator: write a `ConditionOperator` (how it reads a request value, and its positive
 * comparison; set `negated` for the "Not" form, which reuses the same `test`), add it to `OPERATORS`, and add table rows to
 * test/policy/conditions.test.ts. The parser accepts it, with IfExists and set prefixes, from then on.
 */
import { type ArnPattern, arnPatternMatches, compileArnPattern, isArnShaped } from './arn-pattern';
import { compileTokens, type Glob, type GlobToken, globMatch } from './glob';
import {
  type Ctx,
  hasVariables,
  matchTemplate,
  parseTemplate,
  resolveText,
  type TemplatePart,
} from './template';

export interface ConditionOperator<V = unknown, A = unknown> {
  /** The documented name, e.g. `StringEquals`. */
  readonly name: string;
  /** True for the "Not" forms: the condition holds when no policy value compares true. */
  readonly negated: boolean;
  /** Compiles one policy value; `variables` is false for policy versions before 2012-10-17. */
  compile(raw: string, variables: boolean): V;
  /**
   * Reads one request value for comparison; null when it is not of the operator's type (a date operator
   * given text that is no date), which never satisfies the condition, negated or not.
   */
  read(actual: string): A | null;
  /**
   * The positive comparison of one request value (as `read` gave it) with one policy value. null when the
   * comparison cannot be made (an unresolved variable, a policy value of the wrong type): that never
   * satisfies the condition.
   */
  test(actual: A, expected: V, ctx: Ctx): boolean | null;
}

/** The comparisons of text read as it is. */
const asText = (actual: string): string => actual;

/**
 * A policy value of the string operators: its text, or, when it holds policy variables, its template
 * parts. Compiled values are stored as they are, without a wrapper object: each object less is one memory
 * load less per value tested.
 */
type TextValue = string | readonly TemplatePart[];

function compileText(raw: string, variables: boolean, lower: boolean): TextValue {
  const parts = parseTemplate(raw, variables, false);
  if (hasVariables(parts)) return parts.slice();
  const text = parts.join('');
  return lower ? text.toLowerCase() : text;
}

function textOf(v: TextValue, ctx: Ctx, lower: boolean): string | null {
  if (typeof v === 'string') return v;
  const s = resolveText(v, ctx);
  return s === null ? null : lower ? s.toLowerCase() : s;
}

const stringEquals: Omit<ConditionOperator<TextValue, string>, 'name' | 'negated'> = {
  compile: (raw, variables) => compileText(raw, variables, false),
  read: asText,
  test: (actual, expected, ctx) =>
    typeof expected === 'string'
      ? actual === expected
      : matchTemplate(expected, ctx, actual, 0, actual.length),
};

const stringEqualsIgnoreCase: Omit<ConditionOperator<TextValue, string>, 'name' | 'negated'> = {
  compile: (raw, variables) => compileText(raw, variables, true),
  read: (actual) => actual.toLowerCase(),
  test: (actual, expected, ctx) => {
    const s = textOf(expected, ctx, true);
    return s === null ? null : actual === s;
  },
};

/** A compiled pattern, or, when it holds policy variables, its template parts. */
type LikeValue = Glob | readonly TemplatePart[];
const isTemplate = (v: LikeValue): v is readonly TemplatePart[] => Array.isArray(v);

const stringLike: Omit<ConditionOperator<LikeValue, string>, 'name' | 'negated'> = {
  compile: (raw, variables) => {
    const parts = parseTemplate(raw, variables, true);
    return hasVariables(parts) ? parts : compileTokens(parts as GlobToken[]);
  },
  read: asText,
  test: (actual, expected, ctx) =>
    isTemplate(expected)
      ? matchTemplate(expected, ctx, actual, 0, actual.length)
      : globMatch(expected, actual),
};

const arnLike: Omit<ConditionOperator<ArnPattern, string>, 'name' | 'negated'> = {
  compile: (raw, variables) => compileArnPattern(parseTemplate(raw, variables, true)),
  read: asText,
  test: (actual, expected, ctx) => {
    // A value with fewer than six segments is no ARN: it cannot be compared.
    if (expected.kind === 'prefix' && actual.startsWith(expected.prefix)) {
      return arnPatternMatches(expected, actual, ctx);
    }
    return isArnShaped(actual) ? arnPatternMatches(expected, actual, ctx) : null;
  },
};

/** Decimal numbers as IAM writes them; anything else is not a number. */
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
function parseNumber(s: string): number | null {
  return NUMBER.test(s) ? Number(s) : null;
}

function numeric(compare: (actual: number, expected: number) => boolean) {
  return {
    compile: (raw: string) => parseNumber(raw),
    read: parseNumber,
    test: (actual: number, expected: number | null) => (expected === null ? null : compare(actual, expected)),
  };
}

/** Dates: W3C ISO 8601 or epoch seconds (as `aws:EpochTime` carries), compared as milliseconds. */
function parseDate(s: string): number | null {
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? null : ms;
}

function date(compare: (actual: number, expected: number) => boolean) {
  return {
    compile: (raw: string) => parseDate(raw),
    read: parseDate,
    test: (actual: number, expected: number | null) => (expected === null ? null : compare(actual, expected)),
  };
}

const bool: Omit<ConditionOperator<TextValue, string>, 'name' | 'negated'> = {
  compile: (raw, variables) => compileText(raw, variables, true),
  read: (actual) => {
    const a = actual.toLowerCase();
    return a === 'true' || a === 'false' ? a : null;
  },
  test: (actual, expected, ctx) => {
    const e = textOf(expected, ctx, true);
    return e === 'true' || e === 'false' ? actual === e : null;
  },
};

interface Cidr {
  readonly v6: boolean;
  readonly network: bigint;
  readonly mask: bigint;
}

function parseIpv4(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = (n << 8n) | BigInt(v);
  }
  return n;
}

function parseIpv6(s: string): bigint | null {
  let text = s;
  let tail: bigint | null = null;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    tail = parseIpv4(text.slice(lastColon + 1));
    if (tail === null) return null;
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' ? [] : (halves[0] as string).split(':');
  const rest = halves.length === 2 ? (halves[1] === '' ? [] : (halves[1] as string).split(':')) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  let n = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    n = (n << 16n) | BigInt(Number.parseInt(g, 16));
  }
  if (tail !== null) n = (n & ~0xffffffffn) | tail;
  return n;
}

interface Ip {
  readonly v6: boolean;
  readonly n: bigint;
}

function parseIp(s: string): Ip | null {
  const v4 = parseIpv4(s);
  if (v4 !== null) return { v6: false, n: v4 };
  const v6 = s.includes(':') ? parseIpv6(s) : null;
  return v6 === null ? null : { v6: true, n: v6 };
}

function parseCidr(raw: string): Cidr | null {
  const [addr, bitsText, extra] = raw.trim().split('/');
  if (addr === undefined || extra !== undefined) return null;
  const ip = parseIp(addr);
  if (ip === null) return null;
  const width = ip.v6 ? 128 : 32;
  const bits = bitsText === undefined ? width : /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : -1;
  if (bits < 0 || bits > width) return null;
  const all = (1n << BigInt(width)) - 1n;
  const mask = all ^ ((1n << BigInt(width - bits)) - 1n);
  return { v6: ip.v6, network: ip.n & mask, mask };
}

const ipAddress: Omit<ConditionOperator<Cidr | null, Ip>, 'name' | 'negated'> = {
  compile: (raw) => parseCidr(raw),
  read: (actual) => parseIp(actual.trim()),
  test: (ip, expected) => {
    if (expected === null) return null;
    return ip.v6 === expected.v6 && (ip.n & expected.mask) === expected.network;
  },
};

const binaryEquals: Omit<ConditionOperator<string, string>, 'name' | 'negated'> = {
  compile: (raw) => raw,
  read: asText,
  test: (actual, expected) => actual === expected,
};

function op<V, A>(
  name: string,
  negated: boolean,
  impl: Omit<ConditionOperator<V, A>, 'name' | 'negated'>,
): ConditionOperator<V, A> {
  return { name, negated, compile: impl.compile, read: impl.read, test: impl.test };
}

const lt = (a: number, e: number) => a < e;
const le = (a: number, e: number) => a <= e;
const gt = (a: number, e: number) => a > e;
const ge = (a: number, e: number) => a >= e;
const eq = (a: number, e: number) => a === e;

/** Every operator keymend evaluates, by lowercased name. `Null` is handled by the evaluator itself. */
export const OPERATORS: ReadonlyMap<string, ConditionOperator> = new Map(
  (
    [
      op('StringEquals', false, stringEquals),
      op('StringNotEquals', true, stringEquals),
      op('StringEqualsIgnoreCase', false, stringEqualsIgnoreCase),
      op('StringNotEqualsIgnoreCase', true, stringEqualsIgnoreCase),
      op('StringLike', false, stringLike),
      op('StringNotLike', true, stringLike),
      op('NumericEquals', false, numeric(eq)),
      op('NumericNotEquals', true, numeric(eq)),
      op('NumericLessThan', false, numeric(lt)),
      op('NumericLessThanEquals', false, numeric(le)),
      op('NumericGreaterThan', false, numeric(gt)),
      op('NumericGreaterThanEquals', false, numeric(ge)),
      op('DateEquals', false, date(eq)),
      op('DateNotEquals', true, date(eq)),
      op('DateLessThan', false, date(lt)),
      op('DateLessThanEquals', false, date(le)),
      op('DateGreaterThan', false, date(gt)),
      op('DateGreaterThanEquals', false, date(ge)),
      op('Bool', false, bool),
      op('BinaryEquals', false, binaryEquals),
      op('IpAddress', false, ipAddress),
      op('NotIpAddress', true, ipAddress),
      op('ArnEquals', false, arnLike),
      op('ArnLike', false, arnLike),
      op('ArnNotEquals', true, arnLike),
      op('ArnNotLike', true, arnLike),
    ] as ConditionOperator[]
  ).map((o) => [o.name.toLowerCase(), o]),
);

/** One compiled condition: one operator, one key, its values. */
export interface CompiledCondition {
  /** The context key, lowercased. */
  readonly key: string;
  /** null for `Null`. */
  readonly operator: ConditionOperator | null;
  readonly set: 'none' | 'any' | 'all';
  readonly ifExists: boolean;
  /** Compiled values (for `Null`, booleans: true means "the key must be absent"). */
  readonly values: readonly unknown[];
  /** As written, for messages. */
  readonly operatorText: string;
}

// Single request value against all policy values: OR for positive operators, NOR for negated ones. A value
// the operator cannot read matches neither way.
function valueMatches(c: CompiledCondition, op: ConditionOperator, text: string, ctx: Ctx): boolean {
  const actual = op.read(text);
  if (actual === null) return false;
  const values = c.values;
  if (op.negated) {
    for (let i = 0; i < values.length; i++) if (op.test(actual, values[i], ctx) !== false) return false;
    return true;
  }
  for (let i = 0; i < values.length; i++) if (op.test(actual, values[i], ctx) === true) return true;
  return false;
}

/**
 * Evaluates one condition against the request context.
 * - Absent key: `ForAllValues:` holds, `ForAnyValue:` fails, `...IfExists` holds, negated operators hold,
 *   others fail (condition operators page: "If the key that you specify ... is not present").
 * - A multivalued key with a single-valued operator (no set prefix) never matches; use a set operator
 *   (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html).
 * - `Null`: `true` holds when the key is absent, `false` when present.
 */
export function evaluateCondition(c: CompiledCondition, ctx: Ctx): boolean {
  const actual = ctx.get(c.key);
  const op = c.operator;
  if (op === null) {
    const absent = actual === undefined;
    for (const v of c.values) if (v === absent) return true;
    return false;
  }
  if (c.set === 'none') {
    if (actual === undefined) return c.ifExists || op.negated;
    if (typeof actual !== 'string') return false;
    return valueMatches(c, op, actual, ctx);
  }
  if (actual === undefined) return c.ifExists || c.set === 'all';
  if (typeof actual === 'string') return valueMatches(c, op, actual, ctx);
  if (c.set === 'any') {
    for (const a of actual) if (valueMatches(c, op, a, ctx)) return true;
    return false;
  }
  for (const a of actual) if (!valueMatches(c, op, a, ctx)) return false;
  return true;
}
