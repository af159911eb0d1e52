/**
 * The steps of a remediation as the handler tests (handlers.moto.ts, iam.moto.ts) take them: a denial
 * in the seeded account, the link from the latest e-mail, a GET and a POST of the approval page, and
 * reads of what a fix changes.
 */
import { randomUUID } from 'node:crypto';
import { GetRolePolicyCommand, ListRolePoliciesCommand } from '@aws-sdk/client-iam';
import { GetKeyPolicyCommand, ListGrantsCommand, RevokeGrantCommand } from '@aws-sdk/client-kms';
import { loadEvent } from '../helpers/events';
import { type Deployment, URL_DOMAIN } from './lambda';
import { MOTO_ACCOUNT } from './moto';
import { clients, ROLE_NAME } from './seed';

const SAMPLE_KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** The consumer's denial (events/consumer-decrypt-denied-service-role.eventbridge.json) in the seeded account, now. */
export function denial(keyArn: string): Record<string, unknown> {
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
export async function linkIn(deployment: Deployment): Promise<{ subject: string; link: string }> {
  const emails = await deployment.emails();
  const last = emails.at(-1);
  if (!last) throw new Error('no e-mail reached the queue');
  const link = new RegExp(`https://${URL_DOMAIN.replaceAll('.', '\\.')}/[^\\s)>"]+`).exec(last.message)?.[0];
  if (!link) throw new Error(`no link in the e-mail:\n${last.message}`);
  return { subject: last.subject, link };
}

/** GET the link (nothing may change), then POST the page's form for `action`, as a browser would. */
export async function press(
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

/** Reads what the fixes change, with `credentials` (default moto's). */
export function inspector(credentials?: { accessKeyId: string; secretAccessKey: string }) {
  const { iam, kms } = clients(credentials);
  return {
    grantsOnKey: async (keyArn: string) => {
      const out = await kms.send(new ListGrantsCommand({ KeyId: keyArn }));
      return (out.Grants ?? []).map((g) => ({
        id: g.GrantId,
        grantee: g.GranteePrincipal,
        operations: g.Operations,
        constraints: g.Constraints,
      }));
    },
    roleInline: async (): Promise<Record<string, unknown>> => {
      const names = (await iam.send(new ListRolePoliciesCommand({ RoleName: ROLE_NAME }))).PolicyNames ?? [];
      const out: Record<string, unknown> = {};
      for (const name of names) {
        const doc = (await iam.send(new GetRolePolicyCommand({ RoleName: ROLE_NAME, PolicyName: name })))
          .PolicyDocument;
        out[name] = JSON.parse(decodeURIComponent(doc ?? '{}'));
      }
      return out;
    },
    keyPolicy: async (keyArn: string): Promise<unknown> => {
      const out = await kms.send(new GetKeyPolicyCommand({ KeyId: keyArn, PolicyName: 'default' }));
      return JSON.parse(out.Policy ?? '{}');
    },
  };
}

/**
 * Undoes an automatic fix as its e-mail tells an administrator to without sign-in (the remediate
 * function cannot sign a revoke link): `aws kms revoke-grant` with the grant id the e-mail gives.
 * Returns that e-mail, which must carry no link to the approval function.
 */
export async function revokeAutoGrantByHand(
  deployment: Deployment,
  keyArn: string,
  credentials?: { accessKeyId: string; secretAccessKey: string },
): Promise<string> {
  const emails = await deployment.emails();
  const last = emails.at(-1)?.message ?? '';
  // No revoke link (the remediate function cannot sign one); the review link, which decides nothing
  // without sign-in, may be there.
  expect(last).not.toMatch(/[?&]a=revoke/);
  const grantId = /Grant id: (\S+)/.exec(last)?.[1];
  if (!grantId) throw new Error(`no grant id in the e-mail:\n${last}`);
  await clients(credentials).kms.send(new RevokeGrantCommand({ KeyId: keyArn, GrantId: grantId }));
  return last;
}
