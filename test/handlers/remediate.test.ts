import type { Context } from 'aws-lambda';
import { ENV } from '../../functions/commons/constants';
import { lineLogger } from '../../functions/handlers/logger';
import { makeHandler, type RemediateEvent } from '../../functions/handlers/remediate';
import { eventBridgeEvent, otherSession, STORM_EVENT } from '../helpers/denials';
import { eventNames, loadEvent } from '../helpers/events';
import { flowFixture, TEST_CONFIG } from '../helpers/flow-ports';

function recordingLogger() {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, fields: Record<string, unknown>) => {
    lines.push({ level, message, fields });
  };
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } };
}

describe('remediate handler (makeHandler)', () => {
  it('returns the outcome of each event and logs one line for it', async () => {
    const f = flowFixture();
    const { lines, logger } = recordingLogger();
    const handler = makeHandler({ config: TEST_CONFIG, logger, ports: f.ports });
    const first = await handler(eventBridgeEvent(STORM_EVENT) as RemediateEvent);
    const second = await handler(otherSession(eventBridgeEvent(STORM_EVENT), 1) as RemediateEvent);
    expect(first).toEqual({ outcome: 'proposed', proposalId: expect.any(String) });
    expect(second).toMatchObject({ outcome: 'repeat', proposalId: first.proposalId });
    expect(lines.map((l) => [l.level, l.message, l.fields.outcome])).toEqual([
      ['info', 'remediate outcome', 'proposed'],
      ['info', 'remediate outcome', 'repeat'],
    ]);
    expect(lines[0]?.fields.eventId).toBe('63de5a5c-b37f-498b-a693-115aa8ab17af');
  });

  it('an event that is not a denial is ignored, whatever its shape', async () => {
    const f = flowFixture();
    const { logger } = recordingLogger();
    const handler = makeHandler({ config: TEST_CONFIG, logger, ports: f.ports });
    for (const event of [
      undefined,
      null,
      'text',
      { detail: 7 },
      { id: { toString: 1 }, 'detail-type': 'AWS API Call via CloudTrail', detail: { eventID: 7 } },
      eventBridgeEvent('kms-key-rotation.eventbridge.json'),
    ]) {
      expect((await handler(event as unknown as RemediateEvent)).outcome).toBe('ignored');
    }
  });

  it('answers every sample event and logs one line of printable ASCII for each', async () => {
    const f = flowFixture();
    const lines: string[] = [];
    const handler = makeHandler({
      config: TEST_CONFIG,
      logger: lineLogger((line) => lines.push(line)),
      ports: f.ports,
    });
    const outcomes = new Set<string>();
    for (const name of eventNames()) outcomes.add((await handler(loadEvent(name))).outcome);
    expect(lines).toHaveLength(eventNames().length);
    for (const line of lines) expect(line).toMatch(/^[\x20-\x7e]+$/);
    // Not vacuous: the samples hold denials keymend acts on and events it ignores.
    expect([...outcomes]).toEqual(expect.arrayContaining(['ignored', 'proposed']));
  });

  it('returns the outcome even when writing the log line throws', async () => {
    const f = flowFixture();
    const logger = lineLogger(() => {
      throw new Error('EPIPE');
    });
    const handler = makeHandler({ config: TEST_CONFIG, logger, ports: f.ports });
    await expect(handler(eventBridgeEvent(STORM_EVENT) as RemediateEvent)).resolves.toMatchObject({
      outcome: 'proposed',
    });
  });

  it('a failing store is logged and rethrown', async () => {
    const f = flowFixture();
    f.store.claimDenial = async () => {
      throw new Error('ProvisionedThroughputExceededException');
    };
    const { lines, logger } = recordingLogger();
    const handler = makeHandler({ config: TEST_CONFIG, logger, ports: f.ports });
    await expect(handler(eventBridgeEvent(STORM_EVENT) as RemediateEvent)).rejects.toThrow(/Throughput/);
    expect(lines.map((l) => [l.level, l.message])).toEqual([['error', 'remediate failed']]);
  });
});

describe('remediate handler (the Lambda entry)', () => {
  it('a bad environment variable fails the invocation with its name', async () => {
    const saved = { ...process.env };
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    for (const name of Object.values(ENV)) delete process.env[name];
    process.env[ENV.tableName] = 'keymend';
    try {
      let module: typeof import('../../functions/handlers/remediate') | undefined;
      jest.isolateModules(() => {
        module = require('../../functions/handlers/remediate');
      });
      const context = {
        invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:remediate',
      } as Context;
      const invocation = module?.handler(eventBridgeEvent(STORM_EVENT) as RemediateEvent, context);
      // isolateModules loads its own copy of the errors module: compare by name.
      await expect(invocation).rejects.toMatchObject({ name: 'ConfigError', variable: ENV.emailTopicArn });
      await expect(invocation).rejects.toThrow(new RegExp(`^${ENV.emailTopicArn}: required`));
    } finally {
      process.env = saved;
    }
  });

  it('writes hostile event text as one capped line of printable ASCII', async () => {
    const saved = { ...process.env };
    for (const name of Object.values(ENV)) delete process.env[name];
    Object.assign(process.env, {
      POWERTOOLS_LOG_LEVEL: 'INFO',
      AWS_REGION: 'us-east-1',
      [ENV.tableName]: 'keymend',
      [ENV.emailTopicArn]: 'arn:aws:sns:us-east-1:111122223333:keymend-email',
      [ENV.decisionKeyId]: 'arn:aws:kms:us-east-1:111122223333:key/1111aaaa-22bb-33cc-44dd-555555eeeeee',
      [ENV.approvalUrl]: 'https://abc.lambda-url.us-east-1.on.aws',
      [ENV.retiringPrincipal]: 'arn:aws:iam::111122223333:role/keymend/KeymendApprovalRole',
    });
    const written: string[] = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      let module: typeof import('../../functions/handlers/remediate') | undefined;
      jest.isolateModules(() => {
        module = require('../../functions/handlers/remediate');
      });
      // An event keymend ignores before any AWS call, carrying what an attacker controls.
      const event = eventBridgeEvent('kms-key-rotation.eventbridge.json') as {
        detail: Record<string, unknown>;
      };
      event.detail.eventID = `evil\u2028\u202e\n{"level":"ERROR","message":"forged"}${'x'.repeat(10_000)}`;
      const context = {
        functionName: 'remediate',
        awsRequestId: 'r-1',
        invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:remediate',
        getRemainingTimeInMillis: () => 30_000,
      } as Context;
      await expect(module?.handler(event as RemediateEvent, context)).resolves.toMatchObject({
        outcome: 'ignored',
      });
    } finally {
      jest.restoreAllMocks();
      process.env = saved;
    }
    expect(written).toHaveLength(1);
    const line = (written[0] ?? '').replace(/\n$/, '');
    expect(line).toMatch(/^[\x20-\x7e]+$/);
    expect(line.length).toBeLessThan(3000);
    const parsed = JSON.parse(line);
    expect(parsed).toMatchObject({ level: 'INFO', message: 'remediate outcome', outcome: 'ignored' });
    expect(parsed.eventId).toMatch(/^evil\\u2028\\u202e\\u000a\{"level"/);
  });
});
