/**
 * keymend's own IAM, action by action, with moto's request authorization on: each function runs its
 * scenarios signed as an IAM user holding exactly the actions the synthesized stack gives its role
 * (infra/iam.ts), so an SDK call added to an adapter without its action in infra/iam.ts fails here.
 * A negative control, the approval function without kms:CreateGrant, shows the check bites.
 *
 * moto authorizes actions, not resources or conditions (README.md beside this file): each statement's
 * actions are granted on `*`, and Deny statements (all conditional) are left out.
 */
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  IAMClient,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import type { KeymendRemediationProps } from '../../infra/keymend-remediation';
import { roleStatements, synth } from '../infra/synth';
import { type Deployment, deploy } from './lambda';
import { motoClientConfig, resetMoto, setMotoAuthorization } from './moto';
import { denial, inspector, linkIn, press, revokeAutoGrantByHand } from './scenario';
import { ROLE_ARN, type Seeded, seedAccount } from './seed';

type Credentials = { accessKeyId: string; secretAccessKey: string };
type Fn = 'remediateFunction' | 'approvalFunction';

/**
 * The Allow actions the synthesized stack gives a function's role. The approval function retires
 * keymend's grants as their retiring principal: KMS authorizes that RetireGrant by the grant, not by
 * IAM, which moto cannot evaluate, so the approval user is given kms:RetireGrant as the grant would.
 */
function allowedActions(props: KeymendRemediationProps, fn: Fn): string[] {
  const { stack, template } = synth(props);
  const actions = roleStatements(stack, template, fn)
    .filter((s) => s.Effect === 'Allow')
    .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
  if (fn === 'approvalFunction') actions.push('kms:RetireGrant');
  return [...new Set(actions)].sort();
}

let users = 0;
const iam = new IAMClient(motoClientConfig());

/** An IAM user in moto allowed exactly `actions` (on any resource), and its access key. */
async function principalWith(actions: string[]): Promise<Credentials> {
  const UserName = `keymend-function-${++users}`;
  await iam.send(new CreateUserCommand({ UserName }));
  await iam.send(
    new PutUserPolicyCommand({
      UserName,
      PolicyName: 'function-role',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }],
      }),
    }),
  );
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName }))).AccessKey;
  return { accessKeyId: key?.AccessKeyId as string, secretAccessKey: key?.SecretAccessKey as string };
}

const SCENARIOS: { name: string; props: KeymendRemediationProps; expected: string }[] = [
  { name: 'a grant', props: {}, expected: 'proposed' },
  {
    name: 'an inline policy',
    props: {
      enableInlinePolicy: true,
      inlinePolicyPrincipals: [ROLE_ARN],
      preferMechanism: 'iam-inline-policy',
    },
    expected: 'proposed',
  },
  {
    name: 'a key-policy statement',
    props: { enableKeyPolicyChanges: true, preferMechanism: 'key-policy-statement' },
    expected: 'proposed',
  },
  { name: 'auto mode', props: { mode: 'auto', autoApplyPrincipals: [ROLE_ARN] }, expected: 'applied' },
];

let seeded: Seeded;
let admin: Credentials;
const deployments = new Map<string, Deployment>();
let control: Deployment;
let look: ReturnType<typeof inspector>;

beforeAll(async () => {
  await resetMoto();
  seeded = await seedAccount();
  admin = await principalWith(['*']);
  look = inspector(admin);
  for (const scenario of SCENARIOS) {
    const credentials = {
      remediate: await principalWith(allowedActions(scenario.props, 'remediateFunction')),
      approval: await principalWith(allowedActions(scenario.props, 'approvalFunction')),
    };
    deployments.set(scenario.name, await deploy(scenario.props, { credentials, admin }));
  }
  const withoutCreateGrant = allowedActions({}, 'approvalFunction').filter((a) => a !== 'kms:CreateGrant');
  control = await deploy(
    {},
    {
      credentials: {
        remediate: await principalWith(allowedActions({}, 'remediateFunction')),
        approval: await principalWith(withoutCreateGrant),
      },
      admin,
    },
  );
  // From here on every request must be signed by a user of moto's IAM and allowed by its policy.
  await setMotoAuthorization(0);
});

afterAll(async () => {
  await setMotoAuthorization(Number.POSITIVE_INFINITY);
  for (const deployment of deployments.values()) deployment.close();
  control?.close();
});

describe("keymend's functions with exactly their IAM actions (moto authorization on)", () => {
  it('moto refuses a caller it does not know', async () => {
    await expect(look.grantsOnKey(seeded.keyArn)).resolves.toBeDefined();
    await expect(inspector().grantsOnKey(seeded.keyArn)).rejects.toThrow();
  });

  it.each(SCENARIOS)(
    '$name: the denial is diagnosed, proposed or applied, and revoked',
    async ({ name, expected }) => {
      const deployment = deployments.get(name) as Deployment;
      const read = async () => ({
        grants: await look.grantsOnKey(seeded.keyArn),
        inline: await look.roleInline(),
        keyPolicy: await look.keyPolicy(seeded.keyArn),
      });
      const before = await read();
      const result = await deployment.remediate(denial(seeded.keyArn));
      expect(result).toMatchObject({ outcome: expected });
      if (expected === 'proposed') {
        await press(deployment, (await linkIn(deployment)).link, 'approve', read);
      }
      expect(await read()).not.toEqual(before);
      if (expected === 'proposed') await press(deployment, (await linkIn(deployment)).link, 'revoke', read);
      else await revokeAutoGrantByHand(deployment, seeded.keyArn, admin);
      expect(await read()).toEqual(before);
    },
  );

  it('negative control: the approval function without kms:CreateGrant cannot apply the grant', async () => {
    const before = await look.grantsOnKey(seeded.keyArn);
    expect((await control.remediate(denial(seeded.keyArn))).outcome).toBe('proposed');
    const page = await press(control, (await linkIn(control)).link, 'approve', () =>
      look.grantsOnKey(seeded.keyArn),
    );
    expect(await look.grantsOnKey(seeded.keyArn)).toEqual(before);
    expect(page).not.toMatch(/\bapplied\b/i);
  });
});
