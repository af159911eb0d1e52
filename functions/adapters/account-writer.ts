/**
 * Every write keymend can make to an AWS account, in one file, so that it can be audited against the
 * IAM permissions infra/ gives keymend: kms:CreateGrant (after kms:ListGrants), kms:RetireGrant (after
 * kms:ListGrants; authorized by the grant, whose retiring principal is the approval role), iam:PutRolePolicy / iam:PutUserPolicy, iam:DeleteRolePolicy / iam:DeleteUserPolicy, kms:GetKeyPolicy
 * and kms:PutKeyPolicy. Each write is idempotent, so a retry after a crash never writes twice.
 * Retries of throttled calls are the SDK's own (the clients are built with `clientConfig()`).
 */
import {
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  type IAMClient,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateGrantCommand,
  GetKeyPolicyCommand,
  type GrantListEntry,
  type KMSClient,
  ListGrantsCommand,
  type ListGrantsCommandOutput,
  PutKeyPolicyCommand,
  RetireGrantCommand,
} from '@aws-sdk/client-kms';
import { type PrincipalArn, parsePrincipalArn } from '../commons/arn';
import { InputError, KeymendError, NotKeymendsChangeError } from '../commons/errors';
import type { AccountWriter, ExpectedGrant } from '../core/ports';

/** A write to AWS failed (access denied, throttled past the SDK's retries, a malformed answer). */
export class AccountWriteError extends KeymendError {
  override readonly name: string = 'AccountWriteError';
}

/** KMS has one key policy name. */
const KEY_POLICY_NAME = 'default';
/** ListGrants returns at most 100 grants per page. */
const LIST_GRANTS_LIMIT = 100;
/** A key has at most 50,000 grants: 500 pages is the end of any real listing. */
const MAX_GRANT_PAGES = 500;
const IAM_NOT_FOUND = ['NoSuchEntityException', 'NoSuchEntity'];

export interface AwsAccountWriterOptions {
  kms: KMSClient;
  iam: IAMClient;
  /** The retiring principal of every grant keymend creates: the approval function's role ARN. */
  retiringPrincipal: string;
  /**
   * The KMS client RetireGrant is sent with, when it is not `kms`: in a member account of an
   * organization, the grant names the hub's approval role as retiring principal, so the hub's own
   * credentials retire it (RetireGrant works across accounts with the key ARN), while the member
   * session lists the grants. @default kms
   */
  retireKms?: KMSClient;
}

type CreateGrantArgs = Parameters<AccountWriter['createGrant']>[0];

/** The AccountWriter over KMS and IAM clients of the account keymend runs in. */
export class AwsAccountWriter implements AccountWriter {
  private readonly kms: KMSClient;
  private readonly retireKms: KMSClient;
  private readonly iam: IAMClient;
  private readonly retiringPrincipal: string;

  constructor(options: AwsAccountWriterOptions) {
    this.kms = options.kms;
    this.retireKms = options.retireKms ?? options.kms;
    this.iam = options.iam;
    this.retiringPrincipal = options.retiringPrincipal;
  }

  /**
   * Lists the grantee's grants on the key first (every page) and returns an existing grant of the same
   * name, grantee, operations and constraints; only when there is none, CreateGrant with a `Name`. KMS
   * also answers a CreateGrant repeated with the same name and parameters with the existing grant's id
   * (CreateGrant, `Name`: https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html),
   * which covers a grant too new to be listed yet (KMS is eventually consistent).
   */
  async createGrant(args: CreateGrantArgs): Promise<{ grantId: string; created: boolean }> {
    const existing = (await this.listGrants(args.keyArn, { grantee: args.granteePrincipal })).find((grant) =>
      sameGrant(grant, args, this.retiringPrincipal),
    );
    if (existing?.GrantId) return { grantId: existing.GrantId, created: false };
    const out = await this.call(`kms:CreateGrant ${args.keyArn}`, () =>
      this.kms.send(
        new CreateGrantCommand({
          KeyId: args.keyArn,
          Name: args.name,
          GranteePrincipal: args.granteePrincipal,
          Operations: args.operations as CreateGrantCommand['input']['Operations'],
          Constraints: { EncryptionContextSubset: { ...args.encryptionContextSubset } },
          RetiringPrincipal: this.retiringPrincipal,
        }),
      ),
    );
    if (!out.GrantId) throw new AccountWriteError(`kms:CreateGrant ${args.keyArn} returned no GrantId`);
    return { grantId: out.GrantId, created: true };
  }

  /**
   * Retires keymend's grant with RetireGrant, never RevokeGrant. RetireGrant is authorized by the grant
   * itself: its retiring principal (the approval function's role, named at CreateGrant) may retire it
   * with no IAM permission, and keymend's roles hold no kms:RevokeGrant, which would let them delete any
   * grant of any key (https://docs.aws.amazon.com/kms/latest/APIReference/API_RetireGrant.html,
   * https://docs.aws.amazon.com/kms/latest/developerguide/grant-delete.html).
   * First ListGrants (filtered on the grant id): the grant must be keymend's, as recorded (name,
   * grantee, operations, constraint, retiring principal), or nothing is retired. A grant that is gone
   * already (not listed, or NotFoundException) counts as retired.
   */
  async retireGrant(args: { keyArn: string; grantId: string; expected: ExpectedGrant }): Promise<void> {
    const listed = (await this.listGrants(args.keyArn, { grantId: args.grantId })).find(
      (grant) => grant.GrantId === args.grantId,
    );
    if (listed === undefined) return;
    const mismatch = grantMismatch(listed, args.expected, this.retiringPrincipal);
    if (mismatch !== undefined) {
      throw new NotKeymendsChangeError(
        `grant ${args.grantId} on ${args.keyArn} is not the one keymend created: its ${mismatch} differs`,
      );
    }
    await this.call(
      `kms:RetireGrant ${args.keyArn} ${args.grantId}`,
      () => this.retireKms.send(new RetireGrantCommand({ KeyId: args.keyArn, GrantId: args.grantId })),
      ['NotFoundException'],
    );
  }

  /** PutRolePolicy or PutUserPolicy (by the ARN's kind, with the name from the ARN): a retry overwrites. */
  async putPrincipalPolicy(args: {
    principalArn: string;
    policyName: string;
    document: string;
  }): Promise<void> {
    const principal = principalOf(args.principalArn);
    const what = `iam:Put${principal.kind === 'role' ? 'Role' : 'User'}Policy ${principal.name}/${args.policyName}`;
    await this.call(what, () =>
      principal.kind === 'role'
        ? this.iam.send(
            new PutRolePolicyCommand({
              RoleName: principal.name,
              PolicyName: args.policyName,
              PolicyDocument: args.document,
            }),
          )
        : this.iam.send(
            new PutUserPolicyCommand({
              UserName: principal.name,
              PolicyName: args.policyName,
              PolicyDocument: args.document,
            }),
          ),
    );
  }

  /** DeleteRolePolicy or DeleteUserPolicy; a policy (or principal) that is gone already is success. */
  async deletePrincipalPolicy(args: { principalArn: string; policyName: string }): Promise<void> {
    const principal = principalOf(args.principalArn);
    const what = `iam:Delete${principal.kind === 'role' ? 'Role' : 'User'}Policy ${principal.name}/${args.policyName}`;
    await this.call(
      what,
      () =>
        principal.kind === 'role'
          ? this.iam.send(
              new DeleteRolePolicyCommand({ RoleName: principal.name, PolicyName: args.policyName }),
            )
          : this.iam.send(
              new DeleteUserPolicyCommand({ UserName: principal.name, PolicyName: args.policyName }),
            ),
      IAM_NOT_FOUND,
    );
  }

  /** The key policy's text as KMS stores it now (GetKeyPolicy, policy name `default`). */
  async getKeyPolicy(keyArn: string): Promise<string> {
    const out = await this.call(`kms:GetKeyPolicy ${keyArn}`, () =>
      this.kms.send(new GetKeyPolicyCommand({ KeyId: keyArn, PolicyName: KEY_POLICY_NAME })),
    );
    if (out?.Policy === undefined)
      throw new AccountWriteError(`kms:GetKeyPolicy ${keyArn} returned no Policy`);
    return out.Policy;
  }

  /**
   * PutKeyPolicy with the safety check on: `BypassPolicyLockoutSafetyCheck` is always false, so KMS
   * refuses a policy that would lock keymend's caller out of the key.
   */
  async putKeyPolicy(args: { keyArn: string; policy: string }): Promise<void> {
    await this.call(`kms:PutKeyPolicy ${args.keyArn}`, () =>
      this.kms.send(
        new PutKeyPolicyCommand({
          KeyId: args.keyArn,
          PolicyName: KEY_POLICY_NAME,
          Policy: args.policy,
          BypassPolicyLockoutSafetyCheck: false,
        }),
      ),
    );
  }

  /** The key's grants for the grantee, or of the one id, every page. */
  private async listGrants(
    keyArn: string,
    filter: { grantee?: string; grantId?: string },
  ): Promise<GrantListEntry[]> {
    const grants: GrantListEntry[] = [];
    let marker: string | undefined;
    for (let page = 0; page < MAX_GRANT_PAGES; page++) {
      const out: ListGrantsCommandOutput = await this.call(`kms:ListGrants ${keyArn}`, () =>
        this.kms.send(
          new ListGrantsCommand({
            KeyId: keyArn,
            GranteePrincipal: filter.grantee,
            GrantId: filter.grantId,
            Limit: LIST_GRANTS_LIMIT,
            Marker: marker,
          }),
        ),
      );
      grants.push(...(out.Grants ?? []));
      if (!out.Truncated || !out.NextMarker) return grants;
      marker = out.NextMarker;
    }
    throw new AccountWriteError(`kms:ListGrants ${keyArn} did not end after ${MAX_GRANT_PAGES} pages`);
  }

  /** Runs one call; an error named in `gone` means the thing is gone already (the call's goal). */
  private async call<T>(what: string, send: () => Promise<T>, gone: readonly string[] = []): Promise<T> {
    try {
      return await send();
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      if (gone.includes(name)) return undefined as T;
      const message = error instanceof Error ? error.message : String(error);
      throw new AccountWriteError(`${what} failed: ${name}: ${message}`, { cause: error });
    }
  }
}

/** The principal an inline policy is for; anything but a role or user ARN is refused before any call. */
function principalOf(arn: string): PrincipalArn {
  const principal = parsePrincipalArn(arn);
  if (!principal) throw new InputError(`not a role or user ARN: ${JSON.stringify(arn)}`);
  return principal;
}

/** The listed grant is the one asked for: same name, grantee, operations, constraints, retiring principal. */
function sameGrant(grant: GrantListEntry, args: CreateGrantArgs, retiringPrincipal: string): boolean {
  return grantMismatch(grant, args, retiringPrincipal) === undefined;
}

/** The first field in which the listed grant differs from keymend's, or undefined when it is keymend's. */
function grantMismatch(
  grant: GrantListEntry,
  expected: ExpectedGrant,
  retiringPrincipal: string,
): string | undefined {
  if (grant.Name !== expected.name) return 'name';
  if (grant.GranteePrincipal !== expected.granteePrincipal) return 'grantee';
  const operations = [...(grant.Operations ?? [])].sort();
  const wanted = [...expected.operations].sort();
  if (operations.length !== wanted.length || operations.some((op, i) => op !== wanted[i])) {
    return 'operations';
  }
  // KMS reads an empty constraint map as no constraint.
  const equals = grant.Constraints?.EncryptionContextEquals ?? {};
  if (Object.keys(equals).length > 0) return 'constraint';
  if (!sameMap(grant.Constraints?.EncryptionContextSubset ?? {}, expected.encryptionContextSubset)) {
    return 'constraint';
  }
  if (grant.RetiringPrincipal !== retiringPrincipal) return 'retiring principal';
  return undefined;
}

function sameMap(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
