/**
 * Notifications rendered from the samples in events/: one of each kind, each checked for every field a
 * person on call needs, against golden files (UPDATE_GOLDEN=1 rewrites them), and against hostile text.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CLOUDFORMATION_STACK_TAG, GRANT_PROPAGATION_NOTE } from '../../functions/commons/constants';
import type { SinglePlan } from '../../functions/core/plan';
import type { OutgoingMessage, ProposalLinks } from '../../functions/core/ports';
import type { NotificationKind, Proposal } from '../../functions/core/proposal';
import { layerWords } from '../../functions/render/diagnosis-words';
import { kindText, NOTIFICATION_KINDS } from '../../functions/render/kinds';
import { changeRequest, terraformSnippet } from '../../functions/render/manual';
import { renderNotifications } from '../../functions/render/notification';
import { chatSchemaErrors, markdownProse } from '../helpers/chat-schema';
import { type KindSample, kindSamples, sampleProposal } from '../helpers/notification-samples';
import { awsCalls, commandsIn, createGrantRequest, flags } from '../helpers/shell';

const GOLDEN_DIR = path.join(__dirname, 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

let samples: Record<NotificationKind, KindSample>;
beforeAll(async () => {
  samples = await kindSamples();
});

/** A fresh copy of a kind's sample, to change freely. */
function sample(kind: NotificationKind): KindSample {
  return structuredClone(samples[kind]);
}

function render(kind: NotificationKind, proposal: Proposal, links: ProposalLinks | null) {
  const messages = renderNotifications(kind, proposal, links);
  expect(messages.map((m) => m.topic)).toEqual(['email', 'chat']);
  const [email, chat] = messages as [OutgoingMessage, OutgoingMessage];
  return { email, chat, card: JSON.parse(chat.message) };
}

/** The JSON block of the e-mail's change section, parsed: it must be whole, valid JSON. */
function changeJson(body: string): unknown {
  const lines = body.split('\n');
  const start = lines.indexOf(
    '  {',
    lines.findIndex((l) => l.startsWith('THE CHANGE')),
  );
  const end = lines.indexOf('  }', start);
  expect(start).toBeGreaterThan(0);
  expect(end).toBeGreaterThan(start);
  return JSON.parse(
    lines
      .slice(start, end + 1)
      .map((l) => l.slice(2))
      .join('\n'),
  );
}

/** Every URL in `text`. */
function urls(text: string): string[] {
  return text.match(/[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s)`"]+/g) ?? [];
}

const streamName = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1);

describe.each(NOTIFICATION_KINDS)('the %s notification', (kind) => {
  it('e-mail: a subject [ACCOUNT REGION] of printable ASCII under 100 characters naming principal, operation, stream and kind', () => {
    const { proposal, links } = sample(kind);
    const { email } = render(kind, proposal, links);
    expect(email.subject).toMatch(/^[\x20-\x7e]{1,99}$/);
    const prefix = `[${proposal.accountAlias ?? proposal.scope.accountId} ${proposal.scope.region}] keymend: ${kindText(kind).label}: `;
    expect(email.subject.startsWith(prefix)).toBe(true);
    const roleName = streamName(proposal.scope.principalArn);
    const stream = streamName(proposal.scope.streamArn);
    expect(email.subject).toContain(` ${proposal.scope.operation} on stream `);
    // Names are shortened in their middle ("ab...yz") only when the whole would not fit in 99 characters.
    const full = `${roleName} ${proposal.scope.operation} on stream ${stream}`;
    if (email.subject.includes(full)) {
      expect(email.subject.endsWith(full)).toBe(true);
    } else {
      expect(email.subject.length).toBeGreaterThanOrEqual(95);
      const shown = email.subject.slice(prefix.length, email.subject.indexOf(` ${proposal.scope.operation}`));
      expect(shown).toMatch(/^.+\.\.\..+$/);
      const [head, tail] = shown.split('...') as [string, string];
      expect(roleName.startsWith(head) && roleName.endsWith(tail)).toBe(true);
    }
  });

  it('e-mail: what happened, why, the change, the proof, the links and the console', () => {
    const { proposal, links } = sample(kind);
    const { email } = render(kind, proposal, links);
    const body = email.message;
    expect(body).toMatch(/^[\x20-\x7e\n]+$/);
    expect(body.startsWith(kindText(kind).headline)).toBe(true);
    const { scope } = proposal;
    for (const value of [
      scope.principalArn,
      streamName(scope.principalArn),
      scope.operation,
      scope.keyArn,
      ...proposal.keyAliases,
      scope.streamArn,
      `Region:`,
      scope.region,
      scope.accountId,
      proposal.firstSeen,
      proposal.lastSeen,
      `at least ${proposal.count} since the first`,
    ]) {
      expect(body).toContain(value);
    }
    expect(proposal.keyAliases.length).toBeGreaterThan(0);
    // Why: the diagnosis in plain words, keymend's reason and AWS's own message.
    const explicit = proposal.diagnosis?.current === 'explicit-deny';
    for (const layer of proposal.diagnosis?.blockingLayers ?? []) {
      expect(body).toContain(layerWords(layer, explicit));
    }
    expect(body).toContain(proposal.reason);
    expect(body).toContain(`AWS said: ${proposal.request.errorMessage}`);
    if (proposal.verdict === 'refuse') {
      expect(body).toContain(`Refusal:  ${proposal.code}`);
      expect(body).not.toContain('THE CHANGE');
    } else {
      // The change in the API's own request shape, exactly what the plan writes.
      expect(changeJson(body)).toEqual(changeRequest(proposal.plan as SinglePlan).request);
      const probes = proposal.proof?.probes ?? [];
      const denied = probes.filter((p) => p.result !== 'allowed').length;
      expect(body).toContain(`${denied} of ${probes.length} neighbouring requests stay denied`);
      expect(body).toMatch(/Before the change: +denied/);
      expect(body).toMatch(/With the change: +allowed/);
      // The permanent fix in code: the same least-privilege statement in CDK and CloudFormation.
      expect(body).toContain('CDK (TypeScript):');
      expect(body).toContain('CloudFormation (YAML):');
      for (const [snippet, quote] of [
        ['CDK (TypeScript):', "'"],
        ['CloudFormation (YAML):', '"'],
      ] as const) {
        const code = body.slice(body.indexOf(snippet));
        expect(code).toContain(`${quote}${scope.operation}${quote}`);
        expect(code).toContain(`${quote}kinesis.${scope.region}.amazonaws.com${quote}`);
        expect(code).toContain(`${quote}${scope.streamArn}${quote}`);
        expect(code).toContain('kms:EncryptionContext:aws:kinesis:arn');
        expect(code).toContain('kms:ViaService');
        expect(code).toContain('StringEquals');
      }
    }
    // The decision links, with their expiry (the review link, which decides nothing, is chat's).
    for (const action of ['approve', 'reject', 'revoke'] as const) {
      if (links?.[action]) expect(body).toContain(links[action]);
    }
    if (links) {
      expect(body).toContain(`they work until ${links.expiresAt}`);
      // The review link only when there is no decision link (an automatic fix: the remediate function
      // cannot sign a revoke link).
      if (links.approve || links.reject || links.revoke) expect(body).not.toContain(links.review);
      else expect(body).toContain(`Review: ${links.review}`);
    }
    if (kind === 'auto-applied') expect(links?.revoke).toBeUndefined();
    else if (kindText(kind).applied)
      expect(links?.revoke && body.includes('Review and revoke:')).toBeTruthy();
    // Console links to the role (IAM), the key (KMS, its Region) and the stream (Kinesis).
    expect(body).toContain(`https://${scope.region}.console.aws.amazon.com/iam/home#/`);
    expect(body).toContain(`/kms/home?region=${scope.region}#/kms/keys/${scope.keyArn.split('/')[1]}`);
    expect(body).toContain(
      `/kinesis/home?region=${scope.region}#/streams/details/${streamName(scope.streamArn)}/`,
    );
  });

  it('chat: a custom notification of the documented schema, threaded by fingerprint, links as next steps', () => {
    const { proposal, links } = sample(kind);
    const { chat, card } = render(kind, proposal, links);
    expect(chatSchemaErrors(card)).toEqual([]);
    expect(card.metadata.threadId).toBe(proposal.fingerprint);
    expect(card.content.textType).toBe('client-markdown');
    expect(card.metadata.eventType).toBe(`keymend:${kind}`);
    expect(card.metadata.relatedResources).toEqual([
      proposal.scope.principalArn,
      proposal.scope.keyArn,
      proposal.scope.streamArn,
    ]);
    // Chat carries the review link only: a channel is not an approver list.
    const steps: string = card.content.nextSteps.join('\n');
    if (links) expect(steps).toContain(`](${links.review})`);
    for (const action of ['approve', 'reject', 'revoke'] as const) {
      if (links?.[action]) expect(chat.message).not.toContain(links[action]);
    }
    expect(steps).toContain('IAM console](https://');
    expect(card.content.description).toContain(proposal.scope.operation);
    expect(chat.message).toMatch(/^[\x20-\x7e]+$/);
  });

  it('matches its golden files', () => {
    const { proposal, links } = sample(kind);
    const { email, card } = render(kind, proposal, links);
    const files: Array<[string, string]> = [
      [`${kind}.email.txt`, `Subject: ${email.subject}\n\n${email.message}`],
      [`${kind}.chat.json`, `${JSON.stringify(card, null, 2)}\n`],
    ];
    for (const [name, text] of files) {
      const file = path.join(GOLDEN_DIR, name);
      if (UPDATE) {
        mkdirSync(GOLDEN_DIR, { recursive: true });
        writeFileSync(file, text);
      }
      expect(existsSync(file)).toBe(true);
      expect(text).toBe(readFileSync(file, 'utf8'));
    }
  });
});

describe('the manual path in the e-mail', () => {
  it.each(NOTIFICATION_KINDS)(
    '%s: every create-grant sends the plan; an applied grant is undone by its own id',
    (kind) => {
      const { proposal, links } = sample(kind);
      const { email } = render(kind, proposal, links);
      const creates = commandsIn(email.message, 'aws kms create-grant');
      const plan = proposal.plan;
      if (plan?.mechanism !== 'kms-grant' || kind === 'revoked') {
        expect(creates).toEqual([]);
        if (kind === 'revoked' || plan === null) expect(email.message).not.toContain('BY HAND');
        return;
      }
      const live = kindText(kind).applied;
      expect(creates).toHaveLength(live ? 0 : 1);
      for (const create of creates) {
        const [call] = awsCalls(create);
        expect(createGrantRequest(call ?? [])).toEqual({
          KeyId: plan.keyArn,
          GranteePrincipal: plan.granteePrincipal,
          Operations: plan.operations,
          Constraints: { EncryptionContextSubset: plan.constraints.encryptionContextSubset },
          Name: plan.name,
        });
      }
      const [revoke] = commandsIn(email.message, 'aws kms revoke-grant').map((c) => awsCalls(c)[0] ?? []);
      const grantId = flags(revoke ?? []).get('--grant-id');
      if (live && proposal.applied?.mechanism === 'kms-grant')
        expect(grantId).toEqual([proposal.applied.grantId]);
      expect(email.message).toContain(terraformSnippet(plan).split('\n')[0]);
    },
  );
});

describe('what each kind says', () => {
  it('approved, rejected and revoked name who decided: the signed-in approver, else IP and browser', () => {
    for (const kind of ['approved-applied', 'revoked'] as const) {
      const { proposal, links } = sample(kind);
      const { email, card } = render(kind, proposal, links);
      expect(email.message).toMatch(/^DECISION$/m);
      expect(email.message).toMatch(
        /(Approved|Revoked) by: +alice@example.com \(signed in, subject 00u1a2b3c4d5e6f7g8h9\)/,
      );
      expect(card.content.description).toContain('alice@example.com');
    }
    const { proposal, links } = sample('rejected');
    const { email, card } = render('rejected', proposal, links);
    expect(email.message).toMatch(
      /Rejected by: +someone holding the link, from 198\.51\.100\.7 with "Mozilla\/5\.0 \(Macintosh\)" \(no sign-in\)/,
    );
    expect(email.message).toMatch(/Reason: +This user is being retired next week; no new access\./);
    expect(card.content.description).toContain('*Reason:* This user is being retired next week');
    // A proposal nobody decided on yet says nothing of the kind.
    expect(render('proposed', sample('proposed').proposal, null).email.message).not.toContain('DECISION');
  });

  it('a refusal says the refusal code and why, and offers no change', () => {
    const { proposal, links } = sample('refused');
    expect(proposal.verdict).toBe('refuse');
    const { email, card } = render('refused', proposal, links);
    expect(email.message).toContain(proposal.code);
    expect(card.content.description).toContain(`\`${proposal.code}\``);
    expect(email.message).not.toContain('MAKE IT PERMANENT');
  });

  it('an applied grant says that grants take up to five minutes', () => {
    for (const kind of ['auto-applied', 'still-failing'] as const) {
      const { proposal, links } = sample(kind);
      expect(proposal.plan?.mechanism).toBe('kms-grant');
      const { email } = render(kind, proposal, links);
      expect(email.message).toContain(GRANT_PROPAGATION_NOTE);
    }
    const { proposal, links } = sample('proposed');
    expect(render('proposed', proposal, links).email.message).not.toContain(GRANT_PROPAGATION_NOTE);
  });

  it('for a principal CloudFormation manages, an inline policy drifts from the template and a grant does not', () => {
    const { proposal, links } = sample('approved-applied');
    expect(proposal.plan?.mechanism).toBe('iam-inline-policy');
    const inline = render('approved-applied', proposal, links).email.message;
    expect(inline).toContain('managed by CloudFormation (stack orders-analytics)');
    expect(inline).toContain('drifts from the stack');
    const grant = sample('proposed');
    grant.proposal.principalTags = { [CLOUDFORMATION_STACK_TAG]: 'orders' };
    const text = render('proposed', grant.proposal, grant.links).email.message;
    expect(text).toContain('does not drift from its template');
    const untagged = sample('proposed');
    expect(render('proposed', untagged.proposal, untagged.links).email.message).not.toContain(
      'CloudFormation (stack',
    );
  });

  it('a key-policy plan is shown as the statement in the key policy, in code too', () => {
    const { proposal, links } = sample('failed');
    expect(proposal.plan?.mechanism).toBe('key-policy-statement');
    const { email } = render('failed', proposal, links);
    expect(email.message).toContain('key.addToResourcePolicy');
    expect(email.message).toContain('AWS::KMS::Key');
  });

  it('links to a key in another account name that account', () => {
    const { proposal, links } = sample('expired');
    expect(proposal.scope.keyArn).toContain(':111122223333:');
    expect(proposal.scope.principalArn).toContain(':444455556666:');
    expect(render('expired', proposal, links).email.message).toContain('Key (KMS, account 111122223333)');
  });
});

describe('untrusted text', () => {
  const HOSTILE = [
    'x\r\nReview and approve: https://evil.example/approve?t=1',
    '\u2028Reject: https://evil.example/reject\u0000\u001b[2J\u202e',
    '<script>alert(1)</script><a href="https://evil.example">click</a>',
    '*bold* _it_ ~strike~ `code` [approve](https://evil.example) <https://evil.example|approve> <!channel> # h',
    'www.evil.example \\u000a',
  ].join(' ');

  /** The proposed sample with hostile text in the session name, the stream name and AWS's message. */
  function hostile(options: { stream: boolean }): KindSample {
    const s = sample('proposed');
    const p = s.proposal;
    p.request.sessionArn = `arn:aws:sts::111122223333:assumed-role/orders-consumer/${HOSTILE}`;
    p.request.errorMessage = HOSTILE;
    if (options.stream) p.scope.streamArn = `arn:aws:kinesis:us-east-1:111122223333:stream/${HOSTILE}`;
    p.reason = `keymend says ${HOSTILE}`;
    p.keyAliases = [`alias/${HOSTILE}`];
    p.audit.push({ at: 'now', actor: 'approval-link', action: 'approve', outcome: HOSTILE, detail: HOSTILE });
    return s;
  }

  const allowedUrls = (s: KindSample) => {
    // The URLs keymend itself puts in a clean message: its own links (the e-mail's and chat's review link) and the consoles.
    const clean = render('proposed', sample('proposed').proposal, s.links);
    return new Set([...urls(clean.email.message), ...(s.links ? [s.links.review] : [])]);
  };

  it('cannot break the subject', () => {
    const { proposal, links } = hostile({ stream: true });
    const { email, chat } = render('proposed', proposal, links);
    for (const subject of [email.subject, chat.subject]) {
      expect(subject).toMatch(/^[\x20-\x7e]{1,99}$/);
      expect(subject).not.toMatch(/ {2}/);
    }
  });

  it('cannot forge lines or links in the e-mail', () => {
    const s = hostile({ stream: false });
    const { email } = render('proposed', s.proposal, s.links);
    const clean = render('proposed', sample('proposed').proposal, s.links);
    const body = email.message;
    expect(body).toMatch(/^[\x20-\x7e\n]+$/);
    // Every value stays on its line: the message has as many lines as the clean one, plus the audit entry.
    expect(body.split('\n').length).toBe(clean.email.message.split('\n').length + 1);
    expect(body.split('\n').filter((l) => /^\s*Review and approve:/.test(l))).toHaveLength(1);
    expect(body.split('\n').filter((l) => /^\s*Reject:/.test(l))).toHaveLength(1);
    const allowed = allowedUrls(s);
    expect(urls(body).filter((u) => !allowed.has(u))).toEqual([]);
    expect(body).not.toContain('www.evil');
    expect(body).toContain('\\u000d\\u000a');
    expect(body).toContain('\\u202e');
    expect(body).toContain('\\\\u000a');
  });

  it('a stream name that is not a stream ARN gets no console link and no code, and forges nothing', () => {
    const s = hostile({ stream: true });
    const { email } = render('proposed', s.proposal, s.links);
    expect(email.message).toMatch(/^[\x20-\x7e\n]+$/);
    expect(email.message).not.toContain('/kinesis/home');
    expect(email.message).not.toContain('CDK (TypeScript):');
    expect(email.message).toContain('No code shown');
    const allowed = allowedUrls(s);
    expect(urls(email.message).filter((u) => !allowed.has(u))).toEqual([]);
    expect(email.message.split('\n').filter((l) => /^\s*Review and approve:/.test(l))).toHaveLength(1);
  });

  it('cannot inject markup or links in chat', () => {
    const s = hostile({ stream: true });
    const { card, chat } = render('proposed', s.proposal, s.links);
    expect(chatSchemaErrors(card)).toEqual([]);
    expect(chat.message).toMatch(/^[\x20-\x7e]+$/);
    const allowed = allowedUrls(s);
    const strings: string[] = [
      card.content.title,
      card.content.description,
      ...card.content.nextSteps,
      card.metadata.summary,
      ...card.metadata.relatedResources,
      ...card.content.keywords,
      ...Object.values(card.metadata.additionalContext as Record<string, string>),
    ];
    for (const text of strings) expect(urls(text).filter((u) => !allowed.has(u))).toEqual([]);
    // Outside code, every markup character from the event is escaped; inside code, the span cannot close.
    const clean = render('proposed', sample('proposed').proposal, s.links).card;
    const description: string = card.content.description;
    expect(markdownProse(description)).not.toMatch(/[`_~[\]<>|&#]/);
    expect((markdownProse(description).match(/\*/g) ?? []).length).toBe(
      (markdownProse(clean.content.description).match(/\*/g) ?? []).length,
    );
    expect(description.split('\n').length).toBe(clean.content.description.split('\n').length);
    expect(markdownProse(card.content.title)).not.toMatch(/[`*_~[\]<>|]/);
    expect(description).not.toContain('<script>');
    expect(description).toContain('\\u003cscript\\u003e');
  });

  it('hostile text from the event itself goes through the intake into escaped output', async () => {
    const { sampleLinks } = await import('../helpers/notification-samples');
    const p = await sampleProposal('consumer-decrypt-denied-service-role.eventbridge.json', 'demo', {
      id: 'hostile-Zz0',
      editRecord: (record) => {
        record.errorMessage = HOSTILE;
      },
    });
    expect(p.request.errorMessage).toBe(HOSTILE);
    const links = sampleLinks(p, ['approve', 'reject']);
    const { email, card } = render('proposed', p, links);
    expect(email.message).toMatch(/^[\x20-\x7e\n]+$/);
    expect(email.message).toContain('AWS said: x\\u000d\\u000aReview and approve: https[:]//evil.example');
    expect(card.content.description).toContain('`x\\u000d\\u000aReview and approve: https[:]//evil.example');
  });
});

describe('size', () => {
  it('a huge key policy, message and audit trail stay under 256 KB, shortened with a note, never cut mid-JSON', () => {
    const { proposal, links } = sample('failed');
    const plan = proposal.plan;
    if (plan?.mechanism !== 'key-policy-statement') throw new Error('expected a key-policy plan');
    const filler = Array.from({ length: 800 }, (_, i) => ({
      Sid: `Existing${i}`,
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::111122223333:role/app-${i}-${'x'.repeat(40)}` },
      Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
      Resource: '*',
      Condition: { StringEquals: { 'kms:EncryptionContext:app': `${'\u00e9'.repeat(300)}${i}` } },
    }));
    plan.document = { ...plan.document, Statement: [...filler, ...plan.document.Statement] };
    expect(JSON.stringify(plan.document).length).toBeGreaterThan(300_000);
    proposal.request.errorMessage = '\u0001'.repeat(4096);
    proposal.reason = '\u2028'.repeat(20_000);
    proposal.audit = Array.from({ length: 5_000 }, () => ({
      at: LATER_TIME,
      actor: 'approval-link',
      action: 'approve',
      outcome: 'x'.repeat(5_000),
      detail: '\u0000'.repeat(5_000),
    }));
    const { email, chat, card } = render('failed', proposal, links);
    for (const m of [email, chat]) {
      expect(Buffer.byteLength(m.message, 'utf8') + Buffer.byteLength(m.subject, 'utf8')).toBeLessThan(
        256 * 1024,
      );
    }
    expect(email.message).toContain('Shortened: the new key policy is');
    expect(changeJson(email.message)).toEqual({
      KeyId: plan.keyArn,
      PolicyName: 'default',
      AddedStatement: plan.statement,
    });
    expect(chatSchemaErrors(card)).toEqual([]);
    expect(card.content.description).toContain('Shortened');
  });
});

const LATER_TIME = '2025-06-01T14:00:00Z';

describe('WHAT TO DO with hostile text', () => {
  it('a step naming hostile policies cannot forge a line or a link in the e-mail or chat', () => {
    const { proposal } = sample('refused');
    proposal.nextSteps = [
      {
        who: 'admins\nLINKS\n  Approve: https://evil.example/x',
        what: 'Change policy <b>x</b>`\u202e` [click](https://evil.example)',
        statement: {
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: 'k```\n<script>',
          Condition: { StringEquals: {} },
        },
      },
    ];
    const { email, card } = render('refused', proposal, null);
    expect(email.message).not.toMatch(/^\s*LINKS$/m);
    expect(email.message).not.toContain('https://evil');
    expect(email.message).toContain('1. Who: admins\\u000aLINKS\\u000a  Approve: https[:]//evil.example/x');
    const description: string = card.content.description;
    expect(description).not.toContain('https://evil');
    expect(description).not.toContain('<b>');
    expect(description).not.toContain('<script>');
    expect(description.match(/```/g)?.length ?? 0).toBe(2);
    expect(chatSchemaErrors(card)).toEqual([]);
  });
});

describe('every refusal of the samples renders', () => {
  it.each([
    ['consumer-decrypt-denied-no-context.record.json', 'demo'],
    ['root-decrypt-denied-via-kinesis.record.json', 'demo'],
    ['legacy-decrypt-denied-aws-managed-key.record.json', 'demo'],
    ['consumer-decrypt-denied-scp.record.json', 'scp-deny'],
    ['consumer-decrypt-denied-boundary.record.json', 'boundary'],
    ['cross-account-decrypt-denied.eventbridge.json', 'cross-account-key-policy'],
    ['consumer-decrypt-denied-service-role.eventbridge.json', 'key-disabled'],
  ])('%s on %s', async (event, account) => {
    const proposal = await sampleProposal(event, account, { id: 'refusal-Ab1' });
    expect(proposal.verdict).toBe('refuse');
    const { email, card } = render('refused', proposal, null);
    expect(
      email.subject.startsWith(
        `[${proposal.accountAlias ?? proposal.scope.accountId} us-east-1] keymend: Refused: `,
      ),
    ).toBe(true);
    expect(email.subject).toMatch(/^[\x20-\x7e]+[^ ]$/);
    expect(email.subject.length).toBeLessThan(100);
    expect(email.message).toMatch(/^[\x20-\x7e\n]+$/);
    expect(email.message).toContain(`Refusal:  ${proposal.code}`);
    expect(email.message).toContain(proposal.reason);
    expect(email.message).not.toMatch(/: *\n/);
    expect(email.message).not.toContain('LINKS');
    expect(chatSchemaErrors(card)).toEqual([]);
    expect(card.content.description).toContain(`\`${proposal.code}\``);
    // WHAT TO DO: every step, in e-mail and chat.
    expect(proposal.nextSteps?.length).toBeGreaterThan(0);
    expect(email.message).toContain('\nWHAT TO DO\n  1. Who: ');
    expect(card.content.description).toContain('*What to do:*');
    for (const step of proposal.nextSteps ?? []) {
      expect(email.message).toContain(step.what.replace(/[^\x20-\x7e]/g, ''));
    }
    if (proposal.scope.streamArn === '') {
      expect(email.subject).toMatch(/on stream \(not known\)$/);
      expect(email.message).toContain('Stream:     (not known)');
    }
  });
});
