import { DynamoProposalStore } from '../../functions/adapters/store';
import { type Dynalite, startDynalite } from '../helpers/dynalite';
import { sampleProposal } from '../helpers/proposals';

describe('DynamoProposalStore: the fingerprint remembers when its live proposal was applied', () => {
  let db: Dynalite;
  beforeAll(async () => {
    db = await startDynalite();
  });
  afterAll(() => db.stop());

  it('setFingerprintApplied sets and removes appliedAt, which a repeat reads with no extra request', async () => {
    const store = new DynamoProposalStore(db.client, await db.createTable());
    const now = new Date('2026-12-03T09:00:00.000Z');
    const proposal = await sampleProposal({ id: 'applied-1', now });
    expect(await store.claimFingerprint(proposal.fingerprint, now)).toEqual({ claimed: true });
    await store.createProposal(proposal, new Date('2026-12-06T09:00:00.000Z'));
    expect((await store.touchFingerprint(proposal.fingerprint, now))?.appliedAt).toBeUndefined();

    await store.setFingerprintApplied(proposal.fingerprint, '2026-12-03T09:01:00.000Z');
    const before = db.requests();
    expect((await store.touchFingerprint(proposal.fingerprint, now))?.appliedAt).toBe(
      '2026-12-03T09:01:00.000Z',
    );
    expect(db.requests() - before).toBe(1);

    await store.setFingerprintApplied(proposal.fingerprint, null);
    expect((await store.touchFingerprint(proposal.fingerprint, now))?.appliedAt).toBeUndefined();
  });

  it('a new period of the fingerprint starts unapplied', async () => {
    const store = new DynamoProposalStore(db.client, await db.createTable());
    const now = new Date('2026-12-03T09:00:00.000Z');
    const proposal = await sampleProposal({ id: 'applied-2', now });
    await store.claimFingerprint(proposal.fingerprint, now);
    await store.createProposal(proposal, new Date('2026-12-03T10:00:00.000Z'));
    await store.setFingerprintApplied(proposal.fingerprint, now.toISOString());
    const later = new Date('2026-12-03T11:00:00.000Z');
    expect(await store.claimFingerprint(proposal.fingerprint, later)).toEqual({
      claimed: true,
      previousProposalId: 'applied-2',
    });
    await store.createProposal({ ...proposal, id: 'applied-3' }, new Date('2026-12-03T12:00:00.000Z'));
    expect((await store.touchFingerprint(proposal.fingerprint, later))?.appliedAt).toBeUndefined();
  });

  it('setting it on an unknown fingerprint does nothing', async () => {
    const store = new DynamoProposalStore(db.client, await db.createTable());
    await expect(store.setFingerprintApplied('unknown', '2026-12-03T09:00:00.000Z')).resolves.toBeUndefined();
  });
});
