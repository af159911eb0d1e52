/**
 * The real remediate and approval handlers, wired from their synthesized environments exactly as in
 * Lambda (lambda.ts), over moto: a denial becomes a proposal, the e-mail is read back from an SQS
 * queue subscribed to the topic, its link is opened (GET) and its button pressed (POST), the change
 * is checked in moto, revoked the same way, and the account is as it was. For a grant, an inline
 * policy, a key-policy statement, and auto mode (the remediate function applies by itself and, unable
 * to sign a revoke link, says how to revoke by hand).
 */
import { type Deployment, deploy } from './lambda';
import { resetMoto } from './moto';
import { denial, inspector, linkIn, press, revokeAutoGrantByHand } from './scenario';
import { ROLE_ARN, type Seeded, STREAM_ARN, seedAccount } from './seed';

const { grantsOnKey, roleInline, keyPolicy } = inspector();

let seeded: Seeded;
let deployment: Deployment | undefined;

beforeEach(async () => {
  await resetMoto();
  seeded = await seedAccount();
});

afterEach(() => {
  deployment?.close();
  deployment = undefined;
});

describe('remediate and approval handlers over moto', () => {
  it('a grant: proposed, e-mailed, approved from the link, present in KMS, revoked, gone', async () => {
    deployment = await deploy();
    const before = await grantsOnKey(seeded.keyArn);
    const result = await deployment.remediate(denial(seeded.keyArn));
    expect(result.outcome).toBe('proposed');
    const proposed = await linkIn(deployment);
    expect(proposed.subject).toContain('kms:Decrypt');

    await press(deployment, proposed.link, 'approve', () => grantsOnKey(seeded.keyArn));
    const after = await grantsOnKey(seeded.keyArn);
    const added = after.filter((g) => !before.some((b) => b.id === g.id));
    expect(added).toEqual([
      {
        id: expect.any(String),
        grantee: ROLE_ARN,
        operations: ['Decrypt'],
        constraints: { EncryptionContextSubset: { 'aws:kinesis:arn': STREAM_ARN } },
      },
    ]);

    const applied = await linkIn(deployment);
    await press(deployment, applied.link, 'revoke', () => grantsOnKey(seeded.keyArn));
    expect(await grantsOnKey(seeded.keyArn)).toEqual(before);
  });

  it('an inline policy: approved, written to the role for the one key, operation and stream, deleted on revoke', async () => {
    deployment = await deploy({
      enableInlinePolicy: true,
      inlinePolicyPrincipals: [ROLE_ARN],
      preferMechanism: 'iam-inline-policy',
    });
    const before = await roleInline();
    expect((await deployment.remediate(denial(seeded.keyArn))).outcome).toBe('proposed');
    await press(deployment, (await linkIn(deployment)).link, 'approve', roleInline);
    const after = await roleInline();
    const added = Object.keys(after).filter((name) => !(name in before));
    expect(added).toHaveLength(1);
    const statements = (after[added[0] as string] as { Statement: Record<string, unknown>[] }).Statement;
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatchObject({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: seeded.keyArn });
    expect(JSON.stringify(statements[0])).toContain(STREAM_ARN);
    expect(JSON.stringify(statements[0])).not.toContain('*');

    await press(deployment, (await linkIn(deployment)).link, 'revoke', roleInline);
    expect(await roleInline()).toEqual(before);
  });

  it('a key-policy statement: approved, added to the key policy, the policy restored on revoke', async () => {
    deployment = await deploy({ enableKeyPolicyChanges: true, preferMechanism: 'key-policy-statement' });
    const before = await keyPolicy(seeded.keyArn);
    expect((await deployment.remediate(denial(seeded.keyArn))).outcome).toBe('proposed');
    await press(deployment, (await linkIn(deployment)).link, 'approve', () => keyPolicy(seeded.keyArn));
    const after = (await keyPolicy(seeded.keyArn)) as { Statement: Record<string, unknown>[] };
    const beforeStatements = (before as { Statement: unknown[] }).Statement;
    expect(after.Statement.slice(0, beforeStatements.length)).toEqual(beforeStatements);
    const added = after.Statement.slice(beforeStatements.length);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ Effect: 'Allow', Principal: { AWS: ROLE_ARN }, Action: 'kms:Decrypt' });
    expect(JSON.stringify(added[0])).toContain(STREAM_ARN);

    await press(deployment, (await linkIn(deployment)).link, 'revoke', () => keyPolicy(seeded.keyArn));
    expect(await keyPolicy(seeded.keyArn)).toEqual(before);
  });

  it('auto mode: the remediate function applies the grant itself; e-mailed without a revoke link (it cannot sign one), revoked by hand with the grant id it gives', async () => {
    deployment = await deploy({ mode: 'auto', autoApplyPrincipals: [ROLE_ARN] });
    const before = await grantsOnKey(seeded.keyArn);
    expect((await deployment.remediate(denial(seeded.keyArn))).outcome).toBe('applied');
    const after = await grantsOnKey(seeded.keyArn);
    expect(after.filter((g) => !before.some((b) => b.id === g.id))).toEqual([
      expect.objectContaining({ grantee: ROLE_ARN, operations: ['Decrypt'] }),
    ]);
    await revokeAutoGrantByHand(deployment, seeded.keyArn);
    expect(await grantsOnKey(seeded.keyArn)).toEqual(before);
  });
});
