import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { SnsPublisher } from '../../functions/adapters/sns';

const sns = mockClient(SNSClient);
const EMAIL = 'arn:aws:sns:us-east-1:111122223333:keymend-email';
const CHAT = 'arn:aws:sns:us-east-1:111122223333:keymend-chat';

describe('SnsPublisher', () => {
  beforeEach(() => {
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
  });

  it('sends e-mail with its subject to the e-mail topic, chat without one to the chat topic', async () => {
    const publisher = new SnsPublisher(new SNSClient({ region: 'us-east-1' }), { email: EMAIL, chat: CHAT });
    await publisher.publish({ topic: 'email', subject: 'keymend proposed', message: 'body' });
    await publisher.publish({ topic: 'chat', subject: 'ignored', message: '{"version":"1.0"}' });
    expect(sns.commandCalls(PublishCommand).map((c) => c.args[0].input)).toEqual([
      { TopicArn: EMAIL, Subject: 'keymend proposed', Message: 'body' },
      { TopicArn: CHAT, Message: '{"version":"1.0"}' },
    ]);
  });

  it('skips chat when there is no chat topic', async () => {
    const publisher = new SnsPublisher(new SNSClient({ region: 'us-east-1' }), { email: EMAIL, chat: null });
    await publisher.publish({ topic: 'chat', subject: 's', message: '{}' });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });
});
