/**
 * The reader round trip over the real wire protocols: an account seeded in moto, read by `keymend
 * snapshot` (the CLI, with the default credential chain) and by the reader the deployed functions
 * build (handlers/wiring.ts), each compared field by field with what was created.
 */
import { snapshotCommand } from '../../cli/commands/snapshot';
import {
  type AccountReader,
  type AccountSnapshot,
  type KeyState,
  organizationPolicyLabel,
  type PrincipalState,
} from '../../functions/core/account';
import { awsWiring } from '../../functions/handlers/wiring';
import { captureIo } from '../helpers/io';
import { type Deployment, deploy } from './lambda';
import { MOTO_ACCOUNT, REGION, resetMoto } from './moto';
import { ROLE_ARN, type Seeded, STREAM_ARN, STREAM_RETENTION_HOURS, seedAccount, USER_ARN } from './seed';

/** Enough attached policies that IAM's ListAttachedRolePolicies needs a second page (100 a page). */
const EXTRA_MANAGED = 103;

let seeded: Seeded;
let deployment: Deployment;

beforeAll(async () => {
  await resetMoto();
  seeded = await seedAccount({ extraManaged: EXTRA_MANAGED, full: true });
  deployment = await deploy();
});
afterAll(() => deployment?.close());

/** The deployed reader: the one the remediate function builds from its synthesized environment. */
function deployedReader(): AccountReader {
  return awsWiring({ ...deployment.env.remediate, AWS_REGION: REGION }).portsFor(MOTO_ACCOUNT).reader;
}

function expectRole(principal: PrincipalState | null) {
  expect(principal?.arn).toBe(ROLE_ARN);
  expect(principal?.inlinePolicies).toEqual(seeded.role.inline);
  expect(Object.keys(principal?.managedPolicies ?? {}).sort()).toEqual(
    Object.keys(seeded.role.managed).sort(),
  );
  expect(principal?.managedPolicies).toEqual(seeded.role.managed);
  expect(principal?.permissionsBoundary).toEqual(seeded.role.boundary);
  expect(principal?.tags).toEqual(seeded.role.tags);
}

function expectKey(key: KeyState | null | undefined) {
  expect(key?.arn).toBe(seeded.keyArn);
  expect(key?.keyManager).toBe('CUSTOMER');
  expect(key?.keyState).toBe('Enabled');
  expect(key?.policy).toEqual(seeded.keyPolicy);
  expect(key?.aliases).toEqual(seeded.aliases);
  expect(key?.tags).toEqual(seeded.keyTags);
  expect(key?.keySpec).toBe('SYMMETRIC_DEFAULT');
  expect(key?.keyUsage).toBe('ENCRYPT_DECRYPT');
  expect(key?.grants).toEqual(
    seeded.grants.map((g) => ({
      grantId: g.grantId,
      name: 'archive-reader',
      granteePrincipal: ROLE_ARN,
      operations: g.operations,
      constraints: { encryptionContextSubset: g.context },
    })),
  );
}

describe('keymend snapshot against moto', () => {
  let snapshot: AccountSnapshot;

  beforeAll(async () => {
    const io = captureIo();
    const code = await snapshotCommand.run(
      ['--principal', ROLE_ARN, '--key', seeded.keyArn, '--stream', STREAM_ARN],
      io,
    );
    expect(io.err()).toBe('');
    expect(code).toBe(0);
    snapshot = JSON.parse(io.out());
  });

  it('writes the account and Region of the principal and key', () => {
    expect(snapshot.accountId).toBe(MOTO_ACCOUNT);
    expect(snapshot.region).toBe(REGION);
  });

  it('writes the role: path, hostile inline documents, managed policies at their default version over two pages, boundary, tags', () => {
    expect(snapshot.principals).toHaveLength(1);
    expectRole(snapshot.principals[0] ?? null);
    expect(Object.keys(snapshot.principals[0]?.managedPolicies ?? {})).toHaveLength(EXTRA_MANAGED + 1);
  });

  it('writes the key: policy, aliases, tags, the grant', () => {
    expect(snapshot.keys).toHaveLength(1);
    expectKey(snapshot.keys[0]);
  });

  it('writes the stream with its key', () => {
    expect(snapshot.streams).toEqual([
      { arn: STREAM_ARN, keyArn: seeded.keyArn, retentionPeriodHours: STREAM_RETENTION_HOURS },
    ]);
  });

  it("writes the account's alias", () => {
    expect(snapshot.accountAlias).toBe(seeded.accountAlias);
  });

  it("writes the organization's id, the account's path through both OUs, and its SCPs and RCPs (none apply to the management account)", () => {
    expect(snapshot.organization).toEqual(seeded.organization);
  });

  it('reads a user with its group policies', async () => {
    const io = captureIo();
    expect(await snapshotCommand.run(['--principal', USER_ARN, '--key', seeded.keyArn], io)).toBe(0);
    const user = (JSON.parse(io.out()) as AccountSnapshot).principals[0];
    expect(user?.arn).toBe(USER_ARN);
    expect(user?.inlinePolicies).toEqual(seeded.user.inline);
    expect(user?.managedPolicies).toEqual(seeded.user.managed);
  });

  it('names what is not there', async () => {
    const io = captureIo();
    const missing = `arn:aws:iam::${MOTO_ACCOUNT}:role/service-role/nobody`;
    expect(await snapshotCommand.run(['--principal', missing, '--key', seeded.keyArn], io)).toBe(1);
    expect(io.err()).toContain(`principal ${missing} not found in account ${MOTO_ACCOUNT}`);
  });
});

describe('the deployed reader against moto', () => {
  it('reads the role as created', async () => {
    expectRole(await deployedReader().getPrincipal(ROLE_ARN));
  });

  it("reads the account's alias", async () => {
    expect(await deployedReader().getAccountAlias?.()).toBe(seeded.accountAlias);
  });

  it('reads the key as created, by ARN and by alias', async () => {
    const reader = deployedReader();
    expectKey(await reader.getKey(seeded.keyArn));
    expectKey(await reader.getKey('alias/orders'));
  });

  it("reads the stream's key", async () => {
    expect(await deployedReader().getStream(STREAM_ARN)).toEqual({
      arn: STREAM_ARN,
      keyArn: seeded.keyArn,
      retentionPeriodHours: STREAM_RETENTION_HOURS,
    });
  });

  it('reads the organization and the path', async () => {
    const organization = await deployedReader().getOrganization();
    expect(organization).toEqual(seeded.organization);
  });

  it("reads a member account's SCPs and RCPs at every level, each with its id, name and target", async () => {
    const reader = awsWiring({ ...deployment.env.remediate, AWS_REGION: REGION }).portsFor(
      seeded.member.accountId,
    ).reader;
    const organization = await reader.getOrganization();
    expect(organization).toEqual(seeded.member.organization);
    // The KMS guard on the inner OU, named for a refusal by its id, name and where it is attached.
    const guard = organization?.serviceControlPolicies?.[2]?.[1];
    expect(organizationPolicyLabel(guard, 'service-control-policies[2][1]')).toMatch(
      /^p-[a-z0-9]+ \(kms-decrypt-guard, attached to ou-[a-z0-9-]+\)$/,
    );
  });

  it('answers null for what the account does not hold', async () => {
    const reader = deployedReader();
    expect(await reader.getPrincipal(`arn:aws:iam::${MOTO_ACCOUNT}:role/nobody`)).toBeNull();
    expect(
      await reader.getKey(`arn:aws:kms:${REGION}:${MOTO_ACCOUNT}:key/00000000-0000-0000-0000-000000000000`),
    ).toBeNull();
    expect(await reader.getStream(`arn:aws:kinesis:${REGION}:${MOTO_ACCOUNT}:stream/none`)).toBeNull();
  });
});
