/**
 * `keymend apply --plan FILE --aws`: a plan made by `keymend diagnose --output json`, applied with the
 * caller's credentials through the approval's steps, on a real DynamoDB API (dynalite, the table as the
 * stack creates it) with the other AWS calls mocked at the client; the account is read from a snapshot
 * (events/accounts/), changed per test to make each refusal. Then `list` shows it and `revoke` undoes it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListAccountAliasesCommand,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { DescribeStreamSummaryCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import {
  CreateGrantCommand,
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  KMSClient,
  ListAliasesCommand,
  ListGrantsCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  RetireGrantCommand,
} from '@aws-sdk/client-kms';
import { DescribeOrganizationCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { makeApplyCommand } from '../../cli/commands/apply';
import { diagnoseCommand } from '../../cli/commands/diagnose';
import { makeListCommand } from '../../cli/commands/list';
import { makeRevokeCommand } from '../../cli/commands/revoke';
import { scanCommand } from '../../cli/commands/scan';
import type { ScanSummary } from '../../cli/scan-summary';
import { SnapshotReader } from '../../functions/adapters/snapshot';
import { DynamoProposalStore } from '../../functions/adapters/store';
import type { AccountSnapshot } from '../../functions/core/account';
import { fingerprintFieldsOf } from '../../functions/core/new-proposal';
import { fingerprintOf } from '../../functions/core/proposal';
import { accountFile, delegatingKeyPolicy, loadSnapshot } from '../helpers/accounts';
import { type Dynalite, startDynalite } from '../helpers/dynalite';
import { EVENTS_DIR } from '../helpers/events';
import { captureIo } from '../helpers/io';
import { sampleProposal } from '../helpers/proposals';

const cfn = mockClient(CloudFormationClient);
const kms = mockClient(KMSClient);
const iam = mockClient(IAMClient);
const sns = mockClient(SNSClient);
const sts = mockClient(STSClient);
const kinesis = mockClient(KinesisClient);
const organizations = mockClient(OrganizationsClient);
const MOCKS = [cfn, kms, iam, sns, sts, kinesis, organizations];
const ACCOUNT = '111122223333';
const TOPIC = `arn:aws:sns:us-east-1:${ACCOUNT}:keymend-email`;
const CALLER = `arn:aws:sts::${ACCOUNT}:assumed-role/BreakGlass/alice`;
const RETIRING = `arn:aws:iam::${ACCOUNT}:role/Keymend-ApprovalRole`;
const CONSUMER = `arn:aws:iam::${ACCOUNT}:role/service-role/orders-consumer`;
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const EVENT = path.join(EVENTS_DIR, 'consumer-decrypt-denied-service-role.eventbridge.json');
const NOW = new Date('2026-12-05T09:00:00.000Z');

let db: Dynalite;
let table: string;
let store: DynamoProposalStore;
let dir: string;
/** The account apply reads (a test changes it before running apply). */
let account: AccountSnapshot;

beforeAll(async () => {
  db = await startDynalite();
  dir = mkdtempSync(path.join(tmpdir(), 'keymend-apply-'));
}, 30_000);
afterAll(async () => {
  await db.stop();
  rmSync(dir, { recursive: true, force: true });
  for (const mock of MOCKS) mock.restore();
});

/** The stack's outputs as CloudFormation answers them; `more` adds or (with undefined) removes some. */
function stack(more: Record<string, string | undefined> = {}) {
  const outputs: Record<string, string | undefined> = {
    TableName: table,
    EmailTopicArn: TOPIC,
    RetiringPrincipalArn: RETIRING,
    EnabledMechanisms: 'kms-grant',
    ...more,
  };
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'Keymend',
        StackStatus: 'CREATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: Object.entries(outputs)
          .filter(([, value]) => value !== undefined)
          .map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });
}

beforeEach(async () => {
  for (const mock of MOCKS) mock.reset();
  // A table of its own per test: what one apply records is not seen by the next.
  table = await db.createTable();
  store = new DynamoProposalStore(db.client, table);
  account = loadSnapshot('demo');
  stack();
  sts.on(GetCallerIdentityCommand).resolves({ Arn: CALLER, Account: ACCOUNT, UserId: 'AROA:alice' });
  kms.on(ListGrantsCommand).resolves({ Grants: [], Truncated: false });
  kms.on(CreateGrantCommand).resolves({ GrantId: 'grant-1', GrantToken: 't' });
  kms.on(RetireGrantCommand).resolves({});
  iam.on(PutRolePolicyCommand).resolves({});
  sns.on(PublishCommand).resolves({ MessageId: 'm' });
});

const clients = (region = 'us-east-1') => ({
  cloudFormation: new CloudFormationClient({ region }),
  dynamodb: db.client,
  kms: new KMSClient({ region: 'us-east-1' }),
  iam: new IAMClient({ region: 'us-east-1' }),
  sns: new SNSClient({ region: 'us-east-1' }),
  sts: new STSClient({ region: 'us-east-1' }),
  reader: () => new SnapshotReader(account),
  now: () => NOW,
});

async function run(command: ReturnType<typeof makeApplyCommand>, argv: string[], stdin = '') {
  const io = captureIo(stdin);
  const code = await command.run(argv, io);
  return { code, out: io.out(), err: io.err() };
}
const apply = (argv: string[], stdin?: string) => run(makeApplyCommand(clients), argv, stdin);

/** What `keymend diagnose --output json` prints for the consumer's denial against `snapshot`. */
async function diagnosed(snapshot = 'demo', prefer = 'kms-grant'): Promise<Record<string, unknown>> {
  const io = captureIo();
  const code = await diagnoseCommand.run(
    ['--event', EVENT, '--account', accountFile(snapshot), '--prefer', prefer],
    io,
  );
  expect([code, io.err()]).toEqual([0, '']);
  return JSON.parse(io.out()) as Record<string, unknown>;
}

let files = 0;
/** Writes `content` (JSON unless a string) to a file of the test's directory; returns its path. */
function planFile(content: unknown): string {
  const file = path.join(dir, `plan-${++files}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** Everything in the table: the proposals `list` sees, of any status. */
async function listed() {
  const io = captureIo();
  const code = await makeListCommand(() => ({
    cloudFormation: new CloudFormationClient({ region: 'us-east-1' }),
    dynamodb: db.client,
    now: () => NOW,
  })).run(['--aws', '--output', 'json'], io);
  expect(code).toBe(0);
  return JSON.parse(io.out()) as { id: string; status: string; change: string }[];
}

/** The account writes apply made (none when it refused). */
const writes = () => [
  ...kms.commandCalls(CreateGrantCommand),
  ...kms.commandCalls(PutKeyPolicyCommand),
  ...iam.commandCalls(PutRolePolicyCommand),
];

describe('keymend apply --plan FILE --aws', () => {
  it("applies diagnose's grant as an approval does, recorded with the caller as approver; list shows it, revoke undoes it", async () => {
    const plan = planFile(await diagnosed());
    const { code, out, err } = await apply(['--plan', plan, '--aws', '--output', 'json']);
    expect([code, err]).toEqual([0, '']);
    const result = JSON.parse(out);
    expect(result).toMatchObject({ outcome: 'applied', dryRun: false, verified: false });
    expect(result.change).toBe(
      'KMS grant keymend-Decrypt-orders on key/1234abcd-12ab-34cd-56ef-1234567890ab to role/service-role/orders-consumer for Decrypt, only for stream/orders (grant grant-1)',
    );
    expect(kms.commandCalls(CreateGrantCommand).map((c) => c.args[0].input)).toEqual([
      {
        KeyId: KEY,
        Name: 'keymend-Decrypt-orders',
        GranteePrincipal: CONSUMER,
        Operations: ['Decrypt'],
        Constraints: {
          EncryptionContextSubset: {
            'aws:kinesis:arn': `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/orders`,
          },
        },
        RetiringPrincipal: RETIRING,
      },
    ]);
    const stored = await store.getProposal(result.proposalId);
    expect(stored).toMatchObject({
      status: 'applied',
      applied: { mechanism: 'kms-grant', grantId: 'grant-1', keyArn: KEY },
      appliedAt: NOW.toISOString(),
    });
    const actor = `keymend apply (${CALLER})`;
    expect(stored?.audit.map((a) => [a.actor, a.action, a.outcome])).toEqual([
      [actor, 'diagnose', 'propose'],
      [actor, 'approve', 'accepted'],
      [actor, 'apply', 'applied-unverified'],
    ]);
    // The notification is the approval's, naming who approved, with no links (the CLI signs none).
    const published = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(published).toHaveLength(1);
    expect(published[0]?.TopicArn).toBe(TOPIC);
    expect(published[0]?.Message).toContain(CALLER);
    expect(published[0]?.Message).toMatch(/^ *Approved by: keymend apply \(arn:aws:sts::/m);
    expect(published[0]?.Message).toMatch(
      new RegExp(
        `^The proposed fix was approved and keymend applied it. This message carries no revoke link: 'keymend revoke ${result.proposalId} --aws' undoes it`,
      ),
    );
    expect(published[0]?.Message).not.toMatch(/[?&]t=/);
    // The problem's fingerprint points at it, as for a proposal the remediate function made.
    const fingerprint = fingerprintOf(fingerprintFieldsOf(JSON.parse(readFileSync(plan, 'utf8')).denial));
    expect(stored?.fingerprint).toBe(fingerprint);

    expect(await listed()).toEqual([expect.objectContaining({ id: result.proposalId, status: 'applied' })]);
    kms.on(ListGrantsCommand, { GrantId: 'grant-1' }).resolves({
      Grants: [
        {
          GrantId: 'grant-1',
          Name: 'keymend-Decrypt-orders',
          KeyId: KEY,
          GranteePrincipal: CONSUMER,
          RetiringPrincipal: RETIRING,
          Operations: ['Decrypt'],
          Constraints: {
            EncryptionContextSubset: {
              'aws:kinesis:arn': `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/orders`,
            },
          },
        },
      ],
      Truncated: false,
    });
    const revoked = await run(makeRevokeCommand(clients), [result.proposalId, '--aws']);
    expect([revoked.code, revoked.err]).toEqual([0, '']);
    expect(kms.commandCalls(RetireGrantCommand).map((c) => c.args[0].input)).toEqual([
      { KeyId: KEY, GrantId: 'grant-1' },
    ]);
    expect(await listed()).toEqual([expect.objectContaining({ id: result.proposalId, status: 'revoked' })]);
  });

  it('says in text what it applied and how to undo it', async () => {
    const { code, out } = await apply(['--plan', planFile(await diagnosed()), '--aws']);
    expect(code).toBe(0);
    expect(out).toMatch(/^Applied ([\w-]+): KMS grant keymend-Decrypt-orders on\s+key\/1234abcd/);
    const id = /^Applied ([\w-]+)/.exec(out)?.[1];
    expect(out).toContain(`Undo it with:\n  keymend revoke ${id} --aws --stack Keymend\n`);
    expect(out.replace(/\s+/g, ' ')).toContain('KMS grants take effect within about five minutes');
  });

  it('--dry-run checks everything, prints the change and writes nothing, not even to the table', async () => {
    const { code, out, err } = await apply(['--plan', planFile(await diagnosed()), '--aws', '--dry-run']);
    expect([code, err]).toEqual([0, '']);
    expect(out).toMatch(/^Would apply: KMS grant keymend-Decrypt-orders/);
    expect(out).toContain('It would record a new proposal');
    expect(out).toContain('aws kms create-grant');
    expect(writes()).toEqual([]);
    expect(sns.commandCalls(PublishCommand)).toEqual([]);
    expect(await listed()).toEqual([]);
  });

  it('--dry-run refuses what apply refuses', async () => {
    account = loadSnapshot('explicit-deny');
    const { code, out } = await apply(['--plan', planFile(await diagnosed()), '--aws', '--dry-run']);
    expect(code).toBe(1);
    expect(out).toMatch(/^Not applied \(refused: explicit-deny\): /);
    expect(out).toMatch(/[^.]\.\n$/);
  });

  it("approves the problem's pending proposal of the same plan instead of making another", async () => {
    const first = JSON.parse(
      (await apply(['--plan', planFile(await diagnosed()), '--aws', '--dry-run', '--output', 'json'])).out,
    );
    expect(first.proposalId).toBeUndefined();
    // A proposal the remediate function stored for the same problem, pending.
    const plan = await diagnosed();
    const pending = await sampleProposal({ id: 'pending-one', now: NOW });
    await store.createProposal(pending, new Date(pending.expiresAt));
    const dry = await apply(['--plan', planFile(plan), '--aws', '--dry-run', '--output', 'json']);
    expect(JSON.parse(dry.out)).toMatchObject({ outcome: 'would-apply', proposalId: 'pending-one' });
    const { code, out } = await apply(['--plan', planFile(plan), '--aws', '--output', 'json']);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ outcome: 'applied', proposalId: 'pending-one' });
    expect((await listed()).map((p) => [p.id, p.status])).toEqual([['pending-one', 'applied']]);
  });
  it("marks the problem's pending proposal of another plan superseded once the fix is applied", async () => {
    const inline = await sampleProposal({ id: 'pending-inline', prefer: 'iam-inline-policy', now: NOW });
    expect(inline.plan?.mechanism).toBe('iam-inline-policy');
    await store.createProposal(inline, new Date(inline.expiresAt));
    const { code, out } = await apply(['--plan', planFile(await diagnosed()), '--aws', '--output', 'json']);
    expect(code).toBe(0);
    const applied = JSON.parse(out).proposalId as string;
    expect(applied).not.toBe('pending-inline');
    const old = await store.getProposal('pending-inline');
    expect(old?.status).toBe('superseded');
    expect(old?.audit.at(-1)).toMatchObject({
      actor: `keymend apply (${CALLER})`,
      outcome: 'superseded',
      detail: `the problem was fixed by proposal ${applied} (keymend apply)`,
    });
  });

  it("notes a refused apply on the problem's proposal, as a refused approval is (never on a dry run)", async () => {
    const pending = await sampleProposal({ id: 'pending-refused', now: NOW });
    await store.createProposal(pending, new Date(pending.expiresAt));
    const plan = planFile(await diagnosed());
    account = loadSnapshot('explicit-deny');
    const dry = await apply(['--plan', plan, '--aws', '--dry-run']);
    expect(dry.code).toBe(1);
    expect((await store.getProposal('pending-refused'))?.audit).toHaveLength(1);
    const { code, out } = await apply(['--plan', plan, '--aws', '--output', 'json']);
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ code: 'explicit-deny', proposalId: 'pending-refused' });
    const stored = await store.getProposal('pending-refused');
    expect(stored?.status).toBe('pending');
    expect(stored?.audit.at(-1)).toMatchObject({
      actor: `keymend apply (${CALLER})`,
      action: 'approve',
      outcome: 'refused',
      detail: expect.stringMatching(/^keymend apply: explicit-deny: /),
    });
    expect(writes()).toEqual([]);
  });

  it("refuses while the problem's proposal is being applied", async () => {
    const pending = await sampleProposal({ id: 'busy', now: NOW });
    await store.createProposal(pending, new Date(pending.expiresAt));
    await store.transition(
      'busy',
      'pending',
      'applying',
      {},
      {
        at: NOW.toISOString(),
        actor: 'approval-link',
        action: 'approve',
        outcome: 'accepted',
      },
    );
    const { code, out } = await apply(['--plan', planFile(await diagnosed()), '--aws', '--output', 'json']);
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ outcome: 'refused', code: 'in-progress', proposalId: 'busy' });
    expect(writes()).toEqual([]);
  });
});

describe('keymend apply refuses what an approval would refuse (exit 1, nothing written)', () => {
  /** Runs apply on `plan` (diagnose's JSON, maybe changed) and checks that nothing was written. */
  async function refused(plan: unknown, argv: string[] = []) {
    const { code, out, err } = await apply(['--plan', planFile(plan), '--aws', '--output', 'json', ...argv]);
    expect([code, err]).toEqual([1, '']);
    expect(writes()).toEqual([]);
    expect(await listed()).toEqual([]);
    return JSON.parse(out) as { outcome: string; code: string; reason: string };
  }

  it('the denial is gone: a re-read shows the request allowed', async () => {
    const plan = await diagnosed();
    account = loadSnapshot('already-fixed');
    expect(await refused(plan)).toMatchObject({
      outcome: 'refused',
      code: 'denial-gone',
      reason: expect.stringMatching(/^the denial is gone: /),
    });
  });

  it('an explicit deny appeared since the plan was made', async () => {
    const plan = await diagnosed();
    account = loadSnapshot('explicit-deny');
    expect(await refused(plan)).toMatchObject({ code: 'explicit-deny' });
  });

  it('the key is AWS managed', async () => {
    const plan = await diagnosed();
    const key = account.keys.find((k) => k.arn === KEY);
    if (!key) throw new Error('no key');
    key.keyManager = 'AWS';
    expect(await refused(plan)).toMatchObject({ code: 'aws-managed-key' });
  });

  it.each([
    ['the principal', 'granteePrincipal', `arn:aws:iam::${ACCOUNT}:role/orders-producer`],
    ['the key', 'keyArn', `arn:aws:kms:us-east-1:${ACCOUNT}:key/0987dcba-09fe-87dc-65ba-ab0987654321`],
    ['the grant name', 'name', 'keymend-Decrypt-everything'],
  ])('the plan is not the exact change: %s edited in the file', async (_what, field, value) => {
    const plan = await diagnosed();
    (plan.plan as Record<string, unknown>)[field] = value;
    const answer = await refused(plan);
    expect(answer.code).toBe('plan-changed');
    expect(answer.reason).toContain(`${field} is ${value} in the plan`);
  });

  it("the plan is not the exact change: the stream in the grant's constraint edited", async () => {
    const plan = await diagnosed();
    (plan.plan as { constraints: unknown }).constraints = {
      encryptionContextSubset: { 'aws:kinesis:arn': `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/other` },
    };
    expect(await refused(plan)).toMatchObject({
      code: 'plan-changed',
      reason: expect.stringContaining('constraints differs'),
    });
  });

  it('the denial is of another principal than the plan names', async () => {
    const plan = await diagnosed();
    const denial = plan.denial as Record<string, unknown>;
    denial.principalArn = `arn:aws:iam::${ACCOUNT}:role/orders-producer`;
    denial.sessionArn = `arn:aws:sts::${ACCOUNT}:assumed-role/orders-producer/s`;
    expect(await refused(plan)).toMatchObject({
      code: 'plan-changed',
      reason: expect.stringContaining(
        `granteePrincipal is ${CONSUMER} in the plan, arn:aws:iam::${ACCOUNT}:role/orders-producer now`,
      ),
    });
  });

  it('a key-policy change where the stack does not enable key-policy changes, as an approval refuses it', async () => {
    const plan = await diagnosed('demo', 'key-policy-statement');
    expect((plan.plan as { mechanism: string }).mechanism).toBe('key-policy-statement');
    expect(await refused(plan)).toMatchObject({
      code: 'mechanism-disabled',
      reason: expect.stringContaining('key-policy change is applied only where the deployment enables'),
    });
  });

  it('a key-policy change where the stack enables them goes through, as an approval applies it', async () => {
    stack({ EnabledMechanisms: 'kms-grant,key-policy-statement' });
    const plan = await diagnosed('demo', 'key-policy-statement');
    const { code, out } = await apply(['--plan', planFile(plan), '--aws', '--dry-run', '--output', 'json']);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ outcome: 'would-apply' });
    expect(kms.commandCalls(GetKeyPolicyCommand)).toEqual([]);
  });

  it('an inline policy where the stack does not enable inline policies', async () => {
    const plan = await diagnosed('demo', 'iam-inline-policy');
    expect((plan.plan as { mechanism: string }).mechanism).toBe('iam-inline-policy');
    expect(await refused(plan)).toMatchObject({ code: 'mechanism-disabled' });
  });

  it('an inline policy on a principal outside the stack’s InlinePolicyPrincipals', async () => {
    stack({
      EnabledMechanisms: 'kms-grant,iam-inline-policy',
      InlinePolicyPrincipals: `arn:aws:iam::${ACCOUNT}:role/producers/*`,
    });
    const plan = await diagnosed('demo', 'iam-inline-policy');
    expect(await refused(plan)).toMatchObject({
      code: 'principal-not-allowed',
      reason: expect.stringContaining(CONSUMER),
    });
    // The same plan on a principal the stack names is applied (PutRolePolicy, as the approval role would).
    stack({
      EnabledMechanisms: 'kms-grant,iam-inline-policy',
      InlinePolicyPrincipals: `arn:aws:iam::${ACCOUNT}:role/service-role/orders-*`,
    });
    const { code, out } = await apply(['--plan', planFile(plan), '--aws', '--output', 'json']);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ outcome: 'applied' });
    expect(iam.commandCalls(PutRolePolicyCommand).map((c) => c.args[0].input.RoleName)).toEqual([
      'orders-consumer',
    ]);
  });

  it('a cross-account plan: two accounts to write in, one set of credentials', async () => {
    const plan = await diagnosed();
    const keySide = await diagnosed('demo', 'key-policy-statement');
    const inline = await diagnosed('demo', 'iam-inline-policy');
    plan.plan = {
      mechanism: 'cross-account',
      keyAccountId: '444455556666',
      callerAccountId: ACCOUNT,
      keySide: keySide.plan,
      callerSide: inline.plan,
    };
    stack({
      EnabledMechanisms: 'kms-grant,iam-inline-policy,key-policy-statement',
      InlinePolicyPrincipals: CONSUMER,
    });
    expect(await refused(plan)).toMatchObject({
      code: 'cross-account',
      reason: expect.stringContaining('approve it through its link'),
    });
  });

  it("a plan of another account than the credentials'", async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Arn: CALLER, Account: '444455556666', UserId: 'x' });
    expect(await refused(await diagnosed())).toMatchObject({
      code: 'wrong-account',
      reason: expect.stringContaining('account 111122223333'),
    });
  });

  it("a plan of another Region than the stack's", async () => {
    const plan = await diagnosed();
    const answer = await refused(plan, ['--region', 'eu-west-1']);
    expect(answer).toMatchObject({
      code: 'wrong-region',
      reason: expect.stringContaining('--region us-east-1'),
    });
  });
});

describe('keymend apply: what the stack must say', () => {
  it('a stack without the EnabledMechanisms output (an older keymend) is an error naming it', async () => {
    stack({ EnabledMechanisms: undefined });
    const { code, err } = await apply(['--plan', planFile(await diagnosed()), '--aws']);
    expect(code).toBe(1);
    expect(err).toMatch(/^keymend apply: stack Keymend has no EnabledMechanisms output: deploy this version/);
    expect(writes()).toEqual([]);
  });

  it('a stack that enables inline policies without naming principals is an error', async () => {
    stack({ EnabledMechanisms: 'kms-grant,iam-inline-policy' });
    const { code, err } = await apply(['--plan', planFile(await diagnosed()), '--aws']);
    expect(code).toBe(1);
    expect(err).toMatch(/has no InlinePolicyPrincipals output/);
  });
});

describe('keymend apply: the command line (exit 2) and the plan file (exit 1)', () => {
  it.each([
    [['--aws'], /--plan FILE is required/],
    [['--plan', 'p.json'], /give --aws/],
    [['--plan', 'p.json', '--aws', '--region', 'mars'], /--region must be a Region/],
    [['--plan', 'p.json', '--aws', '--dryrun'], /unknown option '--dryrun'; did you mean --dry-run\?/],
    [['--plan', 'p.json', '--aws', '--output', 'yaml'], /--output must be text, json or jsonl/],
  ])('%j is a usage error', async (argv, message) => {
    const { code, out, err } = await apply(argv);
    expect([code, out]).toEqual([2, '']);
    expect(err).toMatch(message);
    expect(err).toMatch(/See 'keymend apply --help'\.\n$/);
  });

  /** Applies `content` as the plan file; expects exit 1 with `message`, and nothing asked of AWS. */
  async function badPlan(content: unknown, message: RegExp) {
    const { code, out, err } = await apply(['--plan', planFile(content), '--aws']);
    expect([code, out]).toEqual([1, '']);
    expect(err).toMatch(message);
    expect(sts.commandCalls(GetCallerIdentityCommand)).toEqual([]);
  }

  it('a file that is not JSON', () => badPlan('{"verdict": ', /plan-\d+\.json is not JSON: /));

  it("a refusal's result", async () => {
    account = loadSnapshot('explicit-deny');
    await badPlan(
      await diagnosedFrom('explicit-deny'),
      /its verdict is "refuse" \(explicit-deny\), not "propose": there is no fix in it to apply/,
    );
  });

  it('a scan summary without diagnoses', () =>
    badPlan(
      { files: 1, problems: [{ count: 2 }], records: 3 },
      /is a scan summary with no diagnosis in it: scan with --diagnose/,
    ));

  it("a scan summary with two proposed fixes names each problem's diagnosis", async () => {
    const summary = await scanned();
    const [problem] = summary.problems;
    if (!problem) throw new Error('the sample log file has no problem');
    summary.problems = [problem, problem];
    await badPlan(
      summary,
      /holds 2 proposed fixes \(problems 1, 2\): keep the one to apply, e.g. jq '\.problems\[0\]\.diagnosis'/,
    );
  });

  it('a CloudTrail record or log', () => badPlan({ Records: [] }, /is CloudTrail input, not a plan/));

  it('an array with two proposed fixes', async () => {
    const plan = await diagnosed();
    await badPlan([plan, { verdict: 'ignore' }, plan], /holds 2 proposed fixes \(items 1, 3\): keep the one/);
  });

  it('an array with none', () =>
    badPlan([{ verdict: 'ignore' }, { verdict: 'refuse' }], /holds no proposed fix \(1 ignore, 1 refuse\)/));

  it('a result without denial (an older keymend)', async () => {
    const { denial: _, ...older } = await diagnosed();
    await badPlan(older, /has no "denial" .*make it again/);
  });

  it('a field of the wrong type, by its path', async () => {
    const plan = await diagnosed();
    (plan.denial as Record<string, unknown>).keyArn = 42;
    await badPlan(plan, /denial\.keyArn: expected a string or null/);
    const other = await diagnosed();
    (other.denial as Record<string, unknown>).viaKinesis = 'yes';
    await badPlan(other, /denial\.viaKinesis: expected true or false, got "yes"/);
  });

  it('jsonl with one proposed fix among ignored ones is a plan', async () => {
    const plan = await diagnosed();
    const lines = `${JSON.stringify({ verdict: 'ignore', request: null })}\n${JSON.stringify(plan)}\n`;
    const { code, out } = await apply(['--plan', planFile(lines), '--aws', '--dry-run']);
    expect(code).toBe(0);
    expect(out).toMatch(/^Would apply: /);
  });

  it("scan --diagnose's summary with one proposed fix is a plan, and so is one problem's diagnosis", async () => {
    const summary = await scanned();
    const whole = await apply(['--plan', planFile(summary), '--aws', '--dry-run', '--output', 'json']);
    expect([whole.code, whole.err]).toEqual([0, '']);
    expect(JSON.parse(whole.out)).toMatchObject({
      outcome: 'would-apply',
      plan: summary.problems[0]?.diagnosis?.plan,
    });
    const one = await apply([
      '--plan',
      planFile(summary.problems[0]?.diagnosis),
      '--aws',
      '--output',
      'json',
    ]);
    expect([one.code, one.err]).toEqual([0, '']);
    expect(JSON.parse(one.out)).toMatchObject({ outcome: 'applied' });
  });

  it('standard input', async () => {
    const { code, out } = await apply(
      ['--plan', '-', '--aws', '--dry-run'],
      JSON.stringify(await diagnosed()),
    );
    expect(code).toBe(0);
    expect(out).toMatch(/^Would apply: /);
  });
});

/** `keymend scan --diagnose --output json` of the sample log file against the demo account. */
async function scanned(): Promise<ScanSummary> {
  const io = captureIo();
  const code = await scanCommand.run(
    [
      path.join(EVENTS_DIR, 'cloudtrail-log-file.records.json'),
      '--diagnose',
      '--account',
      accountFile('demo'),
      '--output',
      'json',
    ],
    io,
  );
  expect([code, io.err()]).toEqual([0, '']);
  return JSON.parse(io.out()) as ScanSummary;
}

/** diagnose's result for the consumer's denial against `snapshot`, whatever its verdict (exit 1 allowed). */
async function diagnosedFrom(snapshot: string): Promise<unknown> {
  const io = captureIo();
  await diagnoseCommand.run(['--event', EVENT, '--account', accountFile(snapshot)], io);
  return JSON.parse(io.out());
}

describe("keymend apply with the deployed functions' reader, the SDK mocked at the client", () => {
  const STREAM = `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/orders`;
  /** The consumer's account as IAM, KMS and Kinesis answer: the demo's consumer, key and stream. */
  function account(options: { keyManager?: 'AWS' | 'CUSTOMER'; deny?: boolean } = {}) {
    iam.on(GetRoleCommand).resolves({
      Role: {
        Arn: CONSUMER,
        RoleName: 'orders-consumer',
        Path: '/service-role/',
        RoleId: 'AROACFCFFIDFDCFADIAAD',
        CreateDate: new Date('2024-01-01T00:00:00Z'),
      },
    });
    const statements: unknown[] = [
      { Effect: 'Allow', Action: ['kinesis:GetRecords', 'kinesis:GetShardIterator'], Resource: STREAM },
    ];
    if (options.deny) statements.push({ Effect: 'Deny', Action: 'kms:Decrypt', Resource: '*' });
    iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: ['orders-stream-read'], IsTruncated: false });
    iam.on(GetRolePolicyCommand).resolves({
      RoleName: 'orders-consumer',
      PolicyName: 'orders-stream-read',
      PolicyDocument: encodeURIComponent(JSON.stringify({ Version: '2012-10-17', Statement: statements })),
    });
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [], IsTruncated: false });
    iam.on(ListAccountAliasesCommand).resolves({ AccountAliases: [], IsTruncated: false });
    kms.on(DescribeKeyCommand).resolves({
      KeyMetadata: {
        KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
        Arn: KEY,
        AWSAccountId: ACCOUNT,
        KeyManager: options.keyManager ?? 'CUSTOMER',
        KeyState: 'Enabled',
        KeySpec: 'SYMMETRIC_DEFAULT',
        KeyUsage: 'ENCRYPT_DECRYPT',
        Origin: 'AWS_KMS',
      },
    });
    kms.on(GetKeyPolicyCommand).resolves({
      Policy: JSON.stringify(delegatingKeyPolicy(ACCOUNT)),
    });
    kms.on(ListAliasesCommand).resolves({ Aliases: [{ AliasName: 'alias/orders' }], Truncated: false });
    kms.on(ListResourceTagsCommand).resolves({ Tags: [], Truncated: false });
    kinesis.on(DescribeStreamSummaryCommand).resolves({
      StreamDescriptionSummary: {
        StreamName: 'orders',
        StreamARN: STREAM,
        StreamStatus: 'ACTIVE',
        RetentionPeriodHours: 24,
        StreamCreationTimestamp: new Date('2024-01-01T00:00:00Z'),
        EnhancedMonitoring: [],
        OpenShardCount: 1,
        EncryptionType: 'KMS',
        KeyId: KEY,
      },
    });
    organizations.on(DescribeOrganizationCommand).rejects(
      Object.assign(new Error('not in an organization'), {
        name: 'AWSOrganizationsNotInUseException',
        $metadata: {},
      }),
    );
  }

  /** apply with the default reader (the one the deployed functions build), not a snapshot. */
  const deployedApply = (argv: string[]) =>
    run(
      makeApplyCommand(() => {
        const { reader: _, ...rest } = clients();
        return rest;
      }),
      argv,
    );

  it('reads the account through IAM, KMS and Kinesis and finds the same plan (a dry run)', async () => {
    account();
    const { code, out, err } = await deployedApply([
      '--plan',
      planFile(await diagnosed()),
      '--aws',
      '--dry-run',
      '--output',
      'json',
    ]);
    expect([code, err]).toEqual([0, '']);
    expect(JSON.parse(out)).toMatchObject({ outcome: 'would-apply' });
    expect(iam.commandCalls(GetRoleCommand)).not.toHaveLength(0);
    expect(kms.commandCalls(DescribeKeyCommand)).not.toHaveLength(0);
    expect(writes()).toEqual([]);
  });

  it.each([
    ['the key is AWS managed', { keyManager: 'AWS' as const }, 'aws-managed-key'],
    ['an explicit deny in the role', { deny: true }, 'explicit-deny'],
  ])('refuses when %s', async (_what, options, code) => {
    account(options);
    const { code: exit, out } = await deployedApply([
      '--plan',
      planFile(await diagnosed()),
      '--aws',
      '--output',
      'json',
    ]);
    expect(exit).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ outcome: 'refused', code });
    expect(writes()).toEqual([]);
    expect(await listed()).toEqual([]);
  });
});
