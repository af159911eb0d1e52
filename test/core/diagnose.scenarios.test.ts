import {
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import { DescribeStreamSummaryCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import {
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  KMSClient,
  ListAliasesCommand,
  ListGrantsCommand,
  ListResourceTagsCommand,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsAccountReader } from '../../functions/adapters/aws-account';
import { SnapshotReader } from '../../functions/adapters/snapshot';
import type { AccountReader, AccountSnapshot } from '../../functions/core/account';
import { type DiagnoseResult, diagnose, type RefusalCode } from '../../functions/core/diagnose';
import { gatherState } from '../../functions/core/gather';
import { intake } from '../../functions/core/intake';
import type { Mechanism } from '../../functions/core/plan';
import type { PolicyLayer } from '../../functions/policy/types';
import { loadSnapshot } from '../helpers/accounts';
import { CLICKS, CLICKS_KEY, CONSUMER, ORDERS, ORDERS_KEY } from '../helpers/arns';
import { loadEvent } from '../helpers/events';

const CONSUMER_EVENT = 'consumer-decrypt-denied-service-role.eventbridge.json';

/** The one element that matches, or a failed test saying what was missing. */
function only<T>(items: readonly T[], match: (item: T) => boolean, what: string): T {
  const found = items.find(match);
  if (found === undefined) throw new Error(`no ${what}`);
  return found;
}

function snapshot(name: string): AccountSnapshot {
  return loadSnapshot(name);
}

/** The CloudTrail record inside an event file, whatever its envelope. */
function recordOf(event: Record<string, unknown>): Record<string, unknown> {
  return (event.detail as Record<string, unknown> | undefined) ?? event;
}

interface Expected {
  verdict: DiagnoseResult['verdict'];
  code?: RefusalCode | 'already-allowed';
  mechanism?: Mechanism;
  blockingLayers?: PolicyLayer[];
  /** A fragment the reason must contain. */
  reason?: string;
}

interface Scenario {
  name: string;
  event: string;
  account: string;
  prefer?: Mechanism;
  /** Changes the event (a copy) to build a case the sample files do not hold. */
  edit?: (record: Record<string, unknown>) => void;
  /** Changes the snapshot (a copy) before it is read. */
  editAccount?: (snapshot: AccountSnapshot) => void;
  expected: Expected;
}

const scenarios: Scenario[] = [
  {
    name: 'consumer role with a path, no KMS permission: a grant',
    event: CONSUMER_EVENT,
    account: 'demo',
    expected: { verdict: 'propose', mechanism: 'kms-grant', blockingLayers: ['identity-based'] },
  },
  {
    name: 'consumer, inline policy preferred',
    event: CONSUMER_EVENT,
    account: 'demo',
    prefer: 'iam-inline-policy',
    expected: { verdict: 'propose', mechanism: 'iam-inline-policy' },
  },
  {
    name: 'consumer, key-policy statement preferred',
    event: CONSUMER_EVENT,
    account: 'demo',
    prefer: 'key-policy-statement',
    expected: { verdict: 'propose', mechanism: 'key-policy-statement' },
  },
  {
    name: 'producer GenerateDataKey',
    event: 'producer-generatedatakey-denied.record.json',
    account: 'demo',
    expected: { verdict: 'propose', mechanism: 'kms-grant', blockingLayers: ['identity-based'] },
  },
  {
    name: 'Lambda event source mapping role',
    event: 'lambda-esm-decrypt-denied.eventbridge.json',
    account: 'demo',
    expected: { verdict: 'propose', mechanism: 'kms-grant' },
  },
  {
    name: 'Managed Service for Apache Flink role',
    event: 'flink-decrypt-denied.record.json',
    account: 'demo',
    prefer: 'iam-inline-policy',
    expected: { verdict: 'propose', mechanism: 'iam-inline-policy' },
  },
  {
    name: 'IAM user',
    event: 'iam-user-decrypt-denied.record.json',
    account: 'demo',
    expected: { verdict: 'propose', mechanism: 'kms-grant' },
  },
  {
    name: 'Decrypt record without resources: key from keyId',
    event: 'consumer-decrypt-denied-no-resources.record.json',
    account: 'demo',
    expected: { verdict: 'propose', mechanism: 'kms-grant' },
  },
  {
    name: 'Decrypt record naming no key at all: key from the stream',
    event: 'consumer-decrypt-denied-no-key-anywhere.record.json',
    account: 'demo',
    expected: { verdict: 'propose', mechanism: 'kms-grant' },
  },
  {
    name: 'producer record naming the key by alias only',
    event: 'producer-generatedatakey-denied-alias-no-key-arn.record.json',
    account: 'demo',
    expected: { verdict: 'propose', mechanism: 'kms-grant' },
  },
  {
    name: 'no invokedBy, Kinesis context only: the principal reads the stream, so keymend acts',
    event: 'consumer-decrypt-denied-context-only.record.json',
    account: 'demo',
    expected: { verdict: 'propose', mechanism: 'kms-grant' },
  },
  {
    name: 'direct call with a forged Kinesis context by a principal who cannot read the stream',
    event: 'direct-decrypt-kinesis-context-not-via-kinesis.record.json',
    account: 'forged-context',
    expected: { verdict: 'refuse', code: 'forged-context' },
  },
  {
    name: 'explicit deny in an identity policy, as AWS reported',
    event: 'consumer-decrypt-denied-explicit-identity.record.json',
    account: 'explicit-deny',
    expected: { verdict: 'refuse', code: 'explicit-deny', reason: 'never overrides' },
  },
  {
    name: 'explicit deny the state shows although AWS named an identity-based implicit deny',
    event: CONSUMER_EVENT,
    account: 'explicit-deny',
    expected: { verdict: 'refuse', code: 'explicit-deny' },
  },
  {
    name: 'explicit deny AWS reported that the state does not show',
    event: 'consumer-decrypt-denied-explicit-identity.record.json',
    account: 'demo',
    expected: { verdict: 'refuse', code: 'invisible-layer' },
  },
  {
    name: 'permissions boundary without KMS',
    event: 'consumer-decrypt-denied-boundary.record.json',
    account: 'boundary',
    expected: { verdict: 'refuse', code: 'boundary-blocks' },
  },
  {
    name: 'permissions boundary found by evaluation although AWS named the identity policy',
    event: CONSUMER_EVENT,
    account: 'boundary',
    expected: {
      verdict: 'refuse',
      code: 'boundary-blocks',
      blockingLayers: ['identity-based', 'permissions-boundary'],
    },
  },
  {
    name: 'SCP deny visible in the organization state',
    event: 'consumer-decrypt-denied-scp.record.json',
    account: 'scp-deny',
    expected: { verdict: 'refuse', code: 'explicit-deny' },
  },
  {
    name: 'SCP named by AWS but the organization is not visible',
    event: 'producer-generatedatakey-denied-scp-policy-arn.eventbridge.json',
    account: 'demo',
    expected: { verdict: 'refuse', code: 'invisible-layer' },
  },
  {
    name: 'organization visible and allowing: the fix goes ahead',
    event: CONSUMER_EVENT,
    account: 'organization-allow',
    expected: { verdict: 'propose', mechanism: 'kms-grant' },
  },
  {
    name: "data perimeter: the network-perimeter RCP's aws:ViaAWSService exemption decides: refuse, naming it",
    event: CONSUMER_EVENT,
    account: 'data-perimeter',
    expected: {
      verdict: 'refuse',
      code: 'forward-access-session-uncertain',
      reason: 'forward access session',
    },
  },
  {
    name: 'data perimeter: resource, identity, own-accounts and symmetric-only perimeters hold for our key: a grant',
    event: 'producer-generatedatakey-denied.record.json',
    account: 'data-perimeter',
    expected: { verdict: 'propose', mechanism: 'kms-grant', blockingLayers: ['identity-based'] },
  },
  {
    name: 'session policy named by AWS',
    event: 'consumer-decrypt-denied-session-policy.record.json',
    account: 'demo',
    expected: { verdict: 'refuse', code: 'invisible-layer' },
  },
  {
    name: 'key policy without IAM delegation, inline policy preferred: falls back to a grant',
    event: 'consumer-decrypt-denied-key-policy.record.json',
    account: 'no-iam-delegation',
    prefer: 'iam-inline-policy',
    expected: {
      verdict: 'propose',
      mechanism: 'kms-grant',
      blockingLayers: ['resource-based', 'identity-based'],
    },
  },
  {
    name: 'key policy without IAM delegation, key-policy statement preferred',
    event: 'consumer-decrypt-denied-key-policy.record.json',
    account: 'no-iam-delegation',
    prefer: 'key-policy-statement',
    expected: { verdict: 'propose', mechanism: 'key-policy-statement' },
  },
  {
    name: 'a grant exists for another stream only',
    event: CONSUMER_EVENT,
    account: 'grant-other-stream',
    expected: { verdict: 'propose', mechanism: 'kms-grant' },
  },
  {
    name: 'already fixed since the event',
    event: CONSUMER_EVENT,
    account: 'already-fixed',
    expected: { verdict: 'ignore', code: 'already-allowed' },
  },
  {
    name: 'producer already allowed by a key-policy statement',
    event: 'producer-generatedatakey-denied-key-policy.eventbridge.json',
    account: 'no-iam-delegation',
    expected: { verdict: 'ignore', code: 'already-allowed' },
  },
  {
    name: 'cross-account caller whose account the key policy allows: an inline policy in the caller account',
    event: 'cross-account-decrypt-denied.eventbridge.json',
    account: 'cross-account',
    expected: { verdict: 'propose', mechanism: 'iam-inline-policy', blockingLayers: ['identity-based'] },
  },
  {
    name: 'cross-account caller whose account the key policy does not allow',
    event: 'cross-account-decrypt-denied.eventbridge.json',
    account: 'cross-account-key-policy',
    expected: {
      verdict: 'refuse',
      code: 'foreign-key-policy',
      reason: 'only its owner, account 111122223333',
    },
  },
  {
    name: 'cross-account caller, grant preferred: grants are same-account only',
    event: 'cross-account-decrypt-denied.eventbridge.json',
    account: 'cross-account',
    prefer: 'kms-grant',
    expected: { verdict: 'propose', mechanism: 'iam-inline-policy' },
  },
  {
    name: "cross-account key the caller's account cannot read (diagnose --aws there): its own code, not 'not found'",
    event: 'cross-account-decrypt-denied.eventbridge.json',
    account: 'cross-account',
    editAccount: (s) => {
      s.keys = s.keys.filter((k) => !k.arn.includes(':111122223333:'));
    },
    expected: {
      verdict: 'refuse',
      code: 'key-in-other-account',
      reason: 'is in account 111122223333, whose key policy keymend cannot read from account 444455556666',
    },
  },
  {
    name: 'event from another account than the state',
    event: 'cross-account-decrypt-denied.eventbridge.json',
    account: 'demo',
    expected: { verdict: 'refuse', code: 'wrong-account' },
  },
  {
    name: 'AWS managed key',
    event: 'legacy-decrypt-denied-aws-managed-key.record.json',
    account: 'demo',
    expected: { verdict: 'refuse', code: 'aws-managed-key' },
  },
  {
    name: 'disabled key',
    event: CONSUMER_EVENT,
    account: 'key-disabled',
    expected: { verdict: 'refuse', code: 'key-not-enabled' },
  },
  {
    name: 'root user',
    event: 'root-decrypt-denied-via-kinesis.record.json',
    account: 'demo',
    expected: { verdict: 'refuse', code: 'unsupported-principal' },
  },
  {
    name: 'record with no stream context, only the Kinesis service markers',
    event: 'consumer-decrypt-denied-no-context.record.json',
    account: 'demo',
    expected: { verdict: 'refuse', code: 'no-stream' },
  },
  {
    name: 'the stream is known to use another key',
    event: CONSUMER_EVENT,
    account: 'demo',
    edit: (record) => {
      record.resources = [{ accountId: '111122223333', type: 'AWS::KMS::Key', ARN: CLICKS_KEY }];
      (record.requestParameters as Record<string, unknown>).keyId = CLICKS_KEY;
      record.errorMessage = String(record.errorMessage).replace(ORDERS_KEY, CLICKS_KEY);
    },
    expected: { verdict: 'refuse', code: 'stream-key-mismatch' },
  },
  {
    name: 'principal missing from the state',
    event: CONSUMER_EVENT,
    account: 'demo',
    editAccount: (s) => {
      s.principals = s.principals.filter((p) => p.arn !== CONSUMER);
    },
    expected: { verdict: 'refuse', code: 'principal-not-found' },
  },
  {
    name: 'inline policies near the IAM limit, inline preferred: falls back to a grant',
    event: CONSUMER_EVENT,
    account: 'demo',
    prefer: 'iam-inline-policy',
    editAccount: (s) => {
      const consumer = only(s.principals, (p) => p.arn === CONSUMER, 'consumer');
      consumer.inlinePolicies.padding = {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${'b'.repeat(9_900)}/*` },
        ],
      };
    },
    expected: { verdict: 'propose', mechanism: 'kms-grant' },
  },
];

async function run(
  reader: AccountReader,
  eventName: string,
  options: { prefer?: Mechanism; edit?: Scenario['edit'] },
) {
  const event = loadEvent(eventName);
  options.edit?.(recordOf(event));
  const parsed = intake(event);
  if (!parsed.match) throw new Error(`${eventName} did not match the intake: ${parsed.reason}`);
  const state = await gatherState(reader, parsed.request);
  return diagnose(parsed.request, state, options.prefer ? { prefer: options.prefer } : {});
}

function check(result: DiagnoseResult, expected: Expected): void {
  expect({ verdict: result.verdict, code: result.code }).toEqual({
    verdict: expected.verdict,
    code: expected.code ?? (expected.verdict === 'propose' ? 'propose' : expect.any(String)),
  });
  if (expected.reason) expect(result.reason).toContain(expected.reason);
  if (expected.blockingLayers) expect(result.diagnosis?.blockingLayers).toEqual(expected.blockingLayers);
  if (result.verdict !== 'propose') {
    expect(result.plan).toBeNull();
    expect(result.proof).toBeNull();
    return;
  }
  expect(result.plan.mechanism).toBe(expected.mechanism);
  // A proposal is proven: denied before, allowed after, and nothing it probes newly allowed.
  expect(result.proof.before).not.toBe('allowed');
  expect(result.proof.after).toBe('allowed');
  expect(result.proof.probes.length).toBeGreaterThanOrEqual(3);
  for (const probe of result.proof.probes) {
    if (probe.before !== 'allowed')
      expect([probe.description, probe.result]).toEqual([probe.description, probe.before]);
  }
}

describe('diagnose scenarios (events/ + events/accounts/)', () => {
  it('holds at least 25 scenarios', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(25);
  });

  it.each(scenarios.map((s) => [s.name, s] as const))('%s', async (_name, scenario) => {
    const state = snapshot(scenario.account);
    scenario.editAccount?.(state);
    const result = await run(new SnapshotReader(state), scenario.event, scenario);
    check(result, scenario.expected);
  });
});

describe('diagnose scenarios against a mocked real account', () => {
  const iam = mockClient(IAMClient);
  const kms = mockClient(KMSClient);
  const kinesis = mockClient(KinesisClient);
  const demo = snapshot('demo');
  const consumer = only(demo.principals, (p) => p.arn === CONSUMER, 'consumer');
  const ordersKey = only(demo.keys, (k) => k.arn === ORDERS_KEY, 'orders key');

  /** IAM returns policy documents URL-encoded (RFC 3986). */
  const encoded = (doc: unknown) => encodeURIComponent(JSON.stringify(doc));

  function reader(): AwsAccountReader {
    return new AwsAccountReader({
      accountId: '111122223333',
      region: 'us-east-1',
      iam: new IAMClient({ region: 'us-east-1' }),
      kms: new KMSClient({ region: 'us-east-1' }),
      kinesis: new KinesisClient({ region: 'us-east-1' }),
    });
  }

  function account(
    extraInline: Record<string, unknown>,
    grantPages: { GrantId: string; EncryptionContextSubset: Record<string, string> }[][],
  ) {
    iam.reset();
    kms.reset();
    kinesis.reset();
    iam.on(GetRoleCommand).resolves({
      Role: {
        Path: '/service-role/',
        RoleName: 'orders-consumer',
        RoleId: 'AROAEXAMPLECONSUMER',
        Arn: CONSUMER,
        CreateDate: new Date('2024-01-01T00:00:00Z'),
        Tags: [{ Key: 'team', Value: 'orders' }],
      },
    });
    const inline = { ...consumer.inlinePolicies, ...extraInline };
    const names = Object.keys(inline);
    iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: names, IsTruncated: false });
    for (const name of names) {
      iam
        .on(GetRolePolicyCommand, { PolicyName: name })
        .resolves({ RoleName: 'orders-consumer', PolicyName: name, PolicyDocument: encoded(inline[name]) });
    }
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [], IsTruncated: false });
    kms.on(DescribeKeyCommand).resolves({
      KeyMetadata: {
        KeyId: ORDERS_KEY.split('/')[1],
        Arn: ORDERS_KEY,
        AWSAccountId: '111122223333',
        KeyManager: 'CUSTOMER',
        KeyState: 'Enabled',
      },
    });
    kms.on(GetKeyPolicyCommand).resolves({ Policy: JSON.stringify(ordersKey.policy) });
    kms.on(ListAliasesCommand).resolves({ Aliases: [{ AliasName: 'alias/orders' }], Truncated: false });
    kms.on(ListResourceTagsCommand).resolves({ Tags: [], Truncated: false });
    const pages = grantPages.length ? grantPages : [[]];
    pages.forEach((page, i) => {
      const input = i === 0 ? {} : { Marker: `page-${i}` };
      const mock = kms.on(ListGrantsCommand, input);
      mock.resolves({
        Grants: page.map((g) => ({
          KeyId: ORDERS_KEY,
          GrantId: g.GrantId,
          GranteePrincipal: CONSUMER,
          Operations: ['Decrypt' as const],
          Constraints: { EncryptionContextSubset: g.EncryptionContextSubset },
        })),
        Truncated: i < pages.length - 1,
        ...(i < pages.length - 1 ? { NextMarker: `page-${i + 1}` } : {}),
      });
    });
    kinesis.on(DescribeStreamSummaryCommand).resolves({
      StreamDescriptionSummary: {
        StreamName: 'orders',
        StreamARN: ORDERS,
        StreamStatus: 'ACTIVE',
        RetentionPeriodHours: 24,
        StreamCreationTimestamp: new Date('2024-01-01T00:00:00Z'),
        EnhancedMonitoring: [],
        OpenShardCount: 1,
        EncryptionType: 'KMS',
        KeyId: 'alias/orders',
      },
    });
  }

  it('proposes a grant for the consumer read from IAM, KMS and Kinesis', async () => {
    account({}, [[{ GrantId: 'g-clicks', EncryptionContextSubset: { 'aws:kinesis:arn': CLICKS } }]]);
    check(await run(reader(), CONSUMER_EVENT, {}), {
      verdict: 'propose',
      mechanism: 'kms-grant',
      blockingLayers: ['identity-based'],
    });
  });

  it('ignores the event when a URL-encoded inline policy already allows the call', async () => {
    const allow = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'Decrypt orders via Kinesis',
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: ORDERS_KEY,
          Condition: {
            StringEquals: {
              'kms:ViaService': 'kinesis.us-east-1.amazonaws.com',
              'kms:EncryptionContext:aws:kinesis:arn': ORDERS,
            },
          },
        },
      ],
    };
    account({ 'decrypt-orders': allow }, []);
    check(await run(reader(), CONSUMER_EVENT, {}), { verdict: 'ignore', code: 'already-allowed' });
  });

  it('ignores the event when the right grant is on the second page of ListGrants', async () => {
    account({}, [
      [{ GrantId: 'g-clicks', EncryptionContextSubset: { 'aws:kinesis:arn': CLICKS } }],
      [{ GrantId: 'g-orders', EncryptionContextSubset: { 'aws:kinesis:arn': ORDERS } }],
    ]);
    const result = await run(reader(), CONSUMER_EVENT, {});
    check(result, { verdict: 'ignore', code: 'already-allowed' });
    expect(result.diagnosis?.decidedBy).toEqual([
      expect.objectContaining({ policyType: 'grant', policy: 'g-orders' }),
    ]);
  });
});
