/**
 * `keymend evaluate` answers a typo with a confident implicit deny; the warnings say so, on stderr and
 * in the JSON, with the nearest name in the snapshot. Text output explains the decision in a sentence.
 */
import { evaluateCommand } from '../../cli/commands/evaluate';
import { accountFile } from '../helpers/accounts';
import { CONSUMER, CONSUMER_SESSION, ORDERS, ORDERS_KEY } from '../helpers/arns';
import { captureIo } from '../helpers/io';

const DEMO = accountFile('demo');

async function evaluate(argv: string[], account = DEMO) {
  const io = captureIo();
  const code = await evaluateCommand.run(['--account', account, ...argv], io);
  return { code, out: io.out(), err: io.err() };
}

const ask = (over: { principal?: string; action?: string; resource?: string; stream?: string }) => [
  '--principal',
  over.principal ?? CONSUMER,
  '--action',
  over.action ?? 'kms:Decrypt',
  '--resource',
  over.resource ?? ORDERS_KEY,
  '--via-kinesis',
  over.stream ?? ORDERS,
];

describe('keymend evaluate warnings', () => {
  it('has none when every name is in the snapshot', async () => {
    const { code, out, err } = await evaluate(ask({}));
    expect([code, err]).toEqual([0, '']);
    expect(JSON.parse(out)).not.toHaveProperty('warnings');
  });

  it.each([
    [
      'a role without its service-role/ path',
      { principal: 'arn:aws:iam::111122223333:role/orders-consumer' },
      'principal arn:aws:iam::111122223333:role/orders-consumer is not in the snapshot, so it is evaluated with no identity policies; did you mean arn:aws:iam::111122223333:role/service-role/orders-consumer?',
    ],
    [
      'a misspelt role',
      { principal: 'arn:aws:iam::111122223333:role/service-role/orders-consumr' },
      'did you mean arn:aws:iam::111122223333:role/service-role/orders-consumer?',
    ],
    [
      'a session of a misspelt role',
      { principal: 'arn:aws:sts::111122223333:assumed-role/orders-consumr/i-0abc' },
      'did you mean arn:aws:iam::111122223333:role/service-role/orders-consumer?',
    ],
    [
      'a misspelt action',
      { action: 'kms:Decrpyt' },
      'kms:Decrpyt is not a KMS action; did you mean kms:Decrypt?',
    ],
    [
      'an action of another service',
      { action: 'kinesis:GetRecords' },
      'kinesis:GetRecords is not a KMS action: a key policy or grant does not bear on it',
    ],
    [
      'a key alias that does not exist',
      { resource: 'arn:aws:kms:us-east-1:111122223333:alias/ordrs' },
      'key arn:aws:kms:us-east-1:111122223333:alias/ordrs is not in the snapshot, so no key policy or grant allows anything; did you mean arn:aws:kms:us-east-1:111122223333:alias/orders?',
    ],
    [
      'a stream that does not exist',
      { stream: 'arn:aws:kinesis:us-east-1:111122223333:stream/ordres' },
      'stream arn:aws:kinesis:us-east-1:111122223333:stream/ordres is not in the snapshot; did you mean arn:aws:kinesis:us-east-1:111122223333:stream/orders?',
    ],
  ])('warns on %s, on stderr and in "warnings", with the nearest name', async (_name, over, warning) => {
    const { code, out, err } = await evaluate(ask(over));
    expect(code).toBe(0);
    const printed = JSON.parse(out);
    expect(printed.warnings).toHaveLength(1);
    expect(printed.warnings[0]).toContain(warning);
    expect(err).toBe(`keymend evaluate: warning: ${printed.warnings[0]}\n`);
  });

  it('suggests nothing when nothing is near', async () => {
    const { out } = await evaluate(ask({ principal: 'arn:aws:iam::111122223333:role/zzzzzzzzzzzz' }));
    expect(JSON.parse(out).warnings[0]).not.toContain('did you mean');
  });

  it('does not warn for a known action in another case (IAM actions ignore case)', async () => {
    const { out } = await evaluate(ask({ action: 'KMS:decrypt' }));
    expect(JSON.parse(out)).not.toHaveProperty('warnings');
  });
});

describe('keymend evaluate --output', () => {
  it('text explains an allowed decision in a sentence naming the statements', async () => {
    const { code, out } = await evaluate([...ask({}), '--output', 'text'], accountFile('already-fixed'));
    expect(code).toBe(0);
    expect(out).toMatch(/^Allowed: .* is allowed by /s);
    expect(out.replace(/\n/g, ' ')).toContain(
      `${CONSUMER} calling kms:Decrypt on ${ORDERS_KEY} through ${ORDERS}`,
    );
    for (const line of out.trimEnd().split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('text explains an implicit deny by the layers that lack an allow, then the warnings', async () => {
    const { out } = await evaluate([...ask({ action: 'kms:Decrpyt' }), '--output', 'text']);
    const text = out.replace(/\n/g, ' ');
    expect(text).toMatch(/^Implicitly denied: .* is allowed by no statement of /);
    expect(text).toContain('Warning: kms:Decrpyt is not a KMS action; did you mean kms:Decrypt?');
  });

  it('jsonl prints one line; json pretty; --json is the old spelling of json', async () => {
    const jsonl = await evaluate([...ask({}), '--output', 'jsonl']);
    const json = await evaluate([...ask({}), '--output', 'json']);
    const alias = await evaluate([...ask({}), '--json']);
    expect(jsonl.out.trimEnd().split('\n')).toHaveLength(1);
    expect(json.out).toBe(`${JSON.stringify(JSON.parse(jsonl.out), null, 2)}\n`);
    expect(alias.out).toBe(json.out);
  });

  it('maps a session to its role in text too', async () => {
    const { out } = await evaluate(
      [...ask({ principal: CONSUMER_SESSION }), '--output', 'text'],
      accountFile('already-fixed'),
    );
    expect(out).toMatch(/^Allowed: /);
  });
});
