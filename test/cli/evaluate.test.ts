import { evaluateCommand } from '../../cli/commands/evaluate';
import { main } from '../../cli/keymend';
import type { AccountSnapshot } from '../../functions/core/account';
import {
  ORDERS_KEY as KEY,
  CONSUMER as ROLE,
  CONSUMER_SESSION as SESSION,
  ORDERS as STREAM,
} from '../helpers/arns';
import { captureIo } from '../helpers/io';

/** A small snapshot: the consumer may decrypt only through Kinesis, for the orders stream. */
const snapshot: AccountSnapshot = {
  accountId: '111122223333',
  region: 'us-east-1',
  principals: [
    {
      arn: ROLE,
      inlinePolicies: {
        'orders-decrypt': {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'DecryptOrdersViaKinesis',
              Effect: 'Allow',
              Action: 'kms:Decrypt',
              Resource: KEY,
              Condition: {
                StringEquals: {
                  'kms:ViaService': 'kinesis.us-east-1.amazonaws.com',
                  'kms:EncryptionContext:aws:kinesis:arn': STREAM,
                },
              },
            },
          ],
        },
      },
      managedPolicies: {},
    },
  ],
  keys: [
    {
      arn: KEY,
      keyManager: 'CUSTOMER',
      keyState: 'Enabled',
      aliases: ['alias/orders'],
      policy: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'Enable IAM User Permissions',
            Effect: 'Allow',
            Principal: { AWS: 'arn:aws:iam::111122223333:root' },
            Action: 'kms:*',
            Resource: '*',
          },
        ],
      },
    },
  ],
};

const base = ['--account', '-', '--action', 'kms:Decrypt', '--resource', KEY];

async function run(argv: string[], stdin: unknown = snapshot) {
  const io = captureIo(typeof stdin === 'string' ? stdin : JSON.stringify(stdin));
  const code = await evaluateCommand.run(argv, io);
  return { code, out: io.out(), err: io.err() };
}

const allowed = {
  decision: 'allowed',
  decidedBy: [
    { policyType: 'resource-based', policy: 'key-policy', statement: 'Enable IAM User Permissions' },
    { policyType: 'identity-based', policy: 'orders-decrypt', statement: 'DecryptOrdersViaKinesis' },
  ],
};
const noIdentityAllow = {
  decision: 'implicit-deny',
  decidedBy: [{ policyType: 'identity-based', policy: ROLE, statement: '' }],
};

describe('keymend evaluate', () => {
  it.each([
    [
      'the session ARN, mapped to its role, through Kinesis',
      ['--principal', SESSION, '--via-kinesis', STREAM],
      allowed,
    ],
    ['the role ARN through Kinesis', ['--principal', ROLE, '--via-kinesis', STREAM], allowed],
    ['a direct call (no kms:ViaService)', ['--principal', SESSION], noIdentityAllow],
    [
      'a direct call with the context given by hand',
      [
        '--principal',
        ROLE,
        '--context',
        'kms:ViaService=kinesis.us-east-1.amazonaws.com',
        '--context',
        `kms:EncryptionContext:aws:kinesis:arn=${STREAM}`,
      ],
      allowed,
    ],
    [
      'another stream',
      ['--principal', SESSION, '--via-kinesis', 'arn:aws:kinesis:us-east-1:111122223333:stream/clicks'],
      noIdentityAllow,
    ],
    [
      'the key by alias ARN',
      [
        '--principal',
        SESSION,
        '--via-kinesis',
        STREAM,
        '--resource',
        'arn:aws:kms:us-east-1:111122223333:alias/orders',
      ],
      allowed,
    ],
  ])('prints the decision for %s', async (_name, extra, expected) => {
    const { code, out, err } = await run([...base, ...extra]);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual(expected);
  });

  it('evaluates a principal the snapshot does not hold (cross-account caller) as having no policies', async () => {
    const reader = 'arn:aws:sts::444455556666:assumed-role/analytics-reader/reader-1';
    const { code, out } = await run([...base, '--principal', reader, '--via-kinesis', STREAM]);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({
      decision: 'implicit-deny',
      decidedBy: [
        { policyType: 'resource-based', policy: 'key-policy', statement: '' },
        {
          policyType: 'identity-based',
          policy: 'arn:aws:iam::444455556666:role/analytics-reader',
          statement: '',
        },
      ],
      warnings: [
        'principal arn:aws:sts::444455556666:assumed-role/analytics-reader/reader-1 is not in the snapshot, so it is evaluated with no identity policies',
      ],
    });
  });

  it('reads the demo snapshot file from events/', async () => {
    const io = captureIo();
    const argv = ['evaluate', '--account', 'events/accounts/demo.json', '--principal', SESSION];
    const code = await main(
      [...argv, '--action', 'kms:Decrypt', '--resource', KEY, '--via-kinesis', STREAM],
      io,
    );
    expect(code).toBe(0);
    expect(JSON.parse(io.out()).decision).toMatch(/^(allowed|implicit-deny|explicit-deny)$/);
  });

  it.each([
    [
      'a missing --account',
      ['--principal', ROLE, '--action', 'kms:Decrypt', '--resource', KEY],
      'give --account SNAPSHOT.json or --aws',
    ],
    ['a missing --principal', base, '--principal is required'],
    ['an unknown option', [...base, '--principal', ROLE, '--frobnicate'], "unknown option '--frobnicate'"],
    [
      'a bad --output',
      [...base, '--principal', ROLE, '--output', 'yaml'],
      '--output must be json, jsonl or text',
    ],
    [
      'a malformed action',
      ['--account', '-', '--principal', ROLE, '--action', 'Decrypt', '--resource', KEY],
      '--action must be service:Action',
    ],
    [
      'a resource that is not an ARN',
      ['--account', '-', '--principal', ROLE, '--action', 'kms:Decrypt', '--resource', 'key/1'],
      '--resource must be an ARN',
    ],
    [
      'a --context without =',
      [...base, '--principal', ROLE, '--context', 'kms:ViaService'],
      '--context takes KEY=VALUE',
    ],
    [
      'a --via-kinesis that is not a stream ARN',
      [...base, '--principal', ROLE, '--via-kinesis', KEY],
      '--via-kinesis must be a Kinesis stream ARN',
    ],
    [
      'a principal that is not an IAM ARN',
      [...base, '--principal', 'alice'],
      'not a role, user, role-session',
    ],
  ])('exits 2 on %s', async (_name, argv, message) => {
    const { code, out, err } = await run(argv);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toContain(message);
  });

  it.each([
    ['a snapshot that is not JSON', '{', 'is not valid JSON'],
    ['a snapshot without accountId', { ...snapshot, accountId: undefined }, 'accountId'],
    [
      'a malformed key policy',
      {
        ...snapshot,
        keys: [{ ...snapshot.keys[0], policy: { Version: '2012-10-17', Statement: [{ Effect: 'Maybe' }] } }],
      },
      'Effect must be "Allow" or "Deny"',
    ],
  ])('exits 1 on %s', async (_name, stdin, message) => {
    const { code, err } = await run([...base, '--principal', ROLE], stdin);
    expect(code).toBe(1);
    expect(err).toContain(message);
  });

  it('is listed by keymend --help', async () => {
    const io = captureIo();
    expect(await main(['--help'], io)).toBe(0);
    expect(io.out()).toContain('evaluate');
  });
});
