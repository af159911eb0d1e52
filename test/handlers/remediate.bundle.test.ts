/**
 * Bundle smoke test: the remediate handler bundled exactly as the stack bundles it (infra/bundling.ts),
 * imported as Lambda imports it (an ES module, in a fresh Node.js process) and invoked with sample events.
 * No AWS is reached: the events stop before the first AWS call, or at the configuration check.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleEntry } from '../../bench/bundle';
import { ENV, HANDLER_ENTRIES } from '../../functions/commons/constants';
import { eventBridgeEvent } from '../helpers/denials';

let dir: string;
let bundle: string;

// esbuild and a fresh Node.js process take a few seconds: a generous bound, not a timing assertion.
jest.setTimeout(60_000);

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'keymend-remediate-'));
  ({ file: bundle } = await bundleEntry(HANDLER_ENTRIES.remediate, dir, 'remediate'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const INVOKE = `
const { handler } = await import(process.env.BUNDLE);
const context = {
  functionName: 'remediate', functionVersion: '$LATEST', memoryLimitInMB: '512', awsRequestId: 'req-1',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:remediate',
  getRemainingTimeInMillis: () => 30000,
};
try {
  process.stdout.write('RESULT ' + JSON.stringify(await handler(JSON.parse(process.env.EVENT), context)) + '\\n');
} catch (error) {
  process.stdout.write('ERROR ' + JSON.stringify({ name: error.name, message: error.message }) + '\\n');
}
`;

function invoke(event: unknown, env: Record<string, string>): string {
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', INVOKE], {
    env: {
      PATH: process.env.PATH ?? '',
      BUNDLE: bundle,
      EVENT: JSON.stringify(event),
      AWS_REGION: 'us-east-1',
      ...env,
    },
    encoding: 'utf8',
  });
  return (
    run.stdout.split('\n').find((line) => line.startsWith('RESULT ') || line.startsWith('ERROR ')) ??
    run.stderr
  );
}

const CONFIGURED = {
  [ENV.tableName]: 'keymend',
  [ENV.emailTopicArn]: 'arn:aws:sns:us-east-1:111122223333:keymend-email',
  [ENV.decisionKeyId]: 'arn:aws:kms:us-east-1:111122223333:key/1111aaaa-22bb-33cc-44dd-555555eeeeee',
  [ENV.approvalUrl]: 'https://abc.lambda-url.us-east-1.on.aws',
  [ENV.retiringPrincipal]: 'arn:aws:iam::111122223333:role/keymend/KeymendApprovalRole',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

describe('the remediate bundle', () => {
  it('handles an event that is not a denial, with no AWS call', () => {
    const line = invoke(eventBridgeEvent('kms-key-rotation.eventbridge.json'), CONFIGURED);
    expect(JSON.parse(line.slice('RESULT '.length))).toEqual({
      outcome: 'ignored',
      reason: expect.stringMatching(/^not-cloudtrail/),
    });
  });

  it('fails with the name of a missing variable', () => {
    const { [ENV.decisionKeyId]: _missing, ...rest } = CONFIGURED;
    const line = invoke(eventBridgeEvent('consumer-decrypt-denied-service-role.eventbridge.json'), rest);
    expect(JSON.parse(line.slice('ERROR '.length))).toEqual({
      name: 'ConfigError',
      message: expect.stringMatching(new RegExp(`^${ENV.decisionKeyId}: required`)),
    });
  });
});
