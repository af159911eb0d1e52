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
 *   GET  /_local/accounts every account now (several snapshots), the first one first
 *   GET  /_local/stats    `{"aws": {"iam:GetRole": n, ...}, "dynamodb": n, "publishes": n}`
 *   anything else         the approval function, as its function URL serves it
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inProcessLinkSigner } from '../../functions/adapters/link-signer';
import { LocalAccount } from '../../functions/adapters/local-account';
import { countRequests } from '../../functions/adapters/request-counter';
import { OidcSignIn } from '../../functions/adapters/sign-in';
import { createTable, DynamoProposalStore } from '../../functions/adapters/store';
import { ENV } from '../../functions/commons/constants';
import { UsageError } from '../../functions/commons/errors';
import { CALLBACK_PATH } from '../../functions/commons/sign-in';
import type { AccountSnapshot } from '../../functions/core/account';
import { type Config, type Mode, parseConfig } from '../../functions/core/config';
import type { Mechanism } from '../../functions/core/plan';
import type { AccountDirectory, OutgoingMessage } from '../../functions/core/ports';
import type { FlowContext } from '../../functions/flows/context';
import { newWarmRepeats, type RemediateResult, writeBackDue } from '../../functions/flows/remediate';
import { makeHandler as makeApprovalHandler } from '../../functions/handlers/approval';
import { type Logger, lineLogger } from '../../functions/handlers/logger';
import { makeHandler as makeRemediateHandler, type RemediateEvent } from '../../functions/handlers/remediate';
import type { SignInGate } from '../../functions/handlers/sign-in';
import { type FunctionUrlHandler, functionUrlEvent, writeResult } from './function-url';
import { type LocalIdentityProvider, startIdentityProvider } from './identity-provider';

export interface LocalOptions {
  /** The account keymend runs in. */
  snapshot: AccountSnapshot;
  /**
   * Other accounts of the organization (`--account` given more than once), each its own snapshot:
   * keymend reads and writes them as an organization deployment's hub does its member accounts, and
   * refuses a denial whose caller or key owner is outside the first snapshot's organization.
   */
  others?: AccountSnapshot[];
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
  /** Every account now, the first one first (one entry without `others`). */
  accounts(): AccountSnapshot[];
  /**
   * Writes back every repeat the remediate function counted in memory and has not written yet (a
   * deployed function writes them back within a minute, or when the problem's state matters).
   */
  writeBack(): Promise<void>;
  /** Stops the server and dynalite (after writeBack). */
  close(): Promise<void>;
}

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

/** The functions' configuration for a local run, checked as the deployed functions check theirs. */
function localConfig(options: LocalOptions, account: LocalAccount, approvalUrl: string): Config {
  const prefer = options.prefer ?? 'kms-grant';
  // Several accounts: a cross-account fix holds a key-policy statement, applied only on approval.
  const keyPolicy = prefer === 'key-policy-statement' || (options.others ?? []).length > 0;
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
    // Grants and inline policies, as a deployment with enableInlinePolicy. Preferring a key-policy
    // statement says it may be proposed; it is still applied only on approval.
    [ENV.enabledMechanisms]: keyPolicy
      ? 'kms-grant,iam-inline-policy,key-policy-statement'
      : 'kms-grant,iam-inline-policy',
  });
}

/** dynalite with keymend's table, and the DynamoDB client the store uses on it. */
interface LocalDynamo {
  client: DynamoDBClient;
  /** DynamoDB requests the handlers made (the table's creation is the runtime's, not counted). */
  requests(): number;
  close(): Promise<void>;
}

/** Starts dynalite and creates the table; nothing is left running when that fails. */
async function startDynamo(region: string): Promise<LocalDynamo> {
  const dynalite = await startDynalite();
  const client = new DynamoDBClient({
    endpoint: dynalite.endpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const counted = countRequests(client);
  const close = async () => {
    client.destroy();
    await dynalite.close();
  };
  try {
    await createTable(client, TABLE_NAME);
  } catch (error) {
    await close();
    throw error;
  }
  const baseline = counted.total();
  return { client, requests: () => counted.total() - baseline, close };
}

/** Listens on 127.0.0.1:`port` (0 picks a free one) and gives the port taken. */
async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/**
 * The flows' ports on this machine: the store on dynalite, the snapshot account, an outbox, and two
 * in-process signing keys, separated as the deployed KMS HMAC keys are: the remediate function signs
 * approve and reject links only; the approval function also signs (and checks) revoke links.
 */
function localPorts(
  account: LocalAccount,
  others: LocalAccount[],
  dynamo: LocalDynamo,
  outbox: OutgoingMessage[],
  now: () => Date,
): { remediate: FlowContext; approval: FlowContext } {
  const keys = { decision: randomBytes(32), revoke: randomBytes(32) };
  const remediate: FlowContext = {
    store: new DynamoProposalStore(dynamo.client, TABLE_NAME),
    reader: account,
    writer: account,
    ...(others.length > 0 ? { accounts: localDirectory(account, others) } : {}),
    publisher: {
      async publish(message) {
        outbox.push({ topic: message.topic, subject: message.subject, message: message.message });
      },
    },
    signer: inProcessLinkSigner({ decision: keys.decision }),
    now,
    // One process is one warm execution environment of the remediate function.
    warm: newWarmRepeats(),
  };
  const { warm: _remediateOnly, ...shared } = remediate;
  return { remediate, approval: { ...shared, signer: inProcessLinkSigner(keys) } };
}

/**
 * The other snapshots as the organization's member accounts: each account's LocalAccount reads and
 * writes it (the session name, a member role's source identity when deployed, changes nothing here).
 * The organization is the first snapshot's.
 */
function localDirectory(home: LocalAccount, others: LocalAccount[]): AccountDirectory {
  const byId = new Map(others.map((other) => [other.accountId, other]));
  const organizationId = home.snapshot().organization?.id ?? null;
  return {
    organizationId,
    reader: (accountId) => byId.get(accountId) ?? null,
    writer: (accountId) => byId.get(accountId) ?? null,
  };
}

/**
 * The local accounts of a run: the first snapshot and the others, each account once, in one Region.
 * @throws UsageError naming the snapshot that repeats an account or is in another Region, or a first
 * snapshot that names no organization.
 */
function localAccounts(options: LocalOptions): { account: LocalAccount; others: LocalAccount[] } {
  const account = new LocalAccount(options.snapshot);
  const others = (options.others ?? []).map((snapshot) => new LocalAccount(snapshot));
  const seen = new Set([account.accountId]);
  for (const other of others) {
    if (seen.has(other.accountId)) {
      throw new UsageError(
        `--account: two snapshots are of account ${other.accountId}; give each account once`,
      );
    }
    if (other.region !== account.region) {
      throw new UsageError(
        `--account: the snapshot of account ${other.accountId} is in ${other.region}, the first in ${account.region}; give snapshots of one Region`,
      );
    }
    seen.add(other.accountId);
  }
  if (others.length > 0 && typeof options.snapshot.organization?.id !== 'string') {
    throw new UsageError(
      `--account: with several snapshots the first (account ${account.accountId}) must name its organization (organization.id): keymend acts only inside it`,
    );
  }
  return { account, others };
}

/** With `approvers`: the in-process identity provider, and the sign-in gate over it. */
async function startSignIn(
  approvers: string[],
  url: string,
  log: Logger,
  now: () => Date,
): Promise<{ identityProvider: LocalIdentityProvider; signIn: SignInGate }> {
  const identityProvider = await startIdentityProvider({
    redirectUri: `${url}${CALLBACK_PATH}`,
    log: (message) => log.warn(message),
  });
  const rule = { emails: approvers, groups: [] };
  const client = new OidcSignIn({
    issuer: identityProvider.issuer,
    clientId: identityProvider.clientId,
    clientSecret: async () => identityProvider.clientSecret,
    rule,
    allowHttpIssuer: true,
    now,
  });
  return { identityProvider, signIn: { rule, client: async () => client } };
}

/** The AWS call counts of several accounts, added up by call. */
function sumStats(all: Array<Record<string, number>>): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const stats of all) for (const [call, n] of Object.entries(stats)) sum[call] = (sum[call] ?? 0) + n;
  return sum;
}

/** Stops the server: its open connections first, so it closes at once. */
async function stopServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** What the server routes requests to. */
interface LocalApp {
  url: string;
  log: Logger;
  now: () => Date;
  /** The remediate function for one event; a failure becomes a `failed` result. */
  remediate(event: unknown): Promise<RemediateResult>;
  /** The approval function, as its function URL serves it. */
  approval: FunctionUrlHandler;
  /** What each `GET /_local/...` path answers. */
  views: Readonly<Record<string, () => unknown>>;
}

/** The remediate handler over the local ports, answering a failure as a result rather than throwing. */
function remediateLocally(
  config: Config,
  log: Logger,
  ports: FlowContext,
): (event: unknown) => Promise<RemediateResult> {
  const remediate = makeRemediateHandler({ config, logger: log, ports });
  return async (event) => {
    try {
      return await remediate(event as RemediateEvent);
    } catch (error) {
      return {
        outcome: 'failed',
        reason: `the remediate function failed: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
  };
}

/** `POST /_local/events`: each event through the remediate function, the results in order. */
async function postEvents(request: IncomingMessage, response: ServerResponse, app: LocalApp): Promise<void> {
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
    for (let i = next++; i < events.length; i = next++) results[i] = await app.remediate(events[i]);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, events.length) }, worker));
  return sendJson(response, 200, results);
}

/** `/_local/...` other than posting events: the views, read-only. */
function localView(response: ServerResponse, method: string, pathname: string, app: LocalApp): void {
  const view = Object.hasOwn(app.views, pathname) ? app.views[pathname] : undefined;
  if (method !== 'GET') sendJson(response, 405, { error: `${method} is not allowed here` });
  else if (view) sendJson(response, 200, view());
  else sendJson(response, 404, { error: 'not found' });
}

/** One request: the runtime's own paths under `/_local/`, the approval function for the rest. */
async function route(request: IncomingMessage, response: ServerResponse, app: LocalApp): Promise<void> {
  const { pathname } = new URL(request.url ?? '/', app.url);
  const method = request.method ?? 'GET';
  try {
    if (pathname === '/_local/events' && method === 'POST') return await postEvents(request, response, app);
    if (pathname.startsWith('/_local/')) return localView(response, method, pathname, app);
    const body = await readBody(request);
    return writeResult(response, await app.approval(functionUrlEvent(request, body, app.now())));
  } catch (error) {
    app.log.error('request failed', { method, path: pathname, error });
    if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
    else response.end();
  }
}

/** Starts keymend on this machine. Close it with `close()`. */
export async function startLocal(options: LocalOptions): Promise<LocalRuntime> {
  const log = lineLogger(options.log ?? ((line) => process.stderr.write(`${line}\n`)));
  const now = options.now ?? (() => new Date());
  const { account, others } = localAccounts(options);
  // Checked before anything starts, so a bad option leaves nothing running.
  localConfig(options, account, 'http://127.0.0.1');

  const dynamo = await startDynamo(account.region);
  const server: Server = createServer();
  let port: number;
  try {
    port = await listen(server, options.port ?? 8787);
  } catch (error) {
    // A port in use, say: stop what was started before failing.
    await dynamo.close();
    throw error;
  }
  const url = `http://127.0.0.1:${port}`;
  const config = localConfig(options, account, url);
  const outbox: OutgoingMessage[] = [];
  const ports = localPorts(account, others, dynamo, outbox, now);
  let signIn: { identityProvider: LocalIdentityProvider; signIn: SignInGate } | null = null;
  if (options.approvers && options.approvers.length > 0) {
    try {
      signIn = await startSignIn(options.approvers, url, log, now);
    } catch (error) {
      await stopServer(server);
      await dynamo.close();
      throw error;
    }
  }
  const identityProvider = signIn?.identityProvider ?? null;
  const stats = (): LocalStats => ({
    aws: sumStats([account, ...others].map((a) => a.stats())),
    dynamodb: dynamo.requests(),
    publishes: outbox.length,
  });
  const app: LocalApp = {
    url,
    log,
    now,
    remediate: remediateLocally(config, log, ports.remediate),
    approval: makeApprovalHandler({
      ports: ports.approval,
      config,
      logger: log,
      signIn: signIn?.signIn ?? null,
    }),
    views: {
      '/_local/outbox': () => outbox,
      '/_local/account': () => account.snapshot(),
      '/_local/accounts': () => [account, ...others].map((a) => a.snapshot()),
      '/_local/stats': stats,
    },
  };
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    void route(request, response, app);
  });
  log.info('keymend local is ready', {
    url,
    mode: config.mode,
    account: account.accountId,
    ...(others.length > 0 ? { otherAccounts: others.map((o) => o.accountId) } : {}),
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
    accounts: () => [account, ...others].map((a) => a.snapshot()),
    writeBack: () => writeBackDue(ports.remediate, true),
    close() {
      closing ??= (async () => {
        await writeBackDue(ports.remediate, true);
        await stopServer(server);
        await dynamo.close();
        await identityProvider?.close();
      })();
      return closing;
    },
  };
}
