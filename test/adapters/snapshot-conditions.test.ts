/** The snapshot fields the condition keys need: key tags and attributes, the organization's id and path. */
import { parseSnapshot, SnapshotReader } from '../../functions/adapters/snapshot';
import { SnapshotError } from '../../functions/commons/errors';

const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function snapshot(key: Record<string, unknown> = {}, organization?: Record<string, unknown>) {
  return {
    accountId: '111122223333',
    region: 'us-east-1',
    principals: [],
    keys: [
      {
        arn: KEY,
        keyManager: 'CUSTOMER',
        keyState: 'Enabled',
        policy: { Version: '2012-10-17', Statement: [] },
        ...key,
      },
    ],
    ...(organization ? { organization } : {}),
  };
}

describe('key tags and attributes', () => {
  it('reads them, and leaves absent what is not given (not known)', async () => {
    const parsed = parseSnapshot(
      snapshot({
        tags: { project: 'orders' },
        keySpec: 'SYMMETRIC_DEFAULT',
        keyUsage: 'ENCRYPT_DECRYPT',
        origin: 'EXTERNAL',
        multiRegion: true,
        multiRegionKeyType: 'REPLICA',
      }),
    );
    expect(parsed.keys[0]).toMatchObject({
      tags: { project: 'orders' },
      keySpec: 'SYMMETRIC_DEFAULT',
      keyUsage: 'ENCRYPT_DECRYPT',
      origin: 'EXTERNAL',
      multiRegion: true,
      multiRegionKeyType: 'REPLICA',
    });
    const bare = await new SnapshotReader(parseSnapshot(snapshot())).getKey(KEY);
    expect(bare).not.toHaveProperty('tags');
    expect(bare).not.toHaveProperty('origin');
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ['a tag value that is not a string', { tags: { a: 1 } }, 'keys[0].tags.a', /expected a string value/],
    ['an unknown key spec', { keySpec: 'AES_256' }, 'keys[0].keySpec', /expected one of SYMMETRIC_DEFAULT/],
    ['an unknown key usage', { keyUsage: 'ENCRYPT' }, 'keys[0].keyUsage', /expected one of ENCRYPT_DECRYPT/],
    ['an unknown origin', { origin: 'aws_kms' }, 'keys[0].origin', /expected one of AWS_KMS/],
    ['multiRegion as text', { multiRegion: 'true' }, 'keys[0].multiRegion', /expected true or false/],
    [
      'a multi-Region key type on a single-Region key',
      { multiRegion: false, multiRegionKeyType: 'PRIMARY' },
      'keys[0].multiRegionKeyType',
      /only a multi-Region key/,
    ],
    ['a typo', { tag: {} }, 'keys[0].tag', /did you mean "tags"/],
  ])('rejects %s, naming the field', (_name, key, field, message) => {
    const error = (() => {
      try {
        parseSnapshot(snapshot(key));
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(SnapshotError);
    expect((error as SnapshotError).field).toBe(field);
    expect((error as SnapshotError).message).toMatch(message);
  });
});

describe('organization id and path', () => {
  it.each<[string, Record<string, unknown>]>([
    [
      'an id and path',
      { id: 'o-a1b2c3d4e5', path: 'o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ou-ab12-22222222/' },
    ],
    ['the root as path', { id: 'o-a1b2c3d4e5', path: 'o-a1b2c3d4e5/r-ab12/' }],
    ['no organization', { id: null }],
    ['the id alone', { id: 'o-a1b2c3d4e5' }],
  ])('accepts %s', (_name, organization) => {
    expect(parseSnapshot(snapshot({}, organization)).organization).toEqual(organization);
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ['an id of the wrong shape', { id: 'org-1' }, 'organization.id', /expected an organization id/],
    [
      'a path without its trailing slash',
      { id: 'o-a1b2c3d4e5', path: 'o-a1b2c3d4e5/r-ab12' },
      'organization.path',
      /organization path/,
    ],
    [
      'a path of another organization',
      { id: 'o-a1b2c3d4e5', path: 'o-0000000000/r-ab12/' },
      'organization.path',
      /must be given and match/,
    ],
    [
      'a path without an id',
      { path: 'o-a1b2c3d4e5/r-ab12/' },
      'organization.path',
      /must be given and match/,
    ],
  ])('rejects %s', (_name, organization, field, message) => {
    let error: unknown = null;
    try {
      parseSnapshot(snapshot({}, organization));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SnapshotError);
    expect((error as SnapshotError).field).toBe(field);
    expect((error as SnapshotError).message).toMatch(message);
  });
});

describe('other accounts of the organization', () => {
  it('reads organization.accounts: id and path, or id null', () => {
    const accounts = {
      '444455556666': { id: 'o-a1b2c3d4e5', path: 'o-a1b2c3d4e5/r-ab12/' },
      '777788889999': { id: null },
    };
    expect(parseSnapshot(snapshot({}, { id: 'o-a1b2c3d4e5', accounts })).organization?.accounts).toEqual(
      accounts,
    );
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a key that is not an account id', { '4444': { id: null } }, 'organization.accounts["4444"]'],
    [
      'an entry without id',
      { '444455556666': { path: 'o-a1b2c3d4e5/r-ab12/' } },
      'organization.accounts["444455556666"].id',
    ],
    [
      'an unknown field',
      { '444455556666': { id: null, ou: 'x' } },
      'organization.accounts["444455556666"].ou',
    ],
  ])('rejects %s, naming the field', (_name, accounts, field) => {
    let error: unknown = null;
    try {
      parseSnapshot(snapshot({}, { accounts }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SnapshotError);
    expect((error as SnapshotError).field).toBe(field);
  });
});
