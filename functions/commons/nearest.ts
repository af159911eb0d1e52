/**
 * "Did you mean ...?": the name a typo most likely meant, for the CLI's options, the snapshot
 * validator's field names and `keymend evaluate`'s principals, keys and streams.
 */

/** Levenshtein distance (insertions, deletions and substitutions each cost one). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The candidate whose name (`nameOf`, the candidate itself by default) is nearest `asked`: one equal
 * but for case first, else the one with the fewest edits below `limit`; null when none is that close.
 */
export function nearest<T>(
  asked: string,
  candidates: readonly T[],
  limit: number,
  nameOf: (candidate: T) => string = String,
): T | null {
  let best: T | null = null;
  let bestDistance = limit;
  for (const candidate of candidates) {
    const name = nameOf(candidate);
    const distance = name.toLowerCase() === asked.toLowerCase() ? 0 : editDistance(asked, name);
    if (distance < bestDistance || (distance === 0 && best === null)) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
