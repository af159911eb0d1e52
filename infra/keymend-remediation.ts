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
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import { parseTopicArn, principalPatternKind, unsafePrincipalPattern } from '../functions/commons/arn';
import {
  ACCESS_DENIED_ERROR_CODES,
  ENV,
  HANDLED_KMS_EVENT_NAMES,
  HANDLER_ENTRIES,
  KINESIS_SERVICE_PRINCIPAL,
  TABLE,
} from '../functions/commons/constants';
import { BUNDLING } from './bundling';
import {
  approvalStatements,
  boundaryStatements,
  type IamScope,
  KEYMEND_ROLE_PATH,
  KINESIS_CONTEXT_KEY,
  remediateStatements,
  type WritePowers,
} from './iam';
import { checkSignInProps, type KeymendSignInProps, signInEnvironment, signInStatements } from './sign-in';

/** The fix mechanisms keymend knows (functions/core/plan.ts `Mechanism`). */
export type KeymendMechanism = 'kms-grant' | 'iam-inline-policy' | 'key-policy-statement';
export const KEYMEND_MECHANISMS: readonly KeymendMechanism[] = [
  'kms-grant',
  'iam-inline-policy',
  'key-policy-statement',
];

/** `propose` stores a proposal and asks a person; `auto` may apply allow-listed fixes itself. */
export type KeymendMode = 'propose' | 'auto';

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
  readonly mode?: KeymendMode;
  /**
   * ARN patterns (IAM wildcards `*` and `?`) of the principals auto mode may fix.
   * @default - none: only principals tagged `keymend:auto-remediate=true`
   */
  readonly autoApplyPrincipals?: string[];
  /**
   * The mechanism keymend plans first.
   * @default 'kms-grant'
   */
  readonly preferMechanism?: KeymendMechanism;
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
   * throttling IAM (whose rate limits cannot be raised); the approval function then reserves
   * `APPROVAL_RESERVED_CONCURRENCY`, so a flood of requests to its public URL cannot take the
   * account's whole concurrency. 0 reserves nothing for either function: for accounts whose
   * concurrency quota is too low to reserve any (Lambda keeps at least 100 unreserved; new accounts
   * may have a quota of 10), where a reservation fails the stack's creation (docs/deploy.md).
   * @default 5
   */
  readonly reservedConcurrency?: number;
  /**
   * Sign-in with the organization's OpenID Connect provider for approvals (docs/approvals.md): a link
   * then opens only for a signed-in person, and only the listed approvers may act.
   * @default - no sign-in: whoever holds a link may act (it is a bearer capability)
   */
  readonly signIn?: KeymendSignInProps;
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

const DEFAULTS = {
  mode: 'propose' as KeymendMode,
  preferMechanism: 'kms-grant' as KeymendMechanism,
  linkTtlHours: 72,
  autoApplyHourlyLimit: 10,
  rejectSuppressHours: 168,
  reservedConcurrency: 5,
  logRetention: logs.RetentionDays.THREE_MONTHS,
};

/** The approval function's reserved concurrency (when reservations are on): a person clicks rarely. */
export const APPROVAL_RESERVED_CONCURRENCY = 2;

const EMAIL = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/;

/** Throws on props no deployment should accept, naming the prop. */
function checkProps(props: KeymendRemediationProps): void {
  const fail = (prop: string, why: string): never => {
    throw new Error(`KeymendRemediation: ${prop} ${why}`);
  };
  if (props.mode !== undefined && props.mode !== 'propose' && props.mode !== 'auto') {
    fail('mode', `must be 'propose' or 'auto', not '${String(props.mode)}'`);
  }
  if (props.preferMechanism !== undefined && !KEYMEND_MECHANISMS.includes(props.preferMechanism)) {
    fail('preferMechanism', `must be one of ${KEYMEND_MECHANISMS.join(', ')}`);
  }
  const integer = (prop: string, value: number | undefined, min: number, max: number) => {
    if (value !== undefined && (!Number.isInteger(value) || value < min || value > max)) {
      fail(prop, `must be an integer from ${min} to ${max}, not ${value}`);
    }
  };
  integer('linkTtlHours', props.linkTtlHours, 1, 720);
  integer('autoApplyHourlyLimit', props.autoApplyHourlyLimit, 1, 10_000);
  integer('rejectSuppressHours', props.rejectSuppressHours, 1, 24 * 366);
  integer('reservedConcurrency', props.reservedConcurrency, 0, 1000);
  for (const email of props.notificationEmails ?? []) {
    if (!EMAIL.test(email)) fail('notificationEmails', `holds '${email}', which is not an e-mail address`);
  }
  if (props.chatTopicArn !== undefined && !Token.isUnresolved(props.chatTopicArn)) {
    if (parseTopicArn(props.chatTopicArn) === null) fail('chatTopicArn', `is not an SNS topic ARN`);
  }
  for (const pattern of props.autoApplyPrincipals ?? []) {
    if (principalPatternKind(pattern) === undefined) {
      fail('autoApplyPrincipals', `holds '${pattern}', which is not a role or user ARN pattern`);
    }
    const unsafe = unsafePrincipalPattern(pattern);
    if (unsafe !== undefined) fail('autoApplyPrincipals', `holds '${pattern}': ${unsafe}`);
  }
  if (props.signIn) checkSignInProps(props.signIn);
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
      const unsafe = unsafePrincipalPattern(pattern);
      if (unsafe !== undefined) fail('inlinePolicyPrincipals', `holds '${pattern}': ${unsafe}`);
    }
  }
}

/**
 * The rule's pattern: denied KMS data-key calls that are Kinesis-shaped, by the markers the intake
 * (functions/core/intake.ts) reads: the `aws:kinesis:arn` encryption-context key, or
 * `kinesis.amazonaws.com` as `invokedBy` or `sourceIPAddress`. Every other denied Decrypt or
 * GenerateDataKey in the Region (S3, Secrets Manager, EBS...) never invokes the function, so a
 * crash-looping unrelated application cannot use up its reserved concurrency. `$or` and `exists` are
 * EventBridge content filters (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html).
 */
export function kmsDenialPattern(): events.EventPattern {
  return {
    source: ['aws.kms'],
    detailType: ['AWS API Call via CloudTrail'],
    detail: {
      eventSource: ['kms.amazonaws.com'],
      eventName: [...HANDLED_KMS_EVENT_NAMES],
      errorCode: [...ACCESS_DENIED_ERROR_CODES],
      $or: [
        { requestParameters: { encryptionContext: { [KINESIS_CONTEXT_KEY]: [{ exists: true }] } } },
        { userIdentity: { invokedBy: [KINESIS_SERVICE_PRINCIPAL] } },
        { sourceIPAddress: [KINESIS_SERVICE_PRINCIPAL] },
      ],
    },
  };
}

/** The repository root: infra/ sits directly under it. */
const REPOSITORY_ROOT = path.resolve(__dirname, '..');

/**
 * keymend in one account and Region: the EventBridge rule on KMS denials, the remediate and approval
 * functions, the proposal table, the approval-link signing keys, notification topics and alarms.
 */
export class KeymendRemediation extends Construct {
  readonly table: dynamodb.Table;
  /** Signs approve and reject links (GenerateMac by both functions). */
  readonly decisionLinkKey: kms.Key;
  /** Signs revoke links (the approval function only). */
  readonly revokeLinkKey: kms.Key;
  readonly emailTopic: sns.Topic;
  readonly chatTopic?: sns.ITopic;
  readonly deadLetterQueue: sqs.Queue;
  readonly rule: events.Rule;
  readonly remediateFunction: nodejs.NodejsFunction;
  readonly approvalFunction: nodejs.NodejsFunction;
  readonly approvalUrl: lambda.FunctionUrl;
  readonly trail?: cloudtrail.Trail;
  /** The permissions boundary of both function roles (infra/iam.ts `boundaryStatements`). */
  readonly boundary: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: KeymendRemediationProps = {}) {
    super(scope, id);
    checkProps(props);
    const mode = props.mode ?? DEFAULTS.mode;
    const inlinePolicyPrincipals = props.enableInlinePolicy
      ? (props.inlinePolicyPrincipals ?? props.autoApplyPrincipals ?? [])
      : [];
    const powers: WritePowers = {
      mode,
      inlinePolicyPrincipals,
      keyPolicyChanges: props.enableKeyPolicyChanges ?? false,
    };
    const enabledMechanisms: KeymendMechanism[] = ['kms-grant'];
    if (props.enableInlinePolicy) enabledMechanisms.push('iam-inline-policy');
    if (props.enableKeyPolicyChanges) enabledMechanisms.push('key-policy-statement');

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // The audit trail of every change keymend made outlives the stack, and a delete-table call.
      removalPolicy: RemovalPolicy.RETAIN,
      deletionProtection: true,
    });
    // `keymend list --aws` reads proposals by status through it (docs/store.md); nothing else queries.
    this.table.addGlobalSecondaryIndex({
      indexName: TABLE.statusIndex,
      partitionKey: { name: TABLE.statusAttribute, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE.updatedAttribute, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });

    // Approval links are signed by two KMS HMAC keys, whose material never leaves KMS: approve and
    // reject links with the decision key (both functions), revoke links with the revoke key (the
    // approval function only: the remediate function parses event text).
    const hmacKey = (id: string, what: string) => {
      const key = new kms.Key(this, id, {
        description: `keymend: signs ${what} links (HMAC)`,
        keySpec: kms.KeySpec.HMAC_256,
        keyUsage: kms.KeyUsage.GENERATE_VERIFY_MAC,
        // Nothing is encrypted with it: once the stack is gone, its links are worthless anyway.
        removalPolicy: RemovalPolicy.DESTROY,
        pendingWindow: Duration.days(7),
      });
      Validations.of(key).acknowledge({
        id: 'AwsSolutions-KMS5',
        reason:
          'KMS does not rotate HMAC keys automatically. A link signed by it expires within linkTtlHours; ' +
          'to rotate, replace the key (a new logical id), which invalidates the outstanding links.',
      });
      return key;
    };
    this.decisionLinkKey = hmacKey('DecisionLinkKey', 'approve and reject');
    this.revokeLinkKey = hmacKey('RevokeLinkKey', 'revoke');

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
    this.emailTopic = new sns.Topic(this, 'EmailTopic', {
      displayName: 'keymend',
      masterKey: topicKey,
      enforceSSL: true,
    });
    if (props.chatTopicArn !== undefined) {
      this.chatTopic = sns.Topic.fromTopicArn(this, 'ChatTopic', props.chatTopicArn);
    }

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason: 'This queue is itself the dead-letter queue; nothing consumes it but a person investigating.',
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the rule target and the remediate function.',
    });

    // A notification SNS cannot deliver lands in the dead-letter queue too, and raises its alarm.
    for (const email of props.notificationEmails ?? []) {
      this.emailTopic.addSubscription(
        new subscriptions.EmailSubscription(email, { deadLetterQueue: this.deadLetterQueue }),
      );
    }

    const environment: Record<string, string> = {
      [ENV.tableName]: this.table.tableName,
      [ENV.emailTopicArn]: this.emailTopic.topicArn,
      [ENV.chatTopicArn]: this.chatTopic?.topicArn ?? '',
      [ENV.decisionKeyId]: this.decisionLinkKey.keyArn,
      [ENV.mode]: mode,
      [ENV.autoApplyPrincipals]: (props.autoApplyPrincipals ?? []).join(','),
      [ENV.preferMechanism]: props.preferMechanism ?? DEFAULTS.preferMechanism,
      [ENV.linkTtlHours]: String(props.linkTtlHours ?? DEFAULTS.linkTtlHours),
      [ENV.autoApplyHourlyLimit]: String(props.autoApplyHourlyLimit ?? DEFAULTS.autoApplyHourlyLimit),
      [ENV.autoApplyCloudFormation]: String(props.autoApplyCloudFormation ?? false),
      [ENV.enabledMechanisms]: enabledMechanisms.join(','),
      [ENV.rejectSuppressHours]: String(props.rejectSuppressHours ?? DEFAULTS.rejectSuppressHours),
      POWERTOOLS_SERVICE_NAME: 'keymend',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      // Stack traces through the bundle's source maps.
      NODE_OPTIONS: '--enable-source-maps',
    };
    const projectRoot = props.projectRoot ?? REPOSITORY_ROOT;
    const logRetention = props.logRetention ?? DEFAULTS.logRetention;
    const reserved = props.reservedConcurrency ?? DEFAULTS.reservedConcurrency;
    // Its statements are added once the resources they name exist (below).
    this.boundary = new iam.ManagedPolicy(this, 'RoleBoundary', {
      description: "keymend: permissions boundary of keymend's function roles (infra/iam.ts)",
    });

    // Approval first: the remediate function's links point at its URL.
    this.approvalFunction = this.keymendFunction('Approval', {
      entry: path.join(projectRoot, HANDLER_ENTRIES.approval),
      projectRoot,
      description:
        'keymend: approval links (GET shows the change; POST with a signed token approves, rejects, revokes)',
      memorySize: 512,
      timeout: Duration.seconds(30),
      environment: { ...environment, ...(props.signIn ? signInEnvironment(props.signIn) : {}) },
      logRetention,
      ...(reserved > 0 ? { reservedConcurrentExecutions: APPROVAL_RESERVED_CONCURRENCY } : {}),
    });
    this.approvalUrl = this.approvalFunction.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    Validations.of(this.approvalUrl).acknowledge({
      id: 'Keymend-LambdaFunctionUrlAuth',
      reason:
        'People open approval links from e-mail in a browser, with no AWS credentials: IAM auth cannot apply. ' +
        'Every change needs a POST carrying an HMAC-SHA256 token (a KMS HMAC key: GenerateMac/VerifyMac) bound to the proposal, ' +
        'the action and the plan hash, expiring and single use; a GET only renders a page and changes nothing.',
    });
    Validations.of(this.approvalFunction).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'The approval function is only invoked synchronously by its URL: a dead-letter queue would never ' +
        'receive anything. Failures answer the browser with an error and raise the errors alarm.',
    });

    this.remediateFunction = this.keymendFunction('Remediate', {
      entry: path.join(projectRoot, HANDLER_ENTRIES.remediate),
      projectRoot,
      description:
        'keymend: diagnoses KMS denials on Kinesis streams and proposes (or applies) the least-privilege fix',
      memorySize: 512,
      timeout: Duration.seconds(60),
      environment: { ...environment, [ENV.approvalUrl]: this.approvalUrl.url },
      logRetention,
      ...(reserved > 0 ? { reservedConcurrentExecutions: reserved } : {}),
      deadLetterQueue: this.deadLetterQueue,
    });
    const approvalRole = this.approvalFunction.role as iam.Role;
    const remediateRole = this.remediateFunction.role as iam.Role;
    // Every grant keymend creates names the approval function's role as its retiring principal.
    for (const fn of [this.approvalFunction, this.remediateFunction]) {
      fn.addEnvironment(ENV.retiringPrincipal, approvalRole.roleArn);
    }
    // Only the approval function knows (and may use) the key that signs revoke links.
    this.approvalFunction.addEnvironment(ENV.revokeKeyId, this.revokeLinkKey.keyArn);

    const topicArns = [this.emailTopic.topicArn, ...(this.chatTopic ? [this.chatTopic.topicArn] : [])];
    const iamScope: IamScope = {
      partition: Aws.PARTITION,
      region: Aws.REGION,
      account: Aws.ACCOUNT_ID,
      tableArn: this.table.tableArn,
      decisionKeyArn: this.decisionLinkKey.keyArn,
      revokeKeyArn: this.revokeLinkKey.keyArn,
      topicArns,
      topicKeyArn: topicKey.keyArn,
      approvalRoleArn: approvalRole.roleArn,
      ownRoleArns: [approvalRole.roleArn, remediateRole.roleArn],
    };
    for (const props of remediateStatements(iamScope, powers)) {
      this.remediateFunction.addToRolePolicy(new iam.PolicyStatement(props));
    }
    for (const props of approvalStatements(iamScope, powers)) {
      this.approvalFunction.addToRolePolicy(new iam.PolicyStatement(props));
    }
    const signInPolicy = props.signIn ? signInStatements(props.signIn) : [];
    for (const statement of signInPolicy) {
      this.approvalFunction.addToRolePolicy(new iam.PolicyStatement(statement));
    }
    // The boundary names no role (no circular dependency): ownRoleArns only in the roles' own policies.
    const boundaryScope: IamScope = { ...iamScope, ownRoleArns: [] };
    for (const statement of [
      ...boundaryStatements(boundaryScope, powers, {
        logGroupArns: [this.approvalFunction, this.remediateFunction].map(
          (fn) => (fn.logGroup as logs.ILogGroup).logGroupArn,
        ),
        deadLetterQueueArn: this.deadLetterQueue.queueArn,
      }),
      // Sign-in reads its one client secret: the boundary lets it.
      ...signInPolicy,
    ]) {
      this.boundary.addStatements(new iam.PolicyStatement(statement));
    }
    this.acknowledgeWildcards(
      this.remediateFunction.role?.node.tryFindChild('DefaultPolicy'),
      powers,
      mode === 'auto',
    );
    this.acknowledgeWildcards(this.approvalFunction.role?.node.tryFindChild('DefaultPolicy'), powers, true);
    this.acknowledgeWildcards(this.boundary, powers, true);

    this.rule = new events.Rule(this, 'KmsDenialRule', {
      description:
        'keymend: KMS data-key calls for Kinesis denied (CloudTrail management events, read-only included)',
      eventPattern: kmsDenialPattern(),
    });
    // Decrypt and GenerateDataKey are read-only management events: a rule in state ENABLED never sees them.
    (this.rule.node.defaultChild as events.CfnRule).state = 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';
    this.rule.addTarget(
      new targets.LambdaFunction(this.remediateFunction, {
        retryAttempts: 8,
        maxEventAge: Duration.hours(6),
        deadLetterQueue: this.deadLetterQueue,
      }),
    );

    const alarms = this.addAlarms();
    this.restrictTopic(alarms, [approvalRole.roleArn, remediateRole.roleArn]);

    if (props.createTrail) this.trail = this.createTrail();
  }

  private keymendFunction(
    id: string,
    options: {
      entry: string;
      projectRoot: string;
      description: string;
      memorySize: number;
      timeout: Duration;
      environment: Record<string, string>;
      logRetention: logs.RetentionDays;
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
      // Under keymend's path: its own Denies name role/keymend/* (infra/iam.ts ownRoleDenies).
      path: KEYMEND_ROLE_PATH,
      permissionsBoundary: this.boundary,
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

  /**
   * Acknowledges the wildcard findings cdk-nag reports on a function role's policy or on the roles'
   * permissions boundary (which caps them at the same statements), each with its reason.
   */
  private acknowledgeWildcards(policy: IConstruct | undefined, powers: WritePowers, writes: boolean): void {
    if (policy === undefined) return;
    const acknowledge = (finding: string, reason: string) =>
      Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
    const keys = 'Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*';
    acknowledge(
      keys,
      writes
        ? 'The KMS keys of the denied Kinesis streams are not known in advance. Reads are limited to keys in ' +
            'this account and Region; kms:CreateGrant is limited by conditions to the Kinesis data-key operations, ' +
            'grantees that are roles or users of this account (never keymend’s own, an explicit Deny), an ' +
            'EncryptionContextSubset constraint holding only aws:kinesis:arn with a stream of this account and Region, ' +
            'the approval role as retiring principal, and no AWS-service grants. No kms:RevokeGrant: keymend retires its own grants.'
        : 'The KMS keys of the denied Kinesis streams are not known in advance: read-only (DescribeKey, ' +
            'GetKeyPolicy, ListGrants, ListResourceTags) on keys in this account and Region.',
    );
    acknowledge(
      'Resource::*',
      'Read-only actions only: kms:ListAliases and organizations:DescribeOrganization support no ' +
        'resource-level permissions; organizations:ListParents walks OU ids not known at deploy time. ' +
        'The other statements on * are Denies, which only take power away.',
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

  /**
   * The e-mail topic's policy. `enforceSSL` gives the topic a policy of its own, which replaces the
   * default one: without a statement for them, CloudWatch alarms cannot publish (the bug Automated
   * Security Response had). CloudWatch may publish for this account's five keymend alarms only
   * (`aws:SourceAccount`, `aws:SourceArn`); every other principal but keymend's two roles is denied
   * `sns:Publish`; nobody outside this account may subscribe.
   */
  private restrictTopic(alarms: cloudwatch.Alarm[], roleArns: string[]): void {
    const topicArn = this.emailTopic.topicArn;
    this.emailTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnEquals: { 'aws:SourceArn': alarms.map((alarm) => alarm.alarmArn) },
        },
      }),
    );
    this.emailTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'PublishOnlyKeymendAndItsAlarms',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['sns:Publish'],
        resources: [topicArn],
        // Denied unless the caller is one of keymend's roles or the CloudWatch service (whose requests
        // carry aws:PrincipalServiceName and no aws:PrincipalArn).
        conditions: {
          ArnNotEqualsIfExists: { 'aws:PrincipalArn': roleArns },
          StringNotEqualsIfExists: { 'aws:PrincipalServiceName': 'cloudwatch.amazonaws.com' },
        },
      }),
    );
    this.emailTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'SubscribeOnlyFromThisAccount',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['sns:Subscribe'],
        resources: [topicArn],
        conditions: { StringNotEquals: { 'aws:PrincipalAccount': Aws.ACCOUNT_ID } },
      }),
    );
  }

  private addAlarms(): cloudwatch.Alarm[] {
    const all: cloudwatch.Alarm[] = [];
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
      all.push(created);
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
    return all;
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
