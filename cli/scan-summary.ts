/**
 * What `keymend scan` keeps while it reads: one aggregate per problem (fingerprint), never the
 * records. Memory grows with the number of distinct problems, not with the input: the distinct
 * sessions of a problem are counted exactly up to SESSION_CAP, then reported as "at least".
 */
import type { DiagnoseResult } from '../functions/core/diagnose';
import { intake } from '../functions/core/intake';
import type { NextStep } from '../functions/core/next-steps';
import type { Plan } from '../functions/core/plan';
import { type FingerprintFields, fingerprintOf } from '../functions/core/proposal';
import type { DeniedBy, KinesisKmsRequest } from '../functions/core/request';

/** Distinct sessions are counted exactly up to this many per problem. */
export const SESSION_CAP = 10_000;
/**
 * The `ignored` reason of records skipped unparsed because their bytes cannot be a denied KMS call
 * (they lack `kms.amazonaws.com` or `AccessDenied`); the intake's own reasons name the others.
 */
export const PREFILTERED = 'no-kms-denial-in-bytes';
/** Distinct AWS reasons kept per problem (the rest are counted in the last one shown). */
const DENIED_BY_CAP = 16;

/** One problem as scan reports it. */
export interface ProblemSummary extends FingerprintFields {
  fingerprint: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
  /** Distinct role sessions (for a user, 1): exact unless `sessionsCapped`. */
  sessions: number;
  /** True when there were more than `sessions` distinct sessions (SESSION_CAP reached). */
  sessionsCapped?: true;
  /** What AWS's messages blamed, most frequent first. */
  deniedBy: (DeniedBy & { count: number })[];
  /** With --diagnose. */
  diagnosis?: ProblemDiagnosis;
}

/** diagnose's answer for a problem, as scan shows it (`error` when the account could not be read). */
export interface ProblemDiagnosis {
  verdict: DiagnoseResult['verdict'] | 'error';
  code: string;
  reason: string;
  plan: Plan | null;
  /** For a refusal: what a person can do instead. */
  nextSteps?: NextStep[];
  /** The diagnosis's notes ("check first"), when it carries any. */
  notes?: string[];
  /**
   * For a proposed fix: the denial diagnosed (the problem's latest), as the intake read it, so this
   * diagnosis is a plan file for `keymend apply` (as diagnose's result is).
   */
  denial?: KinesisKmsRequest;
}

/** The input a scan could not read, and why. */
export interface SkippedInput {
  file: string;
  problem: string;
}

/** With --athena: the query that read the table. */
export interface AthenaSummary {
  /** DB.TABLE */
  table: string;
  queryExecutionId: string;
  /** What Athena read, and bills (its Statistics.DataScannedInBytes). */
  dataScannedBytes: number;
  /** Result rows: the candidates the SQL filter kept, each then read by the intake. */
  rows: number;
}

export interface ScanSummary {
  /** Files keymend read (0 with --athena: Athena read them, see `athena`). */
  files: number;
  skipped: SkippedInput[];
  records: number;
  /** Records that are denied KMS calls made through Kinesis. */
  denials: number;
  /** The other records, by the intake's reason. */
  ignored: Record<string, number>;
  problems: ProblemSummary[];
  athena?: AthenaSummary;
}

/** A 53-bit hash of a session ARN: holding numbers, not strings, keeps a full session set small. */
function sessionHash(text: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff);
}

interface Aggregate {
  scope: FingerprintFields;
  count: number;
  firstSeen: string;
  firstMs: number;
  lastSeen: string;
  lastMs: number;
  sessions: Set<number>;
  capped: boolean;
  deniedBy: Map<string, DeniedBy & { count: number }>;
  /** The most recent denial: what --diagnose diagnoses. */
  latest: KinesisKmsRequest;
}

function timeOf(text: string): number {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? 0 : ms;
}

function addSessions(into: Aggregate, hashes: Iterable<number>, capped: boolean): void {
  for (const h of hashes) {
    if (into.sessions.size >= SESSION_CAP) {
      if (!into.sessions.has(h)) into.capped = true;
      continue;
    }
    into.sessions.add(h);
  }
  if (capped) into.capped = true;
}

/** Per-problem aggregates of the records added; merge() another into it. */
export class ScanAggregator {
  records = 0;
  denials = 0;
  readonly ignored = new Map<string, number>();
  private readonly problems = new Map<string, Aggregate>();

  get problemCount(): number {
    return this.problems.size;
  }

  /**
   * Counts records the log reader skipped without parsing (their bytes hold no denied KMS call:
   * adapters/cloudtrail-log.ts, scanCloudTrailLog), as ignored for the reason {@link PREFILTERED}.
   */
  skip(count: number): void {
    this.records += count;
    this.ignored.set(PREFILTERED, (this.ignored.get(PREFILTERED) ?? 0) + count);
  }

  /** Reads one record through the intake and counts it. */
  add(record: unknown): void {
    this.records++;
    const result = intake(record);
    if (!result.match) {
      this.ignored.set(result.reason, (this.ignored.get(result.reason) ?? 0) + 1);
      return;
    }
    this.addRequest(result.request);
  }

  addRequest(request: KinesisKmsRequest): void {
    this.denials++;
    const scope: FingerprintFields = {
      accountId: request.accountId,
      region: request.region,
      principalArn: request.principalArn,
      operation: request.operation,
      keyArn: request.keyArn ?? request.keyReference ?? '',
      streamArn: request.streamArn ?? '',
    };
    const id = JSON.stringify([
      scope.accountId,
      scope.region,
      scope.principalArn,
      scope.operation,
      scope.keyArn,
      scope.streamArn,
    ]);
    const ms = timeOf(request.eventTime);
    let agg = this.problems.get(id);
    if (!agg) {
      agg = {
        scope,
        count: 0,
        firstSeen: request.eventTime,
        firstMs: ms,
        lastSeen: request.eventTime,
        lastMs: ms,
        sessions: new Set(),
        capped: false,
        deniedBy: new Map(),
        latest: request,
      };
      this.problems.set(id, agg);
    }
    agg.count++;
    if (ms < agg.firstMs) {
      agg.firstMs = ms;
      agg.firstSeen = request.eventTime;
    }
    if (ms >= agg.lastMs) {
      agg.lastMs = ms;
      agg.lastSeen = request.eventTime;
      agg.latest = request;
    }
    addSessions(agg, [sessionHash(request.sessionArn)], false);
    const reasonKey = `${request.deniedBy.kind}|${request.deniedBy.policyType}|${request.deniedBy.policyArn ?? ''}`;
    const seen = agg.deniedBy.get(reasonKey);
    if (seen) seen.count++;
    else if (agg.deniedBy.size < DENIED_BY_CAP)
      agg.deniedBy.set(reasonKey, { ...request.deniedBy, count: 1 });
  }

  /** Adds everything `other` counted (a file read in full is merged; a skipped one is not). */
  merge(other: ScanAggregator): void {
    this.records += other.records;
    this.denials += other.denials;
    for (const [reason, n] of other.ignored) this.ignored.set(reason, (this.ignored.get(reason) ?? 0) + n);
    for (const [id, theirs] of other.problems) {
      const ours = this.problems.get(id);
      if (!ours) {
        this.problems.set(id, theirs);
        continue;
      }
      ours.count += theirs.count;
      if (theirs.firstMs < ours.firstMs) {
        ours.firstMs = theirs.firstMs;
        ours.firstSeen = theirs.firstSeen;
      }
      if (theirs.lastMs >= ours.lastMs) {
        ours.lastMs = theirs.lastMs;
        ours.lastSeen = theirs.lastSeen;
        ours.latest = theirs.latest;
      }
      addSessions(ours, theirs.sessions, theirs.capped);
      for (const [key, d] of theirs.deniedBy) {
        const seen = ours.deniedBy.get(key);
        if (seen) seen.count += d.count;
        else if (ours.deniedBy.size < DENIED_BY_CAP) ours.deniedBy.set(key, { ...d });
      }
    }
  }

  /** The problems, most denials first, each with the request --diagnose diagnoses. */
  list(): { summary: ProblemSummary; latest: KinesisKmsRequest }[] {
    return [...this.problems.values()]
      .map((agg) => {
        const summary: ProblemSummary = {
          fingerprint: fingerprintOf(agg.scope),
          ...agg.scope,
          count: agg.count,
          firstSeen: agg.firstSeen,
          lastSeen: agg.lastSeen,
          sessions: agg.sessions.size,
          ...(agg.capped ? { sessionsCapped: true as const } : {}),
          deniedBy: [...agg.deniedBy.values()].sort((a, b) => b.count - a.count),
        };
        return { summary, latest: agg.latest };
      })
      .sort(
        (a, b) =>
          b.summary.count - a.summary.count || a.summary.fingerprint.localeCompare(b.summary.fingerprint),
      );
  }
}
