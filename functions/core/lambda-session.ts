/**
 * Which Lambda function a denied session may belong to. Lambda gives a function the credentials of its
 * execution role, and an event source mapping reads a Kinesis stream with that role too (Lambda
 * developer guide, "Working with AWS managed policies in the execution role": "Lambda uses the execution
 * role to read event data"). The role session Lambda creates for a function is named after the function
 * (`assumed-role/ROLE/FUNCTION_NAME`); AWS documents the role, not the session name, so keymend treats
 * the name as a candidate only: CloudWatch's `IteratorAge` for a FunctionName of that name has data only
 * when such a function reads a stream through an event source mapping (adapters/cloudwatch.ts).
 */
import { parseAssumedRoleArn } from '../commons/arn';
import type { KinesisKmsRequest } from './request';

/** A Lambda function name: 1 to 64 letters, digits, hyphens and underscores (CreateFunction). */
const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The function name a consumer's role session may stand for; null for a producer, a user, or a session
 * name no function can have (one with `@`, `.`, `=` or `,`, or longer than 64 characters).
 */
export function lambdaFunctionCandidate(
  request: Pick<KinesisKmsRequest, 'operation' | 'principalType' | 'sessionArn'>,
): string | null {
  if (request.operation !== 'kms:Decrypt' || request.principalType !== 'AssumedRole') return null;
  const session = parseAssumedRoleArn(request.sessionArn);
  if (session === null || !FUNCTION_NAME.test(session.sessionName)) return null;
  return session.sessionName;
}
