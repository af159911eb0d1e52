/**
 * Which account's reader and writer a flow uses: keymend's own (the ports' `reader` and `writer`), or
 * another account's through the AccountDirectory port (an organization deployment's member accounts,
 * or `keymend local`'s other snapshots), acting as `keymend-<proposal id>`. The flows never learn how
 * that access is obtained.
 */
import { MEMBER_ROLE } from '../commons/constants';
import { AccountUnreachableError } from '../commons/errors';
import type { AccountReader } from '../core/account';
import type { ResolvedState } from '../core/diagnose';
import { gatherAcross } from '../core/gather';
import type { AccountWriter, FlowPorts } from '../core/ports';
import type { KinesisKmsRequest } from '../core/request';

/** Who acts in another account for a proposal: the member role's source identity. */
export function sessionOf(proposalId: string): string {
  return `${MEMBER_ROLE.sourceIdentityPrefix}${proposalId}`;
}

/** The reader of `accountId` for this proposal, or null when keymend has no access there. */
export function readerFor(ports: FlowPorts, accountId: string, proposalId: string): AccountReader | null {
  if (accountId === ports.reader.accountId) return ports.reader;
  return ports.accounts?.reader(accountId, sessionOf(proposalId)) ?? null;
}

/**
 * The writer of `accountId` for this proposal. Throws AccountUnreachableError when keymend has no
 * access there (a plan never names such an account: the diagnosis plans only where it may write).
 */
export function writerFor(ports: FlowPorts, accountId: string, proposalId: string): AccountWriter {
  if (accountId === ports.reader.accountId) return ports.writer;
  const writer = ports.accounts?.writer(accountId, sessionOf(proposalId)) ?? null;
  if (writer === null)
    throw new AccountUnreachableError(accountId, `keymend cannot write in account ${accountId}`);
  return writer;
}

/** The state of a denial for proposal `proposalId`, read from the caller's account and the key owner's. */
export function gatherFor(
  ports: FlowPorts,
  request: KinesisKmsRequest,
  proposalId: string,
): Promise<ResolvedState> {
  return gatherAcross(
    ports.reader,
    (accountId) => ports.accounts?.reader(accountId, sessionOf(proposalId)) ?? null,
    request,
    ports.accounts?.organizationId ?? null,
  );
}
