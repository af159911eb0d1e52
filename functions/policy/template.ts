/**
 * Policy strings that may hold policy variables (`${aws:username}`, `${aws:PrincipalTag/team}`,
 * `${key, 'default'}`) and the escapes `${*}`, `${?}`, `${$}`.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
 */
import { codesOf, type GlobToken, QMARK, STAR, scanCodes } from './glob';

/** The request context as the evaluator reads it: lowercased key names, values as strings or string sets. */
export interface Ctx {
  get(key: string): string | readonly string[] | undefined;
}

export interface VariablePart {
  /** The context key, lowercased. */
  readonly variable: string;
  /** The `${key, 'default'}` value, used when the key is absent or multivalued. */
  readonly fallback?: string;
}

export type TemplatePart = GlobToken | VariablePart;

/**
 * Splits a policy string into literal text, wildcards (when `wildcards`) and variables (when `variables`;
 * policy version 2012-10-17 only, earlier versions read `${...}` as text).
 */
export function parseTemplate(raw: string, variables: boolean, wildcards: boolean): TemplatePart[] {
  // Most policy strings hold neither wildcards nor variables: one literal part.
  if (
    (!wildcards || (raw.indexOf('*') === -1 && raw.indexOf('?') === -1)) &&
    (!variables || raw.indexOf('${') === -1)
  ) {
    return raw === '' ? [] : [raw];
  }
  const parts: TemplatePart[] = [];
  let text = '';
  // raw[run, i) is literal text not yet added to `text`.
  let run = 0;
  let i = 0;
  while (i < raw.length) {
    const c = raw.charCodeAt(i);
    if (wildcards && (c === 42 || c === 63)) {
      text += raw.slice(run, i);
      if (text !== '') parts.push(text);
      text = '';
      parts.push(c === 42 ? STAR : QMARK);
      run = ++i;
      continue;
    }
    if (variables && c === 36 && raw.charCodeAt(i + 1) === 123) {
      const end = raw.indexOf('}', i + 2);
      if (end !== -1) {
        text += raw.slice(run, i);
        const inner = raw.slice(i + 2, end);
        const trimmed = inner.trim();
        if (trimmed === '*' || trimmed === '?' || trimmed === '$') {
          text += trimmed;
        } else {
          if (text !== '') parts.push(text);
          text = '';
          parts.push(parseVariable(inner));
        }
        run = i = end + 1;
        continue;
      }
    }
    i++;
  }
  text += raw.slice(run);
  if (text !== '') parts.push(text);
  return parts;
}

function parseVariable(inner: string): VariablePart {
  const comma = inner.indexOf(',');
  if (comma !== -1) {
    const fallback = inner.slice(comma + 1).trim();
    if (fallback.length >= 2 && fallback.startsWith("'") && fallback.endsWith("'")) {
      return { variable: inner.slice(0, comma).trim().toLowerCase(), fallback: fallback.slice(1, -1) };
    }
  }
  return { variable: inner.trim().toLowerCase() };
}

export function hasVariables(parts: readonly TemplatePart[]): boolean {
  for (const p of parts) if (typeof p === 'object') return true;
  return false;
}

/** A variable's value: the key's single value, else the default, else null (it cannot be resolved). */
export function resolveVariable(part: VariablePart, ctx: Ctx): string | null {
  const v = ctx.get(part.variable);
  if (typeof v === 'string') return v;
  return part.fallback ?? null;
}

/**
 * Substitutes variables from the context; the substituted text is literal (a `*` in a user name is not a
 * wildcard). Returns null when a variable has no single value and no default: AWS then treats the value
 * as matching nothing.
 */
export function resolveTemplate(parts: readonly TemplatePart[], ctx: Ctx): GlobToken[] | null {
  const out: GlobToken[] = [];
  for (const p of parts) {
    if (typeof p !== 'object') {
      out.push(p);
      continue;
    }
    const v = resolveVariable(p, ctx);
    if (v === null) return null;
    out.push(v);
  }
  return out;
}

/** Joins a template without wildcards into a string, or null when a variable cannot be resolved. */
export function resolveText(parts: readonly TemplatePart[], ctx: Ctx): string | null {
  let s = '';
  for (const p of parts) {
    if (typeof p === 'object') {
      const v = resolveVariable(p, ctx);
      if (v === null) return null;
      s += v;
    } else s += p === STAR ? '*' : p === QMARK ? '?' : p;
  }
  return s;
}

/**
 * Matches `s[start, end)` against a template with its variables substituted (as literal text): true or
 * false, or null when a variable cannot be resolved (whatever the text).
 */
export function matchTemplate(
  parts: readonly TemplatePart[],
  ctx: Ctx,
  s: string,
  start: number,
  end: number,
): boolean | null {
  let wildcards = false;
  for (const p of parts) {
    if (typeof p === 'object') {
      if (resolveVariable(p, ctx) === null) return null;
    } else if (typeof p === 'number') wildcards = true;
  }
  if (wildcards) {
    // Rare (a variable and a wildcard in one segment): resolve, then scan.
    return scanCodes(codesOf(resolveTemplate(parts, ctx) as GlobToken[]), s, start, end);
  }
  let pos = start;
  for (const p of parts) {
    const t = typeof p === 'object' ? (resolveVariable(p, ctx) as string) : (p as string);
    if (pos + t.length > end || !s.startsWith(t, pos)) return false;
    pos += t.length;
  }
  return pos === end;
}
