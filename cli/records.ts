/**
 * What the commands read events from, whatever shape the input has: a CloudTrail log file as delivered
 * to S3 (`{"Records": [...]}`, one record at a time), the output of CloudTrail's LookupEvents
 * (`aws cloudtrail lookup-events`: `{"Events": [{"CloudTrailEvent": "<the record as JSON text>"}]}`,
 * each record unwrapped), an EventBridge event or one bare record. Kept here, above the log reader,
 * so that reading bytes (adapters/cloudtrail-log.ts) and knowing AWS's output shapes stay apart.
 */
import {
  LogFileError,
  type LogInput,
  type LogItem,
  type LogLimits,
  readCloudTrailLog,
  type ScanItem,
  scanCloudTrailLog,
} from '../functions/adapters/cloudtrail-log';
import { InputError } from '../functions/commons/errors';
import { printableLine } from '../functions/commons/text';

/**
 * The items of `input`: a log file's records and a LookupEvents output's records as `record`s, any
 * other document as one `event`.
 * @throws LogFileError naming the input, when it cannot be read or a CloudTrailEvent is not JSON.
 */
export async function* inputItems(input: LogInput, limits: LogLimits): AsyncGenerator<LogItem> {
  for await (const item of readCloudTrailLog(input, limits)) {
    const events = item.kind === 'event' ? lookupEventsRecords(item.event, input.name) : null;
    if (events === null) yield item;
    else for (const record of events) yield { kind: 'record', record };
  }
}

/**
 * The same for `scan`, over the log reader's byte prefilter (adapters/cloudtrail-log.ts
 * `scanCloudTrailLog`): records that cannot be a denied KMS call come as counts (`skipped`), unparsed.
 */
export async function* scanInputItems(input: LogInput, limits: LogLimits): AsyncGenerator<ScanItem> {
  for await (const item of scanCloudTrailLog(input, limits)) {
    const events = item.kind === 'event' ? lookupEventsRecords(item.event, input.name) : null;
    if (events === null) yield item;
    else for (const record of events) yield { kind: 'record', record };
  }
}

/**
 * The records of a LookupEvents output (`{"Events": [{"CloudTrailEvent": "..."}, ...]}`, as the API and
 * `aws cloudtrail lookup-events` return it), or null when `doc` is not one.
 * @throws LogFileError when an element's CloudTrailEvent is not a JSON object.
 */
export function lookupEventsRecords(doc: unknown, name: string): unknown[] | null {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return null;
  const events = (doc as { Events?: unknown }).Events;
  if (!Array.isArray(events) || Object.hasOwn(doc, 'eventSource') || Object.hasOwn(doc, 'detail'))
    return null;
  const isLookupEvent = (e: unknown) =>
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { CloudTrailEvent?: unknown }).CloudTrailEvent === 'string';
  if (events.length > 0 && !events.every(isLookupEvent)) return null;
  return events.map((event, i) => {
    const text = (event as { CloudTrailEvent: string }).CloudTrailEvent;
    try {
      const record: unknown = JSON.parse(text);
      if (typeof record === 'object' && record !== null && !Array.isArray(record)) return record;
    } catch {
      // reported below
    }
    throw new LogFileError(
      name,
      `${printableLine(name, 300)}: Events[${i}].CloudTrailEvent is not a JSON object`,
    );
  });
}

/** In a few words, what a document that holds no CloudTrail record is, for "found ..." messages. */
export function describeDocument(doc: unknown): string {
  if (doc === null) return 'null';
  if (Array.isArray(doc)) return `a JSON array of ${doc.length} ${doc.length === 1 ? 'element' : 'elements'}`;
  if (typeof doc !== 'object') return `a JSON ${typeof doc}`;
  const o = doc as Record<string, unknown>;
  if (typeof o['detail-type'] === 'string') {
    return `an EventBridge event of detail-type ${JSON.stringify(printableLine(o['detail-type'], 80))}`;
  }
  const keys = Object.keys(o);
  if (keys.length === 0) return 'an empty JSON object';
  const shown = keys.slice(0, 5).map((k) => printableLine(k, 40));
  return `a JSON object with ${shown.join(', ')}${keys.length > 5 ? `, ... (${keys.length} keys)` : ''}`;
}

/**
 * Counts what an input held, so that an input with no CloudTrail record in it is an error naming what
 * was found, never an empty result that reads as "no problem".
 */
export class CloudTrailTally {
  documents = 0;
  cloudTrail = 0;
  private firstOther: unknown;

  /** Notes one document; `isCloudTrail` is false for what the intake calls `not-cloudtrail`. */
  note(doc: unknown, isCloudTrail: boolean): void {
    if (this.documents === 0 && !isCloudTrail) this.firstOther = doc;
    this.documents++;
    if (isCloudTrail) this.cloudTrail++;
  }

  /** @throws InputError when `where` held no document, or no CloudTrail record. */
  check(where: string): void {
    if (this.documents === 0) throw new InputError(`${where} holds no CloudTrail record (no records at all)`);
    if (this.cloudTrail === 0) {
      const found =
        this.documents === 1
          ? describeDocument(this.firstOther)
          : `${this.documents} documents, the first ${describeDocument(this.firstOther)}`;
      throw new InputError(`${where} holds no CloudTrail record: found ${found}`);
    }
  }
}
