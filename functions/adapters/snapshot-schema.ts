/**
 * The snapshot file's schema (docs/snapshot.md): a parsed snapshot validated field by field, with the
 * JSON path of the first bad field in the error. The reader (snapshot.ts) reads files and serves them.
 */
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
import type {
  AccountSnapshot,
  KeyState,
  KmsGrant,
  OrganizationState,
  PolicyDocumentJson,
  PrincipalState,
  StreamState,
} from '../core/account';

const TOP_LEVEL_FIELDS = ['accountId', 'region', 'principals', 'keys', 'streams', 'organization'] as const;
const PRINCIPAL_FIELDS = ['arn', 'inlinePolicies', 'managedPolicies', 'permissionsBoundary', 'tags'] as const;
const KEY_FIELDS = [
  'arn',
  'keyManager',
  'keyState',
  'aliases',
  'policy',
  'grants',
  'tags',
  'keySpec',
  'keyUsage',
  'origin',
  'multiRegion',
  'multiRegionKeyType',
] as const;
const GRANT_FIELDS = [
  'grantId',
  'name',
  'granteePrincipal',
  'retiringPrincipal',
  'operations',
  'constraints',
] as const;
const CONSTRAINT_FIELDS = ['encryptionContextSubset', 'encryptionContextEquals'] as const;
const STREAM_FIELDS = ['arn', 'keyArn'] as const;
const ORGANIZATION_POLICY_FIELDS = ['serviceControlPolicies', 'resourceControlPolicies'] as const;
const ORGANIZATION_FIELDS = [...ORGANIZATION_POLICY_FIELDS, 'id', 'path', 'accounts'] as const;
const MEMBERSHIP_FIELDS = ['id', 'path'] as const;

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
const ORGANIZATION_ID_RE = /^o-[a-z0-9]{10,32}$/;
// o-ID/r-ROOT/ then any OUs, each ending in a slash (aws:PrincipalOrgPaths).
const ORGANIZATION_PATH_RE = /^o-[a-z0-9]{10,32}\/r-[0-9a-z]{4,32}\/(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}\/)*$/;

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
const GRANT_OPERATIONS = new Set([
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
]);

// An inline policy of the principal itself, or `group/GROUP/POLICY` for one of a user's groups.
const POLICY_NAME_RE = /^(group\/[\w+=,.@-]{1,128}\/)?[\w+=,.@-]{1,128}$/;
const GRANT_NAME_RE = /^[a-zA-Z0-9:/_-]{1,256}$/;

type Json = Record<string, unknown>;

/**
 * Validates a parsed snapshot file and returns it typed. Unknown fields are rejected everywhere,
 * so a typo (`principal`, `keymanager`) fails loudly instead of silently meaning "absent".
 * Policy documents are only checked to be objects with a `Statement`: their grammar is checked
 * when the evaluator compiles them.
 *
 * @throws SnapshotError whose `field` is the JSON path of the bad field, e.g. `keys[0].keyManager`.
 */
export function parseSnapshot(json: unknown): AccountSnapshot {
  const root = expectObject(json, '$', 'a snapshot object with accountId, region, principals and keys');
  rejectUnknownFields(root, TOP_LEVEL_FIELDS, '');

  const accountId = root.accountId;
  if (typeof accountId === 'number') {
    fail(
      'accountId',
      'expected the 12-digit account id as a string in quotes (a number loses leading zeros)',
    );
  }
  if (typeof accountId !== 'string' || !/^\d{12}$/.test(accountId)) {
    fail('accountId', `expected a 12-digit account id such as "111122223333", got ${describe(accountId)}`);
  }
  const region = root.region;
  const partition = partitionOfRegion(region);
  if (typeof region !== 'string' || partition === null) {
    fail('region', `expected a region name such as "us-east-1", got ${describe(region)}`);
  }
  const ctx: Context = { partition, region };

  const principals = expectArray(
    root.principals,
    'principals',
    'an array of principals (use [] for none)',
  ).map((value, i) => parsePrincipal(value, `principals[${i}]`, ctx));
  checkUniquePrincipals(principals);

  const keys = expectArray(root.keys, 'keys', 'an array of keys (use [] for none)').map((value, i) =>
    parseKey(value, `keys[${i}]`, ctx),
  );
  checkUniqueKeys(keys);

  const snapshot: AccountSnapshot = { accountId, region, principals, keys };
  if (root.streams !== undefined) {
    const streams = expectArray(root.streams, 'streams', 'an array of streams').map((value, i) =>
      parseStream(value, `streams[${i}]`, ctx),
    );
    checkUnique(
      streams.map((s) => s.arn),
      (i) => `streams[${i}].arn`,
      'stream',
    );
    snapshot.streams = streams;
  }
  if (root.organization !== undefined) snapshot.organization = parseOrganization(root.organization);
  return snapshot;
}

// ---------------------------------------------------------------------------------------------
// Validation

interface Context {
  partition: Partition;
  region: string;
}

function parsePrincipal(value: unknown, path: string, ctx: Context): PrincipalState {
  const obj = expectObject(value, path, 'a principal object with arn, inlinePolicies and managedPolicies');
  rejectUnknownFields(obj, PRINCIPAL_FIELDS, path);
  const arnPath = `${path}.arn`;
  const arn = expectString(obj.arn, arnPath, 'a role or user ARN');
  const parsed = parsePrincipalArn(arn);
  if (!parsed) fail(arnPath, principalArnHint(arn));
  checkPartition(parsed.partition, arnPath, ctx);

  const inlinePolicies: Record<string, PolicyDocumentJson> = {};
  const inlinePath = `${path}.inlinePolicies`;
  const inline = expectObject(
    obj.inlinePolicies,
    inlinePath,
    'an object of policy name to document (use {} for none)',
  );
  for (const [name, doc] of Object.entries(inline)) {
    const docPath = childPath(inlinePath, name);
    if (parsed.kind === 'role' && name.startsWith('group/')) {
      fail(docPath, 'roles belong to no IAM group; group/GROUP/NAME policies are for users');
    }
    if (!POLICY_NAME_RE.test(name)) {
      fail(
        docPath,
        'an inline policy name is 1-128 characters of letters, digits and +=,.@_- (group/GROUP/NAME for a group policy)',
      );
    }
    inlinePolicies[name] = expectPolicyDocument(doc, docPath);
  }

  const managedPolicies: Record<string, PolicyDocumentJson> = {};
  const managedPath = `${path}.managedPolicies`;
  const managed = expectObject(
    obj.managedPolicies,
    managedPath,
    'an object of managed policy ARN to its default version document (use {} for none)',
  );
  for (const [policyArn, doc] of Object.entries(managed)) {
    const docPath = childPath(managedPath, policyArn);
    const parsedPolicy = parsePolicyArn(policyArn);
    if (!parsedPolicy) {
      fail(docPath, 'expected a managed policy ARN such as arn:aws:iam::111122223333:policy/NAME as the key');
    }
    checkPartition(parsedPolicy.partition, docPath, ctx);
    managedPolicies[policyArn] = expectPolicyDocument(doc, docPath);
  }

  const principal: PrincipalState = { arn, inlinePolicies, managedPolicies };
  if (obj.permissionsBoundary !== undefined) {
    principal.permissionsBoundary = expectPolicyDocument(
      obj.permissionsBoundary,
      `${path}.permissionsBoundary`,
    );
  }
  if (obj.tags !== undefined) principal.tags = expectStringMap(obj.tags, `${path}.tags`, 'tag');
  return principal;
}

function principalArnHint(arn: string): string {
  if (parseAssumedRoleArn(arn) !== null) {
    return `"${arn}" is a role session ARN; use the role's ARN with its path, e.g. arn:aws:iam::111122223333:role/service-role/NAME`;
  }
  if (parseRootArn(arn) !== null) {
    return `"${arn}" is an account root; expected a role or user ARN`;
  }
  return `expected a role or user ARN such as arn:aws:iam::111122223333:role/PATH/NAME or arn:aws:iam::111122223333:user/NAME, got "${arn}"`;
}

function parseKey(value: unknown, path: string, ctx: Context): KeyState {
  const obj = expectObject(value, path, 'a key object with arn, keyManager, keyState and policy');
  rejectUnknownFields(obj, KEY_FIELDS, path);
  const arnPath = `${path}.arn`;
  const arn = expectString(obj.arn, arnPath, 'a key ARN');
  const parsed = parseKeyArn(arn);
  if (!parsed) fail(arnPath, keyArnHint(arn));
  checkPartition(parsed.partition, arnPath, ctx);

  const keyManager = obj.keyManager;
  if (keyManager !== 'AWS' && keyManager !== 'CUSTOMER') {
    fail(`${path}.keyManager`, `expected "AWS" or "CUSTOMER", got ${describe(keyManager)}`);
  }
  const keyState = obj.keyState;
  if (typeof keyState !== 'string' || !(KEY_STATES as readonly string[]).includes(keyState)) {
    fail(`${path}.keyState`, `expected one of ${KEY_STATES.join(', ')}, got ${describe(keyState)}`);
  }
  const policy = expectPolicyDocument(obj.policy, `${path}.policy`);
  const key: KeyState = { arn, keyManager, keyState, policy };

  if (obj.aliases !== undefined) {
    const aliasesPath = `${path}.aliases`;
    key.aliases = expectArray(obj.aliases, aliasesPath, 'an array of alias names').map((alias, i) => {
      const aliasPath = `${aliasesPath}[${i}]`;
      if (typeof alias !== 'string' || !isAliasName(alias)) {
        fail(aliasPath, `expected an alias name such as "alias/orders", got ${describe(alias)}`);
      }
      // The alias/aws/ prefix is reserved for AWS-managed keys, and AWS-managed keys only have such aliases.
      const reserved = alias.startsWith('alias/aws/');
      if (reserved && keyManager === 'CUSTOMER') {
        fail(aliasPath, `"${alias}" is reserved for AWS-managed keys, but this key's keyManager is CUSTOMER`);
      }
      if (!reserved && keyManager === 'AWS') {
        fail(aliasPath, `an AWS-managed key's alias starts with alias/aws/, got "${alias}"`);
      }
      return alias;
    });
    checkUnique(key.aliases, (i) => `${aliasesPath}[${i}]`, 'alias');
  }

  parseKeyAttributes(obj, path, key);

  if (obj.grants !== undefined) {
    const grantsPath = `${path}.grants`;
    const grants = expectArray(obj.grants, grantsPath, 'an array of grants').map((grant, i) =>
      parseGrant(grant, `${grantsPath}[${i}]`, ctx),
    );
    checkUnique(
      grants.map((g) => g.grantId),
      (i) => `${grantsPath}[${i}].grantId`,
      'grant id',
    );
    key.grants = grants;
  }
  return key;
}

/** The key's tags and DescribeKey attributes, each optional: absent means "not known". */
function parseKeyAttributes(obj: Json, path: string, key: KeyState): void {
  if (obj.tags !== undefined) key.tags = expectStringMap(obj.tags, `${path}.tags`, 'tag');
  const oneOf = <T extends string>(field: string, allowed: readonly T[]): T | undefined => {
    const value = obj[field];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      fail(`${path}.${field}`, `expected one of ${allowed.join(', ')}, got ${describe(value)}`);
    }
    return value as T;
  };
  const keySpec = oneOf('keySpec', KEY_SPECS);
  if (keySpec !== undefined) key.keySpec = keySpec;
  const keyUsage = oneOf('keyUsage', KEY_USAGES);
  if (keyUsage !== undefined) key.keyUsage = keyUsage;
  const origin = oneOf('origin', KEY_ORIGINS);
  if (origin !== undefined) key.origin = origin;
  if (obj.multiRegion !== undefined) {
    if (typeof obj.multiRegion !== 'boolean') {
      fail(`${path}.multiRegion`, `expected true or false, got ${describe(obj.multiRegion)}`);
    }
    key.multiRegion = obj.multiRegion;
  }
  const type = oneOf('multiRegionKeyType', ['PRIMARY', 'REPLICA'] as const);
  if (type !== undefined) {
    if (key.multiRegion !== true) {
      fail(
        `${path}.multiRegionKeyType`,
        'only a multi-Region key ("multiRegion": true) has a multiRegionKeyType',
      );
    }
    key.multiRegionKeyType = type;
  }
}

function keyArnHint(arn: string): string {
  if (parseAliasArn(arn)) {
    return `"${arn}" is an alias ARN; use the key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY_ID) and list the alias under aliases`;
  }
  return `expected a key ARN such as arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab, got "${arn}"`;
}

function parseGrant(value: unknown, path: string, ctx: Context): KmsGrant {
  const obj = expectObject(value, path, 'a grant object with grantId, granteePrincipal and operations');
  rejectUnknownFields(obj, GRANT_FIELDS, path);
  const grantId = expectString(obj.grantId, `${path}.grantId`, 'the grant id');
  if (grantId === '' || /\s/.test(grantId))
    fail(`${path}.grantId`, 'expected a non-empty grant id without spaces');
  const granteePrincipal = expectGrantPrincipal(obj.granteePrincipal, `${path}.granteePrincipal`, ctx);

  const opsPath = `${path}.operations`;
  const operations = expectArray(
    obj.operations,
    opsPath,
    'a non-empty array of KMS operations such as ["Decrypt"]',
  );
  if (operations.length === 0) fail(opsPath, 'expected at least one operation, such as ["Decrypt"]');
  operations.forEach((op, i) => {
    if (typeof op === 'string' && op.startsWith('kms:') && GRANT_OPERATIONS.has(op.slice(4))) {
      fail(`${opsPath}[${i}]`, `grant operations have no prefix: write "${op.slice(4)}", not "${op}"`);
    }
    if (typeof op !== 'string' || !GRANT_OPERATIONS.has(op)) {
      fail(
        `${opsPath}[${i}]`,
        `expected a grant operation such as "Decrypt" or "GenerateDataKey", got ${describe(op)}`,
      );
    }
  });
  checkUnique(operations as string[], (i) => `${opsPath}[${i}]`, 'operation');

  const grant: KmsGrant = { grantId, granteePrincipal, operations: operations as string[] };
  if (obj.name !== undefined) {
    const name = expectString(obj.name, `${path}.name`, 'the grant name');
    if (!GRANT_NAME_RE.test(name))
      fail(`${path}.name`, 'a grant name is 1-256 characters of letters, digits and :/_-');
    grant.name = name;
  }
  if (obj.retiringPrincipal !== undefined) {
    grant.retiringPrincipal = expectGrantPrincipal(obj.retiringPrincipal, `${path}.retiringPrincipal`, ctx);
  }
  if (obj.constraints !== undefined) {
    const cPath = `${path}.constraints`;
    const c = expectObject(
      obj.constraints,
      cPath,
      'an object with encryptionContextSubset or encryptionContextEquals',
    );
    rejectUnknownFields(c, CONSTRAINT_FIELDS, cPath);
    if (c.encryptionContextSubset !== undefined && c.encryptionContextEquals !== undefined) {
      fail(cPath, 'a grant has encryptionContextSubset or encryptionContextEquals, not both');
    }
    const constraints: NonNullable<KmsGrant['constraints']> = {};
    if (c.encryptionContextSubset !== undefined) {
      constraints.encryptionContextSubset = expectStringMap(
        c.encryptionContextSubset,
        `${cPath}.encryptionContextSubset`,
        'encryption context',
      );
    }
    if (c.encryptionContextEquals !== undefined) {
      constraints.encryptionContextEquals = expectStringMap(
        c.encryptionContextEquals,
        `${cPath}.encryptionContextEquals`,
        'encryption context',
      );
    }
    grant.constraints = constraints;
  }
  return grant;
}

function expectGrantPrincipal(value: unknown, path: string, ctx: Context): string {
  const principal = expectString(value, path, 'a principal ARN');
  const kind = grantPrincipalKind(principal);
  if (kind === null) {
    fail(path, `expected an account root, role, user, session ARN or service principal, got "${principal}"`);
  }
  if (kind !== 'service') checkPartition(kind, path, ctx);
  return principal;
}

function parseStream(value: unknown, path: string, ctx: Context): StreamState {
  const obj = expectObject(value, path, 'a stream object with arn and keyArn');
  rejectUnknownFields(obj, STREAM_FIELDS, path);
  const arnPath = `${path}.arn`;
  const arn = expectString(obj.arn, arnPath, 'a stream ARN');
  const parsed = parseStreamArn(arn);
  if (!parsed) {
    fail(
      arnPath,
      `expected a stream ARN such as arn:aws:kinesis:us-east-1:111122223333:stream/NAME, got "${arn}"`,
    );
  }
  checkPartition(parsed.partition, arnPath, ctx);

  const keyPath = `${path}.keyArn`;
  if (!('keyArn' in obj))
    fail(keyPath, 'missing: give the key ARN the stream encrypts with, or null if unencrypted');
  if (obj.keyArn === null) return { arn, keyArn: null };
  const keyArn = expectString(obj.keyArn, keyPath, 'a key ARN or null');
  const key = parseKeyArn(keyArn);
  if (!key) fail(keyPath, keyArnHint(keyArn));
  if (key.region !== parsed.region) {
    fail(keyPath, `a stream uses a key in its own region (${parsed.region}), got one in ${key.region}`);
  }
  return { arn, keyArn };
}

function parseOrganization(value: unknown): OrganizationState {
  const obj = expectObject(
    value,
    'organization',
    'an object with serviceControlPolicies and resourceControlPolicies',
  );
  rejectUnknownFields(obj, ORGANIZATION_FIELDS, 'organization');
  const organization: OrganizationState = {};
  const own = parseMembership(obj, 'organization');
  if (own.id !== undefined) organization.id = own.id;
  if (own.path !== undefined) organization.path = own.path;
  if (obj.accounts !== undefined) {
    const accounts = expectObject(
      obj.accounts,
      'organization.accounts',
      'an object of account id to {"id": ..., "path": ...}',
    );
    organization.accounts = {};
    for (const [account, value] of Object.entries(accounts)) {
      const path = childPath('organization.accounts', account);
      if (!/^\d{12}$/.test(account)) fail(path, 'expected a 12-digit account id as the key');
      const entry = expectObject(value, path, "an object with the account's organization id and path");
      rejectUnknownFields(entry, MEMBERSHIP_FIELDS, path);
      const membership = parseMembership(entry, path);
      if (membership.id === undefined)
        fail(`${path}.id`, 'missing: give the organization id, or null for none');
      organization.accounts[account] =
        membership.path === undefined ? { id: membership.id } : { id: membership.id, path: membership.path };
    }
  }
  for (const field of ORGANIZATION_POLICY_FIELDS) {
    if (obj[field] === undefined) continue;
    const path = `organization.${field}`;
    organization[field] = expectArray(
      obj[field],
      path,
      'one array of policy documents per level, root first',
    ).map((level, i) =>
      expectArray(level, `${path}[${i}]`, 'an array of the policy documents attached at this level').map(
        (doc, j) => expectPolicyDocument(doc, `${path}[${i}][${j}]`),
      ),
    );
  }
  return organization;
}

/** An organization id and path (`id`, `path`) of the object at `at`, each optional, checked. */
function parseMembership(obj: Json, at: string): { id?: string | null; path?: string } {
  const out: { id?: string | null; path?: string } = {};
  if (obj.id !== undefined) {
    if (obj.id !== null && (typeof obj.id !== 'string' || !ORGANIZATION_ID_RE.test(obj.id))) {
      fail(
        `${at}.id`,
        `expected an organization id such as "o-a1b2c3d4e5", or null for an account in no organization, got ${describe(obj.id)}`,
      );
    }
    out.id = obj.id;
  }
  if (obj.path !== undefined) {
    if (typeof obj.path !== 'string' || !ORGANIZATION_PATH_RE.test(obj.path)) {
      fail(
        `${at}.path`,
        `expected the account's organization path such as "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/", got ${describe(obj.path)}`,
      );
    }
    if (typeof out.id !== 'string' || !obj.path.startsWith(`${out.id}/`)) {
      fail(`${at}.path`, `a path starts with the organization id, so ${at}.id must be given and match`);
    }
    out.path = obj.path;
  }
  return out;
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

function checkPartition(partition: Partition, path: string, ctx: Context): void {
  const expected = ctx.partition;
  if (partition !== expected) {
    fail(
      path,
      `partition "${partition}" does not match the snapshot's region ${ctx.region} (partition "${expected}")`,
    );
  }
}

function expectPolicyDocument(value: unknown, path: string): PolicyDocumentJson {
  if (typeof value === 'string') {
    fail(
      path,
      'expected a policy document object, got a string; put the document itself here, not its JSON text',
    );
  }
  const doc = expectObject(value, path, 'a policy document object with Version and Statement');
  checkDepth(doc, path);
  if (!('Statement' in doc)) {
    const fields = Object.keys(doc);
    const seen = fields.length > 0 ? `an object with ${fields.join(', ')}` : 'an empty object';
    fail(path, `expected a policy document with a Statement, got ${seen}`);
  }
  const statement = doc.Statement;
  if (typeof statement !== 'object' || statement === null) {
    fail(
      `${path}.Statement`,
      `expected an array of statements or one statement object, got ${describe(statement)}`,
    );
  }
  return doc;
}

/**
 * The deepest a valid policy document nests is about six levels (document, Statement array, statement,
 * Condition, operator, values array). Past this limit a document is refused before anything walks it
 * recursively (structuredClone, deepFreeze, the evaluator), which would overflow the stack at a few
 * thousand levels.
 */
export const MAX_POLICY_DEPTH = 32;

/** Fails with the path of the first value nested deeper than {@link MAX_POLICY_DEPTH}; walks iteratively. */
function checkDepth(doc: Json, path: string): void {
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

function expectStringMap(value: unknown, path: string, what: string): Record<string, string> {
  const obj = expectObject(value, path, `an object of ${what} keys to string values`);
  const map: Record<string, string> = {};
  for (const [key, entry] of Object.entries(obj)) {
    if (typeof entry !== 'string')
      fail(childPath(path, key), `expected a string value, got ${describe(entry)}`);
    map[key] = entry;
  }
  return map;
}

function expectObject(value: unknown, path: string, expected: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(
      path,
      value === undefined ? `missing: expected ${expected}` : `expected ${expected}, got ${describe(value)}`,
    );
  }
  return value as Json;
}

function expectArray(value: unknown, path: string, expected: string): unknown[] {
  if (!Array.isArray(value)) {
    fail(
      path,
      value === undefined ? `missing: expected ${expected}` : `expected ${expected}, got ${describe(value)}`,
    );
  }
  return value;
}

function expectString(value: unknown, path: string, expected: string): string {
  if (typeof value !== 'string') {
    fail(
      path,
      value === undefined ? `missing: expected ${expected}` : `expected ${expected}, got ${describe(value)}`,
    );
  }
  return value;
}

function rejectUnknownFields(obj: Json, allowed: readonly string[], path: string): void {
  for (const field of Object.keys(obj)) {
    if (allowed.includes(field)) continue;
    const suggestion = closest(field, allowed);
    const hint = suggestion ? `; did you mean "${suggestion}"?` : '';
    fail(childPath(path, field), `unknown field (expected one of ${allowed.join(', ')})${hint}`);
  }
}

/** The allowed name a typo most likely meant: same letters in another case, or within two edits. */
function closest(field: string, allowed: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const distance = candidate.toLowerCase() === field.toLowerCase() ? 0 : editDistance(field, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
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
