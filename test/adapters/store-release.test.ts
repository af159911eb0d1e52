import { DynamoProposalStore } from '../../functions/adapters/store';
import { type Dynalite, startDynalite } from '../helpers/dynalite';
import { sampleProposal } from '../helpers/proposals';

describe('DynamoProposalStore.releaseClaim: the retry of a failed invocation starts over', () => {
  let db: Dynalite;
  beforeAll(async () => {
    db = await startDynalite();
  });
  afterAll(() => db.stop());

  const now = new Date('2026-12-03T09:00:00.000Z');

  it('forgets the event id and frees the fingerprint a failed invocation leased', async () => {
    const store = new DynamoProposalStore(db.client, await db.createTable());
    expect(await store.claimEvent('evt-1', now)).toBe(true);
    expect(await store.claimFingerprint('fp-1', now)).toEqual({ claimed: true });
    expect((await store.claimFingerprint('fp-1', now)).claimed).toBe(false);

    await store.releaseClaim('evt-1', 'fp-1');
    expect(await store.claimEvent('evt-1', now)).toBe(true);
    expect(await store.claimFingerprint('fp-1', now)).toEqual({ claimed: true });
  });

  it('never frees a fingerprint that holds a proposal', async () => {
    const store = new DynamoProposalStore(db.client, await db.createTable());
    const proposal = await sampleProposal({ id: 'release-1', now });
    await store.claimFingerprint(proposal.fingerprint, now);
    await store.createProposal(proposal, new Date('2026-12-06T09:00:00.000Z'));
    await store.releaseClaim('evt-2', proposal.fingerprint);
    expect((await store.touchFingerprint(proposal.fingerprint, now))?.proposalId).toBe('release-1');
    expect((await store.claimFingerprint(proposal.fingerprint, now)).claimed).toBe(false);
  });

  it('without a fingerprint, only the event id is released', async () => {
    const store = new DynamoProposalStore(db.client, await db.createTable());
    await store.claimEvent('evt-3', now);
    await store.claimFingerprint('fp-3', now);
    await store.releaseClaim('evt-3', null);
    expect(await store.claimEvent('evt-3', now)).toBe(true);
    expect((await store.claimFingerprint('fp-3', now)).claimed).toBe(false);
  });
});
