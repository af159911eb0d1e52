/**
 * Retries with exponential backoff and full jitter, for AWS reads that bursts can throttle.
 * IAM publishes no rate limits and KMS control-plane limits are low, and keymend reads many
 * policies at once, so throttling is expected rather than exceptional.
 */

export interface RetryOptions {
  /** Attempts in all, the first included. @default 6 */
  maxAttempts?: number;
  /** The first backoff ceiling; it doubles per attempt. @default 100 */
  baseDelayMs?: number;
  /** The largest backoff ceiling. @default 5000 */
  maxDelayMs?: number;
  /** Waits; tests pass one that records the delays instead. @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1) that picks the delay under the ceiling. @default Math.random */
  random?: () => number;
  /** Which errors to retry. @default isRetryable */
  isRetryable?: (error: unknown) => boolean;
}

/** Error names AWS services use for rate limiting. */
const THROTTLING_NAMES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
]);

/** Errors that say nothing about the request itself: try again. */
const TRANSIENT_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalFailure',
  'ServiceUnavailable',
  'KMSInternalException',
  'DependencyTimeoutException',
]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN']);

interface AwsLikeError {
  name?: unknown;
  code?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** True for throttling: the service asked the caller to slow down. */
export function isThrottling(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as AwsLikeError;
  if (typeof e.name === 'string' && THROTTLING_NAMES.has(e.name)) return true;
  if ((e.$retryable as { throttling?: unknown } | undefined)?.throttling === true) return true;
  return e.$metadata?.httpStatusCode === 429;
}

/** True for throttling and for transient failures (5xx, timeouts, dropped connections). */
export function isRetryable(error: unknown): boolean {
  if (isThrottling(error)) return true;
  if (typeof error !== 'object' || error === null) return false;
  const e = error as AwsLikeError;
  if (e.$retryable) return true;
  if (typeof e.name === 'string' && TRANSIENT_NAMES.has(e.name)) return true;
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
  const status = e.$metadata?.httpStatusCode;
  return typeof status === 'number' && status >= 500;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls `fn` until it succeeds, fails with an error that is not retryable, or has been tried
 * `maxAttempts` times; then throws the last error. Before attempt n+1 it waits a random time
 * under min(maxDelayMs, baseDelayMs * 2^(n-1)) ("full jitter"), so parallel readers that were
 * throttled together do not retry together.
 */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 6;
  const baseDelayMs = options.baseDelayMs ?? 100;
  const maxDelayMs = options.maxDelayMs ?? 5000;
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  const retryable = options.isRetryable ?? isRetryable;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= maxAttempts || !retryable(error)) throw error;
      const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
      await sleep(Math.floor(random() * ceiling));
    }
  }
}
