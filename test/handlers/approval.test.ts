import { createHash } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { signToken } from '../../functions/core/token';
import {
  type ApprovalHandlerDeps,
  MAX_BODY_BYTES,
  makeHandler,
  SECURITY_HEADERS,
} from '../../functions/handlers/approval';
import { functionLogger } from '../../functions/handlers/logger';
import { PAGE_STYLE } from '../../functions/render/page';
import { approvalPorts, grantsIn, NOW, SECRET, sampleProposal } from '../helpers/approval';
import { flowFixture } from '../helpers/flow-ports';

function event(
  method: string,
  rawPath: string,
  options: { query?: string; body?: string; base64?: boolean; contentType?: string } = {},
): APIGatewayProxyEventV2 {
  const body =
    options.body === undefined
      ? undefined
      : options.base64
        ? Buffer.from(options.body).toString('base64')
        : options.body;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: options.query ?? '',
    headers: {
      host: 'abc.lambda-url.us-east-1.on.aws',
      'user-agent': 'Mozilla/5.0 test',
      ...(options.contentType ? { 'content-type': options.contentType } : {}),
    },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abc',
      domainName: 'abc.lambda-url.us-east-1.on.aws',
      domainPrefix: 'abc',
      http: {
        method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: '198.51.100.7',
        userAgent: 'Mozilla/5.0 test',
      },
      requestId: 'r-1',
      routeKey: '$default',
      stage: '$default',
      time: '03/Dec/2026:09:00:00 +0000',
      timeEpoch: NOW.getTime(),
    },
    isBase64Encoded: options.base64 ?? false,
    ...(body === undefined ? {} : { body }),
  };
}

async function setup() {
  const proposal = await sampleProposal();
  const { ports, store, publisher, account } = approvalPorts();
  await store.createProposal(proposal, new Date('2026-12-06T00:00:00Z'));
  const errors: unknown[] = [];
  const deps: ApprovalHandlerDeps = {
    ports,
    config: {
      approvalUrl: 'https://x.example',
      enabledMechanisms: ['kms-grant', 'iam-inline-policy'],
      rejectSuppressHours: 168,
      linkTtlHours: 72,
    },
    logger: { info: () => {}, warn: () => {}, error: (_m, fields) => errors.push(fields) },
  };
  const token = signToken(SECRET, {
    proposalId: proposal.id,
    action: 'approve',
    planHash: proposal.planHash ?? '',
    expiresAt: Math.floor(NOW.getTime() / 1000) + 600,
  });
  return { run: makeHandler(deps), deps, store, account, proposal, token, errors, publisher };
}

describe('approval handler', () => {
  it('the CSP names the hash of the page style, and every security header is set', () => {
    const hash = createHash('sha256').update(PAGE_STYLE).digest('base64');
    expect(SECURITY_HEADERS['Content-Security-Policy']).toBe(
      `default-src 'none'; style-src 'sha256-${hash}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    );
    expect(SECURITY_HEADERS['Content-Security-Policy']).not.toContain('unsafe-inline');
  });

  it.each([
    ['GET of a link', () => event('GET', '/p/p-0123456789abcdef', { query: 'a=approve&t=bad' }), 400],
    ['an unknown path', () => event('GET', '/favicon.ico'), 404],
    [
      'a POST that is not a form',
      () => event('POST', '/p/p-0123456789abcdef', { body: '{}', contentType: 'application/json' }),
      400,
    ],
  ])('%s answers %i with all the security headers', async (_name, make, status) => {
    const { run } = await setup();
    const result = await run(make());
    expect(result.statusCode).toBe(status);
    expect(result.headers).toEqual(SECURITY_HEADERS);
  });

  it('GET renders; HEAD sends the same status and headers with no body, and neither writes', async () => {
    const s = await setup();
    const before = s.store.dump();
    const query = `a=approve&t=${s.token}`;
    const got = await s.run(event('GET', `/p/${s.proposal.id}`, { query }));
    const head = await s.run(event('HEAD', `/p/${s.proposal.id}`, { query }));
    expect(got.statusCode).toBe(200);
    expect(got.body).toContain('>Approve</button>');
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers).toEqual(SECURITY_HEADERS);
    expect(s.store.dump()).toBe(before);
  });

  it('reads a base64-encoded form body, and audits the source IP and user agent', async () => {
    const s = await setup();
    const body = new URLSearchParams({ a: 'approve', t: s.token }).toString();
    const result = await s.run(
      event('POST', `/p/${s.proposal.id}`, {
        body,
        base64: true,
        contentType: 'application/x-www-form-urlencoded; charset=UTF-8',
      }),
    );
    expect(result.statusCode).toBe(200);
    expect(grantsIn(s.account)).toBe(1);
    expect(s.store.proposals.get(s.proposal.id)?.audit[0]).toMatchObject({
      action: 'approve',
      outcome: 'accepted',
      sourceIp: '198.51.100.7',
      userAgent: 'Mozilla/5.0 test',
    });
  });

  it('without a configured URL (the deployed function), links point at the function URL the request came to', async () => {
    const s = await setup();
    const run = makeHandler({ ...s.deps, config: { ...s.deps.config, approvalUrl: '' } });
    const body = new URLSearchParams({ a: 'approve', t: s.token }).toString();
    const result = await run(
      event('POST', `/p/${s.proposal.id}`, { body, contentType: 'application/x-www-form-urlencoded' }),
    );
    expect(result.statusCode).toBe(200);
    expect(s.publisher.emails[0]?.message).toContain(
      `https://abc.lambda-url.us-east-1.on.aws/p/${s.proposal.id}?a=revoke&t=`,
    );
  });

  it('refuses an oversized form without reading it', async () => {
    const s = await setup();
    const body = `a=approve&t=${'x'.repeat(MAX_BODY_BYTES)}`;
    const result = await s.run(
      event('POST', `/p/${s.proposal.id}`, { body, contentType: 'application/x-www-form-urlencoded' }),
    );
    expect(result.statusCode).toBe(400);
    expect(s.account.stats()['kms:CreateGrant']).toBeUndefined();
  });

  it('answers an unexpected failure with a generic 500 and logs it', async () => {
    const s = await setup();
    s.deps.ports.signer = {
      keys: ['decision', 'revoke'],
      sign: async () => {
        throw new Error('KMS is down: arn:aws:kms:us-east-1:111122223333:key/secret-detail');
      },
      verify: async () => {
        throw new Error('KMS is down: arn:aws:kms:us-east-1:111122223333:key/secret-detail');
      },
    };
    const result = await makeHandler(s.deps)(
      event('GET', `/p/${s.proposal.id}`, { query: `a=approve&t=${s.token}` }),
    );
    expect(result.statusCode).toBe(500);
    expect(result.body).not.toContain('secrets manager');
    expect(result.headers).toEqual(SECURITY_HEADERS);
    expect(s.errors).toHaveLength(1);
  });
});

describe('approval handler logs', () => {
  it("writes hostile request text as one line of printable ASCII, through the function's logger", async () => {
    const written: string[] = [];
    // Powertools writes warnings and errors to standard error, the rest to standard output.
    for (const stream of [process.stdout, process.stderr]) {
      jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });
    }
    try {
      const handler = makeHandler({
        ports: flowFixture().ports,
        config: {
          approvalUrl: 'https://abc.lambda-url.us-east-1.on.aws',
          enabledMechanisms: ['kms-grant'],
          linkTtlHours: 72,
          rejectSuppressHours: 168,
        },
        logger: functionLogger('keymend-approval').logger,
      });
      const request = event('POST', '/p/p-0123456789abcdef', {
        body: 'a=approve&t=not-a-token',
        contentType: 'application/x-www-form-urlencoded',
      });
      if (request.requestContext.http) {
        request.requestContext.http.userAgent = `evil\u2028\u202e\n{"level":"ERROR","message":"forged"}`;
      }
      expect((await handler(request)).statusCode).toBeGreaterThanOrEqual(400);
    } finally {
      jest.restoreAllMocks();
    }
    expect(written).toHaveLength(1);
    const line = (written[0] ?? '').replace(/\n$/, '');
    expect(line).toMatch(/^[\x20-\x7e]+$/);
    const parsed = JSON.parse(line);
    expect(parsed).toMatchObject({
      level: 'WARN',
      message: 'approval token refused',
      sourceIp: '198.51.100.7',
    });
    expect(parsed.userAgent).toBe('evil\\u2028\\u202e\\u000a{"level":"ERROR","message":"forged"}');
  });
});
