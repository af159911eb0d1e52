/**
 * The snapshots in events/accounts mean what their names say: each one, read through
 * SnapshotReader and evaluated by keymend's evaluator, gives the decision and the deciding layer
 * the diagnose scenarios rely on. A snapshot edited out of its purpose fails here.
 */
import { join } from 'node:path';
import { loadSnapshotFile, SnapshotReader } from '../../functions/adapters/snapshot';
import { buildPolicySet, requestPrincipal } from '../../functions/core/authorization';
import { kinesisCall } from '../../functions/core/context-keys';
import { evaluate } from '../../functions/policy/evaluate';
import type { Decision, PolicyLayer } from '../../functions/policy/types';

const ACCOUNTS = join(__dirname, '../../events/accounts');
const STREAMS = {
  orders: 'arn:aws:kinesis:us-east-1:111122223333:stream/orders',
  clicks: 'arn:aws:kinesis:us-east-1:111122223333:stream/clicks',
  legacy: 'arn:aws:kinesis:us-east-1:111122223333:stream/legacy',
};
const PRINCIPALS = {
  consumer: 'arn:aws:iam::111122223333:role/service-role/orders-consumer',
  producer: 'arn:aws:iam::111122223333:role/orders-producer',
  lambda: 'arn:aws:iam::111122223333:role/service-role/orders-processor-role-x1y2z3',
  flink: 'arn:aws:iam::111122223333:role/service-role/kinesis-analytics-orders-flink-us-east-1',
  alice: 'arn:aws:iam::111122223333:user/alice',
  crossAccount: 'arn:aws:iam::444455556666:role/analytics-reader',
};

interface Case {
  file: string;
  who: keyof typeof PRINCIPALS;
  action: 'kms:Decrypt' | 'kms:GenerateDataKey';
  stream: keyof typeof STREAMS;
  viaKinesis: boolean;
  decision: Decision;
  /** The layers that decided, in the evaluator's order. */
  layers: PolicyLayer[];
  /** Evaluate the call as made in a forward access session. */
  forwardAccessSession?: boolean;
}

const cases: Case[] = [
  // demo: every fixture principal is denied its Kinesis KMS call for want of a KMS permission.
  ...(['consumer', 'lambda', 'flink', 'alice'] as const).map(
    (who): Case => ({
      file: 'demo',
      who,
      action: 'kms:Decrypt',
      stream: 'orders',
      viaKinesis: true,
      decision: 'implicit-deny',
      layers: ['identity-based'],
    }),
  ),
  {
    file: 'demo',
    who: 'producer',
    action: 'kms:GenerateDataKey',
    stream: 'orders',
    viaKinesis: true,
    decision: 'implicit-deny',
    layers: ['identity-based'],
  },
  // The AWS-managed key lets every principal of the account use it through Kinesis.
  {
    file: 'demo',
    who: 'consumer',
    action: 'kms:Decrypt',
    stream: 'legacy',
    viaKinesis: true,
    decision: 'allowed',
    layers: ['resource-based'],
  },
  {
    file: 'explicit-deny',
    who: 'consumer',
    action: 'kms:Decrypt',
    stream: 'orders',
    viaKinesis: true,
    decision: 'explicit-deny',
    layers: ['identity-based'],
  },
  {
    file: 'boundary',
    who: 'consumer',
    action: 'kms:Decrypt',
    stream: 'orders',
    viaKinesis: true,
    decision: 'implicit-deny',
    layers: ['identity-based', 'permissions-boundary'],
  },
  {
    file: 'scp-deny',
    who: 'consumer',
    action: 'kms:Decrypt',
    stream: 'orders',
    viaKinesis: true,
    decision: 'explicit-deny',
    layers: ['service-control'],
  },
  {
    file: 'organization-allow',
    who: 'consumer',
    action: 'kms:Decrypt',
    stream: 'orders',
    viaKinesis: true,
    decision: 'implicit-deny',
    layers: ['identity-based'],
  },
  // Without the account-root statement, IAM policies do not count: the key policy lacks an allow too.
  {
    file: 'no-iam-delegation',
    who: 'consumer',
    action: 'kms:Decrypt',
    stream: 'orders',
    viaKinesis: true,
    decision: 'implicit-deny',
    layers: ['resource-based', 'identity-based'],
  },
  {
    file: 'no-iam-delegation',
    who: 'producer',
    action: 'kms:GenerateDataKey',
    stream: 'orders',
    viaKinesis: true,
    decision: 'allowed',
    layers: ['resource-based'],
  },
  {
    file: 'grant-other-stream',
    who: 'consumer',
    action: 'kms:Decrypt',
    stream: 'orders',
    viaKinesis: true,
    decision: 'implicit-deny',
    layers: ['identity-based'],
  },
  {
    file: 'grant-other-stream',
    who: 'consumer',
    action: 'kms:Decrypt',
    stream: 'clicks',
    viaKinesis: true,
    decision: 'allowed',
    layers: ['grant'],
  },
  // The caller account's view. The key owner's key policy lets the caller's account in; the caller's IAM does not allow it.
  {
    file: 'cross-account',
    who: 'crossAccount',
    action: 'kms:Decrypt',
    stream: 'orders',
    viaKinesis: true,
    decision: 'implicit-deny',
    layers: ['identity-based'],
  },
  // The caller's IAM allows it; the key owner's key policy does not name the caller's account.
  {
    file: 'cross-account-key-policy',
    who: 'crossAccount',
    action: 'kms:Decrypt',
    stream: 'orders',
    viaKinesis: true,
    decision: 'implicit-deny',
    layers: ['resource-based'],
  },
  {
    file: 'already-fixed',
    who: 'consumer',
    action: 'kms:Decrypt',
    stream: 'orders',
    viaKinesis: true,
    decision: 'allowed',
    layers: ['resource-based', 'identity-based'],
  },
  {
    file: 'already-fixed',
    who: 'consumer',
    action: 'kms:Decrypt',
    stream: 'orders',
    viaKinesis: false,
    decision: 'implicit-deny',
    layers: ['identity-based'],
  },
  {
    file: 'key-disabled',
    who: 'consumer',
    action: 'kms:Decrypt',
    stream: 'orders',
    viaKinesis: true,
    decision: 'implicit-deny',
    layers: ['identity-based'],
  },
  {
    file: 'forged-context',
    who: 'alice',
    action: 'kms:Decrypt',
    stream: 'orders',
    viaKinesis: false,
    decision: 'implicit-deny',
    layers: ['identity-based'],
  },
  // data-perimeter: the perimeters hold for the producer, whose IAM lacks the KMS permission; the
  // network-perimeter RCP denies the tagged consumer unless Kinesis uses a forward access session.
  {
    file: 'data-perimeter',
    who: 'producer',
    action: 'kms:GenerateDataKey',
    stream: 'orders',
    viaKinesis: true,
    decision: 'implicit-deny',
    layers: ['identity-based'],
  },
  {
    file: 'data-perimeter',
    who: 'consumer',
    action: 'kms:Decrypt',
    stream: 'orders',
    viaKinesis: true,
    decision: 'explicit-deny',
    layers: ['resource-control'],
  },
  {
    file: 'data-perimeter',
    who: 'consumer',
    action: 'kms:Decrypt',
    stream: 'orders',
    viaKinesis: true,
    forwardAccessSession: true,
    decision: 'implicit-deny',
    layers: ['identity-based'],
  },
];

describe('events/accounts snapshots', () => {
  it.each(
    cases.map(
      (c) =>
        [
          `${c.file}: ${c.who} ${c.action} on ${c.stream}${c.viaKinesis ? '' : ' (direct)'}${c.forwardAccessSession ? ' (forward access session)' : ''}`,
          c,
        ] as const,
    ),
  )('%s', async (_name, c) => {
    const reader = new SnapshotReader(await loadSnapshotFile(join(ACCOUNTS, `${c.file}.json`)));
    const stream = await reader.getStream(STREAMS[c.stream]);
    const key = await reader.getKey(stream?.keyArn ?? '');
    const principal = await reader.getPrincipal(PRINCIPALS[c.who]);
    expect(key).not.toBeNull();
    expect(principal).not.toBeNull();
    const policies = buildPolicySet({
      principal,
      key,
      organization: await reader.getOrganization(),
      resourceAccountId: key?.arn.split(':')[4] ?? reader.accountId,
      organizationAccountId: reader.accountId,
    });
    // The request diagnose builds, with the key's and the organization's keys (core/context-keys.ts).
    const { request } = kinesisCall({
      principal: requestPrincipal({ arn: PRINCIPALS[c.who], state: principal }),
      action: c.action,
      keyArn: key?.arn ?? '',
      streamArn: STREAMS[c.stream],
      region: reader.region,
      viaKinesis: c.viaKinesis,
      forwardAccessSession: c.forwardAccessSession ?? false,
      key,
      organization: await reader.getOrganization(),
      organizationAccountId: reader.accountId,
    });
    const result = evaluate(request, policies);
    expect(result.decision).toBe(c.decision);
    expect(result.decidedBy.map((d) => d.policyType)).toEqual(c.layers);
  });

  it('key-disabled has the orders key disabled, the rest of demo unchanged', async () => {
    const reader = new SnapshotReader(await loadSnapshotFile(join(ACCOUNTS, 'key-disabled.json')));
    expect((await reader.getKey('alias/orders'))?.keyState).toBe('Disabled');
    expect((await reader.getKey('alias/clicks'))?.keyState).toBe('Enabled');
  });

  it('demo and its variants know no organization unless the variant is about one', async () => {
    for (const file of [
      'demo',
      'explicit-deny',
      'boundary',
      'no-iam-delegation',
      'cross-account',
      'already-fixed',
    ]) {
      const reader = new SnapshotReader(await loadSnapshotFile(join(ACCOUNTS, `${file}.json`)));
      expect(await reader.getOrganization()).toBeNull();
    }
    for (const file of ['scp-deny', 'organization-allow', 'data-perimeter']) {
      const reader = new SnapshotReader(await loadSnapshotFile(join(ACCOUNTS, `${file}.json`)));
      expect((await reader.getOrganization())?.serviceControlPolicies).toHaveLength(3);
    }
  });
});
