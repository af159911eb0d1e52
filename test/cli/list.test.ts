/**
 * `keymend list --aws`: the table's name from the stack's outputs, the proposals from its status index
 * (paged, one query per status), each with its change and age; the SDK mocked at the client. (The
 * same against moto's DynamoDB belongs to `npm run test:moto`.)
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { makeListCommand } from '../../cli/commands/list';
import { proposalItem } from '../../functions/adapters/store';
import { TABLE } from '../../functions/commons/constants';
import type { Proposal } from '../../functions/core/proposal';
import { captureIo } from '../helpers/io';
import { sampleProposal } from '../helpers/proposals';

const cfn = mockClient(CloudFormationClient);
const ddb = mockClient(DynamoDBClient);
afterAll(() => {
  cfn.restore();
  ddb.restore();
});
beforeEach(() => {
  cfn.reset();
  ddb.reset();
});

const NOW = new Date('2026-12-05T09:00:00.000Z');

async function list(argv: string[]) {
  const command = makeListCommand(() => ({
    cloudFormation: new CloudFormationClient({ region: 'us-east-1' }),
    dynamodb: new DynamoDBClient({ region: 'us-east-1' }),
    now: () => NOW,
  }));
  const io = captureIo();
  const code = await command.run(argv, io);
  return { code, out: io.out(), err: io.err() };
}

function stack(name = 'Keymend', table = 'Keymend-TableCD117FA1-XYZ') {
  cfn.on(DescribeStacksCommand, { StackName: name }).resolves({
    Stacks: [
      {
        StackName: name,
        StackStatus: 'CREATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: [
          { OutputKey: 'ApprovalUrl', OutputValue: 'https://example.lambda-url.us-east-1.on.aws/' },
          { OutputKey: 'TableName', OutputValue: table },
        ],
      },
    ],
  });
}

async function applied(id: string): Promise<Proposal> {
  const p = await sampleProposal({ id });
  return {
    ...p,
    status: 'applied',
    appliedAt: '2026-12-03T10:00:00.000Z',
    applied: { mechanism: 'kms-grant', keyArn: p.scope.keyArn, grantId: 'grant-123', grantName: 'x' },
  };
}

describe('keymend list --aws', () => {
  it('finds the table in the stack outputs and queries its status index, page by page', async () => {
    stack();
    const first = await applied('p-1');
    const second = await applied('p-2');
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [proposalItem(first)], LastEvaluatedKey: { pk: { S: 'P#p-1' } } })
      .resolvesOnce({ Items: [proposalItem(second)] });
    const { code, out, err } = await list(['--aws', '--status', 'applied', '--output', 'json']);
    expect([code, err]).toEqual([0, '']);
    const rows = JSON.parse(out);
    expect(rows.map((r: { id: string }) => r.id)).toEqual(['p-1', 'p-2']);
    expect(rows[0]).toMatchObject({
      status: 'applied',
      age: '2d',
      principalArn: first.scope.principalArn,
      change: expect.stringMatching(
        /^KMS grant .* for Decrypt, only for stream\/orders \(grant grant-123\)$/,
      ),
    });
    const queries = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(queries[0]).toMatchObject({
      TableName: 'Keymend-TableCD117FA1-XYZ',
      IndexName: TABLE.statusIndex,
      KeyConditionExpression: '#status = :status',
      ExpressionAttributeValues: { ':status': { S: 'applied' } },
    });
    expect(queries[1]?.ExclusiveStartKey).toEqual({ pk: { S: 'P#p-1' } });
  });

  it('with no --status, asks every status, applied first; text shows status, age, id and change', async () => {
    stack('Keymend-eu', 'T');
    const pending = await sampleProposal({ id: 'p-pending' });
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(QueryCommand, { ExpressionAttributeValues: { ':status': { S: 'pending' } } }).resolves({
      Items: [proposalItem(pending)],
    });
    const { code, out } = await list(['--aws', '--stack', 'Keymend-eu']);
    expect(code).toBe(0);
    const asked = ddb
      .commandCalls(QueryCommand)
      .map((c) => c.args[0].input.ExpressionAttributeValues?.[':status']?.S);
    expect(asked[0]).toBe('applied');
    expect(asked).toHaveLength(9);
    expect(out).toMatch(
      /^1 proposal in stack Keymend-eu \(table T\)\.\n\nSTATUS {6}AGE {3}ID\npending +2d +p-pending\n/,
    );
    expect(out).toContain('change: KMS grant');
    for (const line of out.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('names the account of each proposal, with its alias when known, in text and JSON', async () => {
    stack();
    const known = { ...(await applied('p-1')), accountAlias: 'acme-orders-prod' };
    const bare = await applied('p-2');
    ddb.on(QueryCommand).resolves({ Items: [proposalItem(known), proposalItem(bare)] });
    const text = await list(['--aws', '--status', 'applied']);
    expect(text.out).toContain('      account 111122223333 (acme-orders-prod), us-east-1\n');
    expect(text.out).toContain('      account 111122223333, us-east-1\n');
    const json = JSON.parse((await list(['--aws', '--status', 'applied', '--output', 'json'])).out);
    expect(json[0]).toMatchObject({
      accountId: '111122223333',
      accountAlias: 'acme-orders-prod',
      region: 'us-east-1',
    });
    expect(json[1]).toMatchObject({ accountId: '111122223333', region: 'us-east-1' });
    expect(json[1].accountAlias).toBeUndefined();
  });

  it('jsonl prints one proposal per line', async () => {
    stack();
    ddb
      .on(QueryCommand)
      .resolves({ Items: [proposalItem(await applied('p-1')), proposalItem(await applied('p-2'))] });
    const { out } = await list(['--aws', '--status', 'applied', '--output', 'jsonl']);
    expect(
      out
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual(['p-1', 'p-2']);
  });

  it('exits 1 with one line for a stack that does not exist, or is not keymend', async () => {
    cfn.on(DescribeStacksCommand).rejects(
      Object.assign(new Error('Stack with id Nope does not exist'), {
        name: 'ValidationError',
        $metadata: {},
      }),
    );
    const missing = await list(['--aws', '--stack', 'Nope']);
    expect([missing.code, missing.out]).toEqual([1, '']);
    expect(missing.err).toBe(
      "keymend list: no stack Nope here (give the keymend stack's name with --stack, and its Region)\n",
    );
    cfn.reset();
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'Other', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Outputs: [] }],
    });
    const other = await list(['--aws', '--stack', 'Other']);
    expect(other.code).toBe(1);
    expect(other.err).toBe('keymend list: stack Other has no TableName output: is it a keymend stack?\n');
  });

  it.each([
    [[], /give --aws/],
    [['--aws', '--status', 'done'], /--status must be among applied, applying, pending/],
    [['--aws', '--region', 'moon'], /--region must be a Region/],
    [['--aws', '--output', 'yaml'], /--output must be text, json or jsonl/],
  ])('exits 2 on %j without calling AWS', async (argv, message) => {
    const { code, err } = await list(argv);
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(cfn.calls()).toHaveLength(0);
  });
});
