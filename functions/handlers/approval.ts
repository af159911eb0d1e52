/**
 * Lambda entry point behind the approval function URL (issue 10). Wiring only: the event is decoded
 * here, the decision is flows/approve.ts, the page is render/page.ts. Every response carries the
 * security headers; only 4xx pages say why, anything unexpected is a generic 500.
 */
import { createHash } from 'node:crypto';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { Mechanism } from '../core/plan';
import type { FlowPorts } from '../core/ports';
import {
  type ApprovalDeps,
  type ApprovalRequest,
  type ApprovalSettings,
  handleApproval,
} from '../flows/approve';
import type { FlowLog } from '../flows/context';
import { errorPage, PAGE_STYLE, type Page, refusalPage } from '../render/page';
import { functionLogger } from './logger';
import { cookieValues, type SignInGate, signInGateFromEnv, signInStep } from './sign-in';
import { accountIdOf, awsWiring, perAccount, startOnce } from './wiring';

/** The style's hash, for the CSP: the page's one `<style>` is allowed by it and nothing else is. */
export const PAGE_STYLE_HASH = `sha256-${createHash('sha256').update(PAGE_STYLE).digest('base64')}`;

/**
 * Headers on every response. `form-action 'self'` lets the page's own forms post (a CSP of
 * `form-action 'none'` or a sandbox, as some middleware defaults, would stop them); nothing else may
 * load, frame the page, or run.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': `default-src 'none'; style-src '${PAGE_STYLE_HASH}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
};

/** A form larger than this is not one of keymend's (two short fields and a token). */
export const MAX_BODY_BYTES = 8_192;
/** User agents are kept in the audit list: cap what a client can make keymend store. */
const MAX_USER_AGENT = 256;

export type ApprovalEvent = APIGatewayProxyEventV2;
export type ApprovalResult = APIGatewayProxyStructuredResultV2;

/** The part of keymend's configuration (core/config.ts `Config`) the approval function reads. */
export interface ApprovalConfig {
  /** The base URL of the links; '' in the deployed function, which takes its own from each request. */
  approvalUrl: string;
  /** What an approval may apply; key-policy changes only when `key-policy-statement` is enabled. */
  enabledMechanisms: readonly Mechanism[];
  linkTtlHours: number;
  rejectSuppressHours: number;
}

export interface ApprovalHandlerDeps {
  ports: FlowPorts;
  config: ApprovalConfig;
  logger: FlowLog & { error(message: string, fields: Record<string, unknown>): void };
  /**
   * Sign-in with the organization's identity provider (issue 21); null or absent when off (a link alone
   * decides). `keymend local --approvers` passes its in-process provider.
   */
  signIn?: SignInGate | null;
}

/** The flow's settings from the configuration (and who may approve, when sign-in is on). */
export function approvalSettings(config: ApprovalConfig, signIn: SignInGate | null = null): ApprovalSettings {
  return {
    baseUrl: config.approvalUrl,
    enabledMechanisms: config.enabledMechanisms,
    rejectSuppressHours: config.rejectSuppressHours,
    linkTtlHours: config.linkTtlHours,
    signIn: signIn?.rule ?? null,
  };
}

function header(event: ApprovalEvent, name: string): string | undefined {
  const headers = event.headers ?? {};
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

/** The first value of each name in a query string or form. */
function firstValues(text: string): Record<string, string> {
  // No prototype: a field named `__proto__` is just a field.
  const out: Record<string, string> = Object.create(null);
  for (const [name, value] of new URLSearchParams(text)) {
    if (!Object.hasOwn(out, name)) out[name] = value;
  }
  return out;
}

/**
 * The request as the flow reads it, or null when the body is not a form keymend could have sent
 * (too large, or not `application/x-www-form-urlencoded`). Function URLs may base64-encode bodies.
 */
export function toApprovalRequest(event: ApprovalEvent): ApprovalRequest | null {
  const http = event.requestContext?.http;
  const method = (http?.method ?? 'GET').toUpperCase();
  let form: Record<string, string> | null = null;
  if (method === 'POST') {
    const type = (header(event, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') return null;
    const raw = event.body ?? '';
    const body = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
    if (body.length > MAX_BODY_BYTES) return null;
    form = firstValues(body.toString('utf8'));
  }
  return {
    method,
    path: event.rawPath ?? http?.path ?? '/',
    query: firstValues(event.rawQueryString ?? ''),
    form,
    sourceIp: http?.sourceIp ?? '',
    userAgent: (http?.userAgent ?? header(event, 'user-agent') ?? '').slice(0, MAX_USER_AGENT),
  };
}

/** `https://` and the function URL's domain, from the request context. */
function ownUrl(event: ApprovalEvent): string {
  const domain = event.requestContext?.domainName ?? '';
  return domain ? `https://${domain}` : '';
}

function respond(page: Page, head: boolean, cookies: string[] = []): ApprovalResult {
  return {
    statusCode: page.statusCode,
    headers: { ...SECURITY_HEADERS },
    ...(cookies.length > 0 ? { cookies } : {}),
    body: head ? '' : page.html,
  };
}

/** A redirect (to the identity provider, or back to the page), with the cookies to set. */
function redirect(location: string, cookies: string[]): ApprovalResult {
  return { statusCode: 302, headers: { ...SECURITY_HEADERS, Location: location }, cookies, body: '' };
}

/**
 * The handler without middy: what `keymend local` serves for every path but `/_local/*`, and what the
 * tests call. It never throws: an unexpected failure is logged and answered with a generic 500.
 */
export function makeHandler(deps: ApprovalHandlerDeps): (event: ApprovalEvent) => Promise<ApprovalResult> {
  const settings = approvalSettings(deps.config, deps.signIn ?? null);
  const flowFor = (event: ApprovalEvent): ApprovalDeps => ({
    ports: deps.ports,
    // The deployed function cannot have its own URL in its environment (configuration '' there): its
    // links then point where the request came in, the function URL's domain, which AWS sets.
    settings: settings.baseUrl ? settings : { ...settings, baseUrl: ownUrl(event) },
    log: deps.logger,
  });
  return async (event) => {
    const head = (event.requestContext?.http?.method ?? '').toUpperCase() === 'HEAD';
    try {
      const request = toApprovalRequest(event);
      if (!request) return respond(refusalPage('bad-request'), false);
      const flow = flowFor(event);
      if (deps.signIn) {
        const step = await signInStep(
          deps.signIn,
          {
            method: request.method,
            path: request.path,
            query: event.rawQueryString ?? '',
            cookies: cookieValues(event.cookies),
            baseUrl: flow.settings.baseUrl,
          },
          deps.logger,
        );
        if (step.kind === 'redirect') return redirect(step.location, step.cookies);
        if (step.kind === 'failed') return respond(refusalPage('sign-in-failed'), head, step.cookies);
        request.approver = step.approver;
      }
      const response = await handleApproval(flow, request);
      return respond(response, response.head);
    } catch (error) {
      deps.logger.error('approval request failed', {
        error:
          error instanceof Error
            ? { name: error.name, message: error.message, stack: error.stack }
            : String(error),
      });
      return respond(errorPage(), head);
    }
  };
}

const { powertools, logger } = functionLogger('keymend-approval');

/**
 * Cold start (handlers/wiring.ts), once per execution environment, at its first invocation: the
 * configuration, the clients, the link signer (KMS HMAC keys: the decision key and, here only, the revoke key). The
 * stack cannot put a function's own URL in its environment (the URL needs the function first): without
 * it, makeHandler points the links at the function URL each request came to. A configuration error is
 * logged once with the variable's name; every request then gets the generic 500 page.
 */
const wired = startOnce(logger, () => {
  const { config, portsFor, deadline } = awsWiring(process.env, { approvalUrl: 'optional', fn: 'approval' });
  const signIn = signInGateFromEnv(process.env);
  const forAccount = perAccount((accountId) =>
    makeHandler({ ports: portsFor(accountId), config, logger, signIn }),
  );
  return { deadline, forAccount };
});

/** The Lambda handler behind the function URL. */
export const handler = middy<ApprovalEvent, ApprovalResult, Error, Context>()
  .use(injectLambdaContext(powertools))
  .handler(async (event, context) => {
    const current = wired();
    if (!current.ok) return respond(errorPage(), false);
    // Every AWS call of this request stops before Lambda would kill it.
    current.value.deadline.begin(context.getRemainingTimeInMillis());
    return current.value.forAccount(accountIdOf(context))(event);
  });
