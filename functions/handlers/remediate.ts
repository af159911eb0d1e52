/**
 * The remediate function: the EventBridge rule on denied KMS calls invokes it with one event.
 * Wiring only (the flow is functions/flows/remediate.ts): configuration read from the environment once
 * per execution environment (a bad variable fails every invocation with its name); SDK clients built
 * once; middy with Powertools Logger's `injectLambdaContext`; event-derived text escaped in every log line
 * (handlers/logger.ts).
 *
 * `makeHandler(deps)` builds the inner handler from its backends, so tests and `keymend local` run the
 * same code with dynalite, the snapshot account and an outbox in place of AWS.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import type { FlowContext, FlowLog } from '../flows/context';
import { newWarmRepeats, type RemediateConfig, type RemediateResult, remediate } from '../flows/remediate';
import { functionLogger } from './logger';
import { accountIdOf, awsWiring, perAccount, startOnce } from './wiring';

export type RemediateEvent = EventBridgeEvent<'AWS API Call via CloudTrail', unknown>;

export interface RemediateHandlerDeps {
  config: RemediateConfig;
  /**
   * The flow's ports. The reader must not cache across events (handlers/wiring.ts builds an AWS reader
   * per read), so the re-read after an apply sees the write. Only what cannot change is kept: the
   * documents of managed policy versions (iam.ts PolicyVersionCache).
   */
  ports: Omit<FlowContext, 'log'>;
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
      const result = await remediate({ ...deps.ports, log: deps.logger }, deps.config, event);
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

const { powertools, logger } = functionLogger('keymend-remediate');

/**
 * Cold start (handlers/wiring.ts), once per execution environment, at its first invocation. Gives the
 * inner handler for the account the function runs in (known from the invocation's context). A
 * configuration error is logged once and then fails every invocation with the variable's name.
 */
const wired = startOnce(logger, () => {
  const { config, portsFor, deadline } = awsWiring(process.env, {}, logger);
  // One warm memory per account and execution environment: it lives as long as the environment.
  const forAccount = perAccount((accountId) =>
    makeHandler({ config, logger, ports: { ...portsFor(accountId), warm: newWarmRepeats() } }),
  );
  return { deadline, forAccount };
});

/** The Lambda handler. */
export const handler = middy<RemediateEvent, RemediateResult, Error, Context>()
  .use(injectLambdaContext(powertools))
  .handler(async (event, context) => {
    const wiring = wired();
    if (!wiring.ok) throw wiring.error;
    // Every AWS call of this invocation stops before Lambda would kill it.
    wiring.value.deadline.begin(context.getRemainingTimeInMillis());
    return wiring.value.forAccount(accountIdOf(context))(event);
  });
