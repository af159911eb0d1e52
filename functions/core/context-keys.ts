/**
 * The condition keys AWS puts on a KMS call that keymend derives from account state: the key's own
 * attributes, the algorithm of the data-key calls Kinesis makes, and the organization of the caller and
 * of the key. Pure. Each key, where it comes from and when it is unknown is listed in docs/evaluator.md.
 *
 * KMS keys: https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html
 * Global keys: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
 */
import { parseArn } from '../commons/arn';
import {
  type AuthorizationRequest,
  type ContextValue,
  kinesisKmsRequest,
  type RequestPrincipal,
} from '../policy';
import type { KeyState, OrganizationState } from './account';

/** What keymend knows of one request's keys: their values, and the keys it cannot know. */
export interface ContextFacts {
  context: Record<string, ContextValue>;
  /**
   * Lowercased names of keys AWS may set on the request whose value keymend cannot know here (a name
   * ending in `/` stands for every key with that prefix, e.g. `aws:resourcetag/`).
   */
  unknown: string[];
}

/**
 * Keys no account state tells: the network the call came from, the time, the caller's session and
 * federation. A policy that tests one can turn out either way (docs/evaluator.md, "Unknowable keys").
 */
export const ALWAYS_UNKNOWN: readonly string[] = [
  'aws:sourceip',
  'aws:sourcevpc',
  'aws:sourcevpce',
  'aws:sourcevpcarn',
  'aws:vpcsourceip',
  'aws:vpceaccount',
  'aws:vpceorgid',
  'aws:vpceorgpaths',
  'aws:ec2instancesourcevpc',
  'aws:ec2instancesourceprivateipv4',
  'aws:currenttime',
  'aws:epochtime',
  'aws:multifactorauthpresent',
  'aws:multifactorauthage',
  'aws:tokenissuetime',
  'aws:sourceidentity',
  'aws:federatedprovider',
  'aws:useragent',
  'aws:referer',
  // Set when the caller names the key by alias; whether Kinesis passes the stream's KeyId as an alias
  // (or any KeyId, for Decrypt) the record does not always show.
  'kms:requestalias',
];

/** KMS operations that use the key's symmetric encryption algorithm (kms:EncryptionAlgorithm). */
const ALGORITHM_OPERATIONS: ReadonlySet<string> = new Set([
  'kms:encrypt',
  'kms:decrypt',
  'kms:reencryptfrom',
  'kms:reencryptto',
  'kms:generatedatakey',
  'kms:generatedatakeywithoutplaintext',
]);

/**
 * The keys of a KMS call on `key` (at `keyArn`, which may name a probe's neighbour of `key`) by
 * `principal`, from the key, the operation and the organization:
 *
 * - aws:ResourceAccount: the key's account, always.
 * - aws:ResourceTag/KEY: one per tag when the tags are known, else unknown.
 * - kms:ResourceAliases: the key's aliases (multivalued); absent for a key with none.
 * - kms:KeySpec SYMMETRIC_DEFAULT and kms:KeyUsage ENCRYPT_DECRYPT unless the state says otherwise:
 *   Kinesis server-side encryption takes symmetric encryption keys only, and GenerateDataKey refuses any
 *   other (https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKey.html).
 * - kms:KeyOrigin, kms:MultiRegion, kms:MultiRegionKeyType (multi-Region keys only): when known.
 * - kms:EncryptionAlgorithm SYMMETRIC_DEFAULT for the cryptographic operations: the only algorithm of a
 *   symmetric encryption key, whatever the record shows.
 * - aws:PrincipalOrgID / aws:PrincipalOrgPaths for the caller's account, and aws:ResourceOrgID /
 *   aws:ResourceOrgPaths for the key's, from `organization` (its own id and path for
 *   `organizationAccountId`, `organization.accounts` for others); absent for an account in no
 *   organization (`id: null`); unknown when not recorded or not visible.
 */
export function kmsKeyFacts(args: {
  principal: RequestPrincipal;
  action: string;
  keyArn: string;
  key: KeyState | null;
  organization: OrganizationState | null;
  organizationAccountId: string;
}): ContextFacts {
  const { key, organization } = args;
  const context: Record<string, ContextValue> = {};
  const unknown: string[] = [];
  const keyAccount = parseArn(args.keyArn)?.accountId ?? '';
  if (keyAccount !== '') context['aws:ResourceAccount'] = keyAccount;

  if (key?.tags !== undefined) {
    for (const [tag, value] of Object.entries(key.tags)) context[`aws:ResourceTag/${tag}`] = value;
  } else {
    unknown.push('aws:resourcetag/');
  }
  if (key?.aliases !== undefined && key.aliases.length > 0) context['kms:ResourceAliases'] = [...key.aliases];
  context['kms:KeySpec'] = key?.keySpec ?? 'SYMMETRIC_DEFAULT';
  context['kms:KeyUsage'] = key?.keyUsage ?? 'ENCRYPT_DECRYPT';
  if (key?.origin !== undefined) context['kms:KeyOrigin'] = key.origin;
  else unknown.push('kms:keyorigin');
  if (key?.multiRegion !== undefined) {
    context['kms:MultiRegion'] = key.multiRegion;
    if (key.multiRegion) {
      if (key.multiRegionKeyType !== undefined) context['kms:MultiRegionKeyType'] = key.multiRegionKeyType;
      else unknown.push('kms:multiregionkeytype');
    }
  } else {
    unknown.push('kms:multiregion', 'kms:multiregionkeytype');
  }
  if (ALGORITHM_OPERATIONS.has(args.action.toLowerCase()))
    context['kms:EncryptionAlgorithm'] = 'SYMMETRIC_DEFAULT';

  const membership = (account: string) => membershipOf(account, args.organizationAccountId, organization);
  addOrganization(context, unknown, 'Principal', membership(args.principal.accountId));
  addOrganization(context, unknown, 'Resource', membership(keyAccount));
  if (args.principal.userId === undefined) unknown.push('aws:userid');
  return { context, unknown };
}

/**
 * The organization id and path of `account`: the organization state's own for the account it describes,
 * else what it records for other accounts (`organization.accounts`); undefined when not known.
 */
function membershipOf(
  account: string,
  organizationAccountId: string,
  organization: OrganizationState | null,
): { id: string | null; path?: string } | undefined {
  if (organization === null || account === '') return undefined;
  if (account === organizationAccountId) {
    if (organization.id === undefined) return undefined;
    return organization.path === undefined
      ? { id: organization.id }
      : { id: organization.id, path: organization.path };
  }
  return organization.accounts?.[account];
}

function addOrganization(
  context: Record<string, ContextValue>,
  unknown: string[],
  side: 'Principal' | 'Resource',
  membership: { id: string | null; path?: string } | undefined,
): void {
  const lowerSide = side.toLowerCase();
  if (membership === undefined) {
    unknown.push(`aws:${lowerSide}orgid`, `aws:${lowerSide}orgpaths`);
    return;
  }
  if (membership.id === null) return; // in no organization: AWS sets neither key
  context[`aws:${side}OrgID`] = membership.id;
  if (membership.path !== undefined) context[`aws:${side}OrgPaths`] = [membership.path];
  else unknown.push(`aws:${lowerSide}orgpaths`);
}

/** The keys a forward access session from Kinesis would set (IAM user guide, forward access sessions). */
export const FORWARD_ACCESS_SESSION_KEYS: readonly string[] = [
  'aws:viaawsservice',
  'aws:calledvia',
  'aws:calledviafirst',
  'aws:calledvialast',
];

/** Everything `kinesisCall` needs to build the request AWS would evaluate. */
export interface KinesisCallArgs {
  principal: RequestPrincipal;
  action: string;
  keyArn: string;
  streamArn: string;
  region: string;
  viaKinesis: boolean;
  /** Whether Kinesis calls KMS in a forward access session (unconfirmed: evaluate both). */
  forwardAccessSession: boolean;
  key: KeyState | null;
  organization: OrganizationState | null;
  /** The account the organization state describes: the one keymend runs in. */
  organizationAccountId: string;
}

/**
 * The request of a KMS call Kinesis makes for a stream (kinesisKmsRequest) with every key keymend can
 * derive from account state added (kmsKeyFacts), and aws:ViaAWSService false outside a forward access
 * session (the key is in every request). `diagnose` and `keymend evaluate --via-kinesis` both build
 * their requests here, so the two never disagree.
 */
export function kinesisCall(args: KinesisCallArgs): { request: AuthorizationRequest; unknown: string[] } {
  const request = kinesisKmsRequest({
    principal: args.principal,
    action: args.action,
    keyArn: args.keyArn,
    streamArn: args.streamArn,
    region: args.region,
    viaKinesis: args.viaKinesis,
    forwardAccessSession: args.forwardAccessSession,
  });
  const facts = kmsKeyFacts(args);
  Object.assign(request.context, facts.context);
  if (!(args.viaKinesis && args.forwardAccessSession)) request.context['aws:ViaAWSService'] = false;
  // KMS serves HTTPS only, and Kinesis reaches it over TLS: the key is in every request.
  request.context['aws:SecureTransport'] = true;
  return { request, unknown: facts.unknown };
}
