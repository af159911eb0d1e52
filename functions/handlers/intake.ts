/**
 * Lambda entry point for the EventBridge rule on "AWS API Call via CloudTrail" KMS events.
 * Wiring only: the decision is `intake` (pure); this file logs it. No AWS SDK calls yet.
 */
import middy from '@middy/core';
import { type IntakeResult, intake } from '../core/intake';
import { createLogger, type Logger } from '../core/log';

/** The EventBridge envelope as far as keymend relies on it; every field may be absent or wrong. */
export interface CloudTrailEventBridgeEvent {
  version?: string;
  id?: string;
  'detail-type'?: string;
  source?: string;
  account?: string;
  time?: string;
  region?: string;
  resources?: unknown[];
  detail?: unknown;
}

export interface IntakeHandlerDeps {
  logger: Logger;
}

/** The log fields for one decision: enough to find the event and see why, nothing more. */
function decisionFields(event: unknown, result: IntakeResult): Record<string, unknown> {
  // The envelope id ties the line to the EventBridge delivery even when the record is unreadable.
  let eventBridgeId: unknown;
  try {
    const id = (event as { id?: unknown } | null)?.id;
    eventBridgeId = typeof id === 'string' ? id : undefined;
  } catch {
    eventBridgeId = undefined;
  }
  if (!result.match) {
    return { decision: 'ignore', eventBridgeId, reason: result.reason, detail: result.detail };
  }
  const r = result.request;
  return {
    decision: 'match',
    eventBridgeId,
    eventId: r.eventId,
    operation: r.operation,
    principalArn: r.principalArn,
    principalType: r.principalType,
    keyArn: r.keyArn,
    keyReference: r.keyReference,
    streamArn: r.streamArn,
    viaKinesis: r.viaKinesis,
    deniedBy: r.deniedBy,
  };
}

/**
 * Builds the inner handler with its dependencies, so tests call it without middy.
 * It logs exactly one line per event and returns the intake decision; it never throws.
 */
export function makeHandler(deps: IntakeHandlerDeps): (event: unknown) => Promise<IntakeResult> {
  return async (event) => {
    const result = intake(event);
    try {
      deps.logger.info('intake decision', decisionFields(event, result));
    } catch {
      // A failing log sink (a closed stdout) must not turn a decision into a Lambda error, which
      // EventBridge would retry for the same event; there is nowhere left to report it.
    }
    return result;
  };
}

const logger = createLogger((line) => {
  process.stdout.write(`${line}\n`);
});

/** The inner handler with the real logger (stdout, which Lambda sends to CloudWatch Logs). */
export const lambdaHandler = makeHandler({ logger });

/** The Lambda handler: `lambdaHandler` wrapped by middy (later issues add middleware). */
export const handler = middy<CloudTrailEventBridgeEvent, IntakeResult>().handler(lambdaHandler);
