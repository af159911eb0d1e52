import { ENV } from '../../functions/commons/constants';
import { ConfigError } from '../../functions/commons/errors';
import { parseConfig } from '../../functions/core/config';

const VALID = {
  [ENV.tableName]: 'keymend-table',
  [ENV.emailTopicArn]: 'arn:aws:sns:us-east-1:111122223333:keymend-email',
  [ENV.decisionKeyId]: 'arn:aws:kms:us-east-1:111122223333:key/1111aaaa-22bb-33cc-44dd-555555eeeeee',
  [ENV.approvalUrl]: 'https://abc.lambda-url.us-east-1.on.aws/',
  [ENV.retiringPrincipal]: 'arn:aws:iam::111122223333:role/keymend/KeymendApprovalRole',
};

describe('parseConfig', () => {
  it('reads the required variables and applies the documented defaults', () => {
    expect(parseConfig(VALID)).toEqual({
      tableName: 'keymend-table',
      emailTopicArn: VALID[ENV.emailTopicArn],
      chatTopicArn: null,
      decisionKeyId: VALID[ENV.decisionKeyId],
      revokeKeyId: null,
      approvalUrl: 'https://abc.lambda-url.us-east-1.on.aws',
      mode: 'propose',
      autoApplyPrincipals: [],
      preferMechanism: 'kms-grant',
      linkTtlHours: 72,
      autoApplyHourlyLimit: 10,
      autoApplyCloudFormation: false,
      enabledMechanisms: ['kms-grant'],
      rejectSuppressHours: 168,
      retiringPrincipal: VALID[ENV.retiringPrincipal],
      notificationRoutes: [],
    });
  });

  it('reads every optional variable', () => {
    const config = parseConfig({
      ...VALID,
      [ENV.chatTopicArn]: 'arn:aws:sns:us-east-1:111122223333:keymend-chat',
      [ENV.mode]: 'auto',
      [ENV.autoApplyPrincipals]:
        'arn:aws:iam::111122223333:role/orders-*, arn:aws:iam::111122223333:role/app-?',
      [ENV.preferMechanism]: 'iam-inline-policy',
      [ENV.linkTtlHours]: '24',
      [ENV.autoApplyHourlyLimit]: '3',
      [ENV.autoApplyCloudFormation]: 'true',
      [ENV.enabledMechanisms]: 'kms-grant,key-policy-statement',
      [ENV.rejectSuppressHours]: '1',
      [ENV.notificationRoutes]:
        '444455556666=payments-alerts, ou-ab12-cdefgh34=arn:aws:sns:us-east-1:777788889999:data-alerts',
      [ENV.organizationId]: 'o-a1b2c3d4e5',
    });
    expect(config).toMatchObject({
      organizationId: 'o-a1b2c3d4e5',
      chatTopicArn: 'arn:aws:sns:us-east-1:111122223333:keymend-chat',
      mode: 'auto',
      autoApplyPrincipals: [
        'arn:aws:iam::111122223333:role/orders-*',
        'arn:aws:iam::111122223333:role/app-?',
      ],
      preferMechanism: 'iam-inline-policy',
      linkTtlHours: 24,
      autoApplyHourlyLimit: 3,
      autoApplyCloudFormation: true,
      enabledMechanisms: ['kms-grant', 'key-policy-statement'],
      rejectSuppressHours: 1,
      // Names are the topics the stack made beside the e-mail topic; ARNs stay as given; order kept.
      notificationRoutes: [
        { key: '444455556666', topicArn: 'arn:aws:sns:us-east-1:111122223333:payments-alerts' },
        { key: 'ou-ab12-cdefgh34', topicArn: 'arn:aws:sns:us-east-1:777788889999:data-alerts' },
      ],
    });
  });

  it('the approval function may go without its own URL, but not with a bad one', () => {
    const { [ENV.approvalUrl]: _url, ...withoutUrl } = VALID;
    expect(parseConfig(withoutUrl, { approvalUrl: 'optional' }).approvalUrl).toBe('');
    expect(() => parseConfig(withoutUrl)).toThrow(ConfigError);
    expect(() =>
      parseConfig({ ...withoutUrl, [ENV.approvalUrl]: 'ftp://x' }, { approvalUrl: 'optional' }),
    ).toThrow(new RegExp(`^${ENV.approvalUrl}: `));
  });

  it.each([
    [ENV.tableName, undefined],
    [ENV.tableName, 'a b'],
    [ENV.emailTopicArn, undefined],
    [ENV.emailTopicArn, 'keymend-email'],
    [ENV.chatTopicArn, 'not-an-arn'],
    [ENV.decisionKeyId, ''],
    [ENV.decisionKeyId, 'alias/keymend'],
    [ENV.revokeKeyId, 'not-an-arn'],
    [ENV.approvalUrl, 'http://example.com'],
    [ENV.approvalUrl, 'https://example.com/?x=1'],
    [ENV.approvalUrl, 'nope'],
    [ENV.mode, 'yolo'],
    [ENV.autoApplyPrincipals, 'orders-*'],
    [ENV.preferMechanism, 'kms:*'],
    [ENV.linkTtlHours, '0'],
    [ENV.linkTtlHours, '1.5'],
    [ENV.autoApplyHourlyLimit, '-1'],
    [ENV.autoApplyCloudFormation, 'yes'],
    [ENV.enabledMechanisms, 'kms-grant,everything'],
    [ENV.enabledMechanisms, ','],
    [ENV.rejectSuppressHours, 'seven days'],
    [ENV.notificationRoutes, '4444=payments'],
    [ENV.notificationRoutes, 'ou-ab12-cdefgh34'],
    [ENV.notificationRoutes, 'r-ab12=payments'],
    [ENV.notificationRoutes, '444455556666=payments.fifo'],
    [ENV.notificationRoutes, '444455556666=a,444455556666=b'],
    [ENV.organizationId, 'org-1'],
    [ENV.organizationId, 'o-A1B2C3D4E5'],
  ])('a bad %s (%p) fails naming the variable', (name, value) => {
    const env: Record<string, string | undefined> = { ...VALID, [name]: value };
    let thrown: unknown;
    try {
      parseConfig(env);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).variable).toBe(name);
    expect((thrown as ConfigError).message).toMatch(new RegExp(`^${name}: `));
  });
});
