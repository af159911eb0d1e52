/** `keymend local`'s HTTP endpoints as the tests call them. */
import type { LocalRuntime } from '../../cli/local/runtime';
import type { RemediateResult } from '../../functions/flows/remediate';

/** POSTs `events` to the runtime's /_local/events, expects 200, and returns remediate's result for each. */
export async function postEvents(
  runtime: Pick<LocalRuntime, 'url'>,
  events: unknown[],
): Promise<RemediateResult[]> {
  const response = await fetch(`${runtime.url}/_local/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(events),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as RemediateResult[];
}
