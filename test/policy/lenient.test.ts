/**
 * Policies AWS stores are read as AWS reads them: a key-policy statement that KMS accepts but that has no
 * effect is ignored, an Allow with NotPrincipal is evaluated, and only what AWS itself rejects is refused.
 */
import { PolicyParseError } from '../../functions/commons/errors';
import {
  type AuthorizationRequest,
  compilePolicy,
  evaluate,
  kinesisKmsRequest,
  type PolicySet,
  type RequestPrincipal,
} from '../../functions/policy';

const PUT_KEY_POLICY = 'https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html';
const NOT_PRINCIPAL =
  'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html';
const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const STREAM = 'arn:aws:kinesis:us-east-1:111122223333:stream/orders';
const ROLE = 'arn:aws:iam::111122223333:role/service-role/orders-consumer';
const consumer: RequestPrincipal = {
  arn: ROLE,
  sessionArn: 'arn:aws:sts::111122223333:assumed-role/orders-consumer/i-0abc123',
  accountId: '111122223333',
  type: 'AssumedRole',
};
const request: AuthorizationRequest = kinesisKmsRequest({
  principal: consumer,
  action: 'kms:Decrypt',
  keyArn: KEY,
  streamArn: STREAM,
  region: 'us-east-1',
  viaKinesis: true,
});
const delegate = {
  Sid: 'Enable IAM User Permissions',
  Effect: 'Allow',
  Principal: { AWS: 'arn:aws:iam::111122223333:root' },
  Action: 'kms:*',
  Resource: '*',
};
const allowDecrypt = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: KEY }],
};

function decide(keyPolicy: unknown, identity: unknown[] = [allowDecrypt]) {
  const policies: PolicySet<ReturnType<typeof compilePolicy>> = {
    identityPolicies: identity.map((d, i) => compilePolicy(d, `inline-${i}`, 'identity-based')),
    resourcePolicy: compilePolicy(keyPolicy, 'key-policy', 'resource-based'),
    resourceAccountId: '111122223333',
  };
  return evaluate(request, policies);
}

describe('lenient reading of key policies', () => {
  it.each([
    ['lacks Action', { Sid: 'NoAction', Effect: 'Deny', Principal: '*', Resource: '*' }],
    ['lacks Resource', { Sid: 'NoResource', Effect: 'Deny', Principal: '*', Action: 'kms:*' }],
    ['lacks both', { Sid: 'Neither', Effect: 'Deny', Principal: '*' }],
  ])(`a Deny that %s has no effect: KMS stores it and ignores it (${PUT_KEY_POLICY})`, (_name, odd) => {
    const result = decide({ Version: '2012-10-17', Statement: [delegate, odd] });
    expect(result.decision).toBe('allowed');
  });

  it(`an Allow that lacks Resource allows nothing (${PUT_KEY_POLICY})`, () => {
    const odd = { Sid: 'NoResource', Effect: 'Allow', Principal: { AWS: ROLE }, Action: 'kms:Decrypt' };
    expect(decide({ Version: '2012-10-17', Statement: [odd] }, []).decision).toBe('implicit-deny');
  });

  it(`an Allow with NotPrincipal allows whoever is not listed (${NOT_PRINCIPAL})`, () => {
    const others = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          NotPrincipal: { AWS: 'arn:aws:iam::444455556666:root' },
          Action: 'kms:Decrypt',
          Resource: '*',
        },
      ],
    };
    expect(decide(others, []).decision).toBe('allowed');
  });

  it(`an Allow with NotPrincipal naming the account, the role and the session allows none of them (${NOT_PRINCIPAL})`, () => {
    const listed = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          NotPrincipal: { AWS: ['arn:aws:iam::111122223333:root', ROLE, consumer.sessionArn as string] },
          Action: 'kms:Decrypt',
          Resource: '*',
        },
      ],
    };
    expect(decide(listed, []).decision).toBe('implicit-deny');
  });

  it.each([
    ['an identity policy without Resource', { Effect: 'Allow', Action: 'kms:Decrypt' }, 'identity-based'],
    ['an identity policy without Action', { Effect: 'Allow', Resource: '*' }, 'identity-based'],
    [
      'an Allow with NotPrincipal in an RCP',
      { Effect: 'Allow', NotPrincipal: '*', Action: '*', Resource: '*' },
      'resource-control',
    ],
  ] as const)('still refuses what AWS rejects: %s', (_name, statement, layer) => {
    expect(() => compilePolicy({ Version: '2012-10-17', Statement: [statement] }, 'p', layer)).toThrow(
      PolicyParseError,
    );
  });
});
