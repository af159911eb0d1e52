/** The stack `cdk deploy` creates: one `KeymendRemediation` and the outputs a deployer needs. */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { KeymendRemediation, type KeymendRemediationProps } from './keymend-remediation';

export interface KeymendStackProps extends StackProps {
  /**
   * The construct's configuration.
   * @default - the construct's defaults: propose mode, grants only, no subscription
   */
  readonly remediation?: KeymendRemediationProps;
}

export class KeymendStack extends Stack {
  readonly remediation: KeymendRemediation;

  constructor(scope: Construct, id: string, props: KeymendStackProps = {}) {
    super(scope, id, {
      description: 'keymend: diagnoses and fixes KMS permission denials on encrypted Kinesis streams',
      ...props,
    });
    this.remediation = new KeymendRemediation(this, 'Keymend', props.remediation);
    new CfnOutput(this, 'ApprovalUrl', {
      description: 'Base URL of the approval links',
      value: this.remediation.approvalUrl.url,
    });
    new CfnOutput(this, 'EmailTopicArn', {
      description: 'Subscribe more addresses here',
      value: this.remediation.emailTopic.topicArn,
    });
    new CfnOutput(this, 'RetiringPrincipalArn', {
      description:
        "The retiring principal of keymend's grants (the approval function's role), for keymend revoke --aws",
      value: this.remediation.approvalFunction.role?.roleArn ?? '',
    });
    // What an approval may apply here, so `keymend apply --aws` refuses what the deployment refuses.
    new CfnOutput(this, 'EnabledMechanisms', {
      description: 'The fixes keymend may apply here (KEYMEND_ENABLED_MECHANISMS), for keymend apply --aws',
      value: this.remediation.enabledMechanisms.join(','),
    });
    if (this.remediation.inlinePolicyPrincipals.length > 0) {
      new CfnOutput(this, 'InlinePolicyPrincipals', {
        description:
          'ARN patterns of the principals whose inline policies keymend may write, for keymend apply --aws',
        value: this.remediation.inlinePolicyPrincipals.join(','),
      });
    }
    new CfnOutput(this, 'TableName', {
      description: 'Proposals and their audit (retained when the stack is deleted)',
      value: this.remediation.table.tableName,
    });
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      description: 'Events keymend could not process',
      value: this.remediation.deadLetterQueue.queueUrl,
    });
  }
}
