/**
 * cfn-lint on keymend's templates: the organization's hub (with notification routes) and member, and
 * the single-account stack with every option on. Each must lint clean: no error, no warning, no
 * informational finding. The one acknowledged rule is W3005 on the two functions (infra/
 * keymend-remediation.ts says why), in the template's own cfn-lint metadata. A missing cfn-lint fails
 * this suite; it is never skipped.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { addKeymendStacks } from '../../infra/keymend-app';
import { newApp } from '../infra/synth';

const ORGANIZATION = {
  deployment: 'organization',
  organizationId: 'o-a1b2c3d4e5',
  organizationTargets: 'ou-ab12-cdef3456,ou-ab12-99887766',
  regions: 'us-east-1,eu-west-1',
  notificationEmail: 'ops@example.com',
  notificationRoutes: {
    '444455556666': 'payments-alerts',
    'ou-ab12-cdef3456': 'arn:aws:sns:us-east-1:777788889999:data-alerts',
  },
};
const EVERYTHING_ON = {
  notificationEmail: 'ops@example.com',
  chatTopicArn: 'arn:aws:sns:us-east-1:111122223333:chat',
  mode: 'auto',
  autoApplyPrincipals: 'arn:aws:iam::111122223333:role/orders-*',
  enableInlinePolicy: 'true',
  enableKeyPolicyChanges: 'true',
  createTrail: 'true',
  regions: 'us-east-1',
  oidcIssuer: 'https://idp.example.com',
  oidcClientId: 'keymend',
  oidcClientSecretArn: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:keymend-oidc-AbCdEf',
  approverEmails: 'alice@example.com',
};

interface Finding {
  Rule: { Id: string };
  Message: string;
  Filename: string;
}

/** cfn-lint's findings on the files, as JSON. Throws when cfn-lint is not installed. */
function cfnLint(files: string[]): Finding[] {
  const run = spawnSync('cfn-lint', ['--format', 'json', ...files], { encoding: 'utf8' });
  if (run.error) throw new Error(`cfn-lint is not installed (pip install cfn-lint): ${run.error.message}`);
  // 0: clean; 2 errors, 4 warnings, 8 informational (bits); anything else is cfn-lint failing.
  if (run.status !== 0 && (run.status ?? 1) % 2 === 1) throw new Error(`cfn-lint failed: ${run.stderr}`);
  return JSON.parse(run.stdout || '[]') as Finding[];
}

/** Synthesizes the stacks of `context` (no bundling: cfn-lint reads templates) and writes them out. */
function templates(context: Record<string, unknown>): string[] {
  const app = newApp({ context });
  addKeymendStacks(app);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keymend-cfnlint-'));
  return app.synth().stacks.map((stack) => {
    const file = path.join(dir, `${stack.stackName}.template.json`);
    fs.writeFileSync(file, JSON.stringify(stack.template, null, 1));
    return file;
  });
}

const findingsText = (findings: Finding[]) =>
  findings.map((f) => `${path.basename(f.Filename)} ${f.Rule.Id} ${f.Message}`);

describe('cfn-lint', () => {
  it('is installed', () => {
    expect(execFileSync('cfn-lint', ['--version'], { encoding: 'utf8' })).toMatch(/^cfn-lint \d+\./);
  });

  it('finds nothing in the hub (with routes) and the member templates', () => {
    const files = templates(ORGANIZATION);
    expect(files.map((f) => path.basename(f)).sort()).toEqual([
      'KeymendHub.template.json',
      'KeymendMember.template.json',
    ]);
    expect(findingsText(cfnLint(files))).toEqual([]);
  });

  it('finds nothing in the single-account template with every option on', () => {
    const files = templates(EVERYTHING_ON);
    expect(files.map((f) => path.basename(f))).toEqual(['Keymend-us-east-1.template.json']);
    expect(findingsText(cfnLint(files))).toEqual([]);
  });

  it('does report: the hub with its W3005 acknowledgement taken out has the findings it answers', () => {
    const [hub] = templates(ORGANIZATION).filter((f) => f.endsWith('KeymendHub.template.json'));
    const template = JSON.parse(fs.readFileSync(hub as string, 'utf8'));
    for (const resource of Object.values(template.Resources) as Array<{
      Metadata?: Record<string, unknown>;
    }>) {
      if (resource.Metadata) delete resource.Metadata['cfn-lint'];
    }
    fs.writeFileSync(hub as string, JSON.stringify(template));
    const rules = cfnLint([hub as string]).map((f) => f.Rule.Id);
    expect(rules.length).toBeGreaterThan(0);
    expect(new Set(rules)).toEqual(new Set(['W3005']));
  });
});
