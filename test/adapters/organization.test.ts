/** The organization's id and the account's path, read-only, degrading to "not visible". */
import { IAMClient } from '@aws-sdk/client-iam';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { KMSClient } from '@aws-sdk/client-kms';
import {
  AccessDeniedException,
  AWSOrganizationsNotInUseException,
  DescribeOrganizationCommand,
  DescribePolicyCommand,
  ListParentsCommand,
  ListPoliciesForTargetCommand,
  ListRootsCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsAccountReader } from '../../functions/adapters/aws-account';
import {
  OrganizationRouter,
  type OrganizationsApi,
  organizationalUnitsAbove,
  organizationsApi,
  REFUSALS_REMEMBERED_MS,
  RememberedRefusalError,
  readOrganization,
  readOrganizationIdentity,
  rememberingRefusals,
  UNITS_REMEMBERED_ACCOUNTS,
  UNITS_REMEMBERED_MS,
} from '../../functions/adapters/organization';
import { parseSnapshot } from '../../functions/adapters/snapshot-schema';
import { organizationPolicyLabel } from '../../functions/core/account';
import { parseRoutes } from '../../functions/core/routing';

const ACCOUNT = '111122223333';
const error = (name: string) => Object.assign(new Error(name), { name });

const FULL_ACCESS = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
const RCP_FULL_ACCESS = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }],
};
const KMS_GUARD = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Deny', Action: 'kms:Decrypt', Resource: '*' }],
};

interface Fail {
  describe?: string;
  parents?: string;
  roots?: string;
  /** ListPoliciesForTarget fails with this for these targets (every target when no list). */
  list?: { error: string; targets?: string[]; type?: string };
  describePolicy?: { error: string; id: string };
}

/**
 * An Organizations double: the account under two OUs under the root, FullAWSAccess everywhere, a KMS
 * guard SCP on the inner OU, RCPFullAWSAccess everywhere; or failing as told. `rcps: false`: RCPs
 * not enabled. Every call is recorded.
 */
function api(
  fail: Fail = {},
  options: { rcps?: boolean; master?: string } = {},
): OrganizationsApi & { calls: string[] } {
  const parents: Record<string, { Id: string; Type: string }> = {
    [ACCOUNT]: { Id: 'ou-ab12-22222222', Type: 'ORGANIZATIONAL_UNIT' },
    'ou-ab12-22222222': { Id: 'ou-ab12-11111111', Type: 'ORGANIZATIONAL_UNIT' },
    'ou-ab12-11111111': { Id: 'r-ab12', Type: 'ROOT' },
  };
  const full = { Id: 'p-FullAWSAccess', Name: 'FullAWSAccess' };
  const rcpFull = { Id: 'p-RCPFullAWSAccess', Name: 'RCPFullAWSAccess' };
  const attached: Record<string, Record<string, { Id: string; Name: string }[]>> = {
    SERVICE_CONTROL_POLICY: {
      'r-ab12': [full],
      'ou-ab12-11111111': [full],
      'ou-ab12-22222222': [full, { Id: 'p-kmsguard01', Name: 'kms-decrypt-guard' }],
      [ACCOUNT]: [full],
    },
    RESOURCE_CONTROL_POLICY:
      options.rcps === false
        ? {}
        : {
            'r-ab12': [rcpFull],
            'ou-ab12-11111111': [rcpFull],
            'ou-ab12-22222222': [rcpFull],
            [ACCOUNT]: [rcpFull],
          },
  };
  const contents: Record<string, unknown> = {
    'p-FullAWSAccess': FULL_ACCESS,
    'p-RCPFullAWSAccess': RCP_FULL_ACCESS,
    'p-kmsguard01': KMS_GUARD,
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
      return { Organization: { Id: 'o-a1b2c3d4e5', MasterAccountId: options.master ?? '999988887777' } };
    },
    async listParents({ ChildId }) {
      calls.push(`ListParents ${ChildId}`);
      if (fail.parents) throw error(fail.parents);
      const parent = parents[ChildId];
      return { Parents: parent ? [parent] : [] };
    },
    async listRoots() {
      calls.push('ListRoots');
      if (fail.roots) throw error(fail.roots);
      return { Roots: [{ Id: 'r-ab12' }] };
    },
    async listPoliciesForTarget({ TargetId, Filter }) {
      calls.push(`ListPoliciesForTarget ${Filter} ${TargetId}`);
      const denied = fail.list;
      if (
        denied &&
        (!denied.targets || denied.targets.includes(TargetId)) &&
        (!denied.type || denied.type === Filter)
      )
        throw error(denied.error);
      return { Policies: attached[Filter]?.[TargetId] ?? [] };
    },
    async describePolicy({ PolicyId }) {
      calls.push(`DescribePolicy ${PolicyId}`);
      if (fail.describePolicy?.id === PolicyId) throw error(fail.describePolicy.error);
      return { Policy: { PolicySummary: { Id: PolicyId }, Content: JSON.stringify(contents[PolicyId]) } };
    },
  };
}

/**
 * Runs `read` with every call of `organizations` answered in rounds: all calls pending at a round are
 * answered together, and calls they lead to wait for the next. The number of rounds is the longest
 * chain of dependent calls, whatever the machine's load.
 */
async function inRounds<T>(organizations: OrganizationsApi, read: (api: OrganizationsApi) => Promise<T>) {
  const pending: Array<() => void> = [];
  const deferred =
    // biome-ignore lint/suspicious/noExplicitAny: each method keeps its own signature
    (call: (input: any) => Promise<unknown>) => (input: unknown) =>
      new Promise((resolve, reject) => pending.push(() => call(input).then(resolve, reject)));
  const rounded = Object.fromEntries(
    Object.entries(organizations)
      .filter(([, value]) => typeof value === 'function')
      .map(([name, call]) => [name, deferred(call.bind(organizations))]),
  ) as unknown as OrganizationsApi;
  let done = false;
  const result = read(rounded).finally(() => {
    done = true;
  });
  let rounds = 0;
  for (let idle = 0; !done && idle < 100; ) {
    await new Promise((resolve) => setImmediate(resolve));
    if (pending.length === 0) {
      idle++;
      continue;
    }
    rounds++;
    for (const answer of pending.splice(0)) answer();
  }
  return { value: await result, rounds };
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

describe('readOrganization: the SCPs and RCPs, with id, name and target, where the caller may read them', () => {
  const scp = (target: string, ...policies: [string, string, unknown][]) =>
    policies.map(([id, name, document]) => ({ id, name, target, document }));

  it('reads every level from the root to the account, each policy described once', async () => {
    const organizations = api();
    const organization = await readOrganization(organizations, ACCOUNT);
    expect(organization).toEqual({
      id: 'o-a1b2c3d4e5',
      path: 'o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ou-ab12-22222222/',
      serviceControlPolicies: [
        scp('r-ab12', ['p-FullAWSAccess', 'FullAWSAccess', FULL_ACCESS]),
        scp('ou-ab12-11111111', ['p-FullAWSAccess', 'FullAWSAccess', FULL_ACCESS]),
        scp(
          'ou-ab12-22222222',
          ['p-FullAWSAccess', 'FullAWSAccess', FULL_ACCESS],
          ['p-kmsguard01', 'kms-decrypt-guard', KMS_GUARD],
        ),
        scp(ACCOUNT, ['p-FullAWSAccess', 'FullAWSAccess', FULL_ACCESS]),
      ],
      resourceControlPolicies: ['r-ab12', 'ou-ab12-11111111', 'ou-ab12-22222222', ACCOUNT].map((target) =>
        scp(target, ['p-RCPFullAWSAccess', 'RCPFullAWSAccess', RCP_FULL_ACCESS]),
      ),
    });
    expect(organizations.calls.filter((c) => c.startsWith('DescribePolicy')).sort()).toEqual([
      'DescribePolicy p-FullAWSAccess',
      'DescribePolicy p-RCPFullAWSAccess',
      'DescribePolicy p-kmsguard01',
    ]);
    // The snapshot validator accepts what was read.
    expect(() =>
      parseSnapshot({ accountId: ACCOUNT, region: 'us-east-1', principals: [], keys: [], organization }),
    ).not.toThrow();
  });

  it('adds no round trip to the walk: as many rounds as DescribeOrganization then ListParents took alone', async () => {
    const { value, rounds } = await inRounds(api(), (rounded) => readOrganization(rounded, ACCOUNT));
    expect(value?.serviceControlPolicies).toHaveLength(4);
    // Before the policies were read: DescribeOrganization, then ListParents three times, in sequence.
    expect(rounds).toBeLessThanOrEqual(4);
    const identity = await inRounds(api({ list: { error: 'AccessDeniedException' } }), (rounded) =>
      readOrganization(rounded, ACCOUNT),
    );
    expect(identity.value).toEqual({
      id: 'o-a1b2c3d4e5',
      path: 'o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ou-ab12-22222222/',
    });
    expect(identity.rounds).toBeLessThanOrEqual(3);
  });

  it('a member account (ListPoliciesForTarget denied): the id and path, the policies not visible, as before', async () => {
    await expect(
      readOrganization(api({ list: { error: 'AccessDeniedException' } }), ACCOUNT),
    ).resolves.toEqual({
      id: 'o-a1b2c3d4e5',
      path: 'o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ou-ab12-22222222/',
    });
  });

  it('one level or one policy that cannot be read leaves that type out, never a partial list', async () => {
    const level = await readOrganization(
      api({
        list: {
          error: 'TooManyRequestsException',
          targets: ['ou-ab12-22222222'],
          type: 'SERVICE_CONTROL_POLICY',
        },
      }),
      ACCOUNT,
    );
    expect(level?.serviceControlPolicies).toBeUndefined();
    expect(level?.resourceControlPolicies).toHaveLength(4);
    const content = await readOrganization(
      api({ describePolicy: { error: 'AccessDeniedException', id: 'p-kmsguard01' } }),
      ACCOUNT,
    );
    expect(content?.serviceControlPolicies).toBeUndefined();
    expect(content?.resourceControlPolicies).toHaveLength(4);
  });

  it('RCPs not enabled (no RCP on the root): none apply', async () => {
    const organization = await readOrganization(api({}, { rcps: false }), ACCOUNT);
    expect(organization?.resourceControlPolicies).toEqual([]);
    expect(organization?.serviceControlPolicies).toHaveLength(4);
  });

  it('the management account: SCPs and RCPs do not affect it, so none apply', async () => {
    const organization = await readOrganization(api({}, { master: ACCOUNT }), ACCOUNT);
    expect(organization).toMatchObject({ serviceControlPolicies: [], resourceControlPolicies: [] });
  });

  it('ListRoots denied: the root is read once the walk reaches it', async () => {
    const organization = await readOrganization(api({ roots: 'AccessDeniedException' }), ACCOUNT);
    expect(organization?.serviceControlPolicies?.[0]).toEqual(
      scp('r-ab12', ['p-FullAWSAccess', 'FullAWSAccess', FULL_ACCESS]),
    );
  });

  it('the diagnosis names a blocking SCP by its id, name and target', async () => {
    const organization = await readOrganization(api(), ACCOUNT);
    const guard = organization?.serviceControlPolicies?.[2]?.[1];
    expect(guard).toEqual({
      id: 'p-kmsguard01',
      name: 'kms-decrypt-guard',
      target: 'ou-ab12-22222222',
      document: KMS_GUARD,
    });
    expect(organizationPolicyLabel(guard, 'service-control-policies[2][1]')).toBe(
      'p-kmsguard01 (kms-decrypt-guard, attached to ou-ab12-22222222)',
    );
  });
});

describe('rememberingRefusals: a member account does not send the same refused reads for every new problem', () => {
  const memberAccount = () =>
    api({
      parents: 'AccessDeniedException',
      roots: 'AccessDeniedException',
      list: { error: 'AccessDeniedException' },
    });
  const refusedCalls = (calls: string[]) => calls.filter((c) => !c.startsWith('DescribeOrganization'));

  it('answers the refused calls itself for a quarter hour, with the same result, then asks again', async () => {
    const organizations = memberAccount();
    let clock = 1_000_000;
    const remembering = rememberingRefusals(organizations, () => clock);
    const first = await readOrganization(remembering, ACCOUNT);
    expect(first).toEqual({ id: 'o-a1b2c3d4e5' });
    const refused = refusedCalls(organizations.calls);
    expect(refused).toEqual(
      expect.arrayContaining([
        'ListParents 111122223333',
        'ListRoots',
        `ListPoliciesForTarget SERVICE_CONTROL_POLICY ${ACCOUNT}`,
      ]),
    );
    // The next new problem in the same environment: the same answer, and no refused call sent.
    organizations.calls.length = 0;
    clock += REFUSALS_REMEMBERED_MS - 1;
    await expect(readOrganization(remembering, ACCOUNT)).resolves.toEqual(first);
    expect(organizations.calls).toEqual(['DescribeOrganization', 'DescribeOrganization answered']);
    // A quarter hour on, its IAM may have changed: asked again.
    organizations.calls.length = 0;
    clock += 1;
    await expect(readOrganization(remembering, ACCOUNT)).resolves.toEqual(first);
    expect(refusedCalls(organizations.calls).sort()).toEqual([...refused].sort());
  });

  it('remembers a refusal by target, and only a refusal: an answer, a throttle or a timeout is asked again', async () => {
    let failWith: string | null = 'AccessDeniedException';
    const calls: string[] = [];
    const inner: OrganizationsApi = {
      describeOrganization: async () => ({ Organization: { Id: 'o-a1b2c3d4e5' } }),
      listParents: async ({ ChildId }) => {
        calls.push(ChildId);
        if (failWith) throw error(failWith);
        return { Parents: [{ Id: 'r-ab12', Type: 'ROOT' }] };
      },
    };
    const remembering = rememberingRefusals(inner, () => 0);
    await expect(remembering.listParents({ ChildId: ACCOUNT })).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    const again = remembering.listParents({ ChildId: ACCOUNT });
    await expect(again).rejects.toBeInstanceOf(RememberedRefusalError);
    await expect(again).rejects.toMatchObject({ name: 'AccessDeniedException' });
    // Another target is asked.
    await expect(remembering.listParents({ ChildId: '444455556666' })).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    expect(calls).toEqual([ACCOUNT, '444455556666']);
    for (const name of ['ThrottlingException', 'TimeoutError']) {
      failWith = name;
      await expect(remembering.listParents({ ChildId: '777788889999' })).rejects.toMatchObject({ name });
      await expect(remembering.listParents({ ChildId: '777788889999' })).rejects.toMatchObject({ name });
    }
    failWith = null;
    await remembering.listParents({ ChildId: '777788889999' });
    await remembering.listParents({ ChildId: '777788889999' });
    expect(calls.filter((c) => c === '777788889999')).toHaveLength(6);
  });

  it("keeps the api's shape: policy reads it lacks stay absent (their policies not visible)", () => {
    const bare: OrganizationsApi = {
      describeOrganization: async () => ({}),
      listParents: async () => ({}),
    };
    const remembering = rememberingRefusals(bare);
    expect(remembering.listRoots).toBeUndefined();
    expect(remembering.listPoliciesForTarget).toBeUndefined();
    expect(remembering.describePolicy).toBeUndefined();
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

  it('with Organizations: the id, the path and the SCPs and RCPs, read once', async () => {
    const organizations = api();
    const r = reader(organizations);
    const [a, b] = await Promise.all([r.getOrganization(), r.getOrganization()]);
    expect(a).toBe(b);
    expect(a).toMatchObject({
      id: 'o-a1b2c3d4e5',
      path: 'o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ou-ab12-22222222/',
    });
    expect(a?.serviceControlPolicies).toHaveLength(4);
    expect(organizations.calls.filter((c) => c === 'DescribeOrganization')).toHaveLength(1);
  });
});

describe('organizationsApi over the bare OrganizationsClient', () => {
  const organizations = mockClient(OrganizationsClient);
  const api = () => organizationsApi(new OrganizationsClient({ region: 'us-east-1' }));
  beforeEach(() => organizations.reset());
  afterAll(() => organizations.restore());

  it('sends DescribeOrganization and ListParents up to the root; ListRoots, ListPoliciesForTarget and DescribePolicy for the policies', async () => {
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

  it('reads the policies through ListRoots, ListPoliciesForTarget (by type, every page) and DescribePolicy', async () => {
    organizations
      .on(DescribeOrganizationCommand)
      .resolves({ Organization: { Id: 'o-a1b2c3d4e5', MasterAccountId: '999988887777' } });
    organizations
      .on(ListParentsCommand, { ChildId: ACCOUNT })
      .resolves({ Parents: [{ Id: 'r-ab12', Type: 'ROOT' }] });
    organizations.on(ListRootsCommand).resolves({ Roots: [{ Id: 'r-ab12' }] });
    organizations
      .on(ListPoliciesForTargetCommand, { Filter: 'SERVICE_CONTROL_POLICY', TargetId: 'r-ab12' })
      .resolves({ Policies: [{ Id: 'p-FullAWSAccess', Name: 'FullAWSAccess' }] })
      .on(ListPoliciesForTargetCommand, { Filter: 'SERVICE_CONTROL_POLICY', TargetId: ACCOUNT })
      .resolves({ Policies: [{ Id: 'p-FullAWSAccess', Name: 'FullAWSAccess' }], NextToken: 'page-2' })
      .on(ListPoliciesForTargetCommand, {
        Filter: 'SERVICE_CONTROL_POLICY',
        TargetId: ACCOUNT,
        NextToken: 'page-2',
      })
      .resolves({ Policies: [{ Id: 'p-kmsguard01', Name: 'kms-decrypt-guard' }] })
      .on(ListPoliciesForTargetCommand, { Filter: 'RESOURCE_CONTROL_POLICY' })
      .resolves({ Policies: [] });
    organizations
      .on(DescribePolicyCommand, { PolicyId: 'p-FullAWSAccess' })
      .resolves({ Policy: { Content: JSON.stringify(FULL_ACCESS) } })
      .on(DescribePolicyCommand, { PolicyId: 'p-kmsguard01' })
      .resolves({ Policy: { Content: JSON.stringify(KMS_GUARD) } });
    await expect(readOrganization(api(), ACCOUNT)).resolves.toEqual({
      id: 'o-a1b2c3d4e5',
      path: 'o-a1b2c3d4e5/r-ab12/',
      serviceControlPolicies: [
        [{ id: 'p-FullAWSAccess', name: 'FullAWSAccess', target: 'r-ab12', document: FULL_ACCESS }],
        [
          { id: 'p-FullAWSAccess', name: 'FullAWSAccess', target: ACCOUNT, document: FULL_ACCESS },
          { id: 'p-kmsguard01', name: 'kms-decrypt-guard', target: ACCOUNT, document: KMS_GUARD },
        ],
      ],
      resourceControlPolicies: [],
    });
    expect(organizations.commandCalls(DescribePolicyCommand)).toHaveLength(2);
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
    // ListParents went out beside it (it adds no round trip) and answers the same.
    organizations.on(ListParentsCommand).rejects(
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

  it('remembers at most UNITS_REMEMBERED_ACCOUNTS accounts: a warm environment does not grow with the organization', async () => {
    const organizations = api();
    const router = new OrganizationRouter(
      parseRoutes('ou-ab12-11111111=platform', EMAIL),
      organizations,
      () => 0,
    );
    await router.routeOf(ACCOUNT);
    for (let i = 0; i < UNITS_REMEMBERED_ACCOUNTS; i++) {
      await router.routeOf(String(100000000000 + i));
    }
    const asked = organizations.calls.length;
    // The most recent account is still remembered; the first one read was let go and is read again.
    await router.routeOf(String(100000000000 + UNITS_REMEMBERED_ACCOUNTS - 1));
    expect(organizations.calls).toHaveLength(asked);
    await expect(router.routeOf(ACCOUNT)).resolves.toBe('ou-ab12-11111111');
    expect(organizations.calls.slice(asked)).toEqual([
      `ListParents ${ACCOUNT}`,
      'ListParents ou-ab12-22222222',
      'ListParents ou-ab12-11111111',
    ]);
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
