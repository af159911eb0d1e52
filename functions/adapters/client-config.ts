/**
 * The one configuration every AWS SDK client of keymend's uses: the SDK's own retry (adaptive mode,
 * which backs off on throttling as IAM's unraisable limits need) and timeouts, so an endpoint that
 * accepts a connection and never answers fails the call instead of hanging the invocation.
 */
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface ClientConfigOptions {
  region?: string;
  /** Attempts per call, the first included (default 5). */
  maxAttempts?: number;
  /** Milliseconds to establish a connection (default 3,000). */
  connectionTimeoutMs?: number;
  /** Milliseconds to wait for a response once connected (default 10,000). */
  requestTimeoutMs?: number;
}

/** The client configuration: pass it to every `new XxxClient(...)`. */
export function clientConfig(options: ClientConfigOptions = {}) {
  return {
    ...(options.region ? { region: options.region } : {}),
    retryMode: 'adaptive' as const,
    maxAttempts: options.maxAttempts ?? 5,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
      requestTimeout: options.requestTimeoutMs ?? 10_000,
      // Without it, @smithy/node-http-handler 4 only logs a warning when requestTimeout passes, and a
      // call to an endpoint that never answers waits forever.
      throwOnRequestTimeout: true,
    }),
  };
}
