/**
 * Seeds an account in moto with the SDK clients keymend uses, and remembers what it created so the
 * tests compare what keymend reads with it, field by field. Names follow the demo account's
 * (events/accounts/demo.json): the consumer role `service-role/orders-consumer`, stream `orders`.
 */
import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  AttachRolePolicyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  CreateUserCommand,
  IAMClient,
  PutGroupPolicyCommand,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { CreateStreamCommand, KinesisClient, StartStreamEncryptionCommand } from '@aws-sdk/client-kinesis';
import { CreateAliasCommand, CreateGrantCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  CreateOrganizationalUnitCommand,
  CreateOrganizationCommand,
  ListRootsCommand,
  MoveAccountCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { MOTO_ACCOUNT, motoClientConfig, REGION } from './moto';

type Document = Record<string, unknown>;

export const clients = (credentials?: { accessKeyId: string; secretAccessKey: string }) => {
  const config = motoClientConfig(credentials);
  return {
    iam: new IAMClient(config),
    kms: new KMSClient(config),
    kinesis: new KinesisClient(config),
    organizations: new OrganizationsClient(config),
  };
};

export const ROLE_PATH = '/service-role/';
export const ROLE_NAME = 'orders-consumer';
export const ROLE_ARN = `arn:aws:iam::${MOTO_ACCOUNT}:role/service-role/${ROLE_NAME}`;
export const STREAM_NAME = 'orders';
export const STREAM_ARN = `arn:aws:kinesis:${REGION}:${MOTO_ACCOUNT}:stream/${STREAM_NAME}`;
export const USER_NAME = 'alice';
export const USER_ARN = `arn:aws:iam::${MOTO_ACCOUNT}:user/${USER_NAME}`;

const TRUST = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
};

/** A policy that lets IAM policies of the account count (the default key policy's first statement). */
export function defaultKeyPolicy(extra: Document[] = []): Document {
  return {
    Version: '2012-10-17',
    Id: 'key-default-1',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${MOTO_ACCOUNT}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
      ...extra,
    ],
  };
}

/** What a seeded account holds, as created. */
export interface Seeded {
  keyArn: string;
  keyPolicy: Document;
  keyTags: Record<string, string>;
  aliases: string[];
  grants: { grantId: string; operations: string[]; context: Record<string, string> }[];
  role: {
    arn: string;
    tags: Record<string, string>;
    inline: Record<string, Document>;
    managed: Record<string, Document>;
    boundary: Document;
  };
  user: { arn: string; inline: Record<string, Document>; managed: Record<string, Document> };
  organization: { id: string; path: string };
}

/** Characters that break a document that is URL-encoded, or decoded, once too often. */
const HOSTILE = 'a+b %20 %2B & = ? # / \\ "quoted" ünïcødé ✓ 100%';

export interface SeedOptions {
  /** Attach this many more managed policies to the role (IAM lists 100 per page). */
  extraManaged?: number;
  /** The key's policy; default: the IAM-delegation default. */
  keyPolicy?: Document;
  /** Also create the user, its group and the organization. */
  full?: boolean;
}

/** Creates the consumer role, the key, the stream (and, `full`, a user with groups and an organization). */
export async function seedAccount(options: SeedOptions = {}): Promise<Seeded> {
  const { iam, kms, kinesis, organizations } = clients();
  const policy = async (name: string, document: Document) =>
    (await iam.send(new CreatePolicyCommand({ PolicyName: name, PolicyDocument: JSON.stringify(document) })))
      .Policy?.Arn as string;

  // The role: a path, tags, a boundary, hostile inline documents, a versioned managed policy.
  const roleTags = { team: 'orders', 'cost center': HOSTILE.slice(0, 20) };
  await iam.send(
    new CreateRoleCommand({
      RoleName: ROLE_NAME,
      Path: ROLE_PATH,
      AssumeRolePolicyDocument: JSON.stringify(TRUST),
      Tags: Object.entries(roleTags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  const boundary: Document = {
    Version: '2012-10-17',
    Statement: [{ Sid: 'Boundary', Effect: 'Allow', Action: ['kms:*', 'kinesis:*'], Resource: '*' }],
  };
  const boundaryArn = await policy('orders-boundary', boundary);
  await iam.send(
    new PutRolePermissionsBoundaryCommand({ RoleName: ROLE_NAME, PermissionsBoundary: boundaryArn }),
  );
  const inline: Record<string, Document> = {
    'read-orders': {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ReadOrders',
          Effect: 'Allow',
          Action: ['kinesis:GetRecords', 'kinesis:GetShardIterator'],
          Resource: STREAM_ARN,
          Condition: { StringLike: { 'aws:PrincipalTag/cost center': HOSTILE } },
        },
      ],
    },
    'hostile+name=ok': {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Deny',
          Action: 'kms:ScheduleKeyDeletion',
          Resource: '*',
          Condition: { StringEquals: { 'aws:RequestTag/x': HOSTILE } },
        },
      ],
    },
  };
  for (const [name, document] of Object.entries(inline)) {
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: ROLE_NAME,
        PolicyName: name,
        PolicyDocument: JSON.stringify(document),
      }),
    );
  }
  const v1: Document = {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'Default', Effect: 'Allow', Action: 'kinesis:DescribeStreamSummary', Resource: STREAM_ARN },
    ],
  };
  const v2: Document = {
    Version: '2012-10-17',
    Statement: [{ Sid: 'NotDefault', Effect: 'Allow', Action: 'kms:*', Resource: '*' }],
  };
  const versioned = await policy('orders-versioned', v1);
  // A second version that is NOT the default: IAM enforces v1, so keymend must read v1.
  await iam.send(
    new CreatePolicyVersionCommand({
      PolicyArn: versioned,
      PolicyDocument: JSON.stringify(v2),
      SetAsDefault: false,
    }),
  );
  await iam.send(new AttachRolePolicyCommand({ RoleName: ROLE_NAME, PolicyArn: versioned }));
  const managed: Record<string, Document> = { [versioned]: v1 };
  for (let i = 0; i < (options.extraManaged ?? 0); i++) {
    const document: Document = {
      Version: '2012-10-17',
      Statement: [{ Sid: `Extra${i}`, Effect: 'Allow', Action: 'kinesis:ListShards', Resource: STREAM_ARN }],
    };
    const arn = await policy(`orders-extra-${i}`, document);
    await iam.send(new AttachRolePolicyCommand({ RoleName: ROLE_NAME, PolicyArn: arn }));
    managed[arn] = document;
  }

  // The key: its policy, tags, an alias, a grant to the role for another stream.
  const keyTags = { owner: 'orders', hostile: HOSTILE.slice(0, 30) };
  const keyPolicy = options.keyPolicy ?? defaultKeyPolicy();
  const created = await kms.send(
    new CreateKeyCommand({
      Policy: JSON.stringify(keyPolicy),
      Description: 'keymend moto test key',
      // moto leaves KeyUsage null unless given; AWS defaults it to ENCRYPT_DECRYPT.
      KeyUsage: 'ENCRYPT_DECRYPT',
      Tags: Object.entries(keyTags).map(([TagKey, TagValue]) => ({ TagKey, TagValue })),
    }),
  );
  const keyArn = created.KeyMetadata?.Arn as string;
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/orders', TargetKeyId: keyArn }));
  const otherStream = `arn:aws:kinesis:${REGION}:${MOTO_ACCOUNT}:stream/orders-archive`;
  const grant = await kms.send(
    new CreateGrantCommand({
      KeyId: keyArn,
      GranteePrincipal: ROLE_ARN,
      Operations: ['Decrypt'],
      Constraints: { EncryptionContextSubset: { 'aws:kinesis:arn': otherStream } },
      Name: 'archive-reader',
    }),
  );
  const grants = [
    {
      grantId: grant.GrantId as string,
      operations: ['Decrypt'],
      context: { 'aws:kinesis:arn': otherStream },
    },
  ];

  // The stream, encrypted with the key.
  await kinesis.send(new CreateStreamCommand({ StreamName: STREAM_NAME, ShardCount: 1 }));
  await kinesis.send(
    new StartStreamEncryptionCommand({ StreamName: STREAM_NAME, EncryptionType: 'KMS', KeyId: keyArn }),
  );

  const seeded: Seeded = {
    keyArn,
    keyPolicy,
    keyTags,
    aliases: ['alias/orders'],
    grants,
    role: { arn: ROLE_ARN, tags: roleTags, inline, managed, boundary },
    user: { arn: USER_ARN, inline: {}, managed: {} },
    organization: { id: '', path: '' },
  };
  if (!options.full) return seeded;

  // A user whose group has an inline and a managed policy.
  await iam.send(new CreateUserCommand({ UserName: USER_NAME }));
  await iam.send(new CreateGroupCommand({ GroupName: 'analysts' }));
  await iam.send(new AddUserToGroupCommand({ GroupName: 'analysts', UserName: USER_NAME }));
  const groupInline: Document = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 'kinesis:DescribeStreamSummary', Resource: `${STREAM_ARN}*` }],
  };
  await iam.send(
    new PutGroupPolicyCommand({
      GroupName: 'analysts',
      PolicyName: 'streams',
      PolicyDocument: JSON.stringify(groupInline),
    }),
  );
  const groupManaged: Document = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 'kms:DescribeKey', Resource: keyArn }],
  };
  const groupManagedArn = await policy('analysts-keys', groupManaged);
  await iam.send(new AttachGroupPolicyCommand({ GroupName: 'analysts', PolicyArn: groupManagedArn }));
  seeded.user = {
    arn: USER_ARN,
    inline: { 'group/analysts/streams': groupInline },
    managed: { [groupManagedArn]: groupManaged },
  };

  // An organization with the account two OUs below the root.
  const org = await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  const orgId = org.Organization?.Id as string;
  const rootId = (await organizations.send(new ListRootsCommand({}))).Roots?.[0]?.Id as string;
  const outer = await organizations.send(
    new CreateOrganizationalUnitCommand({ ParentId: rootId, Name: 'workloads' }),
  );
  const outerId = outer.OrganizationalUnit?.Id as string;
  const inner = await organizations.send(
    new CreateOrganizationalUnitCommand({ ParentId: outerId, Name: 'orders' }),
  );
  const innerId = inner.OrganizationalUnit?.Id as string;
  await organizations.send(
    new MoveAccountCommand({ AccountId: MOTO_ACCOUNT, SourceParentId: rootId, DestinationParentId: innerId }),
  );
  seeded.organization = { id: orgId, path: `${orgId}/${rootId}/${outerId}/${innerId}/` };
  return seeded;
}
