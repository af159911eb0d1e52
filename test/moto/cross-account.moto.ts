/**
 * Cross-account fixes over the real wire protocols (issue 25): moto holds an organization with two
 * member accounts, the caller's (a consumer role whose IAM lacks kms:Decrypt) and the key owner's (the
 * orders key and stream, whose key policy does not name the caller). The hub's MemberAccounts assumes
 * each account's member role through STS with SourceIdentity `keymend-<proposal id>`, the remediate
 * flow proposes one two-sided fix, an approval applies both halves (PutKeyPolicy in the key's account,
 * PutRolePolicy in the caller's), read back from moto, and revoke undoes both.
 */
import {
  CreateRoleCommand,
  GetRolePolicyCommand,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { CreateStreamCommand, StartStreamEncryptionCommand } from '@aws-sdk/client-kinesis';
import { CreateAliasCommand, CreateKeyCommand, GetKeyPolicyCommand } from '@aws-sdk/client-kms';
import {
  CreateAccountCommand,
  CreateOrganizationCommand,
  ListAccountsCommand,
} from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { AwsAccountReader } from '../../functions/adapters/aws-account';
import { MemberAccounts, memberRoleArn } from '../../functions/adapters/member-accounts';
import { organizationsApi } from '../../functions/adapters/organization';
import type { Proposal } from '../../functions/core/proposal';
import { applyProposal, revokeProposal } from '../../functions/flows/apply';
import type { FlowContext } from '../../functions/flows/context';
import { remediate } from '../../functions/flows/remediate';
import { delegatingKeyPolicy } from '../helpers/accounts';
import { noWriter } from '../helpers/approval';
import { loadEvent } from '../helpers/events';
import { approvalSigner, TEST_CONFIG } from '../helpers/flow-ports';
import { MemoryStore } from '../helpers/memory-store';
import { MOTO_ACCOUNT, motoClientConfig, REGION, resetMoto } from './moto';
import { clients } from './seed';

/** Credentials of `account`'s member role, as the hub gets them (moto acts in the role's account). */
async function inAccount(account: string) {
  const sts = new STSClient(motoClientConfig());
  const out = await sts.send(
    new AssumeRoleCommand({
      RoleArn: memberRoleArn('aws', account),
      RoleSessionName: 'keymend-seed',
      SourceIdentity: 'keymend-seed',
    }),
  );
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('no credentials');
  return clients({
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
  } as never);
}

let organizationId: string;
let caller: string;
let owner: string;
let keyArn: string;
let streamArn: string;
const READER_NAME = 'analytics-reader';

beforeAll(async () => {
  await resetMoto();
  const management = clients();
  const organization = await management.organizations.send(
    new CreateOrganizationCommand({ FeatureSet: 'ALL' }),
  );
  organizationId = organization.Organization?.Id ?? '';
  for (const name of ['analytics', 'orders']) {
    await management.organizations.send(
      new CreateAccountCommand({ AccountName: name, Email: `${name}@example.com` }),
    );
  }
  const accounts = (await management.organizations.send(new ListAccountsCommand({}))).Accounts ?? [];
  caller = accounts.find((a) => a.Name === 'analytics')?.Id ?? '';
  owner = accounts.find((a) => a.Name === 'orders')?.Id ?? '';
  streamArn = `arn:aws:kinesis:${REGION}:${owner}:stream/orders`;

  const ownerClients = await inAccount(owner);
  const key = await ownerClients.kms.send(
    new CreateKeyCommand({ Policy: JSON.stringify(delegatingKeyPolicy(owner)) }),
  );
  keyArn = key.KeyMetadata?.Arn ?? '';
  await ownerClients.kms.send(new CreateAliasCommand({ AliasName: 'alias/orders', TargetKeyId: keyArn }));
  await ownerClients.kinesis.send(new CreateStreamCommand({ StreamName: 'orders', ShardCount: 1 }));
  await ownerClients.kinesis.send(
    new StartStreamEncryptionCommand({ StreamName: 'orders', EncryptionType: 'KMS', KeyId: keyArn }),
  );

  const callerClients = await inAccount(caller);
  await callerClients.iam.send(
    new CreateRoleCommand({
      RoleName: READER_NAME,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      }),
    }),
  );
  await callerClients.iam.send(
    new PutRolePolicyCommand({
      RoleName: READER_NAME,
      PolicyName: 'read-orders-stream',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['kinesis:GetRecords', 'kinesis:GetShardIterator'],
            Resource: streamArn,
          },
        ],
      }),
    }),
  );
});

/** The sample cross-account denial, with moto's account ids and key. */
function event(): unknown {
  const text = JSON.stringify(loadEvent('cross-account-decrypt-denied.eventbridge.json'))
    .replaceAll('444455556666', caller)
    .replaceAll('arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab', keyArn)
    .replaceAll('111122223333', owner);
  return JSON.parse(text);
}

function ports(sessions: string[]): FlowContext {
  const hubClients = clients();
  const sts = new STSClient(motoClientConfig());
  sts.middlewareStack.add(
    (next) => async (args) => {
      const input = (args.input ?? {}) as { SourceIdentity?: string };
      if (input.SourceIdentity) sessions.push(input.SourceIdentity);
      return next(args);
    },
    { step: 'initialize', name: 'recordSourceIdentity' },
  );
  const accounts = new MemberAccounts({
    organizationId,
    partition: 'aws',
    region: REGION,
    sts,
    retiringPrincipal: `arn:aws:iam::${MOTO_ACCOUNT}:role/keymend/approval`,
    clients: (credentials) => {
      const member = clients(credentials as never);
      // A member account may not call ListParents (AWS answers AccessDeniedException: only the
      // management account or a delegated administrator may); moto answers AccountNotFoundException.
      member.organizations.middlewareStack.add(
        (next, context) => async (args) => {
          try {
            return await next(args);
          } catch (error) {
            if (
              context.commandName === 'ListParentsCommand' &&
              (error as Error).name === 'AccountNotFoundException'
            ) {
              throw Object.assign(new Error('not the management account'), { name: 'AccessDeniedException' });
            }
            throw error;
          }
        },
        { step: 'initialize', name: 'memberListParents' },
      );
      return member;
    },
  });
  return {
    store: new MemoryStore(),
    reader: new AwsAccountReader({
      accountId: MOTO_ACCOUNT,
      region: REGION,
      iam: hubClients.iam,
      kms: hubClients.kms,
      kinesis: hubClients.kinesis,
      organizations: organizationsApi(hubClients.organizations),
    }),
    // Nothing is written in the hub's own account: a write there fails the test.
    writer: noWriter,
    accounts,
    publisher: { publish: async () => {} },
    signer: approvalSigner,
    now: () => new Date('2026-12-03T10:00:00.000Z'),
  };
}

describe('a cross-account denial across two member accounts in moto', () => {
  it('is one two-sided proposal, applied in both accounts as keymend-<id>, and revoked together', async () => {
    const sessions: string[] = [];
    const p = ports(sessions);
    const config = {
      ...TEST_CONFIG,
      enabledMechanisms: ['kms-grant', 'iam-inline-policy', 'key-policy-statement'] as never,
    };
    const result = await remediate(p, config, event());
    expect(result).toMatchObject({ outcome: 'proposed' });
    const proposal = (await p.store.getProposal(result.proposalId ?? '')) as Proposal;
    expect(proposal.plan?.mechanism).toBe('cross-account');
    // Both member accounts were read, each as the proposal (one AssumeRole per account and session).
    expect(sessions).toEqual([`keymend-${proposal.id}`, `keymend-${proposal.id}`]);

    const applying = await p.store.transition(
      proposal.id,
      'pending',
      'applying',
      {},
      {
        at: '2026-12-03T10:01:00.000Z',
        actor: 'approval-link',
        action: 'approve',
        outcome: 'started',
      },
    );
    const applied = await applyProposal(p, applying as Proposal, 'approval-link', {
      enabledMechanisms: ['kms-grant', 'iam-inline-policy', 'key-policy-statement'],
      kind: 'approved-applied',
      links: { baseUrl: 'http://127.0.0.1:8787', ttlHours: 72 },
    });
    expect(applied.outcome).toBe('applied');
    expect(new Set(sessions)).toEqual(new Set([`keymend-${proposal.id}`]));

    const ownerClients = await inAccount(owner);
    const callerClients = await inAccount(caller);
    const policy = JSON.parse(
      (await ownerClients.kms.send(new GetKeyPolicyCommand({ KeyId: keyArn, PolicyName: 'default' })))
        .Policy ?? '{}',
    ) as { Statement: Array<{ Principal?: { AWS?: string } }> };
    expect(policy.Statement.at(-1)?.Principal?.AWS).toBe(`arn:aws:iam::${caller}:role/${READER_NAME}`);
    const names = (await callerClients.iam.send(new ListRolePoliciesCommand({ RoleName: READER_NAME })))
      .PolicyNames;
    expect(names?.sort()).toEqual(['keymend-Decrypt-orders', 'read-orders-stream']);
    const inline = await callerClients.iam.send(
      new GetRolePolicyCommand({ RoleName: READER_NAME, PolicyName: 'keymend-Decrypt-orders' }),
    );
    expect(decodeURIComponent(inline.PolicyDocument ?? '')).toContain(keyArn);

    if (applied.outcome !== 'applied') return;
    const revoked = await revokeProposal(p, applied.proposal, 'approval-link');
    expect(revoked.outcome).toBe('revoked');
    const after = JSON.parse(
      (await ownerClients.kms.send(new GetKeyPolicyCommand({ KeyId: keyArn, PolicyName: 'default' })))
        .Policy ?? '{}',
    ) as { Statement: unknown[] };
    expect(after.Statement).toHaveLength(1);
    expect(
      (await callerClients.iam.send(new ListRolePoliciesCommand({ RoleName: READER_NAME }))).PolicyNames,
    ).toEqual(['read-orders-stream']);
  });
});
