/**
 * Reads, through an AccountReader, the state that bears on one denial. The reader does the I/O;
 * this module only decides what to read, reading independent things at once.
 */
import { KeyUnreadableError } from '../commons/errors';
import type { AccountReader, KeyState, StreamState } from './account';
import type { ResolvedState } from './diagnose';
import type { KinesisKmsRequest } from './request';

/**
 * The principal, stream, key and organization for `request`. The key comes from the record
 * (ARN or reference), else from the stream's encryption settings.
 */
export async function gatherState(reader: AccountReader, request: KinesisKmsRequest): Promise<ResolvedState> {
  const keyRef = request.keyArn ?? request.keyReference;
  const streamPromise: Promise<StreamState | null> = request.streamArn
    ? reader.getStream(request.streamArn)
    : Promise.resolve(null);
  const keyPromise: Promise<KeyState | null> = keyRef
    ? reader.getKey(keyRef)
    : streamPromise.then((stream) => (stream?.keyArn ? reader.getKey(stream.keyArn) : null));
  // A key KMS will not let keymend read is a finding to report, not a failure to retry.
  let unreadableKey: ResolvedState['unreadableKey'];
  const readableKey = keyPromise.catch((error) => {
    if (!(error instanceof KeyUnreadableError)) throw error;
    unreadableKey = { key: error.key, call: error.call };
    return null;
  });
  const [principal, stream, key, organization, accountAlias] = await Promise.all([
    reader.getPrincipal(request.principalArn),
    streamPromise,
    readableKey,
    reader.getOrganization(),
    reader.getAccountAlias ? reader.getAccountAlias() : Promise.resolve(null),
  ]);
  return {
    accountId: reader.accountId,
    principal,
    stream,
    key,
    organization,
    ...(accountAlias ? { accountAlias } : {}),
    ...(unreadableKey ? { unreadableKey } : {}),
  };
}
