// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} here is IAM policy-variable syntax.
/**
 * Generated policy sets and requests for comparing keymend with @cloud-copilot/iam-simulate, on what both
 * model: identity policies, key policy (with IAM delegation), permissions boundary, SCPs and RCPs, every
 * operator family, IfExists, set operators, policy variables and wildcards. Left out on purpose:
 * encryption-context condition keys and grants (iam-simulate has neither), session policies (iam-simulate
 * lists them as not yet supported) and NotPrincipal (the semantics differ; see evaluate.test.ts for the
 * named case). Shared by the differential test and the benchmark, so both use the same requests.
 */

import type { Simulation } from '@cloud-copilot/iam-simulate';
import fc from 'fast-check';
import { type CompiledPolicy, compilePolicy } from '../../functions/policy/compile';
import { kinesisKmsRequest } from '../../functions/policy/context';
import type {
  AuthorizationRequest,
  ContextValue,
  Decision,
  PolicySet,
  RequestPrincipal,
} from '../../functions/policy/types';

export const HOME = '111122223333';
export const OTHER = '444455556666';
export const KEYS = [
  'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  'arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321',
];
const STREAM = 'arn:aws:kinesis:us-east-1:111122223333:stream/orders';
const CONSUMER_ROLE = 'arn:aws:iam::111122223333:role/service-role/orders-consumer';
const CONSUMER_SESSION = 'arn:aws:sts::111122223333:assumed-role/orders-consumer/i-0abc123';
const ALICE = 'arn:aws:iam::111122223333:user/alice';
const READER_ROLE = 'arn:aws:iam::444455556666:role/analytics-reader';
const READER_SESSION = 'arn:aws:sts::444455556666:assumed-role/analytics-reader/reader-1';

export const PRINCIPALS: RequestPrincipal[] = [
  { arn: CONSUMER_ROLE, sessionArn: CONSUMER_SESSION, accountId: HOME, type: 'AssumedRole' },
  { arn: ALICE, accountId: HOME, type: 'IAMUser', username: 'alice' },
  { arn: READER_ROLE, sessionArn: READER_SESSION, accountId: OTHER, type: 'AssumedRole' },
];

type Doc = Record<string, unknown>;

const FULL_ACCESS: Doc = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};
const ENABLE_IAM: Doc = {
  Sid: 'Enable IAM User Permissions',
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${HOME}:root` },
  Action: 'kms:*',
  Resource: '*',
};

export interface DiffCase {
  request: AuthorizationRequest;
  identity: Doc[];
  keyPolicy?: Doc;
  boundary?: Doc;
  scps: Doc[][];
  rcps: Doc[][];
}

const oneOrMany = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof(arb, fc.uniqueArray(arb, { minLength: 1, maxLength: 3, selector: (v) => JSON.stringify(v) }));

const actionArb = fc.constantFrom(
  '*',
  'kms:*',
  'kms:Decrypt',
  'KMS:decrypt',
  'kms:GenerateDataKey',
  'kms:Gen*',
  'kms:De?rypt',
  'kms:Describe*',
  'kms:*Key',
  's3:GetObject',
);

const resourceArb = fc.constantFrom(
  '*',
  KEYS[0] as string,
  KEYS[1] as string,
  'arn:aws:kms:us-east-1:111122223333:key/*',
  'arn:aws:kms:*:111122223333:key/*',
  'arn:aws:kms:us-east-1:444455556666:key/*',
  'arn:aws:kms:us-east-1:111122223333:key/1234abcd-*',
  'arn:aws:kms:us-east-1:111122223333:key/????????-09fe-*',
  'arn:aws:kms:us-east-1:111122223333:alias/*',
  // Variables only in the resource segment: iam-simulate splits ARNs before substituting, so a variable
  // (whose name holds a colon) in another segment is misread there, and it reads ${*} and ${?} in a
  // Resource as wildcards; evaluate.test.ts keeps both cases.
  "arn:aws:kms:us-east-1:111122223333:key/${aws:PrincipalTag/team, '1234abcd-12ab-34cd-56ef-1234567890ab'}",
  'arn:aws:kms:us-east-1:111122223333:key/${aws:username}',
);

const principalValueArb = fc.constantFrom(
  `arn:aws:iam::${HOME}:root`,
  HOME,
  CONSUMER_ROLE,
  CONSUMER_SESSION,
  ALICE,
  `arn:aws:iam::${OTHER}:root`,
  READER_ROLE,
  READER_SESSION,
);
const principalArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant<unknown>('*') },
  { weight: 6, arbitrary: oneOrMany(principalValueArb).map((aws) => ({ AWS: aws })) },
);

/** Condition entries: [operator, key, values]. Keys sometimes in odd case (names are case-insensitive). */
const conditionArb: fc.Arbitrary<[string, string, unknown]> = fc.oneof(
  fc.tuple(
    fc.constantFrom(
      'StringEquals',
      'StringNotEquals',
      'StringEqualsIgnoreCase',
      'StringNotEqualsIgnoreCase',
      'StringLike',
      'StringNotLike',
      'StringEqualsIfExists',
      'StringNotLikeIfExists',
    ),
    fc.constantFrom('aws:PrincipalTag/team', 'AWS:principaltag/TEAM', 'kms:ViaService', 'kms:CallerAccount'),
    oneOrMany(
      fc.constantFrom(
        'data',
        'DATA',
        'ops',
        'd*',
        '?ps',
        'd${*}',
        '${aws:PrincipalTag/team}',
        'kinesis.us-east-1.amazonaws.com',
        'kinesis.*.amazonaws.com',
        HOME,
        OTHER,
        '${aws:PrincipalAccount}',
        "${aws:username, 'data'}",
      ),
    ),
  ),
  fc.tuple(
    fc.constantFrom('ArnEquals', 'ArnLike', 'ArnNotEquals', 'ArnNotLike', 'ArnLikeIfExists'),
    fc.constantFrom('aws:PrincipalArn'),
    oneOrMany(
      fc.constantFrom(
        CONSUMER_ROLE,
        ALICE,
        'arn:aws:iam::111122223333:role/*',
        'arn:aws:iam::*:role/service-role/*',
        'arn:aws:iam::111122223333:user/${aws:username}',
        'arn:aws:iam::444455556666:*',
      ),
    ),
  ),
  fc.tuple(
    fc.constantFrom(
      'NumericLessThan',
      'NumericGreaterThanEquals',
      'NumericEquals',
      'NumericNotEquals',
      'NumericLessThanIfExists',
    ),
    fc.constantFrom('aws:MultiFactorAuthAge'),
    oneOrMany(fc.constantFrom('300', '3600', 3600)),
  ),
  fc.tuple(
    fc.constantFrom('DateLessThan', 'DateGreaterThan', 'DateEquals', 'DateNotEquals', 'DateLessThanEquals'),
    fc.constantFrom('aws:CurrentTime'),
    oneOrMany(fc.constantFrom('2024-01-01T00:00:00Z', '2030-01-01T00:00:00Z', '2026-03-01T12:00:00Z')),
  ),
  fc.tuple(
    fc.constantFrom('Bool', 'BoolIfExists'),
    fc.constantFrom('aws:SecureTransport', 'aws:MultiFactorAuthPresent'),
    fc.constantFrom<unknown>('true', 'false', true, ['true', 'false']),
  ),
  fc.tuple(
    fc.constantFrom('IpAddress', 'NotIpAddress', 'IpAddressIfExists'),
    fc.constantFrom('aws:SourceIp'),
    oneOrMany(fc.constantFrom('10.0.0.0/8', '192.0.2.0/24', '2001:db8::/32', '203.0.113.7/32')),
  ),
  fc.tuple(
    fc.constantFrom('Null'),
    fc.constantFrom('aws:PrincipalTag/team', 'aws:MultiFactorAuthAge', 'aws:username', 'kms:ViaService'),
    fc.constantFrom<unknown>('true', 'false'),
  ),
  fc.tuple(
    fc.constantFrom(
      'ForAnyValue:StringEquals',
      'ForAllValues:StringEquals',
      'ForAnyValue:StringLike',
      'ForAllValues:StringNotEquals',
      'ForAnyValue:StringNotLike',
      'ForAllValues:StringLikeIfExists',
      'StringEquals',
    ),
    fc.constantFrom('aws:CalledVia'),
    oneOrMany(fc.constantFrom('kinesis.amazonaws.com', 'athena.amazonaws.com', '*.amazonaws.com')),
  ),
);

function conditionBlock(entries: [string, string, unknown][]): Doc | undefined {
  if (entries.length === 0) return undefined;
  const block: Record<string, Record<string, unknown>> = {};
  for (const [op, key, values] of entries) {
    block[op] ??= {};
    (block[op] as Record<string, unknown>)[key] = values;
  }
  return block;
}

interface StatementOptions {
  /** 'any' for RCPs, whose Principal must be "*". */
  principal: boolean | 'any';
  effect?: 'Allow' | 'Deny';
  max?: number;
}

function statementArb(opts: StatementOptions): fc.Arbitrary<Doc> {
  return fc
    .record({
      sid: fc.option(fc.constantFrom('A', 'B', 'Grant', 'Guard'), { nil: undefined }),
      effect: opts.effect
        ? fc.constant(opts.effect)
        : fc.constantFrom('Allow', 'Allow', 'Allow', 'Allow', 'Allow', 'Deny'),
      // RCPs accept neither NotAction nor "*" as an action.
      notAction: fc.integer({ min: 0, max: 7 }).map((n) => n === 0 && opts.principal !== 'any'),
      action: oneOrMany(opts.principal === 'any' ? actionArb.filter((a) => a !== '*') : actionArb),
      notResource: fc.integer({ min: 0, max: 7 }).map((n) => n === 0),
      resource: oneOrMany(resourceArb),
      principal:
        opts.principal === 'any'
          ? fc.constant<unknown>('*')
          : opts.principal
            ? principalArb
            : fc.constant(undefined),
      conditions: fc.oneof(
        { weight: 3, arbitrary: fc.constant<[string, string, unknown][]>([]) },
        { weight: 3, arbitrary: fc.array(conditionArb, { minLength: 1, maxLength: 1 }) },
        { weight: 1, arbitrary: fc.array(conditionArb, { minLength: 2, maxLength: 2 }) },
      ),
    })
    .map((s) => {
      const statement: Doc = { Effect: s.effect };
      if (s.sid) statement.Sid = s.sid;
      if (s.principal !== undefined) statement.Principal = s.principal;
      statement[s.notAction ? 'NotAction' : 'Action'] = s.action;
      statement[s.notResource ? 'NotResource' : 'Resource'] = s.resource;
      const condition = conditionBlock(s.conditions);
      if (condition) statement.Condition = condition;
      return statement;
    });
}

const policyArb = (opts: StatementOptions) =>
  fc
    .array(statementArb(opts), { minLength: 1, maxLength: opts.max ?? 3 })
    .map((Statement): Doc => ({ Version: '2012-10-17', Statement }));

const contextArb = fc.record({
  team: fc.option(fc.constantFrom('data', 'ops', 'Data'), { nil: undefined }),
  sourceIp: fc.constantFrom('10.1.2.3', '192.0.2.44', '203.0.113.7', '2001:db8::1'),
  currentTime: fc.constantFrom('2025-06-01T00:00:00Z', '2031-01-01T00:00:00Z'),
  secure: fc.option(fc.constantFrom('true', 'false'), { nil: undefined }),
  mfaAge: fc.option(fc.constantFrom('60', '3600', '7200'), { nil: undefined }),
  calledVia: fc.option(fc.subarray(['kinesis.amazonaws.com', 'athena.amazonaws.com']), { nil: undefined }),
});

export const diffCaseArb: fc.Arbitrary<DiffCase> = fc
  .record({
    principal: fc.constantFrom(...PRINCIPALS),
    action: fc.constantFrom('kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'),
    key: fc.constantFrom(...KEYS),
    viaKinesis: fc.boolean(),
    context: contextArb,
    identity: fc.array(policyArb({ principal: false }), { maxLength: 2 }),
    keyPolicy: fc.option(
      fc
        .tuple(fc.boolean(), policyArb({ principal: true }))
        .map(([root, doc]) =>
          root ? { ...doc, Statement: [ENABLE_IAM, ...(doc.Statement as Doc[])] } : doc,
        ),
      { freq: 8, nil: undefined },
    ),
    boundary: fc.option(policyArb({ principal: false, max: 2 }), { freq: 2, nil: undefined }),
    scps: fc.array(
      fc
        .tuple(fc.boolean(), fc.array(policyArb({ principal: false, max: 2 }), { maxLength: 1 }))
        .map(([full, extra]) => (full || extra.length === 0 ? [FULL_ACCESS, ...extra] : extra)),
      { maxLength: 2 },
    ),
    rcps: fc.oneof(
      { weight: 3, arbitrary: fc.constant<Doc[][]>([]) },
      {
        weight: 1,
        arbitrary: fc.array(
          fc.array(policyArb({ principal: 'any', effect: 'Deny', max: 2 }), { minLength: 1, maxLength: 1 }),
          { minLength: 1, maxLength: 2 },
        ),
      },
    ),
  })
  .map((c) => {
    const tags = c.context.team === undefined ? undefined : { team: c.context.team };
    const principal: RequestPrincipal = tags ? { ...c.principal, tags } : c.principal;
    const base = kinesisKmsRequest({
      principal,
      action: c.action,
      keyArn: c.key,
      streamArn: STREAM,
      region: 'us-east-1',
      viaKinesis: c.viaKinesis,
    });
    // Encryption-context keys are out of scope for the comparison: iam-simulate does not model them.
    const context: Record<string, ContextValue> = {};
    for (const [k, v] of Object.entries(base.context)) {
      if (!k.toLowerCase().startsWith('kms:encryptioncontext')) context[k] = v;
    }
    context['aws:SourceIp'] = c.context.sourceIp;
    context['aws:CurrentTime'] = c.context.currentTime;
    if (c.context.secure !== undefined) context['aws:SecureTransport'] = c.context.secure;
    if (c.context.mfaAge !== undefined) context['aws:MultiFactorAuthAge'] = c.context.mfaAge;
    if (c.context.calledVia !== undefined) context['aws:CalledVia'] = c.context.calledVia;
    return {
      request: { ...base, context },
      identity: c.identity,
      keyPolicy: c.keyPolicy,
      boundary: c.boundary,
      scps: c.scps,
      rcps: c.rcps,
    };
  });

/** The case as keymend's compiled policy set. */
export function toPolicySet(c: DiffCase): PolicySet<CompiledPolicy> {
  const set: PolicySet<CompiledPolicy> = {
    identityPolicies: c.identity.map((d, i) => compilePolicy(d, `identity-${i}`, 'identity-based')),
    resourceAccountId: HOME,
    serviceControlPolicies: c.scps.map((level, l) =>
      level.map((d, i) => compilePolicy(d, `scp-${l}-${i}`, 'service-control')),
    ),
    resourceControlPolicies: c.rcps.map((level, l) =>
      level.map((d, i) => compilePolicy(d, `rcp-${l}-${i}`, 'resource-control')),
    ),
  };
  if (c.keyPolicy) set.resourcePolicy = compilePolicy(c.keyPolicy, 'key-policy', 'resource-based');
  if (c.boundary) set.permissionsBoundary = compilePolicy(c.boundary, 'boundary', 'permissions-boundary');
  return set;
}

/** The case as an iam-simulate simulation; the caller is the session ARN for a role session. */
export function toSimulation(c: DiffCase): Simulation {
  const context: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(c.request.context)) context[k] = Array.isArray(v) ? v : String(v);
  const sim: Simulation = {
    request: {
      principal: c.request.principal.sessionArn ?? c.request.principal.arn,
      action: c.request.action,
      resource: { resource: c.request.resource, accountId: HOME },
      contextVariables: context,
    },
    identityPolicies: c.identity.map((policy, i) => ({ name: `identity-${i}`, policy })),
    serviceControlPolicies: c.scps.map((level, l) => ({
      orgIdentifier: `level-${l}`,
      policies: level.map((policy, i) => ({ name: `scp-${l}-${i}`, policy })),
    })),
    resourceControlPolicies: c.rcps.map((level, l) => ({
      orgIdentifier: `level-${l}`,
      policies: level.map((policy, i) => ({ name: `rcp-${l}-${i}`, policy })),
    })),
  };
  if (c.keyPolicy) sim.resourcePolicy = c.keyPolicy;
  if (c.boundary) sim.permissionBoundaryPolicies = [{ name: 'boundary', policy: c.boundary }];
  return sim;
}

/** iam-simulate's overall result in keymend's words. */
export const FROM_SIMULATE: Record<string, Decision> = {
  Allowed: 'allowed',
  ImplicitlyDenied: 'implicit-deny',
  ExplicitlyDenied: 'explicit-deny',
};

/** A fixed, reproducible sample of cases. */
export function sampleCases(count: number, seed: number): DiffCase[] {
  return fc.sample(diffCaseArb, { numRuns: count, seed });
}
