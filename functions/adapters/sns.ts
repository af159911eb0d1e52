/**
 * The Publisher over SNS: e-mail messages to the e-mail topic (with a Subject), chat messages to the
 * chat topic (AWS Chatbot reads the JSON body; no Subject). A message for a topic that is not
 * configured is skipped.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { OutgoingMessage, Publisher } from '../core/ports';

export interface SnsTopics {
  email: string;
  /** null when there is no chat topic. */
  chat: string | null;
}

export class SnsPublisher implements Publisher {
  constructor(
    private readonly client: SNSClient,
    private readonly topics: SnsTopics,
  ) {}

  async publish(message: OutgoingMessage): Promise<void> {
    const topicArn = message.topic === 'email' ? this.topics.email : this.topics.chat;
    if (topicArn === null) return;
    await this.client.send(
      new PublishCommand({
        TopicArn: topicArn,
        Message: message.message,
        ...(message.topic === 'email' ? { Subject: message.subject } : {}),
      }),
    );
  }
}
