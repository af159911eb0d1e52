import type { Context } from 'aws-lambda';
import { ENV } from '../../functions/commons/constants';
import { makeHandler, type RemediateEvent } from '../../functions/handlers/remediate';
import { eventBridgeEvent, otherSession, STORM_EVENT } from '../helpers/denials';
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
    const handler = makeHandler({ config: TEST_CONFIG, logger, ports: () => f.ports });
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
    const handler = makeHandler({ config: TEST_CONFIG, logger, ports: () => f.ports });
    for (const event of [
      null,
      'text',
      { detail: 7 },
      eventBridgeEvent('kms-key-rotation.eventbridge.json'),
    ]) {
      expect((await handler(event as unknown as RemediateEvent)).outcome).toBe('ignored');
    }
  });

  it('a failing store is logged and rethrown', async () => {
    const f = flowFixture();
    f.store.claimFingerprint = async () => {
      throw new Error('ProvisionedThroughputExceededException');
    };
    const { lines, logger } = recordingLogger();
    const handler = makeHandler({ config: TEST_CONFIG, logger, ports: () => f.ports });
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
});
