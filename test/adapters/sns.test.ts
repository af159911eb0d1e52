import { AuthorizationErrorException, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { PublishError, SNS_MESSAGE_BYTE_LIMIT, SnsPublisher } from '../../functions/adapters/sns';
import { InputError } from '../../functions/commons/errors';
import type { OutgoingMessage } from '../../functions/core/ports';
import { parseRoutes } from '../../functions/core/routing';
import { renderNotifications } from '../../functions/render/notification';
import { kindSamples } from '../helpers/notification-samples';

const EMAIL_TOPIC = 'arn:aws:sns:us-east-1:111122223333:keymend-email';
const CHAT_TOPIC = 'arn:aws:sns:us-east-1:111122223333:keymend-chat';
const sns = mockClient(SNSClient);
const client = new SNSClient({ region: 'us-east-1' });

const EMAIL: OutgoingMessage = { topic: 'email', subject: 'keymend: Proposed fix', message: 'body\n' };
const CHAT: OutgoingMessage = {
  topic: 'chat',
  subject: 'keymend: Proposed fix',
  message: '{"version":"1.0"}',
};

beforeEach(() => {
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
});

describe('SnsPublisher', () => {
  it('publishes e-mail with its Subject to the e-mail topic', async () => {
    await new SnsPublisher(client, { email: EMAIL_TOPIC, chat: CHAT_TOPIC }).publish(EMAIL);
    expect(sns.commandCalls(PublishCommand).map((c) => c.args[0].input)).toEqual([
      { TopicArn: EMAIL_TOPIC, Subject: EMAIL.subject, Message: EMAIL.message },
    ]);
  });

  it('publishes chat as the JSON string, without a Subject, to the chat topic', async () => {
    await new SnsPublisher(client, { email: EMAIL_TOPIC, chat: CHAT_TOPIC }).publish(CHAT);
    expect(sns.commandCalls(PublishCommand).map((c) => c.args[0].input)).toEqual([
      { TopicArn: CHAT_TOPIC, Message: CHAT.message },
    ]);
  });

  it.each([undefined, null, ''])('skips chat when the chat topic is %p', async (chat) => {
    const publisher = new SnsPublisher(client, { email: EMAIL_TOPIC, chat });
    await publisher.publish(CHAT);
    await publisher.publish(EMAIL);
    expect(sns.commandCalls(PublishCommand).map((c) => c.args[0].input.TopicArn)).toEqual([EMAIL_TOPIC]);
  });

  it('publishes what the renderer makes: one e-mail and one chat message, each to its topic', async () => {
    const { proposal, links } = (await kindSamples()).proposed;
    const publisher = new SnsPublisher(client, { email: EMAIL_TOPIC, chat: CHAT_TOPIC });
    for (const message of renderNotifications('proposed', proposal, links)) await publisher.publish(message);
    const inputs = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(inputs.map((i) => i.TopicArn)).toEqual([EMAIL_TOPIC, CHAT_TOPIC]);
    expect(inputs[0]?.Subject).toMatch(/^[\x20-\x7e]{1,99}$/);
    expect(JSON.parse(inputs[1]?.Message ?? '')).toMatchObject({ version: '1.0', source: 'custom' });
  });

  it('keeps a Subject SNS accepts even when handed a bad one', async () => {
    const publisher = new SnsPublisher(client, { email: EMAIL_TOPIC });
    await publisher.publish({ ...EMAIL, subject: `a\r\nb\u0000c\u00e9${'x'.repeat(200)}` });
    await publisher.publish({ ...EMAIL, subject: ' \n ' });
    const subjects = sns.commandCalls(PublishCommand).map((c) => c.args[0].input.Subject);
    expect(subjects[0]).toMatch(/^a b\?c\?x+$/);
    expect(subjects[0]?.length).toBe(99);
    expect(subjects[1]).toBe('keymend notification');
  });

  it('refuses a message over 256 KB without calling SNS', async () => {
    const publisher = new SnsPublisher(client, { email: EMAIL_TOPIC });
    await expect(
      publisher.publish({ ...EMAIL, message: 'x'.repeat(SNS_MESSAGE_BYTE_LIMIT) }),
    ).rejects.toThrow(PublishError);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it('wraps a refusal from SNS in a PublishError that keeps the cause', async () => {
    const denied = new AuthorizationErrorException({ message: 'not authorized', $metadata: {} });
    sns.on(PublishCommand).rejects(denied);
    const error = await new SnsPublisher(client, { email: EMAIL_TOPIC })
      .publish(EMAIL)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect((error as PublishError).message).toContain('AuthorizationError');
    expect((error as PublishError).cause).toBe(denied);
  });

  it.each([
    ['an e-mail topic that is not an ARN', { email: 'keymend-email' }],
    ['an e-mail topic of another service', { email: 'arn:aws:sqs:us-east-1:111122223333:q' }],
    ['a chat topic that is not an ARN', { email: EMAIL_TOPIC, chat: 'chat' }],
  ])('refuses %s', (_, topics) => {
    expect(() => new SnsPublisher(client, topics)).toThrow(InputError);
  });
});

describe('SnsPublisher with notification routes', () => {
  const ROUTES = parseRoutes(
    '444455556666=payments-alerts,ou-ab12-11111111=arn:aws:sns:us-east-1:777788889999:data-alerts',
    EMAIL_TOPIC,
  );
  const publisher = () => new SnsPublisher(client, { email: EMAIL_TOPIC, chat: CHAT_TOPIC, routes: ROUTES });
  const topics = () => sns.commandCalls(PublishCommand).map((c) => c.args[0].input.TopicArn);

  it("sends an e-mail to its account's route, or to the route its proposal kept", async () => {
    await publisher().publish({ ...EMAIL, routing: { accountId: '444455556666' } });
    await publisher().publish({
      ...EMAIL,
      routing: { accountId: '121212121212', route: 'ou-ab12-11111111' },
    });
    expect(topics()).toEqual([
      'arn:aws:sns:us-east-1:111122223333:payments-alerts',
      'arn:aws:sns:us-east-1:777788889999:data-alerts',
    ]);
  });

  it('falls back to the e-mail topic; chat stays on the chat topic', async () => {
    await publisher().publish({ ...EMAIL, routing: { accountId: '121212121212' } });
    await publisher().publish(EMAIL);
    await publisher().publish({ ...CHAT, routing: { accountId: '444455556666' } });
    expect(topics()).toEqual([EMAIL_TOPIC, EMAIL_TOPIC, CHAT_TOPIC]);
  });
});
