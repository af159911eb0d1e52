/**
 * Adversarial cases for diagnose, plan and prove: account states and plans built to make keymend grant
 * more than the one operation on the one key for the one stream to the one principal, miss an explicit
 * deny, or crash. Each row names what it attacks; where AWS behaviour decides the answer, the page is cited.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseSnapshot, SnapshotReader } from '../../functions/adapters/snapshot';
import type { AccountSnapshot, PrincipalState } from '../../functions/core/account';
import { type DiagnoseResult, diagnose, type ResolvedState } from '../../functions/core/diagnose';
import { gatherState } from '../../functions/core/gather';
import { intake } from '../../functions/core/intake';
import type { Mechanism } from '../../functions/core/plan';
import type { KinesisKmsRequest } from '../../functions/core/request';
import { EVENTS_DIR, loadEvent } from '../helpers/events';

const ACCOUNT = '111122223333';
const ORDERS_KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const CLICKS_KEY = 'arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321';
const CONSUMER = 'arn:aws:iam::111122223333:role/service-role/orders-consumer';
const CONSUMER_EVENT = 'consumer-decrypt-denied-service-role.eventbridge.json';
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
  return parseSnapshot(JSON.parse(readFileSync(path.join(EVENTS_DIR, 'accounts', `${name}.json`), 'utf8')));
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
    expect([result.verdict, 'code' in result ? result.code : null]).toEqual(['refuse', 'explicit-deny']);
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
    expect([result.verdict, 'code' in result ? result.code : null]).toEqual(['refuse', 'explicit-deny']);
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
    expect([result.verdict, 'code' in result ? result.code : null]).toEqual(['refuse', 'invalid-policy']);
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
