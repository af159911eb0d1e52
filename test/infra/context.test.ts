import { type Stack, Token } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ContextError, parseContext } from '../../infra/context';
import { addKeymendStacks } from '../../infra/keymend-app';
import { newApp } from './synth';

const from = (context: Record<string, unknown>) => (key: string) => context[key];

describe('parseContext', () => {
  test('no context at all: one environment-agnostic stack with the construct defaults', () => {
    expect(parseContext(from({}))).toEqual({ regions: [], remediation: {} });
  });

  test('every key, as strings from the command line', () => {
    expect(
      parseContext(
        from({
          notificationEmail: 'ops@example.com, security@example.com',
          chatTopicArn: 'arn:aws:sns:us-east-1:111122223333:chat',
          mode: 'auto',
          autoApplyPrincipals: 'arn:aws:iam::111122223333:role/consumer-*,arn:aws:iam::111122223333:user/ci',
          preferMechanism: 'iam-inline-policy',
          linkTtlHours: '24',
          createTrail: 'true',
          regions: 'us-east-1,eu-west-1',
          enableInlinePolicy: 'true',
          enableKeyPolicyChanges: 'false',
          reservedConcurrency: '0',
        }),
      ),
    ).toEqual({
      regions: ['us-east-1', 'eu-west-1'],
      remediation: {
        notificationEmails: ['ops@example.com', 'security@example.com'],
        chatTopicArn: 'arn:aws:sns:us-east-1:111122223333:chat',
        mode: 'auto',
        autoApplyPrincipals: [
          'arn:aws:iam::111122223333:role/consumer-*',
          'arn:aws:iam::111122223333:user/ci',
        ],
        preferMechanism: 'iam-inline-policy',
        linkTtlHours: 24,
        createTrail: true,
        enableInlinePolicy: true,
        enableKeyPolicyChanges: false,
        reservedConcurrency: 0,
      },
    });
  });

  test('JSON values from cdk.json', () => {
    expect(
      parseContext(
        from({
          notificationEmail: ['ops@example.com'],
          linkTtlHours: 48,
          createTrail: false,
          regions: ['us-west-2'],
          reservedConcurrency: 10,
        }),
      ),
    ).toEqual({
      regions: ['us-west-2'],
      remediation: {
        notificationEmails: ['ops@example.com'],
        linkTtlHours: 48,
        createTrail: false,
        reservedConcurrency: 10,
      },
    });
  });

  test('empty values take the defaults', () => {
    expect(parseContext(from({ notificationEmail: '', mode: '', regions: '' }))).toEqual({
      regions: [],
      remediation: {},
    });
  });

  test.each([
    ['notificationEmail', 'ops@example.com,nobody', /'notificationEmail': 'nobody' is not an e-mail address/],
    ['notificationEmail', 42, /'notificationEmail': expected a comma-separated list/],
    ['chatTopicArn', 'arn:aws:sqs:us-east-1:111122223333:q', /'chatTopicArn': .* is not an SNS topic ARN/],
    ['mode', 'automatic', /'mode': expected 'propose' or 'auto', not 'automatic'/],
    ['autoApplyPrincipals', '*', /'autoApplyPrincipals': '\*' is not a role or user ARN pattern/],
    [
      'autoApplyPrincipals',
      'arn:aws:sts::111122223333:assumed-role/app/s',
      /'autoApplyPrincipals': .* is not a role or user ARN pattern/,
    ],
    ['preferMechanism', 'grant', /'preferMechanism': expected one of kms-grant, iam-inline-policy/],
    ['linkTtlHours', '0', /'linkTtlHours': expected a whole number of hours from 1 to 720/],
    ['linkTtlHours', '12h', /'linkTtlHours'/],
    ['linkTtlHours', 1000, /'linkTtlHours'/],
    ['createTrail', 'yes', /'createTrail': expected true or false, not 'yes'/],
    ['regions', 'us-east-1,moon-base', /'regions': 'moon-base' is not a Region name/],
    ['regions', 'us-east-1,us-east-1', /'regions': lists a Region twice/],
    ['enableInlinePolicy', 'true', /'enableInlinePolicy': needs autoApplyPrincipals/],
    ['autoApplyPrincipals', 'arn:aws:iam::*:role/*', /'autoApplyPrincipals': .*account '\*'/],
    ['autoApplyPrincipals', 'arn:aws:iam::111122223333:role/*', /'autoApplyPrincipals': .*only wildcards/],
    ['reservedConcurrency', '-1', /'reservedConcurrency': expected a whole number from 0/],
    ['reservedConcurrency', 'five', /'reservedConcurrency'/],
    ['reservedConcurrency', 1001, /'reservedConcurrency'/],
  ])('%s=%j is refused with an error naming the key', (key, value, message) => {
    let thrown: unknown;
    try {
      parseContext(from({ [key]: value }));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ContextError);
    expect((thrown as ContextError).key).toBe(key);
    expect((thrown as Error).message).toMatch(message);
  });
});

describe('addKeymendStacks', () => {
  test('no regions: one stack named Keymend, environment-agnostic', () => {
    const stacks = addKeymendStacks(newApp());
    expect(stacks.map((s) => s.stackName)).toEqual(['Keymend']);
    expect(Token.isUnresolved((stacks[0] as Stack).region)).toBe(true);
  });

  test('regions: one stack per Region, named after it; only the first creates the trail', () => {
    const stacks = addKeymendStacks(
      newApp({
        context: { regions: 'us-east-1,eu-west-1', createTrail: 'true', notificationEmail: 'a@example.com' },
      }),
    );
    expect(stacks.map((s) => [s.stackName, s.region])).toEqual([
      ['Keymend-us-east-1', 'us-east-1'],
      ['Keymend-eu-west-1', 'eu-west-1'],
    ]);
    expect(stacks.map((s) => s.remediation.trail !== undefined)).toEqual([true, false]);
    for (const stack of stacks) {
      Template.fromStack(stack).hasResourceProperties('AWS::SNS::Subscription', {
        Endpoint: 'a@example.com',
      });
    }
  });

  test('a bad context value fails the app with the key', () => {
    expect(() => addKeymendStacks(newApp({ context: { mode: 'fast' } }))).toThrow(/context key 'mode'/);
  });
});
