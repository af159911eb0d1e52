/**
 * Property tests: randomly mutated sample events (fields removed, retyped, replaced by huge strings,
 * nested junk, "__proto__" keys) go through the intake and the remediate handler. Nothing may throw,
 * every handler call logs one line of printable-ASCII JSON, and a match always carries well-formed ARNs.
 */
import fc from 'fast-check';
import {
  isAccountId,
  isRegion,
  MAX_ARN_LENGTH,
  parseAssumedRoleArn,
  parseFederatedUserArn,
  parseKeyArn,
  parseRoleArn,
  parseRootArn,
  parseStreamArn,
  parseUserArn,
} from '../../functions/commons/arn';
import { type IntakeResult, intake, NO_MATCH_REASONS } from '../../functions/core/intake';
import { lineLogger } from '../../functions/handlers/logger';
import { makeHandler, type RemediateEvent } from '../../functions/handlers/remediate';
import { eventNames, loadEvent } from '../helpers/events';
import { flowFixture, TEST_CONFIG } from '../helpers/flow-ports';

type Path = (string | number)[];

const BASES = eventNames()
  .filter((name) => !name.startsWith('cloudtrail-log-file'))
  .map((name) => loadEvent<unknown>(name));

/** Every path to a value inside `value` (objects and arrays), the root excluded. */
function pathsOf(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      const path = [...prefix, Array.isArray(value) ? Number(key) : key];
      out.push(path);
      pathsOf(child, path, out);
    }
  }
  return out;
}
const BASE_PATHS = BASES.map((base) => pathsOf(base));

/** A value that keeps its own "__proto__" key, as JSON.parse produces it. */
const protoObject = () => JSON.parse('{"__proto__":{"polluted":true},"type":"AssumedRole"}');

const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({
    maxDepth: 3,
    withNullPrototype: true,
    withBigInt: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withBoxedValues: true,
    withObjectString: true,
  }),
  fc.string({ maxLength: 40 }),
  fc.integer({ min: 1_000, max: 100_000 }).map((n) => 'x'.repeat(n)),
  fc
    .integer({ min: 2_000, max: 5_000 })
    .map((n) => `arn:aws:kinesis:us-east-1:111122223333:stream/${'s'.repeat(n)}`),
  fc.constantFrom<unknown>(
    null,
    [],
    {},
    '',
    0,
    Number.NaN,
    true,
    'AccessDenied',
    'kms.amazonaws.com',
    'kinesis.amazonaws.com',
    'arn:aws:kinesis:*:123456789012:MyStream',
    'arn:aws:kms:us-east-1:111122223333:alias/orders',
    'arn:aws:iam::111122223333:root',
    '__proto__',
  ),
  fc.constant(null).map(protoObject),
  fc.constant(null).map(() => [protoObject(), 'x', 1]),
);

type Mutation = {
  pick: number;
  action: 'delete' | 'replace' | 'retype' | 'proto' | 'add';
  value: unknown;
  key: string;
};

const mutation: fc.Arbitrary<Mutation> = fc.record({
  pick: fc.nat(),
  action: fc.constantFrom('delete', 'replace', 'replace', 'retype', 'proto', 'add'),
  value: junk,
  key: fc.constantFrom(
    'eventSource',
    'errorCode',
    'detail',
    'Records',
    'sessionIssuer',
    'aws:kinesis:arn',
    'x',
  ),
});

/** The same value under another JSON type: the thing a careless parser trips on. */
function retype(value: unknown): unknown {
  if (typeof value === 'string') return value.length;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  // Array.from visits holes (left by an earlier delete) as undefined, unlike map.
  if (Array.isArray(value)) return Object.fromEntries(Array.from(value, (v, i) => [String(i), v]));
  if (value !== null && typeof value === 'object') return Object.values(value);
  return {};
}

function mutate(baseIndex: number, mutations: Mutation[]): unknown {
  const event = structuredClone(BASES[baseIndex]) as Record<string, unknown>;
  const paths = BASE_PATHS[baseIndex] ?? [];
  for (const m of mutations) {
    const path = paths[m.pick % Math.max(paths.length, 1)] ?? ['detail'];
    let parent: unknown = event;
    for (const step of path.slice(0, -1)) {
      parent =
        typeof parent === 'object' && parent !== null ? (parent as Record<string, unknown>)[step] : undefined;
    }
    if (typeof parent !== 'object' || parent === null) continue; // an earlier mutation removed it
    const target = parent as Record<string | number, unknown>;
    const last = path[path.length - 1] as string | number;
    try {
      apply(target, last, m);
    } catch {
      // The junk may be a boxed string whose indexes are read-only: the harness skips that mutation.
    }
  }
  return event;
}

function apply(target: Record<string | number, unknown>, last: string | number, m: Mutation): void {
  switch (m.action) {
    case 'delete':
      delete target[last];
      break;
    case 'replace':
      target[last] = m.value;
      break;
    case 'retype':
      target[last] = retype(target[last]);
      break;
    case 'proto':
      Object.defineProperty(target, '__proto__', { value: m.value, enumerable: true, writable: true });
      break;
    case 'add':
      target[m.key] = m.value;
      break;
  }
}

const mutatedEvent = fc
  .tuple(fc.nat({ max: BASES.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 6 }))
  .map(([base, mutations]) => mutate(base, mutations));

/** Throws (failing the property) when a result breaks the intake's promises. */
function checkResult(input: unknown, result: IntakeResult): void {
  if (!result.match) {
    expect(NO_MATCH_REASONS).toContain(result.reason);
    expect(result.detail.length).toBeLessThan(400);
    expect(result.detail).toMatch(/^[\x20-\x7e]*$/);
    return;
  }
  const r = result.request;
  const principalOk =
    (r.principalType === 'AssumedRole' &&
      parseRoleArn(r.principalArn) &&
      parseAssumedRoleArn(r.sessionArn)) ||
    (r.principalType === 'IAMUser' && parseUserArn(r.principalArn) && r.sessionArn === r.principalArn) ||
    (r.principalType === 'Root' && parseRootArn(r.principalArn)) ||
    (r.principalType === 'FederatedUser' &&
      parseUserArn(r.principalArn) &&
      parseFederatedUserArn(r.sessionArn));
  expect(principalOk).toBeTruthy();
  expect(r.keyArn === null || parseKeyArn(r.keyArn) !== null).toBe(true);
  expect(r.streamArn === null || parseStreamArn(r.streamArn) !== null).toBe(true);
  expect(
    r.keyReference === null ||
      (typeof r.keyReference === 'string' && r.keyReference.length <= MAX_ARN_LENGTH),
  ).toBe(true);
  expect(r.keyArn === null || r.keyReference === null).toBe(true);
  expect(r.principalId === undefined || /^[\w+=,.@:-]{1,256}$/.test(r.principalId)).toBe(true);
  expect(isAccountId(r.accountId) && isAccountId(r.callerAccountId) && isRegion(r.region)).toBe(true);
  expect([
    'kms:Decrypt',
    'kms:GenerateDataKey',
    'kms:GenerateDataKeyWithoutPlaintext',
    'kms:DescribeKey',
  ]).toContain(r.operation);
  // A match is only ever a KMS access denial, whatever the mutation did.
  const envelope = input as Record<string, unknown>;
  const record = (Object.hasOwn(envelope, 'detail') ? envelope.detail : envelope) as Record<string, unknown>;
  expect(record.eventSource).toBe('kms.amazonaws.com');
  expect(['AccessDenied', 'AccessDeniedException']).toContain(record.errorCode);
  // The request is plain JSON: it survives a round trip unchanged.
  expect(JSON.parse(JSON.stringify(r))).toEqual(r);
}

describe('intake under random mutation', () => {
  it('never throws, and every match is well formed (thousands of mutated sample events)', () => {
    fc.assert(
      fc.property(mutatedEvent, (event) => {
        checkResult(event, intake(event));
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on arbitrary values', () => {
    fc.assert(
      fc.property(
        fc.anything({ maxDepth: 4, withNullPrototype: true, withBigInt: true, withMap: true }),
        (value) => {
          checkResult(value, intake(value));
          checkResult(value, intake({ 'detail-type': 'AWS API Call via CloudTrail', detail: value }));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('is not vacuous: the samples match unmutated, and many mutated events still match', () => {
    expect(BASES.filter((base) => intake(structuredClone(base)).match).length).toBeGreaterThanOrEqual(20);
    const results = fc.sample(mutatedEvent, { numRuns: 1000, seed: 42 }).map((event) => intake(event));
    const reasons = new Set(results.map((r) => (r.match ? 'match' : r.reason)));
    expect(results.filter((r) => r.match).length).toBeGreaterThan(100);
    expect([...reasons].sort()).toEqual(['match', ...NO_MATCH_REASONS].sort());
  });
});

describe('the remediate handler under random mutation', () => {
  it('never throws and logs exactly one JSON line per event', async () => {
    await fc.assert(
      fc.asyncProperty(mutatedEvent, async (event) => {
        const lines: string[] = [];
        const f = flowFixture();
        const run = makeHandler({
          config: TEST_CONFIG,
          logger: lineLogger((line) => lines.push(line)),
          ports: f.ports,
        });
        const result = await run(event as RemediateEvent);
        expect(typeof result.outcome).toBe('string');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/^[\x20-\x7e]+$/);
        expect(JSON.parse(lines[0] ?? '')).toMatchObject({ level: 'info', message: 'remediate outcome' });
      }),
      { numRuns: 1000 },
    );
  });
});
