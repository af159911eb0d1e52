import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListAccountAliasesCommand,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import { DescribeStreamSummaryCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import {
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  KMSClient,
  ListAliasesCommand,
  ListGrantsCommand,
  ListResourceTagsCommand,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { diagnoseCommand } from '../../cli/commands/diagnose';
import { makeSnapshotCommand, snapshotCommand } from '../../cli/commands/snapshot';
import { main } from '../../cli/keymend';
import { AwsAccountReader } from '../../functions/adapters/aws-account';
import { parseSnapshot } from '../../functions/adapters/snapshot';
import { delegatingKeyPolicy } from '../helpers/accounts';
import { EVENTS_DIR } from '../helpers/events';
import { captureIo } from '../helpers/io';

const ACCOUNT = '111122223333';
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/${KEY_ID}`;
const ORDERS = `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/orders`;
const CONSUMER = `arn:aws:iam::${ACCOUNT}:role/service-role/orders-consumer`;

const iam = mockClient(IAMClient);
const kms = mockClient(KMSClient);
const kinesis = mockClient(KinesisClient);

const keyPolicy = delegatingKeyPolicy(ACCOUNT);
const readStream = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: ['kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:DescribeStreamSummary'],
      Resource: ORDERS,
    },
  ],
};

/** The demo account's consumer, key and stream, as the AWS APIs return them. */
function account(): void {
  iam.on(GetRoleCommand).resolves({
    Role: {
      Arn: CONSUMER,
      RoleName: 'orders-consumer',
      Path: '/service-role/',
      RoleId: 'AROA',
      CreateDate: new Date(),
    },
  });
  iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: ['read-orders'], IsTruncated: false });
  iam
    .on(GetRolePolicyCommand)
    .resolves({ PolicyDocument: encodeURIComponent(JSON.stringify(readStream)), PolicyName: 'read-orders' });
  iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [], IsTruncated: false });
  iam.on(ListAccountAliasesCommand).resolves({ AccountAliases: ['acme-orders-prod'], IsTruncated: false });
  kms.on(DescribeKeyCommand).resolves({
    KeyMetadata: {
      KeyId: KEY_ID,
      Arn: KEY,
      AWSAccountId: ACCOUNT,
      KeyManager: 'CUSTOMER',
      KeyState: 'Enabled',
    },
  });
  kms.on(GetKeyPolicyCommand).resolves({ Policy: JSON.stringify(keyPolicy) });
  kms.on(ListGrantsCommand).resolves({ Grants: [], Truncated: false });
  kms.on(ListResourceTagsCommand).resolves({ Tags: [], Truncated: false });
  kms.on(ListAliasesCommand).resolves({ Aliases: [{ AliasName: 'alias/orders' }], Truncated: false });
  kinesis.on(DescribeStreamSummaryCommand).resolves({
    StreamDescriptionSummary: {
      StreamName: 'orders',
      StreamARN: ORDERS,
      StreamStatus: 'ACTIVE',
      RetentionPeriodHours: 24,
      StreamCreationTimestamp: new Date('2024-01-01T00:00:00Z'),
      EnhancedMonitoring: [],
      OpenShardCount: 1,
      EncryptionType: 'KMS',
      KeyId: KEY,
    },
  });
}

/** A snapshot command whose readers use mocked clients and never sleep. */
const command = makeSnapshotCommand(
  (accountId, region, grantee) =>
    new AwsAccountReader({
      accountId,
      region,
      grantee,
      iam: new IAMClient({ region }),
      kms: new KMSClient({ region }),
      kinesis: new KinesisClient({ region }),
    }),
);

async function snapshot(argv: string[]) {
  const io = captureIo();
  const code = await command.run(argv, io);
  return { code, out: io.out(), err: io.err() };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'keymend-snapshot-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  iam.reset();
  kms.reset();
  kinesis.reset();
});

describe('keymend snapshot', () => {
  it('reads the principal, key and stream into a valid snapshot, listing only the principal grants', async () => {
    account();
    const { code, out, err } = await snapshot(['--principal', CONSUMER, '--key', KEY, '--stream', ORDERS]);
    expect([code, err]).toEqual([0, '']);
    const { $schema, ...written } = JSON.parse(out);
    // The published schema, named relative to where the file is written (here: standard output, the cwd).
    expect(path.resolve(process.cwd(), $schema)).toBe(path.resolve(__dirname, '../../snapshot.schema.json'));
    expect(parseSnapshot({ $schema, ...written })).toEqual(written);
    expect(written).toEqual({
      accountId: ACCOUNT,
      // For subjects (iam:ListAccountAliases) and the impact (the stream's retention).
      accountAlias: 'acme-orders-prod',
      region: 'us-east-1',
      principals: [{ arn: CONSUMER, inlinePolicies: { 'read-orders': readStream }, managedPolicies: {} }],
      keys: [
        {
          arn: KEY,
          keyManager: 'CUSTOMER',
          keyState: 'Enabled',
          aliases: ['alias/orders'],
          policy: keyPolicy,
          grants: [],
          // The key's tags, read with kms:ListResourceTags (none here): key-tag conditions can be answered.
          tags: {},
        },
      ],
      streams: [{ arn: ORDERS, keyArn: KEY, retentionPeriodHours: 24 }],
    });
    expect(kms.commandCalls(ListGrantsCommand)[0]?.args[0].input.GranteePrincipal).toBe(CONSUMER);
  });

  it('writes --out, and diagnose reads it offline to the same plan as the demo snapshot', async () => {
    account();
    const file = path.join(dir, 'mine.json');
    const { code, err } = await snapshot([
      '--principal',
      CONSUMER,
      '--key',
      KEY,
      '--stream',
      ORDERS,
      '--out',
      file,
    ]);
    expect(code).toBe(0);
    expect(err).toMatch(/wrote .*mine\.json \(1 principal, 1 key, 1 stream\)/);
    const event = path.join(EVENTS_DIR, 'consumer-decrypt-denied-service-role.eventbridge.json');
    const io = captureIo();
    expect(await diagnoseCommand.run(['--event', event, '--account', file], io)).toBe(0);
    expect(JSON.parse(io.out())).toMatchObject({
      verdict: 'propose',
      plan: { mechanism: 'kms-grant', keyArn: KEY, granteePrincipal: CONSUMER },
    });
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved.principals[0].arn).toBe(CONSUMER);
    expect(path.resolve(dir, saved.$schema)).toBe(path.resolve(__dirname, '../../snapshot.schema.json'));
  });

  it('exits 1 naming what is missing when the role does not exist', async () => {
    account();
    iam.on(GetRoleCommand).rejects(Object.assign(new Error('no such role'), { name: 'NoSuchEntity' }));
    const { code, out, err } = await snapshot(['--principal', CONSUMER, '--key', KEY]);
    expect([code, out]).toEqual([1, '']);
    expect(err).toBe(`keymend snapshot: principal ${CONSUMER} not found in account ${ACCOUNT}\n`);
  });

  it('exits 1 naming the denied call and the key policy when the credentials may not read the key', async () => {
    account();
    kms
      .on(GetKeyPolicyCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const { code, err } = await snapshot(['--principal', CONSUMER, '--key', KEY]);
    expect(code).toBe(1);
    expect(err).toBe(
      `keymend snapshot: kms:GetKeyPolicy on ${KEY} was denied: the key policy does not admit this role\n`,
    );
  });

  it('exits 1 with the AWS error when IAM may not be read', async () => {
    account();
    iam.on(GetRoleCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    const { code, err } = await snapshot(['--principal', CONSUMER, '--key', KEY]);
    expect(code).toBe(1);
    expect(err).toMatch(/^keymend snapshot: cannot read iam:GetRole .*AccessDenied: not authorized\n$/);
  });

  it('exits 1 when what AWS returned is not a valid snapshot, naming the field', async () => {
    account();
    kms.on(GetKeyPolicyCommand).resolves({ Policy: JSON.stringify({ Version: '2012-10-17' }) });
    const { code, out, err } = await snapshot(['--principal', CONSUMER, '--key', KEY]);
    expect([code, out]).toEqual([1, '']);
    expect(err).toMatch(/^keymend snapshot: what was read is not a valid snapshot: keys\[0\]\.policy/);
  });

  it.each([
    [[], /--principal ARN is required/],
    [['--principal', CONSUMER], /--key ARN is required/],
    [
      ['--principal', `arn:aws:sts::${ACCOUNT}:assumed-role/orders-consumer/i-1`, '--key', KEY],
      /not a session/,
    ],
    [['--principal', CONSUMER, '--key', 'alias/orders'], /--key must be a KMS key ARN or alias ARN/],
    [
      ['--principal', CONSUMER, '--key', KEY.replace(ACCOUNT, '444455556666')],
      /only be read in its own account/,
    ],
    [['--principal', CONSUMER, '--key', KEY, '--stream', 'orders'], /--stream must be a Kinesis stream ARN/],
    [['--principal', CONSUMER, '--key', KEY, '--bogus'], /unknown option '--bogus'/],
  ])('exits 2 on bad options %j without calling AWS', async (argv, message) => {
    const { code, err } = await snapshot(argv);
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect([...iam.calls(), ...kms.calls(), ...kinesis.calls()]).toHaveLength(0);
  });

  it('is a keymend command, listed by keymend --help', async () => {
    const io = captureIo();
    expect(await main(['--help'], io)).toBe(0);
    expect(io.out()).toMatch(/^\s+snapshot\s+read a principal, key and stream/m);
  });

  it('documents every option and exit status in --help, within 80 columns', () => {
    for (const text of [
      '--principal ARN',
      '--key ARN',
      '--stream ARN',
      '--out FILE',
      '-h, --help',
      'Exit status',
      'Example:',
    ]) {
      expect(snapshotCommand.help).toContain(text);
    }
    // 80 columns, but for the example's key ARN, 75 characters by itself.
    for (const line of snapshotCommand.help.split('\n')) expect(line.length).toBeLessThanOrEqual(81);
  });
});
