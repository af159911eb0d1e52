/**
 * Reads, read-only, the organization as the diagnosis needs it: the organization's id
 * (organizations:DescribeOrganization, callable from any member account) and the account's path from
 * the root (organizations:ListParents) for the condition keys aws:PrincipalOrgID/OrgPaths and
 * aws:ResourceOrgID/OrgPaths; and, where the caller may read them (the management account or a
 * delegated administrator: ListRoots, ListPoliciesForTarget, DescribePolicy), the SCPs and RCPs
 * attached at every level from the root to the account, each with its id, name and target. Where
 * permissions stop, each part degrades to "not visible" (left out), as before these reads existed.
 *
 * Every read starts as soon as what it needs is known: the account's own policies, the root (ListRoots)
 * and the walk up the OUs from the first moment, each OU's policies as the walk finds it, each policy's
 * content as a listing names it; so the policies add no round trip to the walk.
 *
 * The reader takes any object with these methods; `organizationsApi(client)` makes one over the bare
 * OrganizationsClient (not the aggregated `Organizations` class, which bundles every command).
 */
import {
  DescribeOrganizationCommand,
  DescribePolicyCommand,
  ListParentsCommand,
  ListPoliciesForTargetCommand,
  ListRootsCommand,
  type OrganizationsClient,
  type PolicyType,
} from '@aws-sdk/client-organizations';
import { setBounded } from '../commons/bounded-map';
import type { OrganizationPolicy, OrganizationState } from '../core/account';
import type { NotificationRouter } from '../core/ports';
import { type NotificationRoute, routeFor, routesName, routesNeedUnits } from '../core/routing';
import { awsRead, collectPages } from './aws-read';

/** The Organizations calls keymend makes, shaped as the SDK's aggregated client has them. */
export interface OrganizationsApi {
  describeOrganization(
    input: Record<string, never>,
  ): Promise<{ Organization?: { Id?: string; MasterAccountId?: string } }>;
  listParents(input: {
    ChildId: string;
    NextToken?: string;
  }): Promise<{ Parents?: { Id?: string; Type?: string }[]; NextToken?: string }>;
  // The policy reads: an api without them (a router's, a test's) leaves the policies not visible.
  listRoots?(input: { NextToken?: string }): Promise<{ Roots?: { Id?: string }[]; NextToken?: string }>;
  listPoliciesForTarget?(input: {
    TargetId: string;
    Filter: PolicyType;
    NextToken?: string;
  }): Promise<{ Policies?: { Id?: string; Name?: string }[]; NextToken?: string }>;
  describePolicy?(input: {
    PolicyId: string;
  }): Promise<{ Policy?: { PolicySummary?: { Id?: string; Name?: string }; Content?: string } }>;
}

/** The calls over the bare client: only these commands end up in the bundle. */
export function organizationsApi(client: OrganizationsClient): OrganizationsApi {
  return {
    describeOrganization: (input) => client.send(new DescribeOrganizationCommand(input)),
    listParents: (input) => client.send(new ListParentsCommand(input)),
    listRoots: (input) => client.send(new ListRootsCommand(input)),
    listPoliciesForTarget: (input) => client.send(new ListPoliciesForTargetCommand(input)),
    describePolicy: (input) => client.send(new DescribePolicyCommand(input)),
  };
}

const DENIED = ['AccessDeniedException'];
/** An OU tree is at most five levels below the root; more means a loop. */
const MAX_DEPTH = 8;
const POLICY_TYPES = {
  serviceControlPolicies: 'SERVICE_CONTROL_POLICY',
  resourceControlPolicies: 'RESOURCE_CONTROL_POLICY',
} as const satisfies Record<string, PolicyType>;
type PolicyField = keyof typeof POLICY_TYPES;

/**
 * The organization id and the account's path (`o-ID/r-ROOT/ou-.../`) of `accountId`:
 * `{ id: null }` when the account belongs to no organization, `{ id }` when the path is not readable,
 * null when not even the id is. Other failures throw AwsReadError. (The policies: readOrganization.)
 */
export async function readOrganizationIdentity(
  api: OrganizationsApi,
  accountId: string,
): Promise<Pick<OrganizationState, 'id' | 'path'> | null> {
  const organization = await readOrganization(api, accountId);
  if (organization === null) return null;
  return {
    id: organization.id ?? null,
    ...(organization.path !== undefined ? { path: organization.path } : {}),
  };
}

/**
 * The organization of `accountId` as far as the caller may see it: readOrganizationIdentity's id and
 * path, and `serviceControlPolicies` / `resourceControlPolicies` (one level per target from the root
 * through the OUs to the account, each policy with its id, name and target) when every listing and
 * every policy's content could be read. A type is left out (not visible) when any of its reads is
 * refused or fails, never partly filled (a missing Deny would make the diagnosis wrong). It is `[]`
 * (no organization policy of that type applies) for the management account, which SCPs and RCPs do
 * not affect, and when the type is not enabled (the root has no policy of it: once enabled, AWS keeps
 * at least one, FullAWSAccess or RCPFullAWSAccess, attached to every root, OU and account).
 */
export async function readOrganization(
  api: OrganizationsApi,
  accountId: string,
): Promise<OrganizationState | null> {
  const policies = new PolicyReads(api);
  // The account's own policies and the root's are read while the path is walked.
  policies.start(accountId);
  // Never rejects: a root that cannot be listed is read when the walk reaches it.
  void rootId(api).then((id) => {
    if (id !== null) policies.start(id);
  });
  const walk = walkUp(api, accountId, (parent) => policies.start(parent));
  // Observed at once: it may fail while DescribeOrganization is still on the wire (awaited below).
  walk.catch(() => undefined);
  const described = await awsRead(
    'organizations:DescribeOrganization',
    async () => {
      try {
        return await api.describeOrganization({});
      } catch (error) {
        // Not an error for keymend: the account is in no organization, so AWS sets no org keys.
        if ((error as Error)?.name === 'AWSOrganizationsNotInUseException')
          return { Organization: undefined };
        throw error;
      }
    },
    { notFound: DENIED },
  );
  if (described === null) return null;
  const id = described.Organization?.Id;
  if (id === undefined) return { id: null };
  const ancestors = await walk;
  if (ancestors === null) return { id };
  const state: OrganizationState = { id, path: `${id}/${ancestors.join('/')}/` };
  const management = described.Organization?.MasterAccountId === accountId;
  const targets = [...ancestors, accountId];
  for (const field of Object.keys(POLICY_TYPES) as PolicyField[]) {
    const levels = management ? [] : await policies.levels(targets, POLICY_TYPES[field]);
    if (levels !== null) state[field] = levels;
  }
  return state;
}

/**
 * The ids from the root down to the account's parent, walking ListParents upward; `onParent` hears
 * each OU as it is found. Null when not readable (a member account, another organization's account) or
 * the account is in no organization; other failures throw AwsReadError.
 */
async function walkUp(
  api: OrganizationsApi,
  accountId: string,
  onParent: (id: string) => void,
): Promise<string[] | null> {
  const ancestors: string[] = [];
  let child = accountId;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const parent = await parentOf(api, child);
    if (parent === null) return null;
    ancestors.unshift(parent.id);
    if (parent.type === 'ROOT') return ancestors;
    onParent(parent.id);
    child = parent.id;
  }
  return null;
}

async function parentOf(
  api: OrganizationsApi,
  childId: string,
): Promise<{ id: string; type: string } | null> {
  const out = await awsRead(
    `organizations:ListParents ${childId}`,
    () => api.listParents({ ChildId: childId }),
    // ChildNotFoundException: the account (or OU) is not in the organization these credentials see
    // (another organization's account): its path is not visible, as when denied. Not in an
    // organization: DescribeOrganization says so.
    { notFound: [...DENIED, 'ChildNotFoundException', 'AWSOrganizationsNotInUseException'] },
  );
  const parent = out?.Parents?.[0];
  if (!parent?.Id || !parent.Type) return null;
  return { id: parent.Id, type: parent.Type };
}

/** The organization's root id (ListRoots), or null when not readable. */
async function rootId(api: OrganizationsApi): Promise<string | null> {
  if (!api.listRoots) return null;
  try {
    const out = await api.listRoots({});
    return out.Roots?.[0]?.Id ?? null;
  } catch {
    return null;
  }
}

/** A policy as listed for a target, with its content once read; null when something could not be read. */
type Listed = { id: string; name?: string; document: unknown }[] | null;

/**
 * The SCP and RCP reads of one organization read, each made once and started early: a target's two
 * listings, and each policy's content as soon as a listing names it (a policy attached at several
 * levels, FullAWSAccess say, is described once). No read rejects: a failure is a null.
 */
class PolicyReads {
  private readonly listings = new Map<string, Promise<Listed>>();
  private readonly contents = new Map<string, Promise<unknown | null>>();

  constructor(private readonly api: OrganizationsApi) {}

  /** Starts both listings of `target` (and the contents they name), once. */
  start(target: string): void {
    for (const type of Object.values(POLICY_TYPES)) this.listing(target, type);
  }

  /** One level per target, in order; null when any listing or content could not be read. */
  async levels(targets: string[], type: PolicyType): Promise<OrganizationPolicy[][] | null> {
    const listed = await Promise.all(targets.map((target) => this.listing(target, type)));
    if (listed.some((level) => level === null)) return null;
    // The root holds none: the policy type is not enabled, and no policy of it applies.
    if ((listed[0] as NonNullable<Listed>).length === 0) return [];
    return listed.map((level, i) =>
      (level as NonNullable<Listed>).map((policy) => ({
        id: policy.id,
        ...(policy.name !== undefined ? { name: policy.name } : {}),
        target: targets[i] as string,
        document: policy.document,
      })),
    );
  }

  private listing(target: string, type: PolicyType): Promise<Listed> {
    const key = `${type} ${target}`;
    let listing = this.listings.get(key);
    if (listing === undefined) {
      listing = this.list(target, type);
      this.listings.set(key, listing);
    }
    return listing;
  }

  private async list(target: string, type: PolicyType): Promise<Listed> {
    const listPolicies = this.api.listPoliciesForTarget?.bind(this.api);
    if (!listPolicies) return null;
    try {
      const summaries = await collectPages(async (marker) => {
        const out = await listPolicies({
          TargetId: target,
          Filter: type,
          ...(marker ? { NextToken: marker } : {}),
        });
        return { items: out.Policies ?? [], next: out.NextToken };
      });
      const policies = await Promise.all(
        summaries.map(async (summary) => {
          if (!summary.Id) return null;
          const document = await this.content(summary.Id);
          if (document === null) return null;
          return { id: summary.Id, ...(summary.Name ? { name: summary.Name } : {}), document };
        }),
      );
      if (policies.some((policy) => policy === null)) return null;
      return policies as NonNullable<Listed>;
    } catch {
      // Refused (a member account), the type unknown to the service, a failure: not visible.
      return null;
    }
  }

  private content(policyId: string): Promise<unknown | null> {
    let content = this.contents.get(policyId);
    if (content === undefined) {
      const describe = this.api.describePolicy?.bind(this.api);
      content = (describe ? describe({ PolicyId: policyId }) : Promise.reject(new Error('not readable')))
        .then((out) => {
          const text = out.Policy?.Content;
          return text === undefined ? null : (JSON.parse(text) as unknown);
        })
        .catch(() => null);
      this.contents.set(policyId, content);
    }
    return content;
  }
}

/**
 * The OUs above `accountId`, nearest first (organizations:ListParents, one call per level); null when
 * Organizations does not let these credentials see them (only the management account and a delegated
 * administrator may call ListParents).
 */
export async function organizationalUnitsAbove(
  api: OrganizationsApi,
  accountId: string,
): Promise<string[] | null> {
  // walkUp's path (root first, root included) turned around, without the root.
  const ancestors = await walkUp(api, accountId, () => {});
  return ancestors === null ? null : ancestors.slice(1).reverse();
}

/**
 * How long a call Organizations refused to these credentials is not made again. Whether a role may
 * read its organization changes with IAM or a delegated administrator's registration, rarely.
 */
export const REFUSALS_REMEMBERED_MS = 15 * 60_000;
/** How many refused calls one memory holds (each names its target: an account, OU or policy). */
const REFUSALS_REMEMBERED = 1000;

/** The answer given in Organizations' place to a call it refused within REFUSALS_REMEMBERED_MS. */
export class RememberedRefusalError extends Error {
  // AccessDeniedException, as the refusal it stands for, so that every reader treats it alike.
  override readonly name = 'AccessDeniedException';
}

/**
 * The Organizations calls refused to one set of credentials' account, by operation and target, and
 * when: shared by the apis of that account's sessions (a hub opens one session per proposal).
 */
export class RefusalMemory {
  private readonly refused = new Map<string, number>();

  /** True when `key` was refused less than REFUSALS_REMEMBERED_MS before `now`. */
  refusedRecently(key: string, now: number): boolean {
    const at = this.refused.get(key);
    return at !== undefined && now - at < REFUSALS_REMEMBERED_MS;
  }

  /** Notes `key`'s refusal at `now`, forgetting the oldest past REFUSALS_REMEMBERED. */
  refusedAt(key: string, now: number): void {
    setBounded(this.refused, key, now, REFUSALS_REMEMBERED);
  }

  /** Forgets `key`: it was answered. */
  answered(key: string): void {
    this.refused.delete(key);
  }
}

/**
 * `api`, answering at once the calls Organizations refused (AccessDeniedException) within
 * REFUSALS_REMEMBERED_MS, by operation and target, without asking again. A member account may not
 * list its parents, roots or policies: without this, every new problem there would send the same
 * three or four refused calls, each an AccessDenied entry in the account's CloudTrail that a security
 * team's own alarms read. Only refusals are remembered: an answer, a throttle or a timeout is not.
 */
export function rememberingRefusals(
  api: OrganizationsApi,
  now: () => number = Date.now,
  memory: RefusalMemory = new RefusalMemory(),
): OrganizationsApi {
  const remembered =
    <I, O>(operation: string, call: (input: I) => Promise<O>, target: (input: I) => string) =>
    async (input: I): Promise<O> => {
      const key = `${operation} ${target(input)}`;
      if (memory.refusedRecently(key, now())) {
        throw new RememberedRefusalError(
          `organizations:${operation} was refused less than ${REFUSALS_REMEMBERED_MS / 60_000} minutes ago; not asked again yet`,
        );
      }
      try {
        const out = await call(input);
        memory.answered(key);
        return out;
      } catch (error) {
        if ((error as Error)?.name === 'AccessDeniedException') memory.refusedAt(key, now());
        throw error;
      }
    };
  const { listRoots, listPoliciesForTarget, describePolicy } = api;
  return {
    describeOrganization: remembered(
      'DescribeOrganization',
      (input) => api.describeOrganization(input),
      () => '',
    ),
    listParents: remembered(
      'ListParents',
      (input) => api.listParents(input),
      (input) => input.ChildId,
    ),
    ...(listRoots
      ? {
          listRoots: remembered(
            'ListRoots',
            (input) => listRoots.call(api, input),
            () => '',
          ),
        }
      : {}),
    ...(listPoliciesForTarget
      ? {
          listPoliciesForTarget: remembered(
            'ListPoliciesForTarget',
            (input) => listPoliciesForTarget.call(api, input),
            (input) => `${input.TargetId} ${input.Filter}`,
          ),
        }
      : {}),
    ...(describePolicy
      ? {
          describePolicy: remembered(
            'DescribePolicy',
            (input) => describePolicy.call(api, input),
            (input) => input.PolicyId,
          ),
        }
      : {}),
  };
}

/** How long the OUs above an account are remembered: accounts rarely move between OUs. */
export const UNITS_REMEMBERED_MS = 15 * 60_000;
/**
 * How many accounts' OUs one router remembers: it lives as long as a warm environment, and a large
 * organization sends problems from thousands of accounts; past this, the longest unread goes first.
 */
export const UNITS_REMEMBERED_ACCOUNTS = 1000;

/**
 * The routing map's router over Organizations (ports.ts NotificationRouter). An account routed by
 * itself needs no call; otherwise, only when the map names OUs, the OUs above the account are read
 * with ListParents (which keymend's roles already hold for aws:PrincipalOrgPaths, infra/iam.ts
 * `ReadOrganization`) and remembered for UNITS_REMEMBERED_MS, unreadable ones too, so a storm of new
 * problems in one account costs one walk up its OUs per quarter hour. Never throws.
 */
export class OrganizationRouter implements NotificationRouter {
  private readonly units = new Map<string, { at: number; units: string[] | null }>();

  constructor(
    private readonly routes: readonly NotificationRoute[],
    private readonly api: OrganizationsApi,
    private readonly now: () => number = Date.now,
    private readonly onUnreadable: (accountId: string, why: string) => void = () => {},
  ) {}

  async routeOf(accountId: string): Promise<string | null> {
    if (this.routes.length === 0) return null;
    if (routesName(this.routes, accountId) || !routesNeedUnits(this.routes)) {
      return routeFor(this.routes, accountId, null)?.key ?? null;
    }
    return routeFor(this.routes, accountId, await this.unitsAbove(accountId))?.key ?? null;
  }

  private async unitsAbove(accountId: string): Promise<string[] | null> {
    const now = this.now();
    const known = this.units.get(accountId);
    if (known !== undefined && now - known.at < UNITS_REMEMBERED_MS) return known.units;
    let units: string[] | null;
    try {
      units = await organizationalUnitsAbove(this.api, accountId);
      if (units === null) this.onUnreadable(accountId, 'organizations:ListParents is not allowed here');
    } catch (error) {
      units = null;
      this.onUnreadable(
        accountId,
        error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      );
    }
    setBounded(this.units, accountId, { at: now, units }, UNITS_REMEMBERED_ACCOUNTS);
    return units;
  }
}
