/**
 * `keymend revoke ID --aws`: the approval function's revoke step with the caller's credentials, on a
 * real DynamoDB API (dynalite, the table as the stack creates it, status index included) with the
 * other AWS calls mocked at the client. Also `keymend list` reading that table's status index for real.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient, ListGrantsCommand, RetireGrantCommand, RevokeGrantCommand } from '@aws-sdk/client-kms';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { makeListCommand } from '../../cli/commands/list';
import { makeRevokeCommand, revokeCommandLine } from '../../cli/commands/revoke';
import { DynamoProposalStore } from '../../functions/adapters/store';
import type { Proposal } from '../../functions/core/proposal';
import { type Dynalite, startDynalite } from '../helpers/dynalite';
import { captureIo } from '../helpers/io';
import { sampleProposal } from '../helpers/proposals';

const cfn = mockClient(CloudFormationClient);
const kms = mockClient(KMSClient);
const sns = mockClient(SNSClient);
const sts = mockClient(STSClient);
const TOPIC = 'arn:aws:sns:us-east-1:111122223333:keymend-email';
const CALLER = 'arn:aws:sts::111122223333:assumed-role/BreakGlass/alice';
const NOW = new Date('2026-12-05T09:00:00.000Z');
const RETIRING = 'arn:aws:iam::111122223333:role/Keymend-ApprovalRole';

let db: Dynalite;
let table: string;
let store: DynamoProposalStore;

beforeAll(async () => {
  db = await startDynalite();
  table = await db.createTable();
  store = new DynamoProposalStore(db.client, table);
}, 30_000);
afterAll(async () => {
  await db.stop();
  for (const mock of [cfn, kms, sns, sts]) mock.restore();
});
beforeEach(() => {
  for (const mock of [cfn, kms, sns, sts]) mock.reset();
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'Keymend',
        StackStatus: 'CREATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: [
          { OutputKey: 'TableName', OutputValue: table },
          { OutputKey: 'EmailTopicArn', OutputValue: TOPIC },
          { OutputKey: 'RetiringPrincipalArn', OutputValue: RETIRING },
        ],
      },
    ],
  });
  sts.on(GetCallerIdentityCommand).resolves({ Arn: CALLER, Account: '111122223333', UserId: 'AROA:alice' });
  kms.on(RetireGrantCommand).resolves({});
  kms.on(RevokeGrantCommand).resolves({});
  sns.on(PublishCommand).resolves({ MessageId: 'm' });
});

/** KMS lists the grant keymend created for `p` (the writer checks it is keymend's before retiring it). */
function grantListed(p: Proposal, grantId: string) {
  const plan = p.plan;
  if (plan?.mechanism !== 'kms-grant') throw new Error('the sample plan is not a grant');
  kms.on(ListGrantsCommand, { GrantId: grantId }).resolves({
    Grants: [
      {
        GrantId: grantId,
        Name: plan.name,
        KeyId: plan.keyArn,
        GranteePrincipal: plan.granteePrincipal,
        RetiringPrincipal: RETIRING,
        Operations: [...plan.operations] as never,
        Constraints: { EncryptionContextSubset: { ...plan.constraints.encryptionContextSubset } },
      },
    ],
    Truncated: false,
  });
}

/** A proposal stored as the flows leave it once applied (a grant keymend created, listed by KMS). */
async function appliedProposal(id: string): Promise<Proposal> {
  const pending = await sampleProposal({ id, now: new Date('2026-12-03T09:00:00.000Z') });
  grantListed(pending, `grant-${id}`);
  await store.createProposal(pending, new Date('2026-12-06T09:00:00.000Z'));
  const audit = (action: string, outcome: string) => ({
    at: pending.createdAt,
    actor: 'keymend',
    action,
    outcome,
  });
  await store.transition(id, 'pending', 'applying', {}, audit('approve', 'accepted'));
  const applied = await store.transition(
    id,
    'applying',
    'applied',
    {
      applied: {
        mechanism: 'kms-grant',
        keyArn: pending.plan?.mechanism === 'kms-grant' ? pending.plan.keyArn : '',
        grantId: `grant-${id}`,
        grantName: pending.plan?.mechanism === 'kms-grant' ? pending.plan.name : '',
      },
      appliedAt: '2026-12-03T10:00:00.000Z',
    },
    audit('apply', 'applied'),
  );
  if (!applied) throw new Error('could not store the applied proposal');
  return applied;
}

/** The calls that undid a grant: the account writer's (RetireGrant, or RevokeGrant where it still uses it). */
const grantUndos = () =>
  [...kms.commandCalls(RetireGrantCommand), ...kms.commandCalls(RevokeGrantCommand)].map(
    (c) => c.args[0].input,
  );

const clients = () => ({
  cloudFormation: new CloudFormationClient({ region: 'us-east-1' }),
  dynamodb: db.client,
  kms: new KMSClient({ region: 'us-east-1' }),
  iam: new IAMClient({ region: 'us-east-1' }),
  sns: new SNSClient({ region: 'us-east-1' }),
  sts: new STSClient({ region: 'us-east-1' }),
  now: () => NOW,
});

async function revoke(argv: string[]) {
  const io = captureIo();
  const code = await makeRevokeCommand(clients).run(argv, io);
  return { code, out: io.out(), err: io.err() };
}

describe('keymend revoke ID --aws', () => {
  it('retires the grant keymend created, records revoked with the caller as actor, and notifies', async () => {
    const applied = await appliedProposal('p-revoke');
    const { code, out, err } = await revoke(['p-revoke', '--aws', '--output', 'json']);
    expect([code, err, out]).toEqual([
      0,
      '',
      `${JSON.stringify({ outcome: 'revoked', proposalId: 'p-revoke', accountId: '111122223333' }, null, 2)}\n`,
    ]);
    expect(grantUndos()).toEqual([{ KeyId: applied.scope.keyArn, GrantId: 'grant-p-revoke' }]);
    const stored = await store.getProposal('p-revoke');
    expect(stored?.status).toBe('revoked');
    expect(stored?.audit.at(-1)).toMatchObject({
      action: 'revoke',
      outcome: 'revoked',
      actor: `keymend revoke (${CALLER})`,
    });
    expect(sns.commandCalls(PublishCommand)[0]?.args[0].input.TopicArn).toBe(TOPIC);
  });

  it('refuses, as the Revoke button does, a proposal that is not applied: nothing undone, exit 1', async () => {
    await appliedProposal('p-twice');
    expect((await revoke(['p-twice', '--aws'])).code).toBe(0);
    kms.resetHistory();
    const again = await revoke(['p-twice', '--aws']);
    expect(again.code).toBe(1);
    expect(again.out).toBe(
      "Not revoked (refused) in account 111122223333: the proposal is revoked: there is nothing of keymend's to undo.\n",
    );
    expect(grantUndos()).toHaveLength(0);
  });

  it('an ID that starts with - is given after --, as its help and revokeCommandLine say', async () => {
    await appliedProposal('-dash-first');
    expect((await revoke(['-dash-first', '--aws'])).code).toBe(2);
    expect(revokeCommandLine('-dash-first', 'Keymend')).toBe(
      'keymend revoke --aws --stack Keymend -- -dash-first',
    );
    const { code, out } = await revoke(['--aws', '--stack', 'Keymend', '--', '-dash-first']);
    expect([code, out]).toEqual([
      0,
      'Revoked -dash-first in account 111122223333: what keymend applied was undone and recorded.\n',
    ]);
    expect(revokeCommandLine('p-plain', 'Keymend')).toBe('keymend revoke p-plain --aws --stack Keymend');
  });

  it('records a failed undo and exits 1', async () => {
    await appliedProposal('p-fails');
    const denied = Object.assign(new Error('not allowed'), { name: 'AccessDeniedException', $metadata: {} });
    kms.on(RetireGrantCommand).rejects(denied);
    kms.on(RevokeGrantCommand).rejects(denied);
    const { code, out } = await revoke(['p-fails', '--aws']);
    expect(code).toBe(1);
    expect(out).toMatch(/^Not revoked \(failed\) in account 111122223333: the undo failed: .*not allowed/);
    const stored = await store.getProposal('p-fails');
    expect(stored?.status).toBe('applied');
    expect(stored?.audit.at(-1)).toMatchObject({ action: 'revoke', outcome: 'failed' });
  });

  it('exits 1 for an unknown proposal, 2 without --aws or an ID', async () => {
    const unknown = await revoke(['p-none', '--aws']);
    expect([unknown.code, unknown.err]).toEqual([1, 'keymend revoke: no proposal p-none in stack Keymend\n']);
    expect((await revoke(['p-none'])).code).toBe(2);
    expect((await revoke(['--aws'])).code).toBe(2);
  });
});

describe('keymend list --aws on the real status index', () => {
  it('lists applied proposals from the index, and a revoked one under revoked', async () => {
    await appliedProposal('p-listed');
    const io = captureIo();
    const list = makeListCommand(() => ({
      cloudFormation: new CloudFormationClient({ region: 'us-east-1' }),
      dynamodb: db.client,
      now: () => NOW,
    }));
    expect(await list.run(['--aws', '--status', 'applied,revoked', '--output', 'json'], io)).toBe(0);
    const rows = JSON.parse(io.out()) as { id: string; status: string }[];
    expect(rows.find((r) => r.id === 'p-listed')?.status).toBe('applied');
    expect(rows.find((r) => r.id === 'p-revoke')?.status).toBe('revoked');
    expect(rows.filter((r) => r.status === 'applied').every((r) => r.id !== 'p-revoke')).toBe(true);
  });
});
