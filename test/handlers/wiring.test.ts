/** The functions' cold start with a routing map: the publisher routes e-mails, a router is wired. */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { ENV } from '../../functions/commons/constants';
import { awsWiring } from '../../functions/handlers/wiring';

const ENVIRONMENT = {
  AWS_REGION: 'us-east-1',
  [ENV.tableName]: 'keymend-table',
  [ENV.emailTopicArn]: 'arn:aws:sns:us-east-1:999900001111:keymend-email',
  [ENV.decisionKeyId]: 'arn:aws:kms:us-east-1:999900001111:key/1111aaaa-22bb-33cc-44dd-555555eeeeee',
  [ENV.approvalUrl]: 'https://abc.lambda-url.us-east-1.on.aws/',
  [ENV.retiringPrincipal]: 'arn:aws:iam::999900001111:role/keymend/KeymendApprovalRole',
};

const sns = mockClient(SNSClient);
afterAll(() => sns.restore());

describe('awsWiring', () => {
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
      'arn:aws:sns:us-east-1:999900001111:payments-alerts',
    );
  });

  it('without routes: no router', () => {
    expect(awsWiring(ENVIRONMENT).portsFor('999900001111').router).toBeUndefined();
  });
});
