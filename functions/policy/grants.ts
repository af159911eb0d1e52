/**
 * KMS grants: which grants on the key allow a request. A grant allows its grantee the operations it
 * lists, within its constraints (https://docs.aws.amazon.com/kms/latest/APIReference/API_GrantConstraints.html).
 */
import { takesEncryptionContext } from './context';
import type { RequestView } from './request-context';
import type { AuthorizationRequest, DecidedBy, KmsGrant } from './types';

const ENCRYPTION_CONTEXT_PREFIX = 'kms:encryptioncontext:';

/**
 * The request's encryption context, from its kms:EncryptionContext:KEY keys, with KEY lowercased: grant
 * constraints compare keys case-insensitively and values exactly ("in a grant constraint, the key in each
 * key-value pair is not case sensitive, but the value is case sensitive").
 */
function encryptionContextOf(request: AuthorizationRequest): Map<string, string> {
  const context = new Map<string, string>();
  for (const [key, value] of Object.entries(request.context)) {
    const name = key.toLowerCase();
    if (name.length > ENCRYPTION_CONTEXT_PREFIX.length && name.startsWith(ENCRYPTION_CONTEXT_PREFIX)) {
      if (typeof value === 'string') context.set(name.slice(ENCRYPTION_CONTEXT_PREFIX.length), value);
    }
  }
  return context;
}

/** Whether the grant's constraints hold for a request with encryption context `context`. */
function constraintsHold(grant: KmsGrant, context: Map<string, string>): boolean {
  const has = ([key, value]: [string, string]) => context.get(key.toLowerCase()) === value;
  const subset = grant.constraints?.encryptionContextSubset;
  const equals = grant.constraints?.encryptionContextEquals;
  if (subset !== undefined && !Object.entries(subset).every(has)) return false;
  if (equals !== undefined) {
    const pairs = Object.entries(equals);
    if (pairs.length !== context.size || !pairs.every(has)) return false;
  }
  return true;
}

/**
 * The grants that allow the request, one `decidedBy` entry each (`policy` the grant id, `statement` the
 * operation): the grantee is the caller (a role ARN grantee covers its sessions), the operation is listed,
 * and, for an operation that takes an encryption context, the constraints hold: EncryptionContextSubset,
 * every pair is in the request's context; EncryptionContextEquals, the contexts are equal (keys compared
 * without case, values exactly). A grant for DescribeKey with a constraint allows DescribeKey whatever
 * the context: constraints bind only operations that take one.
 */
export function matchingGrants(
  grants: readonly KmsGrant[],
  request: AuthorizationRequest,
  view: RequestView,
): DecidedBy[] {
  if (view.service !== 'kms') return [];
  const { principal } = view;
  const constrained = takesEncryptionContext(view.actionName);
  let context: Map<string, string> | undefined;
  const out: DecidedBy[] = [];
  for (const grant of grants) {
    const grantee = grant.granteePrincipal;
    if (grantee !== principal.arn && grantee !== principal.sessionArn) continue;
    const operation = grant.operations.find((o) => o.toLowerCase() === view.actionName);
    if (operation === undefined) continue;
    if (constrained && grant.constraints !== undefined) {
      context ??= encryptionContextOf(request);
      if (!constraintsHold(grant, context)) continue;
    }
    out.push({ policyType: 'grant', policy: grant.grantId, statement: operation });
  }
  return out;
}
