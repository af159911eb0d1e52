/**
 * The SQL of `keymend scan --athena` (cli/aws/athena-query.ts): the golden text, its parameters, the
 * identifiers it accepts, its filter against the intake's own definitions, and the way back from a
 * result row to a record the intake reads as it reads the original.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  DELIVERY_SLACK_MS,
  kmsDenialQuery,
  parseTableName,
  RECORD_FIELDS,
  rowToRecord,
} from '../../cli/aws/athena-query';
import {
  DENIAL_CODES,
  intake,
  KINESIS_CONTEXT_KEY,
  KINESIS_SERVICE,
  OPERATIONS,
} from '../../functions/core/intake';
import { athenaColumnInfo, athenaRow } from '../helpers/athena';
import { eventNames, loadEvent } from '../helpers/events';

const GOLDEN = path.join(__dirname, 'golden', 'athena-kms-denials.sql');
const TABLE = { database: 'security', table: 'cloudtrail_org' };
const SINCE = new Date('2026-11-01T06:30:00Z');
const UNTIL = new Date('2026-11-30T23:50:00Z');

describe('the Athena query', () => {
  it('is the golden text, every value a ? parameter given in order as SQL literals', () => {
    const q = kmsDenialQuery(TABLE, {
      since: SINCE,
      until: UNTIL,
      accounts: ['111122223333', '444455556666'],
      regions: ['us-east-1'],
    });
    expect(`${q.sql}\n`).toBe(readFileSync(GOLDEN, 'utf8'));
    expect(q.parameters).toEqual([
      "'2026/11/01'",
      // the last day widened by CloudTrail's delivery delay: 23:50 + 20 minutes is the next day
      "'2026/12/01'",
      "'2026-11-01T06:30:00Z'",
      "'2026-11-30T23:50:00Z'",
      "'111122223333'",
      "'444455556666'",
      "'us-east-1'",
    ]);
    expect(q.sql.split('?').length - 1).toBe(q.parameters.length);
  });

  it('reads every account and Region when none is named: the partition filter is the days only', () => {
    const q = kmsDenialQuery(TABLE, { since: SINCE, until: new Date('2026-11-30T12:00:00Z') });
    expect(q.sql).not.toMatch(/"account"|"region"/);
    expect(q.sql).toContain(
      'WHERE "timestamp" BETWEEN ? AND ?\n  AND eventtime BETWEEN ? AND ?\n  AND eventsource',
    );
    expect(q.parameters).toEqual([
      "'2026/11/01'",
      "'2026/11/30'",
      "'2026-11-01T06:30:00Z'",
      "'2026-11-30T12:00:00Z'",
    ]);
    expect(DELIVERY_SLACK_MS).toBe(20 * 60_000);
  });

  it('pushes exactly the intake filter into the SQL: its error codes, operations and Kinesis evidence', () => {
    const { sql } = kmsDenialQuery(TABLE, { since: SINCE, until: UNTIL });
    const list = (column: string) => {
      const m = new RegExp(`${column} IN \\(([^)]*)\\)`).exec(sql);
      return (m?.[1] ?? '').split(', ').map((s) => s.replace(/^'|'$/g, ''));
    };
    expect(new Set(list('errorcode'))).toEqual(new Set(DENIAL_CODES));
    expect(new Set(list('eventname'))).toEqual(new Set(Object.keys(OPERATIONS)));
    expect(sql).toContain(`useridentity.invokedby = '${KINESIS_SERVICE}'`);
    expect(sql).toContain(`sourceipaddress = '${KINESIS_SERVICE}'`);
    expect(sql).toContain(`'$.encryptionContext["${KINESIS_CONTEXT_KEY}"]'`);
    expect(sql).toContain("eventsource = 'kms.amazonaws.com'");
  });

  it('selects one column for each record field it maps back, and no other', () => {
    const { sql } = kmsDenialQuery(TABLE, { since: SINCE, until: UNTIL });
    const select = (sql.split('\nFROM ')[0] as string).replace(/^SELECT\n/, '').split(',\n');
    const names = select.map((line) => /(?:AS )?(\w+)$/.exec(line.trim())?.[1]);
    expect(names).toEqual(RECORD_FIELDS.map((f) => f.column));
    expect(names).toEqual(athenaColumnInfo.map((c) => c.Name));
  });

  it('refuses an account or Region that is not one (the CLI checks them first)', () => {
    expect(() => kmsDenialQuery(TABLE, { since: SINCE, until: UNTIL, accounts: ["1' OR '1'='1"] })).toThrow(
      'not an account id',
    );
    expect(() => kmsDenialQuery(TABLE, { since: SINCE, until: UNTIL, regions: ['us-east-1)--'] })).toThrow(
      'not a Region',
    );
  });
});

describe('DB.TABLE', () => {
  it.each([
    ['security.cloudtrail_org', { database: 'security', table: 'cloudtrail_org' }],
    ['Security.CloudTrail_2026', { database: 'security', table: 'cloudtrail_2026' }],
    ['db_1.t', { database: 'db_1', table: 't' }],
  ])('accepts %s', (text, expected) => {
    expect(parseTableName(text)).toEqual(expected);
  });

  it.each([
    'cloudtrail',
    'a.b.c',
    '.t',
    'db.',
    'db.t; DROP TABLE x',
    'db."t"',
    'db.t--',
    "db.t' OR 1=1",
    'db.my-table',
    'db.t ',
    'dé.t',
    `db.${'t'.repeat(256)}`,
  ])('refuses %j', (text) => {
    expect(parseTableName(text)).toBeNull();
  });
});

describe('a result row back as a record', () => {
  const columns = athenaColumnInfo.map((c) => c.Name as string);
  const values = (row: ReturnType<typeof athenaRow>) =>
    new Map(columns.map((name, i) => [name, row.Data?.[i]?.VarCharValue ?? null]));

  it.each(eventNames().filter((n) => !n.includes('log-file')))(
    '%s reads the same through the intake',
    (name) => {
      const original = loadEvent(name);
      const record = rowToRecord(values(athenaRow(original)));
      const fromRow = intake(record);
      // The table holds the record, not its EventBridge envelope.
      const fromOriginal = intake((original.detail as Record<string, unknown> | undefined) ?? original);
      if (fromOriginal.match) {
        expect(fromRow).toEqual(fromOriginal);
      } else {
        expect(fromRow.match).toBe(false);
        expect(fromRow.match === false && fromRow.reason).toBe(fromOriginal.reason);
      }
    },
  );

  it('leaves out the fields Athena read as NULL and the nulls of a resource', () => {
    const record = rowToRecord(
      new Map<string, string | null>([
        ['eventname', 'Decrypt'],
        ['useridentity_type', 'IAMUser'],
        ['sessionissuer_arn', null],
        [
          'resources_json',
          '[{"ARN":"arn:aws:kms:us-east-1:111122223333:key/k","accountId":null,"type":null}]',
        ],
        ['requestparameters', 'not json'],
      ]),
    );
    expect(record).toEqual({
      eventName: 'Decrypt',
      userIdentity: { type: 'IAMUser' },
      resources: [{ ARN: 'arn:aws:kms:us-east-1:111122223333:key/k' }],
      requestParameters: 'not json',
    });
  });
});

describe("docs/scan.md's table", () => {
  const doc = readFileSync(path.join(__dirname, '..', '..', 'docs', 'scan.md'), 'utf8');
  const ddl = /```sql\n(CREATE EXTERNAL TABLE[\s\S]*?)```/.exec(doc)?.[1] ?? '';

  it('declares every column and struct field the query reads, and the three projected partitions', () => {
    expect(ddl).not.toBe('');
    const { sql } = kmsDenialQuery(TABLE, {
      since: SINCE,
      until: UNTIL,
      accounts: ['111122223333'],
      regions: ['us-east-1'],
    });
    const flat = ddl.replace(/\s+/g, ' ');
    const top = ['eventversion', 'eventtime', 'eventsource', 'eventname', 'eventtype', 'awsregion'];
    top.push('sourceipaddress', 'useragent', 'errorcode', 'errormessage', 'requestparameters', 'eventid');
    top.push('recipientaccountid');
    for (const column of top) {
      expect(sql).toMatch(new RegExp(`\\b${column}\\b`));
      expect(flat).toMatch(new RegExp(`\\b${column} STRING[ ,)]`));
    }
    for (const field of ['type', 'principalid', 'arn', 'accountid', 'invokedby']) {
      expect(sql).toContain(`useridentity.${field} AS`);
      expect(flat).toMatch(new RegExp(`useridentity STRUCT< .*\\b${field}: STRING`));
    }
    for (const field of ['type', 'principalid', 'arn', 'accountid', 'username']) {
      expect(sql).toContain(`useridentity.sessioncontext.sessionissuer.${field} AS`);
    }
    expect(flat).toContain(
      'sessionissuer: STRUCT<type: STRING, principalid: STRING, arn: STRING, accountid: STRING, username: STRING>',
    );
    expect(flat).toContain('resources ARRAY<STRUCT<arn: STRING, accountid: STRING, type: STRING>>');
    expect(sql).toContain('ARRAY[r.arn, r.accountid, r.type]');
    expect(flat).toContain('PARTITIONED BY (account STRING, region STRING, `timestamp` STRING)');
    expect(flat).toContain("'projection.timestamp.format' = 'yyyy/MM/dd'");
    expect(flat).toMatch(
      /'storage\.location\.template' = 's3:\/\/[^']*\/\$\{account\}\/CloudTrail\/\$\{region\}\/\$\{timestamp\}'/,
    );
    for (const partition of ['"timestamp" BETWEEN', '"account" IN', '"region" IN'])
      expect(sql).toContain(partition);
  });
});
