/**
 * What only the DynamoDB store has, against a real DynamoDB API (dynalite, in process): the table it
 * creates, the items' TTLs, and the kinds of request a repeat costs. What every ProposalStore promises
 * (conditional transitions, races, leases, counts) is in store-contract.test.ts, run on this store too.
 */
import { DescribeTableCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoProposalStore, EVENT_TTL_SECONDS, storeKeys } from '../../functions/adapters/store';
import type { Proposal } from '../../functions/core/proposal';
import { type Dynalite, startDynalite } from '../helpers/dynalite';
import { sampleProposal } from '../helpers/proposals';

const T0 = new Date('2026-12-03T09:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let db: Dynalite;
let base: Proposal;
let ids = 0;

beforeAll(async () => {
  db = await startDynalite();
  base = await sampleProposal({ now: T0 });
});
afterAll(async () => {
  await db.stop();
});

async function newStore(): Promise<{ store: DynamoProposalStore; table: string }> {
  const table = await db.createTable();
  return { store: new DynamoProposalStore(db.client, table), table };
}

function proposal(overrides: Partial<Proposal> = {}): Proposal {
  ids += 1;
  return { ...structuredClone(base), id: `p-${ids}`, fingerprint: `fp-${ids}`, ...overrides };
}

async function rawItem(table: string, pk: string) {
  const out = await db.client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: pk } } }));
  return out.Item;
}

describe('createTable', () => {
  it('creates the key schema the stack creates: pk (string) only, and the status index', async () => {
    const { table } = await newStore();
    const out = await db.client.send(new DescribeTableCommand({ TableName: table }));
    expect(out.Table?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(out.Table?.AttributeDefinitions).toEqual([
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'status', AttributeType: 'S' },
      { AttributeName: 'updatedAt', AttributeType: 'S' },
    ]);
    expect(out.Table?.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.KeySchema, i.Projection])).toEqual([
      [
        'status-index',
        [
          { AttributeName: 'status', KeyType: 'HASH' },
          { AttributeName: 'updatedAt', KeyType: 'RANGE' },
        ],
        { ProjectionType: 'ALL' },
      ],
    ]);
    expect(out.Table?.TableStatus).toBe('ACTIVE');
  });
});

describe('TTLs', () => {
  it('remembers an event id for a day', async () => {
    const { store, table } = await newStore();
    expect(await store.claimEvent('e-1', T0)).toBe('first');
    const item = await rawItem(table, storeKeys.event('e-1'));
    expect(item?.ttl?.N).toBe(String(T0.getTime() / 1000 + EVENT_TTL_SECONDS));
  });

  it('puts a TTL on the fingerprint beyond its live period and the proposal, and drops the lease', async () => {
    const { store, table } = await newStore();
    const p = proposal();
    await store.claimFingerprint(p.fingerprint, T0);
    await store.createProposal(p, at(HOUR));
    const item = await rawItem(table, storeKeys.fingerprint(p.fingerprint));
    expect(Number(item?.ttl?.N)).toBeGreaterThanOrEqual(Math.max(p.ttl ?? 0, at(HOUR).getTime() / 1000));
    expect(item?.leaseUntil).toBeUndefined();
  });

  it('keeps a proposal until its own TTL', async () => {
    const { store, table } = await newStore();
    const p = proposal();
    await store.createProposal(p, at(HOUR));
    const item = await rawItem(table, storeKeys.proposal(p.id));
    expect(item?.ttl?.N).toBe(String(p.ttl));
  });

  it('keeps an hour bucket of automatic applies beyond the hour the cap looks back', async () => {
    const { store, table } = await newStore();
    await store.recordAutoApply('p-auto', at(70 * MINUTE));
    const bucket = await rawItem(table, storeKeys.autoApplies('2026-12-03T10'));
    expect(bucket?.applies?.SS).toEqual([`${at(70 * MINUTE).toISOString()}|p-auto`]);
    expect(Number(bucket?.ttl?.N)).toBeGreaterThan(at(2 * HOUR).getTime() / 1000);
  });
});

describe('a repeat denial', () => {
  it('costs one PutItem (claimEvent) and one UpdateItem (touchFingerprint)', async () => {
    const { store } = await newStore();
    const p = proposal();
    await store.claimEvent('e-first', T0);
    await store.claimFingerprint(p.fingerprint, T0);
    await store.createProposal(p, at(HOUR));
    const before = db.requestsByOperation();
    expect(await store.claimEvent('e-repeat', at(MINUTE))).toBe('first');
    expect(await store.touchFingerprint(p.fingerprint, at(MINUTE))).not.toBeNull();
    const after = db.requestsByOperation();
    expect((after.PutItem ?? 0) - (before.PutItem ?? 0)).toBe(1);
    expect((after.UpdateItem ?? 0) - (before.UpdateItem ?? 0)).toBe(1);
  });
});
