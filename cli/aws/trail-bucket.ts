/**
 * A trail's log files read straight from its S3 bucket (`keymend scan s3://BUCKET/PREFIX`), with no
 * `aws s3 sync` first: the listing is paged, each object is read as a stream (the same byte-level
 * reader as a local file), and a time range narrows the date-partitioned keys CloudTrail writes,
 * `[PREFIX/]AWSLogs/[O-ID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_X.json.gz`,
 * so a day is listed, not the whole trail.
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { AwsReadError, awsReadRequired } from '../../functions/adapters/aws-read';
import type { LogInput } from '../../functions/adapters/cloudtrail-log';

/** `s3://BUCKET/PREFIX` split; null when `url` is not one. */
export function parseS3Url(url: string): { bucket: string; prefix: string } | null {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) return null;
  return { bucket: m[1] as string, prefix: m[2] ?? '' };
}

/** One log file in the bucket. */
export interface TrailObject {
  key: string;
  bytes: number;
}

export interface TrailListing {
  client: Pick<S3Client, 'send'>;
  bucket: string;
  prefix: string;
  /** Only the files delivered from `since` (their key's timestamp) on. */
  since?: Date;
  /** Only the files delivered up to `until` (plus the delivery delay). */
  until?: Date;
}

/** CloudTrail delivers a file within about 15 minutes of its events; a range is widened by this much. */
export const DELIVERY_SLACK_MS = 20 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A key CloudTrail writes for a log file (not a digest, Insights or a folder marker). */
export function isLogFileKey(key: string): boolean {
  if (!/\.json(\.gz)?$/i.test(key)) return false;
  return !/\/CloudTrail-(Digest|Insight)\//.test(key);
}

/** The delivery timestamp in a log file's name (`_20261130T1205Z_`), else null. */
export function keyTime(key: string): Date | null {
  const m = /_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z_/.exec(key);
  if (!m) return null;
  const [, y, mo, d, h, mi] = m;
  return new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi)));
}

/**
 * The prefixes to list: one per day of the range when `prefix` ends at a Region's folder
 * (`.../CloudTrail/REGION/`), else `prefix` itself (every key under it is listed and filtered by name).
 */
export function listingPrefixes(prefix: string, since?: Date, until?: Date): string[] {
  const regionFolder = /(^|\/)CloudTrail\/[a-z0-9-]+\/?$/.test(prefix);
  if (!regionFolder || since === undefined) return [prefix];
  const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
  const end = (until ?? new Date()).getTime() + DELIVERY_SLACK_MS;
  const days: string[] = [];
  for (
    let t = Date.UTC(since.getUTCFullYear(), since.getUTCMonth(), since.getUTCDate());
    t <= end;
    t += DAY_MS
  ) {
    const d = new Date(t);
    const mm = String(d.getUTCMonth() + 1).padStart(2, '0');
    const dd = String(d.getUTCDate()).padStart(2, '0');
    days.push(`${base}${d.getUTCFullYear()}/${mm}/${dd}/`);
  }
  return days;
}

/**
 * The log files under the listing's prefix, in the range, page by page (a page of 1,000 keys in
 * memory at most).
 * @throws AwsReadError when the bucket cannot be listed.
 */
export async function* trailObjects(o: TrailListing): AsyncGenerator<TrailObject> {
  const from = o.since?.getTime();
  const to = o.until === undefined ? undefined : o.until.getTime() + DELIVERY_SLACK_MS;
  for (const prefix of listingPrefixes(o.prefix, o.since, o.until)) {
    let token: string | undefined;
    do {
      const page = await awsReadRequired(`s3:ListObjectsV2 s3://${o.bucket}/${prefix}`, () =>
        o.client.send(
          new ListObjectsV2Command({
            Bucket: o.bucket,
            Prefix: prefix,
            ...(token !== undefined ? { ContinuationToken: token } : {}),
          }),
        ),
      );
      for (const object of page.Contents ?? []) {
        const key = object.Key;
        if (key === undefined || !isLogFileKey(key)) continue;
        const time = keyTime(key)?.getTime();
        if (time !== undefined && from !== undefined && time < from) continue;
        if (time !== undefined && to !== undefined && time > to) continue;
        yield { key, bytes: object.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }
}

/**
 * One object as a byte stream for the log reader. `regular` is true: its size is known from the
 * listing, and the reader's limits apply as bytes arrive.
 * @throws AwsReadError when the object cannot be read.
 */
export async function openTrailObject(
  client: Pick<S3Client, 'send'>,
  bucket: string,
  object: TrailObject,
): Promise<LogInput> {
  const name = `s3://${bucket}/${object.key}`;
  const answer = await awsReadRequired(`s3:GetObject ${name}`, () =>
    client.send(new GetObjectCommand({ Bucket: bucket, Key: object.key })),
  );
  const body = answer.Body as AsyncIterable<Uint8Array> | undefined;
  if (!body || typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] !== 'function') {
    throw new AwsReadError(`cannot read s3:GetObject ${name}: no body`);
  }
  return { name, chunks: body, regular: false };
}
