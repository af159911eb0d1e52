/**
 * Sign-in for approvals in the template (issue 21): the context keys reach the construct, the approval
 * function (only) gets the settings in its environment and may read the client secret, that one
 * secret and nothing more; a half configuration fails the synth naming the key.
 */
import { ContextError, parseContext } from '../../infra/context';
import { roleStatements, synth } from './synth';

const SECRET = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:keymend/oidc-client-AbCdEf';
const SIGN_IN = {
  issuer: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0',
  clientId: '11111111-2222-3333-4444-555555555555',
  clientSecretArn: SECRET,
  approverEmails: ['alice@example.com', 'bob@example.com'],
  approverGroups: ['kms-approvers'],
};
const from = (context: Record<string, unknown>) => (key: string) => context[key];

describe('sign-in in the stack', () => {
  const { stack, template } = synth({ signIn: SIGN_IN });

  it('puts the settings in the approval function environment, not the remediate function', () => {
    const variables = (fn: 'approvalFunction' | 'remediateFunction') => {
      const id = stack.getLogicalId(stack.remediation[fn].node.defaultChild as never);
      return template.toJSON().Resources[id].Properties.Environment.Variables as Record<string, unknown>;
    };
    expect(variables('approvalFunction')).toMatchObject({
      KEYMEND_OIDC_ISSUER: SIGN_IN.issuer,
      KEYMEND_OIDC_CLIENT_ID: SIGN_IN.clientId,
      KEYMEND_OIDC_CLIENT_SECRET_ARN: SECRET,
      KEYMEND_APPROVER_EMAILS: 'alice@example.com,bob@example.com',
      KEYMEND_APPROVER_GROUPS: 'kms-approvers',
      KEYMEND_OIDC_GROUPS_CLAIM: 'groups',
    });
    expect(Object.keys(variables('remediateFunction')).filter((k) => /OIDC|APPROVER/.test(k))).toEqual([]);
  });

  it('lets the approval role read that one secret, and the remediate role not at all', () => {
    const reads = (fn: 'approvalFunction' | 'remediateFunction') =>
      roleStatements(stack, template, fn).filter((s) => JSON.stringify(s.Resource ?? '').includes(SECRET));
    expect(reads('approvalFunction')).toEqual([
      expect.objectContaining({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: SECRET }),
    ]);
    expect(reads('remediateFunction')).toEqual([]);
  });

  it('without sign-in, the environment has none of it', () => {
    const plain = synth({});
    const id = plain.stack.getLogicalId(plain.stack.remediation.approvalFunction.node.defaultChild as never);
    const variables = plain.template.toJSON().Resources[id].Properties.Environment.Variables;
    expect(Object.keys(variables).filter((k: string) => /OIDC|APPROVER/.test(k))).toEqual([]);
  });

  it.each([
    [{ ...SIGN_IN, issuer: 'http://idp.example.com' }, /signIn.issuer must be an https URL/],
    [
      { ...SIGN_IN, clientSecretArn: 'keymend/oidc' },
      /signIn.clientSecretArn is not a Secrets Manager secret ARN/,
    ],
    [{ ...SIGN_IN, approverEmails: [], approverGroups: [] }, /must name someone/],
    [{ ...SIGN_IN, approverEmails: ['not-an-address'] }, /signIn.approverEmails holds 'not-an-address'/],
  ])('refuses %j', (signIn, message) => {
    expect(() => synth({ signIn })).toThrow(message);
  });
});

describe('sign-in context keys', () => {
  it('turn sign-in on with the issuer, the client, its secret and who may approve', () => {
    expect(
      parseContext(
        from({
          oidcIssuer: SIGN_IN.issuer,
          oidcClientId: SIGN_IN.clientId,
          oidcClientSecretArn: SECRET,
          approverEmails: 'alice@example.com, bob@example.com',
          approverGroups: ['kms-approvers'],
          oidcGroupsClaim: 'roles',
        }),
      ).remediation.signIn,
    ).toEqual({ ...SIGN_IN, groupsClaim: 'roles' });
  });

  it.each([
    [{ oidcClientId: 'x' }, 'oidcClientId', /needs oidcIssuer/],
    [
      { oidcIssuer: SIGN_IN.issuer, oidcClientSecretArn: SECRET, approverEmails: 'a@example.com' },
      'oidcClientId',
      /required/,
    ],
    [
      { oidcIssuer: SIGN_IN.issuer, oidcClientId: 'x', approverEmails: 'a@example.com' },
      'oidcClientSecretArn',
      /required/,
    ],
    [
      { oidcIssuer: SIGN_IN.issuer, oidcClientId: 'x', oidcClientSecretArn: SECRET },
      'approverEmails',
      /who may approve/,
    ],
    [
      { oidcIssuer: 'http://idp.example.com', oidcClientId: 'x', oidcClientSecretArn: SECRET },
      'oidcIssuer',
      /https/,
    ],
  ])('%j fails naming %s', (context, key, message) => {
    let error: unknown;
    try {
      parseContext(from(context));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ContextError);
    expect((error as ContextError).key).toBe(key);
    expect((error as Error).message).toMatch(message);
  });
});
