/**
 * Notification routes through the remediate and approval flows (issue 25): a problem's e-mails go to
 * the topic of its account, else of the first OU of the map above it, else to the e-mail topic; the
 * route chosen when the problem is first proposed is kept, so its later messages (approved, revoked)
 * follow it from the approval function without asking Organizations; and a problem is still told once,
 * whichever topic it goes to. The real SnsPublisher over a mocked SNS client, the real router over an
 * Organizations double.
 */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { OrganizationRouter, type OrganizationsApi } from '../../functions/adapters/organization';
import { SnsPublisher } from '../../functions/adapters/sns';
import { parseRoutes } from '../../functions/core/routing';
import { applyProposal, revokeProposal } from '../../functions/flows/apply';
import { remediate } from '../../functions/flows/remediate';
import { eventBridgeEvent, newEventId, STORM_EVENT } from '../helpers/denials';
import { approvalSigner, flowFixture, TEST_CONFIG } from '../helpers/flow-ports';

const EMAIL_TOPIC = 'arn:aws:sns:us-east-1:999900001111:keymend-email';
const CHAT_TOPIC = 'arn:aws:sns:us-east-1:999900001111:keymend-chat';
const PAYMENTS = 'arn:aws:sns:us-east-1:999900001111:payments-alerts';
const DATA = 'arn:aws:sns:us-east-1:999900001111:data-alerts';
const PLATFORM = 'arn:aws:sns:us-east-1:999900001111:platform-alerts';
/** The storm's account (demo.json) sits in ou-ab12-22222222, under ou-ab12-11111111, under the root. */
const STORM_ACCOUNT = '111122223333';
const OTHER_ACCOUNT = '444455556666';

const sns = mockClient(SNSClient);
beforeEach(() => {
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'm' });
});
afterAll(() => sns.restore());

function organizations(): OrganizationsApi & { calls: string[] } {
  const parents: Record<string, { Id: string; Type: string }> = {
    [STORM_ACCOUNT]: { Id: 'ou-ab12-22222222', Type: 'ORGANIZATIONAL_UNIT' },
    [OTHER_ACCOUNT]: { Id: 'ou-ab12-33333333', Type: 'ORGANIZATIONAL_UNIT' },
    'ou-ab12-22222222': { Id: 'ou-ab12-11111111', Type: 'ORGANIZATIONAL_UNIT' },
    'ou-ab12-33333333': { Id: 'r-ab12', Type: 'ROOT' },
    'ou-ab12-11111111': { Id: 'r-ab12', Type: 'ROOT' },
  };
  const calls: string[] = [];
  return {
    calls,
    describeOrganization: async () => ({ Organization: { Id: 'o-a1b2c3d4e5' } }),
    listParents: async ({ ChildId }) => {
      calls.push(ChildId);
      const parent = parents[ChildId];
      return { Parents: parent ? [parent] : [] };
    },
  };
}

/** The flow fixture with the deployed publisher and router for `routes` (`KEY=TOPIC,...`). */
function routed(routes: string) {
  const f = flowFixture();
  const map = parseRoutes(routes, EMAIL_TOPIC);
  const org = organizations();
  f.ports.publisher = new SnsPublisher(new SNSClient({ region: 'us-east-1' }), {
    email: EMAIL_TOPIC,
    chat: CHAT_TOPIC,
    routes: map,
  });
  f.ports.router = new OrganizationRouter(map, org);
  return { f, org };
}

/** The topics e-mails were published to, in order (chat messages leave them alone). */
function emailTopics(): string[] {
  return sns
    .commandCalls(PublishCommand)
    .map((c) => c.args[0].input)
    .filter((input) => input.Subject !== undefined)
    .map((input) => input.TopicArn as string);
}

describe('notification routes', () => {
  it("an account's own route wins over its OUs', and Organizations is not asked", async () => {
    const { f, org } = routed(`ou-ab12-22222222=data-alerts,${STORM_ACCOUNT}=payments-alerts`);
    const result = await remediate(f.ports, TEST_CONFIG, eventBridgeEvent(STORM_EVENT));
    expect(result.outcome).toBe('proposed');
    expect(f.store.proposals.get(result.proposalId as string)?.notificationRoute).toBe(STORM_ACCOUNT);
    expect(emailTopics()).toEqual([PAYMENTS]);
    expect(org.calls).toEqual([]);
    // The chat message still goes to the chat topic.
    expect(sns.commandCalls(PublishCommand).map((c) => c.args[0].input.TopicArn)).toContain(CHAT_TOPIC);
  });

  it('otherwise the first OU of the map that holds the account (read up to the root)', async () => {
    const { f, org } = routed('ou-ab12-11111111=platform-alerts,ou-ab12-22222222=data-alerts');
    const result = await remediate(f.ports, TEST_CONFIG, eventBridgeEvent(STORM_EVENT));
    expect(f.store.proposals.get(result.proposalId as string)?.notificationRoute).toBe('ou-ab12-11111111');
    expect(emailTopics()).toEqual([PLATFORM]);
    expect(org.calls).toEqual([STORM_ACCOUNT, 'ou-ab12-22222222', 'ou-ab12-11111111']);
  });

  it('a problem in an account no route holds goes to the e-mail topic', async () => {
    const { f } = routed('ou-ab12-22222222=data-alerts');
    const result = await remediate(
      f.ports,
      TEST_CONFIG,
      eventBridgeEvent('cross-account-decrypt-denied.eventbridge.json'),
    );
    expect(['proposed', 'refused']).toContain(result.outcome);
    const proposal = f.store.proposals.get(result.proposalId as string);
    expect(proposal?.scope.accountId).toBe(OTHER_ACCOUNT);
    expect(proposal?.notificationRoute).toBeUndefined();
    expect(emailTopics()).toEqual([EMAIL_TOPIC]);
  });

  it('OUs Organizations will not show: the e-mail topic, never a failure', async () => {
    const { f } = routed('ou-ab12-22222222=data-alerts');
    f.ports.router = new OrganizationRouter(parseRoutes('ou-ab12-22222222=data-alerts', EMAIL_TOPIC), {
      describeOrganization: async () => ({}),
      listParents: async () => {
        throw Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
      },
    });
    const result = await remediate(f.ports, TEST_CONFIG, eventBridgeEvent(STORM_EVENT));
    expect(result.outcome).toBe('proposed');
    expect(emailTopics()).toEqual([EMAIL_TOPIC]);
  });

  it('never floods: repeats of a routed problem publish nothing more, on any topic', async () => {
    const { f } = routed('ou-ab12-22222222=data-alerts');
    const event = eventBridgeEvent(STORM_EVENT);
    const first = await remediate(f.ports, TEST_CONFIG, event);
    expect(first.outcome).toBe('proposed');
    for (let n = 1; n <= 20; n++) {
      const again = await remediate(f.ports, TEST_CONFIG, newEventId(event, 'route', n));
      expect(again.outcome).toBe('repeat');
    }
    expect(emailTopics()).toEqual([DATA]);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(2);
  });

  it("the approval function's messages follow the kept route, without asking Organizations", async () => {
    const { f, org } = routed('ou-ab12-22222222=data-alerts');
    const proposed = await remediate(f.ports, TEST_CONFIG, eventBridgeEvent(STORM_EVENT));
    const id = proposed.proposalId as string;
    const asked = org.calls.length;
    // The approval function: both link keys, and no router (it never picks a route).
    const { router: _router, ...approvalPorts } = { ...f.ports, signer: approvalSigner };
    const at = f.ports.now().toISOString();
    const approving = await f.store.transition(
      id,
      'pending',
      'applying',
      {},
      {
        at,
        actor: 'approval-link',
        action: 'approve',
        outcome: 'accepted',
      },
    );
    const applied = await applyProposal(
      approvalPorts,
      approving as NonNullable<typeof approving>,
      'approval-link',
      {
        enabledMechanisms: ['kms-grant', 'iam-inline-policy', 'key-policy-statement'],
        kind: 'approved-applied',
        links: { baseUrl: TEST_CONFIG.approvalUrl, ttlHours: 72 },
      },
    );
    expect(applied.outcome).toBe('applied');
    const revoked = await revokeProposal(
      approvalPorts,
      f.store.proposals.get(id) as NonNullable<ReturnType<typeof f.store.proposals.get>>,
      'approval-link',
    );
    expect(revoked.outcome).toBe('revoked');
    expect(emailTopics()).toEqual([DATA, DATA, DATA]);
    expect(org.calls).toHaveLength(asked);
  });
});
