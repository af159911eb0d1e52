import { parseSignInConfig } from '../../functions/core/sign-in-config';

const SECRET = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:keymend/oidc-AbCdEf';
const ON = {
  KEYMEND_OIDC_ISSUER: 'https://example.okta.com/oauth2/default',
  KEYMEND_OIDC_CLIENT_ID: '0oa1b2c3',
  KEYMEND_OIDC_CLIENT_SECRET_ARN: SECRET,
  KEYMEND_APPROVER_EMAILS: ' alice@example.com ,bob@example.com',
};

describe('parseSignInConfig', () => {
  it('is off when no sign-in variable is set', () => {
    expect(parseSignInConfig({})).toBeNull();
  });

  it('reads the provider, the client, its secret and who may approve', () => {
    expect(parseSignInConfig({ ...ON, KEYMEND_APPROVER_GROUPS: 'kms-approvers' })).toEqual({
      issuer: ON.KEYMEND_OIDC_ISSUER,
      clientId: '0oa1b2c3',
      clientSecretArn: SECRET,
      rule: { emails: ['alice@example.com', 'bob@example.com'], groups: ['kms-approvers'] },
      groupsClaim: 'groups',
    });
  });

  it.each<[Record<string, string>, RegExp]>([
    [
      { KEYMEND_APPROVER_EMAILS: 'a@example.com' },
      /^KEYMEND_APPROVER_EMAILS: is set but KEYMEND_OIDC_ISSUER is not/,
    ],
    [{ ...ON, KEYMEND_OIDC_CLIENT_ID: '' }, /^KEYMEND_OIDC_CLIENT_ID: required/],
    [{ ...ON, KEYMEND_OIDC_CLIENT_SECRET_ARN: '' }, /^KEYMEND_OIDC_CLIENT_SECRET_ARN: required/],
    [
      { ...ON, KEYMEND_OIDC_CLIENT_SECRET_ARN: 'my-secret' },
      /^KEYMEND_OIDC_CLIENT_SECRET_ARN: expected a Secrets Manager/,
    ],
    [{ ...ON, KEYMEND_OIDC_ISSUER: 'http://idp.example.com' }, /^KEYMEND_OIDC_ISSUER: expected an https URL/],
    [
      { ...ON, KEYMEND_APPROVER_EMAILS: '' },
      /^KEYMEND_APPROVER_EMAILS: sign-in is on but nobody may approve/,
    ],
    [
      { ...ON, KEYMEND_APPROVER_EMAILS: 'alice' },
      /^KEYMEND_APPROVER_EMAILS: "alice" is not an e-mail address/,
    ],
  ])('%j: a ConfigError naming the variable', (env, message) => {
    expect(() => parseSignInConfig(env)).toThrow(message);
  });
});
