/**
 * ARN matching segment by segment, as the Resource element and the Arn* condition operators do it:
 * `arn:partition:service:region:account:resource`, each of the first five segments matched on its own
 * (a wildcard never spans a colon there), the resource segment (which may itself hold colons) last.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
 */
import { compileTokens, type Glob, type GlobToken, globMatch } from './glob';
import { type Ctx, hasVariables, type TemplatePart } from './template';

/** Splits an ARN into its six segments, or null when it has fewer than six. */
export function splitArn(arn: string): string[] | null {
  const out: string[] = [];
  let start = 0;
  for (let n = 0; n < 5; n++) {
    const colon = arn.indexOf(':', start);
    if (colon === -1) return null;
    out.push(arn.slice(start, colon));
    start = colon + 1;
  }
  out.push(arn.slice(start));
  return out;
}

/** Splits a parsed pattern into six segments on its first five literal colons; null for fewer. */
export function splitArnTemplate(parts: readonly TemplatePart[]): TemplatePart[][] | null {
  const segments: TemplatePart[][] = [[]];
  for (const part of parts) {
    let current = segments[segments.length - 1] as TemplatePart[];
    if (typeof part !== 'string' || segments.length === 6) {
      current.push(part);
      continue;
    }
    let rest = part;
    let colon = rest.indexOf(':');
    while (colon !== -1 && segments.length < 6) {
      if (colon > 0) current.push(rest.slice(0, colon));
      current = [];
      segments.push(current);
      rest = rest.slice(colon + 1);
      colon = rest.indexOf(':');
    }
    if (rest !== '') current.push(rest);
  }
  return segments.length === 6 ? segments : null;
}

/** An ARN pattern compiled once: static segments as globs, or segments that hold variables. */
export type ArnPattern =
  | { readonly kind: 'static'; readonly segments: readonly Glob[] }
  | { readonly kind: 'template'; readonly segments: readonly (readonly TemplatePart[])[] }
  | { readonly kind: 'invalid' };

export function compileArnPattern(parts: readonly TemplatePart[]): ArnPattern {
  const segments = splitArnTemplate(parts);
  if (segments === null) return { kind: 'invalid' };
  if (!hasVariables(parts)) {
    return { kind: 'static', segments: segments.map((s) => compileTokens(s as GlobToken[])) };
  }
  return { kind: 'template', segments };
}

/** Matches pre-split ARN segments; null when a variable of the pattern cannot be resolved. */
export function arnPatternMatches(pattern: ArnPattern, arn: readonly string[], ctx: Ctx): boolean | null {
  if (pattern.kind === 'invalid') return false;
  if (pattern.kind === 'static') {
    for (let i = 0; i < 6; i++) {
      if (!globMatch(pattern.segments[i] as Glob, arn[i] as string)) return false;
    }
    return true;
  }
  let unresolved = false;
  for (let i = 0; i < 6; i++) {
    const tokens = resolveSegment(pattern.segments[i] as TemplatePart[], ctx);
    if (tokens === null) {
      unresolved = true;
      continue;
    }
    if (!globMatch(compileTokens(tokens), arn[i] as string)) return false;
  }
  return unresolved ? null : true;
}

function resolveSegment(parts: readonly TemplatePart[], ctx: Ctx): GlobToken[] | null {
  const out: GlobToken[] = [];
  for (const p of parts) {
    if (typeof p !== 'object') out.push(p);
    else {
      const v = ctx.get(p.variable);
      if (typeof v === 'string') out.push(v);
      else if (p.fallback !== undefined) out.push(p.fallback);
      else return null;
    }
  }
  return out;
}
