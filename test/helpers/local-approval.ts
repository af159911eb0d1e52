/**
 * A small stand-in for `keymend local` with the same HTTP contract (POST /_local/events, GET
 * /_local/outbox, GET /_local/account; every other path the approval handler), so the browser test can
 * run before the real one is wired. It uses the real approval handler and the real in-memory account
 * (LocalAccount); the remediate side is only the intake, the diagnosis and the links, and apply and
 * revoke are the recording doubles of test/helpers/approval.ts (grants only).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { LocalAccount } from '../../functions/adapters/local-account';
import { parseSnapshot } from '../../functions/adapters/snapshot';
import { diagnose } from '../../functions/core/diagnose';
import { gatherState } from '../../functions/core/gather';
import { intake } from '../../functions/core/intake';
import type { FlowPorts } from '../../functions/core/ports';
import { fingerprintOf, type Proposal, planHash } from '../../functions/core/proposal';
import { makeHandler } from '../../functions/handlers/approval';
import { fixedSecret, MemoryStore, RecordingPublisher, recordingSteps } from './approval';
import { loadEvent } from './events';

const CLOCK = '2026-12-03T09:00:00.000Z';

export interface LocalApproval {
  url: string;
  stop(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Starts the stand-in on 127.0.0.1 with a free port. */
export async function startLocalApproval(snapshotJson: unknown): Promise<LocalApproval> {
  const account = new LocalAccount(parseSnapshot(snapshotJson));
  const store = new MemoryStore();
  const { steps } = recordingSteps();
  const publisher = new RecordingPublisher();
  const ports: FlowPorts = {
    store,
    reader: account,
    writer: account,
    publisher,
    secret: fixedSecret,
    // A fixed clock keeps the page (and the screenshot the browser test takes of it) the same every run.
    now: () => new Date(CLOCK),
  };
  let url = '';
  const config = {
    approvalUrl: '',
    enabledMechanisms: ['kms-grant'],
    rejectSuppressHours: 168,
    linkTtlHours: 72,
  };
  let handler: ReturnType<typeof makeHandler> | undefined;
  const build = () =>
    makeHandler({
      ports,
      config,
      steps,
      logger: { info: () => {}, warn: () => {}, error: (m, f) => console.error(m, f) },
    });
  let next = 0;

  async function propose(event: unknown) {
    const read = intake(event);
    if (!read.match) return { outcome: 'ignored' };
    const request = read.request;
    const state = await gatherState(account, request);
    const result = diagnose(request, state);
    if (result.verdict !== 'propose') return { outcome: 'refused', reason: result.reason };
    const scope = {
      accountId: request.accountId,
      region: request.region,
      principalArn: request.principalArn,
      operation: request.operation,
      keyArn: state.key?.arn ?? '',
      streamArn: request.streamArn ?? '',
    };
    const now = new Date(CLOCK);
    const proposal: Proposal = {
      id: `p-${(++next).toString().padStart(4, '0')}-${Math.random().toString(36).slice(2, 10)}`,
      fingerprint: fingerprintOf(scope),
      scope,
      status: 'pending',
      verdict: 'propose',
      code: 'propose',
      reason: result.reason,
      request,
      keyAliases: state.key?.aliases ?? [],
      diagnosis: result.diagnosis,
      plan: result.plan,
      planHash: planHash(result.plan),
      proof: result.proof,
      count: 1,
      firstSeen: now.toISOString(),
      lastSeen: now.toISOString(),
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 72 * 3_600_000).toISOString(),
      ttl: Math.floor(now.getTime() / 1000) + 30 * 86400,
      audit: [],
    };
    await store.createProposal(proposal, new Date(proposal.expiresAt));
    await steps.notify(ports, 'proposed', proposal, {
      settings: { baseUrl: url, ttlHours: 72 },
      expiresAt: new Date(proposal.expiresAt),
    });
    return { outcome: 'proposed', proposalId: proposal.id };
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const target = new URL(req.url ?? '/', url);
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (target.pathname === '/_local/events' && req.method === 'POST') {
        const parsed = JSON.parse(body.toString('utf8'));
        const events = Array.isArray(parsed) ? parsed : [parsed];
        const results = [];
        for (const event of events) results.push(await propose(event));
        return json(200, results);
      }
      if (target.pathname === '/_local/outbox') return json(200, publisher.sent);
      if (target.pathname === '/_local/account') return json(200, account.snapshot());
      const event = {
        version: '2.0',
        routeKey: '$default',
        rawPath: target.pathname,
        rawQueryString: target.search.replace(/^\?/, ''),
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
        requestContext: {
          http: {
            method: req.method ?? 'GET',
            path: target.pathname,
            protocol: 'HTTP/1.1',
            sourceIp: req.socket.remoteAddress ?? '',
            userAgent: req.headers['user-agent'] ?? '',
          },
        },
        isBase64Encoded: true,
        body: body.toString('base64'),
      } as unknown as APIGatewayProxyEventV2;
      if (!handler) throw new Error('not started');
      const result = await handler(event);
      res.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
      res.end(result.body ?? '');
    })().catch((error) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  config.approvalUrl = url;
  handler = build();
  return {
    url,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The sample the browser test sends. */
export function sampleDenial(): Record<string, unknown> {
  return loadEvent('consumer-decrypt-denied-service-role.eventbridge.json');
}
