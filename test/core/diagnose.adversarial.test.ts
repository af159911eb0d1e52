// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} here is IAM policy-variable syntax.
import { SnapshotReader } from '../../functions/adapters/snapshot';
import type { AccountSnapshot, PrincipalState } from '../../functions/core/account';
import { type DiagnoseResult, diagnose, provePlan, type ResolvedState } from '../../functions/core/diagnose';
import { gatherState } from '../../functions/core/gather';
import { intake } from '../../functions/core/intake';
import type { GrantPlan, InlinePolicyPlan, KeyPolicyPlan, Mechanism, Plan } from '../../functions/core/plan';
import type { KinesisKmsRequest } from '../../functions/core/request';
import { loadSnapshot } from '../helpers/accounts';
import { ACCOUNT, CLICKS_KEY, CONSUMER, ORDERS, ORDERS_KEY, PRODUCER } from '../helpers/arns';
import { loadEvent } from '../helpers/events';
import { verdictOf } from '../helpers/refusals';

const CONSUMER_EVENT = 'consumer-decrypt-denied-service-role.eventbridge.json';
const PRODUCER_EVENT = 'producer-generatedatakey-denied.record.json';
const CONTEXT_ONLY_EVENT = 'consumer-decrypt-denied-context-only.record.json';
const VIA_KINESIS = { 'kms:ViaService': 'kinesis.us-east-1.amazonaws.com' };
const ROOT_DELEGATION = {
  Sid: 'Enable IAM User Permissions',
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
  Action: 'kms:*',
  Resource: '*',
};

type Doc = { Version?: string; Statement: unknown };
const doc = (...Statement: unknown[]): Doc => ({ Version: '2012-10-17', Statement });

function snapshot(name = 'demo'): AccountSnapshot {
  return loadSnapshot(name);
}

function principalOf(s: AccountSnapshot, arn: string): PrincipalState {
  const found = s.principals.find((p) => p.arn === arn);
  if (!found) throw new Error(`no principal ${arn}`);
  return found;
}

function keyOf(s: AccountSnapshot, arn: string) {
  const found = s.keys.find((k) => k.arn === arn);
  if (!found) throw new Error(`no key ${arn}`);
  return found;
}

/** The request intake reads from a sample event (a copy, optionally changed first). */
function requestOf(eventName: string, edit?: (record: Record<string, unknown>) => void): KinesisKmsRequest {
  const event = loadEvent(eventName);
  edit?.((event.detail as Record<string, unknown> | undefined) ?? event);
  const parsed = intake(event);
  if (!parsed.match) throw new Error(`${eventName}: ${parsed.detail}`);
  return parsed.request;
}

async function stateOf(s: AccountSnapshot, request: KinesisKmsRequest): Promise<ResolvedState> {
  return gatherState(new SnapshotReader(s), request);
}

async function run(
  s: AccountSnapshot,
  options: { event?: string; prefer?: Mechanism } = {},
): Promise<DiagnoseResult> {
  const request = requestOf(options.event ?? CONSUMER_EVENT);
  return diagnose(request, await stateOf(s, request), options.prefer ? { prefer: options.prefer } : {});
}

/** A proposal's proof: allowed after, and nothing it probes newly allowed. */
function expectProven(result: DiagnoseResult): void {
  if (result.verdict !== 'propose')
    throw new Error(`expected a proposal, got ${result.verdict}: ${result.reason}`);
  expect(result.proof.after).toBe('allowed');
  for (const probe of result.proof.probes) {
    if (probe.before !== 'allowed')
      expect([probe.description, probe.result]).toEqual([probe.description, probe.before]);
  }
}

describe('explicit denies: diagnose refuses, whatever form the deny takes', () => {
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
  // ("an explicit deny in any of these policies overrides the allow").
  type Where = 'inline' | 'managed' | 'boundary' | 'key-policy' | 'scp' | 'rcp';
  const denies: [string, Where, unknown][] = [
    [
      'Deny with NotAction that leaves Decrypt in',
      'inline',
      { Effect: 'Deny', NotAction: 'kms:Encrypt', Resource: '*' },
    ],
    [
      'Deny with the action in another case (KMS:decrypt)',
      'inline',
      { Effect: 'Deny', Action: 'KMS:decrypt', Resource: '*' },
    ],
    ['Deny on kms:*', 'managed', { Effect: 'Deny', Action: 'kms:*', Resource: '*' }],
    ['Deny on kms:Dec?ypt', 'inline', { Effect: 'Deny', Action: 'kms:Dec?ypt', Resource: '*' }],
    [
      'Deny with NotResource naming another key',
      'inline',
      { Effect: 'Deny', Action: 'kms:Decrypt', NotResource: CLICKS_KEY },
    ],
    [
      'Deny on kms:ViaService (condition key in another case)',
      'inline',
      {
        Effect: 'Deny',
        Action: 'kms:*',
        Resource: '*',
        Condition: { StringEquals: { 'KMS:VIASERVICE': VIA_KINESIS['kms:ViaService'] } },
      },
    ],
    [
      'Deny on the stream encryption context',
      'inline',
      {
        Effect: 'Deny',
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringLike: { 'kms:EncryptionContext:aws:kinesis:arn': '*:stream/ord*' } },
      },
    ],
    [
      'Deny when the context key is present (Null false)',
      'inline',
      {
        Effect: 'Deny',
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { Null: { 'kms:EncryptionContext:aws:kinesis:arn': false } },
      },
    ],
    [
      'Deny with StringNotEqualsIfExists on kms:ViaService',
      'inline',
      {
        Effect: 'Deny',
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringNotEqualsIfExists: { 'kms:ViaService': ['ec2.us-east-1.amazonaws.com'] } },
      },
    ],
    [
      'Deny with ForAnyValue on kms:EncryptionContextKeys',
      'inline',
      {
        Effect: 'Deny',
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'aws:kinesis:arn' } },
      },
    ],
    [
      'Deny on the principal tag',
      'inline',
      {
        Effect: 'Deny',
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringEquals: { 'aws:PrincipalTag/team': 'orders' } },
      },
    ],
    [
      'Deny in the permissions boundary',
      'boundary',
      { Effect: 'Deny', Action: 'kms:Decrypt', Resource: '*' },
    ],
    [
      'key-policy Deny to everyone through Kinesis',
      'key-policy',
      {
        Effect: 'Deny',
        Principal: '*',
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringEquals: VIA_KINESIS },
      },
    ],
    [
      'key-policy Deny with NotPrincipal',
      'key-policy',
      {
        Effect: 'Deny',
        NotPrincipal: { AWS: 'arn:aws:iam::111122223333:role/KeyAdmin' },
        Action: 'kms:Decrypt',
        Resource: '*',
      },
    ],
    [
      'key-policy Deny naming the account',
      'key-policy',
      { Effect: 'Deny', Principal: { AWS: ACCOUNT }, Action: 'kms:Decrypt', Resource: '*' },
    ],
    ['SCP Deny with NotAction', 'scp', { Effect: 'Deny', NotAction: ['iam:*', 'sts:*'], Resource: '*' }],
    ['RCP Deny on kms:*', 'rcp', { Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*' }],
  ];

  function withDeny(where: Where, statement: unknown): AccountSnapshot {
    const s = snapshot();
    const consumer = principalOf(s, CONSUMER);
    const allowAll = { Effect: 'Allow', Action: '*', Resource: '*' };
    switch (where) {
      case 'inline':
        consumer.inlinePolicies.deny = doc(statement);
        break;
      case 'managed':
        consumer.managedPolicies[`arn:aws:iam::${ACCOUNT}:policy/deny`] = doc(statement);
        break;
      case 'boundary':
        consumer.permissionsBoundary = doc(allowAll, statement);
        break;
      case 'key-policy': {
        const key = keyOf(s, ORDERS_KEY);
        (key.policy as { Statement: unknown[] }).Statement.push(statement);
        break;
      }
      case 'scp':
        s.organization = { serviceControlPolicies: [[doc(allowAll)], [doc(allowAll, statement)]] };
        break;
      case 'rcp':
        s.organization = {
          serviceControlPolicies: [[doc(allowAll)]],
          resourceControlPolicies: [[doc(statement)]],
        };
        break;
    }
    return s;
  }

  it.each(denies)('%s (%s)', async (_name, where, statement) => {
    for (const prefer of ['kms-grant', 'iam-inline-policy', 'key-policy-statement'] as const) {
      const result = await run(withDeny(where, statement), { prefer });
      expect([prefer, result.verdict, 'code' in result ? result.code : null]).toEqual([
        prefer,
        'refuse',
        'explicit-deny',
      ]);
      expect(result.diagnosis?.current).toBe('explicit-deny');
    }
  });

  it('refuses a key-policy Deny on the caller aws:userid, which the record gives as principalId', async () => {
    // aws:userid of a role session is ROLE_ID:SESSION_NAME
    // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#principaltable).
    const s = snapshot();
    (keyOf(s, ORDERS_KEY).policy as { Statement: unknown[] }).Statement.push({
      Sid: 'DenyThisRoleById',
      Effect: 'Deny',
      Principal: '*',
      Action: 'kms:*',
      Resource: '*',
      Condition: { StringLike: { 'aws:userid': 'AROACFCFFIDFDCFADIAAD:*' } },
    });
    const request = requestOf(CONSUMER_EVENT);
    expect(request.principalId).toBe('AROACFCFFIDFDCFADIAAD:i-0abc123');
    const result = diagnose(request, await stateOf(s, request));
    expect(verdictOf(result)).toEqual(['refuse', 'explicit-deny']);
    expect(result.reason).toContain('DenyThisRoleById');
  });

  it('refuses when the call as recorded (not through Kinesis) meets an explicit deny', async () => {
    // The record has no Kinesis service markers: keymend cannot tell it came through Kinesis, and a
    // key policy that denies direct calls is what AWS may have applied. Acting on the Kinesis reading
    // alone would explain away an explicit deny.
    const s = snapshot();
    (keyOf(s, ORDERS_KEY).policy as { Statement: unknown[] }).Statement.push({
      Sid: 'DenyDirectUse',
      Effect: 'Deny',
      Principal: '*',
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: { Null: { 'kms:ViaService': 'true' } },
    });
    const result = await run(s, { event: CONTEXT_ONLY_EVENT });
    expect(verdictOf(result)).toEqual(['refuse', 'explicit-deny']);
    expect(result.reason).toContain('DenyDirectUse');
  });
});

describe('denies that do not apply must not block: the Kinesis request context is complete', () => {
  // aws:RequestedRegion is always in the request context
  // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-requestedregion);
  // the Region-deny SCP below is the one AWS documents
  // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_aws_deny-requested-region.html).
  const regionDeny = (regions: string[]) => ({
    Sid: 'DenyAllOutsideRequestedRegions',
    Effect: 'Deny',
    NotAction: ['cloudfront:*', 'iam:*', 'route53:*', 'support:*'],
    Resource: '*',
    Condition: { StringNotEquals: { 'aws:RequestedRegion': regions } },
  });
  const allowAll = { Effect: 'Allow', Action: '*', Resource: '*' };

  it('a Region-restricting SCP that allows us-east-1 does not block a call in us-east-1', async () => {
    const s = snapshot();
    s.organization = {
      serviceControlPolicies: [[doc(allowAll)], [doc(allowAll, regionDeny(['us-east-1', 'eu-west-1']))]],
    };
    const result = await run(s);
    expectProven(result);
  });

  it('the same SCP without us-east-1 blocks it, as an explicit deny', async () => {
    const s = snapshot();
    s.organization = {
      serviceControlPolicies: [[doc(allowAll)], [doc(allowAll, regionDeny(['eu-west-1']))]],
    };
    const result = await run(s);
    expect(verdictOf(result)).toEqual(['refuse', 'explicit-deny']);
  });

  it('a key-policy allow for principals that are not AWS services already allows the call', async () => {
    // aws:PrincipalIsAWSService is in every signed request, false for IAM principals
    // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalisawsservice).
    const s = snapshot();
    (keyOf(s, ORDERS_KEY).policy as { Statement: unknown[] }).Statement.push({
      Sid: 'AccountPrincipalsThroughKinesis',
      Effect: 'Allow',
      Principal: '*',
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: {
        StringEquals: { ...VIA_KINESIS, 'kms:CallerAccount': ACCOUNT },
        Bool: { 'aws:PrincipalIsAWSService': 'false' },
      },
    });
    const result = await run(s);
    expect([result.verdict, 'code' in result ? result.code : null]).toEqual(['ignore', 'already-allowed']);
  });
});

describe('a layer keymend cannot see: never "fixed since the event"', () => {
  // The visible policies allow the call now, but AWS named a session policy, or an SCP while the
  // organization is unknown: either may still deny, so keymend can claim neither a fix nor that none is needed.
  const cases: [string, string, string, string][] = [
    ['a session policy', 'consumer-decrypt-denied-session-policy.record.json', 'already-fixed', 'session'],
    [
      'an SCP, organization unknown',
      'producer-generatedatakey-denied-scp-policy-arn.eventbridge.json',
      'no-iam-delegation',
      'service-control',
    ],
  ];
  it.each(cases)('%s', async (_name, event, account, layer) => {
    const result = await run(snapshot(account), { event });
    expect(result.diagnosis?.current).toBe('allowed');
    expect(verdictOf(result)).toEqual(['refuse', 'invisible-layer']);
    expect(result.reason).toContain(layer);
  });
});

describe('robustness: odd but valid documents never crash diagnose', () => {
  const odd: [string, (s: AccountSnapshot) => void][] = [
    [
      'Statement as an object, Action as a string, Condition values as arrays, booleans and numbers',
      (s) => {
        principalOf(s, CONSUMER).inlinePolicies.odd = {
          Version: '2012-10-17',
          Statement: {
            Effect: 'Allow',
            Action: 's3:GetObject',
            Resource: 'arn:aws:s3:::bucket/*',
            Condition: {
              Bool: { 'aws:SecureTransport': true },
              NumericLessThan: { 's3:max-keys': 10 },
              StringEquals: { 's3:prefix': ['a', 'b'] },
            },
          },
        };
      },
    ],
    [
      'a key policy whose Statement is one object',
      (s) => {
        keyOf(s, ORDERS_KEY).policy = { Version: '2012-10-17', Statement: ROOT_DELEGATION };
      },
    ],
    [
      'a key policy without Version, with Principal lists and a bare account id',
      (s) => {
        keyOf(s, ORDERS_KEY).policy = {
          Statement: [
            { ...ROOT_DELEGATION, Principal: { AWS: [ACCOUNT, 'arn:aws:iam::111122223333:role/KeyAdmin'] } },
          ],
        };
      },
    ],
    [
      'Principal "*" with a kms:CallerAccount condition',
      (s) => {
        keyOf(s, ORDERS_KEY).policy = doc(
          {
            Effect: 'Allow',
            Principal: '*',
            Action: ['kms:Describe*'],
            Resource: '*',
            Condition: { StringEquals: { 'kms:CallerAccount': ACCOUNT } },
          },
          ROOT_DELEGATION,
        );
      },
    ],
  ];
  it.each(odd)('%s', async (_name, edit) => {
    const s = snapshot();
    edit(s);
    for (const prefer of ['kms-grant', 'iam-inline-policy', 'key-policy-statement'] as const) {
      expectProven(await run(s, { prefer }));
    }
  });

  const malformed: [string, (s: AccountSnapshot) => void, RegExp][] = [
    [
      'an inline policy with Effect "allow"',
      (s) => {
        principalOf(s, CONSUMER).inlinePolicies.bad = doc({
          Effect: 'allow',
          Action: 'kms:Decrypt',
          Resource: '*',
        });
      },
      /policy bad: Statement\[0\]\.Effect must be "Allow" or "Deny"/,
    ],
    [
      'a key policy with a null condition value',
      (s) => {
        keyOf(s, ORDERS_KEY).policy = doc(ROOT_DELEGATION, {
          Effect: 'Deny',
          Principal: '*',
          Action: 'kms:*',
          Resource: '*',
          Condition: { StringEquals: { 'kms:ViaService': null } },
        });
      },
      /policy key-policy: Statement\[1\]\.Condition\.StringEquals\["kms:ViaService"\]/,
    ],
    [
      'a boundary with an unknown condition operator',
      (s) => {
        principalOf(s, CONSUMER).permissionsBoundary = doc({
          Effect: 'Allow',
          Action: '*',
          Resource: '*',
          Condition: { StringEqualz: { 'aws:PrincipalTag/team': 'orders' } },
        });
      },
      /unknown operator "StringEqualz"/,
    ],
    [
      'an SCP that is a string of broken JSON',
      (s) => {
        s.organization = { serviceControlPolicies: [['{"Statement": [']] };
      },
      /service-control-policies\[0\]\[0\]: is not valid JSON/,
    ],
  ];
  it.each(malformed)('%s: refuse invalid-policy, naming the problem', async (_name, edit, message) => {
    const s = snapshot();
    edit(s);
    const result = await run(s);
    expect(verdictOf(result)).toEqual(['refuse', 'invalid-policy']);
    expect(result.reason).toMatch(message);
  });
});

describe('operations keymend does not scope to a stream', () => {
  it('refuses DescribeKey: it carries no encryption context, so no grant or condition can tie it to the stream', async () => {
    // "Grant constraints are not applied to operations that do not support an encryption context, such as
    // ... DescribeKey" (https://docs.aws.amazon.com/kms/latest/APIReference/API_GrantConstraints.html).
    const request = requestOf(CONSUMER_EVENT, (record) => {
      record.eventName = 'DescribeKey';
    });
    const state = await stateOf(snapshot(), request);
    for (const prefer of ['kms-grant', 'iam-inline-policy', 'key-policy-statement'] as const) {
      const result = diagnose(request, state, { prefer });
      expect([prefer, result.verdict, result.plan]).toEqual([prefer, 'refuse', null]);
    }
  });
});

describe('the proof probes every neighbour', () => {
  const required = [
    'kms:Encrypt',
    'kms:ReEncryptFrom',
    'kms:ReEncryptTo',
    'kms:GenerateDataKeyWithoutPlaintext',
    'kms:GenerateDataKeyPair',
    'kms:GenerateDataKeyPairWithoutPlaintext',
    'kms:CreateGrant',
    'kms:PutKeyPolicy',
    'kms:ScheduleKeyDeletion',
  ];
  const cases: [string, string, string, Mechanism][] = [];
  for (const mechanism of ['kms-grant', 'iam-inline-policy', 'key-policy-statement'] as const) {
    cases.push(['consumer', CONSUMER_EVENT, 'kms:GenerateDataKey', mechanism]);
    cases.push(['producer', PRODUCER_EVENT, 'kms:Decrypt', mechanism]);
  }
  it.each(cases)('%s, %s: every required probe is there', async (_who, event, otherDataOp, mechanism) => {
    const result = await run(snapshot(), { event, prefer: mechanism });
    expectProven(result);
    if (result.verdict !== 'propose') return;
    const { probes } = result.proof;
    const onThisKey = probes.filter((p) => p.resource === result.request.keyArn).map((p) => p.action);
    expect(onThisKey).toEqual(expect.arrayContaining([...required, otherDataOp]));
    const op = result.request.operation;
    const describe = (pattern: RegExp) =>
      expect(probes.filter((p) => p.action === op && pattern.test(p.description)).length).toBeGreaterThan(0);
    describe(/another stream/);
    describe(/another key/);
    describe(/another principal/);
    expect(probes.some((p) => p.action === op && p.resource !== result.request.keyArn)).toBe(true);
    const direct = probes.some((p) => /not through Kinesis/.test(p.description));
    expect(direct).toBe(mechanism !== 'kms-grant');
  });
});

/** The plan diagnose proposes for `event` with `prefer`, and the request and state it was made for. */
async function proposal(s: AccountSnapshot, event: string, prefer: Mechanism) {
  const request = requestOf(event);
  const state = await stateOf(s, request);
  const result = diagnose(request, state, { prefer });
  if (result.verdict !== 'propose' || result.plan.mechanism !== prefer)
    throw new Error(`expected a ${prefer} proposal, got ${result.verdict}: ${result.reason}`);
  return { request, state, plan: result.plan };
}

describe('the proof rejects plans that grant more than the one operation, key, stream and principal', () => {
  // Each row takes the plan keymend proposes and makes it leak one way; the proof must then fail.
  type Fields = Record<string, unknown>;
  type Mutation<P extends Plan> = [string, (plan: P) => void];
  const put = (target: Fields, field: string, value: unknown): void => {
    target[field] = value;
  };
  const conditions = (operator: string, stream: string, viaService = true) => ({
    [operator]: {
      ...(viaService ? VIA_KINESIS : {}),
      'kms:EncryptionContext:aws:kinesis:arn': stream,
    },
  });
  const ORDER_Q = ORDERS.replace('orders', 'order?');

  const statementOf = (plan: InlinePolicyPlan): Fields => (plan.document.Statement as Fields[])[0] as Fields;
  const inStatement =
    (field: string, value: unknown) =>
    (plan: InlinePolicyPlan): void =>
      put(statementOf(plan), field, value);
  const inline: Mutation<InlinePolicyPlan>[] = [
    ['Resource "*"', inStatement('Resource', '*')],
    ['Resource with a trailing "?"', inStatement('Resource', `${ORDERS_KEY.slice(0, -1)}?`)],
    ['Resource as a key-id prefix', inStatement('Resource', ORDERS_KEY.replace('-1234567890ab', '-*'))],
    [
      'Resource as a policy variable',
      inStatement('Resource', 'arn:aws:kms:us-east-1:111122223333:key/${aws:PrincipalTag/key}'),
    ],
    ['Action kms:*', inStatement('Action', 'kms:*')],
    ['Action kms:ReEncrypt*', inStatement('Action', ['kms:Decrypt', 'kms:ReEncrypt*'])],
    ['Action with kms:ReEncryptTo', inStatement('Action', ['kms:Decrypt', 'kms:ReEncryptTo'])],
    [
      'Action kms:Decrypt plus kms:GenerateDataKey*',
      inStatement('Action', ['kms:Decrypt', 'kms:GenerateDataKey*']),
    ],
    [
      'Action with kms:GenerateDataKeyWithoutPlaintext',
      inStatement('Action', ['kms:Decrypt', 'kms:GenerateDataKeyWithoutPlaintext']),
    ],
    [
      'NotAction',
      (plan) => {
        const statement = statementOf(plan);
        statement.NotAction = 'kms:Encrypt';
        delete statement.Action;
      },
    ],
    ['no kms:ViaService', inStatement('Condition', conditions('StringEquals', ORDERS, false))],
    ['no encryption-context condition', inStatement('Condition', { StringEquals: VIA_KINESIS })],
    [
      'StringLike on the stream with a trailing "*"',
      inStatement('Condition', conditions('StringLike', `${ORDERS}*`)),
    ],
    ['StringLike on the stream with a "?"', inStatement('Condition', conditions('StringLike', ORDER_Q))],
    ['the conditions IfExists', inStatement('Condition', conditions('StringEqualsIfExists', ORDERS))],
    // What probes cannot sample: a '?' anywhere, another real key, a case-insensitive operator, another principal.
    [
      'Resource with a "?" inside the key id',
      inStatement('Resource', ORDERS_KEY.replace('12ab-34cd', '12ab-3?cd')),
    ],
    ['Resource as a list with the clicks key', inStatement('Resource', [ORDERS_KEY, CLICKS_KEY])],
    [
      'StringEqualsIgnoreCase on the stream',
      inStatement('Condition', conditions('StringEqualsIgnoreCase', ORDERS)),
    ],
    [
      'StringLike on the stream with a "?" inside',
      inStatement('Condition', conditions('StringLike', ORDERS.replace('orders', 'or?ers'))),
    ],
    [
      'an extra condition that widens nothing but is not the plan',
      inStatement('Condition', {
        ...conditions('StringEquals', ORDERS),
        Bool: { 'aws:SecureTransport': 'true' },
      }),
    ],
    ['the policy on another principal', (plan) => put(plan as unknown as Fields, 'principalArn', PRODUCER)],
    [
      'a second statement',
      (plan) => {
        (plan.document.Statement as unknown[]).push({
          Effect: 'Allow',
          Action: 'kms:Encrypt',
          Resource: ORDERS_KEY,
        });
      },
    ],
  ];

  /** Changes the new statement in the plan and in its full document alike. */
  const inKeyStatement =
    (field: string, value: unknown) =>
    (plan: KeyPolicyPlan): void => {
      put(plan.statement as unknown as Fields, field, value);
      plan.document.Statement[plan.document.Statement.length - 1] = plan.statement;
    };
  const keyPolicy: Mutation<KeyPolicyPlan>[] = [
    ['Principal "*"', inKeyStatement('Principal', '*')],
    ['Principal {"AWS": "*"}', inKeyStatement('Principal', { AWS: '*' })],
    ['Principal the account root', inKeyStatement('Principal', { AWS: `arn:aws:iam::${ACCOUNT}:root` })],
    ['Principal the account id', inKeyStatement('Principal', { AWS: ACCOUNT })],
    ['Action kms:*', inKeyStatement('Action', 'kms:*')],
    ['Action with kms:ReEncryptTo', inKeyStatement('Action', ['kms:Decrypt', 'kms:ReEncryptTo'])],
    ['no kms:ViaService', inKeyStatement('Condition', conditions('StringEquals', ORDERS, false))],
    ['no stream condition', inKeyStatement('Condition', { StringEquals: VIA_KINESIS })],
    ['StringLike on the stream with a "?"', inKeyStatement('Condition', conditions('StringLike', ORDER_Q))],
    ['Principal with a second role', inKeyStatement('Principal', { AWS: [CONSUMER, PRODUCER] })],
    [
      'Principal the role session instead of the role',
      inKeyStatement('Principal', {
        AWS: 'arn:aws:sts::111122223333:assumed-role/orders-consumer/i-0abc123',
      }),
    ],
    [
      'an existing statement dropped',
      (plan) => {
        plan.document.Statement.splice(1, 1);
      },
    ],
    ['the Id changed', (plan) => put(plan.document, 'Id', 'keymend')],
    [
      'an existing statement opened to everyone',
      (plan) => {
        plan.document.Statement[1] = { ...(plan.document.Statement[1] as Fields), Principal: '*' };
      },
    ],
  ];

  const withOperation =
    (operation: string) =>
    (plan: GrantPlan): void => {
      (plan.operations as string[]).push(operation);
    };
  const grant: Mutation<GrantPlan>[] = [
    ['a second operation (Encrypt)', withOperation('Encrypt')],
    ['a second operation (ReEncryptTo)', withOperation('ReEncryptTo')],
    [
      'a second operation (GenerateDataKeyWithoutPlaintext)',
      withOperation('GenerateDataKeyWithoutPlaintext'),
    ],
    ['a second operation (CreateGrant)', withOperation('CreateGrant')],
    [
      'a constraint on another stream',
      (plan) => put(plan.constraints.encryptionContextSubset, 'aws:kinesis:arn', `${ORDERS}x`),
    ],
    [
      'the grantee the account root',
      (plan) => put(plan as unknown as Fields, 'granteePrincipal', `arn:aws:iam::${ACCOUNT}:root`),
    ],
    ['the grantee another role', (plan) => put(plan as unknown as Fields, 'granteePrincipal', PRODUCER)],
    [
      'no constraints',
      (plan) => {
        delete (plan as Partial<GrantPlan>).constraints;
      },
    ],
    [
      'EncryptionContextSubset with a second pair',
      (plan) => put(plan.constraints.encryptionContextSubset, 'team', 'orders'),
    ],
    ['another key', (plan) => put(plan as unknown as Fields, 'keyArn', CLICKS_KEY)],
  ];

  /** A state where the key policy does not delegate to IAM and the consumer's IAM allows kms:Decrypt. */
  function undelegated(): AccountSnapshot {
    const s = snapshot('no-iam-delegation');
    principalOf(s, CONSUMER).inlinePolicies.kms = doc({
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: '*',
    });
    return s;
  }

  type Row = [string, Mechanism, () => AccountSnapshot, (plan: Plan) => void];
  const rows = <P extends Plan>(
    label: string,
    mechanism: Mechanism,
    state: () => AccountSnapshot,
    list: Mutation<P>[],
  ): Row[] =>
    list.map(([name, mutate]) => [`${label}: ${name}`, mechanism, state, mutate as (plan: Plan) => void]);
  const table: Row[] = [
    ...rows('inline', 'iam-inline-policy', snapshot, inline),
    ...rows('key policy', 'key-policy-statement', snapshot, keyPolicy),
    ...rows('key policy, key without IAM delegation', 'key-policy-statement', undelegated, keyPolicy),
    ...rows('grant', 'kms-grant', snapshot, grant),
  ];

  it.each([
    ['iam-inline-policy', snapshot],
    ['key-policy-statement', snapshot],
    ['key-policy-statement', undelegated],
    ['kms-grant', snapshot],
  ] as const)('the %s plan keymend makes is proven as it is', async (mechanism, state) => {
    const { request, state: resolved, plan } = await proposal(state(), CONSUMER_EVENT, mechanism);
    expect(provePlan(request, resolved, plan).failure).toBeNull();
  });

  it.each(table)('%s', async (_title, mechanism, state, mutate) => {
    const { request, state: resolved, plan } = await proposal(state(), CONSUMER_EVENT, mechanism);
    const leaky = structuredClone(plan);
    mutate(leaky);
    expect(provePlan(request, resolved, leaky).failure).not.toBeNull();
  });
});

describe('a request whose names are not exact ARNs never reaches a plan', () => {
  // IAM paths may hold any printable ASCII, '*' and '?' included
  // (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html, Path); in a policy such a name
  // would be a wildcard, and '${...}' a policy variable. The intake rejects these; diagnose must too, for
  // requests built elsewhere.
  const cases: [string, Partial<KinesisKmsRequest>, string | null][] = [
    [
      'a "*" in the role path',
      { principalArn: 'arn:aws:iam::111122223333:role/service-role*/orders-consumer' },
      null,
    ],
    [
      'a policy variable as the role name',
      { principalArn: 'arn:aws:iam::111122223333:role/service-role/${aws:username}' },
      null,
    ],
    [
      'a "?" in the role name',
      { principalArn: 'arn:aws:iam::111122223333:role/service-role/orders-consume?' },
      null,
    ],
    [
      'a session ARN as the principal',
      { principalArn: 'arn:aws:sts::111122223333:assumed-role/orders-consumer/i-0abc123' },
      null,
    ],
    ['a "*" in the stream name', { streamArn: 'arn:aws:kinesis:us-east-1:111122223333:stream/ord*' }, null],
    [
      'a policy variable as the stream name',
      { streamArn: 'arn:aws:kinesis:us-east-1:111122223333:stream/${aws:PrincipalTag/team}' },
      null,
    ],
    [
      'a stream in another Region',
      { streamArn: 'arn:aws:kinesis:us-west-2:111122223333:stream/orders' },
      null,
    ],
    ['a Region with a wildcard', { region: 'us-east-*' }, null],
    ['a "?" in the key id', {}, `${ORDERS_KEY.slice(0, -1)}?`],
  ];

  it.each(cases)('%s', async (_name, overrides, keyArn) => {
    const base = requestOf(CONSUMER_EVENT);
    const state = await stateOf(snapshot(), base);
    const request: KinesisKmsRequest = { ...base, ...overrides, ...(keyArn ? { keyArn } : {}) };
    // The state answers for whatever the request names, so that only the names can stop the plan.
    if (!state.principal || !state.key) throw new Error('demo state incomplete');
    const rigged: ResolvedState = {
      ...state,
      principal: { ...state.principal, arn: request.principalArn },
      key: { ...state.key, arn: keyArn ?? state.key.arn },
      stream: null,
    };
    for (const prefer of ['kms-grant', 'iam-inline-policy', 'key-policy-statement'] as const) {
      const result = diagnose(request, rigged, { prefer });
      expect([prefer, result.verdict, 'code' in result ? result.code : null, result.plan]).toEqual([
        prefer,
        'refuse',
        'malformed-request',
        null,
      ]);
    }
  });
});
