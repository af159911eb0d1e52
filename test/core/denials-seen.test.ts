import { SESSION_CAP } from '../../functions/commons/constants';
import { denialSeen, isoTime, mergeSeen, sessionHash } from '../../functions/core/denials-seen';

const SESSION = 'arn:aws:sts::111122223333:assumed-role/orders-consumer/jane.doe@example.com';

describe('denials seen', () => {
  it.each([
    ['2026-12-01T06:30:12Z', '2026-12-01T06:30:12.000Z'],
    ['2026-12-01T06:30:12.5Z', '2026-12-01T06:30:12.500Z'],
    ['2026-12-01T06:30:12.123456789Z', '2026-12-01T06:30:12.123Z'],
    ['not a time', null],
  ])('isoTime(%s) is %s: one form, so times compare as text', (text, iso) => {
    expect(isoTime(text)).toBe(iso);
  });

  it('keeps a hash of the session, never its name', () => {
    const seen = denialSeen({ eventTime: '2026-12-01T06:30:12Z', sessionArn: SESSION });
    expect(seen).toEqual({
      firstAt: '2026-12-01T06:30:12.000Z',
      lastAt: '2026-12-01T06:30:12.000Z',
      sessions: [sessionHash(SESSION)],
    });
    expect(seen?.sessions[0]).toMatch(/^[0-9a-f]{16}$/);
    // Pinned, not recomputed as the code does: hashes already stored must still match after a change.
    expect(sessionHash(SESSION)).toBe('4e25c773bf14545f');
    expect(JSON.stringify(seen)).not.toContain('jane');
    expect(sessionHash(`${SESSION}x`)).not.toBe(sessionHash(SESSION));
  });

  it('merges batches: the earlier first, the later last, distinct sessions up to the cap', () => {
    const a = {
      firstAt: '2026-12-01T06:00:00.000Z',
      lastAt: '2026-12-01T07:00:00.000Z',
      sessions: ['a', 'b'],
    };
    const b = {
      firstAt: '2026-12-01T05:00:00.000Z',
      lastAt: '2026-12-01T06:30:00.000Z',
      sessions: ['b', 'c'],
    };
    expect(mergeSeen(a, b)).toEqual({
      firstAt: '2026-12-01T05:00:00.000Z',
      lastAt: '2026-12-01T07:00:00.000Z',
      sessions: ['a', 'b', 'c'],
    });
    expect(mergeSeen(null, b)).toBe(b);
    expect(mergeSeen(a, null)).toBe(a);
    const many = (from: number) => Array.from({ length: SESSION_CAP }, (_, i) => `s${from + i}`);
    expect(mergeSeen({ ...a, sessions: many(0) }, { ...b, sessions: many(50) })?.sessions).toHaveLength(
      SESSION_CAP,
    );
  });
});
