/**
 * The SQL `keymend scan --athena DB.TABLE` runs over a CloudTrail table in Athena, and the way back
 * from its result rows to CloudTrail records. Pure: no SDK, no clock.
 *
 * The table is the one AWS documents for CloudTrail logs (the JSON SerDe over CloudTrailInputFormat),
 * partitioned by projection on `account`, `region` and `timestamp` (`yyyy/MM/dd`), as docs/scan.md
 * creates it. The query pushes keymend's own Kinesis KMS denial filter (functions/core/intake.ts:
 * KMS, an access-denied error code, an operation Kinesis calls, and Kinesis's evidence) into the
 * WHERE clause, so Athena returns candidates only; each row then goes through the intake like any
 * record, which has the last word.
 *
 * No user input is ever spliced into the SQL: the table is two identifiers checked against a strict
 * pattern and double-quoted, and every value that depends on the command line (the days and times of
 * the range, the accounts, the Regions) is a `?` execution parameter. The filter's constants are
 * literals of the template (readable, pasteable into the Athena console), checked against the
 * intake's own definitions by the tests.
 */
import { isAccountId, isRegion } from '../../functions/commons/arn';

/** A table named by `DB.TABLE`, both parts checked. */
export interface TableName {
  database: string;
  table: string;
}

/**
 * Athena's names for databases and tables: letters, digits and underscores (Athena folds them to
 * lower case). Anything else (quotes, dots, spaces, hyphens) is refused, never escaped.
 */
const IDENTIFIER = /^[A-Za-z0-9_]{1,255}$/;

/** `DB.TABLE` split and lower-cased; null when it is not exactly two identifiers. */
export function parseTableName(text: string): TableName | null {
  const parts = text.split('.');
  if (parts.length !== 2) return null;
  const [database, table] = parts as [string, string];
  if (!IDENTIFIER.test(database) || !IDENTIFIER.test(table)) return null;
  return { database: database.toLowerCase(), table: table.toLowerCase() };
}

/** What the query reads: a time range, and optionally some accounts and Regions only. */
export interface QueryRange {
  since: Date;
  until: Date;
  /** Only these accounts' partitions (12-digit ids). */
  accounts?: readonly string[];
  /** Only these Regions' partitions. */
  regions?: readonly string[];
}

/** A query as Athena's StartQueryExecution takes it: the text and its `?` values, in order. */
export interface AthenaQuery {
  sql: string;
  /** Each a SQL literal (`'2026/11/30'`), as ExecutionParameters are given. */
  parameters: string[];
}

/** CloudTrail delivers a file within about 15 minutes of its events; the day range is widened so. */
export const DELIVERY_SLACK_MS = 20 * 60 * 1000;

/** A SQL string literal. The values passed here are checked first; quotes are doubled all the same. */
function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** The `timestamp` partition value of the UTC day of `time` (`yyyy/MM/dd`). */
export function partitionDay(time: Date): string {
  return time.toISOString().slice(0, 10).replaceAll('-', '/');
}

/** `time` as CloudTrail writes eventTime (`2026-11-30T12:05:00Z`, whole seconds), for comparisons. */
export function eventTimeText(time: Date): string {
  return `${time.toISOString().slice(0, 19)}Z`;
}

const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/**
 * The query for the denied KMS calls Kinesis made for a principal in `range`, over `table`.
 * @throws Error when an account is not 12 digits or a Region is not one (the CLI checks them first).
 */
export function kmsDenialQuery(table: TableName, range: QueryRange): AthenaQuery {
  const accounts = range.accounts ?? [];
  const regions = range.regions ?? [];
  for (const a of accounts) if (!isAccountId(a)) throw new Error(`not an account id: ${JSON.stringify(a)}`);
  for (const r of regions) if (!isRegion(r)) throw new Error(`not a Region: ${JSON.stringify(r)}`);
  const accountFilter = accounts.length ? `\n  AND "account" IN (${placeholders(accounts.length)})` : '';
  const regionFilter = regions.length ? `\n  AND "region" IN (${placeholders(regions.length)})` : '';
  const sql = `SELECT
  eventversion,
  eventtime,
  eventsource,
  eventname,
  eventtype,
  awsregion,
  sourceipaddress,
  useragent,
  errorcode,
  errormessage,
  requestparameters,
  eventid,
  recipientaccountid,
  useridentity.type AS useridentity_type,
  useridentity.principalid AS useridentity_principalid,
  useridentity.arn AS useridentity_arn,
  useridentity.accountid AS useridentity_accountid,
  useridentity.invokedby AS useridentity_invokedby,
  useridentity.sessioncontext.sessionissuer.type AS sessionissuer_type,
  useridentity.sessioncontext.sessionissuer.principalid AS sessionissuer_principalid,
  useridentity.sessioncontext.sessionissuer.arn AS sessionissuer_arn,
  useridentity.sessioncontext.sessionissuer.accountid AS sessionissuer_accountid,
  useridentity.sessioncontext.sessionissuer.username AS sessionissuer_username,
  json_format(CAST(transform(resources, r -> MAP(ARRAY['ARN', 'accountId', 'type'], ARRAY[r.arn, r.accountid, r.type])) AS JSON)) AS resources_json
FROM "${table.database}"."${table.table}"
WHERE "timestamp" BETWEEN ? AND ?
  AND eventtime BETWEEN ? AND ?${accountFilter}${regionFilter}
  AND eventsource = 'kms.amazonaws.com'
  AND errorcode IN ('AccessDenied', 'AccessDeniedException')
  AND eventname IN ('Decrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'DescribeKey')
  AND (
    useridentity.invokedby = 'kinesis.amazonaws.com'
    OR sourceipaddress = 'kinesis.amazonaws.com'
    OR json_extract(requestparameters, '$.encryptionContext["aws:kinesis:arn"]') IS NOT NULL
  )
ORDER BY eventtime, eventid`;
  return {
    sql,
    parameters: [
      literal(partitionDay(range.since)),
      literal(partitionDay(new Date(range.until.getTime() + DELIVERY_SLACK_MS))),
      literal(eventTimeText(range.since)),
      literal(eventTimeText(range.until)),
      ...accounts.map(literal),
      ...regions.map(literal),
    ],
  };
}

/** How a result column goes back into a record: where, and whether its text is JSON. */
interface RecordField {
  column: string;
  path: readonly string[];
  json?: true;
}

/** The query's result columns and the CloudTrail record fields they came from. */
export const RECORD_FIELDS: readonly RecordField[] = [
  { column: 'eventversion', path: ['eventVersion'] },
  { column: 'eventtime', path: ['eventTime'] },
  { column: 'eventsource', path: ['eventSource'] },
  { column: 'eventname', path: ['eventName'] },
  { column: 'eventtype', path: ['eventType'] },
  { column: 'awsregion', path: ['awsRegion'] },
  { column: 'sourceipaddress', path: ['sourceIPAddress'] },
  { column: 'useragent', path: ['userAgent'] },
  { column: 'errorcode', path: ['errorCode'] },
  { column: 'errormessage', path: ['errorMessage'] },
  { column: 'requestparameters', path: ['requestParameters'], json: true },
  { column: 'eventid', path: ['eventID'] },
  { column: 'recipientaccountid', path: ['recipientAccountId'] },
  { column: 'useridentity_type', path: ['userIdentity', 'type'] },
  { column: 'useridentity_principalid', path: ['userIdentity', 'principalId'] },
  { column: 'useridentity_arn', path: ['userIdentity', 'arn'] },
  { column: 'useridentity_accountid', path: ['userIdentity', 'accountId'] },
  { column: 'useridentity_invokedby', path: ['userIdentity', 'invokedBy'] },
  { column: 'sessionissuer_type', path: ['userIdentity', 'sessionContext', 'sessionIssuer', 'type'] },
  {
    column: 'sessionissuer_principalid',
    path: ['userIdentity', 'sessionContext', 'sessionIssuer', 'principalId'],
  },
  { column: 'sessionissuer_arn', path: ['userIdentity', 'sessionContext', 'sessionIssuer', 'arn'] },
  {
    column: 'sessionissuer_accountid',
    path: ['userIdentity', 'sessionContext', 'sessionIssuer', 'accountId'],
  },
  { column: 'sessionissuer_username', path: ['userIdentity', 'sessionContext', 'sessionIssuer', 'userName'] },
  { column: 'resources_json', path: ['resources'], json: true },
];

/** JSON text parsed; text that is not JSON is kept as it is (the intake then names it malformed). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** JSON nulls dropped from objects (a struct field Athena read as NULL was absent from the record). */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = withoutNulls(v);
  return out;
}

/**
 * One result row back as a CloudTrail record: `values` by column name (null for SQL NULL, which
 * Athena sends as a datum without VarCharValue). A NULL leaves its field out, as CloudTrail does.
 */
export function rowToRecord(values: ReadonlyMap<string, string | null>): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const field of RECORD_FIELDS) {
    const text = values.get(field.column);
    if (text === undefined || text === null) continue;
    let into = record;
    for (const key of field.path.slice(0, -1)) {
      if (!Object.hasOwn(into, key)) into[key] = {};
      into = into[key] as Record<string, unknown>;
    }
    const value = field.json ? parseJson(text) : text;
    into[field.path[field.path.length - 1] as string] =
      field.path[0] === 'resources' ? withoutNulls(value) : value;
  }
  return record;
}
