/**
 * What one warm execution environment remembers between invocations, so that in a storm a repeat
 * denial costs no store request at all: the live problems (fingerprints) it has seen, and the
 * denials it has counted but not yet written back. The remediate flow writes the counts back in
 * batches: when a problem's count reaches a limit, when its record is older than the refresh
 * interval (the write brings the record back fresh), and when the problem's state matters (its
 * first denial, the "still failing" check, a notification). docs/remediate.md says what a frozen
 * or recycled environment can lose.
 *
 * Pure and synchronous: the clock is passed in. One instance per environment (the handler's module
 * scope); `keymend local` holds one per process.
 */
import { type DenialsSeen, mergeSeen, SESSION_CAP } from './denials-seen';
import type { FingerprintRecord } from './ports';

export interface WarmRepeatsOptions {
  /**
   * How long a remembered record is trusted before the next repeat goes to the store (which counts
   * the denials held here and answers with the record as it is now: applied, rejected, no longer
   * live). Also how long a count may wait here before it is written back.
   * @default 60 seconds
   */
  refreshMs?: number;
  /** Denials of one problem held here at most before they are written back. @default 100 */
  maxPending?: number;
  /** Problems remembered at most (the least recently seen is forgotten, its count written first). @default 1000 */
  maxProblems?: number;
  /** Event ids remembered, to tell an EventBridge redelivery within this environment. @default 10000 */
  maxEventIds?: number;
  /**
   * A problem whose fix was applied longer ago than this is "still failing" if denied again: its
   * repeats go to the store, which decides whether to tell people.
   */
  stillFailingAfterMs: number;
}

/** Denials counted here and not yet written back, for one problem. */
export interface PendingCount {
  fingerprint: string;
  count: number;
  /** The latest denial's time (ISO). */
  lastSeen: string;
  /** Their CloudTrail eventTimes (earliest, latest) and sessions, written back with the count. */
  seen?: DenialsSeen;
}

/** What to do with a denial of a problem this environment may know. */
export type WarmAnswer =
  /** The event id was seen in this environment already: an EventBridge redelivery. */
  | { kind: 'duplicate' }
  /** A repeat, counted here: no store request. */
  | { kind: 'repeat'; record: FingerprintRecord }
  /**
   * Not known here, or its state may have changed: ask the store, writing back `pending`. `live`:
   * the problem was live when last seen here (count it in the store first; claim it only if that
   * fails).
   */
  | {
      kind: 'ask-store';
      pending: number;
      live: boolean;
      /** The times and sessions of the held denials and this one, to write with the count. */
      seen: DenialsSeen | null;
    };

interface Problem {
  /** The record as the store last answered it (count as of then), or null while this environment diagnoses it. */
  record: FingerprintRecord | null;
  /** When the record was last read from or written to the store (ms). */
  refreshedAt: number;
  /** Denials counted here since. */
  pending: number;
  /** When the oldest of them came (ms); 0 when none. */
  pendingSince: number;
  lastSeen: string;
  /** Their eventTimes and sessions; null when none are held. */
  seen: DenialsSeen | null;
}

/** The live problems and counted denials of one warm environment. */
export class WarmRepeats {
  private readonly refreshMs: number;
  private readonly maxPending: number;
  private readonly maxProblems: number;
  private readonly maxEventIds: number;
  private readonly stillFailingAfterMs: number;
  /** In the order last seen (a Map keeps insertion order: re-inserting moves one to the end). */
  private readonly problems = new Map<string, Problem>();
  private readonly eventIds = new Set<string>();
  /** Counts of forgotten problems, still to be written back. */
  private readonly evicted: PendingCount[] = [];

  constructor(options: WarmRepeatsOptions) {
    this.refreshMs = options.refreshMs ?? 60_000;
    this.maxPending = options.maxPending ?? 100;
    this.maxProblems = options.maxProblems ?? 1000;
    this.maxEventIds = options.maxEventIds ?? 10_000;
    this.stillFailingAfterMs = options.stillFailingAfterMs;
  }

  /**
   * A denial of `fingerprint`: a duplicate of an event id seen here, a repeat counted here, or one
   * for the store (with the denials held here for it, which the store write then counts too).
   */
  denial(fingerprint: string, eventId: string, now: Date, seen: DenialsSeen | null = null): WarmAnswer {
    if (this.eventIds.has(eventId)) return { kind: 'duplicate' };
    const problem = this.problems.get(fingerprint);
    if (problem === undefined) return { kind: 'ask-store', pending: 0, live: false, seen };
    const ms = now.getTime();
    const diagnosing = problem.record === null;
    const record = problem.record;
    const fresh = ms - problem.refreshedAt < this.refreshMs;
    const live = record !== null && record.proposalId !== null && Date.parse(record.liveUntil) > ms;
    const stillFailing =
      record?.appliedAt !== undefined && ms - Date.parse(record.appliedAt) > this.stillFailingAfterMs;
    const full = problem.pending + 1 >= this.maxPending;
    // While this environment diagnoses the problem, its repeats wait here: the store learns them
    // with the proposal (so racing repeats cost nothing).
    // Once the store's session set is full, sessions are no longer collected for it.
    const own = seen && (record?.sessions ?? 0) >= SESSION_CAP ? { ...seen, sessions: [] } : seen;
    if (!diagnosing && (!fresh || !live || stillFailing || full)) {
      return { kind: 'ask-store', pending: problem.pending, live, seen: mergeSeen(problem.seen, own) };
    }
    this.remember(eventId);
    if (problem.pending === 0) problem.pendingSince = ms;
    problem.pending++;
    problem.lastSeen = now.toISOString();
    problem.seen = mergeSeen(problem.seen, own);
    this.touch(fingerprint, problem);
    const shown: FingerprintRecord =
      record === null
        ? {
            fingerprint,
            proposalId: null,
            count: problem.pending,
            firstSeen: now.toISOString(),
            lastSeen: problem.lastSeen,
            liveUntil: now.toISOString(),
          }
        : { ...record, count: record.count + problem.pending, lastSeen: problem.lastSeen };
    return { kind: 'repeat', record: shown };
  }

  /** This environment claimed the problem and diagnoses it: its repeats are counted here meanwhile. */
  diagnosing(fingerprint: string, eventId: string, now: Date): void {
    this.remember(eventId);
    this.touch(fingerprint, {
      record: null,
      refreshedAt: now.getTime(),
      pending: 0,
      pendingSince: 0,
      lastSeen: now.toISOString(),
      seen: null,
    });
  }

  /**
   * The store's answer for the problem (after a claim, a count, a new proposal), counting `written`
   * of the denials held here: those are no longer pending. `null` forgets the problem (not live, or
   * the diagnosis stored nothing).
   */
  stored(
    fingerprint: string,
    record: FingerprintRecord | null,
    written: number,
    now: Date,
    eventId?: string,
  ): void {
    if (eventId !== undefined) this.remember(eventId);
    const problem = this.problems.get(fingerprint);
    const left = Math.max(0, (problem?.pending ?? 0) - written);
    if (record === null) {
      this.problems.delete(fingerprint);
      return;
    }
    this.touch(fingerprint, {
      record,
      refreshedAt: now.getTime(),
      pending: left,
      pendingSince: left > 0 ? (problem?.pendingSince ?? now.getTime()) : 0,
      lastSeen: problem?.lastSeen ?? record.lastSeen,
      // Which of the held denials were written is not known: all their times and sessions stay (writing
      // one twice changes nothing, unlike a count).
      seen: left > 0 ? (problem?.seen ?? null) : null,
    });
  }

  /**
   * The invocation handling `eventId` failed before it recorded anything: forget the problem and the
   * event id, so Lambda's retry of the event is handled afresh, not taken for a duplicate.
   */
  failed(fingerprint: string, eventId: string): void {
    this.problems.delete(fingerprint);
    this.eventIds.delete(eventId);
  }

  /** Denials held here for `fingerprint` (0 when none). */
  pendingFor(fingerprint: string): number {
    return this.problems.get(fingerprint)?.pending ?? 0;
  }

  /**
   * The counts to write back now: of forgotten problems, and of problems whose oldest held denial
   * is older than the refresh interval (the "timer", checked at the end of each invocation).
   */
  due(now: Date): PendingCount[] {
    const out = this.evicted.splice(0);
    const ms = now.getTime();
    for (const [fingerprint, problem] of this.problems) {
      if (problem.record === null || problem.pending === 0) continue;
      if (ms - problem.pendingSince >= this.refreshMs) {
        out.push(pendingCount(fingerprint, problem));
      }
    }
    return out;
  }

  /** Every count held here (for a clean shutdown, or `keymend local` when asked). */
  all(): PendingCount[] {
    const out = this.evicted.splice(0);
    for (const [fingerprint, problem] of this.problems) {
      if (problem.record !== null && problem.pending > 0) {
        out.push(pendingCount(fingerprint, problem));
      }
    }
    return out;
  }

  private touch(fingerprint: string, problem: Problem): void {
    this.problems.delete(fingerprint);
    this.problems.set(fingerprint, problem);
    if (this.problems.size <= this.maxProblems) return;
    const [oldest, forgotten] = this.problems.entries().next().value as [string, Problem];
    this.problems.delete(oldest);
    if (forgotten.record !== null && forgotten.pending > 0) {
      this.evicted.push(pendingCount(oldest, forgotten));
    }
  }

  private remember(eventId: string): void {
    this.eventIds.add(eventId);
    if (this.eventIds.size > this.maxEventIds) {
      this.eventIds.delete(this.eventIds.values().next().value as string);
    }
  }
}

function pendingCount(fingerprint: string, problem: Problem): PendingCount {
  return {
    fingerprint,
    count: problem.pending,
    lastSeen: problem.lastSeen,
    ...(problem.seen ? { seen: problem.seen } : {}),
  };
}
