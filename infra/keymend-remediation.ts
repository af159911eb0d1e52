/**
 * `KeymendRemediation`: everything keymend needs in one account and Region, as a construct that
 * drops into any CDK app. Safe by default: propose mode, grants only, no key-policy changes.
 */
import * as path from 'node:path';
import { Aws, Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { parseTopicArn, principalPatternKind } from '../functions/commons/arn';
import {
  ACCESS_DENIED_ERROR_CODES,
  ENV,
  FUNCTION_TIMEOUT_SECONDS,
  HANDLED_KMS_EVENT_NAMES,
  HANDLER_ENTRIES,
  TABLE,
} from '../functions/commons/constants';
import type { Mechanism, Mode, WholeNumberSetting } from '../functions/commons/settings';
import { EMAIL_ADDRESS, inRange, isOneOf, MECHANISMS, MODES, SETTINGS } from '../functions/commons/settings';
import { BUNDLING } from './bundling';
import { approvalStatements, type IamScope, remediateStatements, type WritePowers } from './iam';

export interface KeymendRemediationProps {
  /**
   * E-mail addresses subscribed to the notification topic (each must confirm its subscription).
   * @default - no subscription: subscribe to the topic yourself
   */
  readonly notificationEmails?: string[];
  /**
   * An existing SNS topic wired to AWS Chatbot / Amazon Q Developer in chat applications.
   * @default - no chat notifications
   */
  readonly chatTopicArn?: string;
  /**
   * `propose`: every fix waits for a person's approval. `auto`: fixes for allow-listed principals
   * are applied without one (grants and inline policies only; key policies never).
   * @default 'propose'
   */
  readonly mode?: Mode;
  /**
   * ARN patterns (IAM wildcards `*` and `?`) of the principals auto mode may fix.
   * @default - none: only principals tagged `keymend:auto-remediate=true`
   */
  readonly autoApplyPrincipals?: string[];
  /**
   * The mechanism keymend plans first.
   * @default 'kms-grant'
   */
  readonly preferMechanism?: Mechanism;
  /**
   * How long approval links work, in hours (1 to 720).
   * @default 72
   */
  readonly linkTtlHours?: number;
  /**
   * At most this many automatic applies per hour (1 to 10,000).
   * @default 10
   */
  readonly autoApplyHourlyLimit?: number;
  /**
   * Whether auto mode may change principals managed by CloudFormation (a live change drifts
   * from the template).
   * @default false
   */
  readonly autoApplyCloudFormation?: boolean;
  /**
   * How long a rejected problem stays quiet, in hours (1 to 8,784: a year).
   * @default 168 (seven days)
   */
  readonly rejectSuppressHours?: number;
  /**
   * Whether keymend may write inline IAM policies (`iam:PutRolePolicy` / `PutUserPolicy`, and the
   * deletes that revoke them). Only on the principals `inlinePolicyPrincipals` names.
   * @default false
   */
  readonly enableInlinePolicy?: boolean;
  /**
   * ARN patterns of the roles (`arn:aws:iam::ACCOUNT:role/...`) and users (`...:user/...`) whose
   * inline policies keymend may write, when `enableInlinePolicy` is true. Required then.
   * @default - `autoApplyPrincipals`
   */
  readonly inlinePolicyPrincipals?: string[];
  /**
   * Whether an approval may replace a key policy (`kms:PutKeyPolicy`, approval function only;
   * never in auto mode).
   * @default false
   */
  readonly enableKeyPolicyChanges?: boolean;
  /**
   * Create a multi-Region CloudTrail trail logging all management events (KMS included) to an
   * encrypted bucket. Only needed when the account has no trail: EventBridge receives the events
   * of an account whose trail does not exclude KMS events.
   * @default false
   */
  readonly createTrail?: boolean;
  /**
   * Reserved concurrency of the remediate function, so a storm of denials queues instead of
   * throttling IAM (whose rate limits cannot be raised).
   * @default 5
   */
  readonly reservedConcurrency?: number;
  /**
   * Retention of the functions' log groups.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The repository root holding `functions/` and `package-lock.json`.
   * @default - this repository
   */
  readonly projectRoot?: string;
}

/** The construct's own defaults; the functions' settings take theirs from commons/settings.ts. */
const DEFAULTS = {
  reservedConcurrency: 5,
  logRetention: logs.RetentionDays.THREE_MONTHS,
};

/** Throws on props no deployment should accept, naming the prop. */
function checkProps(props: KeymendRemediationProps): void {
  const fail = (prop: string, why: string): never => {
    throw new Error(`KeymendRemediation: ${prop} ${why}`);
  };
  if (props.mode !== undefined && !isOneOf(MODES, props.mode)) {
    fail('mode', `must be ${MODES.map((m) => `'${m}'`).join(' or ')}, not '${String(props.mode)}'`);
  }
  if (props.preferMechanism !== undefined && !isOneOf(MECHANISMS, props.preferMechanism)) {
    fail('preferMechanism', `must be one of ${MECHANISMS.join(', ')}`);
  }
  const integer = (prop: string, value: number | undefined, setting: WholeNumberSetting) => {
    if (value !== undefined && !inRange(setting, value)) {
      fail(prop, `must be an integer from ${setting.min} to ${setting.max}, not ${value}`);
    }
  };
  integer('linkTtlHours', props.linkTtlHours, SETTINGS.linkTtlHours);
  integer('autoApplyHourlyLimit', props.autoApplyHourlyLimit, SETTINGS.autoApplyHourlyLimit);
  integer('rejectSuppressHours', props.rejectSuppressHours, SETTINGS.rejectSuppressHours);
  integer('reservedConcurrency', props.reservedConcurrency, { env: '', default: 5, min: 1, max: 1000 });
  for (const email of props.notificationEmails ?? []) {
    if (!EMAIL_ADDRESS.test(email)) {
      fail('notificationEmails', `holds '${email}', which is not an e-mail address`);
    }
  }
  if (props.chatTopicArn !== undefined && !Token.isUnresolved(props.chatTopicArn)) {
    if (parseTopicArn(props.chatTopicArn) === null) fail('chatTopicArn', `is not an SNS topic ARN`);
  }
  for (const pattern of props.autoApplyPrincipals ?? []) {
    if (principalPatternKind(pattern) === undefined) {
      fail('autoApplyPrincipals', `holds '${pattern}', which is not a role or user ARN pattern`);
    }
  }
  if (props.enableInlinePolicy) {
    const patterns = props.inlinePolicyPrincipals ?? props.autoApplyPrincipals ?? [];
    if (patterns.length === 0) {
      fail(
        'inlinePolicyPrincipals',
        'must name at least one role or user ARN pattern when enableInlinePolicy is true',
      );
    }
    for (const pattern of patterns) {
      if (principalPatternKind(pattern) === undefined) {
        fail('inlinePolicyPrincipals', `holds '${pattern}', which is not a role or user ARN pattern`);
      }
    }
  }
}

/** What keymend's roles may write (infra/iam.ts), from the props. */
function writePowers(props: KeymendRemediationProps): WritePowers {
  return {
    mode: props.mode ?? SETTINGS.mode.default,
    inlinePolicyPrincipals: props.enableInlinePolicy
      ? (props.inlinePolicyPrincipals ?? props.autoApplyPrincipals ?? [])
      : [],
    keyPolicyChanges: props.enableKeyPolicyChanges ?? false,
  };
}

/** The mechanisms the functions may apply: the default (grants), and what the props enable. */
function enabledMechanisms(props: KeymendRemediationProps): Mechanism[] {
  return [
    ...SETTINGS.enabledMechanisms.default,
    ...(props.enableInlinePolicy ? (['iam-inline-policy'] as const) : []),
    ...(props.enableKeyPolicyChanges ? (['key-policy-statement'] as const) : []),
  ];
}

/** What both functions share. */
interface SharedFunctionOptions {
  environment: Record<string, string>;
  projectRoot: string;
  logRetention: logs.RetentionDays;
}

/** The repository root: infra/ sits directly under it. */
const REPOSITORY_ROOT = path.resolve(__dirname, '..');

/**
 * keymend in one account and Region: the EventBridge rule on KMS denials, the remediate and approval
 * functions, the proposal table, the approval-token secret, notification topics and alarms.
 */
export class KeymendRemediation extends Construct {
  readonly table: dynamodb.Table;
  readonly secret: secretsmanager.Secret;
  readonly emailTopic: sns.Topic;
  readonly chatTopic?: sns.ITopic;
  readonly deadLetterQueue: sqs.Queue;
  readonly rule: events.Rule;
  readonly remediateFunction: nodejs.NodejsFunction;
  readonly approvalFunction: nodejs.NodejsFunction;
  readonly approvalUrl: lambda.FunctionUrl;
  readonly trail?: cloudtrail.Trail;

  constructor(scope: Construct, id: string, props: KeymendRemediationProps = {}) {
    super(scope, id);
    checkProps(props);
    const powers = writePowers(props);
    this.table = this.createTable();
    this.secret = this.createSecret();
    this.deadLetterQueue = this.createDeadLetterQueue();
    const topicKey = this.createTopicKey();
    this.emailTopic = this.createEmailTopic(topicKey, props.notificationEmails ?? []);
    if (props.chatTopicArn !== undefined) {
      this.chatTopic = sns.Topic.fromTopicArn(this, 'ChatTopic', props.chatTopicArn);
    }
    const shared = {
      environment: this.functionEnvironment(props),
      projectRoot: props.projectRoot ?? REPOSITORY_ROOT,
      logRetention: props.logRetention ?? DEFAULTS.logRetention,
    };
    // Approval first: the remediate function's links point at its URL.
    this.approvalFunction = this.createApprovalFunction(shared);
    this.approvalUrl = this.createApprovalUrl(this.approvalFunction);
    this.remediateFunction = this.createRemediateFunction(shared, props.reservedConcurrency);
    this.grantPowers(powers, topicKey);
    this.rule = this.createRule(this.remediateFunction);
    this.addAlarms();
    if (props.createTrail) this.trail = this.createTrail();
  }

  /** The proposal table: one partition key, TTL, point-in-time recovery; kept when the stack goes. */
  private createTable(): dynamodb.Table {
    return new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // The audit trail of every change keymend made outlives the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** The key that signs approval links. */
  private createSecret(): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, 'ApprovalSecret', {
      description: 'keymend: the HMAC key that signs approval links',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The approval-link signing key is not rotated automatically: rotation would invalidate every ' +
        'outstanding approval link. Rotate it by hand (put-secret-value) when needed; links expire within linkTtlHours.',
    });
    return secret;
  }

  /** The key of the notification topic, usable by CloudWatch alarms publishing to it. */
  private createTopicKey(): kms.Key {
    const topicKey = new kms.Key(this, 'TopicKey', {
      description: "keymend: encrypts keymend's notification topic",
      enableKeyRotation: true,
      // It only protects notifications in transit: nothing is left to decrypt once the stack is gone.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    // CloudWatch alarms publish to the topic: the service needs a data key.
    topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    return topicKey;
  }

  /** The e-mail topic, encrypted, with a subscription per address (undeliverable ones to the DLQ). */
  private createEmailTopic(topicKey: kms.IKey, emails: readonly string[]): sns.Topic {
    const topic = new sns.Topic(this, 'EmailTopic', {
      displayName: 'keymend',
      masterKey: topicKey,
      enforceSSL: true,
    });
    // A notification SNS cannot deliver lands in the dead-letter queue too, and raises its alarm.
    for (const email of emails) {
      topic.addSubscription(
        new subscriptions.EmailSubscription(email, { deadLetterQueue: this.deadLetterQueue }),
      );
    }
    return topic;
  }

  /** Where the events the remediate function could not handle, and undeliverable e-mails, end up. */
  private createDeadLetterQueue(): sqs.Queue {
    const queue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(queue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason: 'This queue is itself the dead-letter queue; nothing consumes it but a person investigating.',
    });
    Validations.of(queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the rule target and the remediate function.',
    });
    return queue;
  }

  /**
   * The functions' environment: every setting of commons/settings.ts, from the props or its default
   * (functions/core/config.ts parses exactly these; a test checks they agree).
   */
  private functionEnvironment(props: KeymendRemediationProps): Record<string, string> {
    return {
      [ENV.tableName]: this.table.tableName,
      [ENV.emailTopicArn]: this.emailTopic.topicArn,
      [ENV.chatTopicArn]: this.chatTopic?.topicArn ?? '',
      [ENV.secretId]: this.secret.secretArn,
      [SETTINGS.mode.env]: props.mode ?? SETTINGS.mode.default,
      [ENV.autoApplyPrincipals]: (props.autoApplyPrincipals ?? []).join(','),
      [SETTINGS.preferMechanism.env]: props.preferMechanism ?? SETTINGS.preferMechanism.default,
      [SETTINGS.linkTtlHours.env]: String(props.linkTtlHours ?? SETTINGS.linkTtlHours.default),
      [SETTINGS.autoApplyHourlyLimit.env]: String(
        props.autoApplyHourlyLimit ?? SETTINGS.autoApplyHourlyLimit.default,
      ),
      [SETTINGS.autoApplyCloudFormation.env]: String(
        props.autoApplyCloudFormation ?? SETTINGS.autoApplyCloudFormation.default,
      ),
      [SETTINGS.enabledMechanisms.env]: enabledMechanisms(props).join(','),
      [SETTINGS.rejectSuppressHours.env]: String(
        props.rejectSuppressHours ?? SETTINGS.rejectSuppressHours.default,
      ),
      POWERTOOLS_SERVICE_NAME: 'keymend',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      // Stack traces through the bundle's source maps.
      NODE_OPTIONS: '--enable-source-maps',
    };
  }

  private createApprovalFunction(shared: SharedFunctionOptions): nodejs.NodejsFunction {
    const fn = this.keymendFunction('Approval', {
      ...shared,
      entry: path.join(shared.projectRoot, HANDLER_ENTRIES.approval),
      description:
        'keymend: approval links (GET shows the change; POST with a signed token approves, rejects, revokes)',
      memorySize: 512,
      timeout: Duration.seconds(FUNCTION_TIMEOUT_SECONDS.approval),
    });
    Validations.of(fn).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'The approval function is only invoked synchronously by its URL: a dead-letter queue would never ' +
        'receive anything. Failures answer the browser with an error and raise the errors alarm.',
    });
    return fn;
  }

  /** The approval function's URL: public, since people open the links from e-mail without AWS credentials. */
  private createApprovalUrl(approvalFunction: nodejs.NodejsFunction): lambda.FunctionUrl {
    const url = approvalFunction.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    Validations.of(url).acknowledge({
      id: 'Keymend-LambdaFunctionUrlAuth',
      reason:
        'People open approval links from e-mail in a browser, with no AWS credentials: IAM auth cannot apply. ' +
        'Every change needs a POST carrying an HMAC-SHA256 token (secret in Secrets Manager) bound to the proposal, ' +
        'the action and the plan hash, expiring and single use; a GET only renders a page and changes nothing.',
    });
    return url;
  }

  private createRemediateFunction(
    shared: SharedFunctionOptions,
    reservedConcurrency: number | undefined,
  ): nodejs.NodejsFunction {
    return this.keymendFunction('Remediate', {
      ...shared,
      entry: path.join(shared.projectRoot, HANDLER_ENTRIES.remediate),
      description:
        'keymend: diagnoses KMS denials on Kinesis streams and proposes (or applies) the least-privilege fix',
      memorySize: 512,
      timeout: Duration.seconds(FUNCTION_TIMEOUT_SECONDS.remediate),
      environment: { ...shared.environment, [ENV.approvalUrl]: this.approvalUrl.url },
      reservedConcurrentExecutions: reservedConcurrency ?? DEFAULTS.reservedConcurrency,
      deadLetterQueue: this.deadLetterQueue,
    });
  }

  /** keymend's own IAM (infra/iam.ts) on the two functions' roles, with the findings acknowledged. */
  private grantPowers(powers: WritePowers, topicKey: kms.IKey): void {
    const topicArns = [this.emailTopic.topicArn, ...(this.chatTopic ? [this.chatTopic.topicArn] : [])];
    const iamScope: IamScope = {
      partition: Aws.PARTITION,
      region: Aws.REGION,
      account: Aws.ACCOUNT_ID,
      tableArn: this.table.tableArn,
      secretArn: this.secret.secretArn,
      topicArns,
      topicKeyArn: topicKey.keyArn,
    };
    for (const props of remediateStatements(iamScope, powers)) {
      this.remediateFunction.addToRolePolicy(new iam.PolicyStatement(props));
    }
    for (const props of approvalStatements(iamScope, powers)) {
      this.approvalFunction.addToRolePolicy(new iam.PolicyStatement(props));
    }
    this.acknowledgeWildcards(this.remediateFunction, powers, powers.mode === 'auto');
    this.acknowledgeWildcards(this.approvalFunction, powers, true);
  }

  /** The EventBridge rule that sends denied KMS calls to the remediate function. */
  private createRule(remediateFunction: lambda.IFunction): events.Rule {
    const rule = new events.Rule(this, 'KmsDenialRule', {
      description: 'keymend: KMS calls denied (CloudTrail management events, read-only included)',
      eventPattern: {
        source: ['aws.kms'],
        detailType: ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['kms.amazonaws.com'],
          eventName: [...HANDLED_KMS_EVENT_NAMES],
          errorCode: [...ACCESS_DENIED_ERROR_CODES],
        },
      },
    });
    // Decrypt and GenerateDataKey are read-only management events: a rule in state ENABLED never sees them.
    (rule.node.defaultChild as events.CfnRule).state = 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';
    rule.addTarget(
      new targets.LambdaFunction(remediateFunction, {
        retryAttempts: 8,
        maxEventAge: Duration.hours(6),
        deadLetterQueue: this.deadLetterQueue,
      }),
    );
    return rule;
  }

  private keymendFunction(
    id: string,
    options: SharedFunctionOptions & {
      entry: string;
      description: string;
      memorySize: number;
      timeout: Duration;
      reservedConcurrentExecutions?: number;
      deadLetterQueue?: sqs.IQueue;
    },
  ): nodejs.NodejsFunction {
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      retention: options.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // An explicit role: only the log group below and the statements of infra/iam.ts, no managed policy.
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `keymend ${id.toLowerCase()} function`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    const fn = new nodejs.NodejsFunction(this, `${id}Function`, {
      entry: options.entry,
      projectRoot: options.projectRoot,
      depsLockFilePath: path.join(options.projectRoot, 'package-lock.json'),
      handler: 'handler',
      // Always explicit: NodejsFunction's own default runtime lags behind.
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      description: options.description,
      memorySize: options.memorySize,
      timeout: options.timeout,
      environment: options.environment,
      role,
      logGroup,
      ...(options.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: options.reservedConcurrentExecutions }),
      ...(options.deadLetterQueue === undefined ? {} : { deadLetterQueue: options.deadLetterQueue }),
      // One description (infra/bundling.ts) for the stack, the bundle tests and the bench.
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: BUNDLING.target,
        mainFields: [...BUNDLING.mainFields],
        banner: BUNDLING.banner,
        minify: BUNDLING.minify,
        sourceMap: BUNDLING.sourcemap,
        sourcesContent: false,
        // Bundle the SDK too: the version tested is the version that runs.
        externalModules: BUNDLING.bundleAwsSdk ? [] : ['@aws-sdk/*'],
        // The local esbuild (a devDependency), never Docker.
        forceDockerBundling: false,
      },
    });
    Validations.of(fn).acknowledge({
      id: 'Serverless-LambdaTracing',
      reason:
        'No X-Ray: tracing would need xray:PutTraceSegments on "*" in a role that holds IAM and KMS powers. ' +
        'Structured logs (Powertools, with the request id) and the proposal audit trail cover diagnosis.',
    });
    return fn;
  }

  /** Acknowledges the wildcard findings cdk-nag reports on a function's policy, each with its reason. */
  private acknowledgeWildcards(fn: lambda.Function, powers: WritePowers, writes: boolean): void {
    const policy = fn.role?.node.tryFindChild('DefaultPolicy');
    if (policy === undefined) return;
    const acknowledge = (finding: string, reason: string) =>
      Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
    const keys = 'Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*';
    acknowledge(
      keys,
      writes
        ? 'The KMS keys of the denied Kinesis streams are not known in advance. Reads are limited to keys in ' +
            'this account and Region; kms:CreateGrant is limited by conditions to the Kinesis data-key operations, an encryption-context constraint and no AWS-service grants; kms:RevokeGrant (approval function only) revokes the grant ids keymend recorded when it created them.'
        : 'The KMS keys of the denied Kinesis streams are not known in advance: read-only (DescribeKey, ' +
            'GetKeyPolicy, ListGrants, ListResourceTags) on keys in this account and Region.',
    );
    acknowledge(
      'Resource::*',
      'Read-only actions only: kms:ListAliases and organizations:DescribeOrganization support no ' +
        'resource-level permissions; organizations:ListParents walks OU ids not known at deploy time.',
    );
    const principals =
      'The denied principals are not known in advance: read-only IAM calls on this account’s principals ' +
      '(and AWS managed policies), to evaluate their policies.';
    for (const resource of ['role/*', 'user/*', 'group/*', 'policy/*']) {
      acknowledge(`Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:${resource}`, principals);
    }
    acknowledge('Resource::arn:<AWS::Partition>:iam::aws:policy/*', principals);
    acknowledge(
      'Resource::arn:<AWS::Partition>:kinesis:<AWS::Region>:<AWS::AccountId>:stream/*',
      'The denied streams are not known in advance: kinesis:DescribeStreamSummary only, in this account and Region.',
    );
    if (writes) {
      for (const pattern of powers.inlinePolicyPrincipals) {
        if (pattern.includes('*') || pattern.includes('?')) {
          acknowledge(
            `Resource::${pattern}`,
            'Inline-policy writes are limited to the principals the deployer configured (inlinePolicyPrincipals).',
          );
        }
      }
    }
  }

  private addAlarms(): void {
    const action = new cloudwatchActions.SnsAction(this.emailTopic);
    const alarm = (id: string, metric: cloudwatch.IMetric, description: string, periods = 1) => {
      const created = new cloudwatch.Alarm(this, id, {
        metric,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: periods,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(action);
      return created;
    };
    const fiveMinutes = Duration.minutes(5);
    alarm(
      'DeadLetterAlarm',
      this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: fiveMinutes,
        statistic: 'Maximum',
      }),
      'keymend: events it could not process or notifications SNS could not deliver are in the dead-letter queue',
    );
    for (const [name, fn] of [
      ['Remediate', this.remediateFunction],
      ['Approval', this.approvalFunction],
    ] as const) {
      alarm(
        `${name}ErrorsAlarm`,
        fn.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
        `keymend: the ${name.toLowerCase()} function failed`,
      );
      // A short burst of throttles is the reserved concurrency doing its job; 15 minutes of them is not.
      alarm(
        `${name}ThrottlesAlarm`,
        fn.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
        `keymend: the ${name.toLowerCase()} function has been throttled for 15 minutes`,
        3,
      );
    }
  }

  private createTrail(): cloudtrail.Trail {
    const bucket = new s3.Bucket(this, 'TrailBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) }],
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'The trail bucket holds CloudTrail log files (with file validation); logging access to the log bucket would need yet another bucket.',
    });
    return new cloudtrail.Trail(this, 'Trail', {
      bucket,
      isMultiRegionTrail: true,
      includeGlobalServiceEvents: true,
      // All management events, read-only ones included, and no event source excluded: KMS events must arrive.
      managementEvents: cloudtrail.ReadWriteType.ALL,
      enableFileValidation: true,
    });
  }
}
