/**
 * `KeymendRemediation`: everything keymend needs in one account and Region, as a construct that
 * drops into any CDK app. Safe by default: propose mode, grants only, no key-policy changes.
 */
import * as path from 'node:path';
import { Aws, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
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
  FUNCTION_TIMEOUT_SECONDS,
  HANDLED_KMS_EVENT_NAMES,
  HANDLER_ENTRIES,
  KINESIS_SERVICE_PRINCIPAL,
  TABLE,
} from '../functions/commons/constants';
import type {
  Mechanism,
  Mode,
  NotificationRouteSetting,
  WholeNumberSetting,
} from '../functions/commons/settings';
import {
  EMAIL_ADDRESS,
  inRange,
  isOneOf,
  isTopicName,
  MECHANISMS,
  MODES,
  routeListProblem,
  routeProblem,
  routesEnvironment,
  SETTINGS,
} from '../functions/commons/settings';
import { BUNDLING } from './bundling';
import {
  approvalStatements,
  assumeMemberRoleStatement,
  boundaryStatements,
  type HubScope,
  type IamScope,
  KEYMEND_ROLE_PATH,
  KINESIS_CONTEXT_KEY,
  memberRolePattern,
  organizationPolicyResources,
  remediateStatements,
  retireMemberGrantsStatement,
  type WritePowers,
} from './iam';
import { checkSignInProps, type KeymendSignInProps, signInEnvironment, signInStatements } from './sign-in';

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
   * Routes for teams that own their accounts (organization hubs): the e-mails of a problem in an
   * account go to the topic routed to that account, else to the topic of the first OU listed here that
   * holds the account (the OUs above an account are read with organizations:ListParents), else to the
   * e-mail topic. A topic given by name is created here, encrypted and locked down like the e-mail
   * topic (subscribe to it as to that one); a topic given by ARN must exist, in this Region, and let
   * keymend's two roles publish (and use its key, when encrypted).
   * @default - no routes: every e-mail to the e-mail topic
   */
  readonly notificationRoutes?: readonly NotificationRouteSetting[];
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
   * An organization deployment's hub (infra/keymend-hub.ts sets it): the organization (`o-...`) whose
   * member accounts the functions read and change through their member role (`/keymend/keymend-member`,
   * assumed with `sts:SourceIdentity` `keymend-<proposal id>`); the roles may assume that role in the
   * organization's accounts and no other role.
   * @default - a single-account stack: no role assumed
   */
  readonly organizationId?: string;
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

/** The approval function's reserved concurrency (when reservations are on): a person clicks rarely. */
export const APPROVAL_RESERVED_CONCURRENCY = 2;

/** Throws on routes no deployment should accept (settings.ts ROUTES), naming the bad key or topic. */
function checkRoutes(
  routes: readonly NotificationRouteSetting[],
  region: string | undefined,
  fail: (prop: string, why: string) => never,
): void {
  const seen = new Set<string>();
  for (const route of routes) {
    const problem = routeProblem(route.key, route.topic, region);
    if (problem !== undefined) fail('notificationRoutes', problem);
    if (seen.has(route.key)) fail('notificationRoutes', `routes '${route.key}' twice`);
    seen.add(route.key);
  }
  const problem = routeListProblem(routes);
  if (problem !== undefined) fail('notificationRoutes', problem);
}

/** Throws on props no deployment should accept, naming the prop. */
function checkProps(props: KeymendRemediationProps, region?: string): void {
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
  integer('reservedConcurrency', props.reservedConcurrency, { env: '', default: 5, min: 0, max: 1000 });
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
    const unsafe = unsafePrincipalPattern(pattern);
    if (unsafe !== undefined) fail('autoApplyPrincipals', `holds '${pattern}': ${unsafe}`);
  }
  if (props.signIn) checkSignInProps(props.signIn);
  checkRoutes(props.notificationRoutes ?? [], region, fail);
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
  /** The routed topics by route key (account or OU id): created (by name) or referenced (by ARN). */
  readonly routeTopics: ReadonlyMap<string, sns.ITopic>;
  readonly deadLetterQueue: sqs.Queue;
  readonly rule: events.Rule;
  readonly remediateFunction: nodejs.NodejsFunction;
  readonly approvalFunction: nodejs.NodejsFunction;
  readonly approvalUrl: lambda.FunctionUrl;
  readonly trail?: cloudtrail.Trail;
  /** The permissions boundary of both function roles (infra/iam.ts `boundaryStatements`). */
  readonly boundary: iam.ManagedPolicy;
  /** The mechanisms the functions may apply (KEYMEND_ENABLED_MECHANISMS), for `keymend apply --aws`. */
  readonly enabledMechanisms: readonly Mechanism[];
  /**
   * The ARN patterns of the principals whose inline policies keymend may write (empty when inline
   * policies are not enabled), for `keymend apply --aws`.
   */
  readonly inlinePolicyPrincipals: readonly string[];

  constructor(scope: Construct, id: string, props: KeymendRemediationProps = {}) {
    super(scope, id);
    const region = Stack.of(this).region;
    checkProps(props, Token.isUnresolved(region) ? undefined : region);
    const powers = writePowers(props);
    this.enabledMechanisms = enabledMechanisms(props);
    this.inlinePolicyPrincipals = powers.inlinePolicyPrincipals;
    this.table = this.createTable();
    // Approval links are signed by two KMS HMAC keys, whose material never leaves KMS: approve and
    // reject links with the decision key (both functions), revoke links with the revoke key (the
    // approval function only: the remediate function parses event text).
    this.decisionLinkKey = this.createLinkKey('DecisionLinkKey', 'approve and reject');
    this.revokeLinkKey = this.createLinkKey('RevokeLinkKey', 'revoke');
    this.deadLetterQueue = this.createDeadLetterQueue();
    const topicKey = this.createTopicKey();
    this.emailTopic = this.createEmailTopic(topicKey, props.notificationEmails ?? []);
    if (props.chatTopicArn !== undefined) {
      this.chatTopic = sns.Topic.fromTopicArn(this, 'ChatTopic', props.chatTopicArn);
    }
    this.routeTopics = this.createRouteTopics(topicKey, props.notificationRoutes ?? []);
    // Its statements are added once the resources they name exist (grantPowers).
    this.boundary = new iam.ManagedPolicy(this, 'RoleBoundary', {
      description: "keymend: permissions boundary of keymend's function roles (infra/iam.ts)",
    });
    const shared: SharedFunctionOptions = {
      environment: this.functionEnvironment(props),
      projectRoot: props.projectRoot ?? REPOSITORY_ROOT,
      logRetention: props.logRetention ?? DEFAULTS.logRetention,
    };
    const reserved = props.reservedConcurrency ?? DEFAULTS.reservedConcurrency;
    // Approval first: the remediate function's links point at its URL.
    this.approvalFunction = this.createApprovalFunction(shared, props.signIn, reserved);
    this.approvalUrl = this.createApprovalUrl(this.approvalFunction);
    this.remediateFunction = this.createRemediateFunction(shared, reserved);
    this.addRoleEnvironment();
    this.grantPowers(powers, topicKey, props.signIn, props.organizationId);
    this.rule = this.createRule(this.remediateFunction);
    const alarms = this.addAlarms();
    const roleArns = [this.approvalRole.roleArn, this.remediateRole.roleArn];
    this.restrictTopic(alarms, roleArns);
    for (const topic of new Set(this.routeTopics.values())) {
      if (topic instanceof sns.Topic) restrictRouteTopic(topic, roleArns);
    }
    if (props.createTrail) this.trail = this.createTrail();
  }

  private get approvalRole(): iam.Role {
    return this.approvalFunction.role as iam.Role;
  }

  private get remediateRole(): iam.Role {
    return this.remediateFunction.role as iam.Role;
  }

  /** The proposal table: one partition key, TTL, point-in-time recovery, deletion protection; kept. */
  private createTable(): dynamodb.Table {
    const table = new dynamodb.Table(this, 'Table', {
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
    table.addGlobalSecondaryIndex({
      indexName: TABLE.statusIndex,
      partitionKey: { name: TABLE.statusAttribute, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE.updatedAttribute, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
    return table;
  }

  /** A KMS HMAC key that signs one kind of approval link. */
  private createLinkKey(id: string, what: string): kms.Key {
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

  /**
   * The routed topics: one per distinct name, created like the e-mail topic (the same key, SSL only)
   * under exactly that name (the functions build its ARN from it); ARNs referenced as they are.
   */
  private createRouteTopics(
    topicKey: kms.IKey,
    routes: readonly NotificationRouteSetting[],
  ): Map<string, sns.ITopic> {
    const byTopic = new Map<string, sns.ITopic>();
    const byKey = new Map<string, sns.ITopic>();
    for (const route of routes) {
      let topic = byTopic.get(route.topic);
      if (topic === undefined) {
        // Ids from the topic, not the order: reordering the map must not replace a named topic.
        topic = isTopicName(route.topic)
          ? new sns.Topic(this, `RouteTopic-${route.topic}`, {
              topicName: route.topic,
              displayName: 'keymend',
              masterKey: topicKey,
              enforceSSL: true,
            })
          : sns.Topic.fromTopicArn(this, `ImportedRouteTopic-${route.topic}`, route.topic);
        byTopic.set(route.topic, topic);
      }
      byKey.set(route.key, topic);
    }
    return byKey;
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
   * Both functions' environment: the resources, and every setting of commons/settings.ts from the
   * props or its default (functions/core/config.ts parses exactly these; a stack test checks they agree).
   */
  private functionEnvironment(props: KeymendRemediationProps): Record<string, string> {
    return {
      [ENV.tableName]: this.table.tableName,
      [ENV.emailTopicArn]: this.emailTopic.topicArn,
      [ENV.chatTopicArn]: this.chatTopic?.topicArn ?? '',
      // Names, not ARNs, for the topics created here: the functions resolve them beside the e-mail topic.
      [ENV.notificationRoutes]: routesEnvironment(props.notificationRoutes ?? []),
      [ENV.decisionKeyId]: this.decisionLinkKey.keyArn,
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
      ...(props.organizationId === undefined ? {} : { [ENV.organizationId]: props.organizationId }),
      [SETTINGS.rejectSuppressHours.env]: String(
        props.rejectSuppressHours ?? SETTINGS.rejectSuppressHours.default,
      ),
      POWERTOOLS_SERVICE_NAME: 'keymend',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      // Stack traces through the bundle's source maps.
      NODE_OPTIONS: '--enable-source-maps',
    };
  }

  private createApprovalFunction(
    shared: SharedFunctionOptions,
    signIn: KeymendSignInProps | undefined,
    reserved: number,
  ): nodejs.NodejsFunction {
    const fn = this.keymendFunction('Approval', {
      ...shared,
      entry: path.join(shared.projectRoot, HANDLER_ENTRIES.approval),
      description:
        'keymend: approval links (GET shows the change; POST with a signed token approves, rejects, revokes)',
      memorySize: 512,
      timeout: Duration.seconds(FUNCTION_TIMEOUT_SECONDS.approval),
      environment: { ...shared.environment, ...(signIn ? signInEnvironment(signIn) : {}) },
      ...(reserved > 0 ? { reservedConcurrentExecutions: APPROVAL_RESERVED_CONCURRENCY } : {}),
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
        'Every change needs a POST carrying an HMAC-SHA256 token (a KMS HMAC key: GenerateMac/VerifyMac) bound to the proposal, ' +
        'the action and the plan hash, expiring and single use; a GET only renders a page and changes nothing.',
    });
    return url;
  }

  private createRemediateFunction(shared: SharedFunctionOptions, reserved: number): nodejs.NodejsFunction {
    return this.keymendFunction('Remediate', {
      ...shared,
      entry: path.join(shared.projectRoot, HANDLER_ENTRIES.remediate),
      description:
        'keymend: diagnoses KMS denials on Kinesis streams and proposes (or applies) the least-privilege fix',
      memorySize: 512,
      timeout: Duration.seconds(FUNCTION_TIMEOUT_SECONDS.remediate),
      environment: { ...shared.environment, [ENV.approvalUrl]: this.approvalUrl.url },
      ...(reserved > 0 ? { reservedConcurrentExecutions: reserved } : {}),
      deadLetterQueue: this.deadLetterQueue,
    });
  }

  /** What the functions learn of each other's roles and keys once both exist. */
  private addRoleEnvironment(): void {
    // Every grant keymend creates names the approval function's role as its retiring principal.
    for (const fn of [this.approvalFunction, this.remediateFunction]) {
      fn.addEnvironment(ENV.retiringPrincipal, this.approvalRole.roleArn);
    }
    // Only the approval function knows (and may use) the key that signs revoke links.
    this.approvalFunction.addEnvironment(ENV.revokeKeyId, this.revokeLinkKey.keyArn);
  }

  /**
   * keymend's own IAM (infra/iam.ts) on the two functions' roles and in their permissions boundary,
   * with sign-in's one secret read, and the findings acknowledged.
   */
  private grantPowers(
    powers: WritePowers,
    topicKey: kms.IKey,
    signIn: KeymendSignInProps | undefined,
    organizationId: string | undefined,
  ): void {
    const hub: HubScope | undefined =
      organizationId === undefined ? undefined : { partition: Aws.PARTITION, organizationId };
    // Exactly the topics keymend publishes to: the e-mail topic, the chat topic, the routed ones.
    const topicArns = [
      this.emailTopic.topicArn,
      ...(this.chatTopic ? [this.chatTopic.topicArn] : []),
      ...[...new Set(this.routeTopics.values())].map((topic) => topic.topicArn),
    ];
    const iamScope: IamScope = {
      partition: Aws.PARTITION,
      region: Aws.REGION,
      account: Aws.ACCOUNT_ID,
      tableArn: this.table.tableArn,
      decisionKeyArn: this.decisionLinkKey.keyArn,
      revokeKeyArn: this.revokeLinkKey.keyArn,
      topicArns,
      topicKeyArn: topicKey.keyArn,
      approvalRoleArn: this.approvalRole.roleArn,
      ownRoleArns: [this.approvalRole.roleArn, this.remediateRole.roleArn],
    };
    for (const props of remediateStatements(iamScope, powers)) {
      this.remediateFunction.addToRolePolicy(new iam.PolicyStatement(props));
    }
    for (const props of approvalStatements(iamScope, powers)) {
      this.approvalFunction.addToRolePolicy(new iam.PolicyStatement(props));
    }
    if (hub) {
      // The remediate function parses event text: in propose mode it reads member accounts only; in
      // auto mode it makes there only what auto mode applies (the member role's auto sessions).
      this.remediateFunction.addToRolePolicy(
        new iam.PolicyStatement(assumeMemberRoleStatement(hub, powers.mode === 'auto' ? 'auto' : 'read')),
      );
      this.approvalFunction.addToRolePolicy(new iam.PolicyStatement(assumeMemberRoleStatement(hub)));
      this.approvalFunction.addToRolePolicy(new iam.PolicyStatement(retireMemberGrantsStatement(hub)));
    }
    const signInPolicy = signIn ? signInStatements(signIn) : [];
    for (const statement of signInPolicy) {
      this.approvalFunction.addToRolePolicy(new iam.PolicyStatement(statement));
    }
    // The boundary names no role (no circular dependency): ownRoleArns only in the roles' own policies.
    const boundaryScope: IamScope = { ...iamScope, ownRoleArns: [] };
    for (const statement of [
      ...boundaryStatements(
        boundaryScope,
        powers,
        {
          logGroupArns: [this.approvalFunction, this.remediateFunction].map(
            (fn) => (fn.logGroup as logs.ILogGroup).logGroupArn,
          ),
          deadLetterQueueArn: this.deadLetterQueue.queueArn,
        },
        hub,
      ),
      // Sign-in reads its one client secret: the boundary lets it.
      ...signInPolicy,
    ]) {
      this.boundary.addStatements(new iam.PolicyStatement(statement));
    }
    this.acknowledgeWildcards(
      this.remediateFunction.role?.node.tryFindChild('DefaultPolicy'),
      powers,
      powers.mode === 'auto',
    );
    this.acknowledgeWildcards(this.approvalFunction.role?.node.tryFindChild('DefaultPolicy'), powers, true);
    this.acknowledgeWildcards(this.boundary, powers, true);
    if (hub) {
      for (const policy of [
        this.remediateFunction.role?.node.tryFindChild('DefaultPolicy'),
        this.approvalFunction.role?.node.tryFindChild('DefaultPolicy'),
        this.boundary,
      ]) {
        if (policy === undefined) continue;
        Validations.of(policy).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${memberRolePattern('<AWS::Partition>')}]`,
          reason:
            'The member role of every account of the organization: the same path and name everywhere (the ' +
            'StackSet creates it), accounts not known in advance. Only with aws:ResourceOrgID equal to the ' +
            'organization and a keymend- source identity; the boundary denies assuming any other role.',
        });
        Validations.of(policy).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:*:*:key/*]',
          reason:
            'kms:RetireGrant only (approval role), on keys of the organization (aws:ResourceOrgID): the ' +
            'grants keymend made in member accounts name this role as retiring principal; a grant naming ' +
            'another retiring principal cannot be retired by it.',
        });
      }
    }
  }

  /**
   * A rule sending Kinesis KMS denials on `eventBus` (an organization hub's bus) to the remediate
   * function, retried and dead-lettered like the default bus's rule.
   */
  addDenialRule(id: string, eventBus: events.IEventBus): events.Rule {
    return this.createRule(this.remediateFunction, id, eventBus);
  }

  /**
   * The EventBridge rule that sends denied Kinesis KMS calls to the remediate function: on the default
   * bus unless `eventBus` is given.
   */
  private createRule(
    remediateFunction: lambda.IFunction,
    id = 'KmsDenialRule',
    eventBus?: events.IEventBus,
  ): events.Rule {
    const rule = new events.Rule(this, id, {
      description:
        'keymend: KMS data-key calls for Kinesis denied (CloudTrail management events, read-only included)',
      eventPattern: kmsDenialPattern(),
      ...(eventBus ? { eventBus } : {}),
    });
    // Decrypt and GenerateDataKey are read-only management events: a rule in state ENABLED never sees
    // them. The state is valid on the default bus and on custom buses alike.
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
    // cfn-lint's W3005 (a DependsOn that a GetAtt already enforces): aws-cdk-lib's Function depends
    // on its role as well as on the role's default policy, and reads the role's ARN. Harmless (the
    // order is the same); acknowledged on these two resources only (docs/deploy.md, linting).
    (fn.node.defaultChild as lambda.CfnFunction).addMetadata('cfn-lint', {
      config: { ignore_checks: ['W3005'] },
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
      'Read-only actions only: kms:ListAliases, iam:ListAccountAliases, cloudwatch:GetMetricData, ' +
        'organizations:DescribeOrganization and organizations:ListRoots support no resource-level permissions; ' +
        'organizations:ListParents and ListPoliciesForTarget walk root and OU ids not known at deploy time. ' +
        'The other statements on * are Denies, which only take power away.',
    );
    for (const resource of organizationPolicyResources('<AWS::Partition>')) {
      acknowledge(
        `Resource::${resource}`,
        'organizations:DescribePolicy (read-only) of SCPs and RCPs only, whose organization and ids are not ' +
          'known at deploy time: the diagnosis evaluates them and names them in refusals.',
      );
    }
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

/**
 * A routed topic's policy: the e-mail topic's, less the alarms (which publish to the e-mail topic
 * only). `enforceSSL` denies plain HTTP; only keymend's two roles may publish; nobody outside this
 * account may subscribe.
 */
function restrictRouteTopic(topic: sns.Topic, roleArns: string[]): void {
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'PublishOnlyKeymend',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: { ArnNotEqualsIfExists: { 'aws:PrincipalArn': roleArns } },
    }),
  );
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'SubscribeOnlyFromThisAccount',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['sns:Subscribe'],
      resources: [topic.topicArn],
      conditions: { StringNotEquals: { 'aws:PrincipalAccount': Aws.ACCOUNT_ID } },
    }),
  );
}
