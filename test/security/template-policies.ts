/**
 * From a synthesized template to the policies keymend's evaluator judges: intrinsics resolved to
 * concrete ARNs of one account and Region (test/security/least-privilege.test.ts for the single-account
 * roles, member-role.test.ts for the organization's member role).
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { compilePolicy } from '../../functions/policy';
import { delegatingKeyPolicy } from '../helpers/accounts';

export const PARTITION = 'aws';
export const REGION = 'us-east-1';
export const ACCOUNT = '111122223333';

type Json = unknown;

/** A concrete ARN for a resource of the template, by its type: what `Ref` / `Fn::GetAtt Arn` would give. */
export function arnOf(template: Template, logicalId: string): string {
  const resources = template.toJSON().Resources as Record<string, { Type: string }>;
  const type = resources[logicalId]?.Type;
  const id = logicalId.toLowerCase();
  switch (type) {
    case 'AWS::KMS::Key':
      return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;
    case 'AWS::DynamoDB::Table':
      return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${id}`;
    case 'AWS::SNS::Topic':
      return `arn:aws:sns:${REGION}:${ACCOUNT}:${id}`;
    case 'AWS::SecretsManager::Secret':
      return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${id}-AbCdEf`;
    case 'AWS::Logs::LogGroup':
      return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${id}:*`;
    case 'AWS::SQS::Queue':
      return `arn:aws:sqs:${REGION}:${ACCOUNT}:${id}`;
    case 'AWS::IAM::Role':
      // keymend's roles live under its path (infra/iam.ts KEYMEND_ROLE_PATH).
      return `arn:aws:iam::${ACCOUNT}:role/keymend/${logicalId}`;
    case 'AWS::Events::Rule':
      return `arn:aws:events:${REGION}:${ACCOUNT}:rule/${id}`;
    case 'AWS::CloudWatch::Alarm':
      return `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${id}`;
    default:
      throw new Error(`no ARN for ${logicalId} of type ${type}`);
  }
}

/**
 * The template's intrinsics in a policy, resolved: pseudo parameters to this account and Region, the
 * template's parameters to the values given (a list parameter as an array), resources to their ARNs.
 */
export function resolve(template: Template, value: Json, parameters: Record<string, Json> = {}): Json {
  const again = (v: Json) => resolve(template, v, parameters);
  if (Array.isArray(value)) return value.map(again);
  if (typeof value !== 'object' || value === null) return value;
  const obj = value as Record<string, Json>;
  const keys = Object.keys(obj);
  if (keys.length === 1 && keys[0] === 'Ref') {
    const ref = obj.Ref as string;
    const pseudo: Record<string, string> = {
      'AWS::Partition': PARTITION,
      'AWS::Region': REGION,
      'AWS::AccountId': ACCOUNT,
      'AWS::URLSuffix': 'amazonaws.com',
    };
    if (ref in parameters) return parameters[ref];
    return pseudo[ref] ?? arnOf(template, ref);
  }
  if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
    const [logicalId, attribute] = obj['Fn::GetAtt'] as [string, string];
    if (attribute !== 'Arn') throw new Error(`unexpected Fn::GetAtt ${logicalId}.${attribute}`);
    return arnOf(template, logicalId);
  }
  if (keys.length === 1 && keys[0] === 'Fn::Join') {
    const [separator, parts] = obj['Fn::Join'] as [string, Json[]];
    return parts.map(again).join(separator);
  }
  if (keys.length === 1 && keys[0] === 'Fn::Select') {
    const [index, list] = obj['Fn::Select'] as [number | string, Json];
    return (again(list) as Json[])[Number(index)];
  }
  const unknown = keys.find((k) => k.startsWith('Fn::'));
  if (unknown) throw new Error(`unresolved intrinsic ${unknown}`);
  return Object.fromEntries(keys.map((k) => [k, again(obj[k])]));
}

/** The default key policy: the account delegates to IAM, so the role's policy alone decides. */
export const DELEGATING_KEY_POLICY = compilePolicy(
  delegatingKeyPolicy(ACCOUNT),
  'key-policy',
  'resource-based',
);
