import { isRetryable, isThrottling, withRetry } from '../../functions/adapters/retry';

const named = (name: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(name), { name, ...extra });

/** A call that fails with `errors` in turn, then returns 'ok'; counts its calls. */
function flaky(errors: unknown[]) {
  let calls = 0;
  const fn = async () => {
    const error = errors[calls++];
    if (error !== undefined) throw error;
    return 'ok';
  };
  return { fn, calls: () => calls };
}

describe('isThrottling / isRetryable', () => {
  it.each<[string, unknown, boolean, boolean]>([
    ['IAM Throttling', named('Throttling'), true, true],
    ['KMS ThrottlingException', named('ThrottlingException'), true, true],
    ['SDK-marked throttling', named('Whatever', { $retryable: { throttling: true } }), true, true],
    ['HTTP 429', named('Whatever', { $metadata: { httpStatusCode: 429 } }), true, true],
    ['HTTP 503', named('ServiceUnavailableException', { $metadata: { httpStatusCode: 503 } }), false, true],
    ['SDK-marked transient', named('Whatever', { $retryable: {} }), false, true],
    ['timeout', named('TimeoutError'), false, true],
    ['connection reset', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), false, true],
    ['KMS internal', named('KMSInternalException'), false, true],
    ['access denied', named('AccessDeniedException', { $metadata: { httpStatusCode: 400 } }), false, false],
    ['not found', named('NoSuchEntityException', { $metadata: { httpStatusCode: 404 } }), false, false],
    // Kinesis's rate error: retried only where the caller says so (elsewhere it is a quota).
    ['LimitExceededException', named('LimitExceededException'), false, false],
    ['a string', 'boom', false, false],
    ['null', null, false, false],
  ])('%s: throttling %s, retryable %s', (_name, error, throttling, retryable) => {
    expect(isThrottling(error)).toBe(throttling);
    expect(isRetryable(error)).toBe(retryable);
  });
});

describe('withRetry', () => {
  it('retries throttling with exponential, jittered, capped delays, then succeeds', async () => {
    const delays: number[] = [];
    const { fn, calls } = flaky(Array.from({ length: 5 }, () => named('Throttling')));
    const result = await withRetry(fn, {
      maxAttempts: 6,
      baseDelayMs: 100,
      maxDelayMs: 1000,
      random: () => 0.5,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    expect(result).toBe('ok');
    expect(calls()).toBe(6);
    // Ceilings 100, 200, 400, 800, then capped at 1000; half of each with random() = 0.5.
    expect(delays).toEqual([50, 100, 200, 400, 500]);
  });

  it.each<[string, number]>([
    ['low', 0],
    ['high', 0.999],
  ])('draws each delay under the ceiling (random %s)', async (_name, r) => {
    const delays: number[] = [];
    const { fn } = flaky([named('Throttling'), named('Throttling')]);
    await withRetry(fn, { baseDelayMs: 100, random: () => r, sleep: async (ms) => void delays.push(ms) });
    delays.forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(100 * 2 ** i);
    });
    expect(delays).toHaveLength(2);
  });

  it('gives up after maxAttempts and throws the last error', async () => {
    const last = named('Throttling', { message: 'third' });
    const { fn, calls } = flaky([named('Throttling'), named('Throttling'), last, named('Throttling')]);
    await expect(withRetry(fn, { maxAttempts: 3, sleep: async () => {} })).rejects.toBe(last);
    expect(calls()).toBe(3);
  });

  it('does not retry an error that is not retryable', async () => {
    const denied = named('AccessDeniedException');
    const { fn, calls } = flaky([denied]);
    const sleep = jest.fn(async () => {});
    await expect(withRetry(fn, { sleep })).rejects.toBe(denied);
    expect(calls()).toBe(1);
    expect(sleep).not.toHaveBeenCalled();
  });

  it('uses the caller’s isRetryable', async () => {
    const { fn, calls } = flaky([named('LimitExceededException')]);
    const result = await withRetry(fn, {
      sleep: async () => {},
      isRetryable: (e) => (e as Error).name === 'LimitExceededException',
    });
    expect([result, calls()]).toEqual(['ok', 2]);
  });

  it('waits for real by default', async () => {
    const { fn } = flaky([named('Throttling')]);
    const started = Date.now();
    await withRetry(fn, { baseDelayMs: 20, random: () => 0.99 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
  });
});
