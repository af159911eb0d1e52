/** The request contexts keymend builds for KMS calls. */
import { createGrantRequest, kinesisKmsRequest, principalContext } from '../../functions/policy/context';
import type { RequestPrincipal } from '../../functions/policy/types';
import { ORDERS_KEY as KEY, ORDERS as STREAM } from '../helpers/arns';

const KMS_KEYS = 'https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html';
const GLOBAL_KEYS = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html';
const consumer: RequestPrincipal = {
  arn: 'arn:aws:iam::111122223333:role/service-role/orders-consumer',
  sessionArn: 'arn:aws:sts::111122223333:assumed-role/orders-consumer/i-0abc123',
  accountId: '111122223333',
  type: 'AssumedRole',
  tags: { team: 'orders' },
};

describe('request contexts', () => {
  it(`a KMS call from Kinesis carries kms:ViaService, the stream as encryption context and the caller's keys (${KMS_KEYS})`, () => {
    const request = kinesisKmsRequest({
      principal: consumer,
      action: 'kms:Decrypt',
      keyArn: KEY,
      streamArn: STREAM,
      region: 'us-east-1',
      viaKinesis: true,
    });
    expect(request).toEqual({
      principal: consumer,
      action: 'kms:Decrypt',
      resource: KEY,
      context: {
        'aws:PrincipalArn': consumer.arn,
        'aws:PrincipalAccount': '111122223333',
        'aws:PrincipalType': 'AssumedRole',
        'aws:PrincipalTag/team': 'orders',
        'aws:RequestedRegion': 'us-east-1',
        'aws:PrincipalIsAWSService': false,
        'kms:CallerAccount': '111122223333',
        'kms:EncryptionContextKeys': ['aws:kinesis:arn'],
        'kms:EncryptionContext:aws:kinesis:arn': STREAM,
        'kms:ViaService': 'kinesis.us-east-1.amazonaws.com',
      },
    });
  });

  it(`aws:RequestedRegion and aws:PrincipalIsAWSService are always in the context (${GLOBAL_KEYS}#condition-keys-requestedregion, #condition-keys-principalisawsservice)`, () => {
    for (const viaKinesis of [true, false]) {
      const request = kinesisKmsRequest({
        principal: consumer,
        action: 'kms:GenerateDataKey',
        keyArn: KEY.replace('us-east-1', 'eu-west-1'),
        streamArn: STREAM.replace('us-east-1', 'eu-west-1'),
        region: 'eu-west-1',
        viaKinesis,
      });
      expect(request.context['aws:RequestedRegion']).toBe('eu-west-1');
      expect(request.context['aws:PrincipalIsAWSService']).toBe(false);
    }
  });

  it('an operation that takes no encryption context (DescribeKey) carries none (https://docs.aws.amazon.com/kms/latest/developerguide/encrypt_context.html)', () => {
    const request = kinesisKmsRequest({
      principal: consumer,
      action: 'kms:DescribeKey',
      keyArn: KEY,
      streamArn: STREAM,
      region: 'us-east-1',
      viaKinesis: true,
    });
    expect(Object.keys(request.context).filter((k) => k.startsWith('kms:EncryptionContext'))).toEqual([]);
    expect(request.context['kms:ViaService']).toBe('kinesis.us-east-1.amazonaws.com');
  });

  it(`a direct call with the same encryption context has no kms:ViaService (${KMS_KEYS})`, () => {
    const request = kinesisKmsRequest({
      principal: consumer,
      action: 'kms:Decrypt',
      keyArn: KEY,
      streamArn: STREAM,
      region: 'us-east-1',
      viaKinesis: false,
    });
    expect(request.context['kms:ViaService']).toBeUndefined();
    expect(request.context['kms:EncryptionContext:aws:kinesis:arn']).toBe(STREAM);
    expect(request.context['aws:CalledVia']).toBeUndefined();
  });

  it('sets the forward-access-session keys only when asked (unconfirmed for Kinesis)', () => {
    const request = kinesisKmsRequest({
      principal: consumer,
      action: 'kms:Decrypt',
      keyArn: KEY,
      streamArn: STREAM,
      region: 'eu-west-1',
      viaKinesis: true,
      forwardAccessSession: true,
    });
    expect(request.context).toMatchObject({
      'kms:ViaService': 'kinesis.eu-west-1.amazonaws.com',
      'aws:CalledVia': ['kinesis.amazonaws.com'],
      'aws:ViaAWSService': true,
    });
  });

  it.each<[string, RequestPrincipal, Record<string, string>]>([
    [
      'an IAM user has aws:username and type User',
      {
        arn: 'arn:aws:iam::111122223333:user/alice',
        accountId: '111122223333',
        type: 'IAMUser',
        username: 'alice',
        userId: 'AIDAEXAMPLE',
      },
      { 'aws:username': 'alice', 'aws:PrincipalType': 'User', 'aws:userid': 'AIDAEXAMPLE' },
    ],
    [
      'root has type Account',
      { arn: 'arn:aws:iam::111122223333:root', accountId: '111122223333', type: 'Root' },
      { 'aws:PrincipalType': 'Account' },
    ],
  ])(`principal keys: %s (${GLOBAL_KEYS})`, (_name, principal, expected) => {
    expect(principalContext(principal)).toMatchObject(expected);
  });

  it('a role session has no aws:username', () => {
    expect(principalContext(consumer)['aws:username']).toBeUndefined();
  });

  it(`kms:CreateGrant carries the grant condition keys (${KMS_KEYS})`, () => {
    const request = createGrantRequest({
      principal: consumer,
      keyArn: KEY,
      granteePrincipal: consumer.arn,
      operations: ['Decrypt'],
      constraints: { encryptionContextSubset: { 'aws:kinesis:arn': STREAM } },
    });
    expect(request.action).toBe('kms:CreateGrant');
    expect(request.context).toMatchObject({
      'kms:GrantOperations': ['Decrypt'],
      'kms:GranteePrincipal': consumer.arn,
      'kms:GrantConstraintType': 'EncryptionContextSubset',
      'kms:GrantIsForAWSResource': false,
      'kms:EncryptionContext:aws:kinesis:arn': STREAM,
    });
  });
});
