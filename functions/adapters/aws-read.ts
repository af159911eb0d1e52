/**
 * What every AWS read in the adapters shares (retries are the SDK's own, client-config.ts): "not found" as null, other failures as one
 * error type that names the call, pagination, bounded parallelism, and IAM's URL-encoded documents.
 */
import { AccountUnreachableError, KeymendError } from '../commons/errors';

/** A read from AWS failed (access denied, a malformed answer, the SDK's retries exhausted). */
export class AwsReadError extends KeymendError {
  override readonly name: string = 'AwsReadError';
}

/**
 * Runs one AWS call. `what` names the call and its target for the error message,
 * e.g. `iam:GetRole orders-consumer`. Errors whose name is in `notFound` yield null.
 */
export async function awsRead<T>(
  what: string,
  call: () => Promise<T>,
  options: { notFound?: readonly string[] } = {},
): Promise<T | null> {
  try {
    return await call();
  } catch (error) {
    if (options.notFound?.includes((error as Error)?.name)) return null;
    throw wrap(what, error);
  }
}

/** Like awsRead, for calls where "not found" is itself a failure (the thing was listed a moment ago). */
export async function awsReadRequired<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw wrap(what, error);
  }
}

function wrap(what: string, error: unknown): AwsReadError | AccountUnreachableError {
  // An account keymend cannot reach at all is a finding the diagnosis reports, not a read that failed.
  if (error instanceof AwsReadError || error instanceof AccountUnreachableError) return error;
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return new AwsReadError(`cannot read ${what}: ${name}: ${message}`, { cause: error });
}

/**
 * Follows a marker-paginated listing to its end. `page(marker)` returns the page's items and the
 * marker of the next page, undefined on the last one.
 */
export async function collectPages<T>(
  page: (marker: string | undefined) => Promise<{ items: T[]; next: string | undefined }>,
): Promise<T[]> {
  const items: T[] = [];
  let marker: string | undefined;
  const seen = new Set<string>();
  do {
    const result = await page(marker);
    items.push(...result.items);
    marker = result.next;
    // A service that hands back a marker it already gave would otherwise loop forever.
    if (marker !== undefined) {
      if (seen.has(marker)) throw new AwsReadError(`pagination repeated marker ${marker}`);
      seen.add(marker);
    }
  } while (marker !== undefined);
  return items;
}

/**
 * Maps with at most `limit` calls in flight: parallel enough to be quick, gentle enough not to
 * provoke throttling on IAM, whose limits are unpublished. Results keep the input order.
 */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Decodes a policy document as IAM returns it: URL-encoded (RFC 3986, so `+` is a literal plus
 * and spaces are `%20`) JSON. A document that already starts with `{` is taken as decoded, so a
 * proxy or test that hands back plain JSON is not decoded twice (a `%` in it would break).
 */
export function decodePolicyDocument(text: string, what: string): unknown {
  const trimmed = text.trimStart();
  let json = trimmed;
  if (!trimmed.startsWith('{')) {
    try {
      json = decodeURIComponent(trimmed);
    } catch (error) {
      throw new AwsReadError(`${what}: the policy document is not valid URL encoding`, { cause: error });
    }
  }
  try {
    return JSON.parse(json);
  } catch (error) {
    throw new AwsReadError(`${what}: the policy document is not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
