import {
  arnPatternMatches,
  diagnosisWithoutNotes,
  mechanismAutomatic,
  notManagedByCloudFormation,
  principalInOwnAccount,
  principalOptedIn,
  staticGuardStop,
  underHourlyLimit,
} from '../../functions/core/auto-mode';

const ROLE = 'arn:aws:iam::111122223333:role/service-role/orders-consumer';

describe('arnPatternMatches', () => {
  it.each([
    ['arn:aws:iam::111122223333:role/*', true],
    ['arn:aws:iam::111122223333:role/service-role/orders-*', true],
    ['arn:aws:iam::*:role/service-role/orders-consume?', true],
    ['*', true],
    [ROLE, true],
    ['arn:aws:iam::111122223333:role/orders-*', false],
    ['arn:aws:iam::111122223333:role/service-role/orders-consumer?', false],
    ['arn:aws:iam::111122223333:role/service-role/ORDERS-*', false],
    ['arn:aws:iam::444455556666:role/*', false],
    ['', false],
  ])('%s matches the consumer role: %p', (pattern, expected) => {
    expect(arnPatternMatches(pattern, ROLE)).toBe(expected);
  });
});

describe('each guard stops an apply on its own', () => {
  const holds = {
    principalArn: ROLE,
    principalTags: { team: 'orders' } as Record<string, string>,
    mechanisms: ['kms-grant'] as const,
    ownAccountId: '111122223333',
  };
  const settings = {
    allowPrincipals: ['arn:aws:iam::111122223333:role/*'],
    allowCloudFormation: false,
    hourlyLimit: 10,
  };

  it('all hold: nothing stops', () => {
    expect(staticGuardStop(holds, settings)).toBeNull();
    expect(underHourlyLimit(9, 10)).toBeNull();
  });

  it.each([
    ['principal-not-opted-in', { ...holds }, { ...settings, allowPrincipals: [] }],
    ['mechanism-not-automatic', { ...holds, mechanisms: ['key-policy-statement'] as const }, settings],
    [
      'mechanism-not-automatic',
      { ...holds, mechanisms: ['kms-grant', 'key-policy-statement'] as const },
      settings,
    ],
    [
      'principal-in-another-account',
      { ...holds, principalArn: 'arn:aws:iam::444455556666:role/x' },
      { ...settings, allowPrincipals: ['*'] },
    ],
    [
      'managed-by-cloudformation',
      { ...holds, principalTags: { 'aws:cloudformation:stack-name': 'orders' } },
      settings,
    ],
  ])('%s', (guard, subject, config) => {
    expect(staticGuardStop(subject, config)).toMatchObject({ guard, reason: expect.any(String) });
  });

  it('diagnosis-has-notes: a note keeps the fix for a person, whatever else holds', () => {
    const note = {
      code: 'layer-disagreement' as const,
      message: 'AWS named the permissions-boundary policy',
    };
    expect(staticGuardStop({ ...holds, notes: [note] }, settings)).toEqual({
      guard: 'diagnosis-has-notes',
      reason: expect.stringContaining('layer-disagreement'),
    });
    expect(staticGuardStop({ ...holds, notes: [] }, settings)).toBeNull();
    expect(diagnosisWithoutNotes(undefined)).toBeNull();
  });

  it('hourly-limit-reached', () => {
    expect(underHourlyLimit(10, 10)).toMatchObject({ guard: 'hourly-limit-reached' });
  });

  it('the opt-in tag stands in for the allow-list, and only with the value true', () => {
    expect(principalOptedIn(ROLE, { 'keymend:auto-remediate': 'true' }, [])).toBeNull();
    expect(principalOptedIn(ROLE, { 'keymend:auto-remediate': 'yes' }, [])).not.toBeNull();
  });

  it('single guards', () => {
    expect(mechanismAutomatic('iam-inline-policy')).toBeNull();
    expect(principalInOwnAccount(ROLE, '111122223333')).toBeNull();
    expect(notManagedByCloudFormation({ 'aws:cloudformation:stack-name': 's' }, true)).toBeNull();
  });
});
