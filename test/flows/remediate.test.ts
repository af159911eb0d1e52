import { AUTO_REMEDIATE_TAG, CLOUDFORMATION_STACK_TAG } from '../../functions/commons/constants';
import type { LagQuery } from '../../functions/core/ports';
import { verifyToken } from '../../functions/core/token';
import { applyProposal } from '../../functions/flows/apply';
import type { RemediateConfig } from '../../functions/flows/remediate';
import { newWarmRepeats, remediate, writeBackDue } from '../../functions/flows/remediate';
import { eventBridgeEvent, newEventId, otherSession, STORM_EVENT } from '../helpers/denials';
import { flowFixture, LINK_KEYS, linkIn, TEST_CONFIG } from '../helpers/flow-ports';

const CONSUMER = 'arn:aws:iam::111122223333:role/service-role/orders-consumer';
const MINUTE = 60_000;

describe('remediate: one event at a time', () => {
  it.each([
    ['not a CloudTrail call', 'kms-key-rotation.eventbridge.json', 'ignored', /^not-cloudtrail/],
    ['a success', 'consumer-decrypt-success.record.json', 'ignored', /^not-a-denial/],
    ['a denial keymend fixes', STORM_EVENT, 'proposed', undefined],
    ['an AWS managed key', 'legacy-decrypt-denied-aws-managed-key.record.json', 'refused', /AWS managed key/],
    ['the root', 'root-decrypt-denied-via-kinesis.record.json', 'refused', /Root/],
    ['no stream in the record', 'consumer-decrypt-denied-no-context.record.json', 'refused', /no stream/],
  ])('%s: %s -> %s', async (_what, name, outcome, reason) => {
    const f = flowFixture();
    const result = await remediate(f.ports, TEST_CONFIG, eventBridgeEvent(name));
    expect(result.outcome).toBe(outcome);
    if (reason) expect(result.reason).toMatch(reason);
    const notified = outcome === 'proposed' || outcome === 'refused';
    expect(f.outbox).toHaveLength(notified ? 1 : 0);
    if (notified) {
      expect(result.proposalId).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect(f.store.proposals.get(result.proposalId as string)?.status).toBe(
        outcome === 'proposed' ? 'pending' : 'refused',
      );
    } else {
      expect(f.store.requests).toBe(0);
    }
  });

  it("reads a denied consumer's lag beside the account, and the e-mail's impact shows it with the stream's retention", async () => {
    const f = flowFixture();
    const asked: Array<[LagQuery, string]> = [];
    f.ports.metrics = {
      consumerLag: async (query, now) => {
        asked.push([query, now.toISOString()]);
        return {
          stream: {
            milliseconds: 7_260_000,
            metric: 'GetRecords.IteratorAgeMilliseconds',
            at: now.toISOString(),
          },
          // The session i-0abc123 is named like a function, but no function of that name reads a stream.
          function: null,
        };
      },
    };
    const result = await remediate(f.ports, TEST_CONFIG, eventBridgeEvent(STORM_EVENT));
    expect(asked).toEqual([
      [
        { streamArn: 'arn:aws:kinesis:us-east-1:111122223333:stream/orders', functionName: 'i-0abc123' },
        '2026-12-03T10:00:00.000Z',
      ],
    ]);
    const proposal = f.store.proposals.get(result.proposalId as string);
    expect(proposal?.consumerLag?.milliseconds).toBe(7_260_000);
    expect(proposal?.retentionPeriodHours).toBe(48);
    expect(proposal?.accountAlias).toBe('acme-orders-prod');
    expect(f.outbox[0]?.message).toMatch(
      /Consumer lag: +2 h 01 min behind \(GetRecords\.IteratorAgeMilliseconds, CloudWatch/,
    );
    expect(f.outbox[0]?.subject.startsWith('[acme-orders-prod us-east-1] keymend: Proposed fix: ')).toBe(
      true,
    );
  });

  it("a Lambda event source mapping's consumer: its function's IteratorAge, read in the same request, is in the impact", async () => {
    const f = flowFixture();
    const asked: LagQuery[] = [];
    f.ports.metrics = {
      consumerLag: async (query, now) => {
        asked.push(query);
        return {
          stream: null,
          function: {
            milliseconds: 95_000,
            metric: 'IteratorAge',
            functionName: 'orders-processor',
            at: now.toISOString(),
          },
        };
      },
    };
    const result = await remediate(
      f.ports,
      TEST_CONFIG,
      eventBridgeEvent('lambda-esm-decrypt-denied.eventbridge.json'),
    );
    expect(result.outcome).toBe('proposed');
    // The session of the execution role is named after the function.
    expect(asked).toEqual([
      { streamArn: 'arn:aws:kinesis:us-east-1:111122223333:stream/orders', functionName: 'orders-processor' },
    ]);
    expect(f.store.proposals.get(result.proposalId as string)?.functionLag).toMatchObject({
      functionName: 'orders-processor',
      milliseconds: 95_000,
    });
    expect(f.outbox[0]?.message).toMatch(
      /Consumer lag: +1 min behind \(IteratorAge of Lambda function orders-processor's event source mappings, CloudWatch/,
    );
  });

  it('a lag CloudWatch cannot give leaves the lag out and the proposal as it is; a producer is never asked', async () => {
    const f = flowFixture();
    let asked = 0;
    f.ports.metrics = {
      consumerLag: async () => {
        asked += 1;
        throw new Error('CloudWatch is down');
      },
    };
    const consumer = await remediate(f.ports, TEST_CONFIG, eventBridgeEvent(STORM_EVENT));
    expect(consumer.outcome).toBe('proposed');
    expect(f.store.proposals.get(consumer.proposalId as string)?.consumerLag).toBeUndefined();
    const producer = await remediate(
      f.ports,
      TEST_CONFIG,
      eventBridgeEvent('producer-generatedatakey-denied.record.json'),
    );
    expect(producer.outcome).toBe('proposed');
    expect(asked).toBe(1);
  });

  it('stores a pending proposal with its plan hash and sends signed approve and reject links', async () => {
    const f = flowFixture();
    const result = await remediate(f.ports, TEST_CONFIG, eventBridgeEvent(STORM_EVENT));
    const proposal = f.store.proposals.get(result.proposalId as string);
    expect(proposal?.plan?.mechanism).toBe('kms-grant');
    expect(proposal?.planHash).toMatch(/^[0-9a-f]{64}$/);
    const approve = linkIn(f.outbox[0], 'approve');
    expect(approve.pathname).toBe(`/p/${result.proposalId}`);
    expect(approve.searchParams.get('a')).toBe('approve');
    const check = verifyToken(
      LINK_KEYS.decision,
      approve.searchParams.get('t'),
      f.ports.now().getTime() / 1000,
    );
    expect(check).toEqual({
      ok: true,
      claims: expect.objectContaining({
        proposalId: result.proposalId,
        action: 'approve',
        planHash: proposal?.planHash,
      }),
    });
    expect(linkIn(f.outbox[0], 'reject').pathname).toBe(`/p/${result.proposalId}`);
    expect(f.published.map((m) => m.topic)).toEqual(['email', 'chat']);
  });

  it('a second delivery of one event is a duplicate, with no read and no notification', async () => {
    const f = flowFixture();
    const event = eventBridgeEvent(STORM_EVENT);
    await remediate(f.ports, TEST_CONFIG, event);
    const reads = f.reads();
    expect(await remediate(f.ports, TEST_CONFIG, structuredClone(event))).toMatchObject({
      outcome: 'duplicate',
    });
    expect(f.reads()).toBe(reads);
    expect(f.outbox).toHaveLength(1);
  });

  it('deliveries of one new event racing each other: one diagnosis, one proposal, one message; the others are duplicates', async () => {
    const f = flowFixture();
    const event = eventBridgeEvent(STORM_EVENT);
    const results = await Promise.all(
      Array.from({ length: 5 }, () => remediate(f.ports, TEST_CONFIG, structuredClone(event))),
    );
    expect(results.map((r) => r.outcome).sort()).toEqual([
      'duplicate',
      'duplicate',
      'duplicate',
      'duplicate',
      'proposed',
    ]);
    expect(f.store.proposals.size).toBe(1);
    expect(f.outbox).toHaveLength(1);
    expect([...f.store.fingerprints.values()][0]?.count).toBe(1);
  });

  it('another session of the same role is a repeat: store requests only (three without a warm memory), no read, no notification', async () => {
    const f = flowFixture();
    const first = await remediate(f.ports, TEST_CONFIG, eventBridgeEvent(STORM_EVENT));
    const reads = f.reads();
    const requests = f.store.requests;
    for (let n = 1; n <= 20; n++) {
      const result = await remediate(f.ports, TEST_CONFIG, otherSession(eventBridgeEvent(STORM_EVENT), n));
      expect(result).toMatchObject({ outcome: 'repeat', proposalId: first.proposalId });
    }
    expect(f.reads()).toBe(reads);
    // With no warm memory (core/warm-repeats.ts) each repeat goes to the store: the event claim, the
    // problem claim that finds it live, and its count.
    expect(f.store.requests - requests).toBe(60);
    expect(f.outbox).toHaveLength(1);
    expect([...f.store.fingerprints.values()][0]).toMatchObject({ count: 21, sessions: 21 });
  });

  it("a warm environment's batches carry the denials' CloudTrail eventTimes and sessions: the earliest, the latest and the distinct sessions reach the proposal", async () => {
    const f = flowFixture();
    f.ports.warm = newWarmRepeats();
    const event = eventBridgeEvent(STORM_EVENT);
    const firstTime: string = event.detail.eventTime;
    const first = await remediate(f.ports, TEST_CONFIG, event);
    const base = Date.parse(firstTime);
    const times: number[] = [];
    for (let n = 1; n <= 30; n++) {
      // Five sessions, each denied six times; CloudTrail times a minute apart, one delivered out of
      // order (an hour before the first), and delivered ten seconds apart.
      const repeat = otherSession(event, n % 5);
      repeat.detail.eventID = `warm-${n}`;
      const time = n === 17 ? base - 60 * MINUTE : base + n * MINUTE;
      times.push(time);
      repeat.detail.eventTime = new Date(time).toISOString().replace('.000Z', 'Z');
      f.advance(10_000);
      expect(await remediate(f.ports, TEST_CONFIG, repeat)).toMatchObject({ outcome: 'repeat' });
    }
    await writeBackDue(f.ports, true);
    const proposal = await f.store.getProposal(first.proposalId as string);
    expect(proposal).toMatchObject({
      count: 31,
      firstDenialAt: new Date(Math.min(...times)).toISOString(),
      lastDenialAt: new Date(Math.max(...times)).toISOString(),
      // The first event's session and the five others.
      sessions: 6,
    });
    // Fewer store requests than denials: the warm memory batched them.
    expect(f.store.requests).toBeLessThan(40);
  });

  it('a proposal left unapproved past its links is closed as expired, said once, and a new one takes its place', async () => {
    const f = flowFixture();
    const first = await remediate(f.ports, TEST_CONFIG, eventBridgeEvent(STORM_EVENT));
    f.advance(TEST_CONFIG.linkTtlHours * 60 * MINUTE + MINUTE);
    const second = await remediate(f.ports, TEST_CONFIG, otherSession(eventBridgeEvent(STORM_EVENT), 1));
    expect(second.outcome).toBe('proposed');
    expect(second.proposalId).not.toBe(first.proposalId);
    expect(f.store.proposals.get(first.proposalId as string)?.status).toBe('expired');
    expect(f.kinds()).toEqual(['proposed', 'expired', 'proposed']);
    // The next problem after that one expires closes only the second proposal.
    f.advance(TEST_CONFIG.linkTtlHours * 60 * MINUTE + MINUTE);
    await remediate(f.ports, TEST_CONFIG, otherSession(eventBridgeEvent(STORM_EVENT), 2));
    expect(f.kinds().filter((k) => k === 'expired')).toHaveLength(2);
    expect(f.store.proposals.get(second.proposalId as string)?.status).toBe('expired');
  });

  it('a refusal is notified once per fingerprint', async () => {
    const f = flowFixture();
    const legacy = eventBridgeEvent('legacy-decrypt-denied-aws-managed-key.record.json');
    expect((await remediate(f.ports, TEST_CONFIG, legacy)).outcome).toBe('refused');
    expect((await remediate(f.ports, TEST_CONFIG, newEventId(legacy, 'again', 1))).outcome).toBe('repeat');
    expect(f.outbox).toHaveLength(1);
  });

  it('a request allowed by now is ignored, stores nothing, and stays quiet (no re-read) for the claim lease', async () => {
    const f = flowFixture('already-fixed.json');
    const event = eventBridgeEvent(STORM_EVENT);
    expect(await remediate(f.ports, TEST_CONFIG, event)).toMatchObject({ outcome: 'ignored' });
    expect(f.store.proposals.size).toBe(0);
    const reads = f.reads();
    expect((await remediate(f.ports, TEST_CONFIG, newEventId(event, 'q', 1))).outcome).toBe('repeat');
    expect(f.reads()).toBe(reads);
    f.advance(3 * MINUTE);
    expect((await remediate(f.ports, TEST_CONFIG, newEventId(event, 'q', 2))).outcome).toBe('ignored');
    expect(f.reads()).toBeGreaterThan(reads);
    expect(f.outbox).toHaveLength(0);
  });

  it('a plan whose mechanism is not enabled is stored as a refusal saying so', async () => {
    const f = flowFixture();
    const config = { ...TEST_CONFIG, preferMechanism: 'key-policy-statement' as const };
    const result = await remediate(f.ports, config, eventBridgeEvent(STORM_EVENT));
    expect(result.outcome).toBe('refused');
    expect(result.reason).toMatch(/does not enable key-policy-statement/);
    expect(f.writes).toEqual([]);
  });

  it('a notification that cannot be published is audited; the proposal is kept', async () => {
    const f = flowFixture();
    f.failPublishing(true);
    const result = await remediate(f.ports, TEST_CONFIG, eventBridgeEvent(STORM_EVENT));
    expect(result.outcome).toBe('proposed');
    const proposal = f.store.proposals.get(result.proposalId as string);
    expect(proposal?.status).toBe('pending');
    expect(proposal?.audit.at(-1)).toMatchObject({ action: 'notify', outcome: 'failed' });
  });
});

describe('remediate: auto mode', () => {
  const auto: RemediateConfig = {
    ...TEST_CONFIG,
    mode: 'auto',
    autoApplyPrincipals: ['arn:aws:iam::111122223333:role/*'],
  };

  it('applies the planned grant when every guard holds, and says so', async () => {
    const f = flowFixture();
    const result = await remediate(f.ports, auto, eventBridgeEvent(STORM_EVENT));
    expect(result.outcome).toBe('applied');
    const proposal = f.store.proposals.get(result.proposalId as string);
    expect(proposal?.status).toBe('applied');
    expect(proposal?.applied).toMatchObject({
      mechanism: 'kms-grant',
      grantName: proposal?.plan && 'name' in proposal.plan ? proposal.plan.name : '',
    });
    expect(f.writes).toEqual(['createGrant']);
    expect(f.kinds()).toEqual(['auto-applied']);
    // Counted toward the hourly cap, once.
    const now = f.ports.now();
    expect(await f.store.countAutoAppliesSince(new Date(now.getTime() - 60 * MINUTE), now)).toBe(1);
  });

  it('applies for a principal tagged keymend:auto-remediate=true without an allow-list', async () => {
    const f = flowFixture();
    tag(AUTO_REMEDIATE_TAG.key, AUTO_REMEDIATE_TAG.value)(f);
    const result = await remediate(
      f.ports,
      { ...auto, autoApplyPrincipals: [] },
      eventBridgeEvent(STORM_EVENT),
    );
    expect(result.outcome).toBe('applied');
  });

  type Setup = (f: ReturnType<typeof flowFixture>) => Promise<void> | void;
  const tag =
    (key: string, value: string): Setup =>
    (f) => {
      f.account.modify((draft) => {
        const consumer = draft.principals.find((p) => p.arn === CONSUMER);
        if (consumer) consumer.tags = { ...consumer.tags, [key]: value };
      });
    };
  const seedAutoApplies =
    (n: number): Setup =>
    async (f) => {
      for (let i = 0; i < n; i++) await f.store.recordAutoApply(`seed${i}`, f.ports.now());
    };

  it.each<[string, Partial<RemediateConfig>, Setup, RegExp]>([
    [
      'principal not on the allow-list',
      { autoApplyPrincipals: ['arn:aws:iam::111122223333:role/other-*'] },
      () => {},
      /principal-not-opted-in/,
    ],
    [
      'a key-policy fix',
      { preferMechanism: 'key-policy-statement', enabledMechanisms: ['kms-grant', 'key-policy-statement'] },
      () => {},
      /mechanism-not-automatic/,
    ],
    ['the hourly limit reached', { autoApplyHourlyLimit: 3 }, seedAutoApplies(3), /hourly-limit-reached/],
    [
      'a principal managed by CloudFormation',
      {},
      tag(CLOUDFORMATION_STACK_TAG, 'orders'),
      /managed-by-cloudformation/,
    ],
  ])('%s: proposes instead and says which guard', async (_what, override, setup, reason) => {
    const f = flowFixture();
    await setup(f);
    const result = await remediate(f.ports, { ...auto, ...override }, eventBridgeEvent(STORM_EVENT));
    expect(result.outcome).toBe('proposed');
    expect(result.reason).toMatch(reason);
    expect(f.writes).toEqual([]);
    expect(f.store.proposals.get(result.proposalId as string)?.status).toBe('pending');
    expect(f.kinds()).toEqual(['proposed']);
  });

  it('a diagnosis with a note (AWS blamed a layer keymend does not find blocking): proposes, names the guard', async () => {
    const f = flowFixture();
    // AWS's message blames the key policy, but the key policy delegates to IAM and keymend finds the
    // identity policy blocking: its picture of the account may be incomplete, a person must look first.
    const event = eventBridgeEvent(STORM_EVENT);
    event.detail.errorMessage = event.detail.errorMessage.replace('identity-based', 'resource-based');
    const result = await remediate(f.ports, auto, event);
    expect(result.outcome).toBe('proposed');
    expect(result.reason).toMatch(/diagnosis-has-notes/);
    const proposal = f.store.proposals.get(result.proposalId as string);
    expect(proposal?.diagnosis?.notes?.map((n) => n.code)).toEqual(['layer-disagreement']);
    expect(proposal?.status).toBe('pending');
    expect(f.writes).toEqual([]);
    expect(f.kinds()).toEqual(['proposed']);
  });

  it('applies to a principal managed by CloudFormation when configured to', async () => {
    const f = flowFixture();
    tag(CLOUDFORMATION_STACK_TAG, 'orders')(f);
    const result = await remediate(
      f.ports,
      { ...auto, autoApplyCloudFormation: true },
      eventBridgeEvent(STORM_EVENT),
    );
    expect(result.outcome).toBe('applied');
  });

  it('tells once that denials go on more than ten minutes after a fix, then stays quiet', async () => {
    const f = flowFixture();
    const event = eventBridgeEvent(STORM_EVENT);
    await remediate(f.ports, auto, event);
    f.advance(5 * MINUTE);
    expect((await remediate(f.ports, auto, otherSession(event, 1))).outcome).toBe('repeat');
    expect(f.outbox).toHaveLength(1);
    f.advance(6 * MINUTE);
    expect((await remediate(f.ports, auto, otherSession(event, 2))).outcome).toBe('repeat');
    expect(f.kinds()).toEqual(['auto-applied', 'still-failing']);
    const requests = f.store.requests;
    expect((await remediate(f.ports, auto, otherSession(event, 3))).outcome).toBe('repeat');
    expect(f.outbox).toHaveLength(2);
    expect(f.store.requests - requests).toBe(3);
  });
});

describe('remediate: an interrupted automatic apply', () => {
  const auto: RemediateConfig = {
    ...TEST_CONFIG,
    mode: 'auto',
    autoApplyPrincipals: ['arn:aws:iam::111122223333:role/*'],
  };

  it('a record that fails after the write is settled: the account is re-read and the write recorded, once', async () => {
    const f = flowFixture();
    f.store.crashOnTransitionTo = 'applied';
    const result = await remediate(f.ports, auto, eventBridgeEvent(STORM_EVENT));
    expect(result).toMatchObject({ outcome: 'applied', reason: expect.stringMatching(/simulated crash/) });
    expect(f.writes).toEqual(['createGrant']);
    expect(f.kinds()).toEqual(['auto-applied']);
    expect(f.store.proposals.get(result.proposalId as string)?.status).toBe('applied');
  });

  it('when the account cannot be re-read either, it goes back to pending for a person, and approving it finishes without writing twice', async () => {
    const f = flowFixture();
    const createGrant = f.account.createGrant.bind(f.account);
    const getKey = f.account.getKey.bind(f.account);
    f.account.createGrant = async (args) => {
      const made = await createGrant(args);
      // The write is made; every read after it fails, as when KMS throttles.
      f.account.getKey = async () => {
        throw new Error('ThrottlingException');
      };
      return made;
    };
    const result = await remediate(f.ports, auto, eventBridgeEvent(STORM_EVENT));
    expect(result).toMatchObject({
      outcome: 'proposed',
      reason: expect.stringMatching(/interrupted.*waits for approval/),
    });
    expect(f.writes).toEqual(['createGrant']);
    expect(f.kinds()).toEqual(['proposed']);
    const id = result.proposalId as string;
    expect(f.store.proposals.get(id)?.status).toBe('pending');
    expect(f.store.proposals.get(id)?.audit.at(-1)).toMatchObject({
      action: 'auto-apply',
      outcome: 'interrupted',
    });

    f.account.getKey = getKey;
    const approved = await f.store.transition(
      id,
      'pending',
      'applying',
      {},
      {
        at: f.ports.now().toISOString(),
        actor: 'approval-link',
        action: 'approve',
        outcome: 'accepted',
      },
    );
    const done = await applyProposal(f.ports, approved as NonNullable<typeof approved>, 'approval-link', {
      enabledMechanisms: ['kms-grant', 'iam-inline-policy', 'key-policy-statement'],
      kind: 'approved-applied',
      links: { baseUrl: TEST_CONFIG.approvalUrl, ttlHours: 72 },
    });
    expect(done.outcome).toBe('applied');
    expect(f.writes).toEqual(['createGrant']);
    expect(f.account.snapshot().keys.flatMap((k) => k.grants ?? [])).toHaveLength(1);
  });
});
