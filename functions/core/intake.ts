/**
 * The intake: recognises, among CloudTrail records, exactly the KMS calls that Kinesis made for a
 * principal and that were denied, and extracts who, which operation, which key and which stream.
 *
 * Pure: no I/O, no clock. Every field of the input is untrusted; nothing here throws.
 */

import {
  ARN_IN_TEXT,
  arnPartition,
  isAccountId,
  isAliasName,
  isKeyId,
  isRegion,
  MAX_ARN_LENGTH,
  parseAliasArn,
  parseArn,
  parseAssumedRoleArn,
  parseFederatedUserArn,
  parseKeyArn,
  parseRoleArn,
  parseRootArn,
  parseStreamArn,
  parseUserArn,
} from '../commons/arn';
import { KINESIS_SERVICE_PRINCIPAL } from '../commons/constants';
import { showValue } from '../commons/text';
import { MAX_MESSAGE_SCAN, parseDeniedBy } from './denied-by';
import type { KinesisKmsRequest, KmsOperation, PrincipalType } from './request';

/**
 * Why a record is not acted on. The intake checks in this order and reports the first reason found:
 * - `not-cloudtrail`: not a CloudTrail API-call record: an EventBridge event of another detail-type
 *   (KMS key rotation or deletion events, for instance), a `{"Records": [...]}` log file passed whole
 *   (pass each record), no `eventSource` at all, or (checked after `not-kms`) a KMS record whose
 *   `eventType` is not `AwsApiCall`, such as an `AwsServiceEvent`.
 * - `not-kms`: `eventSource` is not `kms.amazonaws.com`.
 * - `not-a-denial`: `errorCode` is absent or not exactly `AccessDenied` / `AccessDeniedException`
 *   (so S3's `VpceAccessDenied` and KMS's own errors such as `IncorrectKeyException` are not denials).
 * - `unsupported-operation`: a KMS operation Kinesis does not call on a principal's behalf.
 * - `not-kinesis`: neither the `aws:kinesis:arn` encryption context nor `kinesis.amazonaws.com` as
 *   `invokedBy` or `sourceIPAddress`. A `userAgent` of `kinesis.amazonaws.com` alone is not evidence:
 *   the caller writes its own User-Agent header, so a direct call can claim it.
 * - `unsupported-principal`: the caller is not an IAM principal keymend can name (`AWSService`,
 *   `AWSAccount`, or an absent or unknown `userIdentity.type`). Root and federated users do match,
 *   with their `principalType`, so the diagnosis can refuse them with a reason a person can read.
 * - `malformed`: it looks like a Kinesis KMS denial, but a field keymend needs is missing, of the
 *   wrong type, too long, out of shape (e.g. a stream ARN without `stream/`) or inconsistent with
 *   another field (e.g. a session ARN whose role differs from its issuer, or a stream or key in
 *   another Region or partition than the call).
 */
export type NoMatchReason =
  | 'not-cloudtrail'
  | 'not-kms'
  | 'not-a-denial'
  | 'unsupported-operation'
  | 'not-kinesis'
  | 'unsupported-principal'
  | 'malformed';

/** Every {@link NoMatchReason}, in the order the intake checks them. */
export const NO_MATCH_REASONS: readonly NoMatchReason[] = [
  'not-cloudtrail',
  'not-kms',
  'not-a-denial',
  'unsupported-operation',
  'not-kinesis',
  'unsupported-principal',
  'malformed',
];

export type IntakeResult =
  | { match: true; request: KinesisKmsRequest }
  /** `detail` is one line for a person; any event text in it is quoted and capped. */
  | { match: false; reason: NoMatchReason; detail: string };

/** The EventBridge detail-type of CloudTrail-delivered API calls. */
export const CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';
/** The service principal Kinesis uses in `invokedBy`, `sourceIPAddress` and `userAgent`. */
export const KINESIS_SERVICE = KINESIS_SERVICE_PRINCIPAL;
/** The encryption-context key Kinesis sets to the stream ARN in every KMS call. */
export const KINESIS_CONTEXT_KEY = 'aws:kinesis:arn';

/** The error codes of a denied call (exactly these: S3's `VpceAccessDenied` is not one). */
export const DENIAL_CODES: ReadonlySet<string> = new Set(['AccessDenied', 'AccessDeniedException']);
/** The KMS operations Kinesis calls on a principal's behalf, by CloudTrail eventName. */
export const OPERATIONS: Readonly<Record<string, KmsOperation>> = {
  Decrypt: 'kms:Decrypt',
  GenerateDataKey: 'kms:GenerateDataKey',
  GenerateDataKeyWithoutPlaintext: 'kms:GenerateDataKeyWithoutPlaintext',
  DescribeKey: 'kms:DescribeKey',
};

/** KMS allows at most 8 KB of encryption context; these bounds are generous and still finite. */
const MAX_CONTEXT_ENTRIES = 64;
const MAX_CONTEXT_TEXT = 4096;

const EVENT_ID = /^[A-Za-z0-9_-]{1,128}$/;
const EVENT_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

type Json = Record<string, unknown>;

/** A plain JSON object (not null, not an array), or undefined. */
function asObject(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

/** An own property only: a polluted prototype must not answer for a missing field. */
function own(object: Json | undefined, key: string): unknown {
  return object !== undefined && Object.hasOwn(object, key) ? object[key] : undefined;
}

/** A short, quoted rendering of untrusted input for `detail` texts (commons/text.ts). */
const show = (value: unknown): string => showValue(value);

class NoMatch {
  constructor(
    readonly reason: NoMatchReason,
    readonly detail: string,
  ) {}
}

function malformed(detail: string): NoMatch {
  return new NoMatch('malformed', detail);
}

/**
 * Recognises a denied KMS call that Kinesis made for a principal.
 *
 * @param input an EventBridge "AWS API Call via CloudTrail" event, or a bare CloudTrail record
 *   (one element of a log file's `Records`). Any value is accepted.
 * @returns a match with the extracted request, or a no-match with a {@link NoMatchReason}.
 *   Never throws, whatever the input.
 */
export function intake(input: unknown): IntakeResult {
  try {
    const request = recognise(input);
    return request instanceof NoMatch
      ? { match: false, reason: request.reason, detail: request.detail }
      : { match: true, request };
  } catch {
    // Only hostile objects (throwing getters, proxies) get here; JSON input never does. The error
    // itself is not rendered: its own toString could throw too.
    return { match: false, reason: 'malformed', detail: 'unreadable input: reading a field threw' };
  }
}

function recognise(input: unknown): KinesisKmsRequest | NoMatch {
  const top = asObject(input);
  if (top === undefined) return new NoMatch('not-cloudtrail', `the input is ${show(input)}, not an object`);

  let record: Json = top;
  let envelope: Json | undefined;
  if (Object.hasOwn(top, 'detail-type') || Object.hasOwn(top, 'detail')) {
    const detailType = own(top, 'detail-type');
    if (detailType !== CLOUDTRAIL_DETAIL_TYPE) {
      return new NoMatch('not-cloudtrail', `EventBridge detail-type is ${show(detailType)}`);
    }
    const detail = asObject(own(top, 'detail'));
    if (detail === undefined) return malformed(`EventBridge detail is ${show(own(top, 'detail'))}`);
    record = detail;
    envelope = top;
  } else if (Object.hasOwn(top, 'Records') && !Object.hasOwn(top, 'eventSource')) {
    return new NoMatch('not-cloudtrail', 'a CloudTrail log file ({"Records": [...]}): pass each record');
  }

  const eventSource = own(record, 'eventSource');
  if (typeof eventSource !== 'string') {
    return new NoMatch('not-cloudtrail', `eventSource is ${show(eventSource)}`);
  }
  if (eventSource !== 'kms.amazonaws.com') {
    return new NoMatch('not-kms', `eventSource is ${show(eventSource)}`);
  }
  const eventType = own(record, 'eventType');
  // Old records (eventVersion 1.01) have no eventType; an API call is the only kind they held.
  if (eventType !== undefined && eventType !== 'AwsApiCall') {
    return new NoMatch('not-cloudtrail', `eventType is ${show(eventType)}, not AwsApiCall`);
  }
  const errorCode = own(record, 'errorCode');
  if (typeof errorCode !== 'string' || !DENIAL_CODES.has(errorCode)) {
    return new NoMatch(
      'not-a-denial',
      errorCode === undefined ? 'no errorCode: the call succeeded' : `errorCode is ${show(errorCode)}`,
    );
  }
  const eventName = own(record, 'eventName');
  const operation =
    typeof eventName === 'string' && Object.hasOwn(OPERATIONS, eventName) ? OPERATIONS[eventName] : undefined;
  if (operation === undefined) {
    return new NoMatch('unsupported-operation', `eventName is ${show(eventName)}`);
  }

  const userIdentity = asObject(own(record, 'userIdentity'));
  const requestParameters = asObject(own(record, 'requestParameters'));
  const rawContext = own(requestParameters, 'encryptionContext');
  const contextObject = asObject(rawContext);
  // Only fields AWS fills in count: CloudTrail sets invokedBy, and writes a service's DNS name as
  // sourceIPAddress only for calls an AWS service made. userAgent is copied from the request, so
  // a direct call could claim "kinesis.amazonaws.com" and slip past the diagnosis's check that a
  // direct caller may read the stream its encryption context names.
  const viaKinesis =
    own(userIdentity, 'invokedBy') === KINESIS_SERVICE || own(record, 'sourceIPAddress') === KINESIS_SERVICE;
  const hasKinesisContext = contextObject !== undefined && Object.hasOwn(contextObject, KINESIS_CONTEXT_KEY);
  if (!hasKinesisContext && !viaKinesis) {
    return new NoMatch(
      'not-kinesis',
      `no ${KINESIS_CONTEXT_KEY} encryption context and not invoked by ${KINESIS_SERVICE}`,
    );
  }

  const principal = readPrincipal(userIdentity, own(record, 'userIdentity'));
  if (principal instanceof NoMatch) return principal;

  const encryptionContext = readContext(rawContext);
  if (encryptionContext instanceof NoMatch) return encryptionContext;
  let streamArn: string | null = null;
  if (hasKinesisContext) {
    const value = encryptionContext[KINESIS_CONTEXT_KEY];
    if (parseStreamArn(value) === null) {
      return malformed(`encryption context ${KINESIS_CONTEXT_KEY} is ${show(value)}, not a stream ARN`);
    }
    streamArn = value as string;
  }

  const errorMessage = own(record, 'errorMessage');
  const key = readKey(own(record, 'resources'), own(requestParameters, 'keyId'), errorMessage);
  if (key instanceof NoMatch) return key;

  const eventId = own(record, 'eventID');
  if (typeof eventId !== 'string' || !EVENT_ID.test(eventId)) return malformed(`eventID is ${show(eventId)}`);
  const eventTime = own(record, 'eventTime');
  if (typeof eventTime !== 'string' || !EVENT_TIME.test(eventTime)) {
    return malformed(`eventTime is ${show(eventTime)}`);
  }
  const accountId =
    firstPresent(own(record, 'recipientAccountId'), own(envelope, 'account')) ?? principal.accountId;
  if (!isAccountId(accountId)) return malformed(`recipientAccountId is ${show(accountId)}`);
  const region = firstPresent(own(record, 'awsRegion'), own(envelope, 'region'));
  if (!isRegion(region)) return malformed(`awsRegion is ${show(region)}`);
  // Kinesis calls KMS in the stream's Region with a key of that Region (KMS is regional, and a
  // stream's key must be in its Region), all in the caller's partition: a record that names a
  // stream or key elsewhere was not made by Kinesis for that stream.
  const partition = arnPartition(principal.principalArn);
  for (const [what, arn] of [
    ['stream', streamArn],
    ['key', key.keyArn],
  ] as const) {
    const parsed = parseArn(arn);
    if (parsed !== null && (parsed.region !== region || parsed.partition !== partition)) {
      return malformed(
        `the ${what} ${show(arn)} is not in the call's Region ${region} and partition ${partition}`,
      );
    }
  }

  return {
    eventId,
    eventTime,
    accountId,
    region,
    operation,
    principalArn: principal.principalArn,
    principalType: principal.principalType,
    sessionArn: principal.sessionArn,
    keyArn: key.keyArn,
    keyReference: key.keyArn === null ? key.keyReference : null,
    streamArn,
    viaKinesis,
    callerAccountId: principal.accountId,
    keyAccountId: key.keyArn === null ? null : (parseKeyArn(key.keyArn)?.accountId ?? null),
    deniedBy: parseDeniedBy(errorMessage),
    encryptionContext,
    ...(principal.principalId === undefined ? {} : { principalId: principal.principalId }),
    ...(typeof errorMessage === 'string' ? { errorMessage: errorMessage.slice(0, MAX_MESSAGE_SCAN) } : {}),
  };
}

/** The first value that is present (not undefined or null); a wrong type is for the caller to reject. */
function firstPresent(...values: unknown[]): unknown {
  return values.find((v) => v !== undefined && v !== null);
}

interface Principal {
  principalArn: string;
  principalType: PrincipalType;
  sessionArn: string;
  accountId: string;
  principalId?: string;
}

/** IAM unique ids: a four-letter type prefix (AROA, AIDA) and upper-case letters and digits. */
const ROLE_UNIQUE_ID = /^AROA[A-Z0-9]{1,124}$/;
const USER_UNIQUE_ID = /^AIDA[A-Z0-9]{1,124}$/;

/**
 * `userIdentity.principalId` when it has exactly the shape its type gives it (the value of
 * `aws:userid`), else undefined: it is informational, so an odd one is dropped, not fatal.
 */
function principalIdOf(raw: unknown, expected: (id: string) => boolean): { principalId?: string } {
  return typeof raw === 'string' && raw.length <= 256 && expected(raw) ? { principalId: raw } : {};
}

function readPrincipal(identity: Json | undefined, raw: unknown): Principal | NoMatch {
  if (identity === undefined) return malformed(`userIdentity is ${show(raw)}`);
  const type = own(identity, 'type');
  const arn = own(identity, 'arn');
  const declaredAccount = own(identity, 'accountId');
  const consistent = (account: string): NoMatch | undefined =>
    declaredAccount === undefined || declaredAccount === account
      ? undefined
      : malformed(
          `userIdentity.accountId ${show(declaredAccount)} differs from its ARN's account ${account}`,
        );

  switch (type) {
    case 'AssumedRole': {
      const session = parseAssumedRoleArn(arn);
      if (session === null)
        return malformed(`userIdentity.arn is ${show(arn)}, not an assumed-role session ARN`);
      const issuer = asObject(own(asObject(own(identity, 'sessionContext')), 'sessionIssuer'));
      const issuerArn = own(issuer, 'arn');
      const role = parseRoleArn(issuerArn);
      // The session ARN lacks the role's path: without the issuer the role cannot be named exactly.
      if (role === null)
        return malformed(`sessionContext.sessionIssuer.arn is ${show(issuerArn)}, not a role ARN`);
      const issuerType = own(issuer, 'type');
      if (issuerType !== undefined && issuerType !== 'Role') {
        return malformed(`sessionContext.sessionIssuer.type is ${show(issuerType)}, not Role`);
      }
      if (
        session.partition !== role.partition ||
        session.accountId !== role.accountId ||
        session.roleName !== role.roleName
      ) {
        return malformed(`session ${show(arn)} was not issued by role ${show(issuerArn)}`);
      }
      const issuerId = own(issuer, 'principalId');
      return (
        consistent(role.accountId) ?? {
          principalArn: issuerArn as string,
          principalType: 'AssumedRole',
          sessionArn: arn as string,
          accountId: role.accountId,
          // ROLE_ID:SESSION_NAME, the role's id agreeing with the issuer's when that is given.
          ...principalIdOf(own(identity, 'principalId'), (id) => {
            const roleId = id.slice(0, id.indexOf(':'));
            return (
              ROLE_UNIQUE_ID.test(roleId) &&
              id === `${roleId}:${session.sessionName}` &&
              (issuerId === undefined || issuerId === roleId)
            );
          }),
        }
      );
    }
    case 'IAMUser': {
      const user = parseUserArn(arn);
      if (user === null) return malformed(`userIdentity.arn is ${show(arn)}, not an IAM user ARN`);
      return (
        consistent(user.accountId) ?? {
          principalArn: arn as string,
          principalType: 'IAMUser',
          sessionArn: arn as string,
          accountId: user.accountId,
          ...principalIdOf(own(identity, 'principalId'), (id) => USER_UNIQUE_ID.test(id)),
        }
      );
    }
    case 'Root': {
      const root = parseRootArn(arn);
      if (root === null) return malformed(`userIdentity.arn is ${show(arn)}, not an account root ARN`);
      return (
        consistent(root.accountId) ?? {
          principalArn: arn as string,
          principalType: 'Root',
          sessionArn: arn as string,
          accountId: root.accountId,
          ...principalIdOf(own(identity, 'principalId'), (id) => id === root.accountId),
        }
      );
    }
    case 'FederatedUser': {
      // GetFederationToken sessions: the issuer is the IAM user whose policies bound the session.
      const federated = parseFederatedUserArn(arn);
      if (federated === null) return malformed(`userIdentity.arn is ${show(arn)}, not a federated-user ARN`);
      const issuerArn = own(asObject(own(asObject(own(identity, 'sessionContext')), 'sessionIssuer')), 'arn');
      const user = parseUserArn(issuerArn);
      if (user === null)
        return malformed(`sessionContext.sessionIssuer.arn is ${show(issuerArn)}, not a user ARN`);
      if (user.partition !== federated.partition || user.accountId !== federated.accountId) {
        return malformed(`federated user ${show(arn)} was not issued by ${show(issuerArn)}`);
      }
      return (
        consistent(user.accountId) ?? {
          principalArn: issuerArn as string,
          principalType: 'FederatedUser',
          sessionArn: arn as string,
          accountId: user.accountId,
          ...principalIdOf(
            own(identity, 'principalId'),
            (id) => id === `${federated.accountId}:${federated.userName}`,
          ),
        }
      );
    }
    default:
      return new NoMatch(
        'unsupported-principal',
        `userIdentity.type is ${show(type)}: not an IAM role, user, root or federated user`,
      );
  }
}

function readContext(raw: unknown): Record<string, string> | NoMatch {
  if (raw === undefined || raw === null) return {};
  const object = asObject(raw);
  if (object === undefined) return malformed(`requestParameters.encryptionContext is ${show(raw)}`);
  const entries = Object.entries(object);
  if (entries.length > MAX_CONTEXT_ENTRIES) {
    return malformed(`encryption context has ${entries.length} entries, more than KMS allows`);
  }
  for (const [key, value] of entries) {
    if (typeof value !== 'string' || key.length > MAX_CONTEXT_TEXT || value.length > MAX_CONTEXT_TEXT) {
      return malformed(`encryption context ${show(key)} is ${show(value)}`);
    }
  }
  // fromEntries defines own properties, so a "__proto__" key stays data and cannot set a prototype.
  return Object.fromEntries(entries) as Record<string, string>;
}

interface KeyInfo {
  keyArn: string | null;
  keyReference: string | null;
}

/** Key ARN from resources[], else keyId, else the message's `on resource:`; see the module TSDoc. */
function readKey(resources: unknown, keyId: unknown, message: unknown): KeyInfo | NoMatch {
  const arns = new Set<string>();

  if (resources !== undefined && resources !== null) {
    if (!Array.isArray(resources)) return malformed(`resources is ${show(resources)}`);
    for (const entry of resources as unknown[]) {
      const resource = asObject(entry);
      if (resource === undefined) return malformed(`a resources[] entry is ${show(entry)}`);
      const type = own(resource, 'type');
      const arn = own(resource, 'ARN');
      // Older records omit `type`; then only a KMS ARN counts as the key.
      const isKey = type === 'AWS::KMS::Key' || (type === undefined && parseArn(arn)?.service === 'kms');
      if (!isKey) continue;
      if (parseKeyArn(arn) === null) return malformed(`resources[] key ARN is ${show(arn)}`);
      arns.add(arn as string);
    }
  }

  let keyReference: string | null = null;
  if (keyId !== undefined && keyId !== null) {
    if (typeof keyId !== 'string' || keyId.length > MAX_ARN_LENGTH) {
      return malformed(`requestParameters.keyId is ${show(keyId)}`);
    }
    if (parseKeyArn(keyId) !== null) arns.add(keyId);
    else if (parseAliasArn(keyId) !== null || isAliasName(keyId) || isKeyId(keyId)) keyReference = keyId;
    else return malformed(`requestParameters.keyId is ${show(keyId)}, not a key ARN, key id or alias`);
  }

  // The message names the key KMS evaluated; disagreeing with resources[] means the record is not
  // what it claims, so it joins the consistency check rather than only filling a gap.
  const fromMessage = messageKeyArn(message);
  if (fromMessage !== null) arns.add(fromMessage);

  if (arns.size > 1) return malformed(`the record names different keys: ${[...arns].map(show).join(', ')}`);
  const [keyArn = null] = arns;
  if (keyArn !== null && keyReference !== null && isKeyId(keyReference)) {
    if (parseKeyArn(keyArn)?.keyId !== keyReference) {
      return malformed(`requestParameters.keyId ${show(keyReference)} is not the key ${show(keyArn)}`);
    }
  }
  return { keyArn, keyReference };
}

const ON_RESOURCE = new RegExp(String.raw`\bon resource: "?(${ARN_IN_TEXT})`);

/** The `on resource: ARN` of an access-denied message, only when it is a key ARN. */
function messageKeyArn(message: unknown): string | null {
  if (typeof message !== 'string') return null;
  const match = ON_RESOURCE.exec(message.slice(0, MAX_MESSAGE_SCAN));
  const candidate = match?.[1]?.replace(/[.,;]+$/, '');
  return candidate !== undefined && parseKeyArn(candidate) !== null ? candidate : null;
}
