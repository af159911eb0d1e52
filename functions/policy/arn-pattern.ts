/**
 * ARN matching segment by segment, as the Resource element and the Arn* condition operators do it:
 * `arn:partition:service:region:account:resource`, each of the first five segments matched on its own
 * (a wildcard never spans a colon there), the resource segment (which may itself hold colons) last.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
 *
 * ARNs are matched in place: segment bounds are found with indexOf, never by splitting the ARN.
 */
import { compileTokens, type Glob, type GlobToken, globMatchRange } from './glob';
import { type Ctx, hasVariables, matchTemplate, type TemplatePart } from './template';

/** True when `arn` has at least six segments (five colons). */
export function isArnShaped(arn: string): boolean {
  let at = -1;
  for (let n = 0; n < 5; n++) {
    at = arn.indexOf(':', at + 1);
    if (at === -1) return false;
  }
  return true;
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

/**
 * One segment of a pattern: a glob, or, when it holds policy variables, its template parts (resolved per
 * request). Either is stored as it is, without a wrapper object: each object less is one memory load less
 * for every statement tested.
 */
export type ArnSegment = Glob | readonly TemplatePart[];

/**
 * An ARN pattern compiled once.
 * - `prefix`: the first five segments are literal (the usual case): the ARN must start with `prefix`
 *   (those five segments and their colons), and the rest is the resource segment.
 * - `segments`: a wildcard or variable in the first five segments: matched segment by segment.
 */
export type ArnPattern =
  | { readonly kind: 'prefix'; readonly prefix: string; readonly rest: ArnSegment }
  | { readonly kind: 'segments'; readonly segments: readonly ArnSegment[] }
  | { readonly kind: 'invalid' };

const INVALID: ArnPattern = { kind: 'invalid' };

function compileSegment(parts: readonly TemplatePart[]): ArnSegment {
  return hasVariables(parts) ? parts.slice() : compileTokens(parts as GlobToken[]);
}

export function compileArnPattern(parts: readonly TemplatePart[]): ArnPattern {
  const segments = splitArnTemplate(parts);
  if (segments === null) return INVALID;
  const literal: string[] = [];
  for (let i = 0; i < 5; i++) {
    const segment = segments[i] as TemplatePart[];
    for (const part of segment) {
      if (typeof part !== 'string') return { kind: 'segments', segments: segments.map(compileSegment) };
      literal.push(part);
    }
    literal.push(':');
  }
  // Joined, the prefix is one flat string; built with `+=` it would be a chain of string pieces that
  // every comparison walks.
  return { kind: 'prefix', prefix: literal.join(''), rest: compileSegment(segments[5] as TemplatePart[]) };
}

const isTemplate = (segment: ArnSegment): segment is readonly TemplatePart[] => Array.isArray(segment);

/** Matches `arn[start, end)` against one segment of a pattern; null when its variable cannot be resolved. */
export function segmentMatches(
  segment: ArnSegment,
  ctx: Ctx,
  arn: string,
  start: number,
  end: number,
): boolean | null {
  return isTemplate(segment)
    ? matchTemplate(segment, ctx, arn, start, end)
    : globMatchRange(segment, arn, start, end);
}

/**
 * Matches an ARN with at least six segments (see isArnShaped); null when a variable of the pattern cannot
 * be resolved and no resolved segment fails.
 */
export function arnPatternMatches(pattern: ArnPattern, arn: string, ctx: Ctx): boolean | null {
  if (pattern.kind === 'prefix') {
    if (!arn.startsWith(pattern.prefix)) return false;
    return segmentMatches(pattern.rest, ctx, arn, pattern.prefix.length, arn.length);
  }
  if (pattern.kind === 'invalid') return false;
  let unresolved = false;
  let start = 0;
  for (let i = 0; i < 6; i++) {
    const end = i < 5 ? arn.indexOf(':', start) : arn.length;
    const m = segmentMatches(pattern.segments[i] as ArnSegment, ctx, arn, start, end);
    if (m === false) return false;
    if (m === null) unresolved = true;
    start = end + 1;
  }
  return unresolved ? null : true;
}
