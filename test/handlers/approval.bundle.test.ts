/**
 * Bundle smoke test: the approval function bundled exactly as the stack bundles it (infra/bundling.ts),
 * imported in a fresh Node process as Lambda would, and invoked through its middy handler with
 * function URL events that need no AWS call.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleEntry } from '../../bench/bundle';
import { HANDLER_ENTRIES } from '../../functions/commons/constants';

jest.setTimeout(120_000);

const ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  AWS_LAMBDA_FUNCTION_NAME: 'keymend-approval',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
  KEYMEND_TABLE: 'keymend',
  KEYMEND_EMAIL_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:keymend-email',
  KEYMEND_CHAT_TOPIC_ARN: '',
  KEYMEND_DECISION_KEY_ID: 'arn:aws:kms:us-east-1:111122223333:key/1111aaaa-22bb-33cc-44dd-555555eeeeee',
  KEYMEND_REVOKE_KEY_ID: 'arn:aws:kms:us-east-1:111122223333:key/6666ffff-77aa-88bb-99cc-000000111111',
  KEYMEND_RETIRING_PRINCIPAL: 'arn:aws:iam::111122223333:role/keymend/KeymendApprovalRole',
  // No KEYMEND_APPROVAL_URL: the stack cannot give a function its own URL; the request's domain is used.
};

let bundle: string;
beforeAll(async () => {
  ({ file: bundle } = await bundleEntry(
    HANDLER_ENTRIES.approval,
    mkdtempSync(path.join(tmpdir(), 'keymend-approval-')),
    'approval',
  ));
});

/** Imports the bundle in a fresh process and invokes its handler with a GET of `rawPath`. */
function invoke(
  rawPath: string,
  env: Record<string, string>,
): { statusCode: number; headers: Record<string, string>; body: string } {
  const event = {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: '',
    headers: { 'user-agent': 'smoke' },
    requestContext: {
      domainName: 'abcdefghij.lambda-url.us-east-1.on.aws',
      http: { method: 'GET', path: rawPath, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'smoke' },
    },
    isBase64Encoded: false,
  };
  const context = {
    functionName: 'keymend-approval',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:keymend-approval',
    memoryLimitInMB: '256',
    awsRequestId: 'smoke-1',
    getRemainingTimeInMillis: () => 10_000,
  };
  const script = `const m = await import(${JSON.stringify(bundle)});
const context = ${JSON.stringify(context)};
context.getRemainingTimeInMillis = () => 10000;
const result = await m.handler(${JSON.stringify(event)}, context);
process.stdout.write(JSON.stringify(result));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`the bundle failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

describe('approval function bundle', () => {
  it('answers a path that is not a proposal with 404 and the security headers, with no AWS call', () => {
    const result = invoke('/favicon.ico', ENV);
    expect(result.statusCode).toBe(404);
    expect(result.headers['Content-Security-Policy']).toMatch(/^default-src 'none'; style-src 'sha256-/);
    expect(result.headers['Cache-Control']).toBe('no-store');
    expect(result.body).toContain('No such proposal');
  });

  it('answers with the generic 500 page when the configuration is wrong', () => {
    const { KEYMEND_TABLE: _dropped, ...broken } = ENV;
    const result = invoke('/p/abc', broken);
    expect(result.statusCode).toBe(500);
    expect(result.body).not.toContain('KEYMEND_TABLE');
  });
});
