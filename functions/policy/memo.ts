/**
 * Bounded memos for the evaluator: pure functions of short texts that recur across policies and requests
 * (context-key names, actions, resource patterns, condition values), computed once per process instead
 * of once per use.
 * A memo only ever saves work: every entry is what the function would compute again, and a full memo is
 * emptied, so memory stays bounded whatever the input.
 */

/** Entries kept per memo before it is emptied. */
export const MEMO_LIMIT = 2048;

/** A memo keyed by text. */
export class Memo<V> {
  private readonly entries = new Map<string, V>();

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: V): V {
    if (this.entries.size >= MEMO_LIMIT) this.entries.clear();
    this.entries.set(key, value);
    return value;
  }
}

const canonicals = new Memo<string>();

/**
 * One shared string object per text: compiled exact ARNs and ARN prefixes and the request's are made
 * canonical, so that equal texts usually compare by reference.
 */
export function canonical(text: string): string {
  return canonicals.get(text) ?? canonicals.set(text, text);
}

const lowered = new Memo<string>();

/**
 * `name.toLowerCase()`, the same string object for the same name: condition keys compiled from policies
 * and context keys read from requests then compare by reference in the context map.
 */
export function lower(name: string): string {
  const hit = lowered.get(name);
  if (hit !== undefined) return hit;
  const l = name.toLowerCase();
  return lowered.set(name, lowered.get(l) ?? lowered.set(l, l));
}

/**
 * A memo keyed by three texts, kept apart rather than joined: texts read from a document keep their
 * hash cached, where a joined key would be a new string to hash on every lookup.
 */
export class Memo3<V> {
  private readonly entries = new Map<string, Map<string, Map<string, V>>>();
  private size = 0;

  get(a: string, b: string, c: string): V | undefined {
    return this.entries.get(a)?.get(b)?.get(c);
  }

  set(a: string, b: string, c: string, value: V): V {
    if (this.size >= MEMO_LIMIT) {
      this.entries.clear();
      this.size = 0;
    }
    let byB = this.entries.get(a);
    if (byB === undefined) {
      byB = new Map();
      this.entries.set(a, byB);
    }
    let byC = byB.get(b);
    if (byC === undefined) {
      byC = new Map();
      byB.set(b, byC);
    }
    if (!byC.has(c)) this.size++;
    byC.set(c, value);
    return value;
  }
}
