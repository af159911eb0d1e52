/**
 * `keymend local`: the whole system on one machine. The real handlers run with local backends:
 * dynalite in-process (the real store code against the DynamoDB API), the snapshot account
 * (LocalAccount: reads from the snapshot, writes change it as AWS would), an outbox that records every
 * publish, and a random signing key per run. One HTTP server on 127.0.0.1 serves:
 *
 *   POST /_local/events   an EventBridge event or an array of them: the remediate handler once per event,
 *                         answering a JSON array of results `{"outcome", "proposalId"?, "reason"?}`
 *   GET  /_local/outbox   every publish so far, in order: `[{"topic", "subject", "message"}]`
 *   GET  /_local/account  the account now, in the snapshot format
 *   GET  /_local/stats    `{"aws": {"iam:GetRole": n, ...}, "dynamodb": n, "publishes": n}`
 *   anything else         the approval function, as its function URL serves it (404 until it exists)
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inProcessLinkSigner } from '../../functions/adapters/link-signer';
import { LocalAccount } from '../../functions/adapters/local-account';
import { countRequests } from '../../functions/adapters/request-counter';
import { OidcSignIn } from '../../functions/adapters/sign-in';
import { createTable, DynamoProposalStore } from '../../functions/adapters/store';
import { ENV } from '../../functions/commons/constants';
import { CALLBACK_PATH } from '../../functions/commons/sign-in';
import type { AccountSnapshot } from '../../functions/core/account';
import { type Config, type Mode, parseConfig } from '../../functions/core/config';
import type { Mechanism } from '../../functions/core/plan';
import type { OutgoingMessage } from '../../functions/core/ports';
import type { FlowContext } from '../../functions/flows/context';
import type { RemediateResult } from '../../functions/flows/remediate';
import { makeHandler, type RemediateEvent } from '../../functions/handlers/remediate';
import type { SignInGate } from '../../functions/handlers/sign-in';
import { type FunctionUrlHandler, functionUrlEvent, writeResult } from './function-url';
import { type LocalIdentityProvider, startIdentityProvider } from './identity-provider';

export interface LocalOptions {
  snapshot: AccountSnapshot;
  /** 0 picks a free port. @default 8787 */
  port?: number;
  /** @default 'propose' */
  mode?: Mode;
  /** ARN patterns auto mode may fix. */
  autoApplyPrincipals?: string[];
  /** The mechanism to try first; key-policy-statement also enables it. @default 'kms-grant' */
  prefer?: Mechanism;
  /** Where log lines go (one JSON object per line). @default standard error */
  log?: (line: string) => void;
  /** The clock of the handlers and the store. @default the system clock */
  now?: () => Date;
  /**
   * Turns sign-in on against an in-process OpenID provider (cli/local/identity-provider.ts): anyone may
   * sign in with any address; only these addresses may approve, reject or revoke.
   */
  approvers?: string[];
}

export interface LocalStats {
  aws: Record<string, number>;
  dynamodb: number;
  publishes: number;
}

export interface LocalRuntime {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  config: Config;
  /** With `approvers`: the in-process identity provider's issuer URL. */
  identityProvider: string | null;
  outbox(): OutgoingMessage[];
  stats(): LocalStats;
  account(): AccountSnapshot;
  /** Stops the server and dynalite. */
  close(): Promise<void>;
}

/** The approval function's handler file; served when it exists. */
const APPROVAL_MODULE = path.join(__dirname, '../../functions/handlers/approval');
/** Largest request body accepted (a thousand events are a few MB). */
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const TABLE_NAME = 'keymend-local';
/** How many events of one POST are handled at once. */
const CONCURRENCY = 8;

interface DynaliteServer {
  listen(port: number, host: string, callback: (error?: Error) => void): void;
  address(): AddressInfo;
  close(callback: (error?: Error) => void): void;
}

async function startDynalite(): Promise<{ endpoint: string; close(): Promise<void> }> {
  // dynalite ships no types.
  const dynalite = require('dynalite') as (options: Record<string, number>) => DynaliteServer;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) =>
    server.listen(0, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
  );
  return {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function logger(write: (line: string) => void) {
  const at =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      try {
        write(JSON.stringify({ level, message, ...fields }, errorFields));
      } catch {
        // Logging never fails a request.
      }
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function errorFields(_key: string, value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error(`the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  response.statusCode = status;
  response.setHeader('content-type', 'application/json');
  response.setHeader('cache-control', 'no-store');
  response.end(JSON.stringify(value));
}

/** Loads the approval function's handler when its file exists, giving it the same backends. */
function loadApproval(deps: {
  ports: FlowContext;
  config: Config;
  logger: ReturnType<typeof logger>;
  signIn: SignInGate | null;
}) {
  if (!existsSync(`${APPROVAL_MODULE}.ts`) && !existsSync(`${APPROVAL_MODULE}.js`)) return null;
  const module = require(APPROVAL_MODULE) as { makeHandler?: (deps: unknown) => FunctionUrlHandler };
  if (typeof module.makeHandler !== 'function') return null;
  return module.makeHandler({
    ...deps.ports,
    ports: deps.ports,
    config: deps.config,
    logger: deps.logger,
    signIn: deps.signIn,
  });
}

/** The functions' configuration for a local run, checked as the deployed functions check theirs. */
function localConfig(options: LocalOptions, account: LocalAccount, approvalUrl: string): Config {
  const prefer = options.prefer ?? 'kms-grant';
  return parseConfig({
    [ENV.tableName]: TABLE_NAME,
    [ENV.emailTopicArn]: `arn:aws:sns:${account.region}:${account.accountId}:keymend-local-email`,
    [ENV.chatTopicArn]: `arn:aws:sns:${account.region}:${account.accountId}:keymend-local-chat`,
    [ENV.decisionKeyId]: `arn:aws:kms:${account.region}:${account.accountId}:key/00000000-0000-4000-8000-0000000000d1`,
    [ENV.approvalUrl]: approvalUrl,
    [ENV.retiringPrincipal]: account.caller,
    [ENV.mode]: options.mode ?? 'propose',
    [ENV.autoApplyPrincipals]: (options.autoApplyPrincipals ?? []).join(','),
    [ENV.preferMechanism]: prefer,
    // Preferring a key-policy statement says it may be proposed; it is still applied only on approval.
    ...(prefer === 'key-policy-statement'
      ? { [ENV.enabledMechanisms]: 'kms-grant,iam-inline-policy,key-policy-statement' }
      : {}),
  });
}

/** Starts keymend on this machine. Close it with `close()`. */
export async function startLocal(options: LocalOptions): Promise<LocalRuntime> {
  const log = logger(options.log ?? ((line) => process.stderr.write(`${line}\n`)));
  const now = options.now ?? (() => new Date());
  const account = new LocalAccount(options.snapshot);
  // Checked before anything starts, so a bad option leaves nothing running.
  localConfig(options, account, 'http://127.0.0.1');

  const dynalite = await startDynalite();
  const dynamodb = new DynamoDBClient({
    endpoint: dynalite.endpoint,
    region: account.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const dynamodbRequests = countRequests(dynamodb);
  const server: Server = createServer();
  try {
    await createTable(dynamodb, TABLE_NAME);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 8787, '127.0.0.1', () => resolve());
    });
  } catch (error) {
    // A port in use, say: stop what was started before failing.
    dynamodb.destroy();
    await dynalite.close();
    throw error;
  }
  // The table's creation is the runtime's, not the handlers': count from here.
  const dynamodbBaseline = dynamodbRequests.total();
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const config = localConfig(options, account, url);

  const outbox: OutgoingMessage[] = [];
  // Two in-process signing keys, separated as the deployed KMS HMAC keys are: the remediate function
  // signs approve and reject links only; the approval function also signs (and checks) revoke links.
  const keys = { decision: randomBytes(32), revoke: randomBytes(32) };
  const ports: FlowContext = {
    store: new DynamoProposalStore(dynamodb, TABLE_NAME),
    reader: account,
    writer: account,
    publisher: {
      async publish(message) {
        outbox.push({ topic: message.topic, subject: message.subject, message: message.message });
      },
    },
    signer: inProcessLinkSigner({ decision: keys.decision }),
    now,
  };
  const approvalPorts: FlowContext = { ...ports, signer: inProcessLinkSigner(keys) };
  const remediate = makeHandler({ config, logger: log, ports: () => ports });
  let identityProvider: LocalIdentityProvider | null = null;
  let signIn: SignInGate | null = null;
  if (options.approvers && options.approvers.length > 0) {
    try {
      identityProvider = await startIdentityProvider({
        redirectUri: `${url}${CALLBACK_PATH}`,
        log: (message) => log.warn(message),
      });
    } catch (error) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      dynamodb.destroy();
      await dynalite.close();
      throw error;
    }
    const idp = identityProvider;
    const rule = { emails: options.approvers, groups: [] };
    const client = new OidcSignIn({
      issuer: idp.issuer,
      clientId: idp.clientId,
      clientSecret: async () => idp.clientSecret,
      rule,
      allowHttpIssuer: true,
      now,
    });
    signIn = { rule, client: async () => client };
  }
  const approval = loadApproval({ ports: approvalPorts, config, logger: log, signIn });

  const invoke = async (event: unknown): Promise<RemediateResult> => {
    try {
      return await remediate(event as RemediateEvent);
    } catch (error) {
      return {
        outcome: 'failed',
        reason: `the remediate function failed: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
  };

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    void (async () => {
      const { pathname } = new URL(request.url ?? '/', url);
      const method = request.method ?? 'GET';
      try {
        if (pathname === '/_local/events' && method === 'POST') {
          let parsed: unknown;
          try {
            parsed = JSON.parse((await readBody(request)).toString('utf8'));
          } catch (error) {
            return sendJson(response, 400, { error: `the body is not JSON: ${(error as Error).message}` });
          }
          const events = Array.isArray(parsed) ? parsed : [parsed];
          // EventBridge invokes the function concurrently: so do we, a few at a time, results in order.
          const results: RemediateResult[] = new Array(events.length);
          let next = 0;
          const worker = async () => {
            for (let i = next++; i < events.length; i = next++) results[i] = await invoke(events[i]);
          };
          await Promise.all(Array.from({ length: Math.min(CONCURRENCY, events.length) }, worker));
          return sendJson(response, 200, results);
        }
        if (pathname.startsWith('/_local/')) {
          if (method !== 'GET') return sendJson(response, 405, { error: `${method} is not allowed here` });
          if (pathname === '/_local/outbox') return sendJson(response, 200, outbox);
          if (pathname === '/_local/account') return sendJson(response, 200, account.snapshot());
          if (pathname === '/_local/stats') return sendJson(response, 200, stats());
          return sendJson(response, 404, { error: 'not found' });
        }
        if (!approval) return sendJson(response, 404, { error: 'not found (no approval function yet)' });
        const body = await readBody(request);
        return writeResult(response, await approval(functionUrlEvent(request, body, now())));
      } catch (error) {
        log.error('request failed', { method, path: pathname, error });
        if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
        else response.end();
      }
    })();
  });

  const stats = (): LocalStats => ({
    aws: account.stats(),
    dynamodb: dynamodbRequests.total() - dynamodbBaseline,
    publishes: outbox.length,
  });
  log.info('keymend local is ready', {
    url,
    mode: config.mode,
    account: account.accountId,
    ...(identityProvider ? { identityProvider: identityProvider.issuer, approvers: options.approvers } : {}),
  });

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    config,
    identityProvider: identityProvider?.issuer ?? null,
    outbox: () => structuredClone(outbox),
    stats,
    account: () => account.snapshot(),
    close() {
      closing ??= (async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        dynamodb.destroy();
        await dynalite.close();
        await identityProvider?.close();
      })();
      return closing;
    },
  };
}
