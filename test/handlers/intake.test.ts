import { createLogger } from '../../functions/core/log';
import { handler, makeHandler } from '../../functions/handlers/intake';
import { eventNames, loadEvent } from '../helpers/events';

/** makeHandler with a logger that keeps its lines. */
function capturing() {
  const lines: string[] = [];
  const run = makeHandler({ logger: createLogger((line) => lines.push(line)) });
  return { run, lines, parsed: () => lines.map((l) => JSON.parse(l)) };
}

describe('intake handler (inner, without middy)', () => {
  it('logs one line with the match and returns the intake result', async () => {
    const { run, parsed } = capturing();
    const result = await run(loadEvent('consumer-decrypt-denied-service-role.eventbridge.json'));
    expect(result.match).toBe(true);
    expect(parsed()).toEqual([
      {
        level: 'info',
        message: 'intake decision',
        decision: 'match',
        eventBridgeId: '671bb0ce-2fdc-4e13-af61-3c2fff7ed432',
        eventId: '63de5a5c-b37f-498b-a693-115aa8ab17af',
        operation: 'kms:Decrypt',
        principalArn: 'arn:aws:iam::111122223333:role/service-role/orders-consumer',
        principalType: 'AssumedRole',
        keyArn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        keyReference: null,
        streamArn: 'arn:aws:kinesis:us-east-1:111122223333:stream/orders',
        viaKinesis: true,
        deniedBy: { kind: 'implicit', policyType: 'identity-based' },
      },
    ]);
  });

  it('logs the reason for a no-match', async () => {
    const { run, parsed } = capturing();
    await run(loadEvent('kms-key-rotation.eventbridge.json'));
    expect(parsed()).toEqual([
      expect.objectContaining({
        decision: 'ignore',
        reason: 'not-cloudtrail',
        detail: expect.stringContaining('KMS CMK Rotation'),
      }),
    ]);
  });

  it('logs exactly one line per sample event', async () => {
    const { run, lines } = capturing();
    for (const name of eventNames()) await run(loadEvent(name));
    expect(lines).toHaveLength(eventNames().length);
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a string', 'x'],
    [
      'an envelope with a non-string id',
      { id: { toString: 1 }, 'detail-type': 'AWS API Call via CloudTrail', detail: 7 },
    ],
  ])('does not throw on %s and still logs one line', async (_what, event) => {
    const { run, parsed } = capturing();
    await expect(run(event)).resolves.toMatchObject({ match: false });
    expect(parsed()).toHaveLength(1);
  });

  it('returns the decision even when writing the log line throws', async () => {
    const run = makeHandler({
      logger: createLogger(() => {
        throw new Error('EPIPE');
      }),
    });
    await expect(
      run(loadEvent('consumer-decrypt-denied-service-role.eventbridge.json')),
    ).resolves.toMatchObject({ match: true });
  });

  it('keeps hostile event text inside one capped line', async () => {
    const { run, lines } = capturing();
    const event = loadEvent<Record<string, unknown>>('consumer-decrypt-denied-service-role.eventbridge.json');
    event.id = `evil\n{"level":"error","message":"forged"}${'x'.repeat(10_000)}`;
    await run(event);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    expect(lines[0]?.length).toBeLessThan(3000);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ level: 'info', message: 'intake decision' });
  });
});

describe('intake handler (through middy)', () => {
  let written: string[];
  beforeEach(() => {
    written = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
  });
  afterEach(() => jest.restoreAllMocks());

  it('returns the decision and writes one JSON line to stdout', async () => {
    const result = await handler(
      loadEvent('producer-generatedatakey-denied-key-policy.eventbridge.json'),
      {} as never,
    );
    expect(result).toMatchObject({ match: true, request: { operation: 'kms:GenerateDataKey' } });
    expect(written).toHaveLength(1);
    expect(written[0]?.endsWith('\n')).toBe(true);
    expect(JSON.parse(written[0] ?? '')).toMatchObject({
      decision: 'match',
      operation: 'kms:GenerateDataKey',
    });
  });

  it('writes hostile event text as one capped line of printable ASCII', async () => {
    const event = loadEvent<Record<string, unknown>>('consumer-decrypt-denied-service-role.eventbridge.json');
    event.id = `evil\u2028\u202e\n{"level":"ERROR"}${'x'.repeat(10_000)}`;
    await handler(event as never, {} as never);
    expect(written).toHaveLength(1);
    const line = (written[0] ?? '').replace(/\n$/, '');
    expect(line).toMatch(/^[\x20-\x7e]+$/);
    expect(line.length).toBeLessThan(3000);
    expect(JSON.parse(line)).toMatchObject({ message: 'intake decision', decision: 'match' });
  });

  it('answers a no-match for an empty invocation instead of throwing', async () => {
    await expect(handler(undefined as never, {} as never)).resolves.toMatchObject({ match: false });
    expect(written).toHaveLength(1);
  });
});
