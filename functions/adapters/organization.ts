/**
 * Reads, read-only, what the condition keys aws:PrincipalOrgID/OrgPaths and aws:ResourceOrgID/OrgPaths
 * need: the organization's id (organizations:DescribeOrganization, callable from any member account) and
 * the account's path from the root (organizations:ListParents, management account or delegated
 * administrator only). Where permissions stop, it degrades to "not visible", as for SCPs.
 *
 * The reader takes any object with these two methods; `organizationsApi(client)` makes one over the
 * bare OrganizationsClient (not the aggregated `Organizations` class, which bundles every command).
 */
import {
  DescribeOrganizationCommand,
  ListParentsCommand,
  type OrganizationsClient,
} from '@aws-sdk/client-organizations';
import type { OrganizationState } from '../core/account';
import type { NotificationRouter } from '../core/ports';
import { type NotificationRoute, routeFor, routesName, routesNeedUnits } from '../core/routing';
import { awsRead } from './aws-read';

/** The two Organizations calls keymend makes, shaped as the SDK's aggregated client has them. */
export interface OrganizationsApi {
  describeOrganization(input: Record<string, never>): Promise<{ Organization?: { Id?: string } }>;
  listParents(input: {
    ChildId: string;
    NextToken?: string;
  }): Promise<{ Parents?: { Id?: string; Type?: string }[]; NextToken?: string }>;
}

/** The two calls over the bare client: only these commands end up in the bundle. */
export function organizationsApi(client: OrganizationsClient): OrganizationsApi {
  return {
    describeOrganization: (input) => client.send(new DescribeOrganizationCommand(input)),
    listParents: (input) => client.send(new ListParentsCommand(input)),
  };
}

const DENIED = ['AccessDeniedException'];
/** An OU tree is at most five levels below the root; more means a loop. */
const MAX_DEPTH = 8;

/**
 * The organization id and the account's path (`o-ID/r-ROOT/ou-.../`) of `accountId`:
 * `{ id: null }` when the account belongs to no organization, `{ id }` when the path is not readable,
 * null when not even the id is. Other failures throw AwsReadError.
 */
export async function readOrganizationIdentity(
  api: OrganizationsApi,
  accountId: string,
): Promise<Pick<OrganizationState, 'id' | 'path'> | null> {
  // The path does not need the organization's id: its first ListParents goes out with
  // DescribeOrganization (one round trip where the two in turn take two); its answer counts only
  // when the account is in an organization this reader may see.
  const path = ancestorsOf(api, accountId);
  path.catch(() => {});
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
  const ancestors = await path;
  return ancestors === null ? { id } : { id, path: `${id}/${ancestors.join('/')}/` };
}

/** The ids from the root down to `accountId`'s parent; null when a step is not readable. */
async function ancestorsOf(api: OrganizationsApi, accountId: string): Promise<string[] | null> {
  const ancestors: string[] = [];
  let child = accountId;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const parent = await parentOf(api, child);
    if (parent === null) return null;
    ancestors.unshift(parent.id);
    if (parent.type === 'ROOT') return ancestors;
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
    // (another organization's account): its path is not visible, as when denied.
    { notFound: [...DENIED, 'ChildNotFoundException'] },
  );
  const parent = out?.Parents?.[0];
  if (!parent?.Id || !parent.Type) return null;
  return { id: parent.Id, type: parent.Type };
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
  const units: string[] = [];
  let child = accountId;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const parent = await parentOf(api, child);
    if (parent === null) return null;
    if (parent.type === 'ROOT') return units;
    units.push(parent.id);
    child = parent.id;
  }
  return null;
}

/** How long the OUs above an account are remembered: accounts rarely move between OUs. */
export const UNITS_REMEMBERED_MS = 15 * 60_000;

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
    this.units.set(accountId, { at: now, units });
    return units;
  }
}
