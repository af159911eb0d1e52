/**
 * Turns account state into what the evaluator takes: compiled policy sets and request principals.
 * Pure: no I/O. Which organization policies apply is decided here (see buildPolicySet).
 */

import {
  arnAccount,
  parseAssumedRoleArn,
  parseFederatedUserArn,
  parseRoleArn,
  parseRootArn,
  parseUserArn,
} from '../commons/arn';
import { InputError } from '../commons/errors';
import { type CompiledPolicy, compilePolicy, type PolicySet, type RequestPrincipal } from '../policy';
import {
  type KeyState,
  type OrganizationState,
  organizationPolicyDocument,
  organizationPolicyLabel,
  type PrincipalState,
} from './account';

/** The name the key policy carries in `decidedBy`. */
export const KEY_POLICY_NAME = 'key-policy';
/** The name the permissions boundary carries in `decidedBy` (the snapshot keeps no boundary ARN). */
export const PERMISSIONS_BOUNDARY_NAME = 'permissions-boundary';

/**
 * Builds the PolicySet for a principal and a key from account state (compiling every document).
 *
 * - Identity policies: inline ones by name, managed ones by ARN.
 * - SCPs apply to the principal's account, and only when that is the organization's account
 *   (`organizationAccountId`, default `resourceAccountId`: the snapshot's own account); never to
 *   service-linked roles (path `/aws-service-role/`), which SCPs do not affect
 *   (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html).
 *   The management account, also exempt, is not modelled: a snapshot of it should carry no SCPs.
 * - RCPs apply to the key's account when it is the organization's account, never to AWS managed keys
 *   (https://docs.aws.amazon.com/kms/latest/developerguide/resource-control-policies.html).
 * Throws PolicyParseError when a document is malformed.
 */
export function buildPolicySet(args: {
  principal: PrincipalState | null;
  key: KeyState | null;
  organization: OrganizationState | null;
  resourceAccountId: string;
  /** The account the organization state describes; default `resourceAccountId`. */
  organizationAccountId?: string;
  /** The key owner's organization state, when the key is in another account that keymend read: its RCPs. */
  keyOrganization?: OrganizationState | null;
}): PolicySet<CompiledPolicy> {
  const { principal, key, organization, resourceAccountId } = args;
  const orgAccount = args.organizationAccountId ?? resourceAccountId;
  const identityPolicies: CompiledPolicy[] = [];
  const set: PolicySet<CompiledPolicy> = { identityPolicies, resourceAccountId };
  if (principal) {
    for (const [name, doc] of Object.entries(principal.inlinePolicies)) {
      identityPolicies.push(compilePolicy(doc, name, 'identity-based'));
    }
    for (const [arn, doc] of Object.entries(principal.managedPolicies)) {
      identityPolicies.push(compilePolicy(doc, arn, 'identity-based'));
    }
    if (principal.permissionsBoundary !== undefined && principal.permissionsBoundary !== null) {
      set.permissionsBoundary = compilePolicy(
        principal.permissionsBoundary,
        PERMISSIONS_BOUNDARY_NAME,
        'permissions-boundary',
      );
    }
  }
  if (key) {
    set.resourcePolicy = compilePolicy(key.policy, KEY_POLICY_NAME, 'resource-based');
    if (key.grants && key.grants.length > 0) set.grants = key.grants;
  }
  const principalAccount = principal ? arnAccount(principal.arn) : null;
  const serviceLinked = principal ? isServiceLinked(principal.arn) : false;
  if (organization?.serviceControlPolicies && principalAccount === orgAccount && !serviceLinked) {
    set.serviceControlPolicies = organization.serviceControlPolicies.map((level, l) =>
      level.map((entry, i) =>
        compilePolicy(
          organizationPolicyDocument(entry),
          organizationPolicyLabel(entry, `service-control-policies[${l}][${i}]`),
          'service-control',
        ),
      ),
    );
  }
  const keyAccount = key ? arnAccount(key.arn) : resourceAccountId;
  // RCPs of the key's account: the organization state of keymend's account, or the key owner's as read.
  const rcps =
    keyAccount === orgAccount
      ? organization?.resourceControlPolicies
      : key
        ? args.keyOrganization?.resourceControlPolicies
        : undefined;
  if (rcps && key?.keyManager !== 'AWS') {
    set.resourceControlPolicies = rcps.map((level, l) =>
      level.map((entry, i) =>
        compilePolicy(
          organizationPolicyDocument(entry),
          organizationPolicyLabel(entry, `resource-control-policies[${l}][${i}]`),
          'resource-control',
        ),
      ),
    );
  }
  return set;
}

function isServiceLinked(arn: string): boolean {
  return (parseRoleArn(arn)?.path ?? '').startsWith('/aws-service-role/');
}

/**
 * The RequestPrincipal for a role/user ARN (session ARN optional), with tags from state.
 * `arn` may also be an STS session ARN: the role is then `state.arn` when given, else the role ARN
 * without path (a session ARN does not carry the role's path). aws:userid is left unset: it holds the
 * role's unique id, which account state does not record. Throws InputError for any other ARN.
 */
export function requestPrincipal(args: {
  arn: string;
  sessionArn?: string;
  state?: PrincipalState | null;
}): RequestPrincipal {
  const { arn, sessionArn, state } = args;
  const tags = state?.tags;
  const withTags = (p: RequestPrincipal): RequestPrincipal => (tags ? { ...p, tags: { ...tags } } : p);
  const role = parseRoleArn(arn);
  if (role) {
    return withTags({
      arn,
      accountId: role.accountId,
      type: 'AssumedRole',
      ...(sessionArn !== undefined ? { sessionArn } : {}),
    });
  }
  const session = parseAssumedRoleArn(arn);
  if (session) {
    const roleArn =
      state?.arn ?? `arn:${session.partition}:iam::${session.accountId}:role/${session.roleName}`;
    return withTags({ arn: roleArn, sessionArn: arn, accountId: session.accountId, type: 'AssumedRole' });
  }
  const user = parseUserArn(arn);
  if (user) return withTags({ arn, accountId: user.accountId, type: 'IAMUser', username: user.userName });
  const root = parseRootArn(arn);
  if (root) return { arn, accountId: root.accountId, type: 'Root' };
  const federated = parseFederatedUserArn(arn);
  if (federated) return { arn, accountId: federated.accountId, type: 'FederatedUser' };
  throw new InputError(`not a role, user, role-session, root or federated-user ARN: ${JSON.stringify(arn)}`);
}
