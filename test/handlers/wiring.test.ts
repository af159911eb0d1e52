/**
 * The cold start's wiring (handlers/wiring.ts): a single-account stack's ports reach no other account;
 * an organization hub's (KEYMEND_ORGANIZATION_ID) reach member accounts through the member role, under
 * the organization's id; with a routing map (KEYMEND_NOTIFICATION_ROUTES) the publisher routes e-mails
 * and a router picks new problems' routes.
 */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
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

const sns = mockClient(SNSClient);
afterAll(() => sns.restore());

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

  it('with routes: e-mails of a routed account go to its topic, and a router picks new routes', async () => {
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    const wiring = awsWiring({ ...ENVIRONMENT, [ENV.notificationRoutes]: '444455556666=payments-alerts' });
    const ports = wiring.portsFor('999900001111');
    await expect(ports.router?.routeOf('444455556666')).resolves.toBe('444455556666');
    await ports.publisher.publish({
      topic: 'email',
      subject: 's',
      message: 'm',
      routing: { accountId: '444455556666' },
    });
    expect(sns.commandCalls(PublishCommand)[0]?.args[0].input.TopicArn).toBe(
      'arn:aws:sns:us-east-1:111122223333:payments-alerts',
    );
  });

  it('without routes: no router', () => {
    expect(awsWiring(ENVIRONMENT).portsFor('999900001111').router).toBeUndefined();
  });
});
