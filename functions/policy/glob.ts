/**
 * Wildcard matching for policy strings: `*` (any run of characters, including none) and `?` (exactly one
 * character), as IAM uses them in Action, Resource, StringLike and ArnLike. Patterns are compiled once
 * into the cheapest matcher that fits (equality, prefix, suffix, or a backtracking scan over char codes),
 * so evaluation never builds a regular expression. Matchers take a range of the text, so an ARN segment
 * is matched in place, without slicing the ARN.
 */

/** A token of a pattern: literal text, or a wildcard. Text substituted from a variable is always literal. */
export type GlobToken = string | typeof STAR | typeof QMARK;
export const STAR = -1;
export const QMARK = -2;

/** Glob kinds, as small integers: a switch on them compiles to a jump table. */
export const GlobKind = { Any: 0, Exact: 1, Prefix: 2, Suffix: 3, Scan: 4 } as const;
export type GlobKind = (typeof GlobKind)[keyof typeof GlobKind];

/** A compiled pattern. One shape for every kind, so that matching sites stay monomorphic. */
export interface Glob {
  readonly kind: GlobKind;
  /** The literal text of Exact, Prefix and Suffix. */
  readonly text: string;
  /** Scan only: literal char codes, STAR and QMARK (consecutive STARs collapsed). */
  readonly codes: readonly number[];
}

const NO_CODES: readonly number[] = [];
const glob = (kind: GlobKind, text: string, codes: readonly number[]): Glob => ({ kind, text, codes });
export const ANY_GLOB: Glob = glob(GlobKind.Any, '', NO_CODES);
export const exactGlob = (text: string): Glob => glob(GlobKind.Exact, text, NO_CODES);

/** Splits raw pattern text into tokens, treating every `*` and `?` as a wildcard. */
export function tokenize(pattern: string): GlobToken[] {
  const tokens: GlobToken[] = [];
  let start = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    if (c === 42 || c === 63) {
      if (i > start) tokens.push(pattern.slice(start, i));
      tokens.push(c === 42 ? STAR : QMARK);
      start = i + 1;
    }
  }
  if (start < pattern.length) tokens.push(pattern.slice(start));
  return tokens;
}

/** Compiles tokens; with `lowerCase` the literal parts are lowercased (the text must be lowercased too). */
export function compileTokens(tokens: readonly GlobToken[], lowerCase = false): Glob {
  let stars = 0;
  let qmarks = 0;
  for (const t of tokens) {
    if (t === STAR) stars++;
    else if (t === QMARK) qmarks++;
  }
  if (stars === 0 && qmarks === 0) {
    let text = '';
    for (const t of tokens) text += t as string;
    return exactGlob(lowerCase ? text.toLowerCase() : text);
  }
  if (qmarks === 0 && stars === tokens.length) return ANY_GLOB;
  if (qmarks === 0 && stars === 1 && tokens.length === 2) {
    const a = tokens[0];
    const b = tokens[1];
    if (b === STAR && typeof a === 'string') {
      return glob(GlobKind.Prefix, lowerCase ? a.toLowerCase() : a, NO_CODES);
    }
    if (a === STAR && typeof b === 'string') {
      return glob(GlobKind.Suffix, lowerCase ? b.toLowerCase() : b, NO_CODES);
    }
  }
  // At its exact length: a compiled pattern lives as long as its policy.
  return glob(GlobKind.Scan, '', codesOf(tokens, lowerCase).slice());
}

/** The scan form of tokens: char codes of literal text, STAR and QMARK, consecutive STARs collapsed. */
export function codesOf(tokens: readonly GlobToken[], lowerCase = false): number[] {
  const codes: number[] = [];
  for (const token of tokens) {
    if (typeof token === 'string') {
      const t = lowerCase ? token.toLowerCase() : token;
      for (let i = 0; i < t.length; i++) codes.push(t.charCodeAt(i));
    } else if (token !== STAR || codes[codes.length - 1] !== STAR) codes.push(token);
  }
  return codes;
}

/** Compiles raw pattern text with `*` and `?` as wildcards. */
export function compileGlob(pattern: string, lowerCase = false): Glob {
  if (pattern.indexOf('*') === -1 && pattern.indexOf('?') === -1) {
    return exactGlob(lowerCase ? pattern.toLowerCase() : pattern);
  }
  return compileTokens(tokenize(pattern), lowerCase);
}

/** True when `text` matches the whole pattern. */
export function globMatch(g: Glob, text: string): boolean {
  return globMatchRange(g, text, 0, text.length);
}

/** True when `text.slice(start, end)` matches the whole pattern (without slicing). */
export function globMatchRange(g: Glob, text: string, start: number, end: number): boolean {
  switch (g.kind) {
    case GlobKind.Any:
      return true;
    case GlobKind.Exact:
      return end - start === g.text.length && text.startsWith(g.text, start);
    case GlobKind.Prefix:
      return end - start >= g.text.length && text.startsWith(g.text, start);
    case GlobKind.Suffix:
      return end - start >= g.text.length && text.startsWith(g.text, end - g.text.length);
    default:
      return scanCodes(g.codes, text, start, end);
  }
}

/**
 * Greedy match with a single backtrack point over `s[start, end)`: linear for the patterns policies use,
 * O(n*m) at worst.
 */
export function scanCodes(p: readonly number[], s: string, start: number, end: number): boolean {
  const pl = p.length;
  let pi = 0;
  let si = start;
  let starP = -1;
  let starS = 0;
  while (si < end) {
    const pc = pi < pl ? (p[pi] as number) : 0;
    if (pi < pl && (pc === QMARK || pc === s.charCodeAt(si))) {
      pi++;
      si++;
    } else if (pi < pl && pc === STAR) {
      starP = pi++;
      starS = si;
    } else if (starP >= 0) {
      pi = starP + 1;
      si = ++starS;
    } else {
      return false;
    }
  }
  while (pi < pl && p[pi] === STAR) pi++;
  return pi === pl;
}
