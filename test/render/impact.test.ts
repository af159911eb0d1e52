/**
 * The impact section: a consumer's records start to expire at the first denial (CloudTrail's eventTime)
 * plus the stream's retention; a producer's writes fail now; the lag when CloudWatch gave it.
 */
import type { Proposal } from '../../functions/core/proposal';
import { duration, impactLines } from '../../functions/render/impact';
import { renderNotifications } from '../../functions/render/notification';
import { sampleProposal } from '../helpers/proposals';

const text = (proposal: Proposal, applied = false) =>
  impactLines(proposal, applied)
    .map((l) => `${l.label}: ${l.text}`)
    .join('\n');

describe('impact', () => {
  it('a consumer: records expire at the first denial plus the stream retention, from CloudTrail eventTime', async () => {
    const proposal = await sampleProposal();
    proposal.request.eventTime = '2026-12-01T06:30:12Z';
    proposal.firstSeen = '2026-12-01T06:45:00.000Z'; // when keymend processed it: not the time shown
    proposal.retentionPeriodHours = 168;
    const shown = text(proposal);
    expect(shown).toContain('Consumer: cannot read the stream since the first denial');
    expect(shown).toContain("Kinesis keeps records for 168 hours (the stream's retention)");
    expect(shown).toContain('start to expire at 2026-12-08 06:30 UTC');
    expect(shown).toContain('First denial: 2026-12-01 06:30 UTC (CloudTrail eventTime)');
    expect(shown).not.toContain('06:45');
  });

  it('without the retention, says 24 hours is the default and that the stream was not read', async () => {
    const proposal = await sampleProposal();
    proposal.request.eventTime = '2026-12-01T23:59:00Z';
    delete proposal.retentionPeriodHours;
    expect(text(proposal)).toContain("24 hours (the default; the stream's own retention was not read)");
    expect(text(proposal)).toContain('start to expire at 2026-12-02 23:59 UTC');
  });

  it('a producer: writes are failing now; once fixed, they failed until the fix', async () => {
    const proposal = await sampleProposal({ event: 'producer-generatedatakey-denied.record.json' });
    expect(text(proposal)).toContain('Producer: writes to the stream are failing now');
    expect(text(proposal, true)).toContain('Producer: writes failed from the first denial until the fix');
    expect(text(proposal)).not.toContain('expire');
  });

  it('the consumer lag from CloudWatch, and the latest denial with the count', async () => {
    const proposal = await sampleProposal();
    proposal.count = 7;
    proposal.lastSeen = '2026-12-03T10:00:00.000Z';
    proposal.consumerLag = {
      milliseconds: 3 * 3_600_000 + 5 * 60_000,
      metric: 'GetRecords.IteratorAgeMilliseconds',
      at: '2026-12-03T10:01:00Z',
    };
    expect(text(proposal)).toContain(
      'Consumer lag: 3 h 05 min behind (GetRecords.IteratorAgeMilliseconds, CloudWatch, at 2026-12-03 10:01 UTC)',
    );
    expect(text(proposal)).toContain(
      'Latest denial: 2026-12-03 10:00 UTC (when keymend received it), 7 denials in all',
    );
  });

  it.each([
    [0, '0 s'],
    [59_000, '59 s'],
    [61_000, '1 min'],
    [3_600_000, '1 h 00 min'],
    [50 * 3_600_000, '2 d 2 h'],
  ])('duration(%d) is %s', (ms, words) => {
    expect(duration(ms)).toBe(words);
  });

  it('comes near the top of the e-mail, in chat, and not after a revoke', async () => {
    const proposal = await sampleProposal();
    const [email, chat] = renderNotifications('proposed', proposal, null);
    const body = email?.message ?? '';
    expect(body.indexOf('\nIMPACT\n')).toBeGreaterThan(0);
    expect(body.indexOf('\nIMPACT\n')).toBeLessThan(body.indexOf('\nWHAT HAPPENED\n'));
    expect(JSON.parse(chat?.message ?? '{}').content.description).toContain('*Consumer:* cannot read');
    const [revoked] = renderNotifications('revoked', { ...proposal, status: 'revoked' }, null);
    expect(revoked?.message).not.toContain('IMPACT');
  });
});
