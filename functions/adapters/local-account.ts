/**
 * An account in memory, for `keymend local`, the demo and the tests: reads are served from a snapshot
 * (the same SnapshotReader the CLI uses), and every write keymend can make changes the snapshot as AWS
 * would change the account. `stats()` counts the AWS API calls each read and write stands for, as the
 * real reader (aws-account.ts) and writer (account-writer.ts) would make them.
 */
import { createHash } from 'node:crypto';
import {
  isAliasName,
  isKeyId,
  parseAliasArn,
  parseKeyArn,
  parsePrincipalArn,
  parseStreamArn,
} from '../commons/arn';
import { InputError, NotKeymendsChangeError } from '../commons/errors';
import { deepFreeze } from '../commons/freeze';
import type {
  AccountReader,
  AccountSnapshot,
  KeyState,
  OrganizationState,
  PrincipalState,
  StreamState,
} from '../core/account';
import type { AccountWriter, ExpectedGrant } from '../core/ports';
import { canonicalJson } from '../core/proposal';
import { AccountWriteError } from './account-writer';
import { parseSnapshot, SnapshotReader } from './snapshot';

/** ListGrants pages hold 100 grants (keymend asks for 100); ListAliases 50; IAM lists 100. */
const GRANTS_PER_PAGE = 100;
const ALIASES_PER_PAGE = 50;
const IAM_ITEMS_PER_PAGE = 100;
/** IAM policy names: letters, digits and +=,.@_-, up to 128 characters. */
const IAM_POLICY_NAME = /^[\w+=,.@-]{1,128}$/;
/** KMS refuses grant and policy writes in these key states (KMSInvalidStateException). */
const UNWRITABLE_KEY_STATES = new Set(['PendingDeletion', 'PendingReplicaDeletion', 'Unavailable']);

type CreateGrantArgs = Parameters<AccountWriter['createGrant']>[0];

/** The role `keymend local` acts as: the stand-in for the approval function's role, under keymend's path. */
export function localApprovalRoleArn(accountId: string): string {
  return `arn:aws:iam::${accountId}:role/keymend/keymend-local-approval`;
}

/**
 * An AccountReader and AccountWriter over one snapshot. Reads return deep-frozen state (clone before
 * changing it); each write replaces the state with a changed, re-validated copy, so state read before a
 * write stays what it was, as a read from AWS would.
 */
export class LocalAccount implements AccountReader, AccountWriter {
  readonly accountId: string;
  readonly region: string;
  private state: AccountSnapshot;
  private reader: SnapshotReader;
  /** The key policy texts as last written (KMS returns a policy as it was put), by key ARN. */
  private readonly policyTexts = new Map<string, { text: string; policy: string }>();
  private readonly calls = new Map<string, number>();
  private grantSequence = 0;
  /**
   * Who makes the writes, and so the retiring principal of the grants it creates: as in AWS, only that
   * principal may retire them (RetireGrant is authorized by the grant).
   */
  readonly caller: string;

  /**
   * @param options.caller the role keymend's writes come from. @default localApprovalRoleArn(accountId)
   * @throws SnapshotError when `snapshot` is not a valid snapshot.
   */
  constructor(snapshot: AccountSnapshot, options: { caller?: string } = {}) {
    this.state = deepFreeze(parseSnapshot(structuredClone(snapshot)));
    this.reader = new SnapshotReader(this.state);
    this.accountId = this.state.accountId;
    this.region = this.state.region;
    this.caller = options.caller ?? localApprovalRoleArn(this.accountId);
  }

  /** The account now, in the snapshot format (a copy). */
  snapshot(): AccountSnapshot {
    return structuredClone(this.state);
  }

  /** The AWS API calls made so far, by `service:Action`, e.g. `{"iam:GetRole": 3, "kms:ListGrants": 3}`. */
  stats(): Record<string, number> {
    return Object.fromEntries([...this.calls].sort(([a], [b]) => a.localeCompare(b)));
  }

  /**
   * Changes the account behind keymend's back, as a person in the console would (not counted in
   * `stats`): `change` edits a copy of the snapshot, which must stay valid.
   */
  modify(change: (draft: AccountSnapshot) => void): void {
    const draft = structuredClone(this.state);
    change(draft);
    this.replace(parseSnapshot(draft));
  }

  // -------------------------------------------------------------------------------------------
  // AccountReader

  /**
   * The real reader: GetRole (GetUser, ListGroupsForUser), the inline and attached policy listings,
   * one GetRolePolicy per inline policy, GetPolicy + GetPolicyVersion per managed policy and boundary.
   */
  async getPrincipal(arn: string): Promise<PrincipalState | null> {
    const parsed = parsePrincipalArn(arn);
    if (!parsed || parsed.accountId !== this.accountId) return null;
    const kind = parsed.kind === 'role' ? 'Role' : 'User';
    const principal = await this.reader.getPrincipal(arn);
    this.count(`iam:Get${kind}`);
    if (!principal) {
      // The listings run alongside GetRole/GetUser and fail with it.
      this.count(`iam:List${kind}Policies`);
      this.count(`iam:ListAttached${kind}Policies`);
      if (kind === 'User') this.count('iam:ListGroupsForUser');
      return null;
    }
    const names = Object.keys(principal.inlinePolicies);
    const own = names.filter((name) => !name.startsWith('group/'));
    this.count(`iam:List${kind}Policies`, pages(own.length, IAM_ITEMS_PER_PAGE));
    this.count(`iam:ListAttached${kind}Policies`);
    this.count(`iam:Get${kind}Policy`, own.length);
    if (kind === 'User') {
      // Groups are known here only by their inline policies (`group/GROUP/POLICY`).
      const groups = new Set(
        names.filter((name) => name.startsWith('group/')).map((name) => name.split('/')[1]),
      );
      this.count('iam:ListGroupsForUser');
      this.count('iam:ListGroupPolicies', groups.size);
      this.count('iam:ListAttachedGroupPolicies', groups.size);
      this.count('iam:GetGroupPolicy', names.length - own.length);
    }
    const managed = Object.keys(principal.managedPolicies).length + (principal.permissionsBoundary ? 1 : 0);
    this.count('iam:GetPolicy', managed);
    this.count('iam:GetPolicyVersion', managed);
    return principal;
  }

  /** The real reader: DescribeKey, then GetKeyPolicy, ListGrants and ListAliases of a key of this account. */
  async getKey(ref: string): Promise<KeyState | null> {
    const arn = parseKeyArn(ref) ?? parseAliasArn(ref);
    if (
      arn
        ? arn.accountId !== this.accountId || arn.region !== this.region
        : !isKeyId(ref) && !isAliasName(ref)
    ) {
      return null;
    }
    this.count('kms:DescribeKey');
    const key = await this.reader.getKey(ref);
    if (!key) return null;
    this.count('kms:GetKeyPolicy');
    this.count('kms:ListGrants', pages(key.grants?.length ?? 0, GRANTS_PER_PAGE));
    this.count('kms:ListAliases', pages(key.aliases?.length ?? 0, ALIASES_PER_PAGE));
    return key;
  }

  /** The real reader: DescribeStreamSummary (the snapshot holds the stream's key as an ARN already). */
  async getStream(arn: string): Promise<StreamState | null> {
    if (parseStreamArn(arn)?.region !== this.region) return null;
    this.count('kinesis:DescribeStreamSummary');
    return this.reader.getStream(arn);
  }

  /** The real reader: ListAccountAliases (the deployed functions read afresh for each diagnosis). */
  async getAccountAlias(): Promise<string | null> {
    this.count('iam:ListAccountAliases');
    return this.reader.getAccountAlias();
  }

  /** The snapshot's organization, if it has one (the real reader cannot read it and makes no call). */
  async getOrganization(): Promise<OrganizationState | null> {
    return this.reader.getOrganization();
  }

  // -------------------------------------------------------------------------------------------
  // AccountWriter

  /** ListGrants first, as the AWS writer does: an identical grant is returned, else one is added. */
  async createGrant(args: CreateGrantArgs): Promise<{ grantId: string; created: boolean }> {
    const key = this.writableKey(args.keyArn, 'kms:ListGrants');
    const mine = (key.grants ?? []).filter((grant) => grant.granteePrincipal === args.granteePrincipal);
    this.count('kms:ListGrants', pages(mine.length, GRANTS_PER_PAGE));
    const existing = mine.find(
      (grant) =>
        grant.name === args.name &&
        grant.retiringPrincipal === this.caller &&
        sameSet(grant.operations, args.operations) &&
        grant.constraints?.encryptionContextEquals === undefined &&
        sameMap(grant.constraints?.encryptionContextSubset ?? {}, args.encryptionContextSubset),
    );
    if (existing) return { grantId: existing.grantId, created: false };
    this.count('kms:CreateGrant');
    this.grantSequence += 1;
    // KMS grant ids are 64 hex digits.
    const grantId = createHash('sha256')
      .update(`${key.arn}|${args.name}|${this.grantSequence}`)
      .digest('hex');
    this.write('kms:CreateGrant', (draft) => {
      const target = draft.keys.find((k) => k.arn === key.arn);
      if (!target) return;
      const constraints =
        Object.keys(args.encryptionContextSubset).length > 0
          ? { constraints: { encryptionContextSubset: { ...args.encryptionContextSubset } } }
          : {};
      target.grants = [
        ...(target.grants ?? []),
        {
          grantId,
          name: args.name,
          granteePrincipal: args.granteePrincipal,
          operations: [...args.operations],
          retiringPrincipal: this.caller,
          ...constraints,
        },
      ];
    });
    return { grantId, created: true };
  }

  /**
   * ListGrants then RetireGrant, as the AWS writer does: a grant that is gone already is no error; one
   * that is not keymend's as recorded is refused (NotKeymendsChangeError), and, as KMS does, only the
   * grant's retiring principal may retire it (AccessDeniedException otherwise).
   */
  async retireGrant(args: { keyArn: string; grantId: string; expected: ExpectedGrant }): Promise<void> {
    this.count('kms:ListGrants');
    const key = this.state.keys.find((k) => k.arn === args.keyArn);
    const grant = key?.grants?.find((g) => g.grantId === args.grantId);
    if (!grant) return;
    const mismatch = grantMismatch(grant, args.expected);
    if (mismatch !== undefined) {
      throw new NotKeymendsChangeError(
        `grant ${args.grantId} on ${args.keyArn} is not the one keymend created: its ${mismatch} differs`,
      );
    }
    if (grant.retiringPrincipal !== this.caller) {
      throw refused(
        'kms:RetireGrant',
        'AccessDeniedException',
        `${this.caller} is not the retiring principal of grant ${args.grantId}`,
      );
    }
    this.count('kms:RetireGrant');
    this.write('kms:RetireGrant', (draft) => {
      const target = draft.keys.find((k) => k.arn === args.keyArn);
      if (target) target.grants = (target.grants ?? []).filter((grant) => grant.grantId !== args.grantId);
    });
  }

  /** PutRolePolicy / PutUserPolicy: sets (or replaces) the inline policy of an existing principal. */
  async putPrincipalPolicy(args: {
    principalArn: string;
    policyName: string;
    document: string;
  }): Promise<void> {
    const { action, principal } = this.principalFor(args.principalArn, 'Put');
    this.count(action);
    if (!principal) throw refused(action, 'NoSuchEntityException', `no principal ${args.principalArn}`);
    if (!IAM_POLICY_NAME.test(args.policyName)) {
      throw refused(action, 'ValidationError', `invalid policy name ${JSON.stringify(args.policyName)}`);
    }
    let document: unknown;
    try {
      document = JSON.parse(args.document);
    } catch {
      throw refused(action, 'MalformedPolicyDocumentException', 'the policy document is not JSON');
    }
    this.write(action, (draft) => {
      const target = draft.principals.find((p) => p.arn === args.principalArn);
      if (target) target.inlinePolicies[args.policyName] = document;
    });
  }

  /** DeleteRolePolicy / DeleteUserPolicy; a policy or principal that is gone already is no error. */
  async deletePrincipalPolicy(args: { principalArn: string; policyName: string }): Promise<void> {
    const { action, principal } = this.principalFor(args.principalArn, 'Delete');
    this.count(action);
    if (!principal || !Object.hasOwn(principal.inlinePolicies, args.policyName)) return;
    this.write(action, (draft) => {
      const target = draft.principals.find((p) => p.arn === args.principalArn);
      if (target) delete target.inlinePolicies[args.policyName];
    });
  }

  /** GetKeyPolicy: the text as last put, else the policy as JSON. */
  async getKeyPolicy(keyArn: string): Promise<string> {
    this.count('kms:GetKeyPolicy');
    const key = this.state.keys.find((k) => k.arn === keyArn);
    if (!key) throw refused('kms:GetKeyPolicy', 'NotFoundException', `no key ${keyArn}`);
    const written = this.policyTexts.get(keyArn);
    return written && written.policy === canonicalJson(key.policy)
      ? written.text
      : JSON.stringify(key.policy, null, 2);
  }

  /** PutKeyPolicy (never bypassing the lockout check): replaces the key policy of a customer managed key. */
  async putKeyPolicy(args: { keyArn: string; policy: string }): Promise<void> {
    const key = this.writableKey(args.keyArn, 'kms:PutKeyPolicy');
    this.count('kms:PutKeyPolicy');
    let policy: unknown;
    try {
      policy = JSON.parse(args.policy);
    } catch {
      throw refused('kms:PutKeyPolicy', 'MalformedPolicyDocumentException', 'the key policy is not JSON');
    }
    this.write('kms:PutKeyPolicy', (draft) => {
      const target = draft.keys.find((k) => k.arn === key.arn);
      if (target) target.policy = policy;
    });
    const stored = this.state.keys.find((k) => k.arn === key.arn);
    this.policyTexts.set(key.arn, { text: args.policy, policy: canonicalJson(stored?.policy) });
  }

  // -------------------------------------------------------------------------------------------

  /**
   * A customer managed key of this snapshot in a state that takes grant and policy writes; otherwise the
   * refusal of `action`, the first call the AWS writer would make.
   */
  private writableKey(keyArn: string, action: string): KeyState {
    const key = this.state.keys.find((k) => k.arn === keyArn);
    const problem = !key
      ? (['NotFoundException', `no key ${keyArn}`] as const)
      : key.keyManager === 'AWS'
        ? (['AccessDeniedException', `${keyArn} is an AWS managed key`] as const)
        : UNWRITABLE_KEY_STATES.has(key.keyState)
          ? (['KMSInvalidStateException', `${keyArn} is ${key.keyState}`] as const)
          : null;
    if (!key || problem) {
      this.count(action);
      throw refused(action, problem?.[0] ?? 'NotFoundException', problem?.[1] ?? keyArn);
    }
    return key;
  }

  private principalFor(
    arn: string,
    verb: 'Put' | 'Delete',
  ): { action: string; principal: PrincipalState | undefined } {
    const parsed = parsePrincipalArn(arn);
    if (!parsed) throw new InputError(`not a role or user ARN: ${JSON.stringify(arn)}`);
    const action = `iam:${verb}${parsed.kind === 'role' ? 'Role' : 'User'}Policy`;
    return { action, principal: this.state.principals.find((p) => p.arn === arn) };
  }

  /** Applies `change` to a copy, validates it as a snapshot, and makes it the state. */
  private write(action: string, change: (draft: AccountSnapshot) => void): void {
    const draft = structuredClone(this.state);
    change(draft);
    let next: AccountSnapshot;
    try {
      next = parseSnapshot(draft);
    } catch (error) {
      throw refused(action, 'ValidationException', (error as Error).message);
    }
    this.replace(next);
  }

  private replace(next: AccountSnapshot): void {
    this.state = deepFreeze(next);
    this.reader = new SnapshotReader(this.state);
  }

  private count(action: string, times = 1): void {
    if (times > 0) this.calls.set(action, (this.calls.get(action) ?? 0) + times);
  }
}

/** The error the AWS writer would throw for AWS's refusal `name`. */
function refused(action: string, name: string, message: string): AccountWriteError {
  const cause = Object.assign(new Error(message), { name });
  return new AccountWriteError(`${action} failed: ${name}: ${message}`, { cause });
}

/** The first field in which a grant differs from keymend's record of it, or undefined. */
function grantMismatch(grant: KmsGrantState, expected: ExpectedGrant): string | undefined {
  if (grant.name !== expected.name) return 'name';
  if (grant.granteePrincipal !== expected.granteePrincipal) return 'grantee';
  if (!sameSet(grant.operations, expected.operations)) return 'operations';
  if (grant.constraints?.encryptionContextEquals !== undefined) return 'constraint';
  if (!sameMap(grant.constraints?.encryptionContextSubset ?? {}, expected.encryptionContextSubset)) {
    return 'constraint';
  }
  return undefined;
}

type KmsGrantState = NonNullable<KeyState['grants']>[number];

/** Pages a listing of `items` takes: one at least (an empty listing is one call). */
function pages(items: number, perPage: number): number {
  return Math.max(1, Math.ceil(items / perPage));
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = [...a].sort();
  const right = [...b].sort();
  return left.length === right.length && left.every((value, i) => value === right[i]);
}

function sameMap(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
