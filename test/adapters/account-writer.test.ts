import {
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  IAMClient,
  NoSuchEntityException,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateGrantCommand,
  GetKeyPolicyCommand,
  type GrantListEntry,
  KMSClient,
  KMSInvalidStateException,
  ListGrantsCommand,
  NotFoundException,
  PutKeyPolicyCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { AccountWriteError, AwsAccountWriter } from '../../functions/adapters/account-writer';
import { InputError, NotKeymendsChangeError } from '../../functions/commons/errors';
import { type FixScope, planGrant, planInlinePolicy } from '../../functions/core/plan';

const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ORDERS = 'arn:aws:kinesis:us-east-1:111122223333:stream/orders';
const CLICKS = 'arn:aws:kinesis:us-east-1:111122223333:stream/clicks';
const ROLE = 'arn:aws:iam::111122223333:role/service-role/orders-consumer';
const USER = 'arn:aws:iam::111122223333:user/alice';
const scope: FixScope = {
  principalArn: ROLE,
  keyArn: KEY,
  streamArn: ORDERS,
  region: 'us-east-1',
  operation: 'kms:Decrypt',
};
const plan = planGrant(scope);
const grantArgs = {
  keyArn: plan.keyArn,
  name: plan.name,
  granteePrincipal: plan.granteePrincipal,
  operations: [...plan.operations],
  encryptionContextSubset: { ...plan.constraints.encryptionContextSubset },
};

const kms = mockClient(KMSClient);
const iam = mockClient(IAMClient);
const APPROVAL_ROLE = 'arn:aws:iam::111122223333:role/keymend/KeymendApprovalRole';
const writer = new AwsAccountWriter({
  kms: new KMSClient({ region: 'us-east-1' }),
  iam: new IAMClient({ region: 'us-east-1' }),
  retiringPrincipal: APPROVAL_ROLE,
});
const meta = { $metadata: {} };

/** A listed grant as KMS returns it; `overrides` change one field. */
function listed(overrides: Partial<GrantListEntry> = {}): GrantListEntry {
  return {
    KeyId: KEY,
    GrantId: 'existing-grant',
    Name: plan.name,
    GranteePrincipal: ROLE,
    IssuingAccount: 'arn:aws:iam::111122223333:root',
    Operations: ['Decrypt'],
    Constraints: { EncryptionContextSubset: { 'aws:kinesis:arn': ORDERS } },
    RetiringPrincipal: APPROVAL_ROLE,
    ...overrides,
  };
}

beforeEach(() => {
  kms.reset();
  iam.reset();
});

describe('createGrant', () => {
  it('lists the grantee grants, then creates exactly the planned grant with its name', async () => {
    kms.on(ListGrantsCommand).resolves({ Grants: [], Truncated: false });
    kms.on(CreateGrantCommand).resolves({ GrantId: 'new-grant', GrantToken: 'token' });
    expect(await writer.createGrant(grantArgs)).toEqual({ grantId: 'new-grant', created: true });
    expect(kms.commandCalls(ListGrantsCommand)[0]?.args[0].input).toMatchObject({
      KeyId: KEY,
      GranteePrincipal: ROLE,
    });
    const creates = kms.commandCalls(CreateGrantCommand);
    expect(creates).toHaveLength(1);
    expect(creates[0]?.args[0].input).toEqual({
      KeyId: KEY,
      Name: plan.name,
      GranteePrincipal: ROLE,
      Operations: ['Decrypt'],
      Constraints: { EncryptionContextSubset: { 'aws:kinesis:arn': ORDERS } },
      RetiringPrincipal: APPROVAL_ROLE,
    });
  });

  it('reuses the grant a crashed attempt created, found on a later page: no duplicate', async () => {
    kms
      .on(ListGrantsCommand, { Marker: undefined })
      .resolves({
        Grants: [listed({ GrantId: 'other', Name: 'someone-else' })],
        Truncated: true,
        NextMarker: 'm1',
      })
      .on(ListGrantsCommand, { Marker: 'm1' })
      .resolves({ Grants: [listed()], Truncated: false });
    expect(await writer.createGrant(grantArgs)).toEqual({ grantId: 'existing-grant', created: false });
    expect(kms.commandCalls(ListGrantsCommand)).toHaveLength(2);
    expect(kms.commandCalls(CreateGrantCommand)).toHaveLength(0);
  });

  it('treats a retry of the whole write as one grant', async () => {
    const grants: GrantListEntry[] = [];
    kms.on(ListGrantsCommand).callsFake(async () => ({ Grants: [...grants], Truncated: false }));
    kms.on(CreateGrantCommand).callsFake(async () => {
      grants.push(listed({ GrantId: 'g-1' }));
      return { GrantId: 'g-1' };
    });
    const first = await writer.createGrant(grantArgs);
    const second = await writer.createGrant(grantArgs);
    expect(first).toEqual({ grantId: 'g-1', created: true });
    expect(second).toEqual({ grantId: 'g-1', created: false });
    expect(kms.commandCalls(CreateGrantCommand)).toHaveLength(1);
  });

  it.each([
    ['another name', listed({ Name: 'keymend-Decrypt-other' })],
    ['another operation', listed({ Operations: ['Decrypt', 'Encrypt'] })],
    ['another stream', listed({ Constraints: { EncryptionContextSubset: { 'aws:kinesis:arn': CLICKS } } })],
    ['no constraint', listed({ Constraints: undefined })],
    [
      'an exact-context constraint',
      listed({ Constraints: { EncryptionContextEquals: { 'aws:kinesis:arn': ORDERS } } }),
    ],
    ['another retiring principal', listed({ RetiringPrincipal: 'arn:aws:iam::111122223333:role/admin' })],
    ['no retiring principal', listed({ RetiringPrincipal: undefined })],
  ])('does not take a grant with %s for the planned one', async (_, grant) => {
    kms.on(ListGrantsCommand).resolves({ Grants: [grant], Truncated: false });
    kms.on(CreateGrantCommand).resolves({ GrantId: 'new-grant' });
    expect(await writer.createGrant(grantArgs)).toEqual({ grantId: 'new-grant', created: true });
  });

  it('names the call when KMS refuses', async () => {
    kms.on(ListGrantsCommand).resolves({ Grants: [] });
    kms.on(CreateGrantCommand).rejects(new KMSInvalidStateException({ message: 'key is disabled', ...meta }));
    const error = await writer.createGrant(grantArgs).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccountWriteError);
    expect((error as Error).message).toBe(
      `kms:CreateGrant ${KEY} failed: KMSInvalidStateException: key is disabled`,
    );
  });
});

describe('retireGrant', () => {
  const expected = {
    name: plan.name,
    granteePrincipal: ROLE,
    operations: ['Decrypt'],
    encryptionContextSubset: { 'aws:kinesis:arn': ORDERS },
  };
  const retire = () => writer.retireGrant({ keyArn: KEY, grantId: 'g-1', expected });

  it('lists the grant by id, then retires it as its retiring principal; never RevokeGrant', async () => {
    kms.on(ListGrantsCommand).resolves({ Grants: [listed({ GrantId: 'g-1' })], Truncated: false });
    kms.on(RetireGrantCommand).resolves({});
    await retire();
    expect(kms.commandCalls(ListGrantsCommand)[0]?.args[0].input).toMatchObject({
      KeyId: KEY,
      GrantId: 'g-1',
    });
    expect(kms.commandCalls(RetireGrantCommand).map((c) => c.args[0].input)).toEqual([
      { KeyId: KEY, GrantId: 'g-1' },
    ]);
    expect(kms.commandCalls(RevokeGrantCommand)).toHaveLength(0);
  });

  it('in a member account: lists with the member session, retires with the hub`s own client (the retiring principal)', async () => {
    kms.on(ListGrantsCommand).resolves({ Grants: [listed({ GrantId: 'g-1' })], Truncated: false });
    const sent: unknown[] = [];
    const hubKms = {
      send: async (command: { input: unknown }) => {
        sent.push(command);
        return {};
      },
    } as unknown as KMSClient;
    const member = new AwsAccountWriter({
      kms: new KMSClient({ region: 'us-east-1' }),
      iam: new IAMClient({ region: 'us-east-1' }),
      retiringPrincipal: APPROVAL_ROLE,
      retireKms: hubKms,
    });
    await member.retireGrant({ keyArn: KEY, grantId: 'g-1', expected });
    expect(kms.commandCalls(ListGrantsCommand)).toHaveLength(1);
    expect(kms.commandCalls(RetireGrantCommand)).toHaveLength(0);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBeInstanceOf(RetireGrantCommand);
    expect((sent[0] as RetireGrantCommand).input).toEqual({ KeyId: KEY, GrantId: 'g-1' });
  });

  it.each([
    ['another name', { Name: 'someone-elses-grant' }],
    ['another grantee', { GranteePrincipal: 'arn:aws:iam::111122223333:role/admin' }],
    ['more operations', { Operations: ['Decrypt', 'Encrypt'] as GrantListEntry['Operations'] }],
    ['another stream', { Constraints: { EncryptionContextSubset: { 'aws:kinesis:arn': CLICKS } } }],
    ['no constraint', { Constraints: undefined }],
    ['another retiring principal', { RetiringPrincipal: 'arn:aws:iam::111122223333:role/admin' }],
  ])('refuses a grant of that id with %s: not keymend`s, nothing retired', async (_, overrides) => {
    kms.on(ListGrantsCommand).resolves({ Grants: [listed({ GrantId: 'g-1', ...overrides })] });
    kms.on(RetireGrantCommand).resolves({});
    const error = await retire().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotKeymendsChangeError);
    expect(kms.commandCalls(RetireGrantCommand)).toHaveLength(0);
  });

  it('counts a grant that is gone already (not listed, or NotFoundException) as retired', async () => {
    kms.on(ListGrantsCommand).resolves({ Grants: [] });
    await expect(retire()).resolves.toBeUndefined();
    expect(kms.commandCalls(RetireGrantCommand)).toHaveLength(0);
    kms.reset();
    kms.on(ListGrantsCommand).resolves({ Grants: [listed({ GrantId: 'g-1' })] });
    kms.on(RetireGrantCommand).rejects(new NotFoundException({ message: 'no grant', ...meta }));
    await expect(retire()).resolves.toBeUndefined();
  });

  it('fails on any other error', async () => {
    kms.on(ListGrantsCommand).resolves({ Grants: [listed({ GrantId: 'g-1' })] });
    kms
      .on(RetireGrantCommand)
      .rejects(new KMSInvalidStateException({ message: 'pending deletion', ...meta }));
    await expect(retire()).rejects.toThrow(AccountWriteError);
  });
});

describe('inline policies', () => {
  const attempt = planInlinePolicy(scope, { arn: ROLE, inlinePolicies: {}, managedPolicies: {} });
  if (!attempt.ok || attempt.plan.mechanism !== 'iam-inline-policy') throw new Error('no inline plan');
  const inline = attempt.plan;
  const document = JSON.stringify(inline.document);

  it('puts the planned document on the role by its name, without the path', async () => {
    iam.on(PutRolePolicyCommand).resolves({});
    await writer.putPrincipalPolicy({ principalArn: ROLE, policyName: inline.policyName, document });
    expect(iam.commandCalls(PutRolePolicyCommand).map((c) => c.args[0].input)).toEqual([
      { RoleName: 'orders-consumer', PolicyName: inline.policyName, PolicyDocument: document },
    ]);
  });

  it('puts a user policy with PutUserPolicy', async () => {
    iam.on(PutUserPolicyCommand).resolves({});
    await writer.putPrincipalPolicy({ principalArn: USER, policyName: 'p', document });
    expect(iam.commandCalls(PutUserPolicyCommand).map((c) => c.args[0].input)).toEqual([
      { UserName: 'alice', PolicyName: 'p', PolicyDocument: document },
    ]);
    expect(iam.commandCalls(PutRolePolicyCommand)).toHaveLength(0);
  });

  it.each([
    'arn:aws:sts::111122223333:assumed-role/orders-consumer/session',
    'arn:aws:iam::111122223333:root',
    'arn:aws:iam::111122223333:role/*',
  ])('refuses %s before any call', async (principalArn) => {
    await expect(writer.putPrincipalPolicy({ principalArn, policyName: 'p', document })).rejects.toThrow(
      InputError,
    );
    await expect(writer.deletePrincipalPolicy({ principalArn, policyName: 'p' })).rejects.toThrow(InputError);
    expect(iam.calls()).toHaveLength(0);
  });

  it('deletes a role or user policy, and a policy that is gone already is deleted', async () => {
    iam.on(DeleteRolePolicyCommand).rejects(new NoSuchEntityException({ message: 'gone', ...meta }));
    iam.on(DeleteUserPolicyCommand).resolves({});
    await writer.deletePrincipalPolicy({ principalArn: ROLE, policyName: inline.policyName });
    await writer.deletePrincipalPolicy({ principalArn: USER, policyName: 'p' });
    expect(iam.commandCalls(DeleteRolePolicyCommand)[0]?.args[0].input).toEqual({
      RoleName: 'orders-consumer',
      PolicyName: inline.policyName,
    });
    expect(iam.commandCalls(DeleteUserPolicyCommand)[0]?.args[0].input).toEqual({
      UserName: 'alice',
      PolicyName: 'p',
    });
  });
});

describe('key policy', () => {
  it('reads the default policy as text', async () => {
    kms.on(GetKeyPolicyCommand).resolves({ Policy: '{"Statement":[]}', PolicyName: 'default' });
    expect(await writer.getKeyPolicy(KEY)).toBe('{"Statement":[]}');
    expect(kms.commandCalls(GetKeyPolicyCommand)[0]?.args[0].input).toEqual({
      KeyId: KEY,
      PolicyName: 'default',
    });
  });

  it('writes the policy with the lockout safety check on', async () => {
    kms.on(PutKeyPolicyCommand).resolves({});
    await writer.putKeyPolicy({ keyArn: KEY, policy: '{"Statement":[]}' });
    expect(kms.commandCalls(PutKeyPolicyCommand).map((c) => c.args[0].input)).toEqual([
      {
        KeyId: KEY,
        PolicyName: 'default',
        Policy: '{"Statement":[]}',
        BypassPolicyLockoutSafetyCheck: false,
      },
    ]);
  });
});
