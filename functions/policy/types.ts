/**
 * The evaluator's public contract. Everything in functions/policy is pure: no I/O, no clock.
 * Policies are compiled once (`compilePolicy`) and evaluated many times (`evaluate`).
 */

export type Decision = 'allowed' | 'implicit-deny' | 'explicit-deny';

/** The layer a policy belongs to, as reported in `decidedBy`. */
export type PolicyLayer =
  | 'identity-based'
  | 'resource-based'
  | 'grant'
  | 'permissions-boundary'
  | 'session'
  | 'service-control'
  | 'resource-control';

/** One policy and statement that decided (or contributed to) a result, for a person to read. */
export interface DecidedBy {
  policyType: PolicyLayer;
  /** The policy's name or ARN (a grant's id for grants, `key-policy` style names for key policies). */
  policy: string;
  /** The statement's Sid, else its index as a string (`"0"`, `"1"`, ...). */
  statement: string;
}

export interface EvaluationResult {
  decision: Decision;
  decidedBy: DecidedBy[];
}

/** A request-context value. Multivalued keys (e.g. kms:EncryptionContextKeys) are arrays. */
export type ContextValue = string | boolean | number | string[];

/** Who makes the request. */
export interface RequestPrincipal {
  /** The IAM role ARN (with path) or IAM user ARN. Also aws:PrincipalArn. */
  arn: string;
  /** The STS assumed-role session ARN, when the caller is a role session. */
  sessionArn?: string;
  accountId: string;
  type: 'AssumedRole' | 'IAMUser' | 'Root' | 'FederatedUser';
  /** aws:userid, e.g. `AROAEXAMPLE:session-name` or `AIDAEXAMPLE`. */
  userId?: string;
  /** aws:username (IAM users only). */
  username?: string;
  tags?: Record<string, string>;
}

export interface AuthorizationRequest {
  principal: RequestPrincipal;
  /** e.g. `kms:Decrypt`. */
  action: string;
  /** The resource ARN, e.g. a key ARN. */
  resource: string;
  /** Condition keys and values (keys are matched case-insensitively). */
  context: Record<string, ContextValue>;
}

/** A KMS grant as the snapshot and ListGrants describe it. */
export interface KmsGrant {
  grantId: string;
  name?: string;
  granteePrincipal: string;
  retiringPrincipal?: string;
  /** KMS operation names without prefix, e.g. `Decrypt`, `GenerateDataKey`. */
  operations: string[];
  constraints?: {
    encryptionContextSubset?: Record<string, string>;
    encryptionContextEquals?: Record<string, string>;
  };
}

/** Everything that bears on one request: the caller's side and the key's side. */
export interface PolicySet<P> {
  /** The caller's identity policies (inline and managed). */
  identityPolicies: P[];
  permissionsBoundary?: P;
  sessionPolicies?: P[];
  /** The key policy (resource-based policy). */
  resourcePolicy?: P;
  /** The account that owns the resource (the key's account). */
  resourceAccountId: string;
  /** Grants on the key. */
  grants?: KmsGrant[];
  /** Service control policies of the caller's account: one array per level, root first. */
  serviceControlPolicies?: P[][];
  /** Resource control policies of the resource's account: one array per level, root first. */
  resourceControlPolicies?: P[][];
}
