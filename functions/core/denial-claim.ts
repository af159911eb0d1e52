/**
 * How every ProposalStore's `claimDenial` settles its two claims, sent at once: the event id's and the
 * problem's. Only the storage differs between stores (how each claim is made, how an item is put back);
 * what the pair of answers means is decided here once.
 */
import type { ClaimResult, DenialClaim, EventClaim } from './ports';

/** A problem's claim as a store makes it: the result, and the item it replaced (none when there was none). */
export interface ProblemClaim<Previous> {
  result: ClaimResult;
  previous?: Previous;
}

/**
 * The denial's claim from the event's claim and the problem's. When the event's claim failed while the
 * problem was claimed over an earlier item, `putBack` restores that item first (its own failure is
 * ignored: the caller releases the rest, as after any failure); then the event's failure is thrown. A
 * failed problem claim is thrown as it is.
 */
export async function settleDenialClaim<Claim extends ProblemClaim<unknown>>(
  event: Promise<EventClaim>,
  problem: Promise<Claim>,
  putBack: (previous: NonNullable<Claim['previous']>, claim: Claim) => Promise<unknown>,
): Promise<DenialClaim> {
  const [delivery, claim] = await Promise.allSettled([event, problem]);
  if (delivery.status === 'rejected') {
    if (claim.status === 'fulfilled' && claim.value.result.claimed) {
      const { previous } = claim.value;
      if (previous) await putBack(previous, claim.value).catch(() => false);
    }
    throw delivery.reason;
  }
  if (claim.status === 'rejected') throw claim.reason;
  return { ...claim.value.result, delivery: delivery.value };
}
