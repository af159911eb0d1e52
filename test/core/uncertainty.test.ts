/** The pieces of the uncertainty check: leaning a document, and the layer note. */
import { layerDisagreement } from '../../functions/core/layer-note';
import { leanDocument } from '../../functions/core/uncertainty';

const OPERATORS =
  'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html';
const DENIED = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html';
const isUnknown = (key: string) => key.toLowerCase() === 'aws:sourceip';

const perimeter = {
  Sid: 'Network',
  Effect: 'Deny',
  Action: '*',
  Resource: '*',
  Condition: {
    NotIpAddressIfExists: { 'aws:SourceIp': '192.0.2.0/24' },
    StringNotEqualsIfExists: { 'aws:SourceVpc': 'vpc-1', 'aws:SourceIp': 'x' },
  },
};
const fromOffice = {
  Sid: 'Office',
  Effect: 'Allow',
  Action: '*',
  Resource: '*',
  Condition: { IpAddress: { 'aws:SourceIp': '192.0.2.0/24' } },
};
const plain = { Sid: 'Plain', Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' };

describe('leanDocument', () => {
  it(`leaning toward allowing: an Allow keeps its other conditions (the unknown ones hold), a Deny drops out (${OPERATORS})`, () => {
    const leaned = leanDocument(
      { Version: '2012-10-17', Statement: [perimeter, fromOffice, plain] },
      isUnknown,
      'allow',
    );
    expect(leaned).toEqual({
      Version: '2012-10-17',
      Statement: [{ Sid: 'Office', Effect: 'Allow', Action: '*', Resource: '*' }, plain],
    });
  });

  it(`leaning toward denying: a Deny keeps its other conditions, an Allow drops out (${OPERATORS})`, () => {
    const leaned = leanDocument(
      { Version: '2012-10-17', Statement: [perimeter, fromOffice, plain] },
      isUnknown,
      'deny',
    );
    expect(leaned).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'Network',
          Effect: 'Deny',
          Action: '*',
          Resource: '*',
          Condition: { StringNotEqualsIfExists: { 'aws:SourceVpc': 'vpc-1' } },
        },
        plain,
      ],
    });
  });

  it('a single statement object is read too; a document without such statements is returned as is', () => {
    expect(leanDocument({ Version: '2012-10-17', Statement: fromOffice }, isUnknown, 'deny')).toEqual({
      Version: '2012-10-17',
      Statement: [],
    });
    const untouched = { Version: '2012-10-17', Statement: [plain] };
    expect(leanDocument(untouched, isUnknown, 'deny')).toBe(untouched);
  });
});

describe('layerDisagreement', () => {
  it.each([
    [
      `AWS names no layer (${DENIED})`,
      { kind: 'unknown', policyType: null },
      'implicit-deny',
      ['identity-based'],
      false,
    ],
    [
      `the layers agree (${DENIED})`,
      { kind: 'implicit', policyType: 'identity-based' },
      'implicit-deny',
      ['identity-based', 'resource-based'],
      false,
    ],
    [
      `AWS names the key policy, keymend finds IAM (${DENIED})`,
      { kind: 'implicit', policyType: 'resource-based' },
      'implicit-deny',
      ['identity-based'],
      true,
    ],
    [
      `AWS names an SCP deny, keymend finds none (${DENIED})`,
      { kind: 'explicit', policyType: 'service-control' },
      'implicit-deny',
      ['identity-based'],
      true,
    ],
    [
      `the request is allowed by now: diagnose says so itself (${DENIED})`,
      { kind: 'implicit', policyType: 'identity-based' },
      'allowed',
      [],
      false,
    ],
    [
      `a VPC endpoint policy: nothing to compare (${DENIED})`,
      { kind: 'explicit', policyType: 'vpc-endpoint' },
      'implicit-deny',
      ['identity-based'],
      false,
    ],
  ] as const)('%s', (_name, named, decision, layers, noted) => {
    const note = layerDisagreement(named, decision, layers);
    expect(note !== null).toBe(noted);
    if (note) expect(note.message).toContain(named.policyType as string);
  });
});
