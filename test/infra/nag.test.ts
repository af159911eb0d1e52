import { type CfnResource, Validations } from 'aws-cdk-lib';
import { FunctionUrlAuthType } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks, NagMessageLevel, NagPack, rules, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import type { KeymendRemediationProps } from '../../infra/keymend-remediation';
import { synth } from './synth';

/** cdk-nag rules that are in no pack, run as keymend's own pack. */
class KeymendChecks extends NagPack {
  readonly name = 'Keymend';
  constructor(scope?: IConstruct) {
    super(scope);
    this.packName = 'Keymend';
  }
  protected checkResource(node: CfnResource): void {
    this.applyRule({
      info: 'The Lambda function URL allows public, unauthenticated access.',
      explanation: 'Anyone on the internet can invoke a function behind a URL with auth type NONE.',
      level: NagMessageLevel.ERROR,
      rule: rules.lambda.LambdaFunctionUrlAuth,
      node,
    });
  }
}

const EVERYTHING: KeymendRemediationProps = {
  mode: 'auto',
  autoApplyPrincipals: ['arn:aws:iam::111122223333:role/consumer-*', 'arn:aws:iam::111122223333:user/ci'],
  enableInlinePolicy: true,
  enableKeyPolicyChanges: true,
  chatTopicArn: 'arn:aws:sns:eu-west-1:111122223333:keymend-chat',
  notificationEmails: ['ops@example.com'],
  createTrail: true,
  signIn: {
    issuer: 'https://idp.example.com',
    clientId: 'keymend',
    clientSecretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:keymend-oidc-AbCdEf',
    approverEmails: ['alice@example.com'],
  },
};

/** The findings of a pack that nobody acknowledged, as `rule at construct path`. */
function unacknowledged(
  pack: 'aws-solutions' | 'serverless' | 'keymend',
  props: KeymendRemediationProps,
): string[] {
  const { app, stack } = synth(props);
  const checks =
    pack === 'aws-solutions'
      ? new AwsSolutionsChecks(app)
      : pack === 'serverless'
        ? new ServerlessChecks(app)
        : new KeymendChecks(app);
  const report = checks.validateScope(stack);
  return report.violations.flatMap((violation) =>
    violation.violatingResources.map(
      (resource) => `${violation.ruleName} at ${resource.constructPath ?? resource.resourceLogicalId}`,
    ),
  );
}

describe('cdk-nag', () => {
  test.each([
    ['aws-solutions', 'defaults', {}],
    ['aws-solutions', 'everything enabled', EVERYTHING],
    ['serverless', 'defaults', {}],
    ['serverless', 'everything enabled', EVERYTHING],
    ['keymend', 'defaults', {}],
  ] as const)('%s pack, %s: no unacknowledged finding', (pack, _, props) => {
    expect(unacknowledged(pack, props)).toEqual([]);
  });

  test('the checks do report: keymend pack finds the public URL when it is not acknowledged', () => {
    const { app, stack } = synth({});
    // A second public URL, unacknowledged, on the remediate function.
    stack.remediation.remediateFunction.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
    const report = new KeymendChecks(app).validateScope(stack);
    expect(report.violations.map((v) => v.ruleName)).toEqual(['Keymend-LambdaFunctionUrlAuth']);
  });

  test('every acknowledgement names a rule and gives a reason', () => {
    const { stack } = synth(EVERYTHING);
    const acknowledgements = stack.node
      .findAll()
      .flatMap((construct) => construct.node.metadata)
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>));
    expect(acknowledgements.length).toBeGreaterThan(10);
    for (const [id, reason] of acknowledgements) {
      expect(id).toMatch(/^(?:Annotation::)?(?:AwsSolutions|Serverless|Keymend)-[A-Za-z]+\d*/);
      expect(reason.length).toBeGreaterThan(40);
    }
  });
});
