/**
 * The approval handler with sign-in on (issue 21), as Lambda invokes it (function URL events, cookies
 * in `event.cookies`, cookies out in the result's `cookies`), against keymend local's OpenID provider:
 * a link opened without a session is a redirect to the provider that writes nothing; a callback that
 * fails a check is a 403 that clears the sign-in cookie; a POST without a session is a 403.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { type LocalIdentityProvider, startIdentityProvider } from '../../cli/local/identity-provider';
import { OidcSignIn } from '../../functions/adapters/sign-in';
import { signToken } from '../../functions/core/token';
import { makeHandler, SECURITY_HEADERS } from '../../functions/handlers/approval';
import { approvalPorts, NOW, SECRET, sampleProposal } from '../helpers/approval';

const BASE = 'https://abc.lambda-url.us-east-1.on.aws';
let idp: LocalIdentityProvider;

beforeAll(async () => {
  idp = await startIdentityProvider({ redirectUri: `${BASE}/auth/callback` });
});
afterAll(async () => {
  await idp?.close();
});

function event(
  method: string,
  rawPath: string,
  query = '',
  body?: string,
  cookies?: string[],
): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: query,
    ...(cookies ? { cookies } : {}),
    headers: body ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abc',
      domainName: 'abc.lambda-url.us-east-1.on.aws',
      domainPrefix: 'abc',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '198.51.100.7', userAgent: 'test' },
      requestId: 'r-1',
      routeKey: '$default',
      stage: '$default',
      time: '03/Dec/2026:09:00:00 +0000',
      timeEpoch: NOW.getTime(),
    },
    isBase64Encoded: false,
    ...(body ? { body } : {}),
  };
}

async function setup() {
  const proposal = await sampleProposal();
  const { ports, store } = approvalPorts();
  await store.createProposal(proposal, new Date('2026-12-06T00:00:00Z'));
  const rule = { emails: ['alice@example.com'], groups: [] };
  const client = new OidcSignIn({
    issuer: idp.issuer,
    clientId: idp.clientId,
    clientSecret: async () => idp.clientSecret,
    rule,
    allowHttpIssuer: true,
  });
  const run = makeHandler({
    ports,
    config: { approvalUrl: '', enabledMechanisms: ['kms-grant'], rejectSuppressHours: 168, linkTtlHours: 72 },
    logger: { info: () => {}, warn: () => {}, error: () => {} },
    signIn: { rule, client: async () => client },
  });
  const token = signToken(SECRET, {
    proposalId: proposal.id,
    action: 'approve',
    planHash: proposal.planHash ?? '',
    expiresAt: Math.floor(NOW.getTime() / 1000) + 600,
  });
  return { run, store, proposal, token };
}

describe('approval handler with sign-in on', () => {
  it('a link opened without a session redirects to the provider, back to this page, and writes nothing', async () => {
    const s = await setup();
    const before = JSON.stringify(await s.store.getProposal(s.proposal.id));
    for (const method of ['GET', 'HEAD']) {
      const result = await s.run(event(method, `/p/${s.proposal.id}`, `a=approve&t=${s.token}`));
      expect(result.statusCode).toBe(302);
      const location = new URL(String(result.headers?.Location));
      expect(location.origin).toBe(idp.issuer);
      expect(location.searchParams.get('redirect_uri')).toBe(`${BASE}/auth/callback`);
      expect(result.headers).toMatchObject(SECURITY_HEADERS);
      expect(result.cookies).toEqual([
        expect.stringMatching(
          /^__Host-keymend-signin=[^;]+; Path=\/; Max-Age=600; HttpOnly; Secure; SameSite=Lax$/,
        ),
      ]);
    }
    expect(JSON.stringify(await s.store.getProposal(s.proposal.id))).toBe(before);
  });

  it('a callback that fails a check is a 403 that clears the sign-in cookie', async () => {
    const s = await setup();
    const result = await s.run(event('GET', '/auth/callback', 'code=stolen&state=forged'));
    expect(result.statusCode).toBe(403);
    expect(result.body).toContain('Sign-in did not complete');
    expect(result.cookies).toEqual([expect.stringMatching(/^__Host-keymend-signin=; Path=\/; Max-Age=0;/)]);
  });

  it('a POST without a session, or with a forged one, is a 403 and changes nothing', async () => {
    const s = await setup();
    const before = JSON.stringify(await s.store.getProposal(s.proposal.id));
    for (const cookies of [undefined, ['__Host-keymend-session=eyJhbGciOiJIUzI1NiJ9.e30.forged']]) {
      const result = await s.run(
        event('POST', `/p/${s.proposal.id}`, '', `a=approve&t=${encodeURIComponent(s.token)}`, cookies),
      );
      expect(result.statusCode).toBe(403);
      expect(result.body).toContain('Sign in first');
    }
    expect(JSON.stringify(await s.store.getProposal(s.proposal.id))).toBe(before);
  });
});
