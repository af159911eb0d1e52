/**
 * CloudTrail records wrapped as LookupEvents returns them (and `aws cloudtrail lookup-events` prints
 * them): each record's fields summarised, the record itself as JSON text in `CloudTrailEvent`.
 */
interface RecordFields {
  eventID?: string;
  eventName?: string;
  eventSource?: string;
  eventTime?: string;
  readOnly?: boolean;
  userIdentity?: { accessKeyId?: string; sessionContext?: { sessionIssuer?: { userName?: string } } };
  resources?: { ARN?: string; type?: string }[];
}

/** One element of LookupEvents' `Events`, as the API's JSON has it (EventTime in epoch seconds). */
export function lookupEvent(record: unknown) {
  const r = record as RecordFields;
  return {
    EventId: r.eventID,
    EventName: r.eventName,
    ReadOnly: String(r.readOnly ?? true),
    AccessKeyId: r.userIdentity?.accessKeyId,
    EventTime: r.eventTime ? Date.parse(r.eventTime) / 1000 : undefined,
    EventSource: r.eventSource,
    Username: r.userIdentity?.sessionContext?.sessionIssuer?.userName,
    Resources: (r.resources ?? []).map((x) => ({ ResourceType: x.type, ResourceName: x.ARN })),
    CloudTrailEvent: JSON.stringify(record),
  };
}

/** A LookupEvents output (`{"Events": [...]}`) holding these records. */
export function lookupEventsOutput(records: readonly unknown[]): {
  Events: ReturnType<typeof lookupEvent>[];
} {
  return { Events: records.map(lookupEvent) };
}
