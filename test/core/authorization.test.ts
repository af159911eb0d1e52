/** buildPolicySet and requestPrincipal: from account state to what the evaluator takes. */

import { InputError, PolicyParseError } from '../../functions/commons/errors';
import type { KeyState, OrganizationState, PrincipalState } from '../../functions/core/account';
import { buildPolicySet, requestPrincipal } from '../../functions/core/authorization';
import { ORDERS_KEY as KEY, CONSUMER as ROLE } from '../helpers/arns';

const allow = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
const rcp = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*' }],
};

const principal: PrincipalState = {
  arn: ROLE,
  inlinePolicies: { inline: allow },
  managedPolicies: { 'arn:aws:iam::111122223333:policy/managed': allow },
  permissionsBoundary: allow,
  tags: { team: 'orders' },
};
const key: KeyState = {
  arn: KEY,
  keyManager: 'CUSTOMER',
  keyState: 'Enabled',
  policy: {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: '111122223333' }, Action: 'kms:*', Resource: '*' }],
  },
  grants: [{ grantId: 'g1', granteePrincipal: ROLE, operations: ['Decrypt'] }],
};
const organization: OrganizationState = {
  serviceControlPolicies: [[allow]],
  resourceControlPolicies: [[rcp]],
};

describe('buildPolicySet', () => {
  it('compiles every document under the names decidedBy reports', () => {
    const set = buildPolicySet({ principal, key, organization, resourceAccountId: '111122223333' });
    expect(set.identityPolicies.map((p) => p.name)).toEqual([
      'inline',
      'arn:aws:iam::111122223333:policy/managed',
    ]);
    expect(set.permissionsBoundary?.name).toBe('permissions-boundary');
    expect(set.resourcePolicy?.name).toBe('key-policy');
    expect(set.grants).toHaveLength(1);
    expect(set.serviceControlPolicies?.[0]?.[0]?.name).toBe('service-control-policies[0][0]');
    expect(set.resourceControlPolicies?.[0]?.[0]?.name).toBe('resource-control-policies[0][0]');
  });

  it.each([
    [
      'SCPs do not apply to a caller of another account (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html)',
      { ...principal, arn: 'arn:aws:iam::444455556666:role/analytics-reader' },
      key,
      false,
      true,
    ],
    [
      'SCPs do not apply to service-linked roles (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html)',
      {
        ...principal,
        arn: 'arn:aws:iam::111122223333:role/aws-service-role/kinesisanalytics.amazonaws.com/AWSServiceRoleForKinesisAnalytics',
      },
      key,
      false,
      true,
    ],
    [
      'RCPs do not apply to AWS managed keys (https://docs.aws.amazon.com/kms/latest/developerguide/resource-control-policies.html)',
      principal,
      { ...key, keyManager: 'AWS' as const },
      true,
      false,
    ],
  ])('%s', (_name, p, k, scps, rcps) => {
    const set = buildPolicySet({ principal: p, key: k, organization, resourceAccountId: '111122223333' });
    expect(set.serviceControlPolicies !== undefined).toBe(scps);
    expect(set.resourceControlPolicies !== undefined).toBe(rcps);
  });

  it('takes no state: no policies, no key policy', () => {
    const set = buildPolicySet({
      principal: null,
      key: null,
      organization: null,
      resourceAccountId: '111122223333',
    });
    expect(set).toEqual({ identityPolicies: [], resourceAccountId: '111122223333' });
  });

  it('throws PolicyParseError for a malformed document', () => {
    const bad = { ...principal, inlinePolicies: { broken: { Statement: [{ Effect: 'Permit' }] } } };
    expect(() =>
      buildPolicySet({ principal: bad, key, organization: null, resourceAccountId: '111122223333' }),
    ).toThrow(PolicyParseError);
  });
});

describe('requestPrincipal', () => {
  it.each([
    [
      'a role ARN with a session',
      {
        arn: ROLE,
        sessionArn: 'arn:aws:sts::111122223333:assumed-role/orders-consumer/i-1',
        state: principal,
      },
      {
        arn: ROLE,
        sessionArn: 'arn:aws:sts::111122223333:assumed-role/orders-consumer/i-1',
        accountId: '111122223333',
        type: 'AssumedRole',
        tags: { team: 'orders' },
      },
    ],
    [
      'a session ARN, the role taken from state (keeps its path)',
      { arn: 'arn:aws:sts::111122223333:assumed-role/orders-consumer/i-1', state: principal },
      {
        arn: ROLE,
        sessionArn: 'arn:aws:sts::111122223333:assumed-role/orders-consumer/i-1',
        accountId: '111122223333',
        type: 'AssumedRole',
        tags: { team: 'orders' },
      },
    ],
    [
      'a session ARN without state',
      { arn: 'arn:aws:sts::444455556666:assumed-role/analytics-reader/r' },
      {
        arn: 'arn:aws:iam::444455556666:role/analytics-reader',
        sessionArn: 'arn:aws:sts::444455556666:assumed-role/analytics-reader/r',
        accountId: '444455556666',
        type: 'AssumedRole',
      },
    ],
    [
      'a user',
      { arn: 'arn:aws:iam::111122223333:user/alice' },
      {
        arn: 'arn:aws:iam::111122223333:user/alice',
        accountId: '111122223333',
        type: 'IAMUser',
        username: 'alice',
      },
    ],
    [
      'the root user',
      { arn: 'arn:aws:iam::111122223333:root' },
      { arn: 'arn:aws:iam::111122223333:root', accountId: '111122223333', type: 'Root' },
    ],
  ])('reads %s', (_name, args, expected) => {
    expect(requestPrincipal(args)).toEqual(expected);
  });

  it('rejects anything else with InputError', () => {
    expect(() => requestPrincipal({ arn: 'arn:aws:kms:us-east-1:111122223333:key/x' })).toThrow(InputError);
  });
});
