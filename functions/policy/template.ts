/**
 * Policy strings that may hold policy variables (`${aws:username}`, `${aws:PrincipalTag/team}`,
 * `${key, 'default'}`) and the escapes `${*}`, `${?}`, `${$}`.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
 */
import { type GlobToken, QMARK, STAR } from './glob';

/** The request context as the evaluator reads it: lowercased key names, values as strings or string sets. */
export type Ctx = ReadonlyMap<string, string | readonly string[]>;

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
  const parts: TemplatePart[] = [];
  let text = '';
  const flush = () => {
    if (text !== '') parts.push(text);
    text = '';
  };
  let i = 0;
  while (i < raw.length) {
    const c = raw[i] as string;
    if (wildcards && (c === '*' || c === '?')) {
      flush();
      parts.push(c === '*' ? STAR : QMARK);
      i++;
      continue;
    }
    if (variables && c === '$' && raw[i + 1] === '{') {
      const end = raw.indexOf('}', i + 2);
      if (end !== -1) {
        const inner = raw.slice(i + 2, end);
        const trimmed = inner.trim();
        if (trimmed === '*' || trimmed === '?' || trimmed === '$') {
          text += trimmed;
        } else {
          flush();
          parts.push(parseVariable(inner));
        }
        i = end + 1;
        continue;
      }
    }
    text += c;
    i++;
  }
  flush();
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
  return parts.some((p) => typeof p === 'object');
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
    const v = ctx.get(p.variable);
    if (typeof v === 'string') out.push(v);
    else if (p.fallback !== undefined) out.push(p.fallback);
    else return null;
  }
  return out;
}

/** Joins a template without wildcards into a string, or null when a variable cannot be resolved. */
export function resolveText(parts: readonly TemplatePart[], ctx: Ctx): string | null {
  const tokens = resolveTemplate(parts, ctx);
  if (tokens === null) return null;
  let s = '';
  for (const t of tokens) s += t === STAR ? '*' : t === QMARK ? '?' : t;
  return s;
}
