/**
 * Any text at all in the event-derived fields (session name, stream name, key alias, AWS's message,
 * keymend's reason, an audit entry) leaves the messages' shape as it is: the same lines, the same links,
 * the same markup, printable ASCII throughout, a valid subject and a chat payload of the schema.
 */
import fc from 'fast-check';
import type { OutgoingMessage } from '../../functions/core/ports';
import type { NotificationKind } from '../../functions/core/proposal';
import { kindText } from '../../functions/render/kinds';
import { renderNotifications } from '../../functions/render/notification';
import { chatSchemaErrors, markdownProse } from '../helpers/chat-schema';
import { type KindSample, kindSamples } from '../helpers/notification-samples';

let samples: Record<NotificationKind, KindSample>;
beforeAll(async () => {
  samples = await kindSamples();
});

/** Text built to hurt: line breaks, controls, bidi, markup and links, mixed with anything else. */
const hostileText = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        '\n',
        '\r\n',
        '\u2028',
        '\u0000',
        '\u001b[2J',
        '\u202e',
        '<script>',
        '`',
        '```',
        '*',
        '_',
        '[x](https://evil.example)',
        '<https://evil.example|x>',
        '<!channel>',
        'https://evil.example/approve',
        'www.evil.example',
        '\\u000a',
        '#',
        '|',
      ),
      fc.string({ unit: 'binary', maxLength: 8 }),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));

function render(kind: NotificationKind, sample: KindSample) {
  const [email, chat] = renderNotifications(kind, sample.proposal, sample.links) as [
    OutgoingMessage,
    OutgoingMessage,
  ];
  return { email, chat, card: JSON.parse(chat.message) };
}

const lines = (text: string) => text.split('\n').length;
const urls = (text: string) => text.match(/[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s)`"]+/g) ?? [];

it.each<NotificationKind>(['proposed', 'refused', 'approved-applied', 'failed'])(
  'the %s messages keep their shape whatever the event-derived text',
  (kind) => {
    const clean = render(kind, samples[kind]);
    fc.assert(
      fc.property(hostileText, hostileText, hostileText, (session, message, alias) => {
        const s = structuredClone(samples[kind]);
        s.proposal.request.sessionArn = `arn:aws:sts::111122223333:assumed-role/x/${session}`;
        s.proposal.request.errorMessage = message;
        s.proposal.keyAliases = [`alias/${alias}`];
        s.proposal.reason = `${message}${session}`;
        s.proposal.audit[0] = { ...s.proposal.audit[0], outcome: alias, detail: message } as never;
        const { email, chat, card } = render(kind, s);
        expect(email.subject).toMatch(/^[\x20-\x7e]{1,99}$/);
        expect(email.subject).toBe(clean.email.subject);
        expect(email.message).toMatch(/^[\x20-\x7e\n]+$/);
        expect(lines(email.message)).toBe(lines(clean.email.message));
        expect(urls(email.message)).toEqual(urls(clean.email.message));
        expect(chat.message).toMatch(/^[\x20-\x7e]+$/);
        expect(chatSchemaErrors(card)).toEqual([]);
        expect(card.content.nextSteps).toEqual(clean.card.content.nextSteps);
        const description: string = card.content.description;
        expect(lines(description)).toBe(lines(clean.card.content.description));
        expect(urls(description)).toEqual(urls(clean.card.content.description));
        expect(markdownProse(description).replace(/\*/g, '')).not.toMatch(/[`_~[\]<>|&#]/);
        expect((markdownProse(description).match(/\*/g) ?? []).length).toBe(
          (markdownProse(clean.card.content.description).match(/\*/g) ?? []).length,
        );
      }),
      { numRuns: 150 },
    );
  },
);

/** Names as IAM and Kinesis allow them, up to their limits (role 64, stream 128, alias 63). */
const nameOf = (chars: string, max: number) =>
  fc.string({ unit: fc.constantFrom(...chars.split('')), minLength: 1, maxLength: max });
const ROLE_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@_-';
const STREAM_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-';
const ALIAS_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789-';

it.each<NotificationKind>(['proposed', 'refused', 'approved-applied', 'still-failing'])(
  'the %s subject stays under 100 printable characters for any long names, and never cuts the account',
  (kind) => {
    fc.assert(
      fc.property(
        nameOf(ROLE_CHARS, 64),
        nameOf(STREAM_CHARS, 128),
        fc.option(nameOf(ALIAS_CHARS, 63), { nil: undefined }),
        fc.constantFrom('us-east-1', 'ap-southeast-4', 'me-central-1', 'eu-central-2'),
        fc.constantFrom('kms:Decrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext'),
        (role, stream, alias, region, operation) => {
          const s = structuredClone(samples[kind]);
          const account = s.proposal.scope.accountId;
          s.proposal.scope.principalArn = `arn:aws:iam::${account}:role/path/${role}`;
          s.proposal.scope.streamArn = `arn:aws:kinesis:${region}:${account}:stream/${stream}`;
          s.proposal.scope.region = region;
          s.proposal.scope.operation = operation;
          if (alias === undefined) delete s.proposal.accountAlias;
          else s.proposal.accountAlias = alias;
          const { email } = render(kind, s);
          const subject = email.subject;
          expect(subject).toMatch(/^[\x20-\x7e]{1,99}$/);
          const parts = subject.match(/^\[(\S+) (\S+)\] keymend: ([^:]+): (\S+) (\S+) on(?: stream)? (\S+)$/);
          expect(parts).not.toBeNull();
          const [, shownAccount, shownRegion, label, shownRole, shownOp, shownStream] =
            parts as unknown as string[];
          // The account is never shortened; an alias, when known, stands for it, both its ends kept.
          const keepsEnds = (whole: string, shown: string | undefined) => {
            if (shown === whole) return true;
            // A name may hold dots itself: some `...` in what is shown must split it into both ends.
            const text = shown ?? '';
            for (let i = text.indexOf('...'); i >= 0; i = text.indexOf('...', i + 1)) {
              const head = text.slice(0, i);
              const tail = text.slice(i + 3);
              if (head.length + tail.length < whole.length && whole.startsWith(head) && whole.endsWith(tail))
                return true;
            }
            return false;
          };
          if (alias === undefined) expect(shownAccount).toBe(account);
          else expect(keepsEnds(alias, shownAccount)).toBe(true);
          expect(shownRegion).toBe(region);
          expect(label).toBe(kindText(kind).label);
          expect(keepsEnds(role, shownRole)).toBe(true);
          expect(keepsEnds(operation, shownOp)).toBe(true);
          expect(keepsEnds(stream, shownStream)).toBe(true);
          // Each name keeps at least 8 characters, whatever else gives way.
          expect(shownRole?.length).toBeGreaterThanOrEqual(Math.min(role.length, 8));
          expect(shownStream?.length).toBeGreaterThanOrEqual(Math.min(stream.length, 8));
        },
      ),
      { numRuns: 200 },
    );
  },
);
