/**
 * EventBridge's pattern matching, for the subset of the syntax keymend's rule uses: exact values (a
 * list means any of them), `{ "exists": true|false }`, `{ "prefix": "..." }`, nested fields, and
 * `$or` at any level (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html,
 * eb-create-pattern-operators.html). Hand-written because no maintained npm library implements
 * EventBridge patterns (none in the registry's lists; `eb-patterns` is not published): the
 * authoritative check is moto's TestEventPattern in `npm run test:moto`, which runs the same
 * synthesized pattern. An operator this file does not know throws, so a pattern it cannot judge
 * fails the test instead of passing it.
 */

type Json = unknown;

/** True when `event` matches `pattern`, as EventBridge decides it. */
export function matchesPattern(pattern: Record<string, Json>, event: Json): boolean {
  return matchObject(pattern, event);
}

function matchObject(pattern: Record<string, Json>, value: Json): boolean {
  const object = typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  for (const [field, rule] of Object.entries(pattern)) {
    if (field === '$or') {
      if (!Array.isArray(rule) || rule.length < 2)
        throw new Error('$or needs a list of at least two patterns');
      if (!rule.some((alternative) => matchObject(alternative as Record<string, Json>, value))) return false;
      continue;
    }
    const present = object !== undefined && Object.hasOwn(object, field);
    const child = present ? (object as Record<string, Json>)[field] : undefined;
    if (Array.isArray(rule)) {
      if (!matchValues(rule, present, child)) return false;
    } else if (typeof rule === 'object' && rule !== null) {
      if (!present || !matchObject(rule as Record<string, Json>, child)) return false;
    } else {
      throw new Error(`pattern field ${field} must be a list or an object`);
    }
  }
  return true;
}

/** A leaf: the field matches when any of its values matches any item of the list. */
function matchValues(rules: Json[], present: boolean, value: Json): boolean {
  const values = Array.isArray(value) ? value : [value];
  return rules.some((rule) => {
    if (typeof rule === 'object' && rule !== null) {
      const [operator, operand, ...more] = Object.entries(rule);
      if (operator === undefined || operand !== undefined || more.length > 0) {
        throw new Error(`an operator object holds one operator: ${JSON.stringify(rule)}`);
      }
      const [name, argument] = operator;
      switch (name) {
        case 'exists':
          return argument === (present && value !== null && typeof value !== 'object');
        case 'prefix':
          return present && values.some((v) => typeof v === 'string' && v.startsWith(String(argument)));
        default:
          throw new Error(`operator ${name} is not implemented here`);
      }
    }
    return present && values.some((v) => v === rule);
  });
}
