/**
 * Reads an IAM role's or user's policies, read-only: inline and managed policies (each at its
 * default version), a user's group policies, the permissions boundary and the tags.
 */
import {
  type AttachedPolicy,
  GetGroupPolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  type IAMClient,
  ListAccountAliasesCommand,
  ListAttachedGroupPoliciesCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupPoliciesCommand,
  ListGroupsForUserCommand,
  ListRolePoliciesCommand,
  ListUserPoliciesCommand,
  type Tag,
} from '@aws-sdk/client-iam';
import { parsePrincipalArn } from '../commons/arn';
import { setBounded } from '../commons/bounded-map';
import { deepFreeze } from '../commons/freeze';
import type { PolicyDocumentJson, PrincipalState } from '../core/account';
import {
  AwsReadError,
  awsRead,
  awsReadRequired,
  collectPages,
  decodePolicyDocument,
  mapConcurrent,
} from './aws-read';

/**
 * The documents of managed policy versions read in this execution environment. A version never
 * changes (IAM makes a new version for every edit, and a policy deleted and created again under the
 * same name has a new PolicyId), so a document kept under its policy's ARN, PolicyId and version id
 * is the one IAM enforces whenever GetPolicy names that version as the default: GetPolicy is still
 * asked every time, GetPolicyVersion only for a version not seen yet. Safe to share between readers,
 * accounts and events; at most `limit` documents are kept (the least recently used is dropped).
 */
export class PolicyVersionCache {
  private readonly documents = new Map<string, PolicyDocumentJson>();

  constructor(private readonly limit = 500) {}

  get(key: string): PolicyDocumentJson | undefined {
    const document = this.documents.get(key);
    if (document !== undefined) {
      this.documents.delete(key);
      this.documents.set(key, document);
    }
    return document;
  }

  set(key: string, document: PolicyDocumentJson): void {
    setBounded(this.documents, key, deepFreeze(document), this.limit);
  }

  get size(): number {
    return this.documents.size;
  }
}

export interface ReadPrincipalOptions {
  /** Managed policy versions already read (PolicyVersionCache): GetPolicyVersion is skipped for them. */
  policyVersions?: PolicyVersionCache;
}

/** Parallel IAM calls per principal. Enough for the usual handful of policies, gentle on IAM. */
const IAM_CONCURRENCY = 4;
const NOT_FOUND = ['NoSuchEntityException', 'NoSuchEntity'];

/**
 * The policies of the role or user `arn` (a role ARN with its path, or a user ARN), or null when
 * IAM has no such principal. A user's groups' policies count for the user, so they are folded in:
 * managed ones by ARN, inline ones named `group/GROUP/POLICY`. The principal is looked up by name and must come back with exactly
 * `arn`: a role of that name under another path, or with a name differing in case, is someone
 * else as far as the request is concerned (IAM names are unique regardless of case).
 *
 * @throws AwsReadError when IAM refuses or fails (after the SDK's retries), or a policy changes while read.
 */
export async function readIamPrincipal(
  iam: IAMClient,
  arn: string,
  options: ReadPrincipalOptions = {},
): Promise<PrincipalState | null> {
  const parsed = parsePrincipalArn(arn);
  if (!parsed) return null;
  const name = parsed.name;
  const api = parsed.kind === 'role' ? roleApi(iam, name) : userApi(iam, name);
  const missingIsNull = { notFound: NOT_FOUND };

  // Listing a missing principal fails with NoSuchEntity too; then the Get answers null.
  const entityRead = awsRead(`iam:Get${api.kind} ${name}`, api.get, missingIsNull);
  const inlineNamesRead = awsRead(
    `iam:List${api.kind}Policies ${name}`,
    () => collectPages(api.listInline),
    missingIsNull,
  );
  const attachedRead = awsRead(
    `iam:ListAttached${api.kind}Policies ${name}`,
    () => collectPages(api.listAttached),
    missingIsNull,
  );
  const groupsRead =
    parsed.kind === 'user'
      ? awsRead(`iam:ListGroupsForUser ${name}`, () => collectPages(listGroupsPage(iam, name)), missingIsNull)
      : Promise.resolve([]);
  // Each document is read as soon as what names it is known, not once every list has answered: the
  // inline ones after their list, the boundary after the Get, managed ones after their attachment
  // list (a policy attached twice, or also the boundary, is read once).
  const managedOnce = new Map<string, Promise<PolicyDocumentJson>>();
  const readManaged = (policyArn: string) => {
    let read = managedOnce.get(policyArn);
    if (!read) {
      read = readManagedPolicy(iam, policyArn, options.policyVersions);
      managedOnce.set(policyArn, read);
    }
    return read;
  };
  const inlineRead = inlineNamesRead.then((names) =>
    mapConcurrent(names ?? [], IAM_CONCURRENCY, async (policyName) => {
      const what = `iam:Get${api.kind}Policy ${name}/${policyName}`;
      return [policyName, await readInlineDocument(what, () => api.getInline(policyName))] as const;
    }),
  );
  const boundaryRead = entityRead.then((entity) =>
    entity?.boundaryArn ? readManaged(entity.boundaryArn) : undefined,
  );
  const groupPoliciesRead = groupsRead.then((groups) =>
    mapConcurrent(groups ?? [], IAM_CONCURRENCY, (group) => readGroupPolicies(iam, group)),
  );
  const attachedDocumentsRead = attachedRead.then((arns) =>
    mapConcurrent(
      arns ?? [],
      IAM_CONCURRENCY,
      async (policyArn) => [policyArn, await readManaged(policyArn)] as const,
    ),
  );
  // Not awaited when the principal turns out to be missing or someone else: no unhandled rejection.
  for (const read of [inlineRead, boundaryRead, groupPoliciesRead, attachedDocumentsRead])
    read.catch(() => {});

  const [entity, inlineNames, attached, groups] = await Promise.all([
    entityRead,
    inlineNamesRead,
    attachedRead,
    groupsRead,
  ]);
  if (!entity || entity.arn !== arn || !inlineNames || !attached || !groups) return null;

  const [inline, groupPolicies, boundary, attachedDocuments] = await Promise.all([
    inlineRead,
    groupPoliciesRead,
    boundaryRead,
    attachedDocumentsRead,
  ]);
  // A policy attached both to the user and to one of its groups is one document: read it once.
  const groupManaged = await mapConcurrent(
    [...new Set(groupPolicies.flatMap((g) => g.attached))].filter((a) => !attached.includes(a)),
    IAM_CONCURRENCY,
    async (policyArn) => [policyArn, await readManaged(policyArn)] as const,
  );
  const managed = [...attachedDocuments, ...groupManaged];

  const principal: PrincipalState = {
    arn,
    inlinePolicies: Object.fromEntries([...inline, ...groupPolicies.flatMap((g) => g.inline)]),
    managedPolicies: Object.fromEntries(managed),
  };
  if (boundary !== undefined) principal.permissionsBoundary = boundary;
  if (entity.tags.length > 0) {
    principal.tags = Object.fromEntries(entity.tags.map((t) => [t.Key ?? '', t.Value ?? '']));
  }
  return principal;
}

/**
 * A group's inline policies, named `group/GROUP/POLICY` (IAM names cannot contain `/`, so these
 * never collide with the user's own), and the ARNs of its managed policies.
 */
async function readGroupPolicies(
  iam: IAMClient,
  GroupName: string,
): Promise<{ inline: (readonly [string, PolicyDocumentJson])[]; attached: string[] }> {
  const [names, attached] = await Promise.all([
    awsReadRequired(`iam:ListGroupPolicies ${GroupName}`, () =>
      collectPages(async (Marker) => {
        const out = await iam.send(new ListGroupPoliciesCommand({ GroupName, Marker }));
        return { items: out.PolicyNames ?? [], next: out.IsTruncated ? out.Marker : undefined };
      }),
    ),
    awsReadRequired(`iam:ListAttachedGroupPolicies ${GroupName}`, () =>
      collectPages(async (Marker) => {
        const out = await iam.send(new ListAttachedGroupPoliciesCommand({ GroupName, Marker }));
        return { items: policyArns(out.AttachedPolicies), next: out.IsTruncated ? out.Marker : undefined };
      }),
    ),
  ]);
  const inline = await mapConcurrent(names, IAM_CONCURRENCY, async (PolicyName) => {
    const what = `iam:GetGroupPolicy ${GroupName}/${PolicyName}`;
    const read = async () =>
      (await iam.send(new GetGroupPolicyCommand({ GroupName, PolicyName }))).PolicyDocument;
    return [`group/${GroupName}/${PolicyName}`, await readInlineDocument(what, read)] as const;
  });
  return { inline, attached };
}

async function readInlineDocument(
  what: string,
  read: () => Promise<string | undefined>,
): Promise<PolicyDocumentJson> {
  const document = await awsReadRequired(what, read);
  if (document === undefined) throw new AwsReadError(`${what} returned no PolicyDocument`);
  return decodePolicyDocument(document, what);
}

function listGroupsPage(iam: IAMClient, UserName: string) {
  return async (Marker: string | undefined) => {
    const out = await iam.send(new ListGroupsForUserCommand({ UserName, Marker }));
    return {
      items: (out.Groups ?? []).flatMap((g) => (g.GroupName ? [g.GroupName] : [])),
      next: out.IsTruncated ? out.Marker : undefined,
    };
  };
}

function policyArns(attached: AttachedPolicy[] | undefined): string[] {
  return (attached ?? []).flatMap((p) => (p.PolicyArn ? [p.PolicyArn] : []));
}

/**
 * The document of a managed policy's default version (the one IAM enforces): GetPolicy for the
 * version id, then GetPolicyVersion, unless `versions` holds that version already. Works for AWS
 * managed policies (`arn:aws:iam::aws:policy/...`).
 *
 * @throws AwsReadError also when the policy is gone: it was attached a moment ago, and evaluating
 * without it could drop a Deny.
 */
export async function readManagedPolicy(
  iam: IAMClient,
  policyArn: string,
  versions?: PolicyVersionCache,
): Promise<PolicyDocumentJson> {
  const policy = await awsReadRequired(`iam:GetPolicy ${policyArn}`, () =>
    iam.send(new GetPolicyCommand({ PolicyArn: policyArn })),
  );
  const versionId = policy.Policy?.DefaultVersionId;
  if (!versionId) throw new AwsReadError(`iam:GetPolicy ${policyArn} returned no DefaultVersionId`);
  // Without a PolicyId a version cannot be told from one of a policy of the same name deleted before.
  const policyId = policy.Policy?.PolicyId;
  const key = policyId ? `${policyArn} ${policyId} ${versionId}` : undefined;
  const known = key === undefined ? undefined : versions?.get(key);
  if (known !== undefined) return known;
  const what = `iam:GetPolicyVersion ${policyArn} ${versionId}`;
  const version = await awsReadRequired(what, () =>
    iam.send(new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: versionId })),
  );
  const document = version.PolicyVersion?.Document;
  if (document === undefined) throw new AwsReadError(`${what} returned no Document`);
  const decoded = decodePolicyDocument(document, what);
  if (key !== undefined) versions?.set(key, decoded);
  return decoded;
}

interface Entity {
  arn: string | undefined;
  boundaryArn: string | undefined;
  tags: Tag[];
}

interface PrincipalApi {
  kind: 'Role' | 'User';
  get(): Promise<Entity>;
  listInline(marker: string | undefined): Promise<{ items: string[]; next: string | undefined }>;
  listAttached(marker: string | undefined): Promise<{ items: string[]; next: string | undefined }>;
  getInline(name: string): Promise<string | undefined>;
}

// Roles and users have the same calls under different names; this keeps one reading algorithm.
function roleApi(iam: IAMClient, RoleName: string): PrincipalApi {
  return {
    kind: 'Role',
    get: async () => {
      const { Role } = await iam.send(new GetRoleCommand({ RoleName }));
      return {
        arn: Role?.Arn,
        boundaryArn: Role?.PermissionsBoundary?.PermissionsBoundaryArn,
        tags: Role?.Tags ?? [],
      };
    },
    listInline: async (Marker) => {
      const out = await iam.send(new ListRolePoliciesCommand({ RoleName, Marker }));
      return { items: out.PolicyNames ?? [], next: out.IsTruncated ? out.Marker : undefined };
    },
    listAttached: async (Marker) => {
      const out = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName, Marker }));
      return {
        items: policyArns(out.AttachedPolicies),
        next: out.IsTruncated ? out.Marker : undefined,
      };
    },
    getInline: async (PolicyName) =>
      (await iam.send(new GetRolePolicyCommand({ RoleName, PolicyName }))).PolicyDocument,
  };
}

function userApi(iam: IAMClient, UserName: string): PrincipalApi {
  return {
    kind: 'User',
    get: async () => {
      const { User } = await iam.send(new GetUserCommand({ UserName }));
      return {
        arn: User?.Arn,
        boundaryArn: User?.PermissionsBoundary?.PermissionsBoundaryArn,
        tags: User?.Tags ?? [],
      };
    },
    listInline: async (Marker) => {
      const out = await iam.send(new ListUserPoliciesCommand({ UserName, Marker }));
      return { items: out.PolicyNames ?? [], next: out.IsTruncated ? out.Marker : undefined };
    },
    listAttached: async (Marker) => {
      const out = await iam.send(new ListAttachedUserPoliciesCommand({ UserName, Marker }));
      return {
        items: policyArns(out.AttachedPolicies),
        next: out.IsTruncated ? out.Marker : undefined,
      };
    },
    getInline: async (PolicyName) =>
      (await iam.send(new GetUserPolicyCommand({ UserName, PolicyName }))).PolicyDocument,
  };
}

/**
 * The account's alias (iam:ListAccountAliases; an account has at most one), for subjects people triage
 * by; null when it has none or this reader may not read it (the alias is for people: never an error).
 */
export async function readAccountAlias(iam: IAMClient): Promise<string | null> {
  try {
    const out = await awsRead('iam:ListAccountAliases', () => iam.send(new ListAccountAliasesCommand({})));
    const alias = out?.AccountAliases?.[0];
    return typeof alias === 'string' && /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(alias) ? alias : null;
  } catch (error) {
    if (error instanceof AwsReadError) return null;
    throw error;
  }
}
