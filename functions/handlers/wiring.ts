/**
 * The cold start the remediate and approval functions share: the configuration read and checked once,
 * the SDK clients built once with `clientConfig()`, the flow's ports for the account the function runs
 * in, and the run-once guard that logs a configuration error a single time.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { KMSClient } from '@aws-sdk/client-kms';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { SNSClient } from '@aws-sdk/client-sns';
import { STSClient } from '@aws-sdk/client-sts';
import type { Context } from 'aws-lambda';
import { AwsAccountWriter } from '../adapters/account-writer';
import { AwsAccountReader } from '../adapters/aws-account';
import { clientConfig, InvocationDeadline, withDeadline } from '../adapters/client-config';
import { readConsumerLags } from '../adapters/cloudwatch';
import { PolicyVersionCache } from '../adapters/iam';
import { kmsLinkSigner } from '../adapters/link-signer';
import { MemberAccounts } from '../adapters/member-accounts';
import { OrganizationRouter, organizationsApi, rememberingRefusals } from '../adapters/organization';
import { SnsPublisher } from '../adapters/sns';
import { DynamoProposalStore } from '../adapters/store';
import { arnAccount, partitionOfRegion } from '../commons/arn';
import type { AccountReader } from '../core/account';
import { type Config, type ConfigOptions, parseConfig } from '../core/config';
import type { FlowPorts, MetricsReader } from '../core/ports';

/** An AccountReader that reads afresh on every call (the AWS reader caches per instance). */
function freshReader(accountId: string, region: string, make: () => AccountReader): AccountReader {
  return {
    accountId,
    region,
    getPrincipal: (arn) => make().getPrincipal(arn),
    getKey: (ref) => make().getKey(ref),
    getStream: (arn) => make().getStream(arn),
    getOrganization: () => make().getOrganization(),
    getAccountAlias: () => {
      const reader = make();
      return reader.getAccountAlias ? reader.getAccountAlias() : Promise.resolve(null);
    },
  };
}

export interface AwsWiring {
  config: Config;
  /** Every client's calls stop at this deadline: `begin` it at the start of each invocation. */
  deadline: InvocationDeadline;
  /** The ports for one account, built once per account over the shared clients. */
  portsFor(accountId: string): FlowPorts;
}

/**
 * Reads the configuration (throwing ConfigError with the variable's name) and builds the clients.
 * `log` hears what the wiring's adapters find out of band (OUs a notification route cannot read).
 */
export function awsWiring(
  env: NodeJS.ProcessEnv,
  options: ConfigOptions & {
    /**
     * Which function is wired: the remediate function (which parses event text) reaches member accounts
     * read-only unless auto mode lets it write. @default 'remediate'
     */
    fn?: 'remediate' | 'approval';
  } = {},
  log?: { warn(message: string, fields: Record<string, unknown>): void },
): AwsWiring {
  const config = parseConfig(env, options);
  const region = env.AWS_REGION ?? '';
  const clients = clientConfig({ region });
  const deadline = new InvocationDeadline();
  const iam = withDeadline(new IAMClient(clients), deadline);
  const kms = withDeadline(new KMSClient(clients), deadline);
  const kinesis = withDeadline(new KinesisClient(clients), deadline);
  // One per environment: a member account's refused reads are not repeated for every new problem.
  const organizations = rememberingRefusals(
    organizationsApi(withDeadline(new OrganizationsClient(clients), deadline)),
  );
  // Managed policy documents by version, for the environment's life (a version never changes).
  const policyVersions = new PolicyVersionCache();
  const store = new DynamoProposalStore(
    withDeadline(new DynamoDBClient(clients), deadline),
    config.tableName,
  );
  const writer = new AwsAccountWriter({ kms, iam, retiringPrincipal: config.retiringPrincipal });
  const publisher = new SnsPublisher(withDeadline(new SNSClient(clients), deadline), {
    email: config.emailTopicArn,
    chat: config.chatTopicArn,
    routes: config.notificationRoutes,
  });
  // Only with a routing map; one per environment, so what it learns of OUs is kept between invocations.
  const router =
    config.notificationRoutes.length > 0
      ? new OrganizationRouter(config.notificationRoutes, organizations, Date.now, (accountId, why) =>
          log?.warn(
            'notification routes: the OUs above the account cannot be read; its e-mails go to the e-mail topic',
            {
              accountId,
              why,
            },
          ),
        )
      : undefined;
  // Tokens are signed by KMS HMAC keys; the revoke key is configured for the approval function only.
  const signer = kmsLinkSigner(kms, {
    decision: config.decisionKeyId,
    ...(config.revokeKeyId === null ? {} : { revoke: config.revokeKeyId }),
  });
  const cloudwatch = withDeadline(new CloudWatchClient(clients), deadline);
  const metrics: MetricsReader = {
    consumerLag: (query, now) => readConsumerLags(cloudwatch, query, now),
  };
  // An organization deployment's hub reaches member accounts through their member role.
  const accounts =
    config.organizationId === undefined
      ? undefined
      : new MemberAccounts({
          organizationId: config.organizationId,
          partition: partitionOfRegion(region) ?? 'aws',
          region,
          sts: withDeadline(new STSClient(clients), deadline),
          retiringPrincipal: config.retiringPrincipal,
          hubKms: kms,
          policyVersions,
          readOnly: (options.fn ?? 'remediate') === 'remediate' && config.mode !== 'auto',
          autoApply: (options.fn ?? 'remediate') === 'remediate' && config.mode === 'auto',
        });
  return {
    config,
    deadline,
    portsFor: (accountId) => ({
      store,
      reader: freshReader(
        accountId,
        region,
        () => new AwsAccountReader({ accountId, region, iam, kms, kinesis, organizations, policyVersions }),
      ),
      writer,
      ...(accounts ? { accounts } : {}),
      publisher,
      signer,
      metrics,
      ...(router ? { router } : {}),
      now: () => new Date(),
    }),
  };
}

/** `make(accountId)` once per account, kept for the execution environment's life. */
export function perAccount<T>(make: (accountId: string) => T): (accountId: string) => T {
  const made = new Map<string, T>();
  return (accountId) => {
    let value = made.get(accountId);
    if (value === undefined) {
      value = make(accountId);
      made.set(accountId, value);
    }
    return value;
  };
}

export type Started<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * `start()` once, at the first invocation (so importing a handler, as tests and `keymend local` do,
 * reads no environment). A failure is logged once and then returned to every invocation.
 */
export function startOnce<T>(
  logger: { error(message: string, fields: Record<string, unknown>): void },
  start: () => T,
): () => Started<T> {
  let started: Started<T> | undefined;
  return () => {
    if (started === undefined) {
      try {
        started = { ok: true, value: start() };
      } catch (error) {
        logger.error('configuration error: the function cannot start', { error });
        started = { ok: false, error };
      }
    }
    return started;
  };
}

/** arn:aws:lambda:REGION:ACCOUNT:function:NAME: the account keymend runs in and may change. */
export function accountIdOf(context: Context): string {
  return arnAccount(context.invokedFunctionArn) ?? '';
}
