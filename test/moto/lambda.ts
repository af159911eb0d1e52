/**
 * keymend's two functions as Lambda runs them, against moto: the stack is synthesized with the
 * given props, each function's environment is taken from the template, and its references (table,
 * topics, secret, function URL) are resolved to resources created in moto. The handlers are the
 * modules' exported `handler`s (middy and all), loaded fresh so each deployment has its own cold
 * start.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateKeyCommand, type KeySpec, type KeyUsageType, KMSClient } from '@aws-sdk/client-kms';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { CfnElement } from 'aws-cdk-lib';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createTable } from '../../functions/adapters/store';
import type { KeymendRemediationProps } from '../../infra/keymend-remediation';
import { synth } from '../infra/synth';
import { MOTO_ACCOUNT, motoClientConfig, REGION } from './moto';

/** The function URL's domain the tests pretend the approval function has. */
export const URL_DOMAIN = 'abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws';

let deployments = 0;

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

export interface Deployment {
  env: { remediate: Record<string, string>; approval: Record<string, string> };
  /** The synthesized stack and template this deployment runs. */
  synthesized: ReturnType<typeof synth>;
  remediate: (event: unknown) => Promise<{ outcome: string; proposalId?: string; reason?: string }>;
  /** One request to the approval function URL. */
  approval: (request: {
    method: string;
    url: string;
    form?: Record<string, string>;
  }) => Promise<APIGatewayProxyStructuredResultV2>;
  /** The e-mails published so far and not yet read (SNS to an SQS queue subscribed to the topic). */
  emails(): Promise<{ subject: string; message: string }[]>;
  /** Every environment variable set for the functions, restored. */
  close(): void;
}

function lambdaContext(name: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${MOTO_ACCOUNT}:function:${name}`,
    memoryLimitInMB: '512',
    awsRequestId: randomBytes(16).toString('hex'),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'test',
    getRemainingTimeInMillis: () => 60_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

type Credentials = { accessKeyId: string; secretAccessKey: string };

export interface DeployOptions {
  /** The access key each function runs with (as its role's would be); default moto's. */
  credentials?: { remediate?: Credentials; approval?: Credentials };
  /** The access key the test's own calls (creating resources, reading e-mail) use; default moto's. */
  admin?: Credentials;
}

/** Creates keymend's own resources in moto and loads both handlers with the synthesized environments. */
export async function deploy(
  props: KeymendRemediationProps = {},
  options: DeployOptions = {},
): Promise<Deployment> {
  const n = ++deployments;
  const config = motoClientConfig(options.admin);
  const sns = new SNSClient(config);
  const sqs = new SQSClient(config);
  const tableName = `keymend-proposals-${n}`;
  await createTable(new DynamoDBClient(config), tableName);
  const topicArn = (await sns.send(new CreateTopicCommand({ Name: `keymend-email-${n}` })))
    .TopicArn as string;
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `keymend-inbox-${n}` })))
    .QueueUrl as string;
  const queueArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn as string;
  await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn }));

  const synthesized = synth(props);
  const { stack, template } = synthesized;
  const resources = template.toJSON().Resources as Record<
    string,
    {
      Type: string;
      Properties: {
        Environment?: { Variables?: Record<string, unknown> };
        KeySpec?: string;
        KeyUsage?: string;
        Description?: string;
      };
    }
  >;
  const kms = new KMSClient(config);
  const iam = new IAMClient(config);
  // Each resource a variable refers to is made in moto once: a Ref or GetAtt of it resolves to that.
  const made = new Map<string, { ref: string; arn: string }>();
  const make = async (name: string, logicalId: string): Promise<{ ref: string; arn: string }> => {
    const resource = resources[logicalId];
    switch (resource?.Type) {
      case 'AWS::DynamoDB::Table':
        return { ref: tableName, arn: `arn:aws:dynamodb:${REGION}:${MOTO_ACCOUNT}:table/${tableName}` };
      case 'AWS::SNS::Topic': {
        if (name === 'KEYMEND_EMAIL_TOPIC_ARN') return { ref: topicArn, arn: topicArn };
        const arn = (await sns.send(new CreateTopicCommand({ Name: `keymend-${logicalId}-${n}` })))
          .TopicArn as string;
        return { ref: arn, arn };
      }
      case 'AWS::SecretsManager::Secret': {
        const arn = (
          await new SecretsManagerClient(config).send(
            new CreateSecretCommand({
              Name: `keymend-${logicalId}-${n}`,
              SecretString: randomBytes(48).toString('base64'),
            }),
          )
        ).ARN as string;
        return { ref: arn, arn };
      }
      case 'AWS::KMS::Key': {
        const key = await kms.send(
          new CreateKeyCommand({
            Description: resource.Properties.Description,
            KeySpec: resource.Properties.KeySpec as KeySpec | undefined,
            KeyUsage: (resource.Properties.KeyUsage ?? 'ENCRYPT_DECRYPT') as KeyUsageType,
          }),
        );
        return { ref: key.KeyMetadata?.KeyId as string, arn: key.KeyMetadata?.Arn as string };
      }
      case 'AWS::IAM::Role': {
        const role = await iam.send(
          new CreateRoleCommand({
            RoleName: `keymend-${logicalId}-${n}`.slice(0, 64),
            AssumeRolePolicyDocument: JSON.stringify({
              Version: '2012-10-17',
              Statement: [
                { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
              ],
            }),
          }),
        );
        return { ref: role.Role?.RoleName as string, arn: role.Role?.Arn as string };
      }
      case 'AWS::Lambda::Url':
        return { ref: `https://${URL_DOMAIN}/`, arn: `https://${URL_DOMAIN}/` };
      default:
        throw new Error(
          `the test cannot make ${name}'s ${logicalId} (a ${resource?.Type ?? 'missing resource'}) in moto`,
        );
    }
  };
  const resolve = async (name: string, value: unknown): Promise<string> => {
    if (typeof value === 'string') return value;
    const ref = (value as { Ref?: string }).Ref;
    const getAtt = (value as { 'Fn::GetAtt'?: string[] })['Fn::GetAtt'];
    const logicalId = ref ?? getAtt?.[0];
    if (!logicalId) throw new Error(`the test cannot resolve ${name}=${JSON.stringify(value)}`);
    let resource = made.get(logicalId);
    if (!resource) {
      resource = await make(name, logicalId);
      made.set(logicalId, resource);
    }
    return ref ? resource.ref : resource.arn;
  };
  const environmentOf = async (
    fn: 'remediateFunction' | 'approvalFunction',
  ): Promise<Record<string, string>> => {
    const id = stack.getLogicalId(stack.remediation[fn].node.defaultChild as CfnElement);
    const variables = resources[id]?.Properties.Environment?.Variables ?? {};
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(variables)) out[name] = await resolve(name, value);
    return out;
  };
  const keys = (c: Credentials | undefined): Record<string, string> =>
    c ? { AWS_ACCESS_KEY_ID: c.accessKeyId, AWS_SECRET_ACCESS_KEY: c.secretAccessKey } : {};
  const env = {
    remediate: { ...(await environmentOf('remediateFunction')), ...keys(options.credentials?.remediate) },
    approval: { ...(await environmentOf('approvalFunction')), ...keys(options.credentials?.approval) },
  };

  // Lambda's own variables; the logs are silenced (they are not what these tests check).
  const lambdaEnv = { AWS_REGION: REGION, POWERTOOLS_LOG_LEVEL: 'SILENT' };
  const saved = { ...process.env };
  const withEnv = async <T>(vars: Record<string, string>, run: () => Promise<T>): Promise<T> => {
    Object.assign(process.env, vars, lambdaEnv);
    try {
      return await run();
    } finally {
      for (const name of Object.keys(vars)) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    }
  };
  let remediateHandler!: Handler<unknown, { outcome: string; proposalId?: string; reason?: string }>;
  let approvalHandler!: Handler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;
  // Powertools reads its log level when the module builds its Logger: silence it before loading.
  process.env.POWERTOOLS_LOG_LEVEL = lambdaEnv.POWERTOOLS_LOG_LEVEL;
  jest.isolateModules(() => {
    remediateHandler = require('../../functions/handlers/remediate').handler;
    approvalHandler = require('../../functions/handlers/approval').handler;
  });

  return {
    env,
    synthesized,
    remediate: (event) =>
      withEnv(env.remediate, () => remediateHandler(event, lambdaContext('keymend-remediate'))),
    approval: ({ method, url, form }) => {
      const parsed = new URL(url);
      const body = form ? new URLSearchParams(form).toString() : undefined;
      const event = {
        version: '2.0',
        routeKey: '$default',
        rawPath: parsed.pathname,
        rawQueryString: parsed.search.slice(1),
        headers: {
          host: parsed.host,
          'user-agent': 'keymend-moto-test',
          ...(body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        requestContext: {
          accountId: 'anonymous',
          apiId: URL_DOMAIN.split('.')[0],
          domainName: URL_DOMAIN,
          domainPrefix: URL_DOMAIN.split('.')[0],
          http: {
            method,
            path: parsed.pathname,
            protocol: 'HTTP/1.1',
            sourceIp: '198.51.100.7',
            userAgent: 'keymend-moto-test',
          },
          requestId: randomBytes(8).toString('hex'),
          routeKey: '$default',
          stage: '$default',
          time: new Date().toUTCString(),
          timeEpoch: Date.now(),
        },
        ...(body !== undefined ? { body, isBase64Encoded: false } : {}),
        isBase64Encoded: false,
      } as unknown as APIGatewayProxyEventV2;
      return withEnv(env.approval, () => approvalHandler(event, lambdaContext('keymend-approval')));
    },
    async emails() {
      const out: { subject: string; message: string }[] = [];
      for (;;) {
        const received = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }),
        );
        if (!received.Messages?.length) return out;
        for (const m of received.Messages) {
          const envelope = JSON.parse(m.Body ?? '{}') as { Subject?: string; Message?: string };
          out.push({ subject: envelope.Subject ?? '', message: envelope.Message ?? '' });
          await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
        }
      }
    },
    close() {
      for (const name of [
        ...Object.keys(env.remediate),
        ...Object.keys(env.approval),
        ...Object.keys(lambdaEnv),
      ]) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    },
  };
}
