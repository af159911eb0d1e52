/**
 * A small in-memory account for flow tests: reads served from a snapshot, writes change it (the real
 * stand-in for `keymend local` is functions/adapters/local-account.ts). Counts reads and writes.
 */
import { SnapshotReader } from '../../functions/adapters/snapshot';
import type { AccountReader, AccountSnapshot, KeyState } from '../../functions/core/account';
import type { AccountWriter } from '../../functions/core/ports';

export class MemoryAccount implements AccountWriter {
  readonly snapshot: AccountSnapshot;
  reads = 0;
  readonly writes: string[] = [];
  /** Runs before a write, to change the account behind keymend's back. */
  beforeWrite: (() => void) | null = null;

  constructor(snapshot: AccountSnapshot) {
    this.snapshot = structuredClone(snapshot);
  }

  /** A reader of the account as it is at each call. */
  reader(): AccountReader {
    const current = () => new SnapshotReader(this.snapshot);
    const count = <T>(value: T): T => {
      this.reads++;
      return value;
    };
    return {
      accountId: this.snapshot.accountId,
      region: this.snapshot.region,
      getPrincipal: async (arn) => count(await current().getPrincipal(arn)),
      getKey: async (ref) => count(await current().getKey(ref)),
      getStream: async (arn) => count(await current().getStream(arn)),
      getOrganization: async () => count(await current().getOrganization()),
    };
  }

  private key(arn: string): KeyState {
    const key = this.snapshot.keys.find((k) => k.arn === arn);
    if (!key) throw new Error(`NotFoundException: ${arn}`);
    return key;
  }

  private write(name: string): void {
    this.beforeWrite?.();
    this.beforeWrite = null;
    this.writes.push(name);
  }

  async createGrant(args: Parameters<AccountWriter['createGrant']>[0]) {
    const key = this.key(args.keyArn);
    const existing = key.grants?.find(
      (g) => g.name === args.name && g.granteePrincipal === args.granteePrincipal,
    );
    if (existing) return { grantId: existing.grantId, created: false };
    this.write('createGrant');
    const grantId = `grant-${this.writes.length}`;
    key.grants = [
      ...(key.grants ?? []),
      {
        grantId,
        name: args.name,
        granteePrincipal: args.granteePrincipal,
        operations: args.operations,
        constraints: { encryptionContextSubset: args.encryptionContextSubset },
      },
    ];
    return { grantId, created: true };
  }

  async retireGrant(args: { keyArn: string; grantId: string }) {
    this.write('retireGrant');
    const key = this.key(args.keyArn);
    key.grants = (key.grants ?? []).filter((g) => g.grantId !== args.grantId);
  }

  async putPrincipalPolicy(args: { principalArn: string; policyName: string; document: string }) {
    this.write('putPrincipalPolicy');
    const principal = this.snapshot.principals.find((p) => p.arn === args.principalArn);
    if (!principal) throw new Error(`NoSuchEntity: ${args.principalArn}`);
    principal.inlinePolicies[args.policyName] = JSON.parse(args.document);
  }

  async deletePrincipalPolicy(args: { principalArn: string; policyName: string }) {
    this.write('deletePrincipalPolicy');
    const principal = this.snapshot.principals.find((p) => p.arn === args.principalArn);
    if (principal) delete principal.inlinePolicies[args.policyName];
  }

  async getKeyPolicy(keyArn: string): Promise<string> {
    return JSON.stringify(this.key(keyArn).policy);
  }

  async putKeyPolicy(args: { keyArn: string; policy: string }) {
    this.write('putKeyPolicy');
    this.key(args.keyArn).policy = JSON.parse(args.policy);
  }
}
