/**
 * Reading keymend's proposals by status from the deployed table, through its status index (a sparse
 * global secondary index: only proposal items have a `status`), newest change first, page by page:
 * the CLI's `keymend list --aws` ("what standing access has keymend created here?").
 */
import { type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { awsReadRequired } from '../../functions/adapters/aws-read';
import { decodeProposal } from '../../functions/adapters/store';
import { TABLE } from '../../functions/commons/constants';
import type { Proposal, ProposalStatus } from '../../functions/core/proposal';

/**
 * The proposals in `status`, most recently changed first.
 * @throws AwsReadError when the index cannot be queried.
 */
export async function* proposalsByStatus(
  client: Pick<DynamoDBClient, 'send'>,
  tableName: string,
  status: ProposalStatus,
): AsyncGenerator<Proposal> {
  let start: Record<string, NonNullable<unknown>> | undefined;
  const seen = new Set<string>();
  do {
    const page = await awsReadRequired(
      `dynamodb:Query ${tableName} index ${TABLE.statusIndex} (${status})`,
      () =>
        client.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: TABLE.statusIndex,
            KeyConditionExpression: '#status = :status',
            ExpressionAttributeNames: { '#status': TABLE.statusAttribute },
            ExpressionAttributeValues: { ':status': { S: status } },
            ScanIndexForward: false,
            ...(start ? { ExclusiveStartKey: start as never } : {}),
          }),
        ),
    );
    for (const item of page.Items ?? []) yield decodeProposal(item);
    start = page.LastEvaluatedKey;
    // A page key handed back twice would otherwise loop for ever.
    const key = start ? JSON.stringify(start) : undefined;
    if (key !== undefined) {
      if (seen.has(key)) break;
      seen.add(key);
    }
  } while (start);
}
