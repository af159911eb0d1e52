import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { synth } from './synth';

/** The findings cdk-nag's AWS Solutions pack reports and nobody acknowledged, as `rule at path`. */
function unacknowledged(props: Parameters<typeof synth>[0]): string[] {
  const { app, stack } = synth(props);
  const report = new AwsSolutionsChecks(app).validateScope(stack);
  return report.violations.flatMap((violation) =>
    violation.violatingResources.map(
      (resource) => `${violation.ruleName} at ${resource.constructPath ?? resource.resourceLogicalId}`,
    ),
  );
}

describe('cdk-nag AwsSolutionsChecks', () => {
  test('defaults: no unacknowledged finding', () => {
    expect(unacknowledged({})).toEqual([]);
  });

  test('everything enabled (auto mode, inline policies, key policies, chat, trail): no unacknowledged finding', () => {
    expect(
      unacknowledged({
        mode: 'auto',
        autoApplyPrincipals: [
          'arn:aws:iam::111122223333:role/consumer-*',
          'arn:aws:iam::111122223333:user/ci',
        ],
        enableInlinePolicy: true,
        enableKeyPolicyChanges: true,
        chatTopicArn: 'arn:aws:sns:eu-west-1:111122223333:keymend-chat',
        notificationEmails: ['ops@example.com'],
        createTrail: true,
      }),
    ).toEqual([]);
  });

  test('every acknowledgement names a rule and gives a reason', () => {
    const { stack } = synth({ mode: 'auto', createTrail: true });
    const acknowledgements = stack.node
      .findAll()
      .flatMap((construct) => construct.node.metadata)
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>));
    expect(acknowledgements.length).toBeGreaterThan(5);
    for (const [id, reason] of acknowledgements) {
      expect(id).toMatch(/^(?:Annotation::)?AwsSolutions-[A-Z]+\d+/);
      expect(reason.length).toBeGreaterThan(40);
    }
  });
});
