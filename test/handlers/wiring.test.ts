/**
 * The cold start's wiring (handlers/wiring.ts): a single-account stack's ports reach no other account;
 * an organization hub's (KEYMEND_ORGANIZATION_ID) reach member accounts through the member role, under
 * the organization's id.
 */
import { ENV } from '../../functions/commons/constants';
import { awsWiring } from '../../functions/handlers/wiring';

const ENVIRONMENT = {
  AWS_REGION: 'us-east-1',
  [ENV.tableName]: 'keymend-table',
  [ENV.emailTopicArn]: 'arn:aws:sns:us-east-1:111122223333:keymend-email',
  [ENV.decisionKeyId]: 'arn:aws:kms:us-east-1:111122223333:key/1111aaaa-22bb-33cc-44dd-555555eeeeee',
  [ENV.approvalUrl]: 'https://abc.lambda-url.us-east-1.on.aws/',
  [ENV.retiringPrincipal]: 'arn:aws:iam::111122223333:role/keymend/KeymendApprovalRole',
};

describe('awsWiring', () => {
  it('a single-account stack reaches no other account', () => {
    expect(awsWiring(ENVIRONMENT).portsFor('111122223333').accounts).toBeUndefined();
  });

  it('an organization hub reaches member accounts, as keymend-<proposal id> only', () => {
    const ports = awsWiring({ ...ENVIRONMENT, [ENV.organizationId]: 'o-a1b2c3d4e5' }).portsFor(
      '111122223333',
    );
    expect(ports.accounts?.organizationId).toBe('o-a1b2c3d4e5');
    // Building a reader assumes nothing yet (credentials are fetched on the first read).
    expect(ports.accounts?.reader('444455556666', 'keymend-abc')?.accountId).toBe('444455556666');
    expect(ports.accounts?.reader('444455556666', 'someone-else')).toBeNull();
  });

  it('the remediate function in propose mode gets no writer in member accounts; the approval function does', () => {
    const hub = { ...ENVIRONMENT, [ENV.organizationId]: 'o-a1b2c3d4e5' };
    expect(
      awsWiring(hub).portsFor('111122223333').accounts?.writer('444455556666', 'keymend-abc'),
    ).toBeNull();
    const auto = { ...hub, [ENV.mode]: 'auto' };
    expect(
      awsWiring(auto).portsFor('111122223333').accounts?.writer('444455556666', 'keymend-abc'),
    ).not.toBeNull();
    const approval = awsWiring(hub, { approvalUrl: 'optional', fn: 'approval' });
    expect(approval.portsFor('111122223333').accounts?.writer('444455556666', 'keymend-abc')).not.toBeNull();
  });
});
