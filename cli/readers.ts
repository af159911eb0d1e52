/**
 * The account reader a command diagnoses against: the snapshot in `--account FILE`, or with `--aws` one
 * AWS reader per account and Region the events name, built when first needed.
 */
import { createAwsAccountReader } from '../functions/adapters/aws-account';
import { SnapshotReader } from '../functions/adapters/snapshot';
import type { AccountReader } from '../functions/core/account';
import type { KinesisKmsRequest } from '../functions/core/request';
import { readSnapshot } from './input';
import type { CliIo } from './io';

export type ReaderFor = (request: KinesisKmsRequest) => AccountReader;

/** One AWS reader per account and Region, built when first needed. */
export function awsReaders(): ReaderFor {
  const readers = new Map<string, AccountReader>();
  return (request) => {
    const id = `${request.accountId}/${request.region}`;
    let reader = readers.get(id);
    if (!reader) {
      reader = createAwsAccountReader({ accountId: request.accountId, region: request.region });
      readers.set(id, reader);
    }
    return reader;
  };
}

/** The snapshot `account` names (`-` is standard input), or the AWS readers when it is undefined. */
export async function accountReaders(account: string | undefined, io: CliIo): Promise<ReaderFor> {
  if (account === undefined) return awsReaders();
  const reader = new SnapshotReader(await readSnapshot(account, io));
  return () => reader;
}
