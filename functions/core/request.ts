/**
 * What the intake extracts from a CloudTrail record of a denied KMS call made through Kinesis.
 * Everything here came from an event and is untrusted text: escape it before rendering.
 */

export type KmsOperation =
  | 'kms:Decrypt'
  | 'kms:GenerateDataKey'
  | 'kms:GenerateDataKeyWithoutPlaintext'
  | 'kms:DescribeKey';

/** CloudTrail `userIdentity.type` values keymend distinguishes. */
export type PrincipalType =
  | 'AssumedRole'
  | 'IAMUser'
  | 'Root'
  | 'FederatedUser'
  | 'AWSService'
  | 'AWSAccount'
  | 'Unknown';

/** The policy type an AWS access-denied message names. */
export type DeniedPolicyType =
  | 'identity-based'
  | 'resource-based'
  | 'permissions-boundary'
  | 'session'
  | 'service-control'
  | 'resource-control'
  | 'vpc-endpoint';

export interface DeniedBy {
  kind: 'implicit' | 'explicit' | 'unknown';
  policyType: DeniedPolicyType | null;
  policyArn?: string;
}

export interface KinesisKmsRequest {
  eventId: string;
  eventTime: string;
  /** The account whose trail recorded the event (recipientAccountId, else the envelope's account). */
  accountId: string;
  region: string;
  operation: KmsOperation;
  /** The IAM role ARN (with its path) for an assumed role, the user ARN for a user. */
  principalArn: string;
  principalType: PrincipalType;
  /** The STS session ARN for an assumed role; the same as principalArn for a user. */
  sessionArn: string;
  /** The full key ARN when the record gives one, else null. */
  keyArn: string | null;
  /** A bare key id, alias name or alias ARN to resolve later, when no key ARN is known. */
  keyReference: string | null;
  /** From encryption context `aws:kinesis:arn`; null when only the service markers say Kinesis. */
  streamArn: string | null;
  /**
   * True when invokedBy or sourceIPAddress is kinesis.amazonaws.com (fields AWS sets). A userAgent
   * of kinesis.amazonaws.com alone does not count: a direct caller chooses its own User-Agent.
   */
  viaKinesis: boolean;
  callerAccountId: string;
  /** The key's account, from its ARN; null when only a reference is known. */
  keyAccountId: string | null;
  deniedBy: DeniedBy;
  /** The encryption context as recorded (string values only). */
  encryptionContext: Record<string, string>;
  /**
   * AWS's own `errorMessage`, for people (its first 4096 characters); absent when the record has none.
   * Untrusted: any text at all.
   */
  errorMessage?: string;
  /**
   * `userIdentity.principalId`, the caller's `aws:userid`: `ROLE_ID:SESSION_NAME` for an assumed
   * role, the user id for a user, the account id for root, `ACCOUNT:NAME` for a federated user.
   * Absent when the record has none or it is not of that shape.
   */
  principalId?: string;
}
