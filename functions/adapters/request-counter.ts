/**
 * Counts the requests an AWS SDK client sends, by operation, for `keymend local`'s `/_local/stats`
 * and for tests of a request budget (a repeat denial costs two DynamoDB requests).
 */
import type { MiddlewareStack } from '@aws-sdk/types';

/** Middleware names must be unique within a stack. */
let counters = 0;

export interface RequestCounter {
  /** Requests sent so far: each command once, however often the SDK retried it. */
  total(): number;
  /** Requests by operation (`PutItem`, `UpdateItem`, ...). */
  byOperation(): Record<string, number>;
}

/**
 * Adds a counting middleware to `client` (once per client: a second call adds a second counter). It sits
 * at the `initialize` step, before the SDK's retries, so one call is one request however it was retried.
 */
export function countRequests<I extends object, O extends object>(client: {
  middlewareStack: MiddlewareStack<I, O>;
}): RequestCounter {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => (args) => {
      const operation = String(context.commandName ?? 'unknown').replace(/Command$/, '');
      counts.set(operation, (counts.get(operation) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: `keymendCountRequests${++counters}` },
  );
  return {
    total: () => [...counts.values()].reduce((sum, n) => sum + n, 0),
    byOperation: () => Object.fromEntries(counts),
  };
}
