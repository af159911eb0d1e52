import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, CfnResource } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { ContextError, parseContext } from '../../infra/context';
import { addKeymendStacks } from '../../infra/keymend-app';
import type { KeymendHubStack } from '../../infra/keymend-hub';
import { KeymendMemberStack } from '../../infra/keymend-member';
import { kmsDenialPattern } from '../../infra/keymend-remediation';
import { ORGANIZATION_CONTEXT, synthOrganization } from './organization';
import { newApp, synth } from './synth';

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

describe('notification routes', () => {
  const ROUTES = {
    '444455556666': 'payments-alerts',
    'ou-ab12-cdef3456': 'payments-alerts',
    'ou-ab12-99887766': 'arn:aws:sns:us-east-1:777788889999:data-alerts',
  };
  const routed = synthOrganization({ notificationRoutes: ROUTES });
  const template = Template.fromJSON(routed.hubTemplate);
  const resources = routed.hubTemplate.Resources as Resources;
  const logicalId = (type: string, match: RegExp) => {
    const found = Object.entries(resources).filter(([id, r]) => r.Type === type && match.test(id));
    expect(found).toHaveLength(1);
    return found[0]?.[0] as string;
  };
  const emailTopic = logicalId('AWS::SNS::Topic', /EmailTopic/);
  const routeTopic = logicalId('AWS::SNS::Topic', /RouteTopicpaymentsalerts/);
  const topicKey = logicalId('AWS::KMS::Key', /TopicKey/);
  const REFERENCED = 'arn:aws:sns:us-east-1:777788889999:data-alerts';

  it('creates one topic per named topic, encrypted with the topic key; an ARN is referenced, not created', () => {
    template.resourceCountIs('AWS::SNS::Topic', 2);
    expect(resources[routeTopic]?.Properties).toEqual({
      TopicName: 'payments-alerts',
      DisplayName: 'keymend',
      KmsMasterKeyId: { 'Fn::GetAtt': [topicKey, 'Arn'] },
    });
    expect(JSON.stringify(routed.hubTemplate)).not.toMatch(/"TopicName":"data-alerts"/);
  });

  it("locks the routed topic down like the e-mail topic: SSL only, only keymend's roles publish, subscribers from this account", () => {
    const policies = Object.values(resources).filter(
      (r) =>
        r.Type === 'AWS::SNS::TopicPolicy' &&
        JSON.stringify(r.Properties.Topics) === JSON.stringify([{ Ref: routeTopic }]),
    );
    expect(policies).toHaveLength(1);
    const document = policies[0]?.Properties.PolicyDocument as { Statement: Record<string, unknown>[] };
    const statements = document.Statement;
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    expect(Object.keys(bySid).sort()).toEqual([
      'AllowPublishThroughSSLOnly',
      'PublishOnlyKeymend',
      'SubscribeOnlyFromThisAccount',
    ]);
    expect(bySid.PublishOnlyKeymend).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'sns:Publish',
      Condition: { ArnNotEqualsIfExists: { 'aws:PrincipalArn': [expect.anything(), expect.anything()] } },
    });
    expect(JSON.stringify(bySid.PublishOnlyKeymend)).toMatch(/ApprovalRole.*RemediateRole/);
    expect(bySid.SubscribeOnlyFromThisAccount).toMatchObject({
      Effect: 'Deny',
      Action: 'sns:Subscribe',
      Condition: { StringNotEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } } },
    });
  });

  it('gives both functions the routes, in order, with names for the topics it made', () => {
    for (const fn of ['remediateFunction', 'approvalFunction'] as const) {
      const id = routed.hub.getLogicalId(
        routed.hub.remediation[fn].node.defaultChild as import('aws-cdk-lib').CfnElement,
      );
      expect(resources[id]?.Properties.Environment).toMatchObject({
        Variables: {
          KEYMEND_NOTIFICATION_ROUTES: `444455556666=payments-alerts,ou-ab12-cdef3456=payments-alerts,ou-ab12-99887766=${REFERENCED}`,
        },
      });
    }
  });

  it('lets both roles (and their boundary) publish to exactly the e-mail topic and the routed ones', () => {
    const expected = [{ Ref: emailTopic }, { Ref: routeTopic }, REFERENCED];
    const publishResources = (document: { Statement: Record<string, unknown>[] }) =>
      document.Statement.filter((s) => JSON.stringify(s.Action).includes('sns:Publish')).map(
        (s) => s.Resource,
      );
    const policies = Object.values(resources).filter(
      (r) => r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy',
    );
    const granted = policies.flatMap((p) => publishResources(p.Properties.PolicyDocument as never));
    // The remediate role, the approval role and the boundary: one statement each (in any order).
    const sorted = (list: unknown) => (list as unknown[]).map((r) => JSON.stringify(r)).sort();
    expect(granted.map(sorted)).toEqual([sorted(expected), sorted(expected), sorted(expected)]);
  });

  it('without routes: no routed topic, an empty setting, and publishing to the e-mail topic alone', () => {
    hub.resourceCountIs('AWS::SNS::Topic', 1);
    const policies = Object.values(built.hubTemplate.Resources as Resources).filter(
      (r) => r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy',
    );
    const publish = policies.flatMap((p) =>
      (p.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement.filter((s) =>
        JSON.stringify(s.Action).includes('sns:Publish'),
      ),
    );
    expect(publish.map((s) => s.Resource)).toEqual([
      { Ref: expect.stringMatching(/EmailTopic/) },
      { Ref: expect.stringMatching(/EmailTopic/) },
      { Ref: expect.stringMatching(/EmailTopic/) },
    ]);
    expect(JSON.stringify(built.hubTemplate)).toMatch(/"KEYMEND_NOTIFICATION_ROUTES":""/);
  });

  it.each(['aws', 'serverless'] as const)(
    '%s pack: the hub with routes has no unacknowledged finding',
    (pack) => {
      const checks = pack === 'aws' ? new AwsSolutionsChecks(routed.app) : new ServerlessChecks(routed.app);
      expect(checks.validateScope(routed.hub).violations).toEqual([]);
    },
  );
});

describe('notificationRoutes context', () => {
  const parse = (value: unknown, context: Record<string, unknown> = {}) =>
    parseContext((key) => ({ ...ORGANIZATION_CONTEXT, notificationRoutes: value, ...context })[key]);
  const refused = (value: unknown, context: Record<string, unknown> = {}) => {
    try {
      parse(value, context);
    } catch (error) {
      expect(error).toBeInstanceOf(ContextError);
      expect((error as ContextError).key).toBe('notificationRoutes');
      return (error as Error).message;
    }
    throw new Error('not refused');
  };

  it('takes a JSON object (cdk.json), the same JSON as a string, or KEY=TOPIC pairs, in order', () => {
    const expected = [
      { key: '444455556666', topic: 'payments-alerts' },
      { key: 'ou-ab12-cdef3456', topic: 'arn:aws:sns:us-east-1:777788889999:data-alerts' },
    ];
    const object = {
      '444455556666': 'payments-alerts',
      'ou-ab12-cdef3456': 'arn:aws:sns:us-east-1:777788889999:data-alerts',
    };
    expect(parse(object).remediation.notificationRoutes).toEqual(expected);
    expect(parse(JSON.stringify(object)).remediation.notificationRoutes).toEqual(expected);
    expect(
      parse('444455556666=payments-alerts, ou-ab12-cdef3456=arn:aws:sns:us-east-1:777788889999:data-alerts')
        .remediation.notificationRoutes,
    ).toEqual(expected);
  });

  it.each([
    [{ '44445555666': 'x' }, /'44445555666' is not an account id: account ids have 12 digits/],
    [{ 'ou-1': 'x' }, /'ou-1' is neither a 12-digit account id nor an OU id/],
    [{ 'r-ab12': 'x' }, /'r-ab12' is the organization's root/],
    [{ '444455556666': 'alerts.fifo' }, /'alerts.fifo' is neither a topic ARN nor a topic name/],
    [{ '444455556666': 'arn:aws:sqs:us-east-1:444455556666:q' }, /not a standard SNS topic ARN/],
    [
      { '444455556666': 'arn:aws:sns:eu-west-1:444455556666:t' },
      /is in eu-west-1: keymend publishes from us-east-1/,
    ],
    [{ '444455556666': 42 }, /'444455556666' routes to 42, not a topic name or ARN/],
    ['444455556666=a,444455556666=b', /routes '444455556666' twice/],
    ['444455556666', /'444455556666' is not ACCOUNT=TOPIC or OU=TOPIC/],
    ['{"444455556666": ', /is not valid JSON/],
    [['444455556666=a'], /expected an object of account or OU ids to topics/],
  ])('%j is refused naming the key and the bad entry', (value, why) => {
    expect(refused(value)).toMatch(why);
  });

  it('is refused outside an organization deployment, and when too long for the environment', () => {
    expect(
      refused(
        { '444455556666': 'x' },
        { deployment: undefined, organizationId: undefined, organizationTargets: undefined },
      ),
    ).toMatch(/needs deployment=organization/);
    const many = Object.fromEntries(
      Array.from({ length: 60 }, (_, n) => [
        String(100000000000 + n),
        `arn:aws:sns:us-east-1:777788889999:team-${n}`,
      ]),
    );
    expect(refused(many)).toMatch(/characters of the functions' environment, over 2048/);
  });
});

describe('notificationRoutes on the construct', () => {
  it.each([
    [[{ key: '4444', topic: 'x' }], /notificationRoutes '4444' is not an account id/],
    [[{ key: 'ou-ab12-cdef3456', topic: 'x.fifo' }], /notificationRoutes 'x.fifo' is neither/],
    [
      [
        { key: '444455556666', topic: 'a' },
        { key: '444455556666', topic: 'b' },
      ],
      /notificationRoutes routes '444455556666' twice/,
    ],
  ])('%j is refused naming the prop', (routes, why) => {
    expect(() => synth({ notificationRoutes: routes })).toThrow(why);
  });
});

describe("aws-cdk-lib's built-in template validation", () => {
  const STRICT_VALIDATION = {
    '@aws-cdk/core:validateAgainstDefaultRules': true,
    '@aws-cdk/core:strictCfnValidateErrors': true,
  };

  const organizationApp = () =>
    newApp({
      validation: true,
      context: {
        ...STRICT_VALIDATION,
        ...ORGANIZATION_CONTEXT,
        notificationEmail: 'ops@example.com',
        notificationRoutes: {
          '444455556666': 'payments-alerts',
          'ou-ab12-cdef3456': 'arn:aws:sns:us-east-1:777788889999:data-alerts',
        },
      },
    });

  it('passes on the hub (with routes) and the member, errors and warnings both failing', () => {
    const app = organizationApp();
    addKeymendStacks(app);
    const assembly = app.synth();
    expect(assembly.stacks.map((s) => s.stackName).sort()).toEqual(['KeymendHub', 'KeymendMember']);
    const report = JSON.parse(
      fs.readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8'),
    );
    const violations = report.pluginReports.flatMap((r: { violations?: unknown[] }) => r.violations ?? []);
    expect(violations).toEqual([]);
  });

  it('is really on for these apps: a bad property in the hub fails the synth', () => {
    const app = organizationApp();
    const [hubStack] = addKeymendStacks(app);
    new CfnResource(hubStack as KeymendHubStack, 'Bad', {
      type: 'AWS::SQS::Queue',
      properties: { VisibilityTimeout: 'soon' },
    });
    expect(() => app.synth()).toThrow(/VisibilityTimeout/);
  });
});
