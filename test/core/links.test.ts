import { actionUrl, linkExpiry, proposalLinks } from '../../functions/core/links';
import { verifyToken } from '../../functions/core/token';

const SECRET = Buffer.alloc(32, 1);
const EXPIRES = new Date('2026-12-06T10:00:00Z');

describe('proposalLinks', () => {
  it('a pending proposal: review, approve and reject, each with its own bound token', () => {
    const links = proposalLinks(
      SECRET,
      { id: 'abc_-1', status: 'pending', planHash: 'h1' },
      'https://x.on.aws/',
      EXPIRES,
    );
    expect(links?.revoke).toBeUndefined();
    expect(links?.expiresAt).toBe('2026-12-06T10:00:00.000Z');
    for (const action of ['review', 'approve', 'reject'] as const) {
      const url = new URL(links?.[action] as string);
      expect(url.origin + url.pathname).toBe('https://x.on.aws/p/abc_-1');
      expect(url.searchParams.get('a')).toBe(action);
      expect(verifyToken(SECRET, url.searchParams.get('t'), EXPIRES.getTime() / 1000 - 1)).toEqual({
        ok: true,
        claims: { proposalId: 'abc_-1', action, planHash: 'h1', expiresAt: EXPIRES.getTime() / 1000 },
      });
      expect(verifyToken(SECRET, url.searchParams.get('t'), EXPIRES.getTime() / 1000)).toMatchObject({
        ok: false,
      });
    }
  });

  it('an applied proposal: review and revoke; other statuses: none', () => {
    const applied = proposalLinks(
      SECRET,
      { id: 'p', status: 'applied', planHash: 'h' },
      'https://x',
      EXPIRES,
    );
    expect(applied?.approve).toBeUndefined();
    expect(new URL(applied?.review as string).searchParams.get('a')).toBe('review');
    expect(new URL(applied?.revoke as string).searchParams.get('a')).toBe('revoke');
    for (const status of ['refused', 'applying', 'rejected', 'revoked', 'failed'] as const) {
      expect(proposalLinks(SECRET, { id: 'p', status, planHash: null }, 'https://x', EXPIRES)).toBeNull();
    }
  });

  it('actionUrl and linkExpiry', () => {
    expect(actionUrl('http://127.0.0.1:8787', 'id', 'reject', 'a.b')).toBe(
      'http://127.0.0.1:8787/p/id?a=reject&t=a.b',
    );
    expect(linkExpiry(new Date('2026-12-03T10:00:00Z'), 72).toISOString()).toBe('2026-12-06T10:00:00.000Z');
  });
});
