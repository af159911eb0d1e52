/**
 * The plan file `keymend apply --plan FILE` takes: what `keymend diagnose --output json` (or jsonl)
 * prints for one denial whose verdict is `propose`. Two of its fields count: `denial`, the denied
 * request as the intake read it from CloudTrail (what the approval function keeps as a proposal's
 * `request`), and `plan`, the change. Everything else (the diagnosis, the proof) is made again from
 * the account when the plan is applied, and the plan must come out the same.
 *
 * A file of several results (diagnose's array for a log file, or its jsonl) is accepted when exactly
 * one of them proposes a fix; so is `keymend scan --diagnose --output json`'s summary, whose problems'
 * `diagnosis` carry the same two fields for a proposed fix (one problem's `diagnosis` alone is a plan
 * file too). Anything else is refused with what was found: a summary without diagnoses, a CloudTrail
 * record, a refusal, a result of an older keymend without `denial`, a field of the wrong type (named
 * by its JSON path).
 */
import { z } from 'zod';
import {
  isRegion,
  parseAssumedRoleArn,
  parseKeyArn,
  parsePrincipalArn,
  parseStreamArn,
} from '../functions/commons/arn';
import { InputError } from '../functions/commons/errors';
import { printableLine } from '../functions/commons/text';
import { MECHANISMS, type Plan } from '../functions/core/plan';
import type { KinesisKmsRequest } from '../functions/core/request';

/** What a plan file holds that `apply` uses. */
export interface PlanFile {
  /** The denied request, as the intake read it (diagnose's `denial`). */
  denial: KinesisKmsRequest;
  /** The change diagnose planned for it. */
  plan: Plan;
}

const OPERATIONS = [
  'kms:Decrypt',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:DescribeKey',
] as const;
const PRINCIPAL_TYPES = [
  'AssumedRole',
  'IAMUser',
  'Root',
  'FederatedUser',
  'AWSService',
  'AWSAccount',
  'Unknown',
] as const;
const POLICY_TYPES = [
  'identity-based',
  'resource-based',
  'permissions-boundary',
  'session',
  'service-control',
  'resource-control',
  'vpc-endpoint',
] as const;

/** What a value is, in a few words, for an error. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(printableLine(value, 80));
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

const expected = (what: string) => ({
  error: (issue: { input?: unknown }) =>
    issue.input === undefined
      ? `missing: expected ${what}`
      : `expected ${what}, got ${describe(issue.input)}`,
});

const text = (what: string) => z.string(expected(what));
const checked = (what: string, isValid: (value: string) => boolean) =>
  text(what).refine(isValid, { error: (issue) => `expected ${what}, got ${describe(issue.input)}` });
const nullable = <T extends z.ZodType>(schema: T) =>
  z.union([z.null(), schema], expected('a string or null'));

const denialSchema = z.looseObject(
  {
    eventId: text('the CloudTrail event id'),
    eventTime: text('the event time'),
    accountId: checked('a 12-digit account id', (v) => /^\d{12}$/.test(v)),
    region: checked('a Region such as us-east-1', isRegion),
    operation: z.enum(OPERATIONS, expected(`one of ${OPERATIONS.join(', ')}`)),
    principalArn: checked('a role or user ARN', (v) => parsePrincipalArn(v) !== null),
    principalType: z.enum(PRINCIPAL_TYPES, expected(`one of ${PRINCIPAL_TYPES.join(', ')}`)),
    sessionArn: checked(
      'the session ARN (or the user ARN)',
      (v) => parseAssumedRoleArn(v) !== null || parsePrincipalArn(v) !== null,
    ),
    keyArn: nullable(checked('a key ARN', (v) => parseKeyArn(v) !== null)),
    keyReference: nullable(text('a key id or alias')),
    streamArn: nullable(checked('a stream ARN', (v) => parseStreamArn(v) !== null)),
    viaKinesis: z.boolean(expected('true or false')),
    callerAccountId: checked('a 12-digit account id', (v) => /^\d{12}$/.test(v)),
    keyAccountId: nullable(checked('a 12-digit account id', (v) => /^\d{12}$/.test(v))),
    deniedBy: z.looseObject(
      {
        kind: z.enum(['implicit', 'explicit', 'unknown'], expected('implicit, explicit or unknown')),
        policyType: z.union(
          [z.null(), z.enum(POLICY_TYPES)],
          expected(`null or one of ${POLICY_TYPES.join(', ')}`),
        ),
        policyArn: text('a policy ARN').optional(),
      },
      expected('an object'),
    ),
    encryptionContext: z.record(z.string(), z.string(expected('a string value')), expected('an object')),
    errorMessage: text('a message').optional(),
    principalId: text('the caller id').optional(),
  },
  expected("diagnose's denial: the request as read from CloudTrail"),
);

const planSchema = z.discriminatedUnion(
  'mechanism',
  [
    z.looseObject({
      mechanism: z.literal('kms-grant'),
      keyArn: text('a key ARN'),
      granteePrincipal: text('a principal ARN'),
      operations: z.array(text('an operation'), expected('an array of one operation')),
      constraints: z.looseObject(
        { encryptionContextSubset: z.record(z.string(), z.string(), expected('an object')) },
        expected('an object'),
      ),
      name: text('the grant name'),
    }),
    z.looseObject({
      mechanism: z.literal('iam-inline-policy'),
      principalArn: text('a principal ARN'),
      policyName: text('the policy name'),
      document: z.looseObject({ Statement: z.array(z.unknown()) }, expected('a policy document')),
    }),
    z.looseObject({
      mechanism: z.literal('key-policy-statement'),
      keyArn: text('a key ARN'),
      statement: z.looseObject({}, expected('a policy statement')),
      document: z.looseObject({ Statement: z.array(z.unknown()) }, expected('a policy document')),
    }),
    z.looseObject({
      mechanism: z.literal('cross-account'),
      keyAccountId: text('the key owner account id'),
      callerAccountId: text("the caller's account id"),
      keySide: z.looseObject({}, expected('the key side of the plan')),
      callerSide: z.looseObject({}, expected("the caller's side of the plan")),
    }),
  ],
  expected(`a plan whose mechanism is one of ${[...MECHANISMS, 'cross-account'].join(', ')}`),
);

/** A JSON path such as `denial.deniedBy.kind`, `plan.operations[0]`. */
function jsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `${out ? '.' : ''}${String(part)}`;
  return out;
}

/**
 * The diagnoses of a `keymend scan --diagnose --output json` summary, one per problem (null for a
 * problem without one, so positions stay the problems'); null when `value` is not a scan summary.
 */
function scanDiagnoses(value: unknown): unknown[] | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const problems = (value as { problems?: unknown }).problems;
  if (!Object.hasOwn(value, 'files') || !Array.isArray(problems)) return null;
  if (!problems.some((p) => typeof p === 'object' && p !== null && Object.hasOwn(p, 'diagnosis'))) return [];
  return problems.map((p) => (p as { diagnosis?: unknown }).diagnosis ?? { verdict: 'none' });
}

/** What a JSON value is, when it is not one diagnose result. */
function shapeOf(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const has = (key: string) => Object.hasOwn(value, key);
  if (has('Records') || has('Events') || has('eventSource') || has('detail-type'))
    return "CloudTrail input, not a plan: run 'keymend diagnose --event FILE --aws --output json > plan.json' first";
  if (has('match') && !has('verdict'))
    return "keymend parse's output, not a plan: run 'keymend diagnose' on the event";
  return null;
}

/**
 * The one proposed fix in a plan file's parsed JSON values (one value; an array; or one per jsonl line).
 * @throws InputError naming what is wrong, prefixed by `name`.
 */
export function planFromJson(values: readonly unknown[], name: string): PlanFile {
  const fail = (problem: string): never => {
    throw new InputError(`${name}: ${problem}`);
  };
  const summary = values.length === 1 ? scanDiagnoses(values[0]) : null;
  if (summary?.length === 0) {
    fail('is a scan summary with no diagnosis in it: scan with --diagnose (--aws or --account)');
  }
  const results =
    summary ?? (values.length === 1 && Array.isArray(values[0]) ? (values[0] as unknown[]) : values);
  const item = summary ? 'problem' : 'item';
  if (results.length === 0) fail('holds no diagnose result (an empty array)');
  const verdicts = new Map<string, number>();
  const proposed: { value: Record<string, unknown>; index: number }[] = [];
  results.forEach((value, index) => {
    const shape = shapeOf(value);
    if (shape) fail(`is ${shape}`);
    if (
      typeof value !== 'object' ||
      value === null ||
      Array.isArray(value) ||
      !Object.hasOwn(value, 'verdict')
    ) {
      fail(
        `${results.length > 1 ? `${item} ${index + 1} ` : ''}is ${describe(value)}, not a result of 'keymend diagnose --output json' (no "verdict")`,
      );
    }
    const result = value as Record<string, unknown>;
    const verdict = String(result.verdict);
    verdicts.set(verdict, (verdicts.get(verdict) ?? 0) + 1);
    if (verdict === 'propose') proposed.push({ value: result, index });
  });
  if (proposed.length === 0) {
    const only = results.length === 1 ? (results[0] as Record<string, unknown>) : null;
    if (only) {
      const code = typeof only.code === 'string' ? ` (${printableLine(only.code, 60)})` : '';
      fail(`its verdict is ${describe(only.verdict)}${code}, not "propose": there is no fix in it to apply`);
    }
    const counts = [...verdicts].map(([v, n]) => `${n} ${printableLine(v, 30)}`).join(', ');
    fail(`holds no proposed fix (${counts})`);
  }
  if (proposed.length > 1) {
    const positions = proposed.map((p) => p.index + 1).join(', ');
    const first = proposed[0]?.index ?? 0;
    fail(
      `holds ${proposed.length} proposed fixes (${item}s ${positions}): keep the one to apply, e.g. jq '${summary ? `.problems[${first}].diagnosis` : `.[${first}]`}'`,
    );
  }
  const chosen = proposed[0] as { value: Record<string, unknown>; index: number };
  const where = results.length > 1 ? `${item} ${chosen.index + 1}: ` : '';
  if (!Object.hasOwn(chosen.value, 'denial')) {
    fail(
      `${where}has no "denial" (the denied request as read from CloudTrail): make it again with this keymend's 'diagnose --output json'`,
    );
  }
  const parsed = z
    .looseObject({ denial: denialSchema, plan: planSchema }, expected('an object'))
    .safeParse(chosen.value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    fail(`${where}${jsonPath(issue?.path ?? []) || 'the result'}: ${issue?.message ?? 'invalid'}`);
  }
  const { denial, plan } = parsed.data as unknown as PlanFile;
  return { denial, plan };
}

/**
 * The plan file's text as JSON values: one JSON document (an object or an array), or JSON lines.
 * @throws InputError when it is neither.
 */
export function planJsonValues(text: string, name: string): unknown[] {
  try {
    return [JSON.parse(text)];
  } catch (error) {
    const lines = text
      .split('\n')
      .map((line, i) => ({ line, number: i + 1 }))
      .filter(({ line }) => line.trim() !== '');
    if (lines.length > 1) {
      return lines.map(({ line, number }) => {
        try {
          return JSON.parse(line) as unknown;
        } catch (lineError) {
          throw new InputError(
            `${name} line ${number} is not JSON: ${printableLine((lineError as Error).message, 200)}`,
          );
        }
      });
    }
    throw new InputError(`${name} is not JSON: ${printableLine((error as Error).message, 200)}`);
  }
}
