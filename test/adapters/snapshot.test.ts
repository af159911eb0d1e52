import { readdirSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadSnapshotFile,
  parseSnapshot,
  parseSnapshotText,
  SnapshotReader,
} from '../../functions/adapters/snapshot';
import { InputError, SnapshotError } from '../../functions/commons/errors';
import type { AccountSnapshot } from '../../functions/core/account';
import { CLICKS_KEY, CONSUMER, KINESIS_KEY, ORDERS, ORDERS_KEY } from '../helpers/arns';

const ACCOUNTS = join(__dirname, '../../events/accounts');

const doc = (sid = 'S') => ({
  Version: '2012-10-17',
  Statement: [{ Sid: sid, Effect: 'Allow', Action: 'kinesis:GetRecords', Resource: ORDERS }],
});

/** A small valid snapshot in the exact format, every optional field present. */
// biome-ignore lint/suspicious/noExplicitAny: the table below breaks this snapshot field by field, on purpose.
function minimal(): { [field: string]: any } {
  return {
    accountId: '111122223333',
    region: 'us-east-1',
    principals: [
      {
        arn: CONSUMER,
        inlinePolicies: { read: doc() },
        managedPolicies: { 'arn:aws:iam::111122223333:policy/readers': doc() },
        permissionsBoundary: doc(),
        tags: { team: 'orders' },
      },
    ],
    keys: [
      {
        arn: ORDERS_KEY,
        keyManager: 'CUSTOMER',
        keyState: 'Enabled',
        aliases: ['alias/orders'],
        policy: doc(),
        grants: [
          {
            grantId: 'g-1',
            granteePrincipal: CONSUMER,
            operations: ['Decrypt'],
            constraints: { encryptionContextSubset: { 'aws:kinesis:arn': ORDERS } },
          },
        ],
      },
    ],
    streams: [{ arn: ORDERS, keyArn: ORDERS_KEY }],
    organization: { serviceControlPolicies: [[doc()]], resourceControlPolicies: [[]] },
  };
}

type Snap = ReturnType<typeof minimal>;

describe('parseSnapshot', () => {
  it('accepts the issue format and returns the same data', () => {
    expect(parseSnapshot(minimal())).toEqual(minimal());
  });

  it('accepts a snapshot without any optional field', () => {
    const s = minimal();
    delete s.streams;
    delete s.organization;
    delete s.principals[0].permissionsBoundary;
    delete s.principals[0].tags;
    delete s.keys[0].aliases;
    delete s.keys[0].grants;
    const parsed = parseSnapshot(s);
    expect(parsed).not.toHaveProperty('streams');
    expect(parsed).not.toHaveProperty('organization');
    expect(parsed.keys[0]).not.toHaveProperty('grants');
  });

  it.each<[string, (s: Snap) => void]>([
    ['aws-cn', (s) => toPartition(s, 'aws-cn', 'cn-north-1')],
    ['aws-us-gov', (s) => toPartition(s, 'aws-us-gov', 'us-gov-west-1')],
  ])('accepts ARNs of the %s partition with a matching region', (_name, change) => {
    const s = minimal();
    change(s);
    expect(parseSnapshot(s).region).toBe(s.region);
  });

  it('keeps principals and keys of other accounts (cross-account snapshots)', () => {
    const s = minimal();
    s.principals.push({
      arn: 'arn:aws:iam::444455556666:role/analytics-reader',
      inlinePolicies: {},
      managedPolicies: {},
    });
    expect(parseSnapshot(s).principals.map((p) => p.arn)).toContain(
      'arn:aws:iam::444455556666:role/analytics-reader',
    );
  });

  it("accepts a user's group policies named group/GROUP/POLICY", () => {
    const s = minimal();
    s.principals.push({
      arn: 'arn:aws:iam::111122223333:user/alice',
      inlinePolicies: { own: doc(), 'group/analysts/read': doc() },
      managedPolicies: {},
    });
    expect(Object.keys(parseSnapshot(s).principals[1]?.inlinePolicies ?? {})).toEqual([
      'own',
      'group/analysts/read',
    ]);
  });

  it('accepts a stream without encryption (keyArn null), AWS-managed policy ARNs, multi-Region key ids', () => {
    const s = minimal();
    s.streams.push({ arn: 'arn:aws:kinesis:us-east-1:111122223333:stream/plain', keyArn: null });
    s.principals[0].managedPolicies['arn:aws:iam::aws:policy/service-role/AWSLambdaKinesisExecutionRole'] =
      doc();
    s.keys.push({
      arn: 'arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab',
      keyManager: 'CUSTOMER',
      keyState: 'Enabled',
      policy: doc(),
    });
    expect(() => parseSnapshot(s)).not.toThrow();
  });

  it("accepts the account's alias, a stream's retention, and SCPs named by id, name and target", async () => {
    const s = minimal();
    setIn(s, ['accountAlias'], 'acme-orders-prod');
    setIn(s, ['streams', 0, 'retentionPeriodHours'], 168);
    setIn(s, ['organization'], {
      serviceControlPolicies: [
        [{ id: 'p-kmsguard01', name: 'kms guard', target: 'r-ab12', document: doc() }, doc()],
      ],
    });
    const parsed = parseSnapshot(s);
    expect(parsed.accountAlias).toBe('acme-orders-prod');
    expect(parsed.streams?.[0]?.retentionPeriodHours).toBe(168);
    expect(parsed.organization?.serviceControlPolicies?.[0]?.[0]).toEqual({
      id: 'p-kmsguard01',
      name: 'kms guard',
      target: 'r-ab12',
      document: doc(),
    });
    const reader = new SnapshotReader(parsed);
    await expect(reader.getAccountAlias()).resolves.toBe('acme-orders-prod');
  });

  // Each case breaks one field; the error must name that field's JSON path and say what was expected.
  it.each<[string, (s: Snap) => unknown, string, RegExp]>([
    ['not an object', () => [], '$', /expected a snapshot object/],
    [
      'typo at top level',
      (s) => rename(s, 'principals', 'principal'),
      'principal',
      /did you mean "principals"/,
    ],
    ['unknown top-level field', (s) => Object.assign(s, { owner: 'me' }), 'owner', /unknown field/],
    ['accountId as number', (s) => Object.assign(s, { accountId: 111122223333 }), 'accountId', /as a string/],
    ['accountId short', (s) => Object.assign(s, { accountId: '1111' }), 'accountId', /12-digit/],
    ['region missing', (s) => delete s.region, 'region', /region name/],
    ['principals missing', (s) => delete s.principals, 'principals', /missing: expected an array/],
    [
      'keys not array',
      (s) => Object.assign(s, { keys: {} }),
      'keys',
      /expected an array of keys \(use \[\] for none\), got an object/,
    ],
    [
      'session ARN as principal',
      (s) =>
        setIn(s, ['principals', 0, 'arn'], 'arn:aws:sts::111122223333:assumed-role/orders-consumer/i-0abc'),
      'principals[0].arn',
      /role session ARN/,
    ],
    [
      'root as principal',
      (s) => setIn(s, ['principals', 0, 'arn'], 'arn:aws:iam::111122223333:root'),
      'principals[0].arn',
      /account root/,
    ],
    [
      'garbage principal',
      (s) => setIn(s, ['principals', 0, 'arn'], 'orders-consumer'),
      'principals[0].arn',
      /role or user ARN/,
    ],
    [
      'role name over 64',
      (s) => setIn(s, ['principals', 0, 'arn'], `arn:aws:iam::111122223333:role/${'r'.repeat(65)}`),
      'principals[0].arn',
      /role or user ARN/,
    ],
    [
      'wrong partition',
      (s) => setIn(s, ['principals', 0, 'arn'], 'arn:aws-cn:iam::111122223333:role/x'),
      'principals[0].arn',
      /partition "aws-cn" does not match/,
    ],
    [
      'inlinePolicies missing',
      (s) => delete s.principals[0].inlinePolicies,
      'principals[0].inlinePolicies',
      /use \{\} for none/,
    ],
    [
      'principal field typo',
      (s) => rename(s.principals[0], 'tags', 'Tags'),
      'principals[0].Tags',
      /did you mean "tags"/,
    ],
    [
      'inline policy name invalid',
      (s) => setIn(s, ['principals', 0, 'inlinePolicies'], { 'bad name': doc() }),
      'principals[0].inlinePolicies["bad name"]',
      /inline policy name/,
    ],
    [
      'group policy on a role',
      (s) => setIn(s, ['principals', 0, 'inlinePolicies'], { 'group/analysts/read': doc() }),
      'principals[0].inlinePolicies["group/analysts/read"]',
      /roles belong to no IAM group/,
    ],
    [
      'inline policy a string',
      (s) => setIn(s, ['principals', 0, 'inlinePolicies', 'read'], JSON.stringify(doc())),
      'principals[0].inlinePolicies.read',
      /got a string; put the document itself here/,
    ],
    [
      'inline policy without Statement',
      (s) =>
        setIn(s, ['principals', 0, 'inlinePolicies', 'read'], { PolicyName: 'read', PolicyDocument: {} }),
      'principals[0].inlinePolicies.read',
      /with a Statement, got an object with PolicyName, PolicyDocument/,
    ],
    [
      'Statement a string',
      (s) => setIn(s, ['principals', 0, 'inlinePolicies', 'read'], { Version: '2012-10-17', Statement: 'x' }),
      'principals[0].inlinePolicies.read.Statement',
      /array of statements/,
    ],
    [
      'managed policy key not an ARN',
      (s) => setIn(s, ['principals', 0, 'managedPolicies'], { readers: doc() }),
      'principals[0].managedPolicies.readers',
      /managed policy ARN/,
    ],
    [
      'boundary an array',
      (s) => setIn(s, ['principals', 0, 'permissionsBoundary'], []),
      'principals[0].permissionsBoundary',
      /got an array/,
    ],
    [
      'tag value not a string',
      (s) => setIn(s, ['principals', 0, 'tags', 'team'], 3),
      'principals[0].tags.team',
      /string value/,
    ],
    [
      'duplicate principal',
      (s) => s.principals.push(structuredClone(s.principals[0])),
      'principals[1].arn',
      /duplicate principal .* principals\[0\]\.arn/,
    ],
    [
      'role names differ only by case',
      (s) =>
        s.principals.push({
          arn: 'arn:aws:iam::111122223333:role/Orders-Consumer',
          inlinePolicies: {},
          managedPolicies: {},
        }),
      'principals[1].arn',
      /unique regardless of case/,
    ],
    [
      'key ARN is an alias ARN',
      (s) => setIn(s, ['keys', 0, 'arn'], 'arn:aws:kms:us-east-1:111122223333:alias/orders'),
      'keys[0].arn',
      /alias ARN; use the key ARN/,
    ],
    [
      'key ARN malformed',
      (s) => setIn(s, ['keys', 0, 'arn'], 'arn:aws:kms:us-east-1:111122223333:key/nope'),
      'keys[0].arn',
      /expected a key ARN/,
    ],
    [
      'keyManager lowercase',
      (s) => setIn(s, ['keys', 0, 'keyManager'], 'customer'),
      'keys[0].keyManager',
      /"AWS" or "CUSTOMER", got "customer"/,
    ],
    [
      'keyState unknown',
      (s) => setIn(s, ['keys', 0, 'keyState'], 'On'),
      'keys[0].keyState',
      /one of Creating, Enabled/,
    ],
    ['policy missing', (s) => delete s.keys[0].policy, 'keys[0].policy', /missing/],
    [
      'alias without prefix',
      (s) => setIn(s, ['keys', 0, 'aliases'], ['orders']),
      'keys[0].aliases[0]',
      /alias name such as/,
    ],
    [
      'reserved alias on customer key',
      (s) => setIn(s, ['keys', 0, 'aliases'], ['alias/aws/kinesis']),
      'keys[0].aliases[0]',
      /reserved for AWS-managed keys/,
    ],
    [
      'AWS key with customer alias',
      (s) => setIn(s, ['keys', 0, 'keyManager'], 'AWS'),
      'keys[0].aliases[0]',
      /starts with alias\/aws\//,
    ],
    ['duplicate key', (s) => s.keys.push(structuredClone(s.keys[0])), 'keys[1].arn', /duplicate key/],
    [
      'alias on two keys',
      (s) => s.keys.push({ ...structuredClone(s.keys[0]), arn: CLICKS_KEY, grants: [] }),
      'keys[1].aliases[0]',
      /already names keys\[0\]/,
    ],
    [
      'grant operation prefixed',
      (s) => setIn(s, ['keys', 0, 'grants', 0, 'operations'], ['kms:Decrypt']),
      'keys[0].grants[0].operations[0]',
      /write "Decrypt", not "kms:Decrypt"/,
    ],
    [
      'grant operation unknown',
      (s) => setIn(s, ['keys', 0, 'grants', 0, 'operations'], ['Read']),
      'keys[0].grants[0].operations[0]',
      /grant operation/,
    ],
    [
      'grant without operations',
      (s) => setIn(s, ['keys', 0, 'grants', 0, 'operations'], []),
      'keys[0].grants[0].operations',
      /at least one/,
    ],
    [
      'grant grantee placeholder',
      (s) => setIn(s, ['keys', 0, 'grants', 0, 'granteePrincipal'], 'ARN'),
      'keys[0].grants[0].granteePrincipal',
      /service principal, got "ARN"/,
    ],
    [
      'grant retiring principal bad',
      (s) => setIn(s, ['keys', 0, 'grants', 0, 'retiringPrincipal'], 'me'),
      'keys[0].grants[0].retiringPrincipal',
      /expected an account root/,
    ],
    [
      'grant name invalid',
      (s) => setIn(s, ['keys', 0, 'grants', 0, 'name'], 'has space'),
      'keys[0].grants[0].name',
      /grant name/,
    ],
    ['grant id missing', (s) => delete s.keys[0].grants[0].grantId, 'keys[0].grants[0].grantId', /missing/],
    [
      'grant both constraints',
      (s) => setIn(s, ['keys', 0, 'grants', 0, 'constraints', 'encryptionContextEquals'], {}),
      'keys[0].grants[0].constraints',
      /not both/,
    ],
    [
      'grant constraint typo',
      (s) => setIn(s, ['keys', 0, 'grants', 0, 'constraints'], { encryptionContextSubSet: {} }),
      'keys[0].grants[0].constraints.encryptionContextSubSet',
      /did you mean "encryptionContextSubset"/,
    ],
    [
      'grant context value not string',
      (s) =>
        setIn(s, ['keys', 0, 'grants', 0, 'constraints', 'encryptionContextSubset', 'aws:kinesis:arn'], 1),
      'keys[0].grants[0].constraints.encryptionContextSubset["aws:kinesis:arn"]',
      /string value/,
    ],
    [
      'duplicate grant id',
      (s) => s.keys[0].grants.push(structuredClone(s.keys[0].grants[0])),
      'keys[0].grants[1].grantId',
      /duplicate grant id/,
    ],
    [
      'stream ARN without stream/',
      (s) => setIn(s, ['streams', 0, 'arn'], 'arn:aws:kinesis:us-east-1:111122223333:orders'),
      'streams[0].arn',
      /stream ARN/,
    ],
    [
      'stream keyArn missing',
      (s) => delete s.streams[0].keyArn,
      'streams[0].keyArn',
      /or null if unencrypted/,
    ],
    [
      'stream keyArn an alias',
      (s) => setIn(s, ['streams', 0, 'keyArn'], 'alias/orders'),
      'streams[0].keyArn',
      /expected a key ARN/,
    ],
    [
      'stream key in another region',
      (s) => setIn(s, ['streams', 0, 'keyArn'], ORDERS_KEY.replace('us-east-1', 'us-west-2')),
      'streams[0].keyArn',
      /its own region/,
    ],
    [
      'duplicate stream',
      (s) => s.streams.push(structuredClone(s.streams[0])),
      'streams[1].arn',
      /duplicate stream/,
    ],
    [
      'organization level not an array',
      (s) => setIn(s, ['organization', 'serviceControlPolicies'], [doc()]),
      'organization.serviceControlPolicies[0]',
      /array of the policy documents/,
    ],
    [
      'organization policy a string',
      (s) => setIn(s, ['organization', 'resourceControlPolicies'], [['p-FullAWSAccess']]),
      'organization.resourceControlPolicies[0][0]',
      /got a string/,
    ],
    [
      'account alias with capitals',
      (s) => setIn(s, ['accountAlias'], 'Acme_Prod'),
      'accountAlias',
      /expected an account alias/,
    ],
    [
      'retention under a day',
      (s) => setIn(s, ['streams', 0, 'retentionPeriodHours'], 12),
      'streams[0].retentionPeriodHours',
      /whole hours, 24 to 8760/,
    ],
    [
      'organization policy id malformed',
      (s) => setIn(s, ['organization', 'serviceControlPolicies'], [[{ id: 'scp-1', document: doc() }]]),
      'organization.serviceControlPolicies[0][0]',
      /id: expected a policy id/,
    ],
    [
      'organization policy target malformed',
      (s) => setIn(s, ['organization', 'serviceControlPolicies'], [[{ target: 'root', document: doc() }]]),
      'organization.serviceControlPolicies[0][0]',
      /target: expected the root/,
    ],
    [
      'organization field typo',
      (s) => setIn(s, ['organization'], { scps: [] }),
      'organization.scps',
      /unknown field/,
    ],
  ])('rejects %s, naming the field', (_name, breakIt, field, message) => {
    const s = minimal();
    const replaced = breakIt(s);
    const input = Array.isArray(replaced) ? replaced : s;
    const error = catchError(() => parseSnapshot(input));
    expect(error).toBeInstanceOf(SnapshotError);
    expect((error as SnapshotError).field).toBe(field);
    expect((error as SnapshotError).message).toMatch(message);
    expect((error as SnapshotError).message.startsWith(`${field}: `)).toBe(true);
  });
});

describe('snapshots in events/accounts', () => {
  it('holds the demo and the variants the scenarios use', async () => {
    const files = await readdir(ACCOUNTS);
    expect(files).toEqual(
      expect.arrayContaining(
        [
          'demo',
          'explicit-deny',
          'boundary',
          'scp-deny',
          'no-iam-delegation',
          'grant-other-stream',
          'cross-account',
          'already-fixed',
        ].map((name) => `${name}.json`),
      ),
    );
  });

  it.each(readdirSyncJson())('%s passes parseSnapshot', async (file) => {
    const snapshot = await loadSnapshotFile(join(ACCOUNTS, file));
    // The cross-account views are the caller's account, where AWS logs the denial.
    const caller = file.startsWith('cross-account') || file === 'organization-caller.json';
    expect(snapshot.accountId).toBe(caller ? '444455556666' : '111122223333');
    expect(snapshot.principals.length).toBeGreaterThan(0);
  });

  it('demo: every fixture principal, both streams, the AWS-managed key, no organization', async () => {
    const reader = new SnapshotReader(await loadSnapshotFile(join(ACCOUNTS, 'demo.json')));
    for (const arn of [
      CONSUMER,
      'arn:aws:iam::111122223333:role/orders-producer',
      'arn:aws:iam::111122223333:role/service-role/orders-processor-role-x1y2z3',
      'arn:aws:iam::111122223333:role/service-role/kinesis-analytics-orders-flink-us-east-1',
      'arn:aws:iam::111122223333:user/alice',
    ]) {
      const principal = await reader.getPrincipal(arn);
      expect(principal?.arn).toBe(arn);
      // None of them has any KMS permission: each Kinesis KMS call is denied for that reason.
      expect(JSON.stringify(principal)).not.toContain('kms:');
    }
    expect((await reader.getStream(ORDERS))?.keyArn).toBe(ORDERS_KEY);
    expect((await reader.getStream('arn:aws:kinesis:us-east-1:111122223333:stream/clicks'))?.keyArn).toBe(
      CLICKS_KEY,
    );
    expect((await reader.getKey('alias/aws/kinesis'))?.keyManager).toBe('AWS');
    const orders = await reader.getKey('alias/orders');
    expect(JSON.stringify(orders?.policy)).toContain('"Sid":"Enable IAM User Permissions"');
    expect(await reader.getOrganization()).toBeNull();
  });
});

describe('docs/snapshot.md', () => {
  it('shows an example that passes parseSnapshot', async () => {
    const text = await readFile(join(__dirname, '../../docs/snapshot.md'), 'utf8');
    const example = /```json\n([\s\S]*?)\n```/.exec(text)?.[1];
    expect(example).toBeDefined();
    const snapshot = parseSnapshotText(example ?? '', 'docs/snapshot.md');
    expect(snapshot.keys[0]?.grants?.[0]?.operations).toEqual(['Decrypt']);
    expect(snapshot.organization?.serviceControlPolicies).toHaveLength(1);
  });
});

describe('SnapshotReader', () => {
  it('refuses a region of no AWS partition instead of guessing one', () => {
    // parseSnapshot rejects such a region; a snapshot built in code reaches the constructor unchecked.
    expect(() => new SnapshotReader({ ...parseSnapshot(minimal()), region: 'moon-base-1' })).toThrow(
      InputError,
    );
  });

  const snapshot = (): AccountSnapshot => {
    const s = parseSnapshot(minimal());
    s.keys.push({
      arn: CLICKS_KEY,
      keyManager: 'CUSTOMER',
      keyState: 'Enabled',
      aliases: ['alias/clicks'],
      policy: doc(),
    });
    s.keys.push({
      arn: 'arn:aws:kms:us-west-2:111122223333:key/2222abcd-12ab-34cd-56ef-1234567890ab',
      keyManager: 'CUSTOMER',
      keyState: 'Enabled',
      aliases: ['alias/orders'],
      policy: doc(),
    });
    return s;
  };

  it.each<[string, string | null]>([
    [ORDERS_KEY, ORDERS_KEY],
    ['1234abcd-12ab-34cd-56ef-1234567890ab', ORDERS_KEY],
    ['alias/orders', ORDERS_KEY],
    ['alias/clicks', CLICKS_KEY],
    ['arn:aws:kms:us-east-1:111122223333:alias/orders', ORDERS_KEY],
    // The same alias name in another region names that region's key.
    [
      'arn:aws:kms:us-west-2:111122223333:alias/orders',
      'arn:aws:kms:us-west-2:111122223333:key/2222abcd-12ab-34cd-56ef-1234567890ab',
    ],
    // A bare id or alias name means the snapshot's own account and region.
    ['2222abcd-12ab-34cd-56ef-1234567890ab', null],
    ['arn:aws:kms:us-east-1:444455556666:alias/orders', null],
    ['alias/missing', null],
    [KINESIS_KEY, null],
    ['not-a-key', null],
  ])('getKey(%s) resolves to %s', async (ref, expected) => {
    const key = await new SnapshotReader(snapshot()).getKey(ref);
    expect(key?.arn ?? null).toBe(expected);
  });

  it.each<[string, boolean]>([
    [CONSUMER, true],
    // Exact match only: not the session ARN, not without the path, not another case.
    ['arn:aws:sts::111122223333:assumed-role/orders-consumer/i-0abc123', false],
    ['arn:aws:iam::111122223333:role/orders-consumer', false],
    ['arn:aws:iam::111122223333:role/service-role/Orders-Consumer', false],
  ])('getPrincipal(%s) found: %s', async (arn, found) => {
    expect((await new SnapshotReader(snapshot()).getPrincipal(arn)) !== null).toBe(found);
  });

  it('returns streams by exact ARN and the organization when present', async () => {
    const reader = new SnapshotReader(snapshot());
    expect(await reader.getStream(ORDERS)).toEqual({ arn: ORDERS, keyArn: ORDERS_KEY });
    expect(await reader.getStream(ORDERS.replace('orders', 'other'))).toBeNull();
    expect((await reader.getOrganization())?.serviceControlPolicies).toHaveLength(1);
    expect([reader.accountId, reader.region]).toEqual(['111122223333', 'us-east-1']);
  });

  it('freezes its own copy: callers cannot change the state by accident, nor the reader theirs', async () => {
    const original = snapshot();
    const reader = new SnapshotReader(original);
    const key = await reader.getKey(ORDERS_KEY);
    expect(() =>
      key?.grants?.push({ grantId: 'x', granteePrincipal: CONSUMER, operations: ['Encrypt'] }),
    ).toThrow(/not extensible/);
    original.keys[0]?.grants?.push({ grantId: 'x', granteePrincipal: CONSUMER, operations: ['Encrypt'] });
    expect((await reader.getKey(ORDERS_KEY))?.grants).toHaveLength(1);
    // A structured clone is the way to a changeable copy.
    const copy = structuredClone(key);
    copy?.grants?.push({ grantId: 'y', granteePrincipal: CONSUMER, operations: ['Decrypt'] });
    expect(copy?.grants).toHaveLength(2);
  });
});

describe('loading snapshot files', () => {
  it.each<[string, string, typeof InputError | typeof SnapshotError, RegExp]>([
    ['not JSON', '{"accountId": ', InputError, /^snapshot bad\.json is not valid JSON: /],
    [
      'invalid field',
      JSON.stringify({ ...minimal(), region: 'mars' }),
      SnapshotError,
      /^region: .* \(in snapshot bad\.json\)$/,
    ],
  ])('parseSnapshotText: %s', (_name, text, type, message) => {
    const error = catchError(() => parseSnapshotText(text, 'bad.json'));
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toMatch(message);
  });

  it('loadSnapshotFile names a missing file', async () => {
    const error = await loadSnapshotFile('/nonexistent/snap.json').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toBe('cannot read snapshot /nonexistent/snap.json: no such file');
  });

  it('loadSnapshotFile names the file and the field of an invalid snapshot', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keymend-snapshot-'));
    const path = join(dir, 'snap.json');
    const s = minimal();
    setIn(s, ['keys', 0, 'keyManager'], 'customer');
    await writeFile(path, JSON.stringify(s));
    const error = await loadSnapshotFile(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnapshotError);
    expect((error as SnapshotError).field).toBe('keys[0].keyManager');
    expect((error as SnapshotError).message).toContain(`(in snapshot ${path})`);
    expect(JSON.parse(await readFile(path, 'utf8')).keys[0].keyManager).toBe('customer');
  });
});

function readdirSyncJson(): string[] {
  // jest's it.each needs the list synchronously.
  return readdirSync(ACCOUNTS).filter((f) => f.endsWith('.json'));
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

function rename(obj: Record<string, unknown>, from: string, to: string): void {
  obj[to] = obj[from];
  delete obj[from];
}

function setIn(obj: unknown, path: (string | number)[], value: unknown): void {
  let node = obj as Record<string | number, unknown>;
  for (const step of path.slice(0, -1)) node = node[step] as Record<string | number, unknown>;
  node[path[path.length - 1] as string | number] = value;
}

function toPartition(s: Snap, partition: string, region: string): void {
  const text = JSON.stringify(s).replaceAll('arn:aws:', `arn:${partition}:`).replaceAll('us-east-1', region);
  Object.assign(s, JSON.parse(text));
}
