import { type IntakeResult, intake, type NoMatchReason } from '../../functions/core/intake';
import type { DeniedBy, KinesisKmsRequest } from '../../functions/core/request';
import {
  ACCOUNT,
  CONSUMER,
  KINESIS_KEY as KEY_AWS_KINESIS,
  CLICKS_KEY as KEY_CLICKS,
  ORDERS_KEY as KEY_ORDERS,
  ORDERS,
  PRODUCER,
} from '../helpers/arns';
import { eventNames, loadEvent } from '../helpers/events';

// biome-ignore lint/suspicious/noExplicitAny: tests reshape parsed sample JSON freely, field by field.
type Json = Record<string, any>;

const IDENTITY: DeniedBy = { kind: 'implicit', policyType: 'identity-based' };
/** KMS's "the resource does not exist in this Region, no resource-based policies allow access, ..." */
const HIDDEN_KEY_POLICY: DeniedBy = { kind: 'unknown', policyType: 'resource-based' };

/** A bare record to change: the consumer denial without invokedBy. */
const RECORD = 'consumer-decrypt-denied-no-invokedby.record.json';
const ENVELOPE = 'consumer-decrypt-denied-service-role.eventbridge.json';

function request(result: IntakeResult): KinesisKmsRequest {
  if (!result.match) throw new Error(`expected a match, got ${result.reason}: ${result.detail}`);
  return result.request;
}

function reasonOf(result: IntakeResult): NoMatchReason | 'match' {
  return result.match ? 'match' : result.reason;
}

/** Loads a sample record (unwrapping an EventBridge envelope) and applies `change` to a copy. */
function record(name: string, change: (r: Json) => void = () => {}): Json {
  const event = loadEvent<Json>(name);
  const r = name.includes('.eventbridge.') ? event.detail : event;
  change(r);
  return r;
}

describe('intake over every sample event', () => {
  type Expected =
    | { reason: NoMatchReason }
    | Partial<
        Pick<
          KinesisKmsRequest,
          | 'principalArn'
          | 'principalType'
          | 'operation'
          | 'keyArn'
          | 'keyReference'
          | 'streamArn'
          | 'viaKinesis'
          | 'deniedBy'
          | 'accountId'
          | 'callerAccountId'
          | 'keyAccountId'
        >
      >;

  const expectations: Record<string, Expected> = {
    'consumer-decrypt-denied-service-role.eventbridge.json': {
      principalArn: CONSUMER,
      operation: 'kms:Decrypt',
      keyArn: KEY_ORDERS,
      streamArn: ORDERS,
      viaKinesis: true,
      deniedBy: IDENTITY,
    },
    'consumer-decrypt-denied-no-invokedby.record.json': {
      principalArn: CONSUMER,
      viaKinesis: true,
      keyArn: KEY_ORDERS,
    },
    'consumer-decrypt-denied-context-only.record.json': {
      principalArn: CONSUMER,
      viaKinesis: false,
      streamArn: ORDERS,
    },
    'consumer-decrypt-accessdeniedexception.record.json': { principalArn: CONSUMER, deniedBy: IDENTITY },
    'consumer-decrypt-denied-no-resources.record.json': { keyArn: KEY_ORDERS, keyReference: null },
    'consumer-decrypt-denied-no-key-anywhere.record.json': {
      keyArn: null,
      keyReference: null,
      keyAccountId: null,
      streamArn: ORDERS,
    },
    'consumer-decrypt-denied-no-context.record.json': {
      streamArn: null,
      viaKinesis: true,
      keyArn: KEY_ORDERS,
    },
    'consumer-decrypt-denied-key-policy.record.json': {
      deniedBy: { kind: 'implicit', policyType: 'resource-based' },
    },
    'consumer-decrypt-denied-explicit-identity.record.json': {
      deniedBy: { kind: 'explicit', policyType: 'identity-based' },
    },
    'consumer-decrypt-denied-explicit-key-policy.record.json': {
      deniedBy: { kind: 'explicit', policyType: 'resource-based' },
    },
    'consumer-decrypt-denied-scp.record.json': {
      deniedBy: { kind: 'explicit', policyType: 'service-control' },
    },
    'consumer-decrypt-denied-rcp.record.json': {
      deniedBy: { kind: 'explicit', policyType: 'resource-control' },
    },
    'consumer-decrypt-denied-boundary.record.json': {
      deniedBy: { kind: 'implicit', policyType: 'permissions-boundary' },
    },
    'consumer-decrypt-denied-session-policy.record.json': {
      deniedBy: { kind: 'implicit', policyType: 'session' },
    },
    'consumer-decrypt-denied-no-because.record.json': {
      deniedBy: { kind: 'unknown', policyType: null },
      keyArn: KEY_ORDERS,
    },
    'consumer-decrypt-denied-no-message.record.json': {
      deniedBy: { kind: 'unknown', policyType: null },
      keyArn: KEY_ORDERS,
    },
    'producer-generatedatakey-denied.record.json': {
      principalArn: PRODUCER,
      operation: 'kms:GenerateDataKey',
      keyArn: KEY_ORDERS,
      viaKinesis: true,
    },
    'producer-generatedatakey-denied-key-policy.eventbridge.json': {
      principalArn: PRODUCER,
      keyArn: KEY_ORDERS,
      keyReference: null,
      deniedBy: { kind: 'implicit', policyType: 'resource-based' },
    },
    'producer-generatedatakey-denied-alias-no-key-arn.record.json': {
      keyArn: null,
      keyReference: 'alias/orders',
      keyAccountId: null,
      deniedBy: HIDDEN_KEY_POLICY,
    },
    'producer-generatedatakey-denied-scp-policy-arn.eventbridge.json': {
      deniedBy: {
        kind: 'explicit',
        policyType: 'service-control',
        policyArn:
          'arn:aws:organizations::999988887777:policy/o-a1b2c3d4e5/service_control_policy/p-examplescp1',
      },
    },
    'lambda-esm-decrypt-denied.eventbridge.json': {
      principalArn: 'arn:aws:iam::111122223333:role/service-role/orders-processor-role-x1y2z3',
      principalType: 'AssumedRole',
    },
    'flink-decrypt-denied.record.json': {
      principalArn: 'arn:aws:iam::111122223333:role/service-role/kinesis-analytics-orders-flink-us-east-1',
    },
    'iam-user-decrypt-denied.record.json': {
      principalArn: 'arn:aws:iam::111122223333:user/alice',
      principalType: 'IAMUser',
      keyArn: KEY_CLICKS,
      streamArn: 'arn:aws:kinesis:us-east-1:111122223333:stream/clicks',
    },
    'legacy-decrypt-denied-aws-managed-key.record.json': {
      keyArn: KEY_AWS_KINESIS,
      streamArn: 'arn:aws:kinesis:us-east-1:111122223333:stream/legacy',
    },
    'cross-account-decrypt-denied.eventbridge.json': {
      principalArn: 'arn:aws:iam::444455556666:role/analytics-reader',
      accountId: '444455556666',
      callerAccountId: '444455556666',
      keyArn: KEY_ORDERS,
      keyAccountId: ACCOUNT,
      streamArn: ORDERS,
      deniedBy: HIDDEN_KEY_POLICY,
    },
    'cross-account-producer-generatedatakey-denied.eventbridge.json': {
      principalArn: 'arn:aws:iam::444455556666:role/clickstream-producer',
      operation: 'kms:GenerateDataKey',
      accountId: '444455556666',
      callerAccountId: '444455556666',
      keyArn: KEY_ORDERS,
      keyAccountId: ACCOUNT,
      streamArn: ORDERS,
      viaKinesis: true,
      deniedBy: { kind: 'implicit', policyType: 'resource-based' },
    },
    'direct-decrypt-kinesis-context-not-via-kinesis.record.json': {
      principalType: 'IAMUser',
      viaKinesis: false,
      streamArn: ORDERS,
    },
    'root-decrypt-denied-via-kinesis.record.json': {
      principalType: 'Root',
      principalArn: 'arn:aws:iam::111122223333:root',
    },
    'consumer-decrypt-success.record.json': { reason: 'not-a-denial' },
    's3-sse-generatedatakey-denied-s3-context.record.json': { reason: 'not-kinesis' },
    's3-getobject-vpceaccessdenied.record.json': { reason: 'not-kms' },
    'kinesis-describestreamsummary-denied.eventbridge.json': { reason: 'not-kms' },
    'kms-key-rotation.eventbridge.json': { reason: 'not-cloudtrail' },
    // A whole log file is not one record; the parse command splits it (see the Records test below).
    'cloudtrail-log-file.records.json': { reason: 'not-cloudtrail' },
  };

  it('has an expectation for every file in events/, and at least 15 files', () => {
    expect(Object.keys(expectations).sort()).toEqual(eventNames());
    expect(eventNames().length).toBeGreaterThanOrEqual(15);
  });

  it.each(Object.entries(expectations))('%s', (name, expected) => {
    const result = intake(loadEvent(name));
    if ('reason' in expected) {
      expect(reasonOf(result)).toBe(expected.reason);
    } else {
      expect(request(result)).toMatchObject(expected);
    }
  });

  it('reads each record of the CloudTrail log file on its own', () => {
    const log = loadEvent<{ Records: unknown[] }>('cloudtrail-log-file.records.json');
    expect(log.Records.map((r) => reasonOf(intake(r)))).toEqual(['match', 'not-a-denial', 'not-kinesis']);
  });
});

describe('the extracted request', () => {
  it('has every field of the consumer denial', () => {
    expect(request(intake(loadEvent(ENVELOPE)))).toEqual({
      eventId: '63de5a5c-b37f-498b-a693-115aa8ab17af',
      eventTime: '2025-06-01T12:05:31Z',
      accountId: ACCOUNT,
      region: 'us-east-1',
      operation: 'kms:Decrypt',
      principalArn: CONSUMER,
      principalType: 'AssumedRole',
      sessionArn: 'arn:aws:sts::111122223333:assumed-role/orders-consumer/i-0abc123',
      keyArn: KEY_ORDERS,
      keyReference: null,
      streamArn: ORDERS,
      viaKinesis: true,
      callerAccountId: ACCOUNT,
      keyAccountId: ACCOUNT,
      deniedBy: IDENTITY,
      encryptionContext: { 'aws:kinesis:arn': ORDERS },
      principalId: 'AROACFCFFIDFDCFADIAAD:i-0abc123',
      errorMessage:
        'User: arn:aws:sts::111122223333:assumed-role/orders-consumer/i-0abc123 is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab because no identity-based policy allows the kms:Decrypt action',
    });
  });

  it('is the same for an EventBridge event and its bare record', () => {
    const event = loadEvent<Json>(ENVELOPE);
    expect(intake(event.detail)).toEqual(intake(event));
  });

  it('takes the account and Region from the envelope when the record lacks them', () => {
    const event = loadEvent<Json>(ENVELOPE);
    delete event.detail.recipientAccountId;
    delete event.detail.awsRegion;
    event.account = '999988887777';
    expect(request(intake(event))).toMatchObject({ accountId: '999988887777', region: 'us-east-1' });
    delete event.region;
    expect(reasonOf(intake(event))).toBe('malformed');
  });

  it("keeps AWS's errorMessage as it is, up to 4096 characters, and none when there is none", () => {
    const hostile = `x\r\n<b>${'y'.repeat(5000)}`;
    expect(request(intake(record(RECORD, (x) => (x.errorMessage = hostile)))).errorMessage).toBe(
      hostile.slice(0, 4096),
    );
    expect(request(intake(record(RECORD, (x) => delete x.errorMessage)))).not.toHaveProperty('errorMessage');
  });

  it("falls back to the caller's account for a bare record without recipientAccountId", () => {
    const r = record(RECORD, (x) => delete x.recipientAccountId);
    expect(request(intake(r)).accountId).toBe(ACCOUNT);
  });

  it.each([
    ['GenerateDataKeyWithoutPlaintext', 'kms:GenerateDataKeyWithoutPlaintext'],
    ['DescribeKey', 'kms:DescribeKey'],
    ['GenerateDataKey', 'kms:GenerateDataKey'],
  ])('maps eventName %s to %s', (eventName, operation) => {
    expect(request(intake(record(RECORD, (r) => (r.eventName = eventName)))).operation).toBe(operation);
  });

  it('accepts a record without eventType (eventVersion 1.01 had none)', () => {
    expect(reasonOf(intake(record(RECORD, (r) => delete r.eventType)))).toBe('match');
  });

  it('keeps a "__proto__" encryption-context key as data without polluting prototypes', () => {
    const r = record(RECORD);
    const withProto = JSON.parse(
      JSON.stringify(r).replace('"encryptionContext":{', '"encryptionContext":{"__proto__":"x",'),
    );
    const context = request(intake(withProto)).encryptionContext;
    expect(Object.hasOwn(context, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(context)).toBe(Object.prototype);
    expect(({} as Json).x).toBeUndefined();
  });
});

describe('which records are acted on', () => {
  it.each([
    ['null', null],
    ['a string', 'AccessDenied'],
    ['a number', 42],
    ['an array', [{ eventSource: 'kms.amazonaws.com' }]],
    ['undefined', undefined],
  ])('an input that is %s is not CloudTrail', (_what, input) => {
    expect(reasonOf(intake(input))).toBe('not-cloudtrail');
  });

  it.each([
    ['another detail-type', (e: Json) => (e['detail-type'] = 'AWS Service Event via CloudTrail')],
    ['no detail-type', (e: Json) => delete e['detail-type']],
  ])('an EventBridge event with %s is not CloudTrail', (_what, change) => {
    const event = loadEvent<Json>(ENVELOPE);
    change(event);
    expect(reasonOf(intake(event))).toBe('not-cloudtrail');
  });

  it.each([
    ['a string', 'text'],
    ['an array', []],
    ['null', null],
  ])('an EventBridge detail that is %s is malformed', (_what, detail) => {
    const event = loadEvent<Json>(ENVELOPE);
    event.detail = detail;
    expect(reasonOf(intake(event))).toBe('malformed');
  });

  it.each([
    ['absent', undefined],
    ['a number', 7],
    ['an object', {}],
  ])('a record whose eventSource is %s is not CloudTrail', (_what, eventSource) => {
    expect(reasonOf(intake(record(RECORD, (r) => (r.eventSource = eventSource))))).toBe('not-cloudtrail');
  });

  it.each([
    'kinesis.amazonaws.com',
    's3.amazonaws.com',
    'KMS.amazonaws.com',
    'kms.amazonaws.com.evil.example',
  ])('eventSource %s is not KMS', (eventSource) => {
    expect(reasonOf(intake(record(RECORD, (r) => (r.eventSource = eventSource))))).toBe('not-kms');
  });

  it.each(['AwsServiceEvent', 'AwsVpceEvent', 'AwsConsoleAction'])(
    'eventType %s is not an API call',
    (eventType) => {
      expect(reasonOf(intake(record(RECORD, (r) => (r.eventType = eventType))))).toBe('not-cloudtrail');
    },
  );

  it.each([
    ['absent', undefined],
    ['VpceAccessDenied', 'VpceAccessDenied'],
    ['accessdenied', 'accessdenied'],
    ['AccessDeniedX', 'AccessDeniedX'],
    ['Client.AccessDenied', 'Client.AccessDenied'],
    ['KMSAccessDeniedException', 'KMSAccessDeniedException'],
    ['IncorrectKeyException', 'IncorrectKeyException'],
    ['a number', 403],
  ])('errorCode %s is not a denial', (_what, errorCode) => {
    expect(reasonOf(intake(record(RECORD, (r) => (r.errorCode = errorCode))))).toBe('not-a-denial');
  });

  it.each(['AccessDenied', 'AccessDeniedException'])('errorCode %s is a denial', (errorCode) => {
    expect(reasonOf(intake(record(RECORD, (r) => (r.errorCode = errorCode))))).toBe('match');
  });

  it.each([
    'Encrypt',
    'ReEncrypt',
    'CreateGrant',
    'ListAliases',
    'decrypt',
    'toString',
    '__proto__',
    undefined,
  ])('eventName %s is not an operation keymend handles', (eventName) => {
    expect(reasonOf(intake(record(RECORD, (r) => (r.eventName = eventName))))).toBe('unsupported-operation');
  });
});

describe('Kinesis evidence', () => {
  /** The record with no Kinesis marker and no Kinesis context. */
  function bare(change: (r: Json) => void = () => {}): Json {
    return record('consumer-decrypt-denied-service-role.eventbridge.json', (r) => {
      delete r.userIdentity.invokedBy;
      r.sourceIPAddress = '203.0.113.7';
      r.userAgent = 'aws-sdk-java/2.25.60';
      delete r.requestParameters.encryptionContext;
      change(r);
    });
  }

  it('without context or marker it is not Kinesis', () => {
    expect(reasonOf(intake(bare()))).toBe('not-kinesis');
  });

  it.each([
    ['invokedBy', (r: Json) => (r.userIdentity.invokedBy = 'kinesis.amazonaws.com')],
    ['sourceIPAddress', (r: Json) => (r.sourceIPAddress = 'kinesis.amazonaws.com')],
  ])('%s alone is evidence, with viaKinesis true and no stream', (_field, change) => {
    expect(request(intake(bare(change)))).toMatchObject({ viaKinesis: true, streamArn: null });
  });

  it('invokedBy is evidence even when sourceIPAddress is an IP address', () => {
    const r = bare((x) => (x.userIdentity.invokedBy = 'kinesis.amazonaws.com'));
    expect(r.sourceIPAddress).toBe('203.0.113.7');
    expect(request(intake(r)).viaKinesis).toBe(true);
  });

  it('a userAgent of kinesis.amazonaws.com alone is not evidence: the caller sets its own', () => {
    expect(reasonOf(intake(bare((r) => (r.userAgent = 'kinesis.amazonaws.com'))))).toBe('not-kinesis');
  });

  it('a direct call claiming the Kinesis userAgent with a Kinesis context is not via Kinesis', () => {
    // The forged shape: an SDK call from an IP address, TLS details of a client, a chosen User-Agent.
    const r = record('direct-decrypt-kinesis-context-not-via-kinesis.record.json', (x) => {
      x.userAgent = 'kinesis.amazonaws.com';
    });
    expect(request(intake(r))).toMatchObject({ viaKinesis: false, streamArn: ORDERS });
  });

  it('the aws:kinesis:arn context alone is evidence, with viaKinesis false', () => {
    const r = bare((x) => (x.requestParameters.encryptionContext = { 'aws:kinesis:arn': ORDERS }));
    expect(request(intake(r))).toMatchObject({ viaKinesis: false, streamArn: ORDERS });
  });

  it.each([
    ['a regional service name', 'kinesis.us-east-1.amazonaws.com'],
    ['another case', 'Kinesis.amazonaws.com'],
    ['a longer name', 'kinesis.amazonaws.com.evil.example'],
    ['another service', 'dynamodb.amazonaws.com'],
  ])('%s as invokedBy is not evidence', (_what, invokedBy) => {
    expect(reasonOf(intake(bare((r) => (r.userIdentity.invokedBy = invokedBy))))).toBe('not-kinesis');
  });

  it("another service's context is not Kinesis", () => {
    const r = bare((x) => (x.requestParameters.encryptionContext = { 'aws:s3:arn': 'arn:aws:s3:::b/k' }));
    expect(reasonOf(intake(r))).toBe('not-kinesis');
  });

  it.each([
    ['the seed form without stream/', 'arn:aws:kinesis:*:123456789012:MyStream'],
    ['a stream consumer ARN', `${ORDERS}/consumer/c:1700000000`],
    ['a Firehose ARN', 'arn:aws:firehose:us-east-1:111122223333:deliverystream/orders'],
    ['a number', 12],
    ['an over-long ARN', `arn:aws:kinesis:us-east-1:111122223333:stream/${'s'.repeat(2100)}`],
  ])('an aws:kinesis:arn that is %s is malformed', (_what, value) => {
    const r = record(RECORD, (x) => (x.requestParameters.encryptionContext['aws:kinesis:arn'] = value));
    expect(reasonOf(intake(r))).toBe('malformed');
  });

  it.each([
    ['an array', ['aws:kinesis:arn']],
    ['a string', 'aws:kinesis:arn'],
  ])('an encryption context that is %s is malformed when a marker says Kinesis', (_what, value) => {
    expect(reasonOf(intake(record(RECORD, (r) => (r.requestParameters.encryptionContext = value))))).toBe(
      'malformed',
    );
  });

  it('an encryption context with a non-string value or too many entries is malformed', () => {
    const nested = record(RECORD, (r) => (r.requestParameters.encryptionContext.extra = { a: 1 }));
    const many = record(RECORD, (r) => {
      for (let i = 0; i < 100; i++) r.requestParameters.encryptionContext[`k${i}`] = 'v';
    });
    expect([reasonOf(intake(nested)), reasonOf(intake(many))]).toEqual(['malformed', 'malformed']);
  });
});

describe('the principal', () => {
  it.each([
    ['no sessionIssuer', (r: Json) => delete r.userIdentity.sessionContext.sessionIssuer],
    ['no sessionContext', (r: Json) => delete r.userIdentity.sessionContext],
    ['sessionContext as an array', (r: Json) => (r.userIdentity.sessionContext = [])],
    ['an issuer of another role', (r: Json) => (r.userIdentity.sessionContext.sessionIssuer.arn = PRODUCER)],
    [
      'an issuer in another account',
      (r: Json) =>
        (r.userIdentity.sessionContext.sessionIssuer.arn =
          'arn:aws:iam::444455556666:role/service-role/orders-consumer'),
    ],
    [
      'an issuer of type IAMUser',
      (r: Json) => (r.userIdentity.sessionContext.sessionIssuer.type = 'IAMUser'),
    ],
    [
      'a user ARN as issuer',
      (r: Json) =>
        (r.userIdentity.sessionContext.sessionIssuer.arn = 'arn:aws:iam::111122223333:user/orders-consumer'),
    ],
    ['no session ARN', (r: Json) => delete r.userIdentity.arn],
    ['an IAM role ARN as session ARN', (r: Json) => (r.userIdentity.arn = CONSUMER)],
    ['accountId differing from the ARNs', (r: Json) => (r.userIdentity.accountId = '444455556666')],
    [
      'an over-long issuer ARN',
      (r: Json) => (r.userIdentity.sessionContext.sessionIssuer.arn = `${CONSUMER}${'x'.repeat(2100)}`),
    ],
  ])('an assumed role with %s is malformed', (_what, change) => {
    expect(reasonOf(intake(record(RECORD, change)))).toBe('malformed');
  });

  it('an IAMUser whose ARN is a session ARN (a published quirk) is malformed', () => {
    const r = record('iam-user-decrypt-denied.record.json', (x) => {
      x.userIdentity.arn = 'arn:aws:sts::111122223333:assumed-role/orders-consumer/i-0abc123';
    });
    expect(reasonOf(intake(r))).toBe('malformed');
  });

  it.each([
    ['AWSService', { type: 'AWSService', invokedBy: 'kinesis.amazonaws.com' }],
    ['AWSAccount', { type: 'AWSAccount', principalId: 'AROAEXAMPLE:s', accountId: '444455556666' }],
    ['no type', { accountId: ACCOUNT, invokedBy: 'AWS Internal' }],
    ['an unknown type', { type: 'IdentityCenterUser', arn: 'arn:aws:identitystore::111122223333:user/x' }],
  ])('a %s caller is an unsupported principal', (_what, userIdentity) => {
    expect(reasonOf(intake(record(RECORD, (r) => (r.userIdentity = userIdentity))))).toBe(
      'unsupported-principal',
    );
  });

  it.each([
    ['absent', undefined],
    ['a string', 'arn:aws:iam::111122223333:root'],
    ['an array', []],
  ])('a userIdentity that is %s is malformed', (_what, userIdentity) => {
    expect(reasonOf(intake(record(RECORD, (r) => (r.userIdentity = userIdentity))))).toBe('malformed');
  });

  it('a federated user matches with its issuing IAM user as principal', () => {
    const r = record(RECORD, (x) => {
      x.userIdentity = {
        type: 'FederatedUser',
        principalId: '111122223333:bob',
        arn: 'arn:aws:sts::111122223333:federated-user/bob',
        accountId: ACCOUNT,
        sessionContext: {
          sessionIssuer: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/alice', accountId: ACCOUNT },
        },
      };
    });
    expect(request(intake(r))).toMatchObject({
      principalType: 'FederatedUser',
      principalArn: 'arn:aws:iam::111122223333:user/alice',
      sessionArn: 'arn:aws:sts::111122223333:federated-user/bob',
    });
  });

  it('a federated user without an issuing user is malformed', () => {
    const r = record(RECORD, (x) => {
      x.userIdentity = { type: 'FederatedUser', arn: 'arn:aws:sts::111122223333:federated-user/bob' };
    });
    expect(reasonOf(intake(r))).toBe('malformed');
  });

  it('a root caller with a non-root ARN is malformed', () => {
    const r = record('root-decrypt-denied-via-kinesis.record.json', (x) => (x.userIdentity.arn = CONSUMER));
    expect(reasonOf(intake(r))).toBe('malformed');
  });
});

describe('the principal id (aws:userid)', () => {
  it.each([
    ['an assumed role', RECORD, 'AROACFCFFIDFDCFADIAAD:i-0abc123'],
    ['an IAM user', 'iam-user-decrypt-denied.record.json', 'AIDACBDIAGCJHFAEAAAFB'],
    ['the root user', 'root-decrypt-denied-via-kinesis.record.json', ACCOUNT],
    [
      'a cross-account role',
      'cross-account-decrypt-denied.eventbridge.json',
      'AROAACAACCADGEFCDFDIE:emr-job-42',
    ],
  ])('is kept for %s', (_what, name, principalId) => {
    expect(request(intake(loadEvent(name))).principalId).toBe(principalId);
  });

  it('is kept for a federated user as ACCOUNT:NAME', () => {
    const r = record(RECORD, (x) => {
      x.userIdentity = {
        type: 'FederatedUser',
        principalId: '111122223333:bob',
        arn: 'arn:aws:sts::111122223333:federated-user/bob',
        accountId: ACCOUNT,
        sessionContext: { sessionIssuer: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/alice' } },
      };
    });
    expect(request(intake(r)).principalId).toBe('111122223333:bob');
  });

  it.each([
    ['absent', (r: Json) => delete r.userIdentity.principalId],
    ['not a string', (r: Json) => (r.userIdentity.principalId = 7)],
    ['without the session name', (r: Json) => (r.userIdentity.principalId = 'AROACFCFFIDFDCFADIAAD')],
    ['of another session', (r: Json) => (r.userIdentity.principalId = 'AROACFCFFIDFDCFADIAAD:i-0fff999')],
    ['a user id for a role', (r: Json) => (r.userIdentity.principalId = 'AIDACBDIAGCJHFAEAAAFB:i-0abc123')],
    [
      "another role's id than the issuer's",
      (r: Json) => (r.userIdentity.principalId = 'AROADCCEEHAJFHBAGBIIF:i-0abc123'),
    ],
    ['a placeholder', (r: Json) => (r.userIdentity.principalId = 'EX_PRINCIPAL_ID')],
  ])('is left out, and the record still matches, when it is %s', (_what, change) => {
    const result = request(intake(record(RECORD, change)));
    expect(Object.hasOwn(result, 'principalId')).toBe(false);
  });

  it.each([
    ['an IAM user with a role id', 'iam-user-decrypt-denied.record.json', 'AROACFCFFIDFDCFADIAAD'],
    ['root with another account', 'root-decrypt-denied-via-kinesis.record.json', '444455556666'],
  ])('is left out for %s', (_what, name, principalId) => {
    const r = record(name, (x) => (x.userIdentity.principalId = principalId));
    expect(Object.hasOwn(request(intake(r)), 'principalId')).toBe(false);
  });
});

describe('the key', () => {
  it('prefers resources[] to the keyId alias', () => {
    const r = request(intake(loadEvent('producer-generatedatakey-denied-key-policy.eventbridge.json')));
    expect([r.keyArn, r.keyReference]).toEqual([KEY_ORDERS, null]);
  });

  it('takes a full-ARN keyId when there are no resources', () => {
    const r = record('producer-generatedatakey-denied.record.json', (x) => {
      delete x.resources;
      delete x.errorMessage;
    });
    expect(request(intake(r)).keyArn).toBe(KEY_ORDERS);
  });

  it.each([
    ['an alias ARN', 'arn:aws:kms:us-east-1:111122223333:alias/orders'],
    ['an alias name', 'alias/orders'],
    ['a key id', '1234abcd-12ab-34cd-56ef-1234567890ab'],
  ])('keeps %s keyId as a reference when no key ARN is known', (_what, keyId) => {
    const r = record('producer-generatedatakey-denied.record.json', (x) => {
      delete x.resources;
      delete x.errorMessage;
      x.requestParameters.keyId = keyId;
    });
    expect(request(intake(r))).toMatchObject({ keyArn: null, keyReference: keyId, keyAccountId: null });
  });

  it("takes the message's on-resource key ARN last", () => {
    const r = request(intake(loadEvent('consumer-decrypt-denied-no-resources.record.json')));
    expect(r.keyArn).toBe(KEY_ORDERS);
  });

  it.each([
    ['an alias ARN', 'arn:aws:kms:us-east-1:111122223333:alias/orders'],
    ['a key ARN of the wrong shape', 'arn:aws:kms:us-east-1:0123456789:key/0123456789abcdef'],
    ['a stream ARN', ORDERS],
  ])("ignores %s in the message's on resource", (_what, arn) => {
    const r = record('consumer-decrypt-denied-no-resources.record.json', (x) => {
      x.errorMessage = x.errorMessage.replace(KEY_ORDERS, arn);
    });
    expect(request(intake(r)).keyArn).toBeNull();
  });

  it('counts a resources[] entry without type when its ARN is a KMS ARN (older records)', () => {
    const r = record(RECORD, (x) => {
      delete x.resources[0].type;
      delete x.errorMessage;
    });
    expect(request(intake(r)).keyArn).toBe(KEY_ORDERS);
  });

  it('ignores resources[] entries that are not keys', () => {
    const r = record(RECORD, (x) => {
      x.resources.unshift({ type: 'AWS::Kinesis::Stream', ARN: ORDERS, accountId: ACCOUNT });
    });
    expect(request(intake(r)).keyArn).toBe(KEY_ORDERS);
  });

  it.each([
    ['resources as an object', (r: Json) => (r.resources = { ARN: KEY_ORDERS })],
    ['a resources[] entry that is a string', (r: Json) => (r.resources = [KEY_ORDERS])],
    [
      'a key resource with an alias ARN',
      (r: Json) => (r.resources[0].ARN = 'arn:aws:kms:us-east-1:111122223333:alias/orders'),
    ],
    ['a key resource without ARN', (r: Json) => delete r.resources[0].ARN],
    [
      'two different keys in resources',
      (r: Json) => r.resources.push({ type: 'AWS::KMS::Key', ARN: KEY_CLICKS }),
    ],
    ['a keyId key ARN other than the resource', (r: Json) => (r.requestParameters.keyId = KEY_CLICKS)],
    [
      'a keyId key id other than the resource',
      (r: Json) => (r.requestParameters.keyId = '0987dcba-09fe-87dc-65ba-ab0987654321'),
    ],
    ['a keyId that is no key reference', (r: Json) => (r.requestParameters.keyId = 'orders key')],
    ['a keyId that is a number', (r: Json) => (r.requestParameters.keyId = 1234)],
    [
      'a message naming another key than resources',
      (r: Json) => (r.errorMessage = r.errorMessage.replace(KEY_ORDERS, KEY_CLICKS)),
    ],
  ])('%s is malformed', (_what, change) => {
    expect(reasonOf(intake(record(RECORD, change)))).toBe('malformed');
  });
});

describe('partitions and Regions', () => {
  /** The consumer denial moved, every ARN and Region with it, to another partition. */
  function moved(partition: string, region: string): Json {
    const text = JSON.stringify(loadEvent(ENVELOPE));
    return JSON.parse(text.replaceAll('arn:aws:', `arn:${partition}:`).replaceAll('us-east-1', region));
  }

  it.each([
    ['aws-us-gov', 'us-gov-west-1'],
    ['aws-cn', 'cn-north-1'],
    ['aws-cn', 'cn-northwest-1'],
    ['aws-iso-b', 'us-isob-east-1'],
  ])('a denial in partition %s, Region %s matches with its ARNs', (partition, region) => {
    expect(request(intake(moved(partition, region)))).toMatchObject({
      region,
      principalArn: `arn:${partition}:iam::111122223333:role/service-role/orders-consumer`,
      keyArn: `arn:${partition}:kms:${region}:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
      streamArn: `arn:${partition}:kinesis:${region}:111122223333:stream/orders`,
    });
  });

  it.each([
    [
      'a stream in another Region',
      (r: Json) =>
        (r.requestParameters.encryptionContext['aws:kinesis:arn'] = ORDERS.replace('us-east-1', 'eu-west-1')),
    ],
    [
      'a stream in another partition',
      (r: Json) =>
        (r.requestParameters.encryptionContext['aws:kinesis:arn'] = ORDERS.replace(
          'arn:aws:',
          'arn:aws-cn:',
        )),
    ],
    [
      'a key in another Region',
      (r: Json) => {
        r.resources[0].ARN = KEY_ORDERS.replace('us-east-1', 'us-west-2');
        delete r.errorMessage;
      },
    ],
    ['a call recorded in another Region', (r: Json) => (r.awsRegion = 'eu-west-1')],
  ])('%s is malformed', (_what, change) => {
    expect(reasonOf(intake(record(RECORD, change)))).toBe('malformed');
  });
});

describe('the record envelope fields', () => {
  it.each([
    ['no eventID', (r: Json) => delete r.eventID],
    ['an eventID with spaces', (r: Json) => (r.eventID = 'a b')],
    ['no eventTime', (r: Json) => delete r.eventTime],
    ['an eventTime that is not ISO UTC', (r: Json) => (r.eventTime = 'June 1st')],
    ['a non-numeric recipientAccountId', (r: Json) => (r.recipientAccountId = 'AWS Internal')],
    ['a fake Region', (r: Json) => (r.awsRegion = 'euiso-south-3r')],
    ['no Region anywhere', (r: Json) => delete r.awsRegion],
  ])('%s is malformed', (_what, change) => {
    expect(reasonOf(intake(record(RECORD, change)))).toBe('malformed');
  });
});

describe('hostile input', () => {
  it('a throwing getter gives malformed, not an exception', () => {
    const r = record(RECORD);
    Object.defineProperty(r, 'userIdentity', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    expect(intake(r)).toEqual({
      match: false,
      reason: 'malformed',
      detail: 'unreadable input: reading a field threw',
    });
  });

  it('a polluted prototype does not answer for a missing field', () => {
    const r = record(RECORD, (x) => delete x.errorCode);
    const proto = Object.prototype as Json;
    proto.errorCode = 'AccessDenied';
    try {
      expect(reasonOf(intake(r))).toBe('not-a-denial');
    } finally {
      delete proto.errorCode;
    }
  });

  it('writes untrusted text past ASCII in the detail as escapes', () => {
    const result = intake(record(RECORD, (r) => (r.eventSource = 'kms\u202E.amazonaws.com\u001b[2J')));
    expect(result).toMatchObject({ match: false, reason: 'not-kms' });
    expect(!result.match && result.detail).toMatch(/^[\x20-\x7e]+$/);
    expect(!result.match && result.detail).toContain('kms\\u202e.amazonaws.com\\u001b[2J');
  });

  it('quotes and caps untrusted text in the detail', () => {
    const result = intake(record(RECORD, (r) => (r.eventSource = `"\n${'x'.repeat(100_000)}`)));
    expect(result).toMatchObject({ match: false, reason: 'not-kms' });
    expect(!result.match && result.detail.length).toBeLessThan(200);
    expect(!result.match && result.detail).not.toContain('\n');
  });
});
