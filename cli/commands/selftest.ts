/**
 * `keymend selftest --aws`: checks, in a person's own account, that a real Kinesis KMS denial reaches
 * the deployed stack and becomes a proposal. It creates a throwaway customer managed key, a stream
 * encrypted with it and a role that may write to the stream but not use the key; puts a record as that
 * role (Kinesis is denied kms:GenerateDataKey); waits, with progress, for the proposal in keymend's
 * table; prints the CloudTrail record AWS delivered; and deletes everything it created, also on
 * Ctrl-C or failure (the key is scheduled for deletion in 7 days, the shortest KMS allows).
 */
import { randomBytes } from 'node:crypto';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  IAMClient,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  PutRecordCommand,
  StartStreamEncryptionCommand,
} from '@aws-sdk/client-kinesis';
import { CreateKeyCommand, KMSClient, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { clientConfig } from '../../functions/adapters/client-config';
import { DynamoProposalStore, storeKeys } from '../../functions/adapters/store';
import { partitionOfRegion } from '../../functions/commons/arn';
import { KeymendError, UsageError } from '../../functions/commons/errors';
import { fingerprintOf, type Proposal } from '../../functions/core/proposal';
import { OUTPUT_OPTIONS, outputOption, parseCommandLine } from '../args';
import { helpText } from '../help';
import { oneLine } from '../input';
import type { CliIo, Command } from '../io';
import { EXIT_STATUS_HELP, runCommand } from '../run-command';

const HELP = `Usage: keymend selftest --aws [--stack NAME | --table NAME] [--region REGION]
                        [--timeout MINUTES]

Checks, in your own account, that keymend's deployed stack receives a real
Kinesis KMS denial and turns it into a proposal:
  1. creates a throwaway customer managed key, a Kinesis stream encrypted
     with it, and a role that may write to the stream but may not use the key;
  2. puts one record as that role: Kinesis is denied kms:GenerateDataKey;
  3. waits, printing progress, until CloudTrail has delivered the denial
     through EventBridge to keymend and a proposal is in its table;
  4. prints the proposal and the CloudTrail record AWS delivered (the shape
     worth contributing to events/);
  5. deletes everything it created, also on Ctrl-C or failure: the role, the
     stream, and the key (scheduled for deletion in 7 days, the least KMS
     allows). The proposal stays in keymend's table, as any other.
Run it once after deploying. It needs credentials that may create and delete
a KMS key, a Kinesis stream and an IAM role, assume that role, and read the
stack's outputs, keymend's table and CloudTrail's event history.

Options:
  --aws              required: this command changes your account (and
                     cleans up after itself).
  --stack NAME       the deployed stack (default Keymend, then Keymend-REGION).
  --table NAME       keymend's table, instead of reading the stack's outputs.
  --region REGION    the Region of the stack (default: AWS_REGION).
  --timeout MINUTES  how long to wait for the denial (default 15; CloudTrail
                     usually delivers within 5).
  --output text      what it prints is for people (text only).
  -h, --help         show this help.

${EXIT_STATUS_HELP}
Here a failure is a denial that did not become a proposal within the timeout,
or a step AWS refused (the message names it).
`;

/** A step of the self-test failed: the message says which and what was seen. */
export class SelfTestError extends KeymendError {
  override readonly name: string = 'SelfTestError';
}

type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

/** What the self-test needs of AWS; tests replace some (moto has no CloudTrail delivery). */
export interface SelfTestDeps {
  clients: {
    sts: STSClient;
    kms: KMSClient;
    kinesis: KinesisClient;
    iam: IAMClient;
    dynamodb: DynamoDBClient;
    cloudformation: CloudFormationClient;
    cloudtrail: CloudTrailClient;
  };
  /** PutRecord on the stream with the role's credentials. */
  putRecord(input: {
    credentials: Credentials;
    streamArn: string;
    roleArn: string;
    sessionName: string;
    keyArn: string;
  }): Promise<void>;
  /** The CloudTrail record of `eventId`, or null when CloudTrail does not (yet) have it. */
  lookupRecord(eventId: string): Promise<unknown | null>;
  sleep(ms: number): Promise<void>;
  now(): number;
  /** On Ctrl-C, runs `cleanUp` and ends the process; returns a function that stops listening. */
  onInterrupt(cleanUp: () => Promise<void>): () => void;
  /** Milliseconds between two looks at the table (default 15 s). */
  pollMs?: number;
}

export interface SelfTestOptions {
  region: string;
  stack?: string;
  table?: string;
  timeoutMinutes: number;
}

/** The self-test's dependencies on AWS, with the default credential chain. */
export function awsSelfTestDeps(region: string): SelfTestDeps {
  const config = clientConfig({ region });
  const clients = {
    sts: new STSClient(config),
    kms: new KMSClient(config),
    kinesis: new KinesisClient(config),
    iam: new IAMClient(config),
    dynamodb: new DynamoDBClient(config),
    cloudformation: new CloudFormationClient(config),
    cloudtrail: new CloudTrailClient(config),
  };
  return {
    clients,
    putRecord: async ({ credentials, streamArn }) => {
      const kinesis = new KinesisClient({ ...config, credentials });
      try {
        await kinesis.send(
          new PutRecordCommand({
            StreamARN: streamArn,
            PartitionKey: 'selftest',
            Data: Buffer.from('keymend selftest'),
          }),
        );
      } finally {
        kinesis.destroy();
      }
    },
    lookupRecord: async (eventId) => {
      const out = await clients.cloudtrail.send(
        new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventId', AttributeValue: eventId }] }),
      );
      const text = out.Events?.[0]?.CloudTrailEvent;
      return text ? JSON.parse(text) : null;
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: () => Date.now(),
    onInterrupt: (cleanUp) => {
      const handler = () => {
        void cleanUp().finally(() => process.exit(130));
      };
      process.once('SIGINT', handler);
      return () => process.removeListener('SIGINT', handler);
    },
  };
}

const minutes = (ms: number) =>
  `${Math.floor(ms / 60_000)}m${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}s`;

/** keymend's table: `--table`, else the TableName output of the stack. */
async function findTable(deps: SelfTestDeps, o: SelfTestOptions): Promise<{ table: string; where: string }> {
  if (o.table) return { table: o.table, where: `table ${o.table}` };
  const names = o.stack ? [o.stack] : ['Keymend', `Keymend-${o.region}`];
  for (const name of names) {
    try {
      const out = await deps.clients.cloudformation.send(new DescribeStacksCommand({ StackName: name }));
      const table = out.Stacks?.[0]?.Outputs?.find((output) => output.OutputKey === 'TableName')?.OutputValue;
      if (table) return { table, where: `stack ${name} (table ${table})` };
    } catch (error) {
      if ((error as Error).name !== 'ValidationError') throw error;
    }
  }
  throw new SelfTestError(
    `no deployed keymend stack found in ${o.region} (looked for ${names.join(', ')} with a TableName output): deploy it first (docs/deploy.md), or pass --stack NAME or --table NAME`,
  );
}

/**
 * Runs the self-test. Everything it creates is deleted before it returns or throws, and on Ctrl-C.
 * @returns the proposal the denial became.
 * @throws SelfTestError when a step fails or the denial does not arrive in time.
 */
export async function runSelfTest(deps: SelfTestDeps, o: SelfTestOptions, io: CliIo): Promise<Proposal> {
  const say = (text: string) => io.stderr(`keymend selftest: ${text}\n`);
  const { clients } = deps;
  const partition = partitionOfRegion(o.region);
  if (!partition) throw new UsageError(`not an AWS Region: ${JSON.stringify(o.region)}`);
  const account = (await clients.sts.send(new GetCallerIdentityCommand({}))).Account;
  if (!account) throw new SelfTestError('sts:GetCallerIdentity returned no account');
  const { table, where } = await findTable(deps, o);
  say(`account ${account}, Region ${o.region}, ${where}`);

  const id = randomBytes(4).toString('hex');
  const name = `keymend-selftest-${id}`;
  const created: { key?: string; keyId?: string; stream?: string; role?: string; rolePolicy?: boolean } = {};
  let cleaning: Promise<void> | undefined;
  const cleanUp = (): Promise<void> => {
    cleaning ??= (async () => {
      if (created.rolePolicy) {
        await step(say, `deleted the role's policy`, () =>
          clients.iam.send(new DeleteRolePolicyCommand({ RoleName: name, PolicyName: 'write-the-stream' })),
        );
      }
      if (created.role) {
        await step(say, `deleted role ${created.role}`, () =>
          clients.iam.send(new DeleteRoleCommand({ RoleName: name })),
        );
      }
      if (created.stream) {
        await step(say, `deleted stream ${created.stream}`, () =>
          clients.kinesis.send(
            new DeleteStreamCommand({ StreamARN: created.stream, EnforceConsumerDeletion: true }),
          ),
        );
      }
      if (created.key) {
        await step(say, `scheduled key ${created.key} for deletion in 7 days`, () =>
          clients.kms.send(
            new ScheduleKeyDeletionCommand({ KeyId: created.keyId ?? created.key, PendingWindowInDays: 7 }),
          ),
        );
      }
    })();
    return cleaning;
  };
  const stopListening = deps.onInterrupt(() => {
    say('interrupted: deleting what was created');
    return cleanUp();
  });
  try {
    const key = await clients.kms.send(
      new CreateKeyCommand({
        Description: `keymend selftest ${id}: a throwaway key, scheduled for deletion when the test ends`,
        KeyUsage: 'ENCRYPT_DECRYPT',
        Tags: [{ TagKey: 'keymend:selftest', TagValue: id }],
      }),
    );
    created.key = key.KeyMetadata?.Arn;
    created.keyId = key.KeyMetadata?.KeyId;
    if (!created.key) throw new SelfTestError('kms:CreateKey returned no key ARN');
    say(`created key ${created.key}`);

    await clients.kinesis.send(
      new CreateStreamCommand({
        StreamName: name,
        ShardCount: 1,
        StreamModeDetails: { StreamMode: 'PROVISIONED' },
      }),
    );
    created.stream = `arn:${partition}:kinesis:${o.region}:${account}:stream/${name}`;
    say(`created stream ${created.stream}`);
    await waitActive(deps, created.stream, say);
    await clients.kinesis.send(
      new StartStreamEncryptionCommand({
        StreamARN: created.stream,
        EncryptionType: 'KMS',
        KeyId: created.key,
      }),
    );
    await waitActive(deps, created.stream, say);
    say('the stream is encrypted with the key');

    const roleArn = `arn:${partition}:iam::${account}:role/keymend-selftest/${name}`;
    await clients.iam.send(
      new CreateRoleCommand({
        RoleName: name,
        Path: '/keymend-selftest/',
        Description: 'keymend selftest: may write to its stream, may not use its key',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: `arn:${partition}:iam::${account}:root` },
              Action: 'sts:AssumeRole',
            },
          ],
        }),
        Tags: [{ Key: 'keymend:selftest', Value: id }],
      }),
    );
    created.role = roleArn;
    await clients.iam.send(writeStreamPolicy(name, created.stream));
    created.rolePolicy = true;
    say(`created role ${roleArn} (kinesis:PutRecord on the stream, nothing on the key)`);

    const sessionName = 'keymend-selftest';
    let written = false;
    const credentials = await assumeRole(deps, roleArn, sessionName, say);
    try {
      await deps.putRecord({
        credentials,
        streamArn: created.stream,
        roleArn,
        sessionName,
        keyArn: created.key,
      });
      written = true;
    } catch (error) {
      if ((error as Error).name !== 'KMSAccessDeniedException') {
        throw new SelfTestError(`kinesis:PutRecord as the role failed, but not on KMS: ${oneLine(error)}`, {
          cause: error,
        });
      }
      say('kinesis:PutRecord as the role was denied by KMS (KMSAccessDeniedException), as intended');
    }
    if (written) {
      throw new SelfTestError(
        `kinesis:PutRecord as ${roleArn} succeeded: KMS let Kinesis use the new key for the role, so there is no denial to follow`,
      );
    }

    const fingerprint = fingerprintOf({
      accountId: account,
      region: o.region,
      principalArn: roleArn,
      operation: 'kms:GenerateDataKey',
      keyArn: created.key,
      streamArn: created.stream,
    });
    const proposal = await waitForProposal(deps, table, fingerprint, o.timeoutMinutes, say);
    io.stdout(
      `The denial became proposal ${proposal.id}: ${proposal.status} (${proposal.code}).\n${proposal.reason}\n`,
    );
    const record = await deps.lookupRecord(proposal.request.eventId).catch(() => null);
    io.stdout(
      record
        ? `\nThe CloudTrail record AWS delivered (event ${proposal.request.eventId}):\n${JSON.stringify(record, null, 2)}\n`
        : `\nCloudTrail's event history does not show event ${proposal.request.eventId} yet (LookupEvents lags delivery).\n`,
    );
    return proposal;
  } finally {
    stopListening();
    await cleanUp();
  }
}

/** The role's one permission: write to its stream (PutRolePolicy input). */
function writeStreamPolicy(roleName: string, streamArn: string): PutRolePolicyCommand {
  return new PutRolePolicyCommand({
    RoleName: roleName,
    PolicyName: 'write-the-stream',
    PolicyDocument: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['kinesis:PutRecord', 'kinesis:DescribeStreamSummary'],
          Resource: streamArn,
        },
      ],
    }),
  });
}

/** One clean-up step: said when done, said (and not thrown) when it fails, so the others still run. */
async function step(say: (text: string) => void, done: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
    say(done);
  } catch (error) {
    say(`could not clean up (${done.replace(/^\w+ /, '')}): ${oneLine(error)}; delete it by hand`);
  }
}

async function waitActive(deps: SelfTestDeps, streamArn: string, say: (text: string) => void): Promise<void> {
  const start = deps.now();
  for (;;) {
    const out = await deps.clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamARN: streamArn }));
    if (out.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    if (deps.now() - start > 5 * 60_000)
      throw new SelfTestError(`stream ${streamArn} is not ACTIVE after 5 minutes`);
    say(`waiting for the stream to become ACTIVE (${out.StreamDescriptionSummary?.StreamStatus ?? '?'})`);
    await deps.sleep(5_000);
  }
}

/** AssumeRole, retried while IAM has not yet spread the new role (up to a minute). */
async function assumeRole(
  deps: SelfTestDeps,
  roleArn: string,
  sessionName: string,
  say: (text: string) => void,
): Promise<Credentials> {
  const start = deps.now();
  for (;;) {
    try {
      const out = await deps.clients.sts.send(
        new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName, DurationSeconds: 900 }),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey)
        throw new SelfTestError('sts:AssumeRole returned no credentials');
      return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
    } catch (error) {
      if ((error as Error).name !== 'AccessDenied' || deps.now() - start > 60_000) throw error;
      say('waiting for IAM to know the new role');
      await deps.sleep(5_000);
    }
  }
}

async function waitForProposal(
  deps: SelfTestDeps,
  table: string,
  fingerprint: string,
  timeoutMinutes: number,
  say: (text: string) => void,
): Promise<Proposal> {
  const start = deps.now();
  const store = new DynamoProposalStore(deps.clients.dynamodb, table);
  for (;;) {
    const item = await deps.clients.dynamodb.send(
      new GetItemCommand({
        TableName: table,
        Key: { pk: { S: storeKeys.fingerprint(fingerprint) } },
        ConsistentRead: true,
      }),
    );
    const proposalId = item.Item?.proposalId?.S;
    const proposal = proposalId ? await store.getProposal(proposalId) : null;
    if (proposal) return proposal;
    const waited = deps.now() - start;
    if (waited > timeoutMinutes * 60_000) {
      throw new SelfTestError(
        `no proposal after ${timeoutMinutes} minutes: the denial did not reach keymend. Check that CloudTrail logs management events in this Region (docs/deploy.md), that the rule is ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS, and the remediate function's errors and dead-letter queue`,
      );
    }
    say(
      `${minutes(waited)} waiting for CloudTrail to deliver the denial to keymend (usually within 5 minutes)`,
    );
    await deps.sleep(deps.pollMs ?? 15_000);
  }
}

/** The selftest command over `deps` (AWS's unless a test passes its own). */
export function makeSelfTestCommand(depsFor: (region: string) => SelfTestDeps = awsSelfTestDeps): Command {
  return {
    name: 'selftest',
    summary: 'check in your own account that a real Kinesis KMS denial becomes a proposal (--aws)',
    help: helpText(HELP),
    run: (argv: string[], io: CliIo) =>
      runCommand('selftest', io, async () => {
        const { values } = parseCommandLine(argv, {
          aws: { type: 'boolean' },
          stack: { type: 'string' },
          table: { type: 'string' },
          region: { type: 'string' },
          timeout: { type: 'string' },
          ...OUTPUT_OPTIONS,
        });
        if (!values.aws)
          throw new UsageError(
            '--aws is required: the self-test creates and deletes resources in your account',
          );
        outputOption(values, ['text'], 'text');
        if (values.stack !== undefined && values.table !== undefined)
          throw new UsageError('give --stack or --table, not both');
        const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
        if (!region) throw new UsageError('no Region: pass --region REGION or set AWS_REGION');
        const timeoutMinutes = values.timeout === undefined ? 15 : Number(values.timeout);
        if (!Number.isFinite(timeoutMinutes) || timeoutMinutes <= 0 || timeoutMinutes > 120) {
          throw new UsageError(
            `--timeout must be a number of minutes from 1 to 120 (got ${JSON.stringify(values.timeout)})`,
          );
        }
        try {
          await runSelfTest(
            depsFor(region),
            {
              region,
              timeoutMinutes,
              ...(values.stack !== undefined ? { stack: values.stack } : {}),
              ...(values.table !== undefined ? { table: values.table } : {}),
            },
            io,
          );
        } catch (error) {
          // Any step's failure (an AWS call refused included) is the self-test failing, said in one line.
          throw new SelfTestError(`failed: ${oneLine(error)}`, { cause: error });
        }
      }),
  };
}

export const selfTestCommand: Command = makeSelfTestCommand();
