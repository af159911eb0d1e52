/**
 * The impact section: a consumer's records start to expire at the first denial (CloudTrail's eventTime)
 * plus the stream's retention; a producer's writes fail now; the lag when CloudWatch gave it.
 */
import { SESSION_CAP } from '../../functions/commons/constants';
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
    proposal.firstDenialAt = '2026-12-01T06:30:12.000Z';
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
    // A proposal stored before keymend kept the earliest eventTime: the first event's is shown.
    proposal.request.eventTime = '2026-12-01T23:59:00Z';
    delete proposal.firstDenialAt;
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

  it('the consumer lag from CloudWatch, and the latest denial as CloudTrail recorded it, with the count', async () => {
    const proposal = await sampleProposal();
    proposal.count = 7;
    proposal.firstDenialAt = '2026-12-03T07:00:00.000Z';
    proposal.lastDenialAt = '2026-12-03T09:58:00.000Z';
    proposal.lastSeen = '2026-12-03T10:00:00.000Z'; // when keymend processed it: not the time shown
    proposal.consumerLag = {
      milliseconds: 3 * 3_600_000 + 5 * 60_000,
      metric: 'GetRecords.IteratorAgeMilliseconds',
      at: '2026-12-03T10:01:00Z',
    };
    const shown = text(proposal);
    expect(shown).toContain(
      'Consumer lag: 3 h 05 min behind (GetRecords.IteratorAgeMilliseconds, CloudWatch, at 2026-12-03 10:01 UTC)',
    );
    expect(shown).toContain('First denial: 2026-12-03 07:00 UTC (CloudTrail eventTime)');
    expect(shown).toContain(
      'Latest denial: 2026-12-03 09:58 UTC (CloudTrail eventTime), at least 7 denials in all',
    );
    expect(shown).not.toContain('10:00');
    expect(shown).not.toContain('when keymend received it');
    // Records start to expire from the earliest denial, not from the one that made the proposal.
    expect(shown).toContain('start to expire at 2026-12-04 07:00 UTC');
  });

  it("a proposal stored before keymend kept eventTimes says the latest time is keymend's", async () => {
    const proposal = await sampleProposal();
    delete proposal.firstDenialAt;
    delete proposal.lastDenialAt;
    delete proposal.sessions;
    proposal.count = 3;
    proposal.lastSeen = '2026-12-03T10:00:00.000Z';
    expect(text(proposal)).toContain(
      'Latest denial: 2026-12-03 10:00 UTC (when keymend received it), at least 3 denials in all',
    );
    expect(text(proposal)).not.toContain('Sessions denied');
  });

  it.each([
    [1, 'Sessions denied: 1 distinct session'],
    [12, 'Sessions denied: 12 distinct sessions'],
    [
      SESSION_CAP,
      `Sessions denied: at least ${SESSION_CAP} distinct sessions (keymend counts them up to ${SESSION_CAP})`,
    ],
    [SESSION_CAP + 7, `Sessions denied: at least ${SESSION_CAP + 7} distinct sessions`],
  ])('%d sessions: %s', async (sessions, words) => {
    const proposal = await sampleProposal();
    proposal.sessions = sessions;
    expect(text(proposal)).toContain(words);
  });

  it("a Lambda function's event source mapping lag beside the stream's", async () => {
    const proposal = await sampleProposal();
    proposal.functionLag = {
      milliseconds: 90_000,
      metric: 'IteratorAge',
      functionName: 'orders-consumer-fn',
      at: '2026-12-03T10:01:00Z',
    };
    expect(text(proposal)).toContain(
      "Consumer lag: 1 min behind (IteratorAge of Lambda function orders-consumer-fn's event source mappings, CloudWatch, at 2026-12-03 10:01 UTC)",
    );
    const producer = await sampleProposal({ event: 'producer-generatedatakey-denied.record.json' });
    producer.functionLag = proposal.functionLag;
    expect(text(producer)).not.toContain('Consumer lag');
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
