import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { ContextError, parseContext } from '../../infra/context';
import { KeymendMemberStack } from '../../infra/keymend-member';
import { kmsDenialPattern } from '../../infra/keymend-remediation';
import { ORGANIZATION_CONTEXT, synthOrganization } from './organization';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown>; Condition?: string }>;

const built = synthOrganization();
const member = Template.fromJSON(built.memberTemplate);
const hub = Template.fromJSON(built.hubTemplate);
const memberResources = built.memberTemplate.Resources as Resources;

describe('member template', () => {
  it('has no Lambda function, no asset and no bootstrap parameter: only the two the StackSet fills', () => {
    member.resourceCountIs('AWS::Lambda::Function', 0);
    expect(Object.keys(built.memberTemplate.Parameters)).toEqual(['HubEventBusArn', 'HubRoleArns']);
    expect(JSON.stringify(built.memberTemplate)).not.toMatch(
      /AssetParameters|BootstrapVersion|cdk-hnb659fds/,
    );
    expect(built.memberTemplate.Rules).toBeUndefined();
  });

  it('its rule sees read-only management events, with the Kinesis-only pattern, and targets the hub bus with a DLQ', () => {
    const rules = Object.values(memberResources).filter((r) => r.Type === 'AWS::Events::Rule');
    expect(rules).toHaveLength(1);
    const rule = rules[0]?.Properties as Record<string, unknown>;
    expect(rule.EventBusName).toBeUndefined();
    expect(rule.State).toBe('ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
    expect(rule.EventPattern).toEqual(toCfnPattern(kmsDenialPattern()));
    const [target] = rule.Targets as Record<string, unknown>[];
    expect(target?.Arn).toEqual({ Ref: 'HubEventBusArn' });
    expect(target?.RoleArn).toBeDefined();
    expect(target?.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } });
  });

  it('its role trusts only the hub roles, with sts:SourceIdentity required, under its boundary, in one Region', () => {
    const role = memberResources.MemberRole;
    expect(role?.Properties.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'HubRolesWithSourceIdentity',
          Effect: 'Allow',
          Principal: { AWS: { Ref: 'HubRoleArns' } },
          Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
          Condition: { StringLike: { 'sts:SourceIdentity': 'keymend-*' } },
        },
      ],
    });
    expect(role?.Properties.PermissionsBoundary).toEqual({ Ref: 'RoleBoundary' });
    expect(role?.Properties.RoleName).toBe('keymend-member');
    expect(role?.Properties.Path).toBe('/keymend/');
    expect(role?.Condition).toBe('CreateIamHere');
    expect(memberResources.RoleBoundary?.Condition).toBe('CreateIamHere');
    expect(built.memberTemplate.Conditions.CreateIamHere).toEqual({
      'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'],
    });
  });
});

describe('hub template', () => {
  it('its bus admits events only from the organization, and a rule on it invokes the remediate function', () => {
    hub.hasResourceProperties('AWS::Events::EventBusPolicy', {
      Statement: Match.objectLike({
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Principal: { AWS: '*' },
        Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } },
      }),
    });
    const onBus = Object.values(built.hubTemplate.Resources as Resources).filter(
      (r) => r.Type === 'AWS::Events::Rule' && r.Properties.EventBusName !== undefined,
    );
    expect(onBus).toHaveLength(1);
    expect(onBus[0]?.Properties.State).toBe('ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
    const [target] = (onBus[0]?.Properties.Targets ?? []) as Record<string, unknown>[];
    expect(JSON.stringify(target?.Arn)).toMatch(/RemediateFunction/);
    expect(target?.DeadLetterConfig).toBeDefined();
  });

  it('holds a service-managed StackSet of the member template with auto-deployment to the OUs and Regions', () => {
    const sets = Object.values(built.hubTemplate.Resources as Resources).filter(
      (r) => r.Type === 'AWS::CloudFormation::StackSet',
    );
    expect(sets).toHaveLength(1);
    const set = sets[0]?.Properties as Record<string, unknown>;
    expect(set.PermissionModel).toBe('SERVICE_MANAGED');
    expect(set.AutoDeployment).toEqual({ Enabled: true, RetainStacksOnAccountRemoval: false });
    expect(set.CallAs).toBe('DELEGATED_ADMIN');
    expect(set.OperationPreferences).toEqual({
      FailureTolerancePercentage: 10,
      MaxConcurrentPercentage: 25,
      RegionConcurrencyType: 'PARALLEL',
    });
    expect(set.StackInstancesGroup).toEqual([
      {
        DeploymentTargets: { OrganizationalUnitIds: ['ou-ab12-cdef3456', 'ou-ab12-99887766'] },
        Regions: ['us-east-1', 'eu-west-1'],
      },
    ]);
    expect(JSON.parse(set.TemplateBody as string)).toEqual(built.memberTemplate);
    const parameters = set.Parameters as { ParameterKey: string; ParameterValue: unknown }[];
    expect(parameters.map((p) => p.ParameterKey)).toEqual(['HubEventBusArn', 'HubRoleArns']);
    // The approval role first: the member role's grants name it as retiring principal (Fn::Select 0).
    expect(JSON.stringify(parameters[1]?.ParameterValue)).toMatch(/ApprovalRole.*RemediateRole/);
  });
});

describe('cdk-nag', () => {
  const findings = (stack: import('aws-cdk-lib').Stack, app: App, pack: 'aws' | 'serverless') => {
    const checks = pack === 'aws' ? new AwsSolutionsChecks(app) : new ServerlessChecks(app);
    return checks
      .validateScope(stack)
      .violations.flatMap((v) =>
        v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath ?? r.resourceLogicalId}`),
      );
  };
  it.each(['aws', 'serverless'] as const)(
    '%s pack: the hub and the member have no unacknowledged finding',
    (pack) => {
      const { app, hub: hubStack } = synthOrganization();
      const memberStack = app.node.findChild('KeymendMember') as KeymendMemberStack;
      expect(findings(hubStack, app, pack)).toEqual([]);
      expect(findings(memberStack, app, pack)).toEqual([]);
    },
  );

  it('the checks do report on the member: an unacknowledged wildcard action is found', () => {
    const app = new App();
    const stack = new KeymendMemberStack(app, 'Wild', {
      regions: ['us-east-1'],
      iamRegion: 'us-east-1',
      powers: { inlinePolicyPrincipals: [], keyPolicyChanges: false },
    });
    stack.role.policies = [
      {
        policyName: 'wild',
        policyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }],
        },
      },
    ];
    expect(findings(stack, app, 'aws')).toEqual(['AwsSolutions-IAM5[Action::kms:*] at Wild/MemberRole']);
  });
});

describe('context', () => {
  const parse = (context: Record<string, unknown>) => () =>
    parseContext((key) => ({ ...ORGANIZATION_CONTEXT, ...context })[key]);

  it.each([
    [{ organizationId: 'org-1' }, 'organizationId'],
    [{ organizationId: 'o-SHORT' }, 'organizationId'],
    [{ organizationId: undefined }, 'organizationId'],
    [{ organizationTargets: 'ou-1' }, 'organizationTargets'],
    [{ organizationTargets: undefined }, 'organizationTargets'],
    [{ organizationTargets: 'r-ab12,ou-ab12-cdef3456' }, 'organizationTargets'],
    [{ regions: undefined }, 'regions'],
    [{ stackSetFailureTolerance: '101' }, 'stackSetFailureTolerance'],
    [{ stackSetMaxConcurrent: '0' }, 'stackSetMaxConcurrent'],
    [{ stackSetCallAs: 'ADMIN' }, 'stackSetCallAs'],
    [{ deployment: 'galaxy' }, 'deployment'],
    [{ createTrail: 'true' }, 'createTrail'],
    [{ deployment: undefined }, 'organizationId'],
  ])('%j fails naming %s', (context, key) => {
    expect(parse(context)).toThrow(ContextError);
    expect(parse(context)).toThrow(`context key '${key}'`);
  });

  it('a root target and explicit settings are taken as given', () => {
    const config = parse({
      organizationTargets: 'r-ab12',
      stackSetFailureTolerance: 0,
      stackSetMaxConcurrent: '100',
      stackSetCallAs: 'SELF',
    })();
    expect(config.organization).toEqual({
      organizationId: 'o-a1b2c3d4e5',
      targets: ['r-ab12'],
      regions: ['us-east-1', 'eu-west-1'],
      failureTolerancePercentage: 0,
      maxConcurrentPercentage: 100,
      callAs: 'SELF',
    });
  });
});

/** An EventPattern as CloudFormation holds it (detailType becomes detail-type). */
function toCfnPattern(pattern: ReturnType<typeof kmsDenialPattern>): unknown {
  const { detailType, ...rest } = pattern;
  return { ...rest, 'detail-type': detailType };
}
