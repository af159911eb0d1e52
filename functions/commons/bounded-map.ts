/**
 * Sets `key` in `map` as its newest entry and drops the oldest entries past `limit`, so that a cache
 * a warm execution environment keeps stays the same size however many keys it meets (a Map iterates
 * in insertion order: its first key is the one set longest ago).
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, limit: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > limit) {
    const oldest = map.keys().next();
    if (oldest.done) return;
    map.delete(oldest.value);
  }
}
