/**
 * Lambda entry point for the EventBridge rule on "AWS API Call via CloudTrail" KMS events.
 * Wiring only: the decision is `intake` (pure); this file logs it with Powertools Logger. No AWS SDK
 * calls yet.
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { EventBridgeEvent } from 'aws-lambda';
import { printableAscii } from '../commons/text';
import { type IntakeResult, intake } from '../core/intake';
import { type Logger, sanitizeFields } from '../core/log';

/**
 * The EventBridge envelope of a CloudTrail API-call event. Only the type says so: every field may be
 * absent or wrong, and the intake reads `detail` as untrusted input.
 */
export type CloudTrailEventBridgeEvent = EventBridgeEvent<'AWS API Call via CloudTrail', unknown>;

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

/**
 * Powertools Logger (level from POWERTOOLS_LOG_LEVEL, request id and cold start from the context),
 * with keymend's own care for event-derived text: fields are capped and bounded (core/log.ts) before
 * they reach it, and every string it writes is printable ASCII, so hostile text can neither break a
 * line nor hide in invisible characters.
 */
const powertools = new PowertoolsLogger({
  serviceName: 'keymend-intake',
  jsonReplacerFn: (_key, value) => (typeof value === 'string' ? printableAscii(value) : value),
});

/** keymend's Logger over Powertools: the fields sanitised first. */
const logger: Logger = {
  debug: (message, fields) => powertools.debug(message, sanitizeFields(fields)),
  info: (message, fields) => powertools.info(message, sanitizeFields(fields)),
  warn: (message, fields) => powertools.warn(message, sanitizeFields(fields)),
  error: (message, fields) => powertools.error(message, sanitizeFields(fields)),
};

/** The inner handler with the real logger (stdout, which Lambda sends to CloudWatch Logs). */
export const lambdaHandler = makeHandler({ logger });

/** The Lambda handler: `lambdaHandler` wrapped by middy, with the Lambda context in every log line. */
export const handler = middy<CloudTrailEventBridgeEvent, IntakeResult>()
  .use(injectLambdaContext(powertools))
  .handler(lambdaHandler);
