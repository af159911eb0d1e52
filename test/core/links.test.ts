import { inProcessLinkSigner } from '../../functions/adapters/link-signer';
import { actionUrl, linkExpiry } from '../../functions/core/links';
import { boundHash } from '../../functions/core/proposal';
import { verifyToken } from '../../functions/core/token';
import { linksFor } from '../../functions/flows/notify';
import { flowFixture } from '../helpers/flow-ports';

const DECISION = Buffer.alloc(32, 1);
const REVOKE = Buffer.alloc(32, 2);
const EXPIRES = new Date('2026-12-06T10:00:00Z');
const SETTINGS = { baseUrl: 'https://x.on.aws/', ttlHours: 72 };
const APPLIED = { mechanism: 'kms-grant' as const, keyArn: 'k', grantId: 'g', grantName: 'n' };

/** Ports whose signer holds `keys` (the approval function: both; the remediate function: decision). */
function ports(keys: { decision: Buffer; revoke?: Buffer }) {
  return { ...flowFixture().ports, signer: inProcessLinkSigner(keys) };
}

function proposal(status: string, extra: Record<string, unknown> = {}) {
  return { id: 'abc_-1', status, planHash: 'h1', ...extra } as unknown as Parameters<typeof linksFor>[1];
}

describe('linksFor (the links of a notification)', () => {
  it('a pending proposal: review, approve and reject, each signed with the decision key', async () => {
    const links = await linksFor(ports({ decision: DECISION }), proposal('pending'), SETTINGS, EXPIRES);
    expect(links?.revoke).toBeUndefined();
    expect(links?.expiresAt).toBe('2026-12-06T10:00:00.000Z');
    for (const action of ['review', 'approve', 'reject'] as const) {
      const url = new URL(links?.[action] as string);
      expect(url.origin + url.pathname).toBe('https://x.on.aws/p/abc_-1');
      expect(url.searchParams.get('a')).toBe(action);
      expect(verifyToken(DECISION, url.searchParams.get('t'), EXPIRES.getTime() / 1000 - 1)).toEqual({
        ok: true,
        claims: { proposalId: 'abc_-1', action, planHash: 'h1', expiresAt: EXPIRES.getTime() / 1000 },
      });
      expect(verifyToken(DECISION, url.searchParams.get('t'), EXPIRES.getTime() / 1000)).toMatchObject({
        ok: false,
      });
    }
  });

  it('an applied proposal: review, and revoke signed with the revoke key, bound to the change as recorded', async () => {
    const applied = proposal('applied', { applied: APPLIED });
    const links = await linksFor(ports({ decision: DECISION, revoke: REVOKE }), applied, SETTINGS, EXPIRES);
    expect(links?.approve).toBeUndefined();
    expect(new URL(links?.review as string).searchParams.get('a')).toBe('review');
    const token = new URL(links?.revoke as string).searchParams.get('t');
    expect(verifyToken(REVOKE, token, 0)).toMatchObject({
      ok: true,
      claims: { action: 'revoke', planHash: boundHash(applied, 'revoke') },
    });
    expect(boundHash(applied, 'revoke')).not.toBe('h1');
    expect(boundHash({ ...applied, applied: { ...APPLIED, grantId: 'other' } }, 'revoke')).not.toBe(
      boundHash(applied, 'revoke'),
    );
    expect(verifyToken(DECISION, token, 0)).toEqual({ ok: false, problem: 'bad-signature' });
  });

  it('the remediate function (no revoke key) makes a review link but no revoke link; other statuses have none', async () => {
    const remediate = ports({ decision: DECISION });
    const links = await linksFor(remediate, proposal('applied', { applied: APPLIED }), SETTINGS, EXPIRES);
    expect(links?.revoke).toBeUndefined();
    expect(new URL(links?.review as string).searchParams.get('a')).toBe('review');
    await expect(
      remediate.signer.sign({ proposalId: 'p', action: 'revoke', planHash: 'h', expiresAt: 1 }),
    ).rejects.toThrow(/cannot sign a revoke link/);
    for (const status of ['refused', 'applying', 'rejected', 'revoked', 'failed']) {
      expect(
        await linksFor(ports({ decision: DECISION, revoke: REVOKE }), proposal(status), SETTINGS, EXPIRES),
      ).toBeNull();
    }
  });

  it('actionUrl and linkExpiry', () => {
    expect(actionUrl('http://127.0.0.1:8787', 'id', 'reject', 'a.b')).toBe(
      'http://127.0.0.1:8787/p/id?a=reject&t=a.b',
    );
    expect(linkExpiry(new Date('2026-12-03T10:00:00Z'), 72).toISOString()).toBe('2026-12-06T10:00:00.000Z');
  });
});
