/**
 * What the store keeps of a problem's denials besides their number: the earliest and latest CloudTrail
 * `eventTime` (when AWS recorded them, not when keymend processed them) and the distinct sessions
 * denied, as hashes in a capped set (docs/store.md). Pure; node:crypto for the hash.
 */
import { createHash } from 'node:crypto';
import { SESSION_CAP } from '../commons/constants';
import type { KinesisKmsRequest } from './request';

export { SESSION_CAP };

/** What a batch of counted denials adds besides their number. */
export interface DenialsSeen {
  /** The earliest CloudTrail eventTime among them (ISO, `toISOString()` form, so it compares as text). */
  firstAt: string;
  /** The latest. */
  lastAt: string;
  /** The hashes (sessionHash) of their distinct sessions, at most SESSION_CAP. */
  sessions: string[];
}

/**
 * A session ARN's hash: 16 hex characters of its SHA-256. Session names may carry people's e-mail
 * addresses (IAM Identity Center) and are up to 64 characters: the store keeps neither.
 */
export function sessionHash(sessionArn: string): string {
  return createHash('sha256').update(sessionArn).digest('hex').slice(0, 16);
}

/** An eventTime in `toISOString()` form (the intake accepts 0 to 9 fractional digits); null if it is no time. */
export function isoTime(eventTime: string): string | null {
  const ms = Date.parse(eventTime);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** The one denial of a request, as seen; null when its eventTime does not parse (the intake checks it). */
export function denialSeen(request: Pick<KinesisKmsRequest, 'eventTime' | 'sessionArn'>): DenialsSeen | null {
  const at = isoTime(request.eventTime);
  if (at === null) return null;
  return { firstAt: at, lastAt: at, sessions: [sessionHash(request.sessionArn)] };
}

/**
 * Both batches in one: the earlier first, the later last, the union of the sessions (at most
 * SESSION_CAP: the rest are dropped, the count then reads "at least").
 */
export function mergeSeen(a: DenialsSeen | null, b: DenialsSeen | null): DenialsSeen | null {
  if (a === null) return b;
  if (b === null) return a;
  const sessions = [...new Set([...a.sessions, ...b.sessions])].slice(0, SESSION_CAP);
  // ISO times in one form compare as text (Math.min/max would compare them as numbers: NaN).
  const [firstAt] = [a.firstAt, b.firstAt].sort();
  const [lastAt] = [a.lastAt, b.lastAt].sort().reverse();
  return { firstAt: firstAt as string, lastAt: lastAt as string, sessions };
}
