/**
 * The longest chain of dependent AWS calls on the critical path of a new fingerprint, measured.
 *
 * The remediate handler runs with its real adapters, wired as handlers/wiring.ts wires them in Lambda
 * (AwsAccountReader with Organizations, DynamoProposalStore, SnsPublisher, the KMS link signer, the
 * CloudWatch consumer lag): DynamoDB is dynalite, and IAM, KMS (reads and GenerateMac), Kinesis,
 * Organizations, CloudWatch and SNS are stand-in clients answering from the storm's snapshot (an account
 * in no organization, as the demo snapshot has none). Every call, of every client, takes
 * at least LATENCY_MS and is recorded with its start and end. Calls that overlap in time ran in
 * parallel; a call that starts after another ended may depend on it. The longest chain of calls each
 * starting after the one before it ended is the number of sequential round trips: with a real
 * round trip of tens of milliseconds, it is what the time to an alert is made of.
 */
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import type { SNSClient } from '@aws-sdk/client-sns';
import { AwsAccountReader } from '../functions/adapters/aws-account';
import { readConsumerLags } from '../functions/adapters/cloudwatch';
import { PolicyVersionCache } from '../functions/adapters/iam';
import { kmsLinkSigner } from '../functions/adapters/link-signer';
import { LocalAccount } from '../functions/adapters/local-account';
import { organizationsApi } from '../functions/adapters/organization';
import { parseSnapshot } from '../functions/adapters/snapshot';
import { SnsPublisher } from '../functions/adapters/sns';
import { createTable, DynamoProposalStore } from '../functions/adapters/store';
import { ENV } from '../functions/commons/constants';
import type { AccountSnapshot } from '../functions/core/account';
import { parseConfig } from '../functions/core/config';
import type { FlowContext } from '../functions/flows/context';
import { makeHandler, type RemediateEvent } from '../functions/handlers/remediate';
import { denial, roleName, stormAccount } from './storm-denials';

/** Every stand-in call takes this long: far above the CPU time between calls, so timing is clear. */
export const LATENCY_MS = 25;

export interface Call {
  name: string;
  start: number;
  end: number;
}

/** The longest chain of calls, each starting after the previous one ended (in start order). */
export function longestChain(calls: Call[]): Call[] {
  const sorted = [...calls].sort((a, b) => a.start - b.start);
  const best: { length: number; previous: number }[] = [];
  for (const [i, call] of sorted.entries()) {
    let entry = { length: 1, previous: -1 };
    for (let j = 0; j < i; j++) {
      const before = best[j] as { length: number };
      const earlier = sorted[j] as Call;
      if (earlier.end > call.start) continue;
      // Of equally long chains, the one whose last call ended latest: most likely what this call awaited.
      const longer = before.length + 1 > entry.length;
      const tie = before.length + 1 === entry.length && earlier.end > (sorted[entry.previous] as Call).end;
      if (longer || tie) {
        entry = { length: before.length + 1, previous: j };
      }
    }
    best.push(entry);
  }
  let last = best.reduce((top, e, i) => (e.length > (best[top]?.length ?? 0) ? i : top), -1);
  const chain: Call[] = [];
  while (last >= 0) {
    chain.unshift(sorted[last] as Call);
    last = (best[last] as { previous: number }).previous;
  }
  return chain;
}

const awsError = (name: string, message: string) => Object.assign(new Error(message), { name });
const encoded = (document: unknown) => encodeURIComponent(JSON.stringify(document));

// biome-ignore lint/suspicious/noExplicitAny: stand-in answers are built per operation
type Answer = (operation: string, input: any) => unknown;

/** The answers IAM, KMS and Kinesis would give for the snapshot's account (roles, keys, streams). */
function snapshotAnswers(snapshot: AccountSnapshot): Record<string, Answer> {
  const role = (name: string) => {
    const principal = snapshot.principals.find(
      (p) => p.arn.endsWith(`:role/${name}`) || p.arn.endsWith(`/${name}`),
    );
    if (!principal) throw awsError('NoSuchEntityException', `no role ${name}`);
    return principal;
  };
  const key = (ref: string) => {
    const found = snapshot.keys.find(
      (k) => k.arn === ref || k.arn.endsWith(`/${ref}`) || (k.aliases ?? []).some((a) => ref.endsWith(a)),
    );
    if (!found) throw awsError('NotFoundException', `no key ${ref}`);
    return found;
  };
  return {
    iam: (operation, input) => {
      switch (operation) {
        case 'GetRole': {
          const p = role(input.RoleName);
          return {
            Role: {
              Arn: p.arn,
              Tags: Object.entries(p.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
            },
          };
        }
        case 'ListRolePolicies':
          return { PolicyNames: Object.keys(role(input.RoleName).inlinePolicies), IsTruncated: false };
        case 'ListAttachedRolePolicies':
          return {
            AttachedPolicies: Object.keys(role(input.RoleName).managedPolicies).map((PolicyArn) => ({
              PolicyArn,
            })),
            IsTruncated: false,
          };
        case 'GetRolePolicy':
          return { PolicyDocument: encoded(role(input.RoleName).inlinePolicies[input.PolicyName]) };
        case 'ListAccountAliases':
          return { AccountAliases: snapshot.accountAlias ? [snapshot.accountAlias] : [] };
        case 'GetPolicy':
          return { Policy: { Arn: input.PolicyArn, PolicyId: 'ANPABENCHPOLICY', DefaultVersionId: 'v1' } };
        case 'GetPolicyVersion': {
          const p = snapshot.principals.find((x) => x.managedPolicies[input.PolicyArn] !== undefined);
          return { PolicyVersion: { Document: encoded(p?.managedPolicies[input.PolicyArn]) } };
        }
        default:
          throw new Error(`the IAM stand-in has no ${operation}`);
      }
    },
    kms: (operation, input) => {
      if (operation === 'GenerateMac') return { Mac: Buffer.alloc(32, 7), KeyId: input.KeyId };
      const k = key(input.KeyId);
      switch (operation) {
        case 'DescribeKey':
          return {
            KeyMetadata: {
              Arn: k.arn,
              AWSAccountId: snapshot.accountId,
              KeyState: k.keyState,
              KeyManager: k.keyManager,
            },
          };
        case 'GetKeyPolicy':
          return { Policy: JSON.stringify(k.policy) };
        case 'ListGrants':
          return { Grants: [], Truncated: false };
        case 'ListAliases':
          return { Aliases: (k.aliases ?? []).map((AliasName) => ({ AliasName })), Truncated: false };
        case 'ListResourceTags':
          return {
            Tags: Object.entries(k.tags ?? {}).map(([TagKey, TagValue]) => ({ TagKey, TagValue })),
            Truncated: false,
          };
        default:
          throw new Error(`the KMS stand-in has no ${operation}`);
      }
    },
    kinesis: (operation, input) => {
      const stream = (snapshot.streams ?? []).find((s) => s.arn === input.StreamARN);
      if (operation !== 'DescribeStreamSummary') throw new Error(`the Kinesis stand-in has no ${operation}`);
      if (!stream) throw awsError('ResourceNotFoundException', `no stream ${input.StreamARN}`);
      return {
        StreamDescriptionSummary: stream.keyArn
          ? { EncryptionType: 'KMS', KeyId: stream.keyArn }
          : { EncryptionType: 'NONE' },
      };
    },
    organizations: (operation) => {
      if (snapshot.organization)
        throw new Error('the Organizations stand-in answers only for no organization');
      const reads = [
        'DescribeOrganization',
        'ListParents',
        'ListRoots',
        'ListPoliciesForTarget',
        'DescribePolicy',
      ];
      if (!reads.includes(operation)) throw new Error(`the Organizations stand-in has no ${operation}`);
      throw awsError('AWSOrganizationsNotInUseException', 'Your account is not a member of an organization.');
    },
    // The consumer's lag, as CloudWatch reports it while its reads fail.
    cloudwatch: () => ({ MetricDataResults: [{ Id: 'stream', Values: [180_000, 120_000] }] }),
    sns: () => ({ MessageId: 'bench' }),
  };
}

/** A client whose `send` answers after LATENCY_MS, recording the call. */
function standIn<T>(service: string, answer: Answer, trace: Call[]): T {
  return {
    async send(command: { constructor: { name: string }; input: unknown }) {
      const operation = command.constructor.name.replace(/Command$/, '');
      const start = performance.now();
      try {
        await sleep(LATENCY_MS);
        return answer(operation, command.input);
      } finally {
        trace.push({ name: `${service}:${operation}`, start, end: performance.now() });
      }
    },
  } as T;
}

interface DynaliteServer {
  listen(port: number, host: string, callback: (error?: Error) => void): void;
  address(): AddressInfo;
  close(callback: (error?: Error) => void): void;
}

export interface RoundTripFigures {
  /** The longest chain for a new fingerprint on a warm function (its links signed by KMS GenerateMac). */
  newFingerprint: number;
  /** The same on a cold function (nothing is read once per cold start any more: the same chain). */
  newFingerprintCold: number;
  repeat: number;
  /**
   * The same for roles with an AWS managed policy (the storm's roles have none): the first such role
   * in an environment, then another with the same policy, whose version the environment has read.
   */
  managedPolicy: { first: number; again: number };
  /** The calls on the warm new fingerprint's longest chain, in order. */
  chain: string[];
  /** Every call of the warm new fingerprint. */
  calls: number;
  lines: string[];
}

/** What a Lambda consumer of Kinesis usually has attached (AWS managed; it grants no kms:Decrypt). */
const KINESIS_EXECUTION_ROLE = 'arn:aws:iam::aws:policy/service-role/AWSLambdaKinesisExecutionRole';
const KINESIS_EXECUTION_DOCUMENT = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: [
        'kinesis:DescribeStream',
        'kinesis:DescribeStreamSummary',
        'kinesis:GetRecords',
        'kinesis:GetShardIterator',
        'kinesis:ListShards',
        'kinesis:ListStreams',
        'kinesis:SubscribeToShard',
        'logs:CreateLogGroup',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
      ],
      Resource: '*',
    },
  ],
};

/** The storm's account with four roles; the last two also have KINESIS_EXECUTION_ROLE attached. */
function benchAccount(): AccountSnapshot {
  const account = structuredClone(stormAccount(4));
  for (const principal of account.principals) {
    if (principal.arn.endsWith(roleName(2)) || principal.arn.endsWith(roleName(3))) {
      principal.managedPolicies = { [KINESIS_EXECUTION_ROLE]: KINESIS_EXECUTION_DOCUMENT };
    }
  }
  return parseSnapshot(account);
}

export async function roundTripsBench(): Promise<RoundTripFigures> {
  const snapshot = benchAccount();
  const answers = snapshotAnswers(snapshot);
  const trace: Call[] = [];
  // dynalite ships no types.
  const dynalite = (require('dynalite') as (o: Record<string, number>) => DynaliteServer)({
    createTableMs: 0,
  });
  await new Promise<void>((resolve, reject) =>
    dynalite.listen(0, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
  );
  const dynamodb = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${dynalite.address().port}`,
    region: snapshot.region,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    maxAttempts: 1,
  });
  try {
    await createTable(dynamodb, 'keymend-bench');
    dynamodb.middlewareStack.add(
      (next, context) => async (args) => {
        const start = performance.now();
        try {
          await sleep(LATENCY_MS);
          return await next(args);
        } finally {
          trace.push({
            name: `dynamodb:${String(context.commandName).replace(/Command$/, '')}`,
            start,
            end: performance.now(),
          });
        }
      },
      { step: 'initialize', name: 'benchRoundTrips' },
    );
    const region = snapshot.region;
    const config = parseConfig({
      [ENV.tableName]: 'keymend-bench',
      [ENV.emailTopicArn]: `arn:aws:sns:${region}:${snapshot.accountId}:keymend-email`,
      [ENV.chatTopicArn]: `arn:aws:sns:${region}:${snapshot.accountId}:keymend-chat`,
      [ENV.decisionKeyId]: `arn:aws:kms:${region}:${snapshot.accountId}:key/00000000-0000-4000-8000-0000000000d1`,
      [ENV.approvalUrl]: 'https://abcdefghij.lambda-url.us-east-1.on.aws/',
      [ENV.retiringPrincipal]: `arn:aws:iam::${snapshot.accountId}:role/keymend/keymend-approval`,
    });
    const iam = standIn<IAMClient>('iam', answers.iam as Answer, trace);
    // One execution environment's managed policy versions, as handlers/wiring.ts keeps them.
    const policyVersions = new PolicyVersionCache();
    const kms = standIn<KMSClient>('kms', answers.kms as Answer, trace);
    const kinesis = standIn<KinesisClient>('kinesis', answers.kinesis as Answer, trace);
    const organizations = organizationsApi(
      standIn<OrganizationsClient>('organizations', answers.organizations as Answer, trace),
    );
    const cloudwatch = standIn<CloudWatchClient>('cloudwatch', answers.cloudwatch as Answer, trace);
    const ports: Omit<FlowContext, 'reader'> = {
      store: new DynamoProposalStore(dynamodb, 'keymend-bench'),
      writer: new LocalAccount(snapshot),
      publisher: new SnsPublisher(standIn<SNSClient>('sns', answers.sns as Answer, trace), {
        email: config.emailTopicArn,
        chat: config.chatTopicArn,
      }),
      // The links' tokens are MACs made by KMS (GenerateMac), one per link, in parallel.
      signer: kmsLinkSigner(kms, { decision: config.decisionKeyId }),
      metrics: { consumerLag: (query, now) => readConsumerLags(cloudwatch, query, now) },
      now: () => new Date(),
    };
    // A fresh reader (its cache empty) for each event.
    const handlerForOneEvent = () =>
      makeHandler({
        config,
        logger: { info() {}, warn() {}, error() {} },
        ports: {
          ...ports,
          reader: new AwsAccountReader({
            accountId: snapshot.accountId,
            region,
            iam,
            kms,
            kinesis,
            organizations,
            policyVersions,
          }),
        },
      });
    const traced = async (event: unknown, outcome: string): Promise<Call[]> => {
      trace.length = 0;
      const result = await handlerForOneEvent()(event as RemediateEvent);
      if (result.outcome !== outcome) throw new Error(`expected ${outcome}, got ${JSON.stringify(result)}`);
      return [...trace];
    };
    const cold = longestChain(await traced(denial(0, 0), 'proposed'));
    const warmCalls = await traced(denial(1, 0), 'proposed');
    const warm = longestChain(warmCalls);
    const repeat = longestChain(await traced(denial(1, 1), 'repeat'));
    const managedFirst = longestChain(await traced(denial(2, 0), 'proposed'));
    const managedAgain = longestChain(await traced(denial(3, 0), 'proposed'));
    return {
      newFingerprint: warm.length,
      newFingerprintCold: cold.length,
      repeat: repeat.length,
      managedPolicy: { first: managedFirst.length, again: managedAgain.length },
      chain: warm.map((c) => c.name),
      calls: warmCalls.length,
      lines: [
        `Round trips: the remediate handler's adapters with every AWS call taking ${LATENCY_MS} ms; calls overlapping in time are parallel`,
        `  new fingerprint: ${warm.length} sequential of ${warmCalls.length} calls: ${warm.map((c) => c.name).join(' -> ')}`,
        `  new fingerprint, cold function: ${cold.length} (${cold.map((c) => c.name).join(' -> ')})`,
        `  repeat: ${repeat.length} (${repeat.map((c) => c.name).join(' -> ')})`,
        `  a role with an AWS managed policy, the first in the environment: ${managedFirst.length} (${managedFirst.map((c) => c.name).join(' -> ')})`,
        `  another role with that policy, its version read already: ${managedAgain.length}`,
      ],
    };
  } finally {
    dynamodb.destroy();
    await new Promise<void>((resolve) => dynalite.close(() => resolve()));
  }
}
