/**
 * The hub of an organization deployment: keymend's single-account stack (functions, table, topics,
 * approval URL, link keys) plus an event bus that admits events only from the organization, a rule on
 * it, and the service-managed StackSet that rolls the member template (infra/keymend-member.ts) out.
 */
import { CfnOutput, CfnStackSet, Fn } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { MEMBER_PARAMETERS } from './keymend-member';
import { KeymendStack, type KeymendStackProps } from './keymend-stack';

/** How the member template reaches the organization. */
export interface OrganizationProps {
  /** `o-...`: the only organization whose accounts may put events on the hub bus. */
  readonly organizationId: string;
  /** The OU ids (`ou-...`) or the root id (`r-...`) the StackSet deploys to (and auto-deploys to). */
  readonly targets: readonly string[];
  /** The Regions of the member stacks. */
  readonly regions: readonly string[];
  /** Percentage of accounts per Region that may fail before CloudFormation stops the operation. */
  readonly failureTolerancePercentage: number;
  /** Percentage of accounts deployed to at once. */
  readonly maxConcurrentPercentage: number;
  /** `DELEGATED_ADMIN` when the hub account is a delegated administrator, `SELF` in the management account. */
  readonly callAs: 'SELF' | 'DELEGATED_ADMIN';
}

export interface KeymendHubStackProps extends KeymendStackProps {
  readonly organization: OrganizationProps;
  /** The member template, as JSON text (StackSets take a template body, not an asset). */
  readonly memberTemplateBody: string;
}

export class KeymendHubStack extends KeymendStack {
  readonly organizationBus: events.EventBus;
  readonly organizationRule: events.Rule;
  readonly stackSet: CfnStackSet;

  constructor(scope: Construct, id: string, props: KeymendHubStackProps) {
    super(scope, id, {
      description: 'keymend hub: diagnoses and fixes KMS denials on Kinesis streams across an organization',
      ...props,
      // The functions read and change member accounts through their member role.
      remediation: { ...props.remediation, organizationId: props.organization.organizationId },
    });
    const org = props.organization;
    this.organizationBus = new events.EventBus(this, 'OrganizationBus', {
      description: "keymend: KMS denials forwarded by the organization's member stacks",
    });
    // Only accounts of the organization may put events on it (the member rules' roles).
    this.organizationBus.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OrganizationPutEvents',
        principals: [new iam.AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [this.organizationBus.eventBusArn],
        conditions: { StringEquals: { 'aws:PrincipalOrgID': org.organizationId } },
      }),
    );
    this.organizationRule = this.remediation.addDenialRule('OrganizationDenialRule', this.organizationBus);

    const roleArns = [this.remediation.approvalFunction, this.remediation.remediateFunction].map(
      (fn) => fn.role?.roleArn as string,
    );
    this.stackSet = new CfnStackSet(this, 'MemberStackSet', {
      stackSetName: `${this.stackName}-member`,
      description: 'keymend member stacks: denial forwarding to the hub and the member role',
      permissionModel: 'SERVICE_MANAGED',
      autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
      callAs: org.callAs,
      capabilities: ['CAPABILITY_NAMED_IAM'],
      managedExecution: { Active: true },
      operationPreferences: {
        failureTolerancePercentage: org.failureTolerancePercentage,
        maxConcurrentPercentage: org.maxConcurrentPercentage,
        regionConcurrencyType: 'PARALLEL',
      },
      parameters: [
        { parameterKey: MEMBER_PARAMETERS.hubEventBusArn, parameterValue: this.organizationBus.eventBusArn },
        // The approval role first: it is the retiring principal of the member's grants.
        { parameterKey: MEMBER_PARAMETERS.hubRoleArns, parameterValue: Fn.join(',', roleArns) },
      ],
      stackInstancesGroup: [
        {
          deploymentTargets: { organizationalUnitIds: [...org.targets] },
          regions: [...org.regions],
        },
      ],
      templateBody: props.memberTemplateBody,
    });
    new CfnOutput(this, 'OrganizationBusArn', {
      description: 'The bus the member stacks forward denials to',
      value: this.organizationBus.eventBusArn,
    });
  }
}
