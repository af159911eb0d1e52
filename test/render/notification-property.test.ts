/**
 * Any text at all in the event-derived fields (session name, stream name, key alias, AWS's message,
 * keymend's reason, an audit entry) leaves the messages' shape as it is: the same lines, the same links,
 * the same markup, printable ASCII throughout, a valid subject and a chat payload of the schema.
 */
import fc from 'fast-check';
import type { OutgoingMessage } from '../../functions/core/ports';
import type { NotificationKind } from '../../functions/core/proposal';
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
