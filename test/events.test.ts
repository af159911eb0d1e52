/**
 * The sample events must be shapes AWS really sends. These rules come from AWS's published
 * CloudTrail documentation (record contents: the eventVersion each field appeared in; userIdentity;
 * the KMS developer guide's Decrypt and GenerateDataKey examples; the network activity example) and
 * are checked on every file in events/, so a new or edited sample cannot drift from them.
 */
import { eventNames, loadEvent } from './helpers/events';

// biome-ignore lint/suspicious/noExplicitAny: the checks walk parsed sample JSON field by field.
type Json = Record<string, any>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const SESSION_KEY = /^ASIA[A-Z0-9]{16}$/;
const LONG_TERM_KEY = /^AKIA[A-Z0-9]{16}$/;
/** Role sessions last at most 12 hours. */
const MAX_SESSION_MS = 12 * 3600 * 1000;

/** The minor part of an eventVersion ("1.08" is 8); NaN for anything else. */
function minor(version: unknown): number {
  return typeof version === 'string' && /^1\.\d{2}$/.test(version) ? Number(version.slice(2)) : Number.NaN;
}

function identityProblems(r: Json): string[] {
  const u: Json = r.userIdentity ?? {};
  const out: string[] = [];
  const eventTime = Date.parse(r.eventTime);
  switch (u.type) {
    case 'AssumedRole': {
      const issuer: Json = u.sessionContext?.sessionIssuer ?? {};
      const [, account = '', roleName = '', session = ''] =
        /^arn:aws:sts::(\d{12}):assumed-role\/([^/]+)\/([^/]+)$/.exec(u.arn) ?? [];
      if (!/^AROA[A-Z0-9]{17}$/.test(issuer.principalId))
        out.push('sessionIssuer.principalId is not AROA...');
      if (u.principalId !== `${issuer.principalId}:${session}`)
        out.push('principalId is not ROLE_ID:SESSION');
      if (!SESSION_KEY.test(u.accessKeyId)) out.push('a role session signs with an ASIA key');
      if (issuer.type !== 'Role' || issuer.userName !== roleName || issuer.accountId !== account) {
        out.push('sessionIssuer type/userName/accountId do not name the session role');
      }
      if (
        !String(issuer.arn).startsWith(`arn:aws:iam::${account}:role/`) ||
        !String(issuer.arn).endsWith(`/${roleName}`)
      ) {
        out.push('sessionIssuer.arn is not the role of the session');
      }
      const attributes: Json = u.sessionContext?.attributes ?? {};
      const created = Date.parse(attributes.creationDate);
      if (
        !ISO_TIME.test(attributes.creationDate) ||
        !(created <= eventTime && eventTime - created <= MAX_SESSION_MS)
      ) {
        out.push('session creationDate is not within 12 hours before eventTime');
      }
      if (!['true', 'false'].includes(attributes.mfaAuthenticated)) out.push('mfaAuthenticated is a string');
      break;
    }
    case 'IAMUser':
      if (!/^AIDA[A-Z0-9]{17}$/.test(u.principalId)) out.push('an IAM user principalId is AIDA...');
      if (!LONG_TERM_KEY.test(u.accessKeyId) && !SESSION_KEY.test(u.accessKeyId)) out.push('bad accessKeyId');
      if (!String(u.arn).endsWith(`:user/${u.userName}`)) out.push('userName is not the ARN user');
      break;
    case 'Root':
      if (u.principalId !== u.accountId || u.arn !== `arn:aws:iam::${u.accountId}:root`) {
        out.push('root principalId and arn are the account');
      }
      break;
  }
  return out;
}

/** What AWS would not write in this record; empty when the record is a shape AWS sends. */
function recordProblems(r: Json): string[] {
  const out: string[] = [];
  const v = minor(r.eventVersion);
  if (Number.isNaN(v)) return [`eventVersion ${r.eventVersion} is not 1.NN`];
  if (!ISO_TIME.test(r.eventTime)) out.push('eventTime is not ISO UTC');
  if (!UUID.test(r.eventID)) out.push('eventID is a CloudTrail GUID');
  // Fields by the eventVersion that introduced them (CloudTrail record contents).
  if ((r.eventCategory !== undefined) !== v >= 7) out.push('eventCategory exists exactly from 1.07');
  if (r.tlsDetails !== undefined && v < 8) out.push('tlsDetails exists from 1.08');
  if (r.vpcEndpointAccountId !== undefined && v < 9) out.push('vpcEndpointAccountId exists from 1.09');
  if (r.sessionCredentialFromConsole !== undefined && r.sessionCredentialFromConsole !== 'true') {
    out.push('sessionCredentialFromConsole is only shown as "true"');
  }
  const invokedBy = r.userIdentity?.invokedBy;
  if (typeof invokedBy === 'string' && invokedBy.endsWith('.amazonaws.com')) {
    // A service acting for a principal: its name as source and agent, and no client TLS details.
    if (r.sourceIPAddress !== invokedBy || r.userAgent !== invokedBy) {
      out.push('a service call has the service as sourceIPAddress and userAgent');
    }
    if (r.tlsDetails !== undefined) out.push('tlsDetails is absent for calls a service makes for you');
  }
  if (r.sourceIPAddress === 'kinesis.amazonaws.com' && r.userAgent !== 'kinesis.amazonaws.com') {
    out.push('Kinesis as source is Kinesis as agent');
  }
  if (r.eventType === 'AwsVpceEvent') {
    for (const field of [
      'readOnly',
      'requestParameters',
      'responseElements',
      'userAgent',
      'managementEvent',
    ]) {
      if (field in r) out.push(`a network activity event has no ${field}`);
    }
    if (r.eventCategory !== 'NetworkActivity') out.push('a network activity event is NetworkActivity');
  }
  if (r.eventSource === 'kms.amazonaws.com' && r.eventType === 'AwsApiCall') {
    if (!UUID.test(r.requestID)) out.push('a KMS requestID is a UUID');
    if (r.responseElements !== null) out.push('KMS cryptographic calls log responseElements null');
    if (r.readOnly !== true) out.push('Decrypt and GenerateDataKey are readOnly');
    if (v >= 6 && r.managementEvent !== true) out.push('KMS calls are management events');
    if (v >= 7 && r.eventCategory !== 'Management') out.push('KMS calls are in the Management category');
    if (r.eventTime.startsWith('2025-') && r.eventVersion !== '1.11') {
      out.push("KMS records of 2025 are 1.11, as the KMS guide's 2025 examples");
    }
    const p: Json | null = r.requestParameters;
    if (r.eventName === 'Decrypt' && p !== null && p.encryptionAlgorithm !== 'SYMMETRIC_DEFAULT') {
      out.push('a Decrypt entry always records encryptionAlgorithm');
    }
    if (r.eventName === 'GenerateDataKey' && p !== null && p.keySpec !== 'AES_256') {
      out.push('GenerateDataKey for a 256-bit data key records keySpec AES_256');
    }
  }
  return [...out, ...identityProblems(r)];
}

function envelopeProblems(e: Json): string[] {
  const out: string[] = [];
  if (e.version !== '0' || !UUID.test(e.id)) out.push('envelope version "0" and a UUID id');
  if (e['detail-type'] !== 'AWS API Call via CloudTrail') {
    if (!Array.isArray(e.resources)) out.push('envelope resources is an array');
    return out;
  }
  const d: Json = e.detail;
  const service = String(d.eventSource).replace('.amazonaws.com', '');
  if (e.source !== `aws.${service}`) out.push('envelope source is aws.SERVICE');
  if (e.account !== d.recipientAccountId || e.region !== d.awsRegion || e.time !== d.eventTime) {
    out.push('envelope account, region and time are the record’s');
  }
  if (!Array.isArray(e.resources) || e.resources.length !== 0)
    out.push('API-call envelopes have resources []');
  return out;
}

/** Every CloudTrail record in a sample file, with the envelope when there is one. */
function recordsOf(file: Json): { envelope?: Json; records: Json[] } {
  if (Array.isArray(file.Records)) return { records: file.Records };
  if ('detail-type' in file) {
    return file['detail-type'] === 'AWS API Call via CloudTrail'
      ? { envelope: file, records: [file.detail] }
      : { envelope: file, records: [] };
  }
  return { records: [file] };
}

function problemsOf(file: Json): string[] {
  const { envelope, records } = recordsOf(file);
  return [...(envelope ? envelopeProblems(envelope) : []), ...records.flatMap(recordProblems)];
}

describe('events/ holds shapes AWS sends', () => {
  it.each(eventNames())('%s', (name) => {
    expect(problemsOf(loadEvent(name))).toEqual([]);
  });

  it('the log file holds exact copies of the samples it names', () => {
    const records = loadEvent<{ Records: Json[] }>('cloudtrail-log-file.records.json').Records;
    expect(records).toEqual([
      loadEvent('consumer-decrypt-denied-no-invokedby.record.json'),
      loadEvent('consumer-decrypt-success.record.json'),
      loadEvent('s3-sse-generatedatakey-denied-s3-context.record.json'),
    ]);
  });

  it('no two samples share an event id, apart from the log-file copies', () => {
    const ids = eventNames()
      .filter((name) => !name.startsWith('cloudtrail-log-file'))
      .flatMap((name) => recordsOf(loadEvent(name)).records.map((r) => r.eventID));
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('the realism checks catch what AWS would not send', () => {
  const SERVICE_CALL = 'consumer-decrypt-denied-service-role.eventbridge.json';
  const detail = (change: (r: Json) => void): Json => {
    const event = loadEvent<Json>(SERVICE_CALL);
    change(event.detail);
    return event;
  };

  it.each<[string, (r: Json) => void, string]>([
    [
      'client TLS details on a call Kinesis made',
      (r) => (r.tlsDetails = { tlsVersion: 'TLSv1.3' }),
      'tlsDetails is absent for calls a service makes for you',
    ],
    [
      'eventCategory in a 1.06 record',
      (r) => (r.eventVersion = '1.06'),
      'eventCategory exists exactly from 1.07',
    ],
    [
      'a 2025 KMS record at 1.09',
      (r) => (r.eventVersion = '1.09'),
      "KMS records of 2025 are 1.11, as the KMS guide's 2025 examples",
    ],
    [
      'a long-term key for a role session',
      (r) => (r.userIdentity.accessKeyId = 'AKIAEDEHAAFFCJBFBDCC'),
      'a role session signs with an ASIA key',
    ],
    [
      'a principalId of another session',
      (r) => (r.userIdentity.principalId = 'AROACFCFFIDFDCFADIAAD:i-0fff999'),
      'principalId is not ROLE_ID:SESSION',
    ],
    [
      'a session older than 12 hours',
      (r) => (r.userIdentity.sessionContext.attributes.creationDate = '2025-05-31T11:58:02Z'),
      'session creationDate is not within 12 hours before eventTime',
    ],
    [
      'a Decrypt without its algorithm',
      (r) => delete r.requestParameters.encryptionAlgorithm,
      'a Decrypt entry always records encryptionAlgorithm',
    ],
    [
      'a response for a read-only call',
      (r) => (r.responseElements = {}),
      'KMS cryptographic calls log responseElements null',
    ],
    [
      'an IP address as source of a service call',
      (r) => (r.sourceIPAddress = '203.0.113.7'),
      'a service call has the service as sourceIPAddress and userAgent',
    ],
    ['an eventID that is no UUID', (r) => (r.eventID = 'EXAMPLE'), 'eventID is a CloudTrail GUID'],
  ])('%s', (_what, change, problem) => {
    expect(problemsOf(detail(change))).toContain(problem);
  });

  it('client TLS details in a record older than 1.08', () => {
    const event = loadEvent<Json>('direct-decrypt-kinesis-context-not-via-kinesis.record.json');
    event.eventVersion = '1.07';
    expect(problemsOf(event)).toContain('tlsDetails exists from 1.08');
  });

  it('an envelope whose time is not the record’s', () => {
    const event = loadEvent<Json>(SERVICE_CALL);
    event.time = '2025-06-01T13:00:00Z';
    expect(problemsOf(event)).toContain('envelope account, region and time are the record’s');
  });

  it('a network activity event with the fields of an API call', () => {
    const event = loadEvent<Json>('s3-getobject-vpceaccessdenied.record.json');
    event.readOnly = true;
    expect(problemsOf(event)).toContain('a network activity event has no readOnly');
  });
});
