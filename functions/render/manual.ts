/**
 * The manual path: the change keymend plans, in the API's own request shape, as the `aws` CLI commands
 * that make it and undo it, and as Terraform. For teams that apply changes through their own pipeline,
 * and for the undo by hand once a revoke link has expired. Pure.
 *
 * Every argument comes from an ARN or a name that passed keymend's parsers, but is still treated as
 * untrusted: each is quoted for a POSIX shell (`shellArg`), JSON arguments are written with every
 * character outside printable ASCII as `\uXXXX`, and Terraform strings are escaped (`hclString`),
 * `${` and `%{` included. A command whose argument cannot be written as printable ASCII is not shown.
 */
import { parseArn, parsePrincipalArn } from '../commons/arn';
import type { GrantPlan, InlinePolicyPlan, KeyPolicyPlan, Plan, SinglePlan } from '../core/plan';
import type { AppliedChange } from '../core/proposal';

/** The request of the API call that makes the change, with the API's own field names. */
export type ChangeRequest =
  | {
      api: 'kms:CreateGrant';
      request: {
        KeyId: string;
        GranteePrincipal: string;
        RetiringPrincipal?: string;
        Operations: string[];
        Constraints: { EncryptionContextSubset: Record<string, string> };
        Name: string;
      };
    }
  | {
      api: 'iam:PutRolePolicy' | 'iam:PutUserPolicy';
      /** PolicyDocument is sent as JSON text; shown here as the document it encodes. */
      request: { RoleName?: string; UserName?: string; PolicyName: string; PolicyDocument: unknown };
    }
  | {
      api: 'kms:PutKeyPolicy';
      /** Policy is sent as JSON text; shown here as the document it encodes. */
      request: { KeyId: string; PolicyName: 'default'; Policy: unknown };
    };

/** The principal's kind and name from its ARN (the ARN itself when it does not parse). */
function principalOf(arn: string): { kind: 'role' | 'user'; name: string } {
  const parsed = parsePrincipalArn(arn);
  return parsed ? { kind: parsed.kind, name: parsed.name } : { kind: 'role', name: arn };
}

/** A grant plan's retiring principal, when the plan names one. */
function retiringPrincipalOf(plan: GrantPlan): string | undefined {
  const retiring = (plan as GrantPlan & { retiringPrincipal?: unknown }).retiringPrincipal;
  return typeof retiring === 'string' && retiring !== '' ? retiring : undefined;
}

/** The plan (one account's write) as the request of the one API call that makes it. */
export function changeRequest(plan: SinglePlan): ChangeRequest {
  switch (plan.mechanism) {
    case 'kms-grant': {
      const retiring = retiringPrincipalOf(plan);
      return {
        api: 'kms:CreateGrant',
        request: {
          KeyId: plan.keyArn,
          GranteePrincipal: plan.granteePrincipal,
          ...(retiring ? { RetiringPrincipal: retiring } : {}),
          Operations: [...plan.operations],
          Constraints: { EncryptionContextSubset: { ...plan.constraints.encryptionContextSubset } },
          Name: plan.name,
        },
      };
    }
    case 'iam-inline-policy': {
      const who = principalOf(plan.principalArn);
      return who.kind === 'user'
        ? {
            api: 'iam:PutUserPolicy',
            request: { UserName: who.name, PolicyName: plan.policyName, PolicyDocument: plan.document },
          }
        : {
            api: 'iam:PutRolePolicy',
            request: { RoleName: who.name, PolicyName: plan.policyName, PolicyDocument: plan.document },
          };
    }
    case 'key-policy-statement':
      return {
        api: 'kms:PutKeyPolicy',
        request: { KeyId: plan.keyArn, PolicyName: 'default', Policy: plan.document },
      };
    default: {
      const unreachable: never = plan;
      throw new Error(`unknown plan ${JSON.stringify(unreachable)}`);
    }
  }
}

/** `\uXXXX` for one UTF-16 code unit. */
function unicodeEscape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** Compact JSON with every character outside printable ASCII as `\uXXXX`: the same JSON value. */
export function compactJson(value: unknown): string {
  return (JSON.stringify(value) ?? 'null').replace(/[^\x20-\x7e]/g, unicodeEscape);
}

/** Characters a shell word may hold unquoted: nothing a POSIX shell expands, splits or globs. */
const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * One argument for a POSIX shell: as it is when it holds only characters no shell reads specially,
 * else in single quotes (inside which nothing is special), a `'` written as `'\''`. Null for text
 * outside printable ASCII, which a message could not show exactly.
 */
export function shellArg(value: string): string | null {
  if (!/^[\x20-\x7e]*$/.test(value)) return null;
  if (SHELL_SAFE.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A command whose argument could not be written as printable ASCII. */
class Unprintable extends Error {}

function arg(value: string): string {
  const quoted = shellArg(value);
  if (quoted === null) throw new Unprintable();
  return quoted;
}

/**
 * A command line: `words` are literal words keymend chose (`aws`, `kms`, flags), `args` pairs a flag
 * with an untrusted value. Written over several lines with `\` continuations, indented by four spaces.
 */
function command(
  words: string,
  args: ReadonlyArray<readonly [string, string | readonly string[] | ShellExpression | undefined]>,
): string {
  const shown = (value: string | readonly string[] | ShellExpression) =>
    typeof value === 'string' ? arg(value) : 'shell' in value ? value.shell : value.map(arg).join(' ');
  const parts = args
    .filter(
      (pair): pair is readonly [string, string | readonly string[] | ShellExpression] =>
        pair[1] !== undefined,
    )
    .map(([flag, value]) => `    ${flag} ${shown(value)}`);
  return [words, ...parts].join(' \\\n');
}

/** A shell expression keymend wrote itself (`"$GRANT_ID"`), passed through unquoted. */
interface ShellExpression {
  shell: string;
}

/** One runnable command and what a person needs to run it. */
export interface ManualCommand {
  /** What the command does, a few words without a final stop. */
  purpose: string;
  /** The command, for a POSIX shell (bash, zsh), possibly over several lines joined by `\`. */
  command: string;
  /** The permission it needs, and who usually holds it. */
  needs: string;
}

/** The manual path of one plan. */
export interface ManualPath {
  /** The commands that make the change (empty once keymend applied it). */
  apply: ManualCommand[];
  /** The commands that undo it. */
  undo: ManualCommand[];
  /** Sentences to read with the commands. */
  notes: string[];
}

/** A grant id as KMS returns it (hex), else null. */
function grantIdOf(applied: AppliedChange | undefined): string | null {
  return applied?.mechanism === 'kms-grant' && /^[A-Za-z0-9]{1,128}$/.test(applied.grantId)
    ? applied.grantId
    : null;
}

function regionOf(arn: string): string | undefined {
  const region = parseArn(arn)?.region;
  return region ? region : undefined;
}

function grantPath(plan: GrantPlan, applied: AppliedChange | undefined): ManualPath {
  const { request } = changeRequest(plan) as Extract<ChangeRequest, { api: 'kms:CreateGrant' }>;
  const region = regionOf(plan.keyArn);
  const create: ManualCommand = {
    purpose: 'Create the grant (prints its grant id)',
    command: command('aws kms create-grant', [
      ['--region', region],
      ['--key-id', request.KeyId],
      ['--grantee-principal', request.GranteePrincipal],
      ['--retiring-principal', request.RetiringPrincipal],
      ['--operations', request.Operations],
      ['--constraints', compactJson(request.Constraints)],
      ['--name', request.Name],
      ['--query', 'GrantId'],
      ['--output', 'text'],
    ]),
    needs: 'kms:CreateGrant on the key (a key administrator, or a principal the key policy allows it)',
  };
  const grantId = grantIdOf(applied);
  const find: ManualCommand = {
    purpose: 'Find the grant id by its name',
    command: `GRANT_ID=$(${command('aws kms list-grants', [
      ['--region', region],
      ['--key-id', plan.keyArn],
      ['--query', `Grants[?Name=='${plan.name}'].GrantId`],
      ['--output', 'text'],
    ])})`,
    needs: 'kms:ListGrants on the key',
  };
  const id: string | ShellExpression = grantId ?? { shell: '"$GRANT_ID"' };
  const revoke: ManualCommand = {
    purpose: 'Revoke the grant, as a key administrator',
    command: command('aws kms revoke-grant', [
      ['--region', region],
      ['--key-id', plan.keyArn],
      ['--grant-id', id],
    ]),
    needs: 'kms:RevokeGrant on the key (the key administrators of the default key policy hold it)',
  };
  const retiring = request.RetiringPrincipal;
  const retire: ManualCommand = {
    purpose: 'Or retire it, as the retiring principal the grant names',
    command: command('aws kms retire-grant', [
      ['--region', region],
      ['--key-id', plan.keyArn],
      ['--grant-id', id],
    ]),
    needs: `no IAM permission: the grant itself lets its retiring principal (${retiring}) retire it`,
  };
  return {
    apply: applied ? [] : [create],
    undo: [...(grantId ? [] : [find]), revoke, ...(retiring ? [retire] : [])],
    notes: [
      'A new grant takes up to about five minutes to be used everywhere (KMS grants are eventually consistent).',
      ...(retiring
        ? []
        : [
            'retire-grant works only for a retiring principal the grant names, and this one names none: revoke it instead.',
          ]),
    ],
  };
}

function inlinePath(plan: InlinePolicyPlan, applied: AppliedChange | undefined): ManualPath {
  const who = principalOf(plan.principalArn);
  const verb = who.kind === 'user' ? 'user' : 'role';
  const put: ManualCommand[] = [
    {
      purpose: `Add the inline policy to the ${verb}`,
      command: command(`aws iam put-${verb}-policy`, [
        [`--${verb}-name`, who.name],
        ['--policy-name', plan.policyName],
        ['--policy-document', compactJson(plan.document)],
      ]),
      needs: `iam:Put${who.kind === 'user' ? 'User' : 'Role'}Policy on the ${verb}`,
    },
  ];
  return {
    apply: applied ? [] : put,
    undo: [
      {
        purpose: 'Delete the inline policy',
        command: command(`aws iam delete-${verb}-policy`, [
          [`--${verb}-name`, who.name],
          ['--policy-name', plan.policyName],
        ]),
        needs: `iam:Delete${who.kind === 'user' ? 'User' : 'Role'}Policy on the ${verb}`,
      },
    ],
    notes: [],
  };
}

/** The file the key-policy commands save the policy to before changing it. */
const SAVED_POLICY = 'key-policy-before.json';
/** The file a new key policy too long for a command line is read from. */
const NEW_POLICY = 'key-policy-new.json';
/** A new key policy up to this many characters is written into the command itself. */
export const INLINE_POLICY_CHARS = 8_000;

function keyPolicyPath(plan: KeyPolicyPlan, applied: AppliedChange | undefined): ManualPath {
  const region = regionOf(plan.keyArn);
  const policy = compactJson(plan.document);
  const long = policy.length > INLINE_POLICY_CHARS;
  const save: ManualCommand = {
    purpose: `Save the key policy as it is now to ${SAVED_POLICY}, for the undo`,
    command: `${command('aws kms get-key-policy', [
      ['--region', region],
      ['--key-id', plan.keyArn],
      ['--policy-name', 'default'],
      ['--query', 'Policy'],
      ['--output', 'text'],
    ])} > ${SAVED_POLICY}`,
    needs: 'kms:GetKeyPolicy on the key',
  };
  const put: ManualCommand = {
    purpose:
      'Write the new key policy: every existing statement unchanged, one added (check first that the saved policy is the one this change starts from)',
    command: command('aws kms put-key-policy', [
      ['--region', region],
      ['--key-id', plan.keyArn],
      ['--policy-name', 'default'],
      ['--policy', long ? `file://${NEW_POLICY}` : policy],
    ]),
    needs: 'kms:PutKeyPolicy on the key (its key administrators)',
  };
  const restore: ManualCommand = {
    purpose: `Put back the saved policy (only if nobody changed the key policy since)`,
    command: command('aws kms put-key-policy', [
      ['--region', region],
      ['--key-id', plan.keyArn],
      ['--policy-name', 'default'],
      ['--policy', `file://${SAVED_POLICY}`],
    ]),
    needs: 'kms:PutKeyPolicy on the key (its key administrators)',
  };
  return {
    apply: applied ? [] : [save, put],
    undo: [restore],
    notes: [
      ...(long && !applied
        ? [
            `The new policy is ${policy.length} characters: save it from the review page to ${NEW_POLICY} first.`,
          ]
        : []),
      applied
        ? `keymend kept the policy it replaced; without ${SAVED_POLICY}, remove the statement with Sid ${plan.statement.Sid} from the key policy and put it back.`
        : 'PutKeyPolicy replaces the whole policy and has no concurrency check: a change made by someone else between the two commands would be lost.',
    ],
  };
}

/**
 * The manual path of `plan`: the commands that make the change (none once `applied`), and those that
 * undo it, each with the permission it needs. Null when an argument cannot be written as printable
 * ASCII (no such name passes keymend's ARN parsers; the check stays in case one does).
 */
export function manualPath(plan: Plan, applied?: AppliedChange): ManualPath | null {
  try {
    switch (plan.mechanism) {
      case 'cross-account': {
        const done = applied?.mechanism === 'cross-account' ? applied : undefined;
        const key = keyPolicyPath(plan.keySide, done?.keySide);
        const caller = inlinePath(plan.callerSide, done?.callerSide);
        const inAccount = (account: string, list: ManualCommand[]) =>
          list.map((c) => ({ ...c, purpose: `In account ${account}: ${c.purpose}` }));
        return {
          // The key side first, as keymend applies it; undone in the reverse order.
          apply: [
            ...inAccount(plan.keyAccountId, key.apply),
            ...inAccount(plan.callerAccountId, caller.apply),
          ],
          undo: [...inAccount(plan.callerAccountId, caller.undo), ...inAccount(plan.keyAccountId, key.undo)],
          notes: [
            `Run each command with credentials of its account: ${plan.keyAccountId} (the key's owner) and ${plan.callerAccountId} (the caller's). Both changes are needed: across accounts both sides must allow.`,
            ...key.notes,
            ...caller.notes,
          ],
        };
      }
      case 'kms-grant':
        return grantPath(plan, applied);
      case 'iam-inline-policy':
        return inlinePath(plan, applied);
      case 'key-policy-statement':
        return keyPolicyPath(plan, applied);
      default: {
        const unreachable: never = plan;
        throw new Error(`unknown plan ${JSON.stringify(unreachable)}`);
      }
    }
  } catch (error) {
    if (error instanceof Unprintable) return null;
    throw error;
  }
}

// --- Terraform ---------------------------------------------------------------------------------------

/**
 * A Terraform (HCL) quoted string: `\` and `"` escaped, control and non-ASCII characters as `\uXXXX`,
 * and the template sequences `${` and `%{` written `$${` and `%%{` so nothing is interpolated.
 */
export function hclString(value: string): string {
  const escaped = value
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    .replace(/[^\x20-\x7e]/g, unicodeEscape)
    .replace(/\$\{/g, '$$$${')
    .replace(/%\{/g, '%%{');
  return `"${escaped}"`;
}

/** A JSON value as an HCL expression (objects with quoted keys), indented from `depth`. */
function hclValue(value: unknown, depth: number): string {
  const pad = '  '.repeat(depth + 1);
  const end = '  '.repeat(depth);
  if (typeof value === 'string') return hclString(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => `${pad}${hclValue(v, depth + 1)},`).join('\n')}\n${end}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${pad}${hclString(k)} = ${hclValue(v, depth + 1)}`).join('\n')}\n${end}}`;
}

/** A Terraform resource name from a grant or policy name: letters, digits, `_` and `-`, from a letter. */
function resourceName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
  return /^[A-Za-z]/.test(safe) ? safe : `keymend_${safe}`.slice(0, 64);
}

/**
 * The change as Terraform: an `aws_kms_grant` for a grant (the exact equivalent of CreateGrant), an
 * `aws_iam_role_policy` / `aws_iam_user_policy` for an inline policy, and for a key-policy plan the one
 * statement to add to the key's policy document (in the `aws_kms_key` or `aws_kms_key_policy` that
 * manages it: Terraform writes a key policy whole).
 */
export function terraformSnippet(plan: Plan): string {
  switch (plan.mechanism) {
    case 'cross-account':
      return [
        `# In account ${plan.keyAccountId} (the key's owner):`,
        terraformSnippet(plan.keySide),
        '',
        `# In account ${plan.callerAccountId} (the caller's):`,
        terraformSnippet(plan.callerSide),
      ].join('\n');
    case 'kms-grant': {
      const retiring = retiringPrincipalOf(plan);
      const context = plan.constraints.encryptionContextSubset;
      return [
        `resource "aws_kms_grant" "${resourceName(plan.name)}" {`,
        `  name              = ${hclString(plan.name)}`,
        `  key_id            = ${hclString(plan.keyArn)}`,
        `  grantee_principal = ${hclString(plan.granteePrincipal)}`,
        ...(retiring ? [`  retiring_principal = ${hclString(retiring)}`] : []),
        `  operations        = [${plan.operations.map(hclString).join(', ')}]`,
        '',
        '  constraints {',
        `    encryption_context_subset = ${hclValue(context, 2)}`,
        '  }',
        '}',
      ].join('\n');
    }
    case 'iam-inline-policy': {
      const who = principalOf(plan.principalArn);
      const type = who.kind === 'user' ? 'aws_iam_user_policy' : 'aws_iam_role_policy';
      return [
        `resource "${type}" "${resourceName(plan.policyName)}" {`,
        `  name   = ${hclString(plan.policyName)}`,
        `  ${who.kind === 'user' ? 'user' : 'role'}   = ${hclString(who.name)}`,
        `  policy = jsonencode(${hclValue(plan.document, 1)})`,
        '}',
      ].join('\n');
    }
    case 'key-policy-statement':
      return [
        `# Add this statement to the Statement list of the policy of ${hclString(plan.keyArn)}`,
        '# (in the aws_kms_key or aws_kms_key_policy that manages it; Terraform writes the policy whole):',
        hclValue(plan.statement, 0),
      ].join('\n');
    default: {
      const unreachable: never = plan;
      throw new Error(`unknown plan ${JSON.stringify(unreachable)}`);
    }
  }
}
