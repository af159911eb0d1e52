/**
 * The published snapshot.schema.json: generated from the zod schema (so it cannot drift), and, read
 * back by an independent JSON Schema reader (zod's fromJSONSchema), it accepts every sample snapshot
 * and refuses the mistakes an editor should underline.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { schemaFile, schemaFileText, schemaReference } from '../../cli/schema-file';
import { parseSnapshot } from '../../functions/adapters/snapshot';

const ROOT = path.resolve(__dirname, '../..');
const ACCOUNTS = path.join(ROOT, 'events/accounts');
const published = () => readFileSync(path.join(ROOT, 'snapshot.schema.json'), 'utf8');

describe('snapshot.schema.json', () => {
  it('is up to date with the zod schema (run `npm run schema` after changing it)', () => {
    expect(schemaFile()).toBe(path.join(ROOT, 'snapshot.schema.json'));
    expect(published()).toBe(schemaFileText());
  });

  const schema = () => z.fromJSONSchema(JSON.parse(published()));
  const samples = readdirSync(ACCOUNTS).filter((f) => f.endsWith('.json'));

  it.each(samples)('accepts the sample snapshot %s', (file) => {
    const snapshot = JSON.parse(readFileSync(path.join(ACCOUNTS, file), 'utf8'));
    expect(schema().safeParse(snapshot).error?.issues).toBeUndefined();
  });

  const valid = () => JSON.parse(readFileSync(path.join(ACCOUNTS, 'demo.json'), 'utf8'));
  it.each<[string, (s: ReturnType<typeof valid>) => void]>([
    ['a field typo', (s) => Object.assign(s, { principal: [] })],
    ['an account id as a number', (s) => Object.assign(s, { accountId: 111122223333 })],
    ['an unknown key manager', (s) => Object.assign(s.keys[0], { keyManager: 'customer' })],
    [
      'a policy document without Statement',
      (s) => Object.assign(s.keys[0], { policy: { Version: '2012-10-17' } }),
    ],
    ['a key state in lower case', (s) => Object.assign(s.keys[0], { keyState: 'enabled' })],
    [
      'an inline policy name with a space',
      (s) => Object.assign(s.principals[0].inlinePolicies, { 'a b': {} }),
    ],
  ])('refuses %s, as parseSnapshot does', (_name, breakIt) => {
    const snapshot = valid();
    breakIt(snapshot);
    expect(schema().safeParse(snapshot).success).toBe(false);
    expect(() => parseSnapshot(snapshot)).toThrow();
  });

  it('a file may name it in $schema: parseSnapshot accepts the field and drops it', () => {
    const snapshot = { $schema: './snapshot.schema.json', ...valid() };
    expect(parseSnapshot(snapshot)).toEqual(valid());
    expect(schema().safeParse(snapshot).success).toBe(true);
  });

  it("keeps a policy document's fields in the order they were written (it is shown back to people)", () => {
    const snapshot = valid();
    snapshot.keys[0].policy = { Id: 'p', Version: '2012-10-17', Statement: [] };
    expect(Object.keys(parseSnapshot(snapshot).keys[0]?.policy as object)).toEqual([
      'Id',
      'Version',
      'Statement',
    ]);
  });

  it('is named relative to the directory a snapshot is written into', () => {
    expect(schemaReference(ROOT)).toBe('./snapshot.schema.json');
    expect(schemaReference(path.join(ROOT, 'events/accounts'))).toBe('../../snapshot.schema.json');
  });
});
