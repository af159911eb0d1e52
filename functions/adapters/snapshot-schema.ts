/**
 * The snapshot file's schema (docs/snapshot.md), written once in zod: it validates a parsed file with
 * the JSON path of the first bad field in the error, types what it returns, and is exported as the
 * published JSON Schema (`snapshot.schema.json`, `npm run schema`) that editors check a snapshot with.
 *
 * The shape (fields, types, formats, names) is the zod schema; the rules across fields that a JSON
 * Schema cannot say (an ARN's partition against the snapshot's Region, unique names, an alias reserved
 * for AWS-managed keys) are checked after it, in {@link checkAccountRules}, with the same kind of path.
 * The reader (snapshot.ts) reads files and serves them.
 */
import { z } from 'zod';
import {
  grantPrincipalKind,
  isAliasName,
  type Partition,
  parseAliasArn,
  parseAssumedRoleArn,
  parseKeyArn,
  parsePolicyArn,
  parsePrincipalArn,
  parseRootArn,
  parseStreamArn,
  partitionOfRegion,
} from '../commons/arn';
import { SnapshotError } from '../commons/errors';
import { nearest } from '../commons/nearest';
import {
  type AccountSnapshot,
  isOrganizationPolicy,
  type KeyState,
  type KmsGrant,
  type OrganizationState,
  type PrincipalState,
  type StreamState,
} from '../core/account';

/** DescribeKey `KeySpec`, `KeyUsage` and `Origin` values (kms:KeySpec, kms:KeyUsage, kms:KeyOrigin). */
const KEY_SPECS = [
  'SYMMETRIC_DEFAULT',
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'ECC_NIST_EDWARDS25519',
  'HMAC_224',
  'HMAC_256',
  'HMAC_384',
  'HMAC_512',
  'SM2',
  'ML_DSA_44',
  'ML_DSA_65',
  'ML_DSA_87',
] as const;
const KEY_USAGES = ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'] as const;
const KEY_ORIGINS = ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'] as const;

/** KMS key states (DescribeKey `KeyState`). */
const KEY_STATES = [
  'Creating',
  'Enabled',
  'Disabled',
  'PendingDeletion',
  'PendingImport',
  'PendingReplicaDeletion',
  'Unavailable',
  'Updating',
] as const;

/** Operations a KMS grant may list (CreateGrant `Operations`). */
const GRANT_OPERATIONS = [
  'CreateGrant',
  'Decapsulate',
  'Decrypt',
  'DeriveSharedSecret',
  'DescribeKey',
  'Encapsulate',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateMac',
  'GetPublicKey',
  'ReEncryptFrom',
  'ReEncryptTo',
  'RetireGrant',
  'Sign',
  'Verify',
  'VerifyMac',
] as const;

const ACCOUNT_ID_RE = /^\d{12}$/;
/** An IAM account alias: 3 to 63 lowercase letters, digits and hyphens, no hyphen at either end. */
const ACCOUNT_ALIAS_RE = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const ORGANIZATION_ID_RE = /^o-[a-z0-9]{10,32}$/;
// o-ID/r-ROOT/ then any OUs, each ending in a slash (aws:PrincipalOrgPaths).
const ORGANIZATION_PATH_RE = /^o-[a-z0-9]{10,32}\/r-[0-9a-z]{4,32}\/(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}\/)*$/;
// An inline policy of the principal itself, or `group/GROUP/POLICY` for one of a user's groups.
const POLICY_NAME_RE = /^(group\/[\w+=,.@-]{1,128}\/)?[\w+=,.@-]{1,128}$/;
const GRANT_NAME_RE = /^[a-zA-Z0-9:/_-]{1,256}$/;

// ---------------------------------------------------------------------------------------------
// Building blocks: each says, in its error, what was expected and what was found.

/** The error of a value of the wrong type: `missing: expected X`, or `expected X, got Y`. */
const expected = (what: string) => ({
  error: (issue: { input?: unknown }) =>
    issue.input === undefined
      ? `missing: expected ${what}`
      : `expected ${what}, got ${describe(issue.input)}`,
});

/**
 * An object with exactly these fields: an unknown one fails loudly (with the nearest field name), so
 * a typo (`principal`, `keymanager`) is not silently read as "absent".
 */
function fields<Shape extends z.core.$ZodLooseShape>(shape: Shape, what: string) {
  const allowed = Object.keys(shape).filter((field) => field !== '$schema');
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') {
        const suggestion = closest(String(issue.keys[0]), allowed);
        const hint = suggestion ? `; did you mean "${suggestion}"?` : '';
        return `unknown field (expected one of ${allowed.join(', ')})${hint}`;
      }
      return expected(what).error(issue);
    },
  });
}

/** A string checked by `isValid`, whose failure is explained by `hint` (given the string). */
function checkedString(what: string, isValid: (value: string) => boolean, hint: (value: string) => string) {
  return z
    .string(expected(what))
    .refine(isValid, { error: (issue) => hint(String(issue.input)) })
    .meta({ description: `${what[0]?.toUpperCase()}${what.slice(1)}.` });
}

/** One of `values`, else "expected one of A, B, got X". */
function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, expected(`one of ${values.join(', ')}`));
}

function stringMap(what: string) {
  return z.record(
    z.string(),
    z.string(expected('a string value')),
    expected(`an object of ${what} keys to string values`),
  );
}

/**
 * A policy document, checked only to be an object with a `Statement`: its grammar is checked when the
 * evaluator compiles it. A missing Statement is reported on the document (with the fields it has),
 * which names the usual mistake: pasting GetRolePolicy's output instead of its PolicyDocument.
 */
const policyDocument = z
  // A record, not an object schema: it keeps the document's fields in their order (a policy is shown
  // back to people as it was written), where an object schema would put the known ones first.
  .record(z.string(), z.unknown(), {
    error: (issue) =>
      typeof issue.input === 'string'
        ? 'expected a policy document object, got a string; put the document itself here, not its JSON text'
        : expected('a policy document object with Version and Statement').error(issue),
  })
  .superRefine((doc, ctx) => {
    if (!('Statement' in doc)) {
      const names = Object.keys(doc);
      const seen = names.length > 0 ? `an object with ${names.join(', ')}` : 'an empty object';
      ctx.addIssue({ code: 'custom', message: `expected a policy document with a Statement, got ${seen}` });
    } else if (typeof doc.Statement !== 'object' || doc.Statement === null) {
      ctx.addIssue({
        code: 'custom',
        path: ['Statement'],
        message: `expected an array of statements or one statement object, got ${describe(doc.Statement)}`,
      });
    }
  })
  .meta({ id: 'PolicyDocument', description: 'An IAM policy document (the JSON object, not its text).' });

const principalArn = checkedString(
  'a role or user ARN',
  (arn) => parsePrincipalArn(arn) !== null,
  (arn) => {
    if (parseAssumedRoleArn(arn) !== null) {
      return `"${arn}" is a role session ARN; use the role's ARN with its path, e.g. arn:aws:iam::111122223333:role/service-role/NAME`;
    }
    if (parseRootArn(arn) !== null) return `"${arn}" is an account root; expected a role or user ARN`;
    return `expected a role or user ARN such as arn:aws:iam::111122223333:role/PATH/NAME or arn:aws:iam::111122223333:user/NAME, got "${arn}"`;
  },
);

function keyArnHint(arn: string): string {
  if (parseAliasArn(arn)) {
    return `"${arn}" is an alias ARN; use the key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY_ID) and list the alias under aliases`;
  }
  return `expected a key ARN such as arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab, got "${arn}"`;
}

const grantPrincipal = checkedString(
  'a principal ARN',
  (value) => grantPrincipalKind(value) !== null,
  (value) => `expected an account root, role, user, session ARN or service principal, got "${value}"`,
);

const grantOperation = z.enum(GRANT_OPERATIONS, {
  error: (issue) => {
    const op = issue.input;
    if (typeof op === 'string' && op.startsWith('kms:') && GRANT_OPERATIONS.some((o) => `kms:${o}` === op)) {
      return `grant operations have no prefix: write "${op.slice(4)}", not "${op}"`;
    }
    return `expected a grant operation such as "Decrypt" or "GenerateDataKey", got ${describe(op)}`;
  },
});

const organizationId = (missing: string) =>
  z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? missing
          : `expected an organization id such as "o-a1b2c3d4e5", or null for an account in no organization, got ${describe(issue.input)}`,
    })
    .regex(ORGANIZATION_ID_RE)
    .nullable();

const organizationPath = z
  .string({
    error: (issue) =>
      `expected the account's organization path such as "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/", got ${describe(issue.input)}`,
  })
  .regex(ORGANIZATION_PATH_RE);

/**
 * An SCP or RCP with what names it: its id, name and the target it is attached to at this level, beside
 * its document (`aws organizations describe-policy` and `list-targets-for-policy`).
 */
const organizationPolicy = fields(
  {
    id: z
      .string(expected('the policy id'))
      .regex(/^p-[0-9a-zA-Z_]{8,128}$/, {
        error: 'expected a policy id such as "p-a1b2c3d4" or "p-FullAWSAccess"',
      })
      .optional(),
    name: z.string(expected('the policy name')).min(1).max(128).optional(),
    target: z
      .string(expected('the root, OU or account id the policy is attached to'))
      .regex(/^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|\d{12})$/, {
        error:
          'expected the root ("r-ab12"), OU ("ou-ab12-11111111") or account id the policy is attached to',
      })
      .optional(),
    document: policyDocument,
  },
  'a policy with id, name, target and document',
);

/** What is wrong inside an `organizationPolicy`: its branch's first issue, with the field it is in. */
function wrapperProblem(issue: { errors?: unknown }): string | undefined {
  const branches = Array.isArray(issue.errors)
    ? (issue.errors as Array<Array<{ path?: PropertyKey[]; message?: string }>>)
    : [];
  const first = branches[0]?.[0];
  if (!first?.message) return undefined;
  const field = (first.path ?? []).map(String).join('.');
  return field === '' ? first.message : `${field}: ${first.message}`;
}

/** A policy document, or `organizationPolicy` (told apart by `document` standing where `Statement` would). */
const policyEntry = z.union([organizationPolicy, policyDocument], {
  error: (issue) =>
    isOrganizationPolicy(issue.input)
      ? wrapperProblem(issue)
      : typeof issue.input === 'string'
        ? 'expected a policy document object, got a string; put the document itself here, not its JSON text'
        : expected('a policy document, or {"id", "name", "target", "document"}').error(issue),
});

/** One array of policies per level of the organization, root first. */
const policyLevels = z.array(
  z.array(
    policyEntry,
    expected(
      'an array of the policy documents (or policies with id, name and target) attached at this level',
    ),
  ),
  expected('one array of policy documents per level, root first'),
);

// ---------------------------------------------------------------------------------------------
// The snapshot

const principalSchema = fields(
  {
    arn: principalArn,
    inlinePolicies: z.record(
      z.string().regex(POLICY_NAME_RE, {
        error:
          'an inline policy name is 1-128 characters of letters, digits and +=,.@_- (group/GROUP/NAME for a group policy)',
      }),
      policyDocument,
      expected('an object of policy name to document (use {} for none)'),
    ),
    managedPolicies: z.record(
      z.string().refine((arn) => parsePolicyArn(arn) !== null, {
        error: 'expected a managed policy ARN such as arn:aws:iam::111122223333:policy/NAME as the key',
      }),
      policyDocument,
      expected('an object of managed policy ARN to its default version document (use {} for none)'),
    ),
    permissionsBoundary: policyDocument.optional(),
    tags: stringMap('tag').optional(),
  },
  'a principal object with arn, inlinePolicies and managedPolicies',
);

const grantSchema = fields(
  {
    grantId: z
      .string(expected('the grant id'))
      .regex(/^\S+$/, { error: 'expected a non-empty grant id without spaces' }),
    name: z
      .string(expected('the grant name'))
      .regex(GRANT_NAME_RE, { error: 'a grant name is 1-256 characters of letters, digits and :/_-' })
      .optional(),
    granteePrincipal: grantPrincipal,
    retiringPrincipal: grantPrincipal.optional(),
    operations: z
      .array(grantOperation, expected('a non-empty array of KMS operations such as ["Decrypt"]'))
      .min(1, { error: 'expected at least one operation, such as ["Decrypt"]' }),
    constraints: fields(
      {
        encryptionContextSubset: stringMap('encryption context').optional(),
        encryptionContextEquals: stringMap('encryption context').optional(),
      },
      'an object with encryptionContextSubset or encryptionContextEquals',
    ).optional(),
  },
  'a grant object with grantId, granteePrincipal and operations',
);

const keySchema = fields(
  {
    arn: checkedString('a key ARN', (arn) => parseKeyArn(arn) !== null, keyArnHint),
    keyManager: z.enum(['AWS', 'CUSTOMER'], expected('"AWS" or "CUSTOMER"')),
    keyState: oneOf(KEY_STATES),
    aliases: z
      .array(
        z.string(expected('an alias name such as "alias/orders"')).refine(isAliasName, {
          error: (issue) => `expected an alias name such as "alias/orders", got ${describe(issue.input)}`,
        }),
        expected('an array of alias names'),
      )
      .optional(),
    policy: policyDocument,
    grants: z.array(grantSchema, expected('an array of grants')).optional(),
    tags: stringMap('tag').optional(),
    keySpec: oneOf(KEY_SPECS).optional(),
    keyUsage: oneOf(KEY_USAGES).optional(),
    origin: oneOf(KEY_ORIGINS).optional(),
    multiRegion: z.boolean(expected('true or false')).optional(),
    multiRegionKeyType: oneOf(['PRIMARY', 'REPLICA']).optional(),
  },
  'a key object with arn, keyManager, keyState and policy',
);

const streamSchema = fields(
  {
    arn: checkedString(
      'a stream ARN',
      (arn) => parseStreamArn(arn) !== null,
      (arn) =>
        `expected a stream ARN such as arn:aws:kinesis:us-east-1:111122223333:stream/NAME, got "${arn}"`,
    ),
    keyArn: z
      .string({
        error: (issue) =>
          issue.input === undefined
            ? 'missing: give the key ARN the stream encrypts with, or null if unencrypted'
            : `expected a key ARN or null, got ${describe(issue.input)}`,
      })
      .refine((arn) => parseKeyArn(arn) !== null, { error: (issue) => keyArnHint(String(issue.input)) })
      .nullable(),
    retentionPeriodHours: z
      .number(expected('the retention in whole hours, 24 to 8760'))
      .int({ error: 'expected the retention in whole hours, 24 to 8760' })
      .min(24, { error: 'expected the retention in whole hours, 24 to 8760' })
      .max(8760, { error: 'expected the retention in whole hours, 24 to 8760' })
      .optional()
      .meta({
        description: 'How long the stream keeps records (DescribeStreamSummary RetentionPeriodHours).',
      }),
  },
  'a stream object with arn and keyArn',
);

const organizationSchema = fields(
  {
    id: organizationId('missing: give the organization id, or null for none').optional(),
    path: organizationPath.optional(),
    accounts: z
      .record(
        z.string().regex(ACCOUNT_ID_RE, { error: 'expected a 12-digit account id as the key' }),
        fields(
          {
            id: organizationId('missing: give the organization id, or null for none'),
            path: organizationPath.optional(),
          },
          "an object with the account's organization id and path",
        ),
        expected('an object of account id to {"id": ..., "path": ...}'),
      )
      .optional(),
    serviceControlPolicies: policyLevels.optional(),
    resourceControlPolicies: policyLevels.optional(),
  },
  'an object with serviceControlPolicies and resourceControlPolicies',
);

const accountIdMessage = (issue: { input?: unknown }) =>
  typeof issue.input === 'number'
    ? 'expected the 12-digit account id as a string in quotes (a number loses leading zeros)'
    : `expected a 12-digit account id such as "111122223333", got ${describe(issue.input)}`;

/** The snapshot file (docs/snapshot.md). */
export const snapshotSchema = fields(
  {
    $schema: z.string().optional().meta({ description: 'The JSON Schema this file follows.' }),
    accountId: z.string({ error: accountIdMessage }).regex(ACCOUNT_ID_RE, { error: accountIdMessage }),
    accountAlias: z
      .string(expected('the account alias'))
      .regex(ACCOUNT_ALIAS_RE, {
        error: (issue) =>
          `expected an account alias (3 to 63 lowercase letters, digits and hyphens, not starting or ending with a hyphen), got ${describe(issue.input)}`,
      })
      .optional()
      .meta({ description: "The account's alias (iam:ListAccountAliases), shown in notification subjects." }),
    region: checkedString(
      'a region name such as "us-east-1"',
      (region) => partitionOfRegion(region) !== null,
      (region) => `expected a region name such as "us-east-1", got ${describe(region)}`,
    ),
    principals: z.array(principalSchema, expected('an array of principals (use [] for none)')),
    keys: z.array(keySchema, expected('an array of keys (use [] for none)')),
    streams: z.array(streamSchema, expected('an array of streams')).optional(),
    organization: organizationSchema.optional(),
  },
  'a snapshot object with accountId, region, principals and keys',
);

// The schema and core's account types (which core and policy/ use, and the AWS reader builds) must
// name the same fields: a field added to one and not the other fails the typecheck here.
type SameFields<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never]
  ? true
  : never;
type Parsed = Omit<z.output<typeof snapshotSchema>, '$schema'>;
type Item<T> = NonNullable<T> extends readonly (infer I)[] ? I : never;
const fieldChecks: [
  SameFields<Parsed, AccountSnapshot>,
  SameFields<Item<Parsed['principals']>, PrincipalState>,
  SameFields<Item<Parsed['keys']>, KeyState>,
  SameFields<Item<Item<Parsed['keys']>['grants']>, KmsGrant>,
  SameFields<Item<Parsed['streams']>, StreamState>,
  SameFields<NonNullable<Parsed['organization']>, OrganizationState>,
] = [true, true, true, true, true, true];
void fieldChecks;

/**
 * Validates a parsed snapshot file and returns it typed. Unknown fields are rejected everywhere,
 * so a typo (`principal`, `keymanager`) fails loudly instead of silently meaning "absent".
 * Policy documents are only checked to be objects with a `Statement`: their grammar is checked
 * when the evaluator compiles them. A `$schema` field is allowed and dropped.
 *
 * @throws SnapshotError whose `field` is the JSON path of the bad field, e.g. `keys[0].keyManager`.
 */
export function parseSnapshot(json: unknown): AccountSnapshot {
  const result = snapshotSchema.safeParse(json);
  if (!result.success) throw toSnapshotError(result.error.issues);
  const { $schema: _schema, ...snapshot } = result.data;
  const parsed: AccountSnapshot = snapshot;
  checkAccountRules(parsed);
  return parsed;
}

/**
 * The published JSON Schema of the snapshot file, generated from {@link snapshotSchema}. The rules
 * across fields (see {@link checkAccountRules}) are not in it: keymend checks them when it reads.
 */
export function snapshotJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(snapshotSchema, {
    io: 'input',
    target: 'draft-2020-12',
    override: ({ zodSchema, jsonSchema }) => {
      // The Statement is checked by a refinement (to report its absence on the document): say it here.
      if (zodSchema === policyDocument) {
        jsonSchema.properties = {
          Version: { type: 'string' },
          Statement: { anyOf: [{ type: 'array' }, { type: 'object' }] },
        };
        jsonSchema.required = ['Statement'];
      }
    },
  });
  return {
    $schema: schema.$schema,
    title: 'keymend account snapshot',
    description:
      'Account state written down as JSON for keymend diagnose/evaluate/scan --account (docs/snapshot.md). Generated from functions/adapters/snapshot-schema.ts by `npm run schema`.',
    ...Object.fromEntries(Object.entries(schema).filter(([name]) => name !== '$schema')),
  };
}

/** The first issue as a SnapshotError: an unknown field first (it usually explains what is missing). */
function toSnapshotError(issues: z.core.$ZodIssue[]): SnapshotError {
  const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0];
  if (issue === undefined) return new SnapshotError('$', 'invalid snapshot');
  let field = jsonPath(issue.path);
  let message = issue.message;
  if (issue.code === 'unrecognized_keys')
    field = childPath(field === '$' ? '' : field, String(issue.keys[0]));
  // A record's key: the key's own message, on the path of the entry.
  if (issue.code === 'invalid_key') message = issue.issues[0]?.message ?? message;
  return new SnapshotError(field, message);
}

/** `principals[0].inlinePolicies["bad name"]` from zod's `['principals', 0, 'inlinePolicies', 'bad name']`. */
function jsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out = typeof part === 'number' ? `${out}[${part}]` : childPath(out, String(part));
  return out === '' ? '$' : out;
}

// ---------------------------------------------------------------------------------------------
// The rules across fields

/**
 * The deepest a valid policy document nests is about six levels (document, Statement array, statement,
 * Condition, operator, values array). Past this limit a document is refused before anything walks it
 * recursively (structuredClone, deepFreeze, the evaluator), which would overflow the stack at a few
 * thousand levels.
 */
export const MAX_POLICY_DEPTH = 32;

/**
 * What the schema cannot say: nesting depth, each ARN's partition against the snapshot's Region,
 * names unique as IAM and KMS keep them, aliases against the key's manager, and values that depend on
 * another field. @throws SnapshotError on the first rule broken.
 */
function checkAccountRules(snapshot: AccountSnapshot): void {
  for (const [doc, path] of policyDocuments(snapshot)) checkDepth(doc, path);
  const partition = partitionOfRegion(snapshot.region) as Partition;
  const samePartition = (arnPartition: Partition | undefined, path: string) => {
    if (arnPartition !== undefined && arnPartition !== partition) {
      fail(
        path,
        `partition "${arnPartition}" does not match the snapshot's region ${snapshot.region} (partition "${partition}")`,
      );
    }
  };

  snapshot.principals.forEach((principal, i) => {
    const arn = parsePrincipalArn(principal.arn);
    samePartition(arn?.partition, `principals[${i}].arn`);
    for (const name of Object.keys(principal.inlinePolicies)) {
      if (arn?.kind === 'role' && name.startsWith('group/')) {
        fail(
          childPath(`principals[${i}].inlinePolicies`, name),
          'roles belong to no IAM group; group/GROUP/NAME policies are for users',
        );
      }
    }
    for (const policyArn of Object.keys(principal.managedPolicies)) {
      samePartition(
        parsePolicyArn(policyArn)?.partition,
        childPath(`principals[${i}].managedPolicies`, policyArn),
      );
    }
  });
  checkUniquePrincipals(snapshot.principals);

  for (const [i, key] of snapshot.keys.entries()) checkKey(key, `keys[${i}]`, samePartition);
  checkUniqueKeys(snapshot.keys);

  const streams = snapshot.streams ?? [];
  streams.forEach((stream, i) => {
    const arn = parseStreamArn(stream.arn);
    samePartition(arn?.partition, `streams[${i}].arn`);
    const key = stream.keyArn === null ? null : parseKeyArn(stream.keyArn);
    if (arn && key && key.region !== arn.region) {
      fail(
        `streams[${i}].keyArn`,
        `a stream uses a key in its own region (${arn.region}), got one in ${key.region}`,
      );
    }
  });
  checkUnique(
    streams.map((s) => s.arn),
    (i) => `streams[${i}].arn`,
    'stream',
  );

  const organization = snapshot.organization;
  if (organization) {
    checkMembership(organization, 'organization');
    for (const [account, membership] of Object.entries(organization.accounts ?? {})) {
      checkMembership(membership, childPath('organization.accounts', account));
    }
  }
}

function checkKey(
  key: KeyState,
  path: string,
  samePartition: (partition: Partition | undefined, path: string) => void,
): void {
  samePartition(parseKeyArn(key.arn)?.partition, `${path}.arn`);
  key.aliases?.forEach((alias, j) => {
    // The alias/aws/ prefix is reserved for AWS-managed keys, and AWS-managed keys only have such aliases.
    const reserved = alias.startsWith('alias/aws/');
    if (reserved && key.keyManager === 'CUSTOMER') {
      fail(
        `${path}.aliases[${j}]`,
        `"${alias}" is reserved for AWS-managed keys, but this key's keyManager is CUSTOMER`,
      );
    }
    if (!reserved && key.keyManager === 'AWS') {
      fail(`${path}.aliases[${j}]`, `an AWS-managed key's alias starts with alias/aws/, got "${alias}"`);
    }
  });
  if (key.aliases) checkUnique(key.aliases, (j) => `${path}.aliases[${j}]`, 'alias');
  if (key.multiRegionKeyType !== undefined && key.multiRegion !== true) {
    fail(
      `${path}.multiRegionKeyType`,
      'only a multi-Region key ("multiRegion": true) has a multiRegionKeyType',
    );
  }
  const grants = key.grants ?? [];
  grants.forEach((grant, j) => {
    const at = `${path}.grants[${j}]`;
    for (const field of ['granteePrincipal', 'retiringPrincipal'] as const) {
      const kind = grantPrincipalKind(grant[field]);
      if (kind !== null && kind !== 'service') samePartition(kind, `${at}.${field}`);
    }
    checkUnique(grant.operations, (k) => `${at}.operations[${k}]`, 'operation');
    if (grant.constraints?.encryptionContextSubset && grant.constraints.encryptionContextEquals) {
      fail(`${at}.constraints`, 'a grant has encryptionContextSubset or encryptionContextEquals, not both');
    }
  });
  checkUnique(
    grants.map((g) => g.grantId),
    (j) => `${path}.grants[${j}].grantId`,
    'grant id',
  );
}

/** A path starts with its organization id. */
function checkMembership(membership: { id?: string | null; path?: string }, at: string): void {
  if (membership.path === undefined) return;
  if (typeof membership.id !== 'string' || !membership.path.startsWith(`${membership.id}/`)) {
    fail(`${at}.path`, `a path starts with the organization id, so ${at}.id must be given and match`);
  }
}

/** Every policy document of the snapshot, with its JSON path. */
function* policyDocuments(snapshot: AccountSnapshot): Generator<[unknown, string]> {
  for (const [i, p] of snapshot.principals.entries()) {
    for (const [name, doc] of Object.entries(p.inlinePolicies)) {
      yield [doc, childPath(`principals[${i}].inlinePolicies`, name)];
    }
    for (const [arn, doc] of Object.entries(p.managedPolicies)) {
      yield [doc, childPath(`principals[${i}].managedPolicies`, arn)];
    }
    if (p.permissionsBoundary !== undefined)
      yield [p.permissionsBoundary, `principals[${i}].permissionsBoundary`];
  }
  for (const [i, key] of snapshot.keys.entries()) yield [key.policy, `keys[${i}].policy`];
  for (const field of ['serviceControlPolicies', 'resourceControlPolicies'] as const) {
    for (const [i, level] of (snapshot.organization?.[field] ?? []).entries()) {
      for (const [j, entry] of level.entries()) {
        const at = `organization.${field}[${i}][${j}]`;
        yield isOrganizationPolicy(entry) ? [entry.document, `${at}.document`] : [entry, at];
      }
    }
  }
}

function checkUniquePrincipals(principals: PrincipalState[]): void {
  checkUnique(
    principals.map((p) => p.arn),
    (i) => `principals[${i}].arn`,
    'principal',
  );
  // IAM role and user names are unique per account regardless of case (a role and a user may share one).
  const seen = new Map<string, number>();
  principals.forEach((p, i) => {
    const arn = parsePrincipalArn(p.arn);
    if (!arn) return;
    const identity = `${arn.accountId}:${arn.kind}:${arn.name.toLowerCase()}`;
    const first = seen.get(identity);
    if (first !== undefined) {
      fail(
        `principals[${i}].arn`,
        `IAM ${arn.kind} names are unique regardless of case and path, and principals[${first}] has the same name`,
      );
    }
    seen.set(identity, i);
  });
}

function checkUniqueKeys(keys: KeyState[]): void {
  checkUnique(
    keys.map((k) => k.arn),
    (i) => `keys[${i}].arn`,
    'key',
  );
  // An alias names one key per account and region.
  const seen = new Map<string, number>();
  keys.forEach((key, i) => {
    const arn = parseKeyArn(key.arn);
    key.aliases?.forEach((alias, j) => {
      const scoped = `${arn?.accountId}:${arn?.region}:${alias}`;
      const first = seen.get(scoped);
      if (first !== undefined && first !== i) {
        fail(
          `keys[${i}].aliases[${j}]`,
          `"${alias}" already names keys[${first}]; an alias points at one key`,
        );
      }
      seen.set(scoped, i);
    });
  });
}

function checkUnique(values: string[], pathOf: (i: number) => string, what: string): void {
  const seen = new Map<string, number>();
  values.forEach((value, i) => {
    const first = seen.get(value);
    if (first !== undefined) fail(pathOf(i), `duplicate ${what} "${value}" (also at ${pathOf(first)})`);
    seen.set(value, i);
  });
}

/** Fails with the path of the first value nested deeper than {@link MAX_POLICY_DEPTH}; walks iteratively. */
function checkDepth(doc: unknown, path: string): void {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: doc, path, depth: 1 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { value, depth } = item;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_POLICY_DEPTH) {
      fail(
        path,
        `nested deeper than ${MAX_POLICY_DEPTH} levels (at ${capPath(item.path)}); a policy document nests about six`,
      );
    }
    if (Array.isArray(value)) {
      for (const [i, child] of value.entries()) {
        stack.push({ value: child, path: `${item.path}[${i}]`, depth: depth + 1 });
      }
    } else {
      for (const [name, child] of Object.entries(value)) {
        stack.push({ value: child, path: childPath(item.path, name), depth: depth + 1 });
      }
    }
  }
}

/** A deep path cut to its start: the field is still named, and the message stays one readable line. */
function capPath(path: string): string {
  return path.length <= 160 ? path : `${path.slice(0, 160)}...`;
}

/** The allowed name a typo most likely meant: same letters in another case, or within two edits. */
function closest(field: string, allowed: readonly string[]): string | null {
  return nearest(field, allowed, 3);
}

/** `parent.name` for identifier-like names, else `parent["the name"]` (ARNs, names with dots). */
function childPath(parent: string, name: string): string {
  if (/^[A-Za-z_$][\w$]*$/.test(name)) return parent === '' ? name : `${parent}.${name}`;
  return `${parent === '' ? '$' : parent}[${JSON.stringify(name)}]`;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `"${value.length > 80 ? `${value.slice(0, 77)}...` : value}"`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function fail(field: string, message: string): never {
  throw new SnapshotError(field, message);
}
