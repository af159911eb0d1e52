/**
 * The apply step with the AWS SDK mocked at the client boundary (aws-sdk-client-mock): the writes
 * keymend sends to KMS and IAM are exactly the planned ones, and a retry after a crash between the
 * write and the record sends no second write. Reads come from LocalAccount (the AWS reader has its
 * own tests); only the writer is the real AWS one.
 */
import { IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import {
  CreateGrantCommand,
  GetKeyPolicyCommand,
  type GrantOperation,
  KMSClient,
  ListGrantsCommand,
  PutKeyPolicyCommand,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsAccountWriter } from '../../functions/adapters/account-writer';
import { localApprovalRoleArn } from '../../functions/adapters/local-account';
import type { Mechanism } from '../../functions/core/plan';
import type { Proposal } from '../../functions/core/proposal';
import { type ApplyOptions, applyProposal } from '../../functions/flows/apply';
import { remediate } from '../../functions/flows/remediate';
import { eventBridgeEvent, STORM_EVENT } from '../helpers/denials';
import { type FlowFixture, flowFixture, TEST_CONFIG } from '../helpers/flow-ports';

const kms = mockClient(KMSClient);
const iam = mockClient(IAMClient);
const ORDERS_KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

const OPTIONS: ApplyOptions = {
  enabledMechanisms: ['kms-grant', 'iam-inline-policy', 'key-policy-statement'],
  kind: 'approved-applied',
  links: { baseUrl: TEST_CONFIG.approvalUrl, ttlHours: 72 },
};

/** The fixture with the real AWS writer over mocked clients. */
async function applying(mechanism: Mechanism): Promise<{ f: FlowFixture; proposal: Proposal }> {
  const f = flowFixture();
  f.ports.writer = new AwsAccountWriter({
    kms: new KMSClient({ region: 'us-east-1', maxAttempts: 1 }),
    iam: new IAMClient({ region: 'us-east-1', maxAttempts: 1 }),
    retiringPrincipal: localApprovalRoleArn('111122223333'),
  });
  const config = {
    ...TEST_CONFIG,
    preferMechanism: mechanism,
    enabledMechanisms: ['kms-grant', 'iam-inline-policy', 'key-policy-statement'] as Mechanism[],
  };
  const result = await remediate(f.ports, config, eventBridgeEvent(STORM_EVENT));
  const proposal = await f.store.transition(
    result.proposalId as string,
    'pending',
    'applying',
    {},
    {
      at: f.ports.now().toISOString(),
      actor: 'approval-link',
      action: 'approve',
      outcome: 'accepted',
    },
  );
  if (!proposal || proposal.plan?.mechanism !== mechanism) throw new Error(`no ${mechanism} proposal`);
  return { f, proposal };
}

describe('applyProposal through the AWS SDK', () => {
  beforeEach(() => {
    kms.reset();
    iam.reset();
  });

  it('sends exactly the planned grant, once, even when the record fails and the apply is retried', async () => {
    const { f, proposal } = await applying('kms-grant');
    const plan = proposal.plan as Extract<Proposal['plan'], { mechanism: 'kms-grant' }>;
    const created = {
      GrantId: 'g-1',
      Name: plan.name,
      GranteePrincipal: plan.granteePrincipal,
      Operations: plan.operations as GrantOperation[],
      Constraints: { EncryptionContextSubset: plan.constraints.encryptionContextSubset },
      RetiringPrincipal: localApprovalRoleArn('111122223333'),
    };
    kms
      .on(ListGrantsCommand)
      .resolvesOnce({ Grants: [] })
      .resolves({ Grants: [created] });
    kms.on(CreateGrantCommand).resolves({ GrantId: 'g-1' });

    f.store.crashOnTransitionTo = 'applied';
    await expect(applyProposal(f.ports, proposal, 'approval-link', OPTIONS)).rejects.toThrow(
      /simulated crash/,
    );
    const retry = await applyProposal(f.ports, proposal, 'approval-link', OPTIONS);

    expect(retry.outcome).toBe('applied');
    expect(kms.commandCalls(CreateGrantCommand).map((c) => c.args[0].input)).toEqual([
      {
        KeyId: ORDERS_KEY,
        Name: plan.name,
        GranteePrincipal: plan.granteePrincipal,
        Operations: plan.operations,
        Constraints: { EncryptionContextSubset: plan.constraints.encryptionContextSubset },
        // The approval role retires keymend's grants (RetireGrant, authorized by the grant).
        RetiringPrincipal: localApprovalRoleArn('111122223333'),
      },
    ]);
    expect(f.store.proposals.get(proposal.id)?.applied).toEqual({
      mechanism: 'kms-grant',
      keyArn: ORDERS_KEY,
      grantId: 'g-1',
      grantName: plan.name,
    });
  });

  it('sends exactly the planned inline policy document', async () => {
    const { f, proposal } = await applying('iam-inline-policy');
    const plan = proposal.plan as Extract<Proposal['plan'], { mechanism: 'iam-inline-policy' }>;
    iam.on(PutRolePolicyCommand).resolves({});
    expect((await applyProposal(f.ports, proposal, 'approval-link', OPTIONS)).outcome).toBe('applied');
    const calls = iam.commandCalls(PutRolePolicyCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.RoleName).toBe('orders-consumer');
    expect(calls[0]?.PolicyName).toBe(plan.policyName);
    expect(JSON.parse(calls[0]?.PolicyDocument ?? '')).toEqual(plan.document);
  });

  it('does not put a key policy that changed since the plan', async () => {
    const { f, proposal } = await applying('key-policy-statement');
    const plan = proposal.plan as Extract<Proposal['plan'], { mechanism: 'key-policy-statement' }>;
    const changed = {
      ...plan.document,
      Statement: [...plan.document.Statement.slice(0, -1), { Sid: 'Other' }],
    };
    kms.on(GetKeyPolicyCommand).resolves({ Policy: JSON.stringify(changed) });
    const result = await applyProposal(f.ports, proposal, 'approval-link', OPTIONS);
    expect(result.outcome).toBe('superseded');
    expect(kms.commandCalls(PutKeyPolicyCommand)).toHaveLength(0);
  });

  it('puts exactly the planned key policy, never bypassing the lockout check', async () => {
    const { f, proposal } = await applying('key-policy-statement');
    const plan = proposal.plan as Extract<Proposal['plan'], { mechanism: 'key-policy-statement' }>;
    const before = { ...plan.document, Statement: plan.document.Statement.slice(0, -1) };
    kms.on(GetKeyPolicyCommand).resolves({ Policy: JSON.stringify(before) });
    kms.on(PutKeyPolicyCommand).resolves({});
    expect((await applyProposal(f.ports, proposal, 'approval-link', OPTIONS)).outcome).toBe('applied');
    const [put] = kms.commandCalls(PutKeyPolicyCommand).map((c) => c.args[0].input);
    expect(JSON.parse(put?.Policy ?? '')).toEqual(plan.document);
    expect(put?.BypassPolicyLockoutSafetyCheck).not.toBe(true);
  });
});
