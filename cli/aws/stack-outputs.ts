/**
 * A deployed keymend stack's outputs (CloudFormation DescribeStacks), so the CLI finds the table and
 * the approval URL from the stack's name alone.
 */
import {
  type CloudFormationClient,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
} from '@aws-sdk/client-cloudformation';
import { awsReadRequired } from '../../functions/adapters/aws-read';
import { InputError } from '../../functions/commons/errors';

/**
 * The outputs of `stackName`, by OutputKey.
 * @throws InputError when there is no such stack (in the client's Region); AwsReadError otherwise.
 */
export async function stackOutputs(
  client: Pick<CloudFormationClient, 'send'>,
  stackName: string,
): Promise<Record<string, string>> {
  let answer: DescribeStacksCommandOutput;
  try {
    answer = await client.send(new DescribeStacksCommand({ StackName: stackName }));
  } catch (error) {
    // CloudFormation answers a missing stack with a ValidationError "Stack with id X does not exist".
    if (error instanceof Error && error.name === 'ValidationError' && /does not exist/.test(error.message)) {
      throw new InputError(
        `no stack ${stackName} here (give the keymend stack's name with --stack, and its Region)`,
        { cause: error },
      );
    }
    return awsReadRequired(`cloudformation:DescribeStacks ${stackName}`, () => Promise.reject(error));
  }
  const outputs: Record<string, string> = {};
  for (const output of answer.Stacks?.[0]?.Outputs ?? []) {
    if (output.OutputKey && output.OutputValue !== undefined) outputs[output.OutputKey] = output.OutputValue;
  }
  return outputs;
}
