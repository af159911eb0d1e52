/**
 * Reads, through an AccountReader, the state that bears on one denial. The reader does the I/O;
 * this module only decides what to read, reading independent things at once.
 */
import { AccountUnreachableError, KeyUnreadableError } from '../commons/errors';
import type { AccountReader, KeyState, OrganizationState, StreamState } from './account';
import type { ResolvedState } from './diagnose';
import { accountOf } from './proof';
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

/** The readers of other accounts, by account id (null: keymend has no access there). */
export type ReaderOf = (accountId: string) => AccountReader | null;

/**
 * The state of a denial that may span two accounts: the caller's (where CloudTrail logged it) and the
 * key owner's. The caller's account is read through its own reader (`home` when it is keymend's own
 * account); when the key (or the stream) belongs to another account keymend can read, the key, its
 * stream and that account's organization come from there, and both accounts are writable. With
 * `organizationId` (an organization deployment, several snapshots), each account's organization as read
 * is recorded so the diagnosis can refuse an account outside it. An account whose reader cannot be used
 * at all (AccountUnreachableError) is recorded as not known to be in the organization.
 */
export async function gatherAcross(
  home: AccountReader,
  readerOf: ReaderOf,
  request: KinesisKmsRequest,
  organizationId: string | null,
): Promise<ResolvedState> {
  const readerFor = (accountId: string): AccountReader | null =>
    accountId === home.accountId ? home : readerOf(accountId);
  const callerReader = readerFor(request.accountId);
  if (callerReader === null)
    return { ...(await gatherState(home, request)), ...boundary(organizationId, {}) };
  let state: ResolvedState;
  try {
    state = await gatherState(callerReader, request);
  } catch (error) {
    if (!(error instanceof AccountUnreachableError)) throw error;
    return unreachableCaller(request, organizationId);
  }
  const members: Record<string, string | null> = {};
  if (state.organization?.id !== undefined) members[state.accountId] = state.organization.id;
  const keyArn = request.keyArn ?? state.key?.arn ?? state.stream?.keyArn ?? null;
  const keyAccount = keyArn ? accountOf(keyArn) : '';
  const keyReader = keyAccount && keyAccount !== state.accountId ? readerFor(keyAccount) : null;
  if (keyReader === null) return { ...state, ...boundary(organizationId, members) };
  let owner: Awaited<ReturnType<typeof readOwner>>;
  try {
    owner = await readOwner(keyReader, request, keyArn ?? '');
  } catch (error) {
    if (!(error instanceof AccountUnreachableError)) throw error;
    return { ...state, unreachable: [keyAccount], ...boundary(organizationId, members) };
  }
  if (owner.organization?.id !== undefined) members[keyReader.accountId] = owner.organization.id;
  const { unreadableKey: _callerView, ...rest } = state;
  return {
    ...rest,
    key: owner.key,
    stream: owner.stream ?? state.stream,
    organization: withAccount(state.organization, keyReader.accountId, owner.organization),
    keyOrganization: owner.organization,
    ...(owner.alias ? { keyAccountAlias: owner.alias } : {}),
    writableAccounts: [state.accountId, keyReader.accountId],
    ...(owner.unreadableKey ? { unreadableKey: owner.unreadableKey } : {}),
    ...boundary(organizationId, members),
  };
}

function boundary(
  organizationId: string | null,
  members: Record<string, string | null>,
): Pick<ResolvedState, 'organizationBoundary'> {
  return organizationId === null ? {} : { organizationBoundary: { id: organizationId, members } };
}

/** A caller's account keymend could not read at all: nothing but the boundary to decide on. */
function unreachableCaller(request: KinesisKmsRequest, organizationId: string | null): ResolvedState {
  return {
    accountId: request.accountId,
    principal: null,
    key: null,
    stream: null,
    organization: null,
    organizationBoundary: { id: organizationId ?? '', members: {} },
    unreachable: [request.accountId],
  };
}

/** The key, its stream and the organization, as the key owner's account shows them. */
async function readOwner(
  reader: AccountReader,
  request: KinesisKmsRequest,
  keyArn: string,
): Promise<{
  key: KeyState | null;
  stream: StreamState | null;
  organization: OrganizationState | null;
  alias: string | null;
  unreadableKey?: { key: string; call: string };
}> {
  let unreadableKey: { key: string; call: string } | undefined;
  const streamInAccount =
    request.streamArn && accountOf(request.streamArn) === reader.accountId ? request.streamArn : null;
  const [key, stream, organization, alias] = await Promise.all([
    reader.getKey(keyArn).catch((error: unknown) => {
      if (!(error instanceof KeyUnreadableError)) throw error;
      unreadableKey = { key: error.key, call: error.call };
      return null;
    }),
    streamInAccount ? reader.getStream(streamInAccount) : Promise.resolve(null),
    reader.getOrganization(),
    // The owner's alias, for people (the account and alias wherever a proposal is shown).
    reader.getAccountAlias ? reader.getAccountAlias() : Promise.resolve(null),
  ]);
  return { key, stream, organization, alias, ...(unreadableKey ? { unreadableKey } : {}) };
}

/**
 * The caller's organization state with the key owner's membership added to `accounts` (for the key's
 * aws:ResourceOrgID and aws:ResourceOrgPaths), unless the caller's view already names it.
 */
function withAccount(
  organization: OrganizationState | null,
  accountId: string,
  owner: OrganizationState | null,
): OrganizationState | null {
  if (owner?.id === undefined || organization === null) return organization;
  if (organization.accounts && Object.hasOwn(organization.accounts, accountId)) return organization;
  const membership = { id: owner.id, ...(owner.path !== undefined ? { path: owner.path } : {}) };
  return { ...organization, accounts: { ...organization.accounts, [accountId]: membership } };
}
