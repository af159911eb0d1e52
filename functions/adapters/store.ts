/**
 * keymend's store: one DynamoDB table, partition key `pk` only, TTL attribute `ttl` (docs/store.md).
 * Every change of a proposal's status is one conditional UpdateItem on its old status; no transaction
 * and no Scan is needed anywhere, and a repeat denial costs two requests (`claimEvent`, `touchFingerprint`).
 *
 * Items, by the prefix of `pk`:
 * - `EVT#<eventId>`: a processed event id (`ttl` one day later).
 * - `FP#<fingerprint>`: a problem: its live proposal, count, first/last seen, live-until, claim lease.
 * - `P#<proposalId>`: a proposal. What never changes is one JSON string (`body`); what changes (status,
 *   audit, the applied change, ...) is kept in attributes of its own, so each change is one update.
 * - `AUTO#<yyyy-mm-ddThh>`: the automatic applies started in that hour, for auto mode's hourly cap.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CLAIM_LEASE_SECONDS, TABLE } from '../commons/constants';
import { KeymendError } from '../commons/errors';
import { settleDenialClaim } from '../core/denial-claim';
import { type DenialsSeen, denialSeen, SESSION_CAP } from '../core/denials-seen';
import type {
  ClaimOptions,
  ClaimResult,
  DenialClaim,
  EventClaim,
  FingerprintRecord,
  ProposalStore,
} from '../core/ports';
import {
  type AuditEntry,
  canTransition,
  type Proposal,
  type ProposalStatus,
  ttlChange,
} from '../core/proposal';

/** A store request that failed in a way the caller cannot fix by retrying (a broken item, a bad transition). */
export class StoreError extends KeymendError {
  override readonly name: string = 'StoreError';
}

/** How long a processed event id is remembered: EventBridge redelivers within hours, not days. */
export const EVENT_TTL_SECONDS = 24 * 60 * 60;
/**
 * How long a claim holds (an event id, a new fingerprint, `applying`): CLAIM_LEASE_SECONDS, longer than
 * the functions' timeouts (infra reads the same constants), so a live invocation never loses its
 * claim; a killed one frees it then.
 */
export const DEFAULT_LEASE_MS = CLAIM_LEASE_SECONDS * 1000;
/** A fingerprint record outlives its live period by this long, so its counts stay readable. */
const FINGERPRINT_RETENTION_SECONDS = 7 * 24 * 60 * 60;
/** Automatic-apply buckets are kept a day: the cap looks back one hour. */
const AUTO_BUCKET_TTL_SECONDS = 24 * 60 * 60;
/**
 * `appendAudit` stops adding at this many entries, so that a flood of refused tokens cannot grow the
 * item toward DynamoDB's 400 KB limit and block the transitions that matter. Transitions always append.
 */
export const AUDIT_APPEND_LIMIT = 200;
/** `sessions` is a reserved word in DynamoDB expressions. */
const SESSIONS_NAME = { '#sessions': 'sessions' };
/** BatchGetItem reads at most 100 keys per request. */
const BATCH_GET_LIMIT = 100;

/** The `pk` of each kind of item. */
export const storeKeys = {
  event: (eventId: string) => `EVT#${eventId}`,
  fingerprint: (fingerprint: string) => `FP#${fingerprint}`,
  proposal: (id: string) => `P#${id}`,
  /** `hour` is an ISO time cut to the hour: `2026-12-03T08`. */
  autoApplies: (hour: string) => `AUTO#${hour}`,
};

export interface DynamoProposalStoreOptions {
  /** How long a claim holds. @default DEFAULT_LEASE_MS */
  leaseMs?: number;
}

/** The attributes of a proposal that change after it is created; everything else is in `body`. */
type MutableField =
  | 'status'
  | 'updatedAt'
  | 'reason'
  | 'applied'
  | 'appliedAt'
  | 'stillFailingNotifiedAt'
  | 'audit'
  | 'ttl';
type Patch = Partial<Pick<Proposal, 'applied' | 'appliedAt' | 'reason' | 'stillFailingNotifiedAt'>>;
type Item = Record<string, AttributeValue>;

/**
 * The ProposalStore over one DynamoDB table (`client` and `tableName` passed in; the client carries the
 * retry configuration). Times are compared as ISO strings (`toISOString()`, which sort as times).
 */
export class DynamoProposalStore implements ProposalStore {
  private readonly leaseMs: number;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    options: DynamoProposalStoreOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  }

  /**
   * One conditional PutItem, with the lease in `leaseUntil`: succeeds for an id not seen before, one
   * released (releaseClaim), or one whose lease ran out; the old item (returned) tells a retry.
   */
  async claimEvent(eventId: string, now: Date): Promise<EventClaim> {
    try {
      const out = await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: s(storeKeys.event(eventId)),
            leaseUntil: s(new Date(now.getTime() + this.leaseMs).toISOString()),
            ttl: n(epochSeconds(now) + EVENT_TTL_SECONDS),
          },
          // The put drops a released claim's `released` mark. A claim without `leaseUntil` (written
          // before leases) holds for its day.
          ConditionExpression: 'attribute_not_exists(pk) OR attribute_exists(released) OR leaseUntil <= :now',
          ExpressionAttributeValues: { ':now': s(now.toISOString()) },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return out.Attributes ? 'retry' : 'first';
    } catch (error) {
      if (isConditionFailure(error)) return 'duplicate';
      throw error;
    }
  }

  /**
   * Two UpdateItems (no DeleteItem, which keymend's role does not have): the event id marked released,
   * so `claimEvent` takes it again, and the lease removed from a fingerprint without a proposal.
   */
  async releaseClaim(eventId: string | null, fingerprint: string | null): Promise<void> {
    if (eventId !== null) {
      await this.conditional(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: s(storeKeys.event(eventId)) },
          UpdateExpression: 'SET released = :yes',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':yes': { BOOL: true } },
        }),
      );
    }
    if (fingerprint === null) return;
    await this.conditional(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: s(storeKeys.fingerprint(fingerprint)) },
        UpdateExpression: 'REMOVE leaseUntil',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(proposalId)',
      }),
    );
  }

  /**
   * One conditional UpdateItem: counts `count` denials (a warm environment's batch, or one) only when
   * the fingerprint has a live proposal.
   */
  async touchFingerprint(
    fingerprint: string,
    now: Date,
    count = 1,
    seen?: DenialsSeen,
  ): Promise<FingerprintRecord | null> {
    return this.countDenial(
      fingerprint,
      now,
      count,
      'attribute_exists(pk) AND attribute_exists(proposalId) AND liveUntil > :now',
      {},
      seen,
    );
  }

  /**
   * Counts denials (count + `count`, lastSeen = now) when `condition` holds, and returns the record as
   * it is then; null when the condition fails. With `seen`, the same UpdateItem moves `lastDenialAt` to
   * the batch's latest eventTime and adds its sessions, conditioned on that being a move forward
   * (`lastDenialAt <= :last AND firstDenialAt <= :first`) and on the session set being under
   * SESSION_CAP: the usual denial, later than those counted before, costs that one request. When that
   * fails (a denial delivered out of order, a full session set, or `condition` itself), a second
   * UpdateItem counts under `condition` alone, and conditional min/max writes (and the sessions, while
   * the set has room) follow, best effort, only for what the record returned still lacks.
   */
  private async countDenial(
    fingerprint: string,
    now: Date,
    count: number,
    condition: string,
    values: Record<string, AttributeValue> = {},
    seen?: DenialsSeen,
  ): Promise<FingerprintRecord | null> {
    const key = { pk: s(storeKeys.fingerprint(fingerprint)) };
    const base = {
      TableName: this.tableName,
      Key: key,
      ExpressionAttributeNames: { '#count': 'count' } as Record<string, string>,
      ExpressionAttributeValues: { ':n': n(count), ':now': s(now.toISOString()), ...values },
      ReturnValues: 'ALL_NEW' as const,
    };
    if (seen) {
      const sessions = seen.sessions.length > 0;
      const forward = await this.updateRecord(
        new UpdateItemCommand({
          ...base,
          UpdateExpression:
            `ADD #count :n${sessions ? ', #sessions :sessions' : ''} SET lastSeen = :now, ` +
            'lastDenialAt = :last, firstDenialAt = if_not_exists(firstDenialAt, :first)',
          ConditionExpression:
            `(${condition}) AND (attribute_not_exists(lastDenialAt) OR lastDenialAt <= :last) ` +
            'AND (attribute_not_exists(firstDenialAt) OR firstDenialAt <= :first)' +
            (sessions ? ' AND (attribute_not_exists(#sessions) OR size(#sessions) < :cap)' : ''),
          ExpressionAttributeNames: { ...base.ExpressionAttributeNames, ...(sessions ? SESSIONS_NAME : {}) },
          ExpressionAttributeValues: {
            ...base.ExpressionAttributeValues,
            ':first': s(seen.firstAt),
            ':last': s(seen.lastAt),
            ...(sessions ? { ':sessions': { SS: seen.sessions }, ':cap': n(SESSION_CAP) } : {}),
          },
        }),
      );
      if (forward) return forward;
    }
    const record = await this.updateRecord(
      new UpdateItemCommand({
        ...base,
        UpdateExpression: 'ADD #count :n SET lastSeen = :now',
        ConditionExpression: condition,
      }),
    );
    if (record === null || !seen) return record;
    return this.completeSeen(record, seen);
  }

  /**
   * After a count that could not record `seen` with it: the conditional min of `firstDenialAt`, max of
   * `lastDenialAt` and the sessions (while the set has room), only where the record needs them, at
   * once. Best effort: the denials are counted already, and a retry would count them twice; a write
   * that fails leaves a time or a session out (the shown figures are lower bounds).
   */
  private async completeSeen(record: FingerprintRecord, seen: DenialsSeen): Promise<FingerprintRecord> {
    const key = { pk: s(storeKeys.fingerprint(record.fingerprint)) };
    const writes: Promise<unknown>[] = [];
    const result = { ...record };
    const bound = (attribute: 'firstDenialAt' | 'lastDenialAt', value: string, op: '<' | '>') => {
      writes.push(
        this.conditional(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: `SET ${attribute} = :at`,
            ConditionExpression: `attribute_exists(pk) AND (attribute_not_exists(${attribute}) OR ${attribute} ${op} :at)`,
            ExpressionAttributeValues: { ':at': s(value) },
          }),
        ).then((done) => {
          if (done) result[attribute] = value;
        }),
      );
    };
    if (record.firstDenialAt === undefined || seen.firstAt < record.firstDenialAt)
      bound('firstDenialAt', seen.firstAt, '>');
    if (record.lastDenialAt === undefined || seen.lastAt > record.lastDenialAt)
      bound('lastDenialAt', seen.lastAt, '<');
    if (seen.sessions.length > 0 && (record.sessions ?? 0) < SESSION_CAP) {
      writes.push(
        this.client
          .send(
            new UpdateItemCommand({
              TableName: this.tableName,
              Key: key,
              UpdateExpression: 'ADD #sessions :sessions',
              ConditionExpression:
                'attribute_exists(pk) AND (attribute_not_exists(#sessions) OR size(#sessions) < :cap)',
              ExpressionAttributeNames: SESSIONS_NAME,
              ExpressionAttributeValues: { ':sessions': { SS: seen.sessions }, ':cap': n(SESSION_CAP) },
              ReturnValues: 'UPDATED_NEW',
            }),
          )
          .then((out) => {
            const sessions = out.Attributes?.sessions?.SS;
            if (sessions) result.sessions = sessions.length;
          }),
      );
    }
    await Promise.all(writes.map((write) => write.catch(() => undefined)));
    return result;
  }

  /** One UpdateItem returning the fingerprint record; null when its condition failed. */
  private async updateRecord(command: UpdateItemCommand): Promise<FingerprintRecord | null> {
    try {
      const out = await this.client.send(command);
      return fingerprintRecord(out.Attributes);
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  /**
   * One conditional UpdateItem that starts a new period of the fingerprint (count 1, first seen now,
   * no proposal yet, a lease, the claiming event's id) when there is no record, or it has no live
   * proposal and no unexpired lease. Otherwise one more UpdateItem counts the denial (and the
   * `count - 1` a warm environment held) as a repeat of whoever holds it, unless the holder's claim
   * was made by this very event id: a redelivery of the problem's first event, a duplicate.
   */
  async claimFingerprint(fingerprint: string, now: Date, options: ClaimOptions = {}): Promise<ClaimResult> {
    return (await this.claimProblem(fingerprint, now, options)).result;
  }

  /**
   * claimEvent's PutItem and claimFingerprint's UpdateItem (the event id recorded on the problem) sent
   * at once; the count of a held problem, when needed, waits for the event's answer. When the event's
   * claim fails while the problem was claimed, the problem's item is put back as the claim found it
   * (the proposal it pointed at, its counts), conditioned on the claim being still this one; the
   * caller releases the rest (`releaseClaim`), as after any failure.
   */
  async claimDenial(
    eventId: string,
    fingerprint: string,
    now: Date,
    options: Omit<ClaimOptions, 'eventId'> = {},
  ): Promise<DenialClaim> {
    const event = this.claimEvent(eventId, now);
    const problem = this.claimProblem(fingerprint, now, { ...options, eventId }, event);
    return settleDenialClaim(event, problem, (previous, { lease }) =>
      this.restoreFingerprint(previous, eventId, lease),
    );
  }

  /**
   * Puts back the fingerprint item `previous` (as a claim's ALL_OLD returned it) while the item still
   * holds that claim (its lease and event id, no proposal); false when it does not.
   */
  private async restoreFingerprint(previous: Item, eventId: string, lease: string): Promise<boolean> {
    return this.conditional(
      new PutItemCommand({
        TableName: this.tableName,
        Item: previous,
        ConditionExpression:
          'leaseUntil = :lease AND firstEventId = :eid AND attribute_not_exists(proposalId)',
        ExpressionAttributeValues: { ':lease': s(lease), ':eid': s(eventId) },
      }),
    );
  }

  /**
   * claimFingerprint, with the lease it set and the item it replaced (undefined when there was none).
   * With `delivery` (the event's claim, sent at the same time), a held problem is counted only once it
   * answers: not at all for a duplicate delivery, and even when this event id made the claim for a
   * retry (the retry of an invocation that got that far).
   */
  private async claimProblem(
    fingerprint: string,
    now: Date,
    options: ClaimOptions,
    delivery?: Promise<EventClaim>,
  ): Promise<{ result: ClaimResult; lease: string; previous?: Item }> {
    const at = now.toISOString();
    const leaseUntil = new Date(now.getTime() + this.leaseMs);
    const eventId = options.eventId ?? '';
    // A new period starts with this denial's eventTime and session (none known: none kept).
    const seen = options.seen;
    const seenSet = seen
      ? `firstDenialAt = :first, lastDenialAt = :last, ${seen.sessions.length > 0 ? '#sessions = :sessions, ' : ''}`
      : '';
    const seenRemoved = seen
      ? seen.sessions.length > 0
        ? ''
        : ', #sessions'
      : ', firstDenialAt, lastDenialAt, #sessions';
    // The record can vanish between the two requests only through TTL deletion: then claim again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const claimed = await this.claimOnce(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: s(storeKeys.fingerprint(fingerprint)) },
          UpdateExpression:
            'SET fingerprint = :fp, #count = :one, firstSeen = :now, lastSeen = :now, liveUntil = :now, ' +
            `leaseUntil = :lease, ${eventId ? 'firstEventId = :eid, ' : ''}${seenSet}#ttl = :ttl ` +
            `REMOVE proposalId, appliedAt${eventId ? '' : ', firstEventId'}${seenRemoved}`,
          ConditionExpression:
            'attribute_not_exists(pk) OR ((attribute_not_exists(proposalId) OR liveUntil <= :now) ' +
            'AND (attribute_not_exists(leaseUntil) OR leaseUntil <= :now))',
          ExpressionAttributeNames: { '#count': 'count', '#ttl': TABLE.ttlAttribute, ...SESSIONS_NAME },
          ExpressionAttributeValues: {
            ':fp': s(fingerprint),
            ':one': n(1),
            ':now': s(at),
            ':lease': s(leaseUntil.toISOString()),
            ...(eventId ? { ':eid': s(eventId) } : {}),
            ...(seen ? { ':first': s(seen.firstAt), ':last': s(seen.lastAt) } : {}),
            ...(seen && seen.sessions.length > 0
              ? { ':sessions': { SS: seen.sessions.slice(0, SESSION_CAP) } }
              : {}),
            ':ttl': n(epochSeconds(leaseUntil) + FINGERPRINT_RETENTION_SECONDS),
          },
          // The proposal the fingerprint pointed at before, so the flow can close it (pending -> expired).
          ReturnValues: 'ALL_OLD',
        }),
      );
      const lease = leaseUntil.toISOString();
      if (claimed)
        return { result: claimed.result, lease, ...(claimed.previous ? { previous: claimed.previous } : {}) };
      // Someone else holds the fingerprint: count this denial as a repeat of theirs, unless this event
      // made their claim, or the event's own claim says it is a duplicate delivery.
      const seenAs = await delivery;
      if (seenAs === 'duplicate') return { result: { claimed: false, duplicate: true }, lease };
      const unlessOwn = eventId !== '' && seenAs !== 'retry';
      const record = await this.countDenial(
        fingerprint,
        now,
        options.count ?? 1,
        unlessOwn
          ? 'attribute_exists(pk) AND (attribute_not_exists(firstEventId) OR firstEventId <> :eid)'
          : 'attribute_exists(pk)',
        unlessOwn ? { ':eid': s(eventId) } : {},
        seen,
      );
      if (record) return { result: { claimed: false, record }, lease };
      if (unlessOwn && (await this.claimedBy(fingerprint, eventId)))
        return { result: { claimed: false, duplicate: true }, lease };
    }
    throw new StoreError(`fingerprint ${fingerprint} could be neither claimed nor counted`);
  }

  /** True when the fingerprint's current period was claimed by `eventId` (a consistent GetItem). */
  private async claimedBy(fingerprint: string, eventId: string): Promise<boolean> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: s(storeKeys.fingerprint(fingerprint)) },
        ProjectionExpression: 'firstEventId',
        ConsistentRead: true,
      }),
    );
    return out.Item?.firstEventId?.S === eventId;
  }

  /**
   * Two requests, in this order: storeProposal, then makeLive. The proposal is written first, so the
   * fingerprint never points at a proposal that does not exist.
   */
  async createProposal(proposal: Proposal, liveUntil: Date): Promise<void> {
    await this.storeProposal(proposal);
    await this.makeLive(proposal, liveUntil);
  }

  /** One conditional PutItem of a new proposal (a new id only). */
  async storeProposal(proposal: Proposal): Promise<void> {
    const created = await this.conditional(
      new PutItemCommand({
        TableName: this.tableName,
        Item: proposalItem(proposal),
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    if (!created) throw new StoreError(`proposal ${proposal.id} exists already`);
  }

  /**
   * One UpdateItem that makes a stored proposal the fingerprint's live one and drops the lease. Counts
   * already on the fingerprint stay.
   */
  async makeLive(proposal: Proposal, liveUntil: Date): Promise<void> {
    // The claim recorded the first denial's time and session; a proposal stored without one (keymend
    // local's createProposal, records from before) brings its own.
    const seen = denialSeen(proposal.request);
    const ttl = Math.max(proposal.ttl ?? 0, epochSeconds(liveUntil) + FINGERPRINT_RETENTION_SECONDS);
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: s(storeKeys.fingerprint(proposal.fingerprint)) },
        UpdateExpression:
          'SET fingerprint = :fp, proposalId = :id, liveUntil = :live, #ttl = :ttl, ' +
          '#count = if_not_exists(#count, :count), firstSeen = if_not_exists(firstSeen, :first), ' +
          'lastSeen = if_not_exists(lastSeen, :last)' +
          (seen
            ? ', firstDenialAt = if_not_exists(firstDenialAt, :firstDenial), ' +
              'lastDenialAt = if_not_exists(lastDenialAt, :lastDenial), ' +
              '#sessions = if_not_exists(#sessions, :sessions)'
            : '') +
          ' REMOVE leaseUntil',
        ExpressionAttributeNames: {
          '#count': 'count',
          '#ttl': TABLE.ttlAttribute,
          ...(seen ? SESSIONS_NAME : {}),
        },
        ExpressionAttributeValues: {
          ...(seen
            ? {
                ':firstDenial': s(seen.firstAt),
                ':lastDenial': s(seen.lastAt),
                ':sessions': { SS: seen.sessions },
              }
            : {}),
          ':fp': s(proposal.fingerprint),
          ':id': s(proposal.id),
          ':live': s(liveUntil.toISOString()),
          ':ttl': n(ttl),
          ':count': n(proposal.count),
          ':first': s(proposal.firstSeen),
          ':last': s(proposal.lastSeen),
        },
      }),
    );
  }

  /** Two GetItems: the proposal, then its fingerprint (whose counts are merged in while it points here). */
  async getProposal(id: string): Promise<Proposal | null> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: s(storeKeys.proposal(id)) },
        ConsistentRead: true,
      }),
    );
    if (!out.Item) return null;
    return this.withCounts(decodeProposal(out.Item));
  }

  /**
   * One conditional UpdateItem on `#status = :from` (then a GetItem of the fingerprint for the counts).
   *
   * @throws StoreError when TRANSITIONS does not allow `from -> to`: that is a bug, not a lost race.
   */
  async transition(
    id: string,
    from: ProposalStatus,
    to: ProposalStatus,
    patch: Patch,
    audit: AuditEntry,
  ): Promise<Proposal | null> {
    if (!canTransition(from, to)) throw new StoreError(`a proposal may not go from ${from} to ${to}`);
    const names: Record<string, string> = { '#status': 'status' };
    const values: Item = {
      ':from': s(from),
      ':to': s(to),
      ':at': s(audit.at),
      ':audit': { L: [s(JSON.stringify(audit))] },
    };
    const sets = ['#status = :to', 'updatedAt = :at', 'audit = list_append(audit, :audit)'];
    for (const [field, value] of Object.entries(patch) as [keyof Patch, unknown][]) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = s(field === 'applied' ? JSON.stringify(value) : String(value));
      sets.push(`#${field} = :${field}`);
    }
    // Applied: no TTL while the change is live; revoked: kept for the retention period again.
    const ttl = ttlChange(to, audit.at);
    if (ttl !== 'keep') names['#ttl'] = TABLE.ttlAttribute;
    if (typeof ttl === 'object') {
      values[':ttl'] = n(ttl.set);
      sets.push('#ttl = :ttl');
    }
    return this.updateProposal(id, {
      UpdateExpression: `SET ${sets.join(', ')}${ttl === 'remove' ? ' REMOVE #ttl' : ''}`,
      ConditionExpression: 'attribute_exists(pk) AND #status = :from',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
  }

  /** One conditional UpdateItem on `#status = applying AND updatedAt <= now - lease` (then the counts). */
  async reclaimApplying(id: string, now: Date, audit: AuditEntry): Promise<Proposal | null> {
    return this.updateProposal(id, {
      UpdateExpression: 'SET updatedAt = :at, audit = list_append(audit, :audit)',
      ConditionExpression: 'attribute_exists(pk) AND #status = :applying AND updatedAt <= :stale',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':applying': s('applying'),
        ':stale': s(new Date(now.getTime() - this.leaseMs).toISOString()),
        ':at': s(now.toISOString()),
        ':audit': { L: [s(JSON.stringify(audit))] },
      },
    });
  }

  /**
   * One conditional UpdateItem of a proposal, then a GetItem of its fingerprint for the counts: the
   * proposal as updated, or null when the condition failed.
   */
  private async updateProposal(
    id: string,
    update: Pick<
      UpdateItemCommandInput,
      'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
    >,
  ): Promise<Proposal | null> {
    let item: Item | undefined;
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: s(storeKeys.proposal(id)) },
          ...update,
          ReturnValues: 'ALL_NEW',
        }),
      );
      item = out.Attributes;
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
    if (!item) throw new StoreError(`proposal ${id}: the update returned no item`);
    return this.withCounts(decodeProposal(item));
  }

  /** One UpdateItem; a proposal that is unknown, or whose audit list is full, is left as it is. */
  async appendAudit(id: string, audit: AuditEntry): Promise<void> {
    await this.conditional(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: s(storeKeys.proposal(id)) },
        UpdateExpression: 'SET audit = list_append(audit, :audit)',
        ConditionExpression: 'attribute_exists(pk) AND size(audit) < :limit',
        ExpressionAttributeValues: {
          ':audit': { L: [s(JSON.stringify(audit))] },
          ':limit': n(AUDIT_APPEND_LIMIT),
        },
      }),
    );
  }

  /** One UpdateItem of an existing fingerprint; the record is kept a week beyond `until`. */
  async setFingerprintLiveUntil(fingerprint: string, until: Date): Promise<void> {
    await this.conditional(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: s(storeKeys.fingerprint(fingerprint)) },
        UpdateExpression: 'SET liveUntil = :until, #ttl = :ttl',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#ttl': TABLE.ttlAttribute },
        ExpressionAttributeValues: {
          ':until': s(until.toISOString()),
          ':ttl': n(epochSeconds(until) + FINGERPRINT_RETENTION_SECONDS),
        },
      }),
    );
  }

  /** One UpdateItem of an existing fingerprint: sets `appliedAt`, or removes it (null). */
  async setFingerprintApplied(fingerprint: string, appliedAt: string | null): Promise<void> {
    await this.conditional(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: s(storeKeys.fingerprint(fingerprint)) },
        UpdateExpression: appliedAt === null ? 'REMOVE appliedAt' : 'SET appliedAt = :at',
        ConditionExpression: 'attribute_exists(pk)',
        ...(appliedAt === null ? {} : { ExpressionAttributeValues: { ':at': s(appliedAt) } }),
      }),
    );
  }

  /** One conditional UpdateItem: sets the time only when it is not set (and the proposal exists). */
  async markStillFailingNotified(id: string, now: Date): Promise<boolean> {
    return this.conditional(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: s(storeKeys.proposal(id)) },
        UpdateExpression: 'SET stillFailingNotifiedAt = :now',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(stillFailingNotifiedAt)',
        ExpressionAttributeValues: { ':now': s(now.toISOString()) },
      }),
    );
  }

  /**
   * Automatic applies started at or after `since`: one BatchGetItem of the hour buckets from `since`'s
   * hour to `now`'s (two for the last hour), counting the entries at or after `since`.
   */
  async countAutoAppliesSince(since: Date, now: Date): Promise<number> {
    const from = Math.floor(since.getTime() / HOUR_MS);
    const to = Math.max(from, Math.floor(now.getTime() / HOUR_MS));
    const hours: string[] = [];
    for (let h = from; h <= to; h++) hours.push(hourOf(new Date(h * HOUR_MS)));
    const sinceIso = since.toISOString();
    let count = 0;
    for (const item of await this.batchGet(hours.map(storeKeys.autoApplies))) {
      for (const entry of item.applies?.SS ?? []) if (entry.slice(0, entry.indexOf('|')) >= sinceIso) count++;
    }
    return count;
  }

  /** One UpdateItem: adds `<at>|<proposalId>` to the hour's set, so adding the same apply twice counts it once. */
  async recordAutoApply(id: string, time: Date): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: s(storeKeys.autoApplies(hourOf(time))) },
        UpdateExpression: 'ADD applies :entry SET #ttl = :ttl',
        ExpressionAttributeNames: { '#ttl': TABLE.ttlAttribute },
        ExpressionAttributeValues: {
          ':entry': { SS: [`${time.toISOString()}|${id}`] },
          ':ttl': n(epochSeconds(time) + AUTO_BUCKET_TTL_SECONDS),
        },
      }),
    );
  }

  private async batchGet(pks: string[]): Promise<Item[]> {
    const items: Item[] = [];
    for (let i = 0; i < pks.length; i += BATCH_GET_LIMIT) {
      let keys: Item[] | undefined = pks.slice(i, i + BATCH_GET_LIMIT).map((pk) => ({ pk: s(pk) }));
      // DynamoDB may leave keys unprocessed under load; ask again for those (the SDK's retry backs off).
      for (let round = 0; keys && keys.length > 0; round++) {
        if (round === 5) throw new StoreError('BatchGetItem left keys unprocessed five times');
        const out: BatchGetItemCommandOutput = await this.client.send(
          new BatchGetItemCommand({
            RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } },
          }),
        );
        items.push(...(out.Responses?.[this.tableName] ?? []));
        keys = out.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return items;
  }

  /** The proposal with its fingerprint's count and first/last seen, while the fingerprint is its own. */
  private async withCounts(proposal: Proposal): Promise<Proposal> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: s(storeKeys.fingerprint(proposal.fingerprint)) },
        ConsistentRead: true,
      }),
    );
    const record = fingerprintRecord(out.Item);
    // A later period of the fingerprint counts for a later proposal, not this one.
    if (!record || record.proposalId !== proposal.id) return proposal;
    return withRecordCounts(proposal, record);
  }

  /**
   * The claim update: null when its condition failed, else the claim with the proposal it replaces,
   * and the item it replaced (ALL_OLD; none for a new fingerprint).
   */
  private async claimOnce(
    command: UpdateItemCommand,
  ): Promise<{ result: ClaimResult; previous?: Item } | null> {
    try {
      const out = await this.client.send(command);
      const previousProposalId = out.Attributes?.proposalId?.S;
      const result: ClaimResult = previousProposalId
        ? { claimed: true, previousProposalId }
        : { claimed: true };
      return out.Attributes ? { result, previous: out.Attributes } : { result };
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  /** Sends a conditional write; false when its condition did not hold. */
  private async conditional(command: PutItemCommand | UpdateItemCommand): Promise<boolean> {
    try {
      // Two calls because send's overloads take one command type each.
      if (command instanceof PutItemCommand) await this.client.send(command);
      else await this.client.send(command);
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

/**
 * Creates keymend's table as the CDK stack does: partition key `pk` (string), on-demand, TTL on `ttl`;
 * returns when the table is active. A backend without the TTL API (dynalite) gets the table without it.
 */
export async function createTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: TABLE.partitionKey, AttributeType: 'S' },
        { AttributeName: TABLE.statusAttribute, AttributeType: 'S' },
        { AttributeName: TABLE.updatedAttribute, AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: TABLE.partitionKey, KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: TABLE.statusIndex,
          KeySchema: [
            { AttributeName: TABLE.statusAttribute, KeyType: 'HASH' },
            { AttributeName: TABLE.updatedAttribute, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  for (let attempt = 0; ; attempt++) {
    const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (out.Table?.TableStatus === 'ACTIVE') break;
    if (attempt === 100) throw new StoreError(`table ${tableName} did not become active`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
      }),
    );
  } catch (error) {
    if ((error as Error)?.name !== 'UnknownOperationException') throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Items

const HOUR_MS = 60 * 60 * 1000;
const MUTABLE_FIELDS: readonly MutableField[] = [
  'status',
  'updatedAt',
  'reason',
  'applied',
  'appliedAt',
  'stillFailingNotifiedAt',
  'audit',
  'ttl',
];

/** The table item of a proposal (`decodeProposal` reads it back). */
export function proposalItem(proposal: Proposal): Item {
  const body: Record<string, unknown> = { ...proposal };
  for (const field of MUTABLE_FIELDS) delete body[field];
  const item: Item = {
    pk: s(storeKeys.proposal(proposal.id)),
    fingerprint: s(proposal.fingerprint),
    status: s(proposal.status),
    updatedAt: s(proposal.updatedAt),
    reason: s(proposal.reason),
    audit: { L: proposal.audit.map((entry) => s(JSON.stringify(entry))) },
    body: s(JSON.stringify(body)),
  };
  if (proposal.ttl !== undefined) item[TABLE.ttlAttribute] = n(proposal.ttl);
  if (proposal.applied) item.applied = s(JSON.stringify(proposal.applied));
  if (proposal.appliedAt) item.appliedAt = s(proposal.appliedAt);
  if (proposal.stillFailingNotifiedAt) item.stillFailingNotifiedAt = s(proposal.stillFailingNotifiedAt);
  return item;
}

/** A proposal from its table item (the status index projects every attribute, so its items too). */
export function decodeProposal(item: Item): Proposal {
  const pk = item.pk?.S ?? '';
  const body = item.body?.S;
  const status = item.status?.S;
  if (body === undefined || status === undefined) throw new StoreError(`item ${pk} is not a proposal`);
  const proposal = {
    ...(JSON.parse(body) as Omit<Proposal, MutableField>),
    status: status as ProposalStatus,
    updatedAt: item.updatedAt?.S ?? '',
    reason: item.reason?.S ?? '',
    audit: (item.audit?.L ?? []).map((entry) => JSON.parse(entry.S ?? 'null') as AuditEntry),
  } as Proposal;
  if (item.applied?.S) proposal.applied = JSON.parse(item.applied.S);
  if (item.appliedAt?.S) proposal.appliedAt = item.appliedAt.S;
  if (item.stillFailingNotifiedAt?.S) proposal.stillFailingNotifiedAt = item.stillFailingNotifiedAt.S;
  const ttl = item[TABLE.ttlAttribute]?.N;
  if (ttl !== undefined) proposal.ttl = Number(ttl);
  return proposal;
}

function fingerprintRecord(item: Item | undefined): FingerprintRecord | null {
  if (!item?.fingerprint?.S) return null;
  return {
    fingerprint: item.fingerprint.S,
    proposalId: item.proposalId?.S ?? null,
    count: Number(item.count?.N ?? '0'),
    firstSeen: item.firstSeen?.S ?? '',
    lastSeen: item.lastSeen?.S ?? '',
    liveUntil: item.liveUntil?.S ?? '',
    ...(item.appliedAt?.S ? { appliedAt: item.appliedAt.S } : {}),
    ...(item.firstDenialAt?.S ? { firstDenialAt: item.firstDenialAt.S } : {}),
    ...(item.lastDenialAt?.S ? { lastDenialAt: item.lastDenialAt.S } : {}),
    ...(item.sessions?.SS ? { sessions: item.sessions.SS.length } : {}),
  };
}

/** The proposal with the counts, times and sessions its fingerprint record holds (the record's when it has them). */
export function withRecordCounts(proposal: Proposal, record: FingerprintRecord): Proposal {
  return {
    ...proposal,
    count: record.count,
    firstSeen: record.firstSeen,
    lastSeen: record.lastSeen,
    ...(record.firstDenialAt ? { firstDenialAt: record.firstDenialAt } : {}),
    ...(record.lastDenialAt ? { lastDenialAt: record.lastDenialAt } : {}),
    ...(record.sessions !== undefined ? { sessions: record.sessions } : {}),
  };
}

function isConditionFailure(error: unknown): boolean {
  return (error as Error)?.name === 'ConditionalCheckFailedException';
}

function s(value: string): AttributeValue {
  return { S: value };
}

function n(value: number): AttributeValue {
  return { N: String(value) };
}

function epochSeconds(time: Date): number {
  return Math.floor(time.getTime() / 1000);
}

/** `2026-12-03T08`: the hour bucket of a time. */
function hourOf(time: Date): string {
  return time.toISOString().slice(0, 13);
}
