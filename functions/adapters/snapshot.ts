/**
 * The snapshot file: account state written down as JSON (docs/snapshot.md), validated by its schema
 * (snapshot-schema.ts), and read back through the same AccountReader interface as a real account.
 */
import { readFile } from 'node:fs/promises';
import {
  isAliasName,
  isKeyId,
  type Partition,
  parseAliasArn,
  parseKeyArn,
  partitionOfRegion,
} from '../commons/arn';
import { InputError, SnapshotError } from '../commons/errors';
import { deepFreeze } from '../commons/freeze';
import { printableLine } from '../commons/text';
import type {
  AccountReader,
  AccountSnapshot,
  KeyState,
  OrganizationState,
  PrincipalState,
  StreamState,
} from '../core/account';
import { decodeFileText } from './file-text';
import { parseSnapshot } from './snapshot-schema';

export { parseSnapshot } from './snapshot-schema';

/**
 * Parses the text of a snapshot file. `source` names the file in error messages.
 * @throws InputError when the text is not JSON; SnapshotError (naming the field and the file) when invalid.
 */
export function parseSnapshotText(text: string, source: string): AccountSnapshot {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(printableLine(`snapshot ${source} is not valid JSON: ${(error as Error).message}`), {
      cause: error,
    });
  }
  try {
    return parseSnapshot(json);
  } catch (error) {
    if (!(error instanceof SnapshotError)) throw error;
    const detail = error.message.slice(error.field.length + 2);
    throw new SnapshotError(error.field, `${detail} (in snapshot ${source})`);
  }
}

/**
 * Reads and validates a snapshot file: UTF-8 (a byte-order mark allowed) or gzipped UTF-8.
 * @throws InputError when the file cannot be read, is in another encoding or is not JSON; SnapshotError when it is invalid.
 */
export async function loadSnapshotFile(path: string): Promise<AccountSnapshot> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new InputError(printableLine(`cannot read snapshot ${path}: ${why}`), { cause: error });
  }
  return parseSnapshotText(decodeFileText(bytes, `snapshot ${path}`), path);
}

/**
 * An AccountReader over a snapshot. Lookups are exact: principal and stream ARNs match
 * case-sensitively and in full (a role's path included), because CloudTrail's
 * `sessionIssuer.arn` gives the exact ARN and a near match would evaluate someone else's policies.
 * (parseSnapshot rejects two roles or users whose names differ only in case, as IAM does.)
 *
 * The snapshot is copied and deep-frozen: results are shared objects, so callers that change
 * state (to apply a plan) must `structuredClone` first.
 */
export class SnapshotReader implements AccountReader {
  readonly accountId: string;
  readonly region: string;
  private readonly partition: Partition;
  private readonly principals = new Map<string, PrincipalState>();
  private readonly keys = new Map<string, KeyState>();
  private readonly streams = new Map<string, StreamState>();
  private readonly organization: OrganizationState | null;
  private readonly accountAlias: string | null;

  /** @throws InputError when the snapshot's region is not a Region of any AWS partition. */
  constructor(snapshot: AccountSnapshot) {
    const copy = deepFreeze(structuredClone(snapshot));
    this.accountId = copy.accountId;
    this.region = copy.region;
    const partition = partitionOfRegion(copy.region);
    if (partition === null) throw new InputError(`not an AWS Region: ${JSON.stringify(copy.region)}`);
    this.partition = partition;
    for (const principal of copy.principals) this.principals.set(principal.arn, principal);
    for (const key of copy.keys) this.keys.set(key.arn, key);
    for (const stream of copy.streams ?? []) this.streams.set(stream.arn, stream);
    this.organization = copy.organization ?? null;
    this.accountAlias = copy.accountAlias ?? null;
  }

  async getPrincipal(arn: string): Promise<PrincipalState | null> {
    return this.principals.get(arn) ?? null;
  }

  /**
   * Resolves a key ARN, a bare key id or an alias name (in the snapshot's account and region),
   * or an alias ARN (in the alias's account and region).
   */
  async getKey(ref: string): Promise<KeyState | null> {
    if (parseKeyArn(ref)) return this.keys.get(ref) ?? null;
    const alias = parseAliasArn(ref);
    if (alias) return this.findByAlias(alias.aliasName, alias.region, alias.accountId);
    if (isAliasName(ref)) return this.findByAlias(ref, this.region, this.accountId);
    if (isKeyId(ref)) {
      return this.keys.get(`arn:${this.partition}:kms:${this.region}:${this.accountId}:key/${ref}`) ?? null;
    }
    return null;
  }

  async getStream(arn: string): Promise<StreamState | null> {
    return this.streams.get(arn) ?? null;
  }

  /** The snapshot's `accountAlias`, or null. */
  async getAccountAlias(): Promise<string | null> {
    return this.accountAlias;
  }

  /** null when the snapshot has no `organization`: SCP and RCP questions are then unanswerable. */
  async getOrganization(): Promise<OrganizationState | null> {
    return this.organization;
  }

  private findByAlias(aliasName: string, region: string, accountId: string): KeyState | null {
    for (const key of this.keys.values()) {
      const arn = parseKeyArn(key.arn);
      if (arn?.region === region && arn.accountId === accountId && key.aliases?.includes(aliasName))
        return key;
    }
    return null;
  }
}
