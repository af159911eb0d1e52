/**
 * How the principal, the key and the stream are named in what keymend sends: names pulled out of ARNs
 * (the ARN itself when it does not parse), and what stands for a resource keymend could not find.
 */
import { parseArn, parsePrincipalArn, parseStreamArn } from '../commons/arn';
import type { Proposal } from '../core/proposal';

/** The principal's kind and name (`role orders-consumer`), from its ARN; the ARN itself when unparsable. */
export function principalName(arn: string): { kind: 'role' | 'user' | 'principal'; name: string } {
  const parsed = parsePrincipalArn(arn);
  return parsed ? { kind: parsed.kind, name: parsed.name } : { kind: 'principal', name: arn };
}

/** Shown for a key or stream the event did not name and keymend could not find. */
export const NOT_KNOWN = '(not known)';

/** The stream's name, from its ARN; the ARN itself when unparsable; NOT_KNOWN when empty. */
export function streamName(arn: string): string {
  if (arn === '') return NOT_KNOWN;
  return parseStreamArn(arn)?.streamName ?? arn;
}

/** The key as the proposal knows it: its ARN, else the reference the event gave (an alias), else NOT_KNOWN. */
export function keyShown(proposal: Proposal): string {
  return proposal.scope.keyArn || proposal.request.keyReference || NOT_KNOWN;
}

/** The stream as shown beside its name: `orders (ARN)`; NOT_KNOWN when the proposal has none. */
export function streamShown(arn: string, show: (value: string) => string): string {
  return arn === '' ? NOT_KNOWN : `${show(streamName(arn))} (${show(arn)})`;
}

/** The key's aliases as shown beside it: ` (alias/orders)`, or '' when it has none. */
export function aliasSuffix(aliases: readonly string[]): string {
  return aliases.length === 0 ? '' : ` (${aliases.join(', ')})`;
}

/** The account an ARN belongs to ('' when none). */
export function accountOfArn(arn: string): string {
  return parseArn(arn)?.accountId ?? '';
}

/**
 * The account as people see it wherever a proposal is shown: `123456789012 (acme-orders-prod)` when
 * its alias is known, else the id alone. Both parts are raw: the caller escapes for its medium.
 */
export function accountShown(accountId: string, alias: string | undefined): string {
  return alias ? `${accountId} (${alias})` : accountId;
}

/**
 * An account a proposal names (the problem's, or the key owner's in a two-sided proposal), with the
 * alias keymend read for it: accountShown's text.
 */
export function accountOf(proposal: Proposal, accountId: string): string {
  const alias =
    accountId === proposal.scope.accountId
      ? proposal.accountAlias
      : accountId === accountOfArn(proposal.scope.keyArn)
        ? proposal.keyAccountAlias
        : undefined;
  return accountShown(accountId, alias);
}
