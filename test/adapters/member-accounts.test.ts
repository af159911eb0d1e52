/**
 * The hub's way into member accounts (adapters/member-accounts.ts), against the SDK mocked at the
 * client: STS AssumeRole on the member role with the proposal as SourceIdentity and session name, the
 * member's clients signed with those credentials, and an account whose role cannot be assumed reported
 * as unreachable (the diagnosis then refuses it as outside the organization).
 */
import {
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { KMSClient } from '@aws-sdk/client-kms';
import {
  AccessDeniedException,
  DescribeOrganizationCommand,
  ListParentsCommand,
  ListPoliciesForTargetCommand,
  ListRootsCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { PolicyVersionCache } from '../../functions/adapters/iam';
import { MemberAccounts, memberRoleArn } from '../../functions/adapters/member-accounts';
import { AccountUnreachableError } from '../../functions/commons/errors';
import { diagnose } from '../../functions/core/diagnose';
import { gatherAcross } from '../../functions/core/gather';
import { intake } from '../../functions/core/intake';
import { snapshotReader } from '../helpers/accounts';
import { loadEvent } from '../helpers/events';

// STS only: the member's own clients are real, so their requests go through the credentials provider
// (a mocked client would answer before credentials are resolved).
const sts = mockClient(STSClient);
beforeEach(() => sts.reset());

const CALLER = '444455556666';
const SESSION = 'keymend-Pq0_r-abcdefghijklmnopqrstu';

/** The directory (read-only when `readOnly`), recording the credentials each member client was built with. */
function directory(readOnly = false) {
  const providers: Array<() => Promise<{ accessKeyId: string }>> = [];
  const accounts = new MemberAccounts({
    organizationId: 'o-a1b2c3d4e5',
    partition: 'aws',
    region: 'us-east-1',
    sts: new STSClient({ region: 'us-east-1' }),
    retiringPrincipal: 'arn:aws:iam::999988887777:role/keymend/approval',
    readOnly,
    clients: (credentials) => {
      providers.push(credentials);
      const config = { region: 'us-east-1', credentials };
      return {
        iam: new IAMClient(config),
        kms: new KMSClient(config),
        kinesis: new KinesisClient(config),
        organizations: new OrganizationsClient(config),
      };
    },
  });
  return { accounts, providers };
}

const assumed = {
  Credentials: {
    AccessKeyId: 'ASIAMEMBERSESSION001',
    SecretAccessKey: 'secret',
    SessionToken: 'token',
    Expiration: new Date(Date.now() + 900_000),
  },
};

describe('MemberAccounts', () => {
  it('assumes the member role with the proposal as source identity, once per session', async () => {
    sts.on(AssumeRoleCommand).resolves(assumed);
    const { accounts, providers } = directory();
    expect(accounts.reader(CALLER, SESSION)?.accountId).toBe(CALLER);
    expect(accounts.writer(CALLER, SESSION)).not.toBeNull();
    expect(providers).toHaveLength(1);
    const provider = providers[0];
    if (!provider) throw new Error('no client was built');
    expect((await provider()).accessKeyId).toBe('ASIAMEMBERSESSION001');
    expect((await provider()).accessKeyId).toBe('ASIAMEMBERSESSION001');
    expect(sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input)).toEqual([
      {
        RoleArn: `arn:aws:iam::${CALLER}:role/keymend/keymend-member`,
        RoleSessionName: SESSION,
        SourceIdentity: SESSION,
        DurationSeconds: 900,
      },
    ]);
  });

  it("shares the hub's policy version cache: a member's managed policy is read once across proposals", async () => {
    const iam = mockClient(IAMClient);
    try {
      const role = `arn:aws:iam::${CALLER}:role/orders-consumer`;
      const policy = `arn:aws:iam::${CALLER}:policy/orders-readers`;
      const document = {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'kinesis:GetRecords', Resource: '*' }],
      };
      iam.on(GetRoleCommand).resolves({
        Role: {
          Arn: role,
          RoleName: 'orders-consumer',
          Path: '/',
          RoleId: 'AROAEXAMPLE',
          CreateDate: new Date(0),
        },
      });
      iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: [], IsTruncated: false });
      iam.on(ListAttachedRolePoliciesCommand).resolves({
        AttachedPolicies: [{ PolicyArn: policy, PolicyName: 'orders-readers' }],
        IsTruncated: false,
      });
      iam
        .on(GetPolicyCommand)
        .resolves({ Policy: { Arn: policy, PolicyId: 'ANPAEXAMPLE1', DefaultVersionId: 'v1' } });
      iam.on(GetPolicyVersionCommand).resolves({
        PolicyVersion: { Document: encodeURIComponent(JSON.stringify(document)), VersionId: 'v1' },
      });
      const accounts = new MemberAccounts({
        organizationId: 'o-a1b2c3d4e5',
        partition: 'aws',
        region: 'us-east-1',
        sts: new STSClient({ region: 'us-east-1' }),
        retiringPrincipal: 'arn:aws:iam::999988887777:role/keymend/approval',
        policyVersions: new PolicyVersionCache(),
        clients: () => ({
          iam: new IAMClient({ region: 'us-east-1' }),
          kms: new KMSClient({ region: 'us-east-1' }),
          kinesis: new KinesisClient({ region: 'us-east-1' }),
          organizations: new OrganizationsClient({ region: 'us-east-1' }),
        }),
      });
      for (const session of [SESSION, 'keymend-another-proposal-id-0001']) {
        const principal = await accounts.reader(CALLER, session)?.getPrincipal(role);
        expect(principal?.managedPolicies).toEqual({ [policy]: document });
      }
      expect(iam.commandCalls(GetPolicyCommand)).toHaveLength(2);
      expect(iam.commandCalls(GetPolicyVersionCommand)).toHaveLength(1);
    } finally {
      iam.restore();
    }
  });

  it("remembers what Organizations refused in a member account across its proposals' sessions, not in another account", async () => {
    sts.on(AssumeRoleCommand).resolves(assumed);
    const organizations = mockClient(OrganizationsClient);
    try {
      const denied = () =>
        new AccessDeniedException({ message: 'not the management account', $metadata: {} });
      organizations.on(DescribeOrganizationCommand).resolves({ Organization: { Id: 'o-a1b2c3d4e5' } });
      organizations.on(ListParentsCommand).rejects(denied());
      organizations.on(ListRootsCommand).rejects(denied());
      organizations.on(ListPoliciesForTargetCommand).rejects(denied());
      const { accounts } = directory(true);
      const refused = () =>
        organizations.commandCalls(ListParentsCommand).length +
        organizations.commandCalls(ListRootsCommand).length +
        organizations.commandCalls(ListPoliciesForTargetCommand).length;
      const first = await accounts.reader(CALLER, SESSION)?.getOrganization();
      expect(first).toEqual({ id: 'o-a1b2c3d4e5' });
      const once = refused();
      expect(once).toBeGreaterThanOrEqual(3);
      // The next proposal in the same account: the same answer, no refused call sent again.
      await expect(
        accounts.reader(CALLER, 'keymend-another-proposal-id-0001')?.getOrganization(),
      ).resolves.toEqual(first);
      expect(refused()).toBe(once);
      // Another member account is asked.
      await accounts.reader('777788889999', SESSION)?.getOrganization();
      expect(refused()).toBe(2 * once);
    } finally {
      organizations.restore();
    }
  });

  it('read-only (the remediate function in propose mode): keymend-read-<id> sessions, and no writer', async () => {
    sts.on(AssumeRoleCommand).resolves(assumed);
    const { accounts, providers } = directory(true);
    expect(accounts.writer(CALLER, SESSION)).toBeNull();
    expect(accounts.reader(CALLER, SESSION)).not.toBeNull();
    await providers[0]?.();
    const input = sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input;
    expect(input?.SourceIdentity).toBe(`keymend-read-${SESSION.slice('keymend-'.length)}`);
    expect(input?.RoleSessionName).toBe(input?.SourceIdentity);
  });

  it('auto (the remediate function in auto mode): keymend-auto-<id> sessions, and a writer', async () => {
    sts.on(AssumeRoleCommand).resolves(assumed);
    const providers: Array<() => Promise<unknown>> = [];
    const accounts = new MemberAccounts({
      organizationId: 'o-a1b2c3d4e5',
      partition: 'aws',
      region: 'us-east-1',
      sts: new STSClient({ region: 'us-east-1' }),
      retiringPrincipal: 'arn:aws:iam::999988887777:role/keymend/approval',
      autoApply: true,
      clients: (credentials) => {
        providers.push(credentials);
        const config = { region: 'us-east-1', credentials };
        return {
          iam: new IAMClient(config),
          kms: new KMSClient(config),
          kinesis: new KinesisClient(config),
          organizations: new OrganizationsClient(config),
        };
      },
    });
    expect(accounts.writer(CALLER, SESSION)).not.toBeNull();
    expect(accounts.reader(CALLER, SESSION)).not.toBeNull();
    await providers[0]?.();
    const input = sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input;
    expect(input?.SourceIdentity).toBe(`keymend-auto-${SESSION.slice('keymend-'.length)}`);
    expect(input?.RoleSessionName).toBe(input?.SourceIdentity);
  });

  it.each([
    ['an account id from event text that is not 12 digits', '4444-5555-6666', SESSION],
    ['a session that is not keymend-<id>', CALLER, 'admin'],
    ['a session with characters STS refuses', CALLER, 'keymend-a b'],
  ])('reaches nothing for %s', (_what, account, session) => {
    const { accounts } = directory();
    expect(accounts.reader(account, session)).toBeNull();
    expect(accounts.writer(account, session)).toBeNull();
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });

  it('reaches nothing when the read-only prefix would push a 64-character session past STS limit', () => {
    const session = `keymend-${'a'.repeat(64 - 'keymend-'.length)}`;
    expect(session).toHaveLength(64);
    const { accounts } = directory(true);
    expect(accounts.reader(CALLER, session)).toBeNull();
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });

  it('names the member role by the path and name the member stack gives it', () => {
    expect(memberRoleArn('aws-us-gov', CALLER)).toBe(
      `arn:aws-us-gov:iam::${CALLER}:role/keymend/keymend-member`,
    );
  });

  it('reports an account whose role cannot be assumed as unreachable, and the diagnosis refuses it', async () => {
    sts
      .on(AssumeRoleCommand)
      .rejects(
        Object.assign(new Error('not authorized to perform sts:AssumeRole'), { name: 'AccessDenied' }),
      );
    const { accounts } = directory();
    const reader = accounts.reader(CALLER, SESSION);
    if (!reader) throw new Error('no reader');
    await expect(reader.getPrincipal(`arn:aws:iam::${CALLER}:role/analytics-reader`)).rejects.toBeInstanceOf(
      AccountUnreachableError,
    );
    const read = intake(loadEvent('cross-account-decrypt-denied.eventbridge.json'));
    if (!read.match) throw new Error(read.reason);
    const hub = snapshotReader('organization-key-owner');
    const state = await gatherAcross(hub, (id) => accounts.reader(id, SESSION), read.request, 'o-a1b2c3d4e5');
    const result = diagnose(read.request, state);
    expect(result).toMatchObject({ verdict: 'refuse', code: 'outside-organization' });
    expect(result.reason).toMatch(/could not assume its member role/);
  });

  it('refuses a key owner whose member role cannot be assumed, naming why', async () => {
    sts.on(AssumeRoleCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    const { accounts } = directory();
    const read = intake(loadEvent('cross-account-decrypt-denied.eventbridge.json'));
    if (!read.match) throw new Error(read.reason);
    // The hub is the caller's account here: only the key owner's role is assumed.
    const hub = snapshotReader('organization-caller');
    const state = await gatherAcross(hub, (id) => accounts.reader(id, SESSION), read.request, 'o-a1b2c3d4e5');
    const result = diagnose(read.request, state);
    expect(result).toMatchObject({ verdict: 'refuse', code: 'outside-organization' });
    expect(result.reason).toMatch(
      /111122223333, which is not known to be in it.*could not assume its member role/,
    );
  });

  it('lets an STS outage through as a failure to retry, not a finding', async () => {
    sts.on(AssumeRoleCommand).rejects(Object.assign(new Error('slow down'), { name: 'ServiceUnavailable' }));
    const { accounts, providers } = directory();
    accounts.reader(CALLER, SESSION);
    const provider = providers[0];
    if (!provider) throw new Error('no client was built');
    await expect(provider()).rejects.not.toBeInstanceOf(AccountUnreachableError);
  });
});
