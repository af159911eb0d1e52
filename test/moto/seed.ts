/**
 * Seeds an account in moto with the SDK clients keymend uses, and remembers what it created so the
 * tests compare what keymend reads with it, field by field. Names follow the demo account's
 * (events/accounts/demo.json): the consumer role `service-role/orders-consumer`, stream `orders`.
 */
import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  AttachRolePolicyCommand,
  CreateAccountAliasCommand,
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
import {
  CreateStreamCommand,
  IncreaseStreamRetentionPeriodCommand,
  KinesisClient,
  StartStreamEncryptionCommand,
} from '@aws-sdk/client-kinesis';
import { CreateAliasCommand, CreateGrantCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  AttachPolicyCommand,
  CreateAccountCommand,
  CreateOrganizationalUnitCommand,
  CreateOrganizationCommand,
  CreatePolicyCommand as CreateOrganizationPolicyCommand,
  ListRootsCommand,
  MoveAccountCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import type { OrganizationState } from '../../functions/core/account';
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
export const STREAM_RETENTION_HOURS = 48;
export const ACCOUNT_ALIAS = 'orders-prod';
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
  /**
   * The seeded account's organization as keymend reads it: the management account, which SCPs and
   * RCPs do not affect (none apply).
   */
  organization: OrganizationState;
  /**
   * A member account beside it in the inner OU, whose SCPs keymend reads with id, name and target:
   * FullAWSAccess at every level (as Organizations attaches it), a KMS guard on the inner OU.
   */
  member: { accountId: string; organization: OrganizationState };
  accountAlias: string;
}

/** The SCP the member account's OU holds: decrypting with KMS only for security roles. */
const SCP_GUARD: Document = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'OnlySecurityDecrypts',
      Effect: 'Deny',
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: { ArnNotLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/security-*' } },
    },
  ],
};
/** AWS's FullAWSAccess and RCPFullAWSAccess, as Organizations (and moto) return their content. */
const FULL_AWS_ACCESS: Document = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};
const RCP_FULL_AWS_ACCESS: Document = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }],
};

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
  // Not the 24-hour default, so the readers are seen to read the retention rather than assume it.
  await kinesis.send(
    new IncreaseStreamRetentionPeriodCommand({
      StreamName: STREAM_NAME,
      RetentionPeriodHours: STREAM_RETENTION_HOURS,
    }),
  );

  // The account's alias, which subjects lead with.
  await iam.send(new CreateAccountAliasCommand({ AccountAlias: ACCOUNT_ALIAS }));

  const seeded: Seeded = {
    keyArn,
    keyPolicy,
    keyTags,
    aliases: ['alias/orders'],
    grants,
    role: { arn: ROLE_ARN, tags: roleTags, inline, managed, boundary },
    user: { arn: USER_ARN, inline: {}, managed: {} },
    organization: { id: '', path: '' },
    member: { accountId: '', organization: {} },
    accountAlias: ACCOUNT_ALIAS,
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
  const path = `${orgId}/${rootId}/${outerId}/${innerId}/`;
  seeded.organization = { id: orgId, path, serviceControlPolicies: [], resourceControlPolicies: [] };

  // A member account in the inner OU, and an SCP on that OU.
  const member = await organizations.send(
    new CreateAccountCommand({ Email: 'orders-member@example.com', AccountName: 'orders-member' }),
  );
  const memberId = member.CreateAccountStatus?.AccountId as string;
  await organizations.send(
    new MoveAccountCommand({ AccountId: memberId, SourceParentId: rootId, DestinationParentId: innerId }),
  );
  const guard = await organizations.send(
    new CreateOrganizationPolicyCommand({
      Name: 'kms-decrypt-guard',
      Description: 'Only the security roles decrypt with the orders key',
      Type: 'SERVICE_CONTROL_POLICY',
      Content: JSON.stringify(SCP_GUARD),
    }),
  );
  const guardId = guard.Policy?.PolicySummary?.Id as string;
  await organizations.send(new AttachPolicyCommand({ PolicyId: guardId, TargetId: innerId }));
  const fullAccess = (target: string, document: Document, id: string, name: string) => ({
    id,
    name,
    target,
    document,
  });
  const levels = [rootId, outerId, innerId, memberId];
  seeded.member = {
    accountId: memberId,
    organization: {
      id: orgId,
      path,
      serviceControlPolicies: levels.map((target) => [
        fullAccess(target, FULL_AWS_ACCESS, 'p-FullAWSAccess', 'FullAWSAccess'),
        ...(target === innerId
          ? [{ id: guardId, name: 'kms-decrypt-guard', target, document: SCP_GUARD }]
          : []),
      ]),
      resourceControlPolicies: levels.map((target) => [
        fullAccess(target, RCP_FULL_AWS_ACCESS, 'p-RCPFullAWSAccess', 'RCPFullAWSAccess'),
      ]),
    },
  };
  return seeded;
}
