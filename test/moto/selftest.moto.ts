/**
 * `keymend selftest --aws` against moto, for everything but what moto cannot do: Kinesis in moto
 * never calls KMS, and nothing delivers CloudTrail records. The test supplies both, as AWS would:
 * after the real PutRecord (as the assumed role, in moto) it hands the deployed remediate handler the
 * CloudTrail record of the denied kms:GenerateDataKey (real-shaped, from
 * events/producer-generatedatakey-denied.record.json) and answers KMSAccessDeniedException.
 */
import { randomUUID } from 'node:crypto';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { IAMClient, ListRolesCommand } from '@aws-sdk/client-iam';
import { KinesisClient, ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { DescribeKeyCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import {
  awsSelfTestDeps,
  makeSelfTestCommand,
  runSelfTest,
  type SelfTestDeps,
} from '../../cli/commands/selftest';
import { loadEvent } from '../helpers/events';
import { captureIo } from '../helpers/io';
import { type Deployment, deploy } from './lambda';
import { MOTO_ACCOUNT, motoClientConfig, REGION, resetMoto } from './moto';

// biome-ignore lint/suspicious/noExplicitAny: CloudTrail records are edited as JSON
type Json = Record<string, any>;

const SAMPLE_KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const config = motoClientConfig();

/** The CloudTrail record AWS writes when Kinesis is denied kms:GenerateDataKey for the role's session. */
function deniedRecord(input: { roleArn: string; sessionName: string; keyArn: string; streamArn: string }) {
  const roleName = input.roleArn.split('/').at(-1) as string;
  const record = loadEvent('producer-generatedatakey-denied.record.json') as Json;
  const text = JSON.stringify(record)
    .replaceAll(SAMPLE_KEY, input.keyArn)
    .replaceAll('arn:aws:kinesis:us-east-1:111122223333:stream/orders', input.streamArn)
    .replaceAll('arn:aws:iam::111122223333:role/orders-producer', input.roleArn)
    .replaceAll(
      'assumed-role/orders-producer/producer-task-7f3e9a',
      `assumed-role/${roleName}/${input.sessionName}`,
    )
    .replaceAll('producer-task-7f3e9a', input.sessionName)
    .replaceAll('"userName":"orders-producer"', `"userName":"${roleName}"`)
    .replaceAll('111122223333', MOTO_ACCOUNT);
  const out = JSON.parse(text);
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  out.eventTime = now;
  out.eventID = randomUUID();
  out.requestID = randomUUID();
  return out;
}

function eventBridge(record: Json) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.kms',
    account: record.recipientAccountId,
    time: record.eventTime,
    region: record.awsRegion,
    resources: [],
    detail: record,
  };
}

/** Nothing the self-test created is left: no role, no stream, the key pending deletion in 7 days. */
async function expectCleanedUp() {
  const roles =
    (await new IAMClient(config).send(new ListRolesCommand({ PathPrefix: '/keymend-selftest/' }))).Roles ??
    [];
  expect(roles).toEqual([]);
  const streams = (await new KinesisClient(config).send(new ListStreamsCommand({}))).StreamNames ?? [];
  expect(streams.filter((s) => s.startsWith('keymend-selftest-'))).toEqual([]);
  const kms = new KMSClient(config);
  const keys = (await kms.send(new ListKeysCommand({}))).Keys ?? [];
  const states = await Promise.all(
    keys.map(async (k) => (await kms.send(new DescribeKeyCommand({ KeyId: k.KeyId }))).KeyMetadata),
  );
  const selftestKeys = states.filter((m) => m?.Description?.startsWith('keymend selftest'));
  expect(selftestKeys.length).toBeGreaterThan(0);
  for (const key of selftestKeys) {
    expect(key?.KeyState).toBe('PendingDeletion');
    const days = ((key?.DeletionDate?.getTime() ?? 0) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThan(7.1);
  }
}

let deployment: Deployment;
let delivered: Json[];
let interrupt: (() => Promise<void>) | undefined;

/**
 * moto's clients and its real PutRecord as the assumed role; after it, the test does what AWS would:
 * Kinesis is denied by KMS, and CloudTrail delivers the record through EventBridge to keymend.
 */
function motoDeps(options: { denied?: boolean; interruptDuringPut?: boolean } = {}): SelfTestDeps {
  const aws = awsSelfTestDeps(REGION);
  return {
    ...aws,
    putRecord: async (input) => {
      await aws.putRecord(input);
      if (options.interruptDuringPut) {
        await interrupt?.();
        throw new Error('interrupted');
      }
      if (options.denied === false) return;
      const record = deniedRecord(input);
      delivered.push(record);
      expect(await deployment.remediate(eventBridge(record))).toMatchObject({ outcome: 'proposed' });
      throw Object.assign(new Error('KMS denied GenerateDataKey'), { name: 'KMSAccessDeniedException' });
    },
    lookupRecord: async (eventId) => delivered.find((r) => r.eventID === eventId) ?? null,
    sleep: async () => {},
    pollMs: 0,
    onInterrupt: (cleanUp) => {
      interrupt = cleanUp;
      return () => {
        interrupt = undefined;
      };
    },
  };
}

beforeEach(async () => {
  await resetMoto();
  delivered = [];
  deployment = await deploy();
  // The deployed stack, as the self-test finds it: its TableName output.
  await new CloudFormationClient(config).send(
    new CreateStackCommand({
      StackName: 'Keymend',
      TemplateBody: JSON.stringify({
        Resources: { Queue: { Type: 'AWS::SQS::Queue' } },
        Outputs: { TableName: { Value: deployment.env.remediate.KEYMEND_TABLE } },
      }),
    }),
  );
});

afterEach(() => deployment?.close());

describe('keymend selftest --aws against moto', () => {
  it('creates key, stream and role, the denial becomes a proposal, prints the record, deletes everything', async () => {
    const io = captureIo();
    const proposal = await runSelfTest(motoDeps(), { region: REGION, timeoutMinutes: 1 }, io);
    expect(proposal.status).toBe('pending');
    expect(proposal.request.operation).toBe('kms:GenerateDataKey');
    expect(proposal.request.principalArn).toMatch(/:role\/keymend-selftest\/keymend-selftest-[0-9a-f]{8}$/);
    expect(io.out()).toContain(`The denial became proposal ${proposal.id}: pending (propose).`);
    expect(io.out()).toContain(`"eventID": "${delivered[0]?.eventID}"`);
    expect(io.err()).toContain(`stack Keymend (table ${deployment.env.remediate.KEYMEND_TABLE})`);
    expect(io.err()).toContain('was denied by KMS (KMSAccessDeniedException), as intended');
    expect(io.err()).toContain('scheduled key');
    await expectCleanedUp();
  });

  it('fails, and still deletes everything, when the record is written (the role could use the key)', async () => {
    const io = captureIo();
    await expect(
      runSelfTest(motoDeps({ denied: false }), { region: REGION, timeoutMinutes: 1 }, io),
    ).rejects.toThrow(/succeeded: KMS let Kinesis use the new key for the role/);
    await expectCleanedUp();
  });

  it('deletes everything on Ctrl-C', async () => {
    const io = captureIo();
    await expect(
      runSelfTest(motoDeps({ interruptDuringPut: true }), { region: REGION, timeoutMinutes: 1 }, io),
    ).rejects.toThrow('interrupted');
    expect(io.err()).toContain('interrupted: deleting what was created');
    await expectCleanedUp();
  });

  it('says so when no stack is deployed', async () => {
    const io = captureIo();
    const command = makeSelfTestCommand(() => motoDeps());
    expect(await command.run(['--aws', '--region', REGION, '--stack', 'Nowhere'], io)).toBe(1);
    expect(io.err()).toContain('no deployed keymend stack found in us-east-1 (looked for Nowhere');
  });

  it('refuses to run without --aws', async () => {
    const io = captureIo();
    expect(await makeSelfTestCommand(() => motoDeps()).run(['--region', REGION], io)).toBe(2);
    expect(io.err()).toContain('--aws is required');
  });
});
