/**
 * The attacks keymend must withstand, through the flows with the snapshot-backed account (LocalAccount,
 * which counts every AWS call) and then, as an attacker outside the process would send them, against
 * `keymend local` over HTTP: forged encryption contexts, events that did not come from KMS, auto mode on
 * what it must never touch, forged and misused approval tokens, GETs, injection through every piece of
 * event text, and races (ten approvals, one event twice, a key policy changed under the apply).
 */
import type { Proposal } from '../../functions/core/proposal';
import { signToken } from '../../functions/core/token';
import { type ApprovalDeps, type ApprovalRequest, handleApproval } from '../../functions/flows/approve';
import { type RemediateConfig, type RemediateResult, remediate } from '../../functions/flows/remediate';
import { eventBridgeEvent, otherSession, STORM_EVENT } from '../helpers/denials';
import { type FlowFixture, flowFixture, linkIn, TEST_CONFIG } from '../helpers/flow-ports';

// biome-ignore lint/suspicious/noExplicitAny: events are edited field by field, as an attacker would.
type Json = Record<string, any>;

const AUTO_EVERYONE: RemediateConfig = {
  ...TEST_CONFIG,
  mode: 'auto',
  autoApplyPrincipals: ['arn:aws:iam::*:role/*', 'arn:aws:iam::*:user/*', 'arn:aws:iam::*:root'],
};
const HOUR = 3_600_000;

/** No CreateGrant, PutKeyPolicy, RevokeGrant, RetireGrant or IAM policy write reached the account. */
function writesTo(f: FlowFixture): Record<string, number> {
  return Object.fromEntries(
    Object.entries(f.account.stats()).filter(([action]) =>
      /^(kms:(CreateGrant|RevokeGrant|RetireGrant|PutKeyPolicy)|iam:(Put|Delete)(Role|User)Policy)$/.test(
        action,
      ),
    ),
  );
}

function proposals(f: FlowFixture): Proposal[] {
  return [...f.store.proposals.values()];
}

function approvalDeps(f: FlowFixture, keyPolicy = false): ApprovalDeps {
  return {
    ports: f.ports,
    settings: {
      baseUrl: TEST_CONFIG.approvalUrl,
      enabledMechanisms: keyPolicy
        ? ['kms-grant', 'iam-inline-policy', 'key-policy-statement']
        : ['kms-grant', 'iam-inline-policy'],
      rejectSuppressHours: 168,
      linkTtlHours: 72,
    },
    log: { info: () => {}, warn: () => {} },
  };
}

function request(method: string, url: URL, form?: Record<string, string>): ApprovalRequest {
  return {
    method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    form: form ?? null,
    sourceIp: '198.51.100.7',
    userAgent: 'attacker',
  };
}

/** POSTs the form the review page would, for the link's action and token. */
function post(f: FlowFixture, url: URL, overrides: Record<string, string> = {}, keyPolicy = false) {
  const form = { a: url.searchParams.get('a') ?? '', t: url.searchParams.get('t') ?? '', ...overrides };
  return handleApproval(approvalDeps(f, keyPolicy), request('POST', url, form));
}

/** Everything keymend keeps and does: the store, the account, what it sent. */
function everything(f: FlowFixture): string {
  return JSON.stringify({
    proposals: proposals(f),
    fingerprints: [...f.store.fingerprints.entries()],
    events: [...f.store.events],
    account: f.account.snapshot(),
    writes: writesTo(f),
    published: f.published,
  });
}

async function proposed(f: FlowFixture, event: Json = eventBridgeEvent(STORM_EVENT), config = TEST_CONFIG) {
  const before = f.outbox.length;
  const result = await remediate(f.ports, config, event);
  expect(result.outcome).toBe('proposed');
  const message = f.outbox[before];
  return {
    id: result.proposalId as string,
    approve: linkIn(message, 'approve'),
    reject: linkIn(message, 'reject'),
  };
}

// ---------------------------------------------------------------------------------------------

describe('a direct Decrypt with a forged aws:kinesis:arn context, by a principal without Kinesis access', () => {
  const direct = () => eventBridgeEvent('direct-decrypt-kinesis-context-not-via-kinesis.record.json');

  it.each([
    ['propose mode', TEST_CONFIG],
    ['auto mode, everyone allowed', AUTO_EVERYONE],
  ])('%s: refused, nothing proposed, nothing written', async (_mode, config) => {
    const f = flowFixture('forged-context.json');
    const result = await remediate(f.ports, config, direct());
    expect(result.outcome).toBe('refused');
    expect(proposals(f).map((p) => p.status)).toEqual(['refused']);
    expect(proposals(f)[0]?.plan).toBeNull();
    expect(writesTo(f)).toEqual({});
    expect(f.kinds()).toEqual(['refused']);
  });

  it('claiming Kinesis in the User-Agent (which the caller writes) changes nothing', async () => {
    const f = flowFixture('forged-context.json');
    const event = direct();
    event.detail.userAgent = 'kinesis.amazonaws.com';
    const result = await remediate(f.ports, AUTO_EVERYONE, event);
    expect(result.outcome).toBe('refused');
    expect(writesTo(f)).toEqual({});
  });
});

describe('events that did not come from KMS on the default bus', () => {
  /** A perfect Kinesis denial, invokedBy and all, delivered by someone else. */
  const forged = (edit: (e: Json) => void) => {
    const event = eventBridgeEvent(STORM_EVENT);
    event.detail.userIdentity.invokedBy = 'kinesis.amazonaws.com';
    edit(event);
    return event;
  };

  it.each<[string, (e: Json) => void, RegExp]>([
    [
      'a custom source on a custom bus',
      (e) => (e.source = 'com.example.orders'),
      /^not-from-kms: source is "com\.example\.orders"/,
    ],
    ['a source that only looks like KMS', (e) => (e.source = 'aws.kms '), /^not-from-kms/],
    ['no source at all', (e) => delete e.source, /^not-from-kms: source is absent/],
    ['a source that is not a string', (e) => (e.source = ['aws.kms']), /^not-from-kms/],
    [
      'another detail-type',
      (e) => (e['detail-type'] = 'AWS API Call via CloudTrail (forwarded)'),
      /^not-cloudtrail/,
    ],
  ])('%s: ignored with a reason, nothing read, stored or sent', async (_name, edit, reason) => {
    for (const config of [TEST_CONFIG, AUTO_EVERYONE]) {
      const f = flowFixture();
      const result = await remediate(f.ports, config, forged(edit));
      expect(result.outcome).toBe('ignored');
      expect(result.reason).toMatch(reason);
      expect(f.account.stats()).toEqual({});
      expect(proposals(f)).toEqual([]);
      expect(f.published).toEqual([]);
    }
  });

  it('a bare CloudTrail record handed to the function directly: ignored', async () => {
    const f = flowFixture();
    const result = await remediate(f.ports, AUTO_EVERYONE, eventBridgeEvent(STORM_EVENT).detail);
    expect(result).toMatchObject({ outcome: 'ignored', reason: expect.stringMatching(/^not-from-kms/) });
    expect(f.account.stats()).toEqual({});
  });
});

describe('auto mode never applies to what it must not touch', () => {
  const cases: [string, string, (e: Json) => void, string][] = [
    ['an AWS-managed key', 'legacy-decrypt-denied-aws-managed-key.record.json', () => {}, 'demo.json'],
    ['a disabled key', STORM_EVENT, () => {}, 'key-disabled.json'],
    ['the account root', 'root-decrypt-denied-via-kinesis.record.json', () => {}, 'demo.json'],
    [
      'a service principal',
      STORM_EVENT,
      (e) => {
        e.detail.userIdentity = { type: 'AWSService', invokedBy: 'kinesis.amazonaws.com' };
      },
      'demo.json',
    ],
    ['a caller in another account', 'cross-account-decrypt-denied.eventbridge.json', () => {}, 'demo.json'],
    [
      'a key in another account',
      STORM_EVENT,
      (e) => {
        const other = (arn: string) => arn.replace(':111122223333:', ':999988887777:');
        e.detail.resources = e.detail.resources.map((r: Json) => ({
          ...r,
          ARN: other(r.ARN),
          accountId: '999988887777',
        }));
        e.detail.errorMessage = other(e.detail.errorMessage);
      },
      'demo.json',
    ],
  ];

  it.each(cases)('%s: not applied, nothing written', async (_name, file, edit, snapshot) => {
    const f = flowFixture(snapshot);
    const event = eventBridgeEvent(file);
    edit(event);
    const result: RemediateResult = await remediate(f.ports, AUTO_EVERYONE, event);
    expect(result.outcome).not.toBe('applied');
    expect(['refused', 'ignored', 'proposed']).toContain(result.outcome);
    expect(writesTo(f)).toEqual({});
    expect(proposals(f).filter((p) => p.status === 'applied')).toEqual([]);
  });

  it('a key-policy fix is never applied by auto mode, even when it is the only fix', async () => {
    const f = flowFixture('no-iam-delegation.json');
    const config: RemediateConfig = {
      ...AUTO_EVERYONE,
      preferMechanism: 'key-policy-statement',
      enabledMechanisms: ['kms-grant', 'iam-inline-policy', 'key-policy-statement'],
    };
    const result = await remediate(f.ports, config, eventBridgeEvent(STORM_EVENT));
    expect(result.outcome).not.toBe('applied');
    expect(writesTo(f)['kms:PutKeyPolicy']).toBeUndefined();
  });
});

describe('approval tokens', () => {
  it('forged (another key), tampered (one character), malformed, or huge: refused, nothing changes', async () => {
    const f = flowFixture();
    const { id, approve } = await proposed(f);
    const token = approve.searchParams.get('t') as string;
    const before = everything(f);
    const forgedToken = signToken(Buffer.alloc(32, 9), {
      proposalId: id,
      action: 'approve',
      planHash: f.store.proposals.get(id)?.planHash ?? '',
      expiresAt: Math.floor(f.ports.now().getTime() / 1000) + 3600,
    });
    const flip = (t: string, i: number) => `${t.slice(0, i)}${t[i] === 'A' ? 'B' : 'A'}${t.slice(i + 1)}`;
    for (const t of [
      forgedToken,
      flip(token, 5),
      flip(token, token.length - 3),
      '',
      'x.y',
      'x'.repeat(100_000),
      '\u202e\u0000',
    ]) {
      const page = await post(f, approve, { t });
      expect([page.statusCode, t.slice(0, 20)]).toEqual([t === '' ? 400 : page.statusCode, t.slice(0, 20)]);
      expect(page.statusCode).toBeGreaterThanOrEqual(400);
      expect(page.statusCode).toBeLessThan(500);
    }
    // Only refusals were audited; the account, the status and what was sent are as they were.
    const after = JSON.parse(everything(f));
    const was = JSON.parse(before);
    expect(after.account).toEqual(was.account);
    expect(after.published).toEqual(was.published);
    expect(f.store.proposals.get(id)?.status).toBe('pending');
    expect((await post(f, approve)).statusCode).toBe(200);
    expect(f.store.proposals.get(id)?.status).toBe('applied');
  });

  it('expired: refused after its expiry, however valid its signature', async () => {
    const f = flowFixture();
    const { id, approve } = await proposed(f);
    f.advance(73 * HOUR);
    const page = await post(f, approve);
    expect(page.statusCode).toBe(410);
    expect(f.store.proposals.get(id)?.status).not.toBe('applied');
    expect(writesTo(f)).toEqual({});
  });

  it('replayed: the second approval of the same link is refused and writes nothing', async () => {
    const f = flowFixture();
    const { approve } = await proposed(f);
    expect((await post(f, approve)).statusCode).toBe(200);
    expect((await post(f, approve)).statusCode).toBe(409);
    expect(writesTo(f)).toEqual({ 'kms:CreateGrant': 1 });
  });

  it('for another proposal, or for another action: refused', async () => {
    const f = flowFixture();
    const first = await proposed(f);
    const second = await proposed(f, eventBridgeEvent('producer-generatedatakey-denied.record.json'));
    // The first proposal's token on the second's path.
    const crossed = new URL(second.approve);
    crossed.searchParams.set('t', first.approve.searchParams.get('t') as string);
    expect((await post(f, crossed)).statusCode).toBe(403);
    // A reject token used to approve, and an approve token used to reject or revoke.
    expect((await post(f, first.reject, { a: 'approve' })).statusCode).toBe(403);
    expect((await post(f, first.approve, { a: 'reject' })).statusCode).toBe(403);
    expect((await post(f, first.approve, { a: 'revoke' })).statusCode).toBeGreaterThanOrEqual(400);
    expect(proposals(f).map((p) => p.status)).toEqual(['pending', 'pending']);
    expect(writesTo(f)).toEqual({});
  });

  it('a plan changed in the store after the link was signed: refused (the token is bound to the plan hash)', async () => {
    const f = flowFixture();
    const { id, approve } = await proposed(f);
    const stored = (await f.store.getProposal(id)) as Proposal;
    // The same proposal id holding another plan: a store in which the plan was changed after signing.
    const changed = flowFixture();
    await changed.store.createProposal(
      { ...stored, planHash: `${stored.planHash}0` },
      new Date(stored.expiresAt),
    );
    expect((await post(changed, approve)).statusCode).toBe(403);
    expect(writesTo(changed)).toEqual({});
  });

  it('a GET or HEAD never changes anything, whatever the link (as a mail scanner fetches every link)', async () => {
    const f = flowFixture();
    const { approve, reject } = await proposed(f);
    const before = everything(f);
    for (const url of [approve, reject, new URL(`${approve.origin}${approve.pathname}?a=approve&t=bad`)]) {
      for (const method of ['GET', 'HEAD', 'get']) {
        const page = await handleApproval(approvalDeps(f), request(method, url));
        expect(page.statusCode).toBeLessThan(500);
      }
    }
    expect(everything(f)).toBe(before);
  });
});

describe('injection through event text', () => {
  const PAYLOAD =
    '<script>alert(1)</script><img src=x onerror=alert(2)> [click](https://evil.example) `code` *bold* <!channel> @here \u001b[31mRED\u0007\r\nBcc: victim@example.com\r\nSubject: pwned \u202eevil\u2028line';

  /** The storm denial with the payload in every free-text field CloudTrail copies from the caller or AWS. */
  function injected(): Json {
    const event = eventBridgeEvent(STORM_EVENT);
    event.detail.errorMessage = `${event.detail.errorMessage} ${PAYLOAD}`;
    event.detail.userAgent = PAYLOAD;
    event.detail.requestParameters.encryptionContext.note = PAYLOAD;
    return event;
  }

  const ESC = new RegExp(String.fromCharCode(0x1b));
  const BELL = new RegExp(String.fromCharCode(0x07));
  /** A C0 control character other than tab and newline, or DEL. */
  const hasControl = (text: string) =>
    [...text].some((c) => {
      const n = c.charCodeAt(0);
      return (n < 0x20 && n !== 0x09 && n !== 0x0a) || n === 0x7f;
    });

  /** Whether a line of event text made it into a message raw. */
  const RAW = [
    /<script>/,
    /<img /,
    /<!channel>/,
    ESC,
    BELL,
    /\u202e/,
    /\u2028/,
    /^Bcc: /m,
    /^Subject: pwned/m,
  ];

  it('e-mail subject and body, chat JSON and markdown, the review page and the log: neutralised', async () => {
    const f = flowFixture();
    f.account.modify((s) => {
      const consumer = s.principals.find((p) => p.arn.endsWith('role/service-role/orders-consumer'));
      if (consumer) consumer.tags = { team: PAYLOAD.replace(/[\r\n]/g, ' ') };
    });
    const logged: string[] = [];
    f.ports.log = {
      info: (message, fields) => logged.push(JSON.stringify({ message, ...fields })),
      warn: (message, fields) => logged.push(JSON.stringify({ message, ...fields })),
    };
    const result = await remediate(f.ports, TEST_CONFIG, injected());
    expect(result.outcome).toBe('proposed');
    const email = f.published.find((m) => m.topic === 'email');
    const chat = f.published.find((m) => m.topic === 'chat');
    expect(email?.subject).toMatch(/^[\x20-\x7e]{1,99}$/);
    // E-mail is plain text (markup is inert there); what matters is that event text cannot add a
    // line, a header, a control or bidi character, or a live link.
    for (const raw of [ESC, BELL, /\u202e/, /\u2028/, /^Bcc: /m, /^Subject: pwned/m, /https:\/\/evil/]) {
      expect(email?.message).not.toMatch(raw);
    }
    expect(hasControl(email?.message ?? '')).toBe(false);

    const payload = JSON.parse(chat?.message ?? '{}');
    const texts = JSON.stringify(payload.content);
    for (const raw of RAW) expect(texts).not.toMatch(raw);
    // Markdown from the event cannot make a link or a mention: brackets and angle brackets are escaped.
    expect(texts).not.toContain('[click](https://evil.example)');
    expect(texts).not.toMatch(/(?<!\\)<!channel>/);

    const review = await handleApproval(approvalDeps(f), request('GET', linkIn(email, 'approve')));
    expect(review.statusCode).toBe(200);
    for (const raw of [/<script>alert/, /<img src=x/, ESC, /\u202e/]) expect(review.html).not.toMatch(raw);

    expect(hasControl(JSON.stringify(result))).toBe(false);
    expect(JSON.stringify(result)).not.toMatch(/[\u2028\u202e]|<script>/);
    for (const line of logged) {
      expect(hasControl(line)).toBe(false);
      expect(line).not.toMatch(/\u202e|<script>/);
    }
  });
});

describe('injection through session and stream names', () => {
  /** The storm denial by a session of another name (in the session ARN and the message). */
  function session(name: string): Json {
    const event = eventBridgeEvent(STORM_EVENT);
    const old: string = event.detail.userIdentity.arn;
    const renamed = `${old.slice(0, old.lastIndexOf('/') + 1)}${name}`;
    event.detail.userIdentity.arn = renamed;
    event.detail.errorMessage = event.detail.errorMessage.replace(old, renamed);
    return event;
  }

  it.each([
    'x<script>alert(1)</script>',
    'x\r\nBcc: v@example.com',
    'x\u202eevil',
    'x`rm -rf`',
    'x](https://evil.example)',
  ])('a session name IAM would never issue (%j): ignored as malformed, never shown', async (name) => {
    const f = flowFixture();
    const result = await remediate(f.ports, TEST_CONFIG, session(name));
    expect(result.outcome).toBe('ignored');
    expect(result.reason).toMatch(/^malformed/);
    expect(f.published).toEqual([]);
  });

  it('a session name with the characters IAM allows that markdown reads (_ @ = + , .): shown as text, not markup', async () => {
    const f = flowFixture();
    const result = await remediate(f.ports, TEST_CONFIG, session('_x_@channel=+,.y'));
    expect(result.outcome).toBe('proposed');
    const chat = f.published.find((m) => m.topic === 'chat');
    const { description } = JSON.parse(chat?.message ?? '{}').content as { description: string };
    // Where event text is shown in chat it is inside a code span, where markdown is inert.
    expect(description).toContain(
      '`User: arn:aws:sts::111122223333:assumed-role/orders-consumer/_x_@channel=+,.y is',
    );
    const outsideCode = description.replace(/```[\s\S]*?```/g, '').replace(/`[^`]*`/g, '');
    expect(outsideCode).not.toContain('_x_@channel');
  });

  it("a stream name outside Kinesis's alphabet: ignored as malformed", async () => {
    const f = flowFixture();
    const event = eventBridgeEvent(STORM_EVENT);
    event.detail.requestParameters.encryptionContext['aws:kinesis:arn'] =
      'arn:aws:kinesis:us-east-1:111122223333:stream/orders<img src=x>';
    const result = await remediate(f.ports, TEST_CONFIG, event);
    expect(result).toMatchObject({ outcome: 'ignored', reason: expect.stringMatching(/^malformed/) });
    expect(f.published).toEqual([]);
  });
});

describe('races', () => {
  it('ten simultaneous approvals of one proposal apply once', async () => {
    const f = flowFixture();
    const { id, approve } = await proposed(f);
    const pages = await Promise.all(Array.from({ length: 10 }, () => post(f, approve)));
    expect(pages.filter((p) => p.statusCode === 200)).toHaveLength(1);
    expect(pages.filter((p) => p.statusCode === 409)).toHaveLength(9);
    expect(writesTo(f)).toEqual({ 'kms:CreateGrant': 1 });
    expect(f.store.proposals.get(id)?.status).toBe('applied');
    expect(f.kinds().filter((k) => k === 'approved-applied')).toHaveLength(1);
  });

  it('the same event delivered twice at once is processed once', async () => {
    for (const config of [TEST_CONFIG, AUTO_EVERYONE]) {
      const f = flowFixture();
      const event = eventBridgeEvent(STORM_EVENT);
      const results = await Promise.all([
        remediate(f.ports, config, event),
        remediate(f.ports, config, structuredClone(event)),
      ]);
      expect(results.map((r) => r.outcome).sort()).toEqual(
        [config.mode === 'auto' ? 'applied' : 'proposed', 'duplicate'].sort(),
      );
      expect(proposals(f)).toHaveLength(1);
      expect(f.kinds()).toHaveLength(1);
      expect((writesTo(f)['kms:CreateGrant'] ?? 0) <= 1).toBe(true);
    }
  });

  it('two sessions of one role at once: one proposal, the other a repeat', async () => {
    const f = flowFixture();
    const event = eventBridgeEvent(STORM_EVENT);
    const results = await Promise.all([
      remediate(f.ports, TEST_CONFIG, event),
      remediate(f.ports, TEST_CONFIG, otherSession(event, 1)),
    ]);
    expect(results.map((r) => r.outcome).sort()).toEqual(['proposed', 'repeat']);
    expect(proposals(f)).toHaveLength(1);
  });

  describe('a key policy changed between the plan and the apply aborts the apply', () => {
    const keyPolicyConfig: RemediateConfig = {
      ...TEST_CONFIG,
      preferMechanism: 'key-policy-statement',
      enabledMechanisms: ['kms-grant', 'iam-inline-policy', 'key-policy-statement'],
    };
    const addStatement = (f: FlowFixture, sid: string) =>
      f.account.modify((s) => {
        const key = s.keys.find((k) => k.arn.endsWith('1234abcd-12ab-34cd-56ef-1234567890ab'));
        if (!key) throw new Error('no orders key');
        const statements = (key.policy as { Statement: unknown[] }).Statement;
        statements.push({
          Sid: sid,
          Effect: 'Allow',
          Principal: { AWS: 'arn:aws:iam::111122223333:role/auditor' },
          Action: 'kms:DescribeKey',
          Resource: '*',
        });
      });
    const keyPolicyOf = (f: FlowFixture) =>
      JSON.stringify(
        f.account.snapshot().keys.find((k) => k.arn.endsWith('1234abcd-12ab-34cd-56ef-1234567890ab'))?.policy,
      );

    it('changed before the approval: nothing put, the proposal superseded by a new one', async () => {
      const f = flowFixture('no-iam-delegation.json');
      const { id, approve } = await proposed(f, eventBridgeEvent(STORM_EVENT), keyPolicyConfig);
      expect(f.store.proposals.get(id)?.plan?.mechanism).toBe('key-policy-statement');
      addStatement(f, 'AddedByAPerson');
      const policy = keyPolicyOf(f);
      const page = await post(f, approve, {}, true);
      expect(page.statusCode).toBe(200);
      expect(writesTo(f)['kms:PutKeyPolicy']).toBeUndefined();
      expect(keyPolicyOf(f)).toBe(policy);
      expect(f.store.proposals.get(id)?.status).toBe('superseded');
    });

    it('changed after the re-read, right before the write: nothing put, the change kept', async () => {
      const f = flowFixture('no-iam-delegation.json');
      const { id, approve } = await proposed(f, eventBridgeEvent(STORM_EVENT), keyPolicyConfig);
      const read = f.ports.writer.getKeyPolicy.bind(f.ports.writer);
      f.ports.writer.getKeyPolicy = async (keyArn) => {
        addStatement(f, 'AddedDuringTheApply');
        return read(keyArn);
      };
      await post(f, approve, {}, true);
      expect(writesTo(f)['kms:PutKeyPolicy']).toBeUndefined();
      expect(keyPolicyOf(f)).toContain('AddedDuringTheApply');
      expect(f.store.proposals.get(id)?.status).not.toBe('applied');
    });
  });
});
