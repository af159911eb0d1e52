/**
 * Publishes notifications to SNS: the e-mail topic (plain text, with a Subject) and the optional chat
 * topic (AWS Chatbot custom notifications, the JSON string as the message, no Subject). With a routing
 * map (core/routing.ts), an e-mail about a problem goes to its account's or OU's topic instead of the
 * e-mail topic; chat messages stay on the chat topic.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { parseArn } from '../commons/arn';
import { InputError, KeymendError } from '../commons/errors';
import type { OutgoingMessage, Publisher } from '../core/ports';
import { type NotificationRoute, routedTopic } from '../core/routing';

/** SNS refuses messages over 256 KB (262,144 bytes). */
export const SNS_MESSAGE_BYTE_LIMIT = 262_144;
/** SNS e-mail subjects: under 100 characters. */
const SUBJECT_MAX = 99;

export interface SnsTopics {
  /** The e-mail topic's ARN. */
  email: string;
  /** The chat topic's ARN; absent, null or '' when there is none (chat messages are then skipped). */
  chat?: string | null;
  /** Which topic gets the e-mails of which account or OU; absent or empty: all to `email`. */
  routes?: readonly NotificationRoute[];
}

/** A publish SNS refused or that failed after the SDK's retries. */
export class PublishError extends KeymendError {
  override readonly name: string = 'PublishError';
}

function checkTopicArn(arn: string, what: string): string {
  const parsed = parseArn(arn);
  if (parsed === null || parsed.service !== 'sns' || parsed.region === '' || parsed.accountId === '') {
    throw new InputError(`the ${what} topic ${JSON.stringify(arn)} is not an SNS topic ARN`);
  }
  return arn;
}

/**
 * A Subject SNS accepts whatever the renderer produced: printable ASCII (anything else as `?`), one line,
 * under 100 characters, never empty. The renderer already guarantees this; the adapter does not rely on it.
 */
function subjectOf(subject: string): string {
  const text = subject
    .replace(/\s+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?')
    .trim()
    .slice(0, SUBJECT_MAX)
    .trim();
  return text === '' ? 'keymend notification' : text;
}

/** keymend's Publisher over SNS. */
export class SnsPublisher implements Publisher {
  private readonly email: string;
  private readonly chat: string | null;
  private readonly routes: readonly NotificationRoute[];

  /** @throws InputError when a topic is not an SNS topic ARN. */
  constructor(
    private readonly sns: SNSClient,
    topics: SnsTopics,
  ) {
    this.email = checkTopicArn(topics.email, 'e-mail');
    this.chat = topics.chat ? checkTopicArn(topics.chat, 'chat') : null;
    this.routes = (topics.routes ?? []).map((route) => ({
      key: route.key,
      topicArn: checkTopicArn(route.topicArn, `${route.key} route's`),
    }));
  }

  /** The topic of an e-mail: its problem's route's, else the e-mail topic. */
  private emailTopic(message: OutgoingMessage): string {
    if (this.routes.length === 0 || message.routing === undefined) return this.email;
    return routedTopic(this.routes, message.routing.accountId, message.routing.route) ?? this.email;
  }

  /**
   * Publishes one message to its topic; a chat message with no chat topic is skipped.
   *
   * @throws PublishError when the message is over SNS's limit, or SNS refuses or fails.
   */
  async publish(message: OutgoingMessage): Promise<void> {
    const topicArn = message.topic === 'email' ? this.emailTopic(message) : this.chat;
    if (topicArn === null) return;
    const bytes = Buffer.byteLength(message.message, 'utf8');
    if (bytes >= SNS_MESSAGE_BYTE_LIMIT) {
      throw new PublishError(
        `the ${message.topic} message is ${bytes} bytes, over SNS's ${SNS_MESSAGE_BYTE_LIMIT}`,
      );
    }
    const input =
      message.topic === 'email'
        ? { TopicArn: topicArn, Subject: subjectOf(message.subject), Message: message.message }
        : { TopicArn: topicArn, Message: message.message };
    try {
      await this.sns.send(new PublishCommand(input));
    } catch (error) {
      throw new PublishError(`sns:Publish to ${topicArn} failed: ${(error as Error)?.name ?? 'error'}`, {
        cause: error,
      });
    }
  }
}
