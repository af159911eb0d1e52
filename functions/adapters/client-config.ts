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

/** How long before Lambda ends an invocation its AWS calls are cut off, to log and answer in time. */
export const DEADLINE_MARGIN_MS = 3_000;

/**
 * The deadline of the invocation under way, shared by the clients `withDeadline` wraps: each call is
 * sent with an AbortSignal that fires `marginMs` before the invocation's remaining time runs out, so
 * the SDK's retries (five attempts, each with its own timeouts) never outlast the function. Lambda runs
 * one invocation at a time in an execution environment: `begin` at the start of each one.
 */
export class InvocationDeadline {
  private signal: AbortSignal | undefined;

  constructor(private readonly marginMs = DEADLINE_MARGIN_MS) {}

  /** Starts the deadline of a new invocation with `remainingMs` left (Lambda's getRemainingTimeInMillis()). */
  begin(remainingMs: number): void {
    this.signal = AbortSignal.timeout(Math.max(1, Math.floor(remainingMs - this.marginMs)));
  }

  /** The signal every call of the invocation carries; undefined before the first `begin`. */
  current(): AbortSignal | undefined {
    return this.signal;
  }
}

/** Anything with the SDK clients' `send(command, options)`. */
interface Sender {
  // biome-ignore lint/suspicious/noExplicitAny: the SDK's send is overloaded per command type
  send(command: any, options?: any): Promise<any>;
}

/**
 * The client, with every call sent under the invocation's deadline (an `abortSignal` the caller gives
 * wins). Returns the same client object.
 */
export function withDeadline<C extends Sender>(client: C, deadline: InvocationDeadline): C {
  const send = client.send.bind(client);
  client.send = ((command: unknown, options?: Record<string, unknown>) => {
    const abortSignal = deadline.current();
    return send(command, abortSignal === undefined ? options : { abortSignal, ...options });
  }) as C['send'];
  return client;
}
