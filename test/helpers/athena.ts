/**
 * CloudTrail records as Athena returns them for keymend's query (cli/aws/athena-query.ts) over the
 * table docs/scan.md creates: the JSON SerDe gives a nested object read into a STRING column
 * (requestparameters) as its JSON text, struct fields as their values, SQL NULL for what the record
 * lacks; the query's json_format(CAST(... AS JSON)) gives resources as a JSON array of objects with
 * a null for a missing field. GetQueryResults sends every value as VarCharValue text, a NULL as a
 * datum without it, and the column names as the first row of the first page.
 *
 * The column list is written out here, apart from the code's, so the tests check the code's mapping.
 */
import type { ColumnInfo, Datum, Row } from '@aws-sdk/client-athena';

type Json = Record<string, unknown>;

const get = (record: Json, ...path: string[]): unknown =>
  path.reduce<unknown>((o, k) => (typeof o === 'object' && o !== null ? (o as Json)[k] : undefined), record);

const text = (value: unknown): string | null =>
  value === undefined || value === null ? null : typeof value === 'string' ? value : JSON.stringify(value);

/** The query's result columns, in its SELECT order, and how each is read from a record. */
const COLUMNS: ReadonlyArray<[string, (r: Json) => string | null]> = [
  ['eventversion', (r) => text(r.eventVersion)],
  ['eventtime', (r) => text(r.eventTime)],
  ['eventsource', (r) => text(r.eventSource)],
  ['eventname', (r) => text(r.eventName)],
  ['eventtype', (r) => text(r.eventType)],
  ['awsregion', (r) => text(r.awsRegion)],
  ['sourceipaddress', (r) => text(r.sourceIPAddress)],
  ['useragent', (r) => text(r.userAgent)],
  ['errorcode', (r) => text(r.errorCode)],
  ['errormessage', (r) => text(r.errorMessage)],
  ['requestparameters', (r) => text(r.requestParameters)],
  ['eventid', (r) => text(r.eventID)],
  ['recipientaccountid', (r) => text(r.recipientAccountId)],
  ['useridentity_type', (r) => text(get(r, 'userIdentity', 'type'))],
  ['useridentity_principalid', (r) => text(get(r, 'userIdentity', 'principalId'))],
  ['useridentity_arn', (r) => text(get(r, 'userIdentity', 'arn'))],
  ['useridentity_accountid', (r) => text(get(r, 'userIdentity', 'accountId'))],
  ['useridentity_invokedby', (r) => text(get(r, 'userIdentity', 'invokedBy'))],
  ['sessionissuer_type', (r) => text(get(r, 'userIdentity', 'sessionContext', 'sessionIssuer', 'type'))],
  [
    'sessionissuer_principalid',
    (r) => text(get(r, 'userIdentity', 'sessionContext', 'sessionIssuer', 'principalId')),
  ],
  ['sessionissuer_arn', (r) => text(get(r, 'userIdentity', 'sessionContext', 'sessionIssuer', 'arn'))],
  [
    'sessionissuer_accountid',
    (r) => text(get(r, 'userIdentity', 'sessionContext', 'sessionIssuer', 'accountId')),
  ],
  [
    'sessionissuer_username',
    (r) => text(get(r, 'userIdentity', 'sessionContext', 'sessionIssuer', 'userName')),
  ],
  [
    'resources_json',
    (r) =>
      Array.isArray(r.resources)
        ? JSON.stringify(
            (r.resources as Json[]).map((e) => ({
              ARN: e.ARN ?? null,
              accountId: e.accountId ?? null,
              type: e.type ?? null,
            })),
          )
        : null,
  ],
];

const datum = (value: string | null): Datum => (value === null ? {} : { VarCharValue: value });

/** The column metadata of the query's results. */
export const athenaColumnInfo: ColumnInfo[] = COLUMNS.map(([name]) => ({
  CatalogName: 'hive',
  SchemaName: '',
  TableName: '',
  Name: name,
  Label: name,
  Type: 'varchar',
  Precision: 2147483647,
  Scale: 0,
  Nullable: 'UNKNOWN',
  CaseSensitive: true,
}));

/** The header row Athena puts first on the first page. */
export const athenaHeaderRow: Row = { Data: COLUMNS.map(([name]) => datum(name)) };

/** One record (a bare record, or an EventBridge event's detail) as a result row. */
export function athenaRow(recordOrEvent: Json): Row {
  const record = (recordOrEvent.detail as Json | undefined) ?? recordOrEvent;
  return { Data: COLUMNS.map(([, read]) => datum(read(record))) };
}
