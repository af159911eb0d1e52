/**
 * The account reader a command diagnoses against: the snapshot in `--account FILE`, or with `--aws` one
 * AWS reader per Region the events name, built when first needed, for the account the credentials
 * belong to (sts:GetCallerIdentity, asked once).
 */
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { createAwsAccountReader } from '../functions/adapters/aws-account';
import { AwsReadError } from '../functions/adapters/aws-read';
import { clientConfig } from '../functions/adapters/client-config';
import { SnapshotReader } from '../functions/adapters/snapshot';
import type { AccountReader } from '../functions/core/account';
import type { KinesisKmsRequest } from '../functions/core/request';
import { readSnapshot } from './input';
import type { CliIo } from './io';

export type ReaderFor = (request: KinesisKmsRequest) => AccountReader | Promise<AccountReader>;

/** The account the default credential chain's credentials belong to, asked of STS. */
export async function callerAccountId(sts: STSClient = new STSClient(clientConfig())): Promise<string> {
  let account: string | undefined;
  try {
    account = (await sts.send(new GetCallerIdentityCommand({}))).Account;
  } catch (error) {
    throw new AwsReadError(
      `sts:GetCallerIdentity: cannot tell whose AWS credentials these are: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (!account) throw new AwsReadError('sts:GetCallerIdentity returned no Account');
  return account;
}

/**
 * One AWS reader per Region, built when first needed, all for the account the credentials belong to
 * (learned once). IAM and key policies are readable only from inside their account: an event of
 * another account is read as what it is, another account's, and diagnose refuses it (`wrong-account`)
 * instead of looking for its principal here and not finding it.
 */
export function awsReaders(callerAccount: () => Promise<string> = callerAccountId): ReaderFor {
  let account: Promise<string> | undefined;
  const readers = new Map<string, AccountReader>();
  return async (request) => {
    account ??= callerAccount();
    const accountId = await account;
    let reader = readers.get(request.region);
    if (!reader) {
      reader = createAwsAccountReader({ accountId, region: request.region });
      readers.set(request.region, reader);
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
