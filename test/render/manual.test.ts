/**
 * The manual path: every printed command is run through a real POSIX shell (with `aws` replaced by a
 * function that prints its arguments), and the arguments the shell hands over are read back into the
 * API request and compared with the plan. Hostile names must come back exactly as they went in.
 */
import type { GrantPlan, Plan } from '../../functions/core/plan';
import {
  changeRequest,
  hclString,
  manualPath,
  shellArg,
  terraformSnippet,
} from '../../functions/render/manual';
import { sampleProposal } from '../helpers/proposals';
import { awsCalls, createGrantRequest, flags } from '../helpers/shell';

function one(map: Map<string, string[]>, flag: string): string | undefined {
  const values = map.get(flag);
  if (values === undefined) return undefined;
  expect(values).toHaveLength(1);
  return values[0];
}

async function grantPlan(): Promise<GrantPlan> {
  const proposal = await sampleProposal();
  if (proposal.plan?.mechanism !== 'kms-grant') throw new Error('the sample should plan a grant');
  return proposal.plan;
}

describe('the manual path of a grant', () => {
  it('prints an aws kms create-grant that sends exactly the planned CreateGrant request', async () => {
    const plan = await grantPlan();
    const path = manualPath(plan);
    const create = path?.apply.find((c) => c.command.startsWith('aws kms create-grant'));
    expect(create).toBeDefined();
    const [call, ...rest] = awsCalls(create?.command ?? '');
    expect(rest).toEqual([]);
    const request = createGrantRequest(call ?? []);
    // Against the plan itself, field by field, not only against changeRequest.
    expect(request).toEqual({
      KeyId: plan.keyArn,
      GranteePrincipal: plan.granteePrincipal,
      Operations: plan.operations,
      Constraints: {
        EncryptionContextSubset: {
          'aws:kinesis:arn': plan.constraints.encryptionContextSubset['aws:kinesis:arn'],
        },
      },
      Name: plan.name,
    });
    expect(request).toEqual(changeRequest(plan).request);
    expect(flags(call ?? []).get('--region')).toEqual([plan.keyArn.split(':')[3]]);
  });

  it('undoes by name: list-grants finds the id, revoke-grant needs kms:RevokeGrant on the key', async () => {
    const plan = await grantPlan();
    const path = manualPath(plan);
    expect(path?.undo.map((c) => c.command.split(' \\\n')[0])).toEqual([
      'GRANT_ID=$(aws kms list-grants',
      'aws kms revoke-grant',
    ]);
    const script = path?.undo.map((c) => c.command).join('\n') ?? '';
    const calls = awsCalls(script.replace(/GRANT_ID=\$\(([\s\S]*?)\)\n/, '$1\nGRANT_ID=grant-from-list\n'));
    const [list, revoke] = calls;
    expect(list?.slice(0, 2)).toEqual(['kms', 'list-grants']);
    expect(one(flags(list ?? []), '--query')).toBe(`Grants[?Name=='${plan.name}'].GrantId`);
    expect(revoke?.slice(0, 2)).toEqual(['kms', 'revoke-grant']);
    expect(one(flags(revoke ?? []), '--key-id')).toBe(plan.keyArn);
    expect(one(flags(revoke ?? []), '--grant-id')).toBe('grant-from-list');
    expect(path?.undo.find((c) => c.command.includes('revoke-grant'))?.needs).toContain('kms:RevokeGrant');
    expect(path?.notes.join(' ')).toContain('retire-grant works only for a retiring principal');
  });

  it('once applied, undoes the very grant keymend made and offers no create', async () => {
    const plan = await grantPlan();
    const grantId = 'a'.repeat(64);
    const path = manualPath(plan, {
      mechanism: 'kms-grant',
      keyArn: plan.keyArn,
      grantId,
      grantName: plan.name,
    });
    expect(path?.apply).toEqual([]);
    const [revoke] = awsCalls(path?.undo[0]?.command ?? '');
    expect(one(flags(revoke ?? []), '--grant-id')).toBe(grantId);
  });

  it('with a retiring principal in the plan, the grant and retire-grant name it', async () => {
    const plan = {
      ...(await grantPlan()),
      retiringPrincipal: 'arn:aws:iam::111122223333:role/keymend-approval',
    };
    const path = manualPath(plan as Plan);
    const [create] = awsCalls(path?.apply[0]?.command ?? '');
    expect(createGrantRequest(create ?? []).RetiringPrincipal).toBe(plan.retiringPrincipal);
    const retire = path?.undo.find((c) => c.command.startsWith('aws kms retire-grant'));
    expect(retire?.needs).toContain('no IAM permission');
    expect(terraformSnippet(plan as Plan)).toContain(`retiring_principal = "${plan.retiringPrincipal}"`);
  });

  it('Terraform: an aws_kms_grant naming the same key, grantee, operations and constraint', async () => {
    const plan = await grantPlan();
    const tf = terraformSnippet(plan);
    const attr = (name: string) => tf.match(new RegExp(`^\\s*${name}\\s*=\\s*(.+)$`, 'm'))?.[1];
    expect(tf).toMatch(/^resource "aws_kms_grant" "[A-Za-z][A-Za-z0-9_-]*" \{$/m);
    expect(JSON.parse(attr('key_id') ?? '')).toBe(plan.keyArn);
    expect(JSON.parse(attr('grantee_principal') ?? '')).toBe(plan.granteePrincipal);
    expect(JSON.parse(attr('name') ?? '')).toBe(plan.name);
    expect(JSON.parse(attr('operations') ?? '')).toEqual(plan.operations);
    const constraint = tf.match(
      /constraints \{\s*encryption_context_subset = \{\s*"([^"]+)" = ("[^"]*")\s*\}\s*\}/,
    );
    expect(constraint?.[1]).toBe('aws:kinesis:arn');
    expect(JSON.parse(constraint?.[2] ?? '')).toBe(
      plan.constraints.encryptionContextSubset['aws:kinesis:arn'],
    );
    expect(tf).not.toContain('encryption_context_equals');
  });
});

describe('the manual path of an inline policy and a key policy', () => {
  it('put-role-policy sends the planned document; delete-role-policy undoes it', async () => {
    const proposal = await sampleProposal({ prefer: 'iam-inline-policy' });
    const plan = proposal.plan;
    if (plan?.mechanism !== 'iam-inline-policy') throw new Error('expected an inline policy');
    const path = manualPath(plan);
    const [put] = awsCalls(path?.apply[0]?.command ?? '');
    expect(put?.slice(0, 2)).toEqual(['iam', 'put-role-policy']);
    const f = flags(put ?? []);
    expect(one(f, '--role-name')).toBe(plan.principalArn.slice(plan.principalArn.lastIndexOf('/') + 1));
    expect(one(f, '--policy-name')).toBe(plan.policyName);
    expect(JSON.parse(one(f, '--policy-document') ?? '')).toEqual(plan.document);
    const [del] = awsCalls(path?.undo[0]?.command ?? '');
    expect(del?.slice(0, 2)).toEqual(['iam', 'delete-role-policy']);
    expect(one(flags(del ?? []), '--policy-name')).toBe(plan.policyName);
    expect(path?.apply[0]?.needs).toBe('iam:PutRolePolicy on the role');
    expect(path?.undo[0]?.needs).toBe('iam:DeleteRolePolicy on the role');
    expect(terraformSnippet(plan)).toContain(`resource "aws_iam_role_policy"`);
  });

  it('put-key-policy sends the whole planned policy after saving the old one; the undo restores it', async () => {
    const proposal = await sampleProposal({ prefer: 'key-policy-statement' });
    const plan = proposal.plan;
    if (plan?.mechanism !== 'key-policy-statement') throw new Error('expected a key-policy plan');
    const path = manualPath(plan);
    const commands = path?.apply.map((c) => c.command) ?? [];
    const [save, put] = awsCalls(commands.join('\n').replace(/ > key-policy-before\.json/, ''));
    expect(save?.slice(0, 2)).toEqual(['kms', 'get-key-policy']);
    expect(put?.slice(0, 2)).toEqual(['kms', 'put-key-policy']);
    const f = flags(put ?? []);
    expect(one(f, '--key-id')).toBe(plan.keyArn);
    expect(one(f, '--policy-name')).toBe('default');
    expect(JSON.parse(one(f, '--policy') ?? '')).toEqual(plan.document);
    expect(f.has('--bypass-policy-lockout-safety-check')).toBe(false);
    const [restore] = awsCalls(path?.undo[0]?.command ?? '');
    expect(one(flags(restore ?? []), '--policy')).toBe('file://key-policy-before.json');
    expect(changeRequest(plan)).toEqual({
      api: 'kms:PutKeyPolicy',
      request: { KeyId: plan.keyArn, PolicyName: 'default', Policy: plan.document },
    });
  });
});

const HOSTILE = [
  "orders'; rm -rf / #",
  'a b  c',
  '$(touch /tmp/keymend-pwned)',
  '`id`',
  '"quoted" and \\backslash\\',
  "it's",
  '--key-id',
  '*',
  ['$', '{HOME}'].join(''),
  '%{ if true }x%{ endif }',
  '',
];

describe('untrusted names', () => {
  it.each(HOSTILE)('a shell receives %j exactly as it was', (value) => {
    const quoted = shellArg(value);
    expect(quoted).not.toBeNull();
    const [call] = awsCalls(`aws ${quoted}`, { HOME: '/nowhere' });
    expect(call).toEqual([value]);
  });

  it('text outside printable ASCII is not written into a command at all', async () => {
    expect(shellArg('orders\nrm -rf /')).toBeNull();
    expect(shellArg('a\tb')).toBeNull();
    expect(shellArg('caf\u00e9')).toBeNull();
    const plan = { ...(await grantPlan()), name: 'x\u202ey' };
    expect(manualPath(plan)).toBeNull();
  });

  it('a hostile grant plan still sends exactly its own values', async () => {
    const hostile = 'k\'$(id)`id`"; echo pwned';
    const plan: GrantPlan = {
      ...(await grantPlan()),
      granteePrincipal: hostile,
      constraints: { encryptionContextSubset: { 'aws:kinesis:arn': `${hostile}\u00e9` } },
    };
    const [call] = awsCalls(manualPath(plan)?.apply[0]?.command ?? '');
    expect(createGrantRequest(call ?? [])).toEqual(changeRequest(plan).request);
  });

  it.each(HOSTILE)('Terraform reads %j back as the same string, with nothing interpolated', (value) => {
    const literal = hclString(value);
    expect(literal).toMatch(/^"[\x20-\x7e]*"$/);
    // Outside escapes, no template sequence starts: `${` and `%{` only as `$${` and `%%{`.
    expect(literal.replace(/\$\$\{|%%\{/g, '')).not.toMatch(/[$%]\{/);
    const decoded = JSON.parse(literal.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{'));
    expect(decoded).toBe(value);
  });
});

describe('once applied', () => {
  it('an inline policy keymend wrote is only undone, never offered again', async () => {
    const proposal = await sampleProposal({ prefer: 'iam-inline-policy' });
    const plan = proposal.plan as Plan;
    if (plan.mechanism !== 'iam-inline-policy') throw new Error('expected an inline policy');
    const path = manualPath(plan, {
      mechanism: 'iam-inline-policy',
      principalArn: plan.principalArn,
      policyName: plan.policyName,
    });
    expect(path?.apply).toEqual([]);
    expect(path?.undo.map((c) => c.command.split(' \\\n')[0])).toEqual(['aws iam delete-role-policy']);
  });
});
