import {
  GetGroupPolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  IAMClient,
  IAMServiceException,
  ListAttachedGroupPoliciesCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupPoliciesCommand,
  ListGroupsForUserCommand,
  ListRolePoliciesCommand,
  ListUserPoliciesCommand,
  NoSuchEntityException,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsReadError } from '../../functions/adapters/aws-read';
import { PolicyVersionCache, readIamPrincipal, readManagedPolicy } from '../../functions/adapters/iam';
import { ALICE, CONSUMER } from '../helpers/arns';

const EXEC_ROLE = 'arn:aws:iam::aws:policy/service-role/AWSLambdaKinesisExecutionRole';
const READERS = 'arn:aws:iam::111122223333:policy/orders-readers';
const ALICE_EXTRA = 'arn:aws:iam::111122223333:policy/alice-extra';
const BOUNDARY = 'arn:aws:iam::111122223333:policy/consumers-boundary';
const CREATED = new Date('2024-01-01T00:00:00Z');

const iam = mockClient(IAMClient);
const client = new IAMClient({ region: 'us-east-1' });

const statement = (sid: string, action: string) => ({
  Sid: sid,
  Effect: 'Allow',
  Action: action,
  Resource: '*',
});
const doc = (sid: string, action = 'kinesis:GetRecords') => ({
  Version: '2012-10-17',
  Statement: [statement(sid, action)],
});
/** URL-encoded as IAM returns documents (RFC 3986: `{` is %7B, spaces %20). */
const encoded = (d: unknown) => encodeURIComponent(JSON.stringify(d, null, 4));

const role = (arn: string, extra: object = {}) => ({
  Role: {
    Arn: arn,
    RoleName: arn.split('/').pop() as string,
    Path: '/service-role/',
    RoleId: 'AROAEXAMPLE',
    CreateDate: CREATED,
    ...extra,
  },
});

const noSuchEntity = (what: string) =>
  new NoSuchEntityException({ message: `The ${what} cannot be found.`, $metadata: { httpStatusCode: 404 } });
const throttling = () =>
  new IAMServiceException({
    name: 'Throttling',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: 'Rate exceeded',
  });

/** A managed policy whose default version is `version`, holding `document`. */
function managed(arn: string, version: string, document: unknown) {
  iam
    .on(GetPolicyCommand, { PolicyArn: arn })
    .resolves({ Policy: { Arn: arn, DefaultVersionId: version, PolicyName: arn.split('/').pop() } });
  iam
    .on(GetPolicyVersionCommand, { PolicyArn: arn, VersionId: version })
    .resolves({ PolicyVersion: { Document: encoded(document), VersionId: version, IsDefaultVersion: true } });
}

beforeEach(() => {
  iam.reset();
});

describe('readIamPrincipal: roles', () => {
  it('reads every page of inline and attached policies, the boundary and the tags', async () => {
    iam.on(GetRoleCommand, { RoleName: 'orders-consumer' }).resolves(
      role(CONSUMER, {
        PermissionsBoundary: { PermissionsBoundaryType: 'Policy', PermissionsBoundaryArn: BOUNDARY },
        Tags: [{ Key: 'team', Value: 'orders' }],
      }),
    );
    iam
      .on(ListRolePoliciesCommand)
      .resolvesOnce({ PolicyNames: ['read-a', 'read-b'], IsTruncated: true, Marker: 'inline-page-2' })
      .resolvesOnce({ PolicyNames: ['read-c'], IsTruncated: false });
    iam
      .on(ListAttachedRolePoliciesCommand)
      .resolvesOnce({
        AttachedPolicies: [{ PolicyName: 'AWSLambdaKinesisExecutionRole', PolicyArn: EXEC_ROLE }],
        IsTruncated: true,
        Marker: 'attached-page-2',
      })
      .resolvesOnce({
        AttachedPolicies: [{ PolicyName: 'orders-readers', PolicyArn: READERS }],
        IsTruncated: false,
      });
    for (const name of ['read-a', 'read-b', 'read-c']) {
      iam
        .on(GetRolePolicyCommand, { RoleName: 'orders-consumer', PolicyName: name })
        .resolves({ RoleName: 'orders-consumer', PolicyName: name, PolicyDocument: encoded(doc(name)) });
    }
    managed(EXEC_ROLE, 'v5', doc('exec'));
    managed(READERS, 'v2', doc('readers'));
    managed(BOUNDARY, 'v1', doc('boundary', 'kinesis:*'));

    const principal = await readIamPrincipal(client, CONSUMER);

    expect(principal).toEqual({
      arn: CONSUMER,
      inlinePolicies: { 'read-a': doc('read-a'), 'read-b': doc('read-b'), 'read-c': doc('read-c') },
      managedPolicies: { [EXEC_ROLE]: doc('exec'), [READERS]: doc('readers') },
      permissionsBoundary: doc('boundary', 'kinesis:*'),
      tags: { team: 'orders' },
    });
    expect(iam.commandCalls(ListRolePoliciesCommand).map((c) => c.args[0].input.Marker)).toEqual([
      undefined,
      'inline-page-2',
    ]);
    expect(iam.commandCalls(ListAttachedRolePoliciesCommand).map((c) => c.args[0].input.Marker)).toEqual([
      undefined,
      'attached-page-2',
    ]);
    // Each managed policy is read at its default version, not at v1.
    expect(iam.commandCalls(GetPolicyVersionCommand).map((c) => c.args[0].input)).toEqual(
      expect.arrayContaining([
        { PolicyArn: EXEC_ROLE, VersionId: 'v5' },
        { PolicyArn: READERS, VersionId: 'v2' },
        { PolicyArn: BOUNDARY, VersionId: 'v1' },
      ]),
    );
  });

  it('decodes RFC 3986 documents: %7B is a brace, %20 a space, and a bare + stays a plus', async () => {
    const document = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'Tagged Readers',
          Effect: 'Allow',
          Action: 'kinesis:GetRecords',
          Resource: '*',
          Condition: { StringEquals: { 'aws:PrincipalTag/cost-center': 'a+b c' } },
        },
      ],
    };
    const text = encodeURIComponent(JSON.stringify(document)).replaceAll('%2B', '+');
    expect(text.startsWith('%7B')).toBe(true);
    expect(text).toContain('%20');
    iam.on(GetRoleCommand).resolves(role(CONSUMER));
    iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: ['tagged'], IsTruncated: false });
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [], IsTruncated: false });
    iam
      .on(GetRolePolicyCommand)
      .resolves({ RoleName: 'orders-consumer', PolicyName: 'tagged', PolicyDocument: text });

    const principal = await readIamPrincipal(client, CONSUMER);

    expect(principal?.inlinePolicies.tagged).toEqual(document);
    expect(principal).not.toHaveProperty('tags');
    expect(principal).not.toHaveProperty('permissionsBoundary');
  });

  it('answers null when IAM has no such role (NoSuchEntity)', async () => {
    iam.on(GetRoleCommand).rejects(noSuchEntity('role with name orders-consumer'));
    iam.on(ListRolePoliciesCommand).rejects(noSuchEntity('role with name orders-consumer'));
    iam.on(ListAttachedRolePoliciesCommand).rejects(noSuchEntity('role with name orders-consumer'));
    await expect(readIamPrincipal(client, CONSUMER)).resolves.toBeNull();
    expect(iam.commandCalls(GetRolePolicyCommand)).toHaveLength(0);
  });

  it.each<[string, string]>([
    ['another path', 'arn:aws:iam::111122223333:role/orders-consumer'],
    ['another case', 'arn:aws:iam::111122223333:role/service-role/Orders-Consumer'],
  ])('answers null when the role IAM finds has %s than asked', async (_name, asked) => {
    iam.on(GetRoleCommand).resolves(role(CONSUMER));
    iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: [], IsTruncated: false });
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [], IsTruncated: false });
    await expect(readIamPrincipal(client, asked)).resolves.toBeNull();
  });

  it('answers null for an ARN that is no role or user, without calling IAM', async () => {
    await expect(
      readIamPrincipal(client, 'arn:aws:sts::111122223333:assumed-role/orders-consumer/i-0abc123'),
    ).resolves.toBeNull();
    expect(iam.calls()).toHaveLength(0);
  });

  it('reads each document as soon as what names it is known: managed policies and the boundary do not wait for the inline documents', async () => {
    const order: string[] = [];
    iam.on(GetRoleCommand).resolves(
      role(CONSUMER, {
        PermissionsBoundary: { PermissionsBoundaryType: 'Policy', PermissionsBoundaryArn: BOUNDARY },
      }),
    );
    iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: ['read-a'], IsTruncated: false });
    iam.on(ListAttachedRolePoliciesCommand).resolves({
      AttachedPolicies: [{ PolicyName: 'orders-readers', PolicyArn: READERS }],
      IsTruncated: false,
    });
    // The inline document answers only after everything already under way has run.
    iam.on(GetRolePolicyCommand).callsFake(async () => {
      await new Promise((resolve) => setImmediate(resolve));
      order.push('GetRolePolicy answered');
      return { PolicyDocument: encoded(doc('read-a')) };
    });
    managed(READERS, 'v2', doc('readers'));
    managed(BOUNDARY, 'v1', doc('boundary', 'kinesis:*'));
    iam.on(GetPolicyCommand).callsFake(async (input: { PolicyArn: string }) => {
      order.push(`GetPolicy ${input.PolicyArn}`);
      const version = input.PolicyArn === READERS ? 'v2' : 'v1';
      return { Policy: { Arn: input.PolicyArn, DefaultVersionId: version } };
    });

    expect(await readIamPrincipal(client, CONSUMER)).toMatchObject({
      managedPolicies: { [READERS]: doc('readers') },
      permissionsBoundary: doc('boundary', 'kinesis:*'),
    });
    const answered = order.indexOf('GetRolePolicy answered');
    expect(order.indexOf(`GetPolicy ${READERS}`)).toBeLessThan(answered);
    expect(order.indexOf(`GetPolicy ${BOUNDARY}`)).toBeLessThan(answered);
  });

  it('fails with an AwsReadError naming the call when throttling outlasts the SDK retries', async () => {
    iam.on(GetRoleCommand).rejects(throttling());
    iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: [], IsTruncated: false });
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [], IsTruncated: false });
    const error = await readIamPrincipal(client, CONSUMER).catch((e) => e);
    expect(error).toBeInstanceOf(AwsReadError);
    expect(error.message).toBe('cannot read iam:GetRole orders-consumer: Throttling: Rate exceeded');
  });

  it('fails when an inline policy listed a moment ago has gone: evaluating without it could drop a Deny', async () => {
    iam.on(GetRoleCommand).resolves(role(CONSUMER));
    iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: ['guardrail'], IsTruncated: false });
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [], IsTruncated: false });
    iam.on(GetRolePolicyCommand).rejects(noSuchEntity('role policy with name guardrail'));
    await expect(readIamPrincipal(client, CONSUMER)).rejects.toThrow(
      /cannot read iam:GetRolePolicy orders-consumer\/guardrail: NoSuchEntityException/,
    );
  });
});

describe('readIamPrincipal: users', () => {
  it("reads a user's own policies and folds in its groups' policies", async () => {
    iam.on(GetUserCommand, { UserName: 'alice' }).resolves({
      User: {
        Arn: ALICE,
        UserName: 'alice',
        Path: '/',
        UserId: 'AIDAEXAMPLE',
        CreateDate: CREATED,
        Tags: [{ Key: 'team', Value: 'analytics' }],
      },
    });
    // Every listing below spans two pages, so a missed marker loses a policy.
    iam
      .on(ListUserPoliciesCommand)
      .resolvesOnce({ PolicyNames: ['debug'], IsTruncated: true, Marker: 'user-inline-2' })
      .resolvesOnce({ PolicyNames: ['notes'], IsTruncated: false });
    for (const name of ['debug', 'notes']) {
      iam
        .on(GetUserPolicyCommand, { UserName: 'alice', PolicyName: name })
        .resolves({ UserName: 'alice', PolicyName: name, PolicyDocument: encoded(doc(name)) });
    }
    iam
      .on(ListAttachedUserPoliciesCommand)
      .resolvesOnce({
        AttachedPolicies: [{ PolicyName: 'orders-readers', PolicyArn: READERS }],
        IsTruncated: true,
        Marker: 'user-attached-2',
      })
      .resolvesOnce({
        AttachedPolicies: [{ PolicyName: 'alice-extra', PolicyArn: ALICE_EXTRA }],
        IsTruncated: false,
      });
    iam
      .on(ListGroupsForUserCommand)
      .resolvesOnce({
        Groups: [{ GroupName: 'analysts', Arn: 'a', Path: '/', GroupId: 'g1', CreateDate: CREATED }],
        IsTruncated: true,
        Marker: 'groups-2',
      })
      .resolvesOnce({
        Groups: [{ GroupName: 'oncall', Arn: 'b', Path: '/', GroupId: 'g2', CreateDate: CREATED }],
        IsTruncated: false,
      });
    iam
      .on(ListGroupPoliciesCommand, { GroupName: 'analysts' })
      .resolvesOnce({ PolicyNames: [], IsTruncated: true, Marker: 'group-inline-2' })
      .resolvesOnce({ PolicyNames: ['deny-keys'], IsTruncated: false });
    iam
      .on(ListGroupPoliciesCommand, { GroupName: 'oncall' })
      .resolves({ PolicyNames: [], IsTruncated: false });
    iam.on(GetGroupPolicyCommand, { GroupName: 'analysts', PolicyName: 'deny-keys' }).resolves({
      GroupName: 'analysts',
      PolicyName: 'deny-keys',
      PolicyDocument: encoded(doc('deny', 'kms:*')),
    });
    iam.on(ListAttachedGroupPoliciesCommand, { GroupName: 'analysts' }).resolves({
      AttachedPolicies: [{ PolicyName: 'orders-readers', PolicyArn: READERS }],
      IsTruncated: false,
    });
    iam
      .on(ListAttachedGroupPoliciesCommand, { GroupName: 'oncall' })
      .resolvesOnce({ AttachedPolicies: [], IsTruncated: true, Marker: 'group-attached-2' })
      .resolvesOnce({
        AttachedPolicies: [{ PolicyName: 'AWSLambdaKinesisExecutionRole', PolicyArn: EXEC_ROLE }],
        IsTruncated: false,
      });
    managed(READERS, 'v3', doc('readers'));
    managed(EXEC_ROLE, 'v5', doc('exec'));
    managed(ALICE_EXTRA, 'v1', doc('extra'));

    const principal = await readIamPrincipal(client, ALICE);

    expect(principal).toEqual({
      arn: ALICE,
      inlinePolicies: {
        debug: doc('debug'),
        notes: doc('notes'),
        'group/analysts/deny-keys': doc('deny', 'kms:*'),
      },
      managedPolicies: { [READERS]: doc('readers'), [ALICE_EXTRA]: doc('extra'), [EXEC_ROLE]: doc('exec') },
      tags: { team: 'analytics' },
    });
    // A policy attached to the user and to a group is read once.
    expect(iam.commandCalls(GetPolicyCommand, { PolicyArn: READERS })).toHaveLength(1);
    expect(iam.commandCalls(ListGroupsForUserCommand).map((c) => c.args[0].input.Marker)).toEqual([
      undefined,
      'groups-2',
    ]);
  });

  it('answers null when IAM has no such user', async () => {
    for (const command of [GetUserCommand, ListUserPoliciesCommand, ListAttachedUserPoliciesCommand]) {
      iam.on(command as typeof GetUserCommand).rejects(noSuchEntity('user with name alice'));
    }
    iam.on(ListGroupsForUserCommand).rejects(noSuchEntity('user with name alice'));
    await expect(readIamPrincipal(client, ALICE)).resolves.toBeNull();
  });
});

describe('readManagedPolicy', () => {
  it('reads the default version of an AWS managed policy', async () => {
    managed(EXEC_ROLE, 'v7', doc('exec'));
    await expect(readManagedPolicy(client, EXEC_ROLE)).resolves.toEqual(doc('exec'));
    expect(iam.commandCalls(GetPolicyVersionCommand)[0]?.args[0].input).toEqual({
      PolicyArn: EXEC_ROLE,
      VersionId: 'v7',
    });
  });

  it('fails when the policy has no default version id', async () => {
    iam.on(GetPolicyCommand).resolves({ Policy: { Arn: READERS } });
    await expect(readManagedPolicy(client, READERS)).rejects.toThrow(
      `iam:GetPolicy ${READERS} returned no DefaultVersionId`,
    );
  });

  describe('with a PolicyVersionCache', () => {
    /** GetPolicy naming `version` of the policy with id `policyId`; GetPolicyVersion answering `document`. */
    function policy(policyId: string, version: string, document: unknown) {
      iam.on(GetPolicyCommand, { PolicyArn: READERS }).resolves({
        Policy: { Arn: READERS, PolicyId: policyId, DefaultVersionId: version },
      });
      iam
        .on(GetPolicyVersionCommand, { PolicyArn: READERS, VersionId: version })
        .resolves({ PolicyVersion: { Document: encoded(document), VersionId: version } });
    }

    it('reads a version once: GetPolicy still names the default version every time', async () => {
      const versions = new PolicyVersionCache();
      policy('ANPAEXAMPLE1', 'v2', doc('v2'));
      await expect(readManagedPolicy(client, READERS, versions)).resolves.toEqual(doc('v2'));
      await expect(readManagedPolicy(client, READERS, versions)).resolves.toEqual(doc('v2'));
      expect(iam.commandCalls(GetPolicyCommand)).toHaveLength(2);
      expect(iam.commandCalls(GetPolicyVersionCommand)).toHaveLength(1);
      // A new default version is read when GetPolicy names it.
      policy('ANPAEXAMPLE1', 'v3', doc('v3'));
      await expect(readManagedPolicy(client, READERS, versions)).resolves.toEqual(doc('v3'));
      expect(iam.commandCalls(GetPolicyVersionCommand)).toHaveLength(2);
    });

    it('a policy deleted and created again under the same name (a new PolicyId) is read afresh', async () => {
      const versions = new PolicyVersionCache();
      policy('ANPAEXAMPLE1', 'v1', doc('before'));
      await readManagedPolicy(client, READERS, versions);
      iam.reset();
      policy('ANPAEXAMPLE2', 'v1', doc('after'));
      await expect(readManagedPolicy(client, READERS, versions)).resolves.toEqual(doc('after'));
    });

    it('keeps nothing when GetPolicy gives no PolicyId, and at most its limit of documents', async () => {
      const versions = new PolicyVersionCache(2);
      managed(READERS, 'v2', doc('readers'));
      await readManagedPolicy(client, READERS, versions);
      expect(versions.size).toBe(0);
      versions.set('a', doc('a'));
      versions.set('b', doc('b'));
      expect(versions.get('a')).toEqual(doc('a'));
      versions.set('c', doc('c'));
      // 'b' was the least recently used.
      expect([versions.get('a'), versions.get('b'), versions.get('c')]).toEqual([
        doc('a'),
        undefined,
        doc('c'),
      ]);
    });

    it("a principal's managed policies and boundary are read through it", async () => {
      const versions = new PolicyVersionCache();
      iam.on(GetRoleCommand).resolves(role(CONSUMER));
      iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: [], IsTruncated: false });
      iam.on(ListAttachedRolePoliciesCommand).resolves({
        AttachedPolicies: [{ PolicyName: 'orders-readers', PolicyArn: READERS }],
        IsTruncated: false,
      });
      policy('ANPAEXAMPLE1', 'v2', doc('readers'));
      for (let n = 0; n < 3; n++) {
        expect(
          (await readIamPrincipal(client, CONSUMER, { policyVersions: versions }))?.managedPolicies,
        ).toEqual({
          [READERS]: doc('readers'),
        });
      }
      expect(iam.commandCalls(GetPolicyVersionCommand)).toHaveLength(1);
    });
  });
});
