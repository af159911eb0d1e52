import { Match } from 'aws-cdk-lib/assertions';
import type { Role } from 'aws-cdk-lib/aws-iam';
import type { LogGroup } from 'aws-cdk-lib/aws-logs';
import { DEFAULT_LEASE_MS } from '../../functions/adapters/store';
import { CLAIM_LEASE_SECONDS, ENV, FUNCTION_TIMEOUT_SECONDS } from '../../functions/commons/constants';
import { SETTINGS } from '../../functions/commons/settings';
import { parseConfig } from '../../functions/core/config';
import { approvalStatements, type IamScope, remediateStatements, WRITE_ACTIONS } from '../../infra/iam';
import { APPROVAL_RESERVED_CONCURRENCY, type KeymendRemediationProps } from '../../infra/keymend-remediation';
import type { KeymendStack } from '../../infra/keymend-stack';
import { actionsOf, roleStatements, type Statement, synth, synthesized } from './synth';

const defaults = synth();
const EVERYTHING: KeymendRemediationProps = {
  mode: 'auto',
  autoApplyPrincipals: ['arn:aws:iam::111122223333:role/consumer-*'],
  enableInlinePolicy: true,
  enableKeyPolicyChanges: true,
  chatTopicArn: 'arn:aws:sns:eu-west-1:111122223333:keymend-chat',
  notificationEmails: ['ops@example.com', 'security@example.com'],
};
const everything = synth(EVERYTHING);

function only<T>(record: Record<string, T>): T {
  const values = Object.values(record);
  if (values.length !== 1) throw new Error(`expected exactly one, found ${values.length}`);
  return values[0] as T;
}

describe('the EventBridge rule', () => {
  test('matches denied KMS data-key calls from CloudTrail, read-only management events included', () => {
    defaults.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.kms'],
        'detail-type': ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['kms.amazonaws.com'],
          eventName: ['Decrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext'],
          errorCode: ['AccessDenied', 'AccessDeniedException'],
        },
      },
      State: 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
    });
    defaults.template.resourceCountIs('AWS::Events::Rule', 1);
  });

  test('targets the remediate function with retries and the dead-letter queue', () => {
    const { stack, template } = defaults;
    const rule = only(template.findResources('AWS::Events::Rule'));
    expect(rule.Properties.Targets).toEqual([
      {
        Id: 'Target0',
        Arn: stack.resolve(stack.remediation.remediateFunction.functionArn),
        RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 21600 },
        DeadLetterConfig: { Arn: stack.resolve(stack.remediation.deadLetterQueue.queueArn) },
      },
    ]);
  });
});

describe('the dead-letter queue', () => {
  test('is encrypted, refuses plain HTTP, and takes the failures of the rule and of the function', () => {
    const { stack, template } = defaults;
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    const queueArn = stack.resolve(stack.remediation.deadLetterQueue.queueArn);
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Principal: { Service: 'events.amazonaws.com' },
            Resource: queueArn,
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('diagnoses'),
      DeadLetterConfig: { TargetArn: queueArn },
    });
  });
});

describe('the dead-letter queue policy', () => {
  test('only the rule and the e-mail topic may send to it, over TLS only', () => {
    const { stack, template } = everything;
    const queueArn = stack.resolve(stack.remediation.deadLetterQueue.queueArn);
    const policy = only(template.findResources('AWS::SQS::QueuePolicy'));
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      {
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'sqs:*',
        Resource: queueArn,
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
      {
        Effect: 'Allow',
        Principal: { Service: 'sns.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: queueArn,
        Condition: { ArnEquals: { 'aws:SourceArn': stack.resolve(stack.remediation.emailTopic.topicArn) } },
      },
      {
        Sid: expect.any(String),
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: queueArn,
        Condition: { ArnEquals: { 'aws:SourceArn': stack.resolve(stack.remediation.rule.ruleArn) } },
      },
    ]);
  });
});

describe('the settings (functions/commons/settings.ts)', () => {
  /** The resources' variables, which the stack fills with tokens: stand-ins a parse accepts. */
  const RESOURCES = {
    [ENV.tableName]: 'keymend-table',
    [ENV.emailTopicArn]: 'arn:aws:sns:us-east-1:111122223333:keymend-email',
    [ENV.chatTopicArn]: '',
    [ENV.decisionKeyId]: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    [ENV.approvalUrl]: 'https://abc.lambda-url.us-east-1.on.aws',
    [ENV.retiringPrincipal]: 'arn:aws:iam::111122223333:role/keymend/approval',
  };
  const environmentOf = (
    deployment: ReturnType<typeof synth>,
    fn: 'remediateFunction' | 'approvalFunction',
  ) => {
    const { stack, template } = deployment;
    const logicalId = stack.getLogicalId(stack.remediation[fn].node.defaultChild as never);
    return template.toJSON().Resources[logicalId].Properties.Environment.Variables as Record<string, unknown>;
  };

  test.each(['remediateFunction', 'approvalFunction'] as const)(
    "the %s's synthesized environment sets every setting, to exactly the defaults the functions parse",
    (fn) => {
      const environment = environmentOf(defaults, fn);
      const settings = Object.fromEntries(
        Object.values(SETTINGS).map(({ env }) => [env, environment[env]]),
      ) as Record<string, string>;
      for (const [name, value] of Object.entries(settings))
        expect([name, typeof value]).toEqual([name, 'string']);
      expect(parseConfig({ ...RESOURCES, ...settings })).toEqual(parseConfig(RESOURCES));
    },
  );

  test('a setting given to the construct reaches the functions as the functions parse it', () => {
    const deployment = synth({
      linkTtlHours: 24,
      mode: 'auto',
      autoApplyPrincipals: ['arn:aws:iam::111122223333:role/a-*'],
    });
    const environment = environmentOf(deployment, 'remediateFunction') as Record<string, string>;
    const settings = Object.fromEntries(
      Object.values(SETTINGS).map(({ env }) => [env, environment[env] ?? '']),
    );
    expect(
      parseConfig({
        ...RESOURCES,
        ...settings,
        [ENV.autoApplyPrincipals]: environment[ENV.autoApplyPrincipals],
      }),
    ).toMatchObject({ linkTtlHours: 24, mode: 'auto', enabledMechanisms: ['kms-grant'] });
  });
});

describe('the functions', () => {
  test('both run nodejs24.x on arm64, bundled as ESM, with a log group of their own', () => {
    const { stack, template } = defaults;
    const functions = template.findResources('AWS::Lambda::Function');
    expect(Object.keys(functions)).toHaveLength(2);
    for (const fn of [stack.remediation.remediateFunction, stack.remediation.approvalFunction]) {
      const props = template.toJSON().Resources[stack.getLogicalId(fn.node.defaultChild as never)].Properties;
      expect(props.Runtime).toBe('nodejs24.x');
      expect(props.Architectures).toEqual(['arm64']);
      expect(props.Handler).toBe('index.handler');
      expect(props.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
      expect(props.LoggingConfig.LogGroup).toEqual({ Ref: expect.stringMatching(/Logs/) });
      expect(props.Timeout).toBeGreaterThanOrEqual(30);
      expect(props.MemorySize).toBe(512);
    }
    template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 90 }, 2);
  });

  test("every claim's lease outlasts the function holding it, and the remediate function's retry comes after it", () => {
    const { stack, template } = defaults;
    const timeoutOf = (fn: { node: { defaultChild: unknown } }): number =>
      template.toJSON().Resources[stack.getLogicalId(fn.node.defaultChild as never)].Properties.Timeout;
    const remediate = timeoutOf(stack.remediation.remediateFunction);
    const approval = timeoutOf(stack.remediation.approvalFunction);
    // The store's leases (event claim, fingerprint claim, `applying`) read the same constants.
    expect([remediate, approval]).toEqual([
      FUNCTION_TIMEOUT_SECONDS.remediate,
      FUNCTION_TIMEOUT_SECONDS.approval,
    ]);
    expect(DEFAULT_LEASE_MS / 1000).toBe(CLAIM_LEASE_SECONDS);
    expect(CLAIM_LEASE_SECONDS).toBeGreaterThan(remediate);
    expect(CLAIM_LEASE_SECONDS).toBeGreaterThan(approval);
    // Lambda retries a failed asynchronous invocation a minute after it ends: the event is free by then.
    expect(CLAIM_LEASE_SECONDS).toBeLessThan(remediate + 60);
  });

  test('both functions reserve concurrency (remediate: reservedConcurrency; approval: a fixed 2); 0 reserves none', () => {
    const remediate = synth({ reservedConcurrency: 3 });
    remediate.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('diagnoses'),
      ReservedConcurrentExecutions: 3,
    });
    defaults.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('diagnoses'),
      ReservedConcurrentExecutions: 5,
    });
    // A flood of requests to the public approval URL cannot take the account's whole concurrency.
    defaults.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('approval links'),
      ReservedConcurrentExecutions: APPROVAL_RESERVED_CONCURRENCY,
    });
    // Accounts with a low concurrency quota: a reservation would fail the stack's creation.
    synth({ reservedConcurrency: 0 }).template.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      { ReservedConcurrentExecutions: Match.absent() },
      2,
    );
    expect(() => synth({ reservedConcurrency: -1 })).toThrow(/reservedConcurrency/);
  });

  test('read their configuration from the environment variables commons/constants.ts names', () => {
    const { stack, template } = everything;
    const r = stack.remediation;
    const shared = {
      KEYMEND_TABLE: stack.resolve(r.table.tableName),
      KEYMEND_EMAIL_TOPIC_ARN: stack.resolve(r.emailTopic.topicArn),
      KEYMEND_CHAT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:111122223333:keymend-chat',
      KEYMEND_DECISION_KEY_ID: stack.resolve(r.decisionLinkKey.keyArn),
      KEYMEND_RETIRING_PRINCIPAL: stack.resolve((r.approvalFunction.role as Role).roleArn),
      KEYMEND_MODE: 'auto',
      KEYMEND_AUTO_APPLY_PRINCIPALS: 'arn:aws:iam::111122223333:role/consumer-*',
      KEYMEND_PREFER_MECHANISM: 'kms-grant',
      KEYMEND_LINK_TTL_HOURS: '72',
      KEYMEND_AUTO_APPLY_HOURLY_LIMIT: '10',
      KEYMEND_AUTO_APPLY_CLOUDFORMATION: 'false',
      KEYMEND_ENABLED_MECHANISMS: 'kms-grant,iam-inline-policy,key-policy-statement',
      KEYMEND_REJECT_SUPPRESS_HOURS: '168',
    };
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('diagnoses'),
      Environment: {
        Variables: Match.objectLike({
          ...shared,
          KEYMEND_APPROVAL_URL: stack.resolve(r.approvalUrl.url),
          // The remediate function is never told the key that signs revoke links.
          KEYMEND_REVOKE_KEY_ID: Match.absent(),
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('approval links'),
      Environment: {
        Variables: Match.objectLike({
          ...shared,
          KEYMEND_APPROVAL_URL: Match.absent(),
          KEYMEND_REVOKE_KEY_ID: stack.resolve(r.revokeLinkKey.keyArn),
        }),
      },
    });
  });

  test('defaults: propose mode, grants only, no chat topic', () => {
    defaults.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          KEYMEND_MODE: 'propose',
          KEYMEND_ENABLED_MECHANISMS: 'kms-grant',
          KEYMEND_CHAT_TOPIC_ARN: '',
          KEYMEND_AUTO_APPLY_PRINCIPALS: '',
        }),
      },
    });
  });
});

describe('the approval function URL', () => {
  test('is public (the signed token is the authentication) and invokes the approval function', () => {
    const { stack, template } = defaults;
    const approvalArn = stack.resolve(stack.remediation.approvalFunction.functionArn);
    template.resourceCountIs('AWS::Lambda::Url', 1);
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE', TargetFunctionArn: approvalArn });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunctionUrl',
      FunctionName: approvalArn,
      Principal: '*',
      FunctionUrlAuthType: 'NONE',
    });
    // Since October 2025 a public URL also needs lambda:InvokeFunction, limited to calls through the URL.
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: approvalArn,
      Principal: '*',
      InvokedViaFunctionUrl: true,
    });
    // Nothing else may invoke either function but the rule.
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission'));
    expect(permissions.map((p) => p.Properties.Principal).sort()).toEqual(['*', '*', 'events.amazonaws.com']);
  });
});

describe('the table', () => {
  test('keyed by pk, on demand, with TTL and point-in-time recovery, retained on delete and deletion-protected', () => {
    const table = only(defaults.template.findResources('AWS::DynamoDB::Table'));
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'status', AttributeType: 'S' },
        { AttributeName: 'updatedAt', AttributeType: 'S' },
      ],
      // The status index `keymend list --aws` reads: proposals by status, newest change first.
      GlobalSecondaryIndexes: [
        {
          IndexName: 'status-index',
          KeySchema: [
            { AttributeName: 'status', KeyType: 'HASH' },
            { AttributeName: 'updatedAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    });
  });
});

describe('the link-signing keys and the topics', () => {
  test('two KMS HMAC keys sign the links (no secret anywhere): the remediate role may sign decisions only', () => {
    const { stack, template } = everything;
    const r = stack.remediation;
    template.resourcePropertiesCountIs(
      'AWS::KMS::Key',
      { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' },
      2,
    );
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const remediate = roleStatements(stack, template, 'remediateFunction');
    const approval = roleStatements(stack, template, 'approvalFunction');
    const decision = stack.resolve(r.decisionLinkKey.keyArn);
    const revoke = stack.resolve(r.revokeLinkKey.keyArn);
    expect(remediate.filter((s) => JSON.stringify(s.Action).includes('Mac'))).toEqual([
      { Sid: 'SignDecisionLinks', Effect: 'Allow', Action: 'kms:GenerateMac', Resource: decision },
      {
        Sid: 'NeverSignRevokeLinks',
        Effect: 'Deny',
        Action: ['kms:GenerateMac', 'kms:VerifyMac'],
        Resource: revoke,
      },
    ]);
    expect(approval.filter((s) => JSON.stringify(s.Action).includes('Mac'))).toEqual([
      {
        Sid: 'SignAndCheckLinks',
        Effect: 'Allow',
        Action: ['kms:GenerateMac', 'kms:VerifyMac'],
        Resource: [decision, revoke].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      },
    ]);
  });

  test('the e-mail topic is KMS-encrypted, refuses plain HTTP, and subscribes each address', () => {
    const { stack, template } = everything;
    const topicArn = stack.resolve(stack.remediation.emailTopic.topicArn);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.resourceCountIs('AWS::SNS::Subscription', 2);
    for (const email of ['ops@example.com', 'security@example.com']) {
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: email,
        TopicArn: topicArn,
        RedrivePolicy: { deadLetterTargetArn: stack.resolve(stack.remediation.deadLetterQueue.queueArn) },
      });
    }
    // The chat topic is imported, never created.
    template.resourceCountIs('AWS::SNS::Topic', 1);
  });

  test('the topic policy lets this account`s keymend alarms publish, denies Publish to all but keymend, Subscribe outside the account', () => {
    const { stack, template } = defaults;
    const r = stack.remediation;
    const [policy, ...more] = Object.values(template.findResources('AWS::SNS::TopicPolicy'));
    expect(more).toEqual([]);
    const statements = policy?.Properties.PolicyDocument.Statement as Record<string, unknown>[];
    const bySid = (sid: string) => statements.find((st) => st.Sid === sid);
    const alarmArns = Object.keys(template.findResources('AWS::CloudWatch::Alarm')).map((id) => ({
      'Fn::GetAtt': [id, 'Arn'],
    }));
    expect(alarmArns).toHaveLength(5);
    expect(bySid('CloudWatchAlarmsPublish')).toEqual({
      Sid: 'CloudWatchAlarmsPublish',
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: 'sns:Publish',
      Resource: stack.resolve(r.emailTopic.topicArn),
      Condition: {
        StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
        ArnEquals: { 'aws:SourceArn': alarmArns },
      },
    });
    expect(bySid('PublishOnlyKeymendAndItsAlarms')).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'sns:Publish',
      Condition: {
        ArnNotEqualsIfExists: {
          'aws:PrincipalArn': [
            stack.resolve((r.approvalFunction.role as Role).roleArn),
            stack.resolve((r.remediateFunction.role as Role).roleArn),
          ],
        },
        StringNotEqualsIfExists: { 'aws:PrincipalServiceName': 'cloudwatch.amazonaws.com' },
      },
    });
    expect(bySid('SubscribeOnlyFromThisAccount')).toMatchObject({
      Effect: 'Deny',
      Action: 'sns:Subscribe',
      Condition: { StringNotEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } } },
    });
    // Every alarm's action is the topic these statements are on.
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toEqual([stack.resolve(r.emailTopic.topicArn)]);
    }
  });

  test('what stays when the stack is deleted: the table, the log groups; the topic key is scheduled for deletion', () => {
    const { template } = defaults;
    const policies = (type: string) =>
      Object.values(template.findResources(type)).map((r) => r.DeletionPolicy ?? 'Delete');
    expect(policies('AWS::DynamoDB::Table')).toEqual(['Retain']);
    expect(policies('AWS::Logs::LogGroup')).toEqual(['Retain', 'Retain']);
    // The topic key and the two link-signing HMAC keys.
    expect(policies('AWS::KMS::Key')).toEqual(['Delete', 'Delete', 'Delete']);
    template.hasResourceProperties('AWS::KMS::Key', { PendingWindowInDays: 7 });
  });

  test("the topic key lets CloudWatch alarms publish, from this account's alarms only", () => {
    defaults.template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ]),
      },
    });
  });
});

describe('alarms', () => {
  test('dead letters, errors and throttles of both functions alarm to the e-mail topic', () => {
    const { stack, template } = defaults;
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    const topic = stack.resolve(stack.remediation.emailTopic.topicArn);
    expect(alarms.map((a) => `${a.Properties.Namespace}/${a.Properties.MetricName}`).sort()).toEqual([
      'AWS/Lambda/Errors',
      'AWS/Lambda/Errors',
      'AWS/Lambda/Throttles',
      'AWS/Lambda/Throttles',
      'AWS/SQS/ApproximateNumberOfMessagesVisible',
    ]);
    for (const alarm of alarms) {
      expect(alarm.Properties).toMatchObject({
        AlarmActions: [topic],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        TreatMissingData: 'notBreaching',
      });
    }
  });
});

describe('the trail', () => {
  test('none by default', () => {
    defaults.template.resourceCountIs('AWS::CloudTrail::Trail', 0);
    defaults.template.resourceCountIs('AWS::S3::Bucket', 0);
  });

  test('createTrail: all management events in every Region, KMS not excluded, to an encrypted TLS-only bucket', () => {
    const { template } = synth({ createTrail: true });
    const trail = only(template.findResources('AWS::CloudTrail::Trail'));
    expect(trail.Properties).toMatchObject({
      IsLogging: true,
      IsMultiRegionTrail: true,
      EnableLogFileValidation: true,
      EventSelectors: [{ IncludeManagementEvents: true, ReadWriteType: 'All' }],
    });
    expect(trail.Properties.EventSelectors[0].ExcludeManagementEventSources).toBeUndefined();
    expect(trail.Properties.AdvancedEventSelectors).toBeUndefined();
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

/** The IAM scope the construct builds, with the stack's own resources. */
function iamScope(stack: KeymendStack): IamScope {
  const r = stack.remediation;
  return {
    partition: stack.partition,
    region: stack.region,
    account: stack.account,
    tableArn: r.table.tableArn,
    decisionKeyArn: r.decisionLinkKey.keyArn,
    revokeKeyArn: r.revokeLinkKey.keyArn,
    topicArns: [r.emailTopic.topicArn, ...(r.chatTopic ? [r.chatTopic.topicArn] : [])],
    topicKeyArn: r.emailTopic.masterKey?.keyArn as string,
    approvalRoleArn: (r.approvalFunction.role as Role).roleArn,
    ownRoleArns: [(r.approvalFunction.role as Role).roleArn, (r.remediateFunction.role as Role).roleArn],
  };
}

/** The statements every function has besides infra/iam.ts: its own logs (and the remediate function's dead letters). */
function plumbing(stack: KeymendStack, fn: 'remediateFunction' | 'approvalFunction'): Statement[] {
  const logGroup = stack.remediation[fn].node.scope?.node.tryFindChild(
    fn === 'remediateFunction' ? 'RemediateLogs' : 'ApprovalLogs',
  ) as LogGroup;
  const logs = {
    Sid: 'WriteOwnLogs',
    Effect: 'Allow',
    Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    Resource: stack.resolve(logGroup.logGroupArn),
  };
  if (fn === 'approvalFunction') return [logs];
  return [
    logs,
    {
      Effect: 'Allow',
      Action: 'sqs:SendMessage',
      Resource: stack.resolve(stack.remediation.deadLetterQueue.queueArn),
    },
  ];
}

describe("keymend's own IAM, every statement", () => {
  test.each([
    ['propose mode, defaults', {}],
    ['auto mode, grants only', { mode: 'auto' as const }],
    ['everything enabled', EVERYTHING],
    ['propose mode, everything else enabled', { ...EVERYTHING, mode: 'propose' as const }],
  ])('%s: each function has exactly its logs and the statements of infra/iam.ts', (_, props) => {
    const { stack, template } = synth(props);
    const powers = {
      mode: props.mode ?? 'propose',
      inlinePolicyPrincipals: props.enableInlinePolicy ? (props.autoApplyPrincipals ?? []) : [],
      keyPolicyChanges: props.enableKeyPolicyChanges ?? false,
    };
    const scope = iamScope(stack);
    expect(roleStatements(stack, template, 'remediateFunction')).toEqual([
      ...plumbing(stack, 'remediateFunction'),
      ...remediateStatements(scope, powers).map((s) => synthesized(stack, s)),
    ]);
    expect(roleStatements(stack, template, 'approvalFunction')).toEqual([
      ...plumbing(stack, 'approvalFunction'),
      ...approvalStatements(scope, powers).map((s) => synthesized(stack, s)),
    ]);
  });

  test('propose mode: the remediate function has no write action at all, even with every mechanism enabled', () => {
    const { stack, template } = synth({ ...EVERYTHING, mode: 'propose' });
    const actions = actionsOf(
      roleStatements(stack, template, 'remediateFunction').filter((s) => s.Effect === 'Allow'),
    );
    expect(actions.filter((a) => WRITE_ACTIONS.includes(a))).toEqual([]);
    expect(
      actions.filter((a) => /^(iam|kms):(Put|Delete|Create|Retire|Revoke|Update|Attach)/.test(a)),
    ).toEqual([]);
  });

  test('auto mode: CreateGrant with exactly the Kinesis grant conditions', () => {
    const { stack, template } = synth({ mode: 'auto' });
    const grant = roleStatements(stack, template, 'remediateFunction').find(
      (s) => s.Sid === 'CreateKinesisGrants',
    );
    expect(grant).toEqual({
      Sid: 'CreateKinesisGrants',
      Effect: 'Allow',
      Action: 'kms:CreateGrant',
      Resource: {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':kms:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':key/*',
          ],
        ],
      },
      Condition: {
        'ForAllValues:StringEquals': {
          'kms:GrantOperations': ['Decrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext'],
          'kms:EncryptionContextKeys': ['aws:kinesis:arn'],
        },
        'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': ['aws:kinesis:arn'] },
        StringEquals: {
          'kms:GrantConstraintType': 'EncryptionContextSubset',
          // The approval function's role, exactly: it alone can retire keymend's grants.
          'kms:RetiringPrincipal': stack.resolve((stack.remediation.approvalFunction.role as Role).roleArn),
        },
        StringLike: {
          'kms:GranteePrincipal': [
            {
              'Fn::Join': [
                '',
                ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/*'],
              ],
            },
            {
              'Fn::Join': [
                '',
                ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':user/*'],
              ],
            },
          ],
          'kms:EncryptionContext:aws:kinesis:arn': {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':kinesis:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                ':stream/*',
              ],
            ],
          },
        },
        BoolIfExists: { 'kms:GrantIsForAWSResource': 'false' },
      },
    });
  });

  test('key-policy changes: only the approval function, only when enabled, never bypassing the lockout check', () => {
    for (const { stack, template } of [defaults, everything]) {
      expect(actionsOf(roleStatements(stack, template, 'remediateFunction'))).not.toContain(
        'kms:PutKeyPolicy',
      );
    }
    expect(actionsOf(roleStatements(defaults.stack, defaults.template, 'approvalFunction'))).not.toContain(
      'kms:PutKeyPolicy',
    );
    const approval = roleStatements(everything.stack, everything.template, 'approvalFunction');
    const names = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
    expect(approval.filter((s) => names(s).includes('kms:PutKeyPolicy')).map((s) => s.Effect)).toEqual([
      'Allow',
      'Deny',
    ]);
  });

  test('inline policies: only on the configured role patterns', () => {
    const approval = roleStatements(everything.stack, everything.template, 'approvalFunction');
    expect(approval.find((s) => s.Sid === 'WriteRoleInlinePolicies')).toEqual({
      Sid: 'WriteRoleInlinePolicies',
      Effect: 'Allow',
      Action: ['iam:DeleteRolePolicy', 'iam:PutRolePolicy'],
      Resource: 'arn:aws:iam::111122223333:role/consumer-*',
    });
    expect(actionsOf(roleStatements(defaults.stack, defaults.template, 'approvalFunction'))).not.toContain(
      'iam:PutRolePolicy',
    );
  });

  test('no managed policies and no wildcard actions anywhere in the stack', () => {
    for (const { template } of [defaults, everything]) {
      for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
        expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      }
      for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
        for (const action of actionsOf(policy.Properties.PolicyDocument.Statement)) {
          expect(action).not.toContain('*');
        }
      }
    }
  });
});

describe('props', () => {
  test.each([
    [{ mode: 'yolo' as never }, /mode must be 'propose' or 'auto'/],
    [{ linkTtlHours: 0 }, /linkTtlHours must be an integer from 1 to 720/],
    [{ reservedConcurrency: 2.5 }, /reservedConcurrency/],
    [{ autoApplyHourlyLimit: 0 }, /autoApplyHourlyLimit must be an integer from 1 to 10000/],
    [{ rejectSuppressHours: -1 }, /rejectSuppressHours must be an integer from 1 to 8784/],
    [{ notificationEmails: ['not-an-address'] }, /notificationEmails holds 'not-an-address'/],
    [{ chatTopicArn: 'arn:aws:sqs:eu-west-1:111122223333:q' }, /chatTopicArn is not an SNS topic ARN/],
    [{ enableInlinePolicy: true }, /inlinePolicyPrincipals must name at least one/],
    [
      { enableInlinePolicy: true, inlinePolicyPrincipals: ['arn:aws:iam::111122223333:group/g'] },
      /not a role or user ARN pattern/,
    ],
    [{ preferMechanism: 'magic' as never }, /preferMechanism must be one of/],
  ])('%j is refused', (props, message) => {
    expect(() => synth(props)).toThrow(message);
  });
});

describe('the outputs keymend apply --aws reads', () => {
  test('EnabledMechanisms: grants only by default, and no InlinePolicyPrincipals', () => {
    defaults.template.hasOutput('EnabledMechanisms', { Value: 'kms-grant' });
    expect(defaults.template.findOutputs('InlinePolicyPrincipals')).toEqual({});
  });

  test('what the props enable, as the functions are told (KEYMEND_ENABLED_MECHANISMS) and the role may write', () => {
    everything.template.hasOutput('EnabledMechanisms', {
      Value: 'kms-grant,iam-inline-policy,key-policy-statement',
    });
    everything.template.hasOutput('InlinePolicyPrincipals', {
      Value: 'arn:aws:iam::111122223333:role/consumer-*',
    });
    const { stack, template } = everything;
    const logicalId = stack.getLogicalId(stack.remediation.approvalFunction.node.defaultChild as never);
    const environment = template.toJSON().Resources[logicalId].Properties.Environment.Variables;
    expect(environment[SETTINGS.enabledMechanisms.env]).toBe(
      template.toJSON().Outputs.EnabledMechanisms.Value,
    );
  });

  test('InlinePolicyPrincipals names the inlinePolicyPrincipals prop when given', () => {
    synth({
      enableInlinePolicy: true,
      inlinePolicyPrincipals: [
        'arn:aws:iam::111122223333:role/service-role/orders-*',
        'arn:aws:iam::111122223333:user/alice',
      ],
    }).template.hasOutput('InlinePolicyPrincipals', {
      Value: 'arn:aws:iam::111122223333:role/service-role/orders-*,arn:aws:iam::111122223333:user/alice',
    });
  });
});
