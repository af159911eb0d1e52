import { createHmac } from 'node:crypto';
import { MAX_TOKEN_LENGTH, signToken, type TokenClaims, verifyToken } from '../../functions/core/token';

const SECRET = new Uint8Array(Buffer.from('token-test-secret-0123456789abcdef0123'));
const NOW = 1_800_000_000;
const CLAIMS: TokenClaims = {
  proposalId: 'p-1',
  action: 'approve',
  planHash: 'a'.repeat(64),
  expiresAt: NOW + 3600,
};

/** The token with its payload replaced, keeping the original signature. */
function withPayload(token: string, edit: (payload: Record<string, unknown>) => void): string {
  const [body, signature] = token.split('.') as [string, string];
  const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  edit(payload);
  return `${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${signature}`;
}

describe('approval tokens', () => {
  const token = signToken(SECRET, CLAIMS);

  it('round-trips its claims before the expiry', () => {
    expect(verifyToken(SECRET, token, NOW)).toEqual({ ok: true, claims: CLAIMS });
  });

  it('refuses a token signed with another secret (a forged signature)', () => {
    const forged = signToken(new Uint8Array(Buffer.from('not-the-secret-0123456789abcdef01234')), CLAIMS);
    expect(verifyToken(SECRET, forged, NOW)).toEqual({ ok: false, problem: 'bad-signature' });
  });

  it('refuses a signature with its first character changed', () => {
    const dot = token.indexOf('.');
    const first = token[dot + 1] === 'A' ? 'B' : 'A';
    const changed = `${token.slice(0, dot + 1)}${first}${token.slice(dot + 2)}`;
    expect(verifyToken(SECRET, changed, NOW)).toEqual({ ok: false, problem: 'bad-signature' });
  });

  it.each([
    ['another proposal', (p: Record<string, unknown>) => Object.assign(p, { p: 'p-2' })],
    ['another action', (p: Record<string, unknown>) => Object.assign(p, { a: 'revoke' })],
    ['a tampered plan hash', (p: Record<string, unknown>) => Object.assign(p, { h: 'b'.repeat(64) })],
    ['a stretched expiry', (p: Record<string, unknown>) => Object.assign(p, { e: NOW + 10 * 365 * 86400 })],
  ])('refuses %s written into a genuine token', (_name, edit) => {
    expect(verifyToken(SECRET, withPayload(token, edit), NOW)).toEqual({
      ok: false,
      problem: 'bad-signature',
    });
  });

  it('gives the claims of a genuine token for another proposal or action, for the caller to compare', () => {
    const other = signToken(SECRET, { ...CLAIMS, proposalId: 'p-2', action: 'reject' });
    const check = verifyToken(SECRET, other, NOW);
    expect(check.ok && check.claims.proposalId).toBe('p-2');
    expect(check.ok && check.claims.action).toBe('reject');
  });

  it('refuses a token at and after its expiry', () => {
    expect(verifyToken(SECRET, token, CLAIMS.expiresAt)).toEqual({ ok: false, problem: 'expired' });
    expect(verifyToken(SECRET, token, CLAIMS.expiresAt + 1)).toEqual({ ok: false, problem: 'expired' });
    expect(verifyToken(SECRET, token, CLAIMS.expiresAt - 1).ok).toBe(true);
  });

  it.each([
    ['undefined', undefined],
    ['a number', 42],
    ['empty', ''],
    ['no dot', 'abcdef'],
    ['three parts', 'a.b.c'],
    ['an empty signature', 'abc.'],
    ['characters outside base64url', 'ab+c.de/f'],
    ['too long', `${'a'.repeat(MAX_TOKEN_LENGTH)}.b`],
  ])('refuses a malformed token (%s)', (_name, value) => {
    expect(verifyToken(SECRET, value, NOW)).toEqual({ ok: false, problem: 'malformed' });
  });

  it('refuses a correctly signed payload of the wrong shape', () => {
    const body = Buffer.from(JSON.stringify({ p: 'p-1', a: 'delete', h: '', e: NOW + 60 })).toString(
      'base64url',
    );
    const signature = createHmac('sha256', SECRET).update(body).digest('base64url');
    expect(verifyToken(SECRET, `${body}.${signature}`, NOW)).toEqual({ ok: false, problem: 'malformed' });
  });
});
