import * as fs from 'node:fs';
import * as path from 'node:path';
import { unsafePrincipalPattern } from '../../functions/commons/arn';
import {
  approvalStatements,
  createGrantStatement,
  type IamScope,
  ownRoleDenies,
  readStatements,
  remediateStatements,
  stateStatements,
  WRITE_ACTIONS,
  type WritePowers,
} from '../../infra/iam';
import { signInStatements } from '../../infra/sign-in';

const scope: IamScope = {
  partition: 'aws',
  region: 'eu-west-1',
  account: '111122223333',
  tableArn: 'arn:aws:dynamodb:eu-west-1:111122223333:table/keymend',
  decisionKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/decision',
  revokeKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/revoke',
  topicArns: ['arn:aws:sns:eu-west-1:111122223333:keymend-email', 'arn:aws:sns:eu-west-1:111122223333:chat'],
  topicKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  approvalRoleArn: 'arn:aws:iam::111122223333:role/keymend/Approval',
  ownRoleArns: [
    'arn:aws:iam::111122223333:role/keymend/Approval',
    'arn:aws:iam::111122223333:role/keymend/Remediate',
  ],
};
const KEYS = 'arn:aws:kms:eu-west-1:111122223333:key/*';

const propose: WritePowers = { mode: 'propose', inlinePolicyPrincipals: [], keyPolicyChanges: false };
const everything: WritePowers = {
  mode: 'auto',
  inlinePolicyPrincipals: ['arn:aws:iam::111122223333:role/app-*', 'arn:aws:iam::111122223333:user/ci'],
  keyPolicyChanges: true,
};

const actions = (statements: { actions?: string[]; effect?: string }[]) =>
  statements.filter((s) => s.effect !== 'Deny').flatMap((s) => s.actions ?? []);
const bySid = (statements: { sid?: string }[], sid: string) => statements.find((s) => s.sid === sid);

describe('read statements', () => {
  test('read exactly what the account reader calls, on resources of this account and Region', () => {
    expect(readStatements(scope).map(({ sid, actions, resources }) => ({ sid, actions, resources }))).toEqual(
      [
        {
          sid: 'ReadRoles',
          actions: [
            'iam:GetRole',
            'iam:GetRolePolicy',
            'iam:ListAttachedRolePolicies',
            'iam:ListRolePolicies',
          ],
          resources: ['arn:aws:iam::111122223333:role/*'],
        },
        {
          sid: 'ReadUsers',
          actions: [
            'iam:GetUser',
            'iam:GetUserPolicy',
            'iam:ListAttachedUserPolicies',
            'iam:ListGroupsForUser',
            'iam:ListUserPolicies',
          ],
          resources: ['arn:aws:iam::111122223333:user/*'],
        },
        {
          sid: 'ReadGroups',
          actions: ['iam:GetGroupPolicy', 'iam:ListAttachedGroupPolicies', 'iam:ListGroupPolicies'],
          resources: ['arn:aws:iam::111122223333:group/*'],
        },
        {
          sid: 'ReadManagedPolicies',
          actions: ['iam:GetPolicy', 'iam:GetPolicyVersion'],
          resources: ['arn:aws:iam::111122223333:policy/*', 'arn:aws:iam::aws:policy/*'],
        },
        {
          sid: 'ReadKeys',
          actions: ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:ListGrants', 'kms:ListResourceTags'],
          resources: [KEYS],
        },
        { sid: 'ListAliases', actions: ['kms:ListAliases'], resources: ['*'] },
        { sid: 'ReadForPeople', actions: ['iam:ListAccountAliases'], resources: ['*'] },
        {
          sid: 'ReadStreams',
          actions: ['kinesis:DescribeStreamSummary'],
          resources: ['arn:aws:kinesis:eu-west-1:111122223333:stream/*'],
        },
        {
          sid: 'ReadOrganization',
          actions: [
            'organizations:DescribeOrganization',
            'organizations:ListParents',
            'organizations:ListPoliciesForTarget',
            'organizations:ListRoots',
          ],
          resources: ['*'],
        },
        {
          // The content of SCPs and RCPs only: not of tag, backup, AI opt-out or other policy types.
          sid: 'ReadOrganizationPolicies',
          actions: ['organizations:DescribePolicy'],
          resources: [
            'arn:aws:organizations::*:policy/o-*/resource_control_policy/p-*',
            'arn:aws:organizations::*:policy/o-*/service_control_policy/p-*',
            'arn:aws:organizations::aws:policy/resource_control_policy/p-*',
            'arn:aws:organizations::aws:policy/service_control_policy/p-*',
          ],
        },
      ],
    );
  });

  test('every AWS call in functions/adapters/ is allowed to a function when everything is enabled', () => {
    const allowed = new Set([
      ...actions(remediateStatements(scope, everything).filter((s) => s.effect === 'Allow')),
      ...actions(approvalStatements(scope, everything).filter((s) => s.effect === 'Allow')),
      // Authorized by the grant itself, whose retiring principal is the approval role: no IAM permission.
      'kms:RetireGrant',
      // Sign-in (issue 21) reads its client secret, when it is on (infra/sign-in.ts).
      ...actions(
        signInStatements({
          issuer: 'https://idp.example.com',
          clientId: 'keymend',
          clientSecretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:oidc-AbCdEf',
          approverEmails: ['alice@example.com'],
        }),
      ),
    ]);
    const sent = adapterActions();
    // The reader's calls at least: if this shrinks, the scan below stopped finding them.
    expect(sent).toEqual(
      expect.arrayContaining([
        'iam:GetRole',
        'kms:GetKeyPolicy',
        'kinesis:DescribeStreamSummary',
        'organizations:DescribeOrganization',
        'organizations:ListParents',
        'organizations:ListRoots',
        'organizations:ListPoliciesForTarget',
        'organizations:DescribePolicy',
        'iam:ListAccountAliases',
        'cloudwatch:GetMetricData',
      ]),
    );
    expect(sent.filter((action) => !allowed.has(action))).toEqual([]);
  });
});

/** Services by SDK client package, and the calls whose IAM actions are named differently. */
const SERVICE_PREFIX: Record<string, string> = {
  'client-iam': 'iam',
  'client-kms': 'kms',
  'client-kinesis': 'kinesis',
  'client-dynamodb': 'dynamodb',
  'client-sns': 'sns',
  'client-secrets-manager': 'secretsmanager',
  'client-organizations': 'organizations',
  'client-cloudwatch': 'cloudwatch',
};
/**
 * Calls only `keymend local` makes: store.ts `createTable` builds the table in dynalite; in AWS the
 * stack creates it, so the functions get no permission for these.
 */
const LOCAL_ONLY = new Set(['dynamodb:CreateTable', 'dynamodb:DescribeTable', 'dynamodb:UpdateTimeToLive']);
const AUTHORIZED_AS: Record<string, string[]> = {
  'dynamodb:TransactWriteItems': [
    'dynamodb:ConditionCheckItem',
    'dynamodb:DeleteItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
  ],
  'dynamodb:TransactGetItems': ['dynamodb:GetItem'],
};

/** The IAM actions of every `XxxCommand` the adapters import from an AWS SDK client. */
function adapterActions(): string[] {
  const dir = path.join(__dirname, '../../functions/adapters');
  const found = new Set<string>();
  for (const file of fs.readdirSync(dir).filter((name) => name.endsWith('.ts'))) {
    const source = fs.readFileSync(path.join(dir, file), 'utf8');
    for (const match of source.matchAll(
      /import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'@aws-sdk\/([a-z0-9-]+)'/g,
    )) {
      const prefix = SERVICE_PREFIX[match[2] ?? ''];
      if (prefix === undefined) continue;
      for (const name of (match[1] ?? '').matchAll(/\b(\w+)Command\b/g)) {
        const action = `${prefix}:${name[1]}`;
        if (LOCAL_ONLY.has(action)) continue;
        for (const authorized of AUTHORIZED_AS[action] ?? [action]) found.add(authorized);
      }
    }
  }
  return [...found].sort();
}

describe('state statements', () => {
  test('item actions on the table, publish on the topics, the topic key: nothing else', () => {
    expect(stateStatements(scope)).toEqual([
      expect.objectContaining({
        sid: 'ProposalTable',
        actions: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [scope.tableArn],
      }),
      expect.objectContaining({ sid: 'Notify', actions: ['sns:Publish'], resources: scope.topicArns }),
      expect.objectContaining({
        sid: 'EncryptNotifications',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [scope.topicKeyArn],
      }),
    ]);
  });

  test('no topic key, no KMS statement for it', () => {
    const { topicKeyArn: _, ...withoutKey } = scope;
    expect(bySid(stateStatements(withoutKey), 'EncryptNotifications')).toBeUndefined();
  });
});

describe('write statements', () => {
  test('CreateGrant only as keymend makes grants: this account`s principals, Kinesis operations, the stream`s context, retired by the approval role', () => {
    expect(createGrantStatement(scope)).toEqual({
      sid: 'CreateKinesisGrants',
      effect: 'Allow',
      actions: ['kms:CreateGrant'],
      resources: [KEYS],
      conditions: {
        'ForAllValues:StringEquals': {
          'kms:GrantOperations': ['Decrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext'],
          'kms:EncryptionContextKeys': ['aws:kinesis:arn'],
        },
        'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': ['aws:kinesis:arn'] },
        StringEquals: {
          'kms:GrantConstraintType': 'EncryptionContextSubset',
          'kms:RetiringPrincipal': 'arn:aws:iam::111122223333:role/keymend/Approval',
        },
        StringLike: {
          'kms:GranteePrincipal': ['arn:aws:iam::111122223333:role/*', 'arn:aws:iam::111122223333:user/*'],
          'kms:EncryptionContext:aws:kinesis:arn': 'arn:aws:kinesis:eu-west-1:111122223333:stream/*',
        },
        BoolIfExists: { 'kms:GrantIsForAWSResource': 'false' },
      },
    });
  });

  test('both roles, in every configuration, deny grants to keymend`s roles and every IAM write on them', () => {
    for (const powers of [propose, everything]) {
      for (const statements of [remediateStatements(scope, powers), approvalStatements(scope, powers)]) {
        for (const deny of ownRoleDenies(scope)) expect(statements).toContainEqual(deny);
      }
    }
    const [pattern, exact, iamWrites] = ownRoleDenies(scope);
    expect(pattern?.conditions).toEqual({
      StringLike: { 'kms:GranteePrincipal': ['arn:aws:iam::111122223333:role/keymend/*'] },
    });
    expect(exact?.conditions).toEqual({
      StringEqualsIgnoreCase: { 'kms:GranteePrincipal': scope.ownRoleArns },
    });
    expect(iamWrites?.actions).toEqual(expect.arrayContaining(['iam:PutRolePolicy', 'iam:DeleteRolePolicy']));
    expect(iamWrites?.resources).toEqual(['arn:aws:iam::111122223333:role/keymend/*', ...scope.ownRoleArns]);
  });

  test('propose mode: the remediate function has no write action, whatever else is enabled', () => {
    const statements = remediateStatements(scope, { ...everything, mode: 'propose' });
    expect(actions(statements).filter((a) => WRITE_ACTIONS.includes(a))).toEqual([]);
  });

  test('auto mode: the remediate function creates grants and puts inline policies on the configured principals only', () => {
    const statements = remediateStatements(scope, everything);
    expect(actions(statements).filter((a) => WRITE_ACTIONS.includes(a))).toEqual([
      'kms:CreateGrant',
      'iam:PutRolePolicy',
      'iam:PutUserPolicy',
    ]);
    expect(bySid(statements, 'CreateKinesisGrants')).toEqual(createGrantStatement(scope));
    expect(bySid(statements, 'WriteRoleInlinePolicies')).toMatchObject({
      actions: ['iam:PutRolePolicy'],
      resources: ['arn:aws:iam::111122223333:role/app-*'],
    });
    expect(bySid(statements, 'WriteUserInlinePolicies')).toMatchObject({
      actions: ['iam:PutUserPolicy'],
      resources: ['arn:aws:iam::111122223333:user/ci'],
    });
  });

  test('auto mode without the inline mechanism: grants only', () => {
    const statements = remediateStatements(scope, { ...propose, mode: 'auto' });
    expect(actions(statements).filter((a) => WRITE_ACTIONS.includes(a))).toEqual(['kms:CreateGrant']);
  });

  test('the approval function by default: create grants (it retires them as their retiring principal), no RevokeGrant, no IAM write, no key policy', () => {
    const statements = approvalStatements(scope, propose);
    const allowed = statements.filter((s) => s.effect === 'Allow');
    expect(actions(allowed).filter((a) => WRITE_ACTIONS.includes(a))).toEqual(['kms:CreateGrant']);
    expect(bySid(statements, 'CreateKinesisGrants')).toEqual(createGrantStatement(scope));
    for (const powers of [propose, everything]) {
      for (const s of [...approvalStatements(scope, powers), ...remediateStatements(scope, powers)]) {
        expect(s.actions ?? []).not.toContain('kms:RevokeGrant');
      }
    }
  });

  test('the approval function with everything enabled: inline put and delete on the patterns, key policy with the lockout check enforced', () => {
    const statements = approvalStatements(scope, everything);
    expect(bySid(statements, 'WriteRoleInlinePolicies')).toMatchObject({
      actions: ['iam:DeleteRolePolicy', 'iam:PutRolePolicy'],
      resources: ['arn:aws:iam::111122223333:role/app-*'],
    });
    expect(bySid(statements, 'WriteUserInlinePolicies')).toMatchObject({
      actions: ['iam:DeleteUserPolicy', 'iam:PutUserPolicy'],
      resources: ['arn:aws:iam::111122223333:user/ci'],
    });
    expect(bySid(statements, 'PutKeyPolicy')).toMatchObject({
      effect: 'Allow',
      actions: ['kms:PutKeyPolicy'],
      resources: [KEYS],
    });
    expect(bySid(statements, 'NeverBypassLockoutCheck')).toMatchObject({
      effect: 'Deny',
      actions: ['kms:PutKeyPolicy'],
      conditions: { Bool: { 'kms:BypassPolicyLockoutSafetyCheck': 'true' } },
    });
  });

  test('no allowed action is a wildcard, in any configuration', () => {
    for (const powers of [propose, everything]) {
      for (const statement of [...remediateStatements(scope, powers), ...approvalStatements(scope, powers)]) {
        if (statement.effect === 'Deny') continue;
        for (const action of statement.actions ?? []) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
      }
    }
  });

  test('only ListAliases, the account alias, the organization reads and (remediate) the consumer lag, which name no resource known at deploy, have the resource *', () => {
    const common = [
      ['kms:ListAliases'],
      ['iam:ListAccountAliases'],
      [
        'organizations:DescribeOrganization',
        'organizations:ListParents',
        'organizations:ListPoliciesForTarget',
        'organizations:ListRoots',
      ],
    ];
    const wide = (statements: ReturnType<typeof approvalStatements>) =>
      statements.filter((s) => s.effect === 'Allow' && s.resources?.includes('*')).map((s) => s.actions);
    expect(wide(approvalStatements(scope, everything))).toEqual(common);
    expect(wide(remediateStatements(scope, everything))).toEqual([...common, ['cloudwatch:GetMetricData']]);
  });
});

describe('unsafePrincipalPattern', () => {
  test.each([
    ['arn:aws:iam::111122223333:role/app-*', undefined],
    ['arn:aws:iam::111122223333:role/service-role/orders-*', undefined],
    ['arn:aws:iam::111122223333:user/ci', undefined],
    ['arn:aws:iam::*:role/app-*', /account/],
    ['arn:aws:iam::1111222233??:role/app-*', /account/],
    ['arn:aws:iam::111122223333:role/*', /only wildcards/],
    ['arn:aws:iam::111122223333:role/?*', /only wildcards/],
    ['arn:aws:iam::111122223333:role/*/*', /only wildcards/],
    ['arn:aws:iam::111122223333:user/**', /only wildcards/],
  ])('%s', (pattern, problem) => {
    const found = unsafePrincipalPattern(pattern);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });
});
