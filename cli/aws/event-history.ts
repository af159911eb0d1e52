/**
 * CloudTrail Event history (the last 90 days of an account's management events in one Region), read
 * through LookupEvents for the KMS denials in a time range: `keymend scan --aws --since 6h`, the way
 * the AWS Support runbook AWSSupport-TroubleshootIAMAccessDeniedEvents reads it.
 *
 * LookupEvents filters on one attribute, so the request asks for `EventSource=kms.amazonaws.com` and
 * the denials are kept here, client-side. It answers at most 50 events a page and 2 requests a second
 * per account and Region: pages are requested no faster than that, and a ThrottlingException waits and
 * tries again (with the SDK's retry bypassed, as in tests, this is the only retry).
 */
import {
  type CloudTrailClient,
  LookupEventsCommand,
  type LookupEventsCommandOutput,
} from '@aws-sdk/client-cloudtrail';
import { AwsReadError } from '../../functions/adapters/aws-read';
import { KeymendError } from '../../functions/commons/errors';

/** LookupEvents' documented rate: 2 requests per second per account per Region. */
export const LOOKUP_EVENTS_INTERVAL_MS = 500;
/** Event history keeps 90 days. */
export const EVENT_HISTORY_DAYS = 90;
const MAX_THROTTLED_ATTEMPTS = 8;

export interface EventHistoryProgress {
  pages: number;
  /** KMS events read so far. */
  events: number;
  /** Of them, denials (errorCode AccessDenied or AccessDeniedException). */
  denials: number;
  /** The eventTime of the oldest event read so far (pages come newest first). */
  reachedBack?: Date;
}

export interface EventHistoryOptions {
  client: Pick<CloudTrailClient, 'send'>;
  start: Date;
  end: Date;
  /** Called after each page. */
  onPage?(progress: EventHistoryProgress): void;
  /** Waits `ms` (tests pass one that records and returns at once). */
  sleep?(ms: number): Promise<void>;
  /** Milliseconds now (for the rate limit). */
  now?(): number;
}

const DENIALS = new Set(['AccessDenied', 'AccessDeniedException']);

/**
 * The KMS denials recorded between `start` and `end`, as CloudTrail records (each CloudTrailEvent
 * parsed), newest first, page by page: memory holds one page.
 * @throws AwsReadError when LookupEvents fails (credentials, permissions) or keeps throttling.
 */
export async function* kmsDenialsFromEventHistory(o: EventHistoryOptions): AsyncGenerator<unknown> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = o.now ?? Date.now;
  const progress: EventHistoryProgress = { pages: 0, events: 0, denials: 0 };
  let token: string | undefined;
  let last = Number.NEGATIVE_INFINITY;
  const seen = new Set<string>();
  do {
    const page = await lookupPage(
      o,
      token,
      async () => {
        const wait = last + LOOKUP_EVENTS_INTERVAL_MS - now();
        if (wait > 0) await sleep(wait);
        last = now();
      },
      sleep,
    );
    progress.pages++;
    for (const event of page.Events ?? []) {
      progress.events++;
      const time = event.EventTime instanceof Date ? event.EventTime : undefined;
      if (time && (!progress.reachedBack || time < progress.reachedBack)) progress.reachedBack = time;
      const record = parseRecord(event.CloudTrailEvent);
      if (record === null || !DENIALS.has(String((record as { errorCode?: unknown }).errorCode))) continue;
      progress.denials++;
      yield record;
    }
    o.onPage?.({ ...progress });
    token = page.NextToken;
    // A service that hands back a token it already gave would otherwise loop forever.
    if (token !== undefined) {
      if (seen.has(token))
        throw new AwsReadError('cloudtrail:LookupEvents returned the same NextToken twice');
      seen.add(token);
    }
  } while (token !== undefined);
}

async function lookupPage(
  o: EventHistoryOptions,
  token: string | undefined,
  pace: () => Promise<void>,
  sleep: (ms: number) => Promise<void>,
): Promise<LookupEventsCommandOutput> {
  const input = {
    LookupAttributes: [{ AttributeKey: 'EventSource' as const, AttributeValue: 'kms.amazonaws.com' }],
    StartTime: o.start,
    EndTime: o.end,
    MaxResults: 50,
    ...(token !== undefined ? { NextToken: token } : {}),
  };
  for (let attempt = 1; ; attempt++) {
    await pace();
    try {
      return await o.client.send(new LookupEventsCommand(input));
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (name === 'ThrottlingException' && attempt < MAX_THROTTLED_ATTEMPTS) {
        // Exponential backoff with jitter, from one interval up to 16.
        const base = LOOKUP_EVENTS_INTERVAL_MS * 2 ** Math.min(attempt - 1, 4);
        await sleep(base / 2 + Math.random() * (base / 2));
        continue;
      }
      if (error instanceof KeymendError) throw error;
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new AwsReadError(`cannot read cloudtrail:LookupEvents: ${message}`, { cause: error });
    }
  }
}

/** A LookupEvents element's CloudTrailEvent as a record; null (skipped) when it is not a JSON object. */
function parseRecord(text: string | undefined): unknown | null {
  if (text === undefined) return null;
  try {
    const record: unknown = JSON.parse(text);
    return typeof record === 'object' && record !== null && !Array.isArray(record) ? record : null;
  } catch {
    return null;
  }
}
