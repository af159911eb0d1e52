/** The organization's id and the account's path, read-only, degrading to "not visible". */
import { IAMClient } from '@aws-sdk/client-iam';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { KMSClient } from '@aws-sdk/client-kms';
import {
  AccessDeniedException,
  AWSOrganizationsNotInUseException,
  DescribeOrganizationCommand,
  ListParentsCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsAccountReader } from '../../functions/adapters/aws-account';
import {
  OrganizationRouter,
  type OrganizationsApi,
  organizationalUnitsAbove,
  organizationsApi,
  readOrganizationIdentity,
  UNITS_REMEMBERED_MS,
} from '../../functions/adapters/organization';
import { parseRoutes } from '../../functions/core/routing';

const ACCOUNT = '111122223333';
const error = (name: string) => Object.assign(new Error(name), { name });

/** An Organizations double: the account under two OUs under the root, or failing as told. */
function api(fail: { describe?: string; parents?: string } = {}): OrganizationsApi & { calls: string[] } {
  const parents: Record<string, { Id: string; Type: string }> = {
    [ACCOUNT]: { Id: 'ou-ab12-22222222', Type: 'ORGANIZATIONAL_UNIT' },
    'ou-ab12-22222222': { Id: 'ou-ab12-11111111', Type: 'ORGANIZATIONAL_UNIT' },
    'ou-ab12-11111111': { Id: 'r-ab12', Type: 'ROOT' },
  };
  const calls: string[] = [];
  return {
    calls,
    async describeOrganization() {
      calls.push('DescribeOrganization');
      // Answers after everything already under way has run (a macrotask, not a timer).
      await new Promise((resolve) => setImmediate(resolve));
      calls.push('DescribeOrganization answered');
      if (fail.describe) throw error(fail.describe);
      return { Organization: { Id: 'o-a1b2c3d4e5' } };
    },
    async listParents({ ChildId }) {
      calls.push(`ListParents ${ChildId}`);
      if (fail.parents) throw error(fail.parents);
      const parent = parents[ChildId];
      return { Parents: parent ? [parent] : [] };
    },
  };
}

describe('readOrganizationIdentity', () => {
  it('reads the id and walks ListParents up to the root for aws:PrincipalOrgPaths', async () => {
    const organizations = api();
    await expect(readOrganizationIdentity(organizations, ACCOUNT)).resolves.toEqual({
      id: 'o-a1b2c3d4e5',
      path: 'o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ou-ab12-22222222/',
    });
    expect(organizations.calls.filter((c) => c.startsWith('ListParents'))).toEqual([
      `ListParents ${ACCOUNT}`,
      'ListParents ou-ab12-22222222',
      'ListParents ou-ab12-11111111',
    ]);
    // The path does not wait for the id: the account's ListParents goes out with DescribeOrganization.
    expect(organizations.calls.indexOf(`ListParents ${ACCOUNT}`)).toBeLessThan(
      organizations.calls.indexOf('DescribeOrganization answered'),
    );
  });

  it('an account in no organization: id null (AWS sets no org keys)', async () => {
    await expect(
      readOrganizationIdentity(api({ describe: 'AWSOrganizationsNotInUseException' }), ACCOUNT),
    ).resolves.toEqual({ id: null });
  });

  it('DescribeOrganization denied: nothing visible', async () => {
    await expect(
      readOrganizationIdentity(api({ describe: 'AccessDeniedException' }), ACCOUNT),
    ).resolves.toBeNull();
  });

  it('ListParents denied (a member account): the id without the path', async () => {
    await expect(
      readOrganizationIdentity(api({ parents: 'AccessDeniedException' }), ACCOUNT),
    ).resolves.toEqual({
      id: 'o-a1b2c3d4e5',
    });
  });

  it('ListParents on an account outside the organization (ChildNotFoundException): the id without the path', async () => {
    await expect(
      readOrganizationIdentity(api({ parents: 'ChildNotFoundException' }), ACCOUNT),
    ).resolves.toEqual({ id: 'o-a1b2c3d4e5' });
  });

  it('other failures are errors naming the call', async () => {
    await expect(readOrganizationIdentity(api({ parents: 'ServiceException' }), ACCOUNT)).rejects.toThrow(
      /organizations:ListParents 111122223333/,
    );
  });
});

describe('AwsAccountReader.getOrganization', () => {
  const reader = (organizations?: OrganizationsApi) =>
    new AwsAccountReader({
      accountId: ACCOUNT,
      region: 'us-east-1',
      iam: new IAMClient({ region: 'us-east-1' }),
      kms: new KMSClient({ region: 'us-east-1' }),
      kinesis: new KinesisClient({ region: 'us-east-1' }),
      ...(organizations ? { organizations } : {}),
    });

  it('without Organizations: not visible', async () => {
    await expect(reader().getOrganization()).resolves.toBeNull();
  });

  it('with Organizations: the id and path, never SCPs or RCPs, read once', async () => {
    const organizations = api();
    const r = reader(organizations);
    const [a, b] = await Promise.all([r.getOrganization(), r.getOrganization()]);
    expect(a).toBe(b);
    expect(a).toEqual({ id: 'o-a1b2c3d4e5', path: 'o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ou-ab12-22222222/' });
    expect(organizations.calls.filter((c) => c === 'DescribeOrganization')).toHaveLength(1);
  });
});

describe('organizationsApi over the bare OrganizationsClient', () => {
  const organizations = mockClient(OrganizationsClient);
  const api = () => organizationsApi(new OrganizationsClient({ region: 'us-east-1' }));
  beforeEach(() => organizations.reset());
  afterAll(() => organizations.restore());

  it('sends DescribeOrganization and ListParents up to the root', async () => {
    organizations.on(DescribeOrganizationCommand).resolves({ Organization: { Id: 'o-a1b2c3d4e5' } });
    organizations
      .on(ListParentsCommand, { ChildId: ACCOUNT })
      .resolves({ Parents: [{ Id: 'ou-ab12-11111111', Type: 'ORGANIZATIONAL_UNIT' }] })
      .on(ListParentsCommand, { ChildId: 'ou-ab12-11111111' })
      .resolves({ Parents: [{ Id: 'r-ab12', Type: 'ROOT' }] });
    await expect(readOrganizationIdentity(api(), ACCOUNT)).resolves.toEqual({
      id: 'o-a1b2c3d4e5',
      path: 'o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/',
    });
    expect(organizations.commandCalls(DescribeOrganizationCommand)).toHaveLength(1);
    expect(organizations.commandCalls(ListParentsCommand).map((c) => c.args[0].input.ChildId)).toEqual([
      ACCOUNT,
      'ou-ab12-11111111',
    ]);
  });

  it('AccessDenied on DescribeOrganization: not visible', async () => {
    organizations
      .on(DescribeOrganizationCommand)
      .rejects(new AccessDeniedException({ message: 'denied', $metadata: { httpStatusCode: 403 } }));
    await expect(readOrganizationIdentity(api(), ACCOUNT)).resolves.toBeNull();
    // Sent with DescribeOrganization; its answer is not used.
    expect(organizations.commandCalls(ListParentsCommand)).toHaveLength(1);
  });

  it('AccessDenied on ListParents (a member account): the id, no path', async () => {
    organizations.on(DescribeOrganizationCommand).resolves({ Organization: { Id: 'o-a1b2c3d4e5' } });
    organizations
      .on(ListParentsCommand)
      .rejects(new AccessDeniedException({ message: 'denied', $metadata: { httpStatusCode: 403 } }));
    await expect(readOrganizationIdentity(api(), ACCOUNT)).resolves.toEqual({ id: 'o-a1b2c3d4e5' });
  });

  it('AWSOrganizationsNotInUseException: id null', async () => {
    organizations.on(DescribeOrganizationCommand).rejects(
      new AWSOrganizationsNotInUseException({
        message: 'not in an organization',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    await expect(readOrganizationIdentity(api(), ACCOUNT)).resolves.toEqual({ id: null });
    // Sent with DescribeOrganization; its answer (the same exception) is not used.
    expect(organizations.commandCalls(ListParentsCommand)).toHaveLength(1);
  });
});

describe('OrganizationRouter (notification routes by OU)', () => {
  const EMAIL = 'arn:aws:sns:us-east-1:999900001111:keymend-email';

  it('walks ListParents up to the root once, and remembers the OUs for a quarter hour', async () => {
    const organizations = api();
    let now = 0;
    const router = new OrganizationRouter(
      parseRoutes('ou-ab12-11111111=platform', EMAIL),
      organizations,
      () => now,
    );
    await expect(router.routeOf(ACCOUNT)).resolves.toBe('ou-ab12-11111111');
    expect(organizations.calls).toEqual([
      `ListParents ${ACCOUNT}`,
      'ListParents ou-ab12-22222222',
      'ListParents ou-ab12-11111111',
    ]);
    now = UNITS_REMEMBERED_MS - 1;
    await expect(router.routeOf(ACCOUNT)).resolves.toBe('ou-ab12-11111111');
    expect(organizations.calls).toHaveLength(3);
    now = UNITS_REMEMBERED_MS;
    await router.routeOf(ACCOUNT);
    expect(organizations.calls).toHaveLength(6);
  });

  it('asks nothing for an account routed by itself, or when the map names no OU', async () => {
    const organizations = api();
    const mixed = new OrganizationRouter(
      parseRoutes(`${ACCOUNT}=payments,ou-ab12-11111111=platform`, EMAIL),
      organizations,
    );
    await expect(mixed.routeOf(ACCOUNT)).resolves.toBe(ACCOUNT);
    const accountsOnly = new OrganizationRouter(parseRoutes(`${ACCOUNT}=payments`, EMAIL), organizations);
    await expect(accountsOnly.routeOf('444455556666')).resolves.toBeNull();
    expect(organizations.calls).toEqual([]);
  });

  it.each([
    ['denied (not the management account nor a delegated administrator)', 'AccessDeniedException'],
    ['failing', 'ServiceException'],
  ])(
    'ListParents %s: no route (the e-mail topic), said once, and not asked again at once',
    async (_what, failure) => {
      const organizations = api({ parents: failure });
      const unreadable: string[] = [];
      const router = new OrganizationRouter(
        parseRoutes('ou-ab12-11111111=platform', EMAIL),
        organizations,
        () => 0,
        (account) => unreadable.push(account),
      );
      await expect(router.routeOf(ACCOUNT)).resolves.toBeNull();
      await expect(router.routeOf(ACCOUNT)).resolves.toBeNull();
      expect(unreadable).toEqual([ACCOUNT]);
      expect(organizations.calls).toEqual([`ListParents ${ACCOUNT}`]);
    },
  );

  it('organizationalUnitsAbove lists the OUs nearest first, and null when not visible', async () => {
    await expect(organizationalUnitsAbove(api(), ACCOUNT)).resolves.toEqual([
      'ou-ab12-22222222',
      'ou-ab12-11111111',
    ]);
    await expect(
      organizationalUnitsAbove(api({ parents: 'AccessDeniedException' }), ACCOUNT),
    ).resolves.toBeNull();
  });
});
