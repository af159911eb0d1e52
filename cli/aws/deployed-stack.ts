/**
 * The deployed keymend stack that `keymend apply`, `revoke` and `list --aws` act on: their `--stack`
 * and `--region` options, the AWS clients they call it with, and the outputs apply and revoke need.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { SNSClient } from '@aws-sdk/client-sns';
import { STSClient } from '@aws-sdk/client-sts';
import { AwsAccountWriter } from '../../functions/adapters/account-writer';
import { clientConfig } from '../../functions/adapters/client-config';
import { SnsPublisher } from '../../functions/adapters/sns';
import type { DynamoProposalStore } from '../../functions/adapters/store';
import { isRegion } from '../../functions/commons/arn';
import { InputError, KeymendError, UsageError } from '../../functions/commons/errors';
import { printableLine } from '../../functions/commons/text';
import type { AccountReader } from '../../functions/core/account';
import type { FlowContext } from '../../functions/flows/context';
import type { CliIo } from '../io';
import { printable } from '../text';
import { stackOutputs } from './stack-outputs';

/** The stack's name when `--stack` is not given. */
export const DEFAULT_STACK = 'Keymend';

/** `--stack NAME` and `--region R`, for `parseCommandLine`. */
export const STACK_OPTIONS = {
  stack: { type: 'string' },
  region: { type: 'string' },
} as const;

/** Which stack, and in which Region (the SDK's when none is given). */
export interface StackChoice {
  stack: string;
  region?: string;
}

/**
 * The checked `--stack` and `--region` values.
 * @throws UsageError on an empty stack name or a string that is not a Region
 */
export function stackChoice(values: {
  stack?: string | undefined;
  region?: string | undefined;
}): StackChoice {
  if (values.stack === '') throw new UsageError('--stack needs a NAME');
  if (values.region !== undefined && !isRegion(values.region)) {
    throw new UsageError(
      `--region must be a Region such as us-east-1 (got ${JSON.stringify(printable(values.region))})`,
    );
  }
  return {
    stack: values.stack ?? DEFAULT_STACK,
    ...(values.region !== undefined ? { region: values.region } : {}),
  };
}

/** The AWS clients the commands acting on the deployed stack use (tests pass their own). */
export interface StackClients {
  cloudFormation: CloudFormationClient;
  dynamodb: DynamoDBClient;
  kms: KMSClient;
  iam: IAMClient;
  sns: SNSClient;
  sts: STSClient;
  now?: () => Date;
}

/** The AWS SDK's clients in `region` (the SDK's own when undefined), with keymend's one client configuration. */
export function awsStackClients(region: string | undefined): StackClients {
  const config = clientConfig(region ? { region } : {});
  return {
    cloudFormation: new CloudFormationClient(config),
    dynamodb: new DynamoDBClient(config),
    kms: new KMSClient(config),
    iam: new IAMClient(config),
    sns: new SNSClient(config),
    sts: new STSClient(config),
  };
}

/** The outputs of a keymend stack that writes: its table, its e-mail topic and the grants' retiring principal. */
export type WritingStackOutputs = Record<string, string> & {
  TableName: string;
  EmailTopicArn: string;
  RetiringPrincipalArn: string;
};

/**
 * The outputs of `stack`, which must hold TableName, EmailTopicArn and RetiringPrincipalArn.
 * @throws InputError when there is no such stack or it lacks one of them
 */
export async function writingStackOutputs(
  client: Pick<CloudFormationClient, 'send'>,
  stack: string,
): Promise<WritingStackOutputs> {
  const outputs = await stackOutputs(client, stack);
  const { TableName, EmailTopicArn, RetiringPrincipalArn } = outputs;
  if (!TableName || !EmailTopicArn || !RetiringPrincipalArn) {
    throw new InputError(
      `stack ${stack} has no TableName, EmailTopicArn or RetiringPrincipalArn output: is it a keymend stack (deployed by this version)?`,
    );
  }
  return { ...outputs, TableName, EmailTopicArn, RetiringPrincipalArn };
}

/**
 * The ports a flow run by `keymend <command>` uses against the stack: its table (`store`), `reader`, a
 * writer whose grants have the approval function's role as retiring principal (as when an approval
 * applies a plan; undoing, it checks the grant is the one keymend created, that principal included),
 * the stack's e-mail topic, warnings on standard error. Its notifications carry no links: the CLI holds
 * no key to sign one.
 */
export function stackFlowContext(
  command: string,
  io: CliIo,
  clients: StackClients,
  outputs: WritingStackOutputs,
  parts: { store: DynamoProposalStore; reader: AccountReader; now: () => Date },
): FlowContext {
  return {
    store: parts.store,
    reader: parts.reader,
    writer: new AwsAccountWriter({
      kms: clients.kms,
      iam: clients.iam,
      retiringPrincipal: outputs.RetiringPrincipalArn,
    }),
    publisher: new SnsPublisher(clients.sns, { email: outputs.EmailTopicArn }),
    signer: {
      keys: [],
      sign: () => Promise.reject(new KeymendError('the CLI does not sign approval links')),
      verify: async () => ({ ok: false, problem: 'bad-signature' }),
    },
    now: parts.now,
    log: {
      info: () => undefined,
      warn: (message, fields) =>
        io.stderr(`keymend ${command}: ${printableLine(`${message} ${JSON.stringify(fields)}`)}\n`),
    },
  };
}
