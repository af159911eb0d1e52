/**
 * The real remediate and approval handlers, wired from their synthesized environments exactly as in
 * Lambda (lambda.ts), over moto: a denial becomes a proposal, the e-mail is read back from an SQS
 * queue subscribed to the topic, its link is opened (GET) and its button pressed (POST), the change
 * is checked in moto, revoked the same way, and the account is as it was. For a grant, an inline
 * policy, a key-policy statement, and auto mode (the remediate function applies by itself).
 */
import { randomUUID } from 'node:crypto';
import { GetRolePolicyCommand, ListRolePoliciesCommand } from '@aws-sdk/client-iam';
import { GetKeyPolicyCommand, ListGrantsCommand } from '@aws-sdk/client-kms';
import { loadEvent } from '../helpers/events';
import { type Deployment, deploy, URL_DOMAIN } from './lambda';
import { MOTO_ACCOUNT, resetMoto } from './moto';
import { clients, ROLE_ARN, ROLE_NAME, type Seeded, STREAM_ARN, seedAccount } from './seed';

const SAMPLE_KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** The consumer's denial (events/consumer-decrypt-denied-service-role.eventbridge.json) in the seeded account, now. */
function denial(keyArn: string): Record<string, unknown> {
  const text = JSON.stringify(loadEvent('consumer-decrypt-denied-service-role.eventbridge.json'))
    .replaceAll(SAMPLE_KEY, keyArn)
    .replaceAll('111122223333', MOTO_ACCOUNT);
  const event = JSON.parse(text);
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  event.time = now;
  event.detail.eventTime = now;
  event.id = randomUUID();
  event.detail.eventID = randomUUID();
  return event;
}

/** The first link to the approval function in the latest e-mail, and that e-mail. */
async function linkIn(deployment: Deployment): Promise<{ subject: string; link: string }> {
  const emails = await deployment.emails();
  const last = emails.at(-1);
  if (!last) throw new Error('no e-mail reached the queue');
  const link = new RegExp(`https://${URL_DOMAIN.replaceAll('.', '\\.')}/[^\\s)>"]+`).exec(last.message)?.[0];
  if (!link) throw new Error(`no link in the e-mail:\n${last.message}`);
  return { subject: last.subject, link };
}

/** GET the link (nothing may change), then POST the page's form for `action`, as a browser would. */
async function press(
  deployment: Deployment,
  link: string,
  action: string,
  unchanged: () => Promise<unknown>,
) {
  const before = await unchanged();
  const page = await deployment.approval({ method: 'GET', url: link });
  expect(page.statusCode).toBe(200);
  expect(await unchanged()).toEqual(before);
  const html = String(page.body);
  const forms = [...html.matchAll(/<form\b[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)];
  const form = forms.find((f) => new RegExp(`name="a" value="${action}"`).test(f[2] ?? ''));
  if (!form) throw new Error(`no ${action} form on the page:\n${html}`);
  const fields = Object.fromEntries(
    [...(form[2] ?? '').matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [
      m[1] as string,
      (m[2] as string).replaceAll('&amp;', '&'),
    ]),
  );
  const posted = await deployment.approval({
    method: 'POST',
    url: new URL(form[1] ?? '', link).toString(),
    form: fields,
  });
  expect(posted.statusCode).toBe(200);
  return String(posted.body);
}

const { iam, kms } = clients();

async function grantsOnKey(keyArn: string) {
  const out = await kms.send(new ListGrantsCommand({ KeyId: keyArn }));
  return (out.Grants ?? []).map((g) => ({
    id: g.GrantId,
    grantee: g.GranteePrincipal,
    operations: g.Operations,
    constraints: g.Constraints,
  }));
}

async function roleInline(): Promise<Record<string, unknown>> {
  const names = (await iam.send(new ListRolePoliciesCommand({ RoleName: ROLE_NAME }))).PolicyNames ?? [];
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const doc = (await iam.send(new GetRolePolicyCommand({ RoleName: ROLE_NAME, PolicyName: name })))
      .PolicyDocument;
    out[name] = JSON.parse(decodeURIComponent(doc ?? '{}'));
  }
  return out;
}

async function keyPolicy(keyArn: string): Promise<unknown> {
  const out = await kms.send(new GetKeyPolicyCommand({ KeyId: keyArn, PolicyName: 'default' }));
  return JSON.parse(out.Policy ?? '{}');
}

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

  it('auto mode: the remediate function applies the grant itself, e-mails a revoke link, revoke removes it', async () => {
    deployment = await deploy({ mode: 'auto', autoApplyPrincipals: [ROLE_ARN] });
    const before = await grantsOnKey(seeded.keyArn);
    expect((await deployment.remediate(denial(seeded.keyArn))).outcome).toBe('applied');
    const after = await grantsOnKey(seeded.keyArn);
    expect(after.filter((g) => !before.some((b) => b.id === g.id))).toEqual([
      expect.objectContaining({ grantee: ROLE_ARN, operations: ['Decrypt'] }),
    ]);
    await press(deployment, (await linkIn(deployment)).link, 'revoke', () => grantsOnKey(seeded.keyArn));
    expect(await grantsOnKey(seeded.keyArn)).toEqual(before);
  });
});
