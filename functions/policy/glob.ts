/**
 * Wildcard matching for policy strings: `*` (any run of characters, including none) and `?` (exactly one
 * character), as IAM uses them in Action, Resource, StringLike and ArnLike. Patterns are compiled once
 * into the cheapest matcher that fits (equality, prefix, suffix, or a backtracking scan over char codes),
 * so evaluation never builds a regular expression.
 */

/** A token of a pattern: literal text, or a wildcard. Text substituted from a variable is always literal. */
export type GlobToken = string | typeof STAR | typeof QMARK;
export const STAR = -1;
export const QMARK = -2;

export type Glob =
  | { readonly kind: 'any' }
  | { readonly kind: 'exact'; readonly text: string }
  | { readonly kind: 'prefix'; readonly text: string }
  | { readonly kind: 'suffix'; readonly text: string }
  | { readonly kind: 'scan'; readonly codes: Int32Array };

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
  const lits = tokens.map((t) => (typeof t === 'string' && lowerCase ? t.toLowerCase() : t));
  let stars = 0;
  let qmarks = 0;
  for (const t of lits) {
    if (t === STAR) stars++;
    else if (t === QMARK) qmarks++;
  }
  if (stars === 0 && qmarks === 0) return { kind: 'exact', text: lits.join('') };
  if (qmarks === 0 && stars === lits.length) return { kind: 'any' };
  if (qmarks === 0 && stars === 1 && lits.length === 2) {
    const [a, b] = lits;
    if (b === STAR && typeof a === 'string') return { kind: 'prefix', text: a };
    if (a === STAR && typeof b === 'string') return { kind: 'suffix', text: b };
  }
  const codes: number[] = [];
  for (const t of lits) {
    if (typeof t === 'string') for (let i = 0; i < t.length; i++) codes.push(t.charCodeAt(i));
    else if (t !== STAR || codes[codes.length - 1] !== STAR) codes.push(t);
  }
  return { kind: 'scan', codes: Int32Array.from(codes) };
}

/** Compiles raw pattern text with `*` and `?` as wildcards. */
export function compileGlob(pattern: string, lowerCase = false): Glob {
  return compileTokens(tokenize(pattern), lowerCase);
}

/** True when `text` matches the whole pattern. */
export function globMatch(glob: Glob, text: string): boolean {
  switch (glob.kind) {
    case 'any':
      return true;
    case 'exact':
      return text === glob.text;
    case 'prefix':
      return text.startsWith(glob.text);
    case 'suffix':
      return text.endsWith(glob.text);
    case 'scan':
      return scan(glob.codes, text);
  }
}

// Greedy match with a single backtrack point: linear for the patterns policies use, O(n*m) at worst.
function scan(p: Int32Array, s: string): boolean {
  const pl = p.length;
  const sl = s.length;
  let pi = 0;
  let si = 0;
  let starP = -1;
  let starS = 0;
  while (si < sl) {
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
