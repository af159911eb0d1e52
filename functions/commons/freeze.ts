/**
 * Both readers hand out shared, frozen state: an accidental change to a key or principal would
 * otherwise leak into every later diagnosis. Callers that change state (to apply a plan) clone it first.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
