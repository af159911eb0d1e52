/**
 * The member stack of an organization deployment: deployed to every account and Region by the hub's
 * service-managed StackSet (infra/keymend-hub.ts). It holds no Lambda code and no asset, so it needs no
 * bootstrap: an EventBridge rule on the default bus forwarding Kinesis KMS denials to the hub's bus
 * (with its own dead-letter queue) and, in one Region only, the role the hub assumes to read the
 * account and apply the fixes issue 19 allows.
 */
import {
  Aws,
  BootstraplessSynthesizer,
  CfnCondition,
  CfnParameter,
  type CfnResource,
  Duration,
  Fn,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  KEYMEND_ROLE_PATH,
  MEMBER_ROLE_NAME,
  type MemberScope,
  memberBoundaryStatements,
  memberStatements,
  organizationPolicyResources,
  SOURCE_IDENTITY_PREFIX,
  type WritePowers,
} from './iam';
import { kmsDenialPattern } from './keymend-remediation';

export interface KeymendMemberProps {
  /** The Regions the StackSet deploys to; grants are made on keys of these Regions only. */
  readonly regions: readonly string[];
  /** The one Region whose stack instance creates the (global) IAM role and boundary. */
  readonly iamRegion: string;
  /** Inline-policy patterns (empty when disabled) and whether key policies may be replaced. */
  readonly powers: Pick<WritePowers, 'inlinePolicyPrincipals' | 'keyPolicyChanges'>;
}

/** The member template's parameters, which the hub's StackSet fills in. */
export const MEMBER_PARAMETERS = {
  hubEventBusArn: 'HubEventBusArn',
  hubRoleArns: 'HubRoleArns',
} as const;

export class KeymendMemberStack extends Stack {
  readonly rule: events.Rule;
  readonly deadLetterQueue: sqs.Queue;
  /** The member role (created only where the Region is `iamRegion`). */
  readonly role: iam.CfnRole;
  readonly boundary: iam.CfnManagedPolicy;

  constructor(scope: Construct, id: string, props: KeymendMemberProps & StackProps) {
    super(scope, id, {
      description:
        'keymend member: forwards Kinesis KMS denials to the hub; the role the hub fixes them with',
      // Deployed by StackSets into accounts that were never bootstrapped: no assets, no bootstrap version.
      synthesizer: new BootstraplessSynthesizer(),
      ...props,
    });
    const hubBusArn = new CfnParameter(this, MEMBER_PARAMETERS.hubEventBusArn, {
      type: 'String',
      description: "The ARN of the hub's organization event bus",
      allowedPattern: '^arn:aws[a-z-]*:events:[a-z0-9-]+:\\d{12}:event-bus/[A-Za-z0-9._-]+$',
    });
    const hubRoleArns = new CfnParameter(this, MEMBER_PARAMETERS.hubRoleArns, {
      type: 'CommaDelimitedList',
      description: "The hub's function roles, the only principals the member role trusts",
    });

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the rule forwarding denials to the hub.',
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason: 'This queue is itself the dead-letter queue; nothing consumes it but a person investigating.',
    });

    this.rule = new events.Rule(this, 'KmsDenialRule', {
      description: 'keymend: KMS data-key calls for Kinesis denied, forwarded to the hub bus',
      eventPattern: kmsDenialPattern(),
    });
    // Decrypt and GenerateDataKey are read-only management events: a rule in state ENABLED never sees them.
    (this.rule.node.defaultChild as events.CfnRule).state = 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';
    // A bus of another account that admits this one through the organization needs a role (created by
    // the target, per Region, with a generated name: no collision between Regions).
    this.rule.addTarget(
      new targets.EventBus(events.EventBus.fromEventBusArn(this, 'HubBus', hubBusArn.valueAsString), {
        deadLetterQueue: this.deadLetterQueue,
      }),
    );

    // IAM is global: only the instance in iamRegion creates the role, so Regions do not collide.
    const iamHere = new CfnCondition(this, 'CreateIamHere', {
      expression: Fn.conditionEquals(Aws.REGION, props.iamRegion),
    });
    const memberRoleArn = `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role${KEYMEND_ROLE_PATH}${MEMBER_ROLE_NAME}`;
    const scope_: MemberScope = {
      partition: Aws.PARTITION,
      account: Aws.ACCOUNT_ID,
      regions: props.regions,
      retiringPrincipalArn: Fn.select(0, hubRoleArns.valueAsList),
      memberRoleArn,
    };
    const powers: WritePowers = { mode: 'auto', ...props.powers };
    this.boundary = new iam.CfnManagedPolicy(this, 'RoleBoundary', {
      description: 'keymend: permissions boundary of the member role (infra/iam.ts)',
      policyDocument: document(memberBoundaryStatements(scope_, powers)),
    });
    this.role = new iam.CfnRole(this, 'MemberRole', {
      roleName: MEMBER_ROLE_NAME,
      path: KEYMEND_ROLE_PATH,
      description: "keymend: the hub's function roles read this account and apply approved fixes",
      permissionsBoundary: this.boundary.ref,
      assumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'HubRolesWithSourceIdentity',
            Effect: 'Allow',
            Principal: { AWS: hubRoleArns.valueAsList },
            // One statement for both: AssumeRole without a source identity fails its condition.
            Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
            Condition: { StringLike: { 'sts:SourceIdentity': `${SOURCE_IDENTITY_PREFIX}*` } },
          },
        ],
      },
      policies: [
        { policyName: 'keymend-member', policyDocument: document(memberStatements(scope_, powers)) },
      ],
      maxSessionDuration: 3600,
    });
    for (const resource of [this.role, this.boundary] as CfnResource[])
      resource.cfnOptions.condition = iamHere;
    // Each wildcard finding by name (cdk-nag reports IAM5 per resource pattern).
    const reason =
      'Keys, streams, roles and users are not known in advance: the patterns are this account (and the ' +
      "StackSet's Regions), every grant is held by the conditions of infra/iam.ts createGrantStatement, " +
      'inline policies only on the configured patterns; kms:ListAliases and the organization reads accept ' +
      'no resource but * (DescribePolicy: SCPs and RCPs only), and the other statements on * are Denies.';
    const account = '<AWS::Partition>:iam::<AWS::AccountId>';
    const findings = [
      '*',
      ...['role/*', 'user/*', 'group/*', 'policy/*'].map((r) => `arn:${account}:${r}`),
      'arn:<AWS::Partition>:iam::aws:policy/*',
      ...organizationPolicyResources('<AWS::Partition>'),
      ...props.regions.flatMap((region) => [
        `arn:<AWS::Partition>:kms:${region}:<AWS::AccountId>:key/*`,
        `arn:<AWS::Partition>:kinesis:${region}:<AWS::AccountId>:stream/*`,
      ]),
      ...props.powers.inlinePolicyPrincipals.filter((p) => /[*?]/.test(p)),
    ];
    for (const construct of [this.role, this.boundary]) {
      for (const finding of findings) {
        Validations.of(construct).acknowledge({ id: `AwsSolutions-IAM5[Resource::${finding}]`, reason });
      }
    }
  }
}

function document(statements: ConstructorParameters<typeof iam.PolicyStatement>[0][]): unknown {
  return new iam.PolicyDocument({ statements: statements.map((s) => new iam.PolicyStatement(s)) });
}
