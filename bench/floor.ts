/**
 * The bundle-size and cold-start floor: only the AWS SDK clients the remediate function builds,
 * imported and constructed with keymend's one client configuration. Code the function cannot avoid.
 * handlers/wiring.ts builds them, CloudWatch for the consumer's lag (issue 22) among them. STS, for
 * the member roles of an organization deployment (issue 25), is imported by every deployment but built
 * by the hub's only: the bench's single-account function does not build it, so the floor imports it
 * without building it.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { KMSClient } from '@aws-sdk/client-kms';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { SNSClient } from '@aws-sdk/client-sns';
import { STSClient } from '@aws-sdk/client-sts';
import { clientConfig } from '../functions/adapters/client-config';

export const clients = [
  new CloudWatchClient(clientConfig()),
  new DynamoDBClient(clientConfig()),
  new IAMClient(clientConfig()),
  new KinesisClient(clientConfig()),
  new KMSClient(clientConfig()),
  new OrganizationsClient(clientConfig()),
  new SNSClient(clientConfig()),
];

/** Exported so that the bundle keeps STS's code, as the remediate function's does. */
export const hubOnly = [STSClient];

export const handler = async () => clients.length + hubOnly.length;
