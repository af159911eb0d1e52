import { parseDeniedBy } from '../../functions/core/denied-by';
import type { DeniedBy } from '../../functions/core/request';

const HEAD =
  'User: arn:aws:sts::111122223333:assumed-role/orders-consumer/i-0abc123 is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const SCP_ARN =
  'arn:aws:organizations::999988887777:policy/o-a1b2c3d4e5/service_control_policy/p-examplescp1';
const UNKNOWN: DeniedBy = { kind: 'unknown', policyType: null };
/** KMS's start when it hides the key: "on this resource", no ARN. */
const HIDDEN_HEAD =
  'User: arn:aws:sts::444455556666:assumed-role/analytics-reader/emr-job-42 is not authorized to perform: kms:GenerateDataKey on this resource';

describe('parseDeniedBy', () => {
  it.each<[string, unknown, DeniedBy]>([
    [
      'no identity-based policy',
      `${HEAD} because no identity-based policy allows the kms:Decrypt action`,
      { kind: 'implicit', policyType: 'identity-based' },
    ],
    [
      'no resource-based policy',
      `${HEAD} because no resource-based policy allows the kms:Decrypt action`,
      { kind: 'implicit', policyType: 'resource-based' },
    ],
    [
      'no permissions boundary',
      `${HEAD} because no permissions boundary allows the kms:Decrypt action`,
      { kind: 'implicit', policyType: 'permissions-boundary' },
    ],
    [
      'no session policy',
      `${HEAD} because no session policy allows the kms:Decrypt action`,
      { kind: 'implicit', policyType: 'session' },
    ],
    [
      'no service control policy',
      `${HEAD} because no service control policy allows the kms:Decrypt action`,
      { kind: 'implicit', policyType: 'service-control' },
    ],
    [
      'no VPC endpoint policy',
      `${HEAD} because no VPC endpoint policy allows the kms:Decrypt action`,
      { kind: 'implicit', policyType: 'vpc-endpoint' },
    ],
    [
      'explicit identity-based',
      `${HEAD} with an explicit deny in an identity-based policy`,
      { kind: 'explicit', policyType: 'identity-based' },
    ],
    [
      'explicit resource-based',
      `${HEAD} with an explicit deny in a resource-based policy`,
      { kind: 'explicit', policyType: 'resource-based' },
    ],
    [
      'explicit boundary',
      `${HEAD} with an explicit deny in a permissions boundary`,
      { kind: 'explicit', policyType: 'permissions-boundary' },
    ],
    [
      'explicit session policy',
      `${HEAD} with an explicit deny in a session policy`,
      { kind: 'explicit', policyType: 'session' },
    ],
    [
      'explicit SCP',
      `${HEAD} with an explicit deny in a service control policy`,
      { kind: 'explicit', policyType: 'service-control' },
    ],
    [
      'explicit RCP',
      `${HEAD} with an explicit deny in a resource control policy`,
      { kind: 'explicit', policyType: 'resource-control' },
    ],
    [
      'explicit VPC endpoint',
      `${HEAD} with an explicit deny in a VPC endpoint policy`,
      { kind: 'explicit', policyType: 'vpc-endpoint' },
    ],
    [
      'explicit SCP with its ARN',
      `${HEAD} with an explicit deny in a service control policy: ${SCP_ARN}`,
      { kind: 'explicit', policyType: 'service-control', policyArn: SCP_ARN },
    ],
    [
      'an ARN followed by a period',
      `${HEAD} with an explicit deny in a service control policy: ${SCP_ARN}.`,
      { kind: 'explicit', policyType: 'service-control', policyArn: SCP_ARN },
    ],
    [
      'an ARN followed by more text',
      `${HEAD} with an explicit deny in a service control policy: ${SCP_ARN}\nEncoded authorization failure message: abc`,
      { kind: 'explicit', policyType: 'service-control', policyArn: SCP_ARN },
    ],
    [
      'an identity-based policy ARN',
      `${HEAD} with an explicit deny in an identity-based policy: arn:aws:iam::111122223333:policy/DenyKms`,
      {
        kind: 'explicit',
        policyType: 'identity-based',
        policyArn: 'arn:aws:iam::111122223333:policy/DenyKms',
      },
    ],
    [
      'a suffix that is not an ARN',
      `${HEAD} with an explicit deny in a service control policy: arn:nonsense`,
      { kind: 'explicit', policyType: 'service-control' },
    ],
    [
      'an empty suffix',
      `${HEAD} with an explicit deny in a service control policy: `,
      { kind: 'explicit', policyType: 'service-control' },
    ],
    [
      'the "due to" wording, capitalised',
      `${HEAD} due to an explicit deny in a Service Control Policy`,
      { kind: 'explicit', policyType: 'service-control' },
    ],
    [
      'an explicit deny naming no policy',
      `${HEAD} with an explicit deny`,
      { kind: 'explicit', policyType: null },
    ],
    [
      "KMS's hidden key-policy wording (another account's key)",
      `${HIDDEN_HEAD} because the resource does not exist in this Region, no resource-based policies allow access, or a resource-based policy explicitly denies access`,
      { kind: 'unknown', policyType: 'resource-based' },
    ],
    [
      'the hidden wording for a ciphertext',
      'User: arn:aws:sts::444455556666:assumed-role/analytics-reader/emr-job-42 is not authorized to perform: kms:Decrypt on the resource associated with this ciphertext because the resource does not exist in this Region, no resource-based policies allow access, or a resource-based policy explicitly denies access',
      { kind: 'unknown', policyType: 'resource-based' },
    ],
    ['no because clause', HEAD, UNKNOWN],
    ['an unknown because clause', `${HEAD} because the resource does not exist in this Region`, UNKNOWN],
    ['an unknown policy type', `${HEAD} because no grant policy allows the kms:Decrypt action`, UNKNOWN],
    ['the S3 wording', 'Access Denied', UNKNOWN],
    ['an empty message', '', UNKNOWN],
    ['absent', undefined, UNKNOWN],
    ['null', null, UNKNOWN],
    ['a number', 403, UNKNOWN],
    ['an object', { message: 'with an explicit deny in a session policy' }, UNKNOWN],
  ])('%s', (_case, message, expected) => {
    expect(parseDeniedBy(message)).toEqual(expected);
  });

  it('reads only the start of a huge message: a clause past 4 KB is not seen', () => {
    const huge = `${HEAD} ${'x'.repeat(5000)} because no identity-based policy allows the kms:Decrypt action`;
    expect(parseDeniedBy(huge)).toEqual(UNKNOWN);
  });

  it('prefers the explicit deny when a message names both', () => {
    const both = `${HEAD} because no identity-based policy allows the kms:Decrypt action with an explicit deny in a resource control policy`;
    expect(parseDeniedBy(both)).toEqual({ kind: 'explicit', policyType: 'resource-control' });
  });
});
