/**
 * The remediate function: the EventBridge rule on denied KMS calls invokes it with one event.
 * Wiring only (the flow is functions/flows/remediate.ts): configuration read from the environment once
 * per execution environment (a bad variable fails every invocation with its name); SDK clients built
 * once; middy with Powertools Logger's `injectLambdaContext`.
 *
 * `makeHandler(deps)` builds the inner handler from its backends, so tests and `keymend local` run the
 * same code with dynalite, the snapshot account and an outbox in place of AWS.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { AwsAccountWriter } from '../adapters/account-writer';
import { AwsAccountReader } from '../adapters/aws-account';
import { clientConfig } from '../adapters/client-config';
import { SecretsManagerSecret } from '../adapters/secret';
import { SnsPublisher } from '../adapters/sns';
import { DynamoProposalStore } from '../adapters/store';
import type { AccountReader } from '../core/account';
import { parseConfig } from '../core/config';
import type { FlowContext, FlowLog } from '../flows/notify';
import { type RemediateConfig, type RemediateResult, remediate } from '../flows/remediate';

export type RemediateEvent = EventBridgeEvent<'AWS API Call via CloudTrail', unknown>;

export interface RemediateHandlerDeps {
  config: RemediateConfig;
  /**
   * The ports for one invocation. Called once per event, so an account reader that caches (the AWS
   * reader does) starts each event fresh and the re-read after an apply sees the write.
   */
  ports: () => FlowContext;
  logger: FlowLog & { error(message: string, fields: Record<string, unknown>): void };
}

/**
 * The inner handler: one event, one result (`{"outcome", "proposalId"?, "reason"?}`), one log line.
 * A failure of a read or of the store is logged and rethrown, so the invocation counts as an error.
 */
export function makeHandler(deps: RemediateHandlerDeps): (event: RemediateEvent) => Promise<RemediateResult> {
  return async (event) => {
    const eventId = eventIdOf(event);
    try {
      const result = await remediate({ log: deps.logger, ...deps.ports() }, deps.config, event);
      deps.logger.info('remediate outcome', { eventId, ...result });
      return result;
    } catch (error) {
      deps.logger.error('remediate failed', { eventId, error });
      throw error;
    }
  };
}

/** `detail.eventID` for the log line, when it is a string (the event is untrusted). */
function eventIdOf(event: unknown): string | undefined {
  try {
    const id = (event as { detail?: { eventID?: unknown } } | null)?.detail?.eventID;
    return typeof id === 'string' ? id.slice(0, 128) : undefined;
  } catch {
    return undefined;
  }
}

const logger = new Logger({ serviceName: 'keymend-remediate' });

/** An AccountReader that reads afresh on every call (the AWS reader caches per instance). */
function freshReader(accountId: string, region: string, make: () => AccountReader): AccountReader {
  return {
    accountId,
    region,
    getPrincipal: (arn) => make().getPrincipal(arn),
    getKey: (ref) => make().getKey(ref),
    getStream: (arn) => make().getStream(arn),
    getOrganization: () => make().getOrganization(),
  };
}

/**
 * Cold start: the configuration read and checked once, the clients built once. Returns the inner
 * handler for the account the function runs in (known from the first invocation's context).
 */
function coldStart(
  env: NodeJS.ProcessEnv,
): (accountId: string) => (event: RemediateEvent) => Promise<RemediateResult> {
  const config = parseConfig(env);
  const region = env.AWS_REGION ?? '';
  const options = clientConfig({ region });
  const iam = new IAMClient(options);
  const kms = new KMSClient(options);
  const kinesis = new KinesisClient(options);
  const store = new DynamoProposalStore(new DynamoDBClient(options), config.tableName);
  const writer = new AwsAccountWriter({ kms, iam });
  const publisher = new SnsPublisher(new SNSClient(options), {
    email: config.emailTopicArn,
    chat: config.chatTopicArn,
  });
  const secret = new SecretsManagerSecret(new SecretsManagerClient(options), config.secretId);
  const handlers = new Map<string, (event: RemediateEvent) => Promise<RemediateResult>>();
  return (accountId) => {
    let inner = handlers.get(accountId);
    if (!inner) {
      const reader = freshReader(
        accountId,
        region,
        () => new AwsAccountReader({ accountId, region, iam, kms, kinesis }),
      );
      const ports: FlowContext = { store, reader, writer, publisher, secret, now: () => new Date() };
      inner = makeHandler({ config, logger, ports: () => ports });
      handlers.set(accountId, inner);
    }
    return inner;
  };
}

type Wiring = { ok: true; handlerFor: ReturnType<typeof coldStart> } | { ok: false; error: unknown };
let wiring: Wiring | undefined;

/**
 * The cold start, run once per execution environment, at its first invocation (so importing this
 * module, as tests and `keymend local` do, reads no environment). A configuration error is logged
 * once and then fails every invocation with the variable's name.
 */
function wired(): Wiring {
  if (wiring === undefined) {
    try {
      wiring = { ok: true, handlerFor: coldStart(process.env) };
    } catch (error) {
      logger.error('configuration error: the function cannot start', { error });
      wiring = { ok: false, error };
    }
  }
  return wiring;
}

/** The Lambda handler. */
export const handler = middy<RemediateEvent, RemediateResult, Error, Context>()
  .use(injectLambdaContext(logger))
  .handler(async (event, context) => {
    const wiring = wired();
    if (!wiring.ok) throw wiring.error;
    // arn:aws:lambda:REGION:ACCOUNT:function:NAME: the account keymend runs in and may change.
    const accountId = context.invokedFunctionArn.split(':')[4] ?? '';
    return wiring.handlerFor(accountId)(event);
  });
