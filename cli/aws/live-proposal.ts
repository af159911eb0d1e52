/**
 * The proposal a problem's fingerprint item points at in the deployed table (the one the remediate
 * function made for it), for `keymend apply --aws`: a pending proposal of the same plan is approved
 * rather than duplicated, and one being applied is left alone.
 */
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { awsReadRequired } from '../../functions/adapters/aws-read';
import { type DynamoProposalStore, storeKeys } from '../../functions/adapters/store';
import type { Proposal } from '../../functions/core/proposal';

/**
 * The proposal `fingerprint` points at, or null when the problem has none (never seen, or its item
 * is gone).
 * @throws AwsReadError when the table cannot be read.
 */
export async function fingerprintProposal(
  client: Pick<DynamoDBClient, 'send'>,
  tableName: string,
  store: Pick<DynamoProposalStore, 'getProposal'>,
  fingerprint: string,
): Promise<Proposal | null> {
  const out = await awsReadRequired(`dynamodb:GetItem ${tableName} (fingerprint ${fingerprint})`, () =>
    client.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { pk: { S: storeKeys.fingerprint(fingerprint) } },
        ConsistentRead: true,
      }),
    ),
  );
  const id = out.Item?.proposalId?.S;
  return id ? store.getProposal(id) : null;
}
