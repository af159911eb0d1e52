/**
 * Request contexts: the keys AWS puts in every request from a principal, and the full context of a KMS
 * call that Kinesis Data Streams makes for a stream.
 * Global keys: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
 * KMS keys: https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html
 */
import { PRINCIPAL_TYPE } from './request-context';
import type { AuthorizationRequest, ContextValue, RequestPrincipal } from './types';

/**
 * The global keys that describe the caller: aws:PrincipalArn (the role ARN for a role session, not the
 * session ARN), aws:PrincipalAccount, aws:PrincipalType, aws:userid (when known), aws:username (IAM users
 * only) and aws:PrincipalTag/KEY for each tag. `evaluate` adds these itself when the request lacks them.
 */
export function principalContext(principal: RequestPrincipal): Record<string, ContextValue> {
  return addPrincipalContext({}, principal);
}

function addPrincipalContext(
  ctx: Record<string, ContextValue>,
  principal: RequestPrincipal,
): Record<string, ContextValue> {
  ctx['aws:PrincipalArn'] = principal.arn;
  ctx['aws:PrincipalAccount'] = principal.accountId;
  ctx['aws:PrincipalType'] = PRINCIPAL_TYPE[principal.type];
  if (principal.userId !== undefined) ctx['aws:userid'] = principal.userId;
  if (principal.type === 'IAMUser' && principal.username !== undefined)
    ctx['aws:username'] = principal.username;
  const tags = principal.tags;
  if (tags !== undefined)
    for (const key of Object.keys(tags)) ctx[`aws:PrincipalTag/${key}`] = tags[key] as string;
  return ctx;
}

/** The encryption-context condition keys for a context: kms:EncryptionContext:KEY and kms:EncryptionContextKeys. */
export function encryptionContextKeys(
  encryptionContext: Record<string, string>,
): Record<string, ContextValue> {
  const ctx: Record<string, ContextValue> = { 'kms:EncryptionContextKeys': Object.keys(encryptionContext) };
  for (const [key, value] of Object.entries(encryptionContext)) ctx[`kms:EncryptionContext:${key}`] = value;
  return ctx;
}

/**
 * KMS operations that take an encryption context (lowercased, without prefix): the cryptographic operations
 * with a symmetric key, plus CreateGrant, whose request carries its constraint's pairs as
 * kms:EncryptionContext:KEY. Others (DescribeKey, PutKeyPolicy, ...) carry none, and grant constraints do
 * not apply to them (https://docs.aws.amazon.com/kms/latest/APIReference/API_GrantConstraints.html).
 */
const CONTEXT_OPERATIONS: ReadonlySet<string> = new Set([
  'encrypt',
  'decrypt',
  'reencryptfrom',
  'reencryptto',
  'generatedatakey',
  'generatedatakeywithoutplaintext',
  'generatedatakeypair',
  'generatedatakeypairwithoutplaintext',
]);

/** True for a KMS cryptographic operation that takes an encryption context (`kms:Decrypt`, `Decrypt`, ...). */
export function takesEncryptionContext(operation: string): boolean {
  const name = operation.toLowerCase();
  return CONTEXT_OPERATIONS.has(name.startsWith('kms:') ? name.slice(4) : name);
}

/**
 * The request context of a KMS call (Decrypt, GenerateDataKey, ...) as Kinesis makes it for `streamArn`, or
 * (viaKinesis false) as a direct call carrying that encryption context would: no kms:ViaService then.
 *
 * Kinesis passes `{"aws:kinesis:arn": STREAM_ARN}` as encryption context and KMS sees
 * kms:ViaService = kinesis.REGION.amazonaws.com
 * (https://docs.aws.amazon.com/streams/latest/dev/permissions-user-key-KMS.html,
 * https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
 * An operation that takes no encryption context (DescribeKey, PutKeyPolicy, ...) gets no encryption-context
 * keys, except CreateGrant: modelled as a grant constrained to this stream, the most a policy could let through.
 * kms:CallerAccount is the caller's account. Kinesis calls KMS with the caller's own credentials, so
 * aws:SourceArn / aws:SourceAccount (keys of service-principal requests) are absent and
 * aws:PrincipalIsAWSService is false. aws:RequestedRegion, in every request, is the Region of the KMS call:
 * the stream's and key's. Both keys are "always included" and policies test them, Region-restricting SCPs
 * with negated operators above all: left out, such a Deny would match every call
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html).
 * Whether Kinesis uses forward access sessions, which would set aws:CalledVia / aws:ViaAWSService, is
 * unconfirmed: they are set only when `forwardAccessSession` is true, so a caller can try both.
 */
export function kinesisKmsRequest(args: {
  principal: RequestPrincipal;
  action: string;
  keyArn: string;
  streamArn: string;
  region: string;
  viaKinesis: boolean;
  /** Also set aws:CalledVia, aws:CalledViaFirst/Last and aws:ViaAWSService as a forward access session would. */
  forwardAccessSession?: boolean;
}): AuthorizationRequest {
  // Built in place, in the order principalContext, the request's own keys, then encryptionContextKeys
  // would give it.
  const context = addPrincipalContext({}, args.principal);
  context['aws:RequestedRegion'] = args.region;
  context['aws:PrincipalIsAWSService'] = false;
  context['kms:CallerAccount'] = args.principal.accountId;
  if (takesEncryptionContext(args.action) || args.action.toLowerCase() === 'kms:creategrant') {
    context['kms:EncryptionContextKeys'] = ['aws:kinesis:arn'];
    context['kms:EncryptionContext:aws:kinesis:arn'] = args.streamArn;
  }
  if (args.viaKinesis) context['kms:ViaService'] = `kinesis.${args.region}.amazonaws.com`;
  if (args.viaKinesis && args.forwardAccessSession) {
    context['aws:CalledVia'] = ['kinesis.amazonaws.com'];
    context['aws:CalledViaFirst'] = 'kinesis.amazonaws.com';
    context['aws:CalledViaLast'] = 'kinesis.amazonaws.com';
    context['aws:ViaAWSService'] = true;
  }
  return { principal: args.principal, action: args.action, resource: args.keyArn, context };
}

/**
 * The request context of a direct kms:CreateGrant call: kms:GrantOperations (multivalued),
 * kms:GranteePrincipal, kms:RetiringPrincipal (when the grant names one), kms:GrantConstraintType and
 * kms:GrantIsForAWSResource, plus the constraint's pairs as kms:EncryptionContext:KEY and its keys as
 * kms:EncryptionContextKeys (for CreateGrant these describe the grant's constraint, not the call's own
 * context) (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html).
 * kms:GrantIsForAWSResource is true when an AWS service integrated with KMS calls on the principal's
 * behalf; whether a direct call carries it as false or omits it is not documented, so `forAwsResource`
 * null leaves it out (policies should hold either way: `BoolIfExists`).
 */
export function createGrantRequest(args: {
  principal: RequestPrincipal;
  keyArn: string;
  granteePrincipal: string;
  operations: string[];
  retiringPrincipal?: string;
  constraints?: {
    encryptionContextSubset?: Record<string, string>;
    encryptionContextEquals?: Record<string, string>;
  };
  /** @default false; null: the key is absent from the request. */
  forAwsResource?: boolean | null;
}): AuthorizationRequest {
  const context: Record<string, ContextValue> = {
    ...principalContext(args.principal),
    'kms:CallerAccount': args.principal.accountId,
    'kms:GrantOperations': [...args.operations],
    'kms:GranteePrincipal': args.granteePrincipal,
  };
  if (args.forAwsResource !== null) context['kms:GrantIsForAWSResource'] = args.forAwsResource ?? false;
  if (args.retiringPrincipal !== undefined) context['kms:RetiringPrincipal'] = args.retiringPrincipal;
  const subset = args.constraints?.encryptionContextSubset;
  const equals = args.constraints?.encryptionContextEquals;
  if (subset !== undefined) {
    context['kms:GrantConstraintType'] = 'EncryptionContextSubset';
    Object.assign(context, encryptionContextKeys(subset));
  } else if (equals !== undefined) {
    context['kms:GrantConstraintType'] = 'EncryptionContextEquals';
    Object.assign(context, encryptionContextKeys(equals));
  }
  return { principal: args.principal, action: 'kms:CreateGrant', resource: args.keyArn, context };
}
