/**
 * What a denial costs, for the IMPACT section of every message: a denied consumer cannot read, and
 * records written since the first denial start to expire once the stream's retention has passed; a
 * denied producer is failing to write now. Times are CloudTrail's `eventTime` of the denials, not when
 * keymend processed them. Pure: sentences out, not yet escaped (the caller escapes them for its output).
 */
import { SESSION_CAP } from '../commons/constants';
import type { ConsumerLag, Proposal } from '../core/proposal';

/** Kinesis's default retention, when the stream's own is not known. */
export const DEFAULT_RETENTION_HOURS = 24;

/** One fact of the impact: a label and its sentence. */
export interface ImpactLine {
  label: string;
  text: string;
}

/** `2026-12-03 08:55 UTC` for an ISO time; the text as given when it is not one. */
export function utcMinute(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** `3 h 05 min`, `2 d 4 h`, `45 s`: a duration for people. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ${String(min % 60).padStart(2, '0')} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** Whether the operation is a consumer's (reading: Decrypt) rather than a producer's (writing). */
export function isConsumer(operation: string): boolean {
  return operation === 'kms:Decrypt';
}

/**
 * The impact of the problem a proposal is about, one line per fact, for e-mail, chat and the page.
 * `applied`: the notification says the fix is in place (the sentences then speak of the past).
 */
export function impactLines(proposal: Proposal, applied: boolean): ImpactLine[] {
  const first = proposal.firstDenialAt ?? proposal.request.eventTime;
  const firstMs = Date.parse(first);
  const retentionKnown =
    typeof proposal.retentionPeriodHours === 'number' && proposal.retentionPeriodHours > 0;
  const retention = retentionKnown ? (proposal.retentionPeriodHours as number) : DEFAULT_RETENTION_HOURS;
  const lines: ImpactLine[] = [];
  if (isConsumer(proposal.scope.operation)) {
    const expiry = Number.isNaN(firstMs) ? null : new Date(firstMs + retention * 3_600_000).toISOString();
    lines.push({
      label: 'Consumer',
      text: `${applied ? 'could not read' : 'cannot read'} the stream since the first denial. Kinesis keeps records for ${retention} hours${retentionKnown ? " (the stream's retention)" : " (the default; the stream's own retention was not read)"}: records written since the first denial start to expire at ${expiry ? utcMinute(expiry) : 'the first denial plus that'}, and are lost unless read before then.`,
    });
  } else {
    lines.push({
      label: 'Producer',
      text: applied
        ? 'writes failed from the first denial until the fix: records it could not put were lost unless it retried them.'
        : 'writes to the stream are failing now: records it cannot put are lost unless it retries them.',
    });
  }
  lines.push({ label: 'First denial', text: `${utcMinute(first)} (CloudTrail eventTime)` });
  const denials = `at least ${proposal.count} denials in all`;
  if (proposal.lastDenialAt !== undefined) {
    if (proposal.count > 1 || proposal.lastDenialAt !== first) {
      lines.push({
        label: 'Latest denial',
        text: `${utcMinute(proposal.lastDenialAt)} (CloudTrail eventTime), ${denials}`,
      });
    }
  } else if (proposal.count > 1) {
    // A proposal stored before keymend kept the eventTimes: only when keymend received the last one.
    lines.push({
      label: 'Latest denial',
      text: `${utcMinute(proposal.lastSeen)} (when keymend received it), ${denials}`,
    });
  }
  if (proposal.sessions !== undefined && proposal.sessions > 0) {
    const n = proposal.sessions;
    lines.push({
      label: 'Sessions denied',
      text:
        n >= SESSION_CAP
          ? `at least ${n} distinct sessions (keymend counts them up to ${SESSION_CAP})`
          : `${n} distinct ${n === 1 ? 'session' : 'sessions'}`,
    });
  }
  if (isConsumer(proposal.scope.operation)) {
    const lags = [proposal.consumerLag, proposal.functionLag].filter(
      (lag): lag is ConsumerLag => lag !== undefined,
    );
    for (const lag of lags) {
      lines.push({
        label: 'Consumer lag',
        text: `${duration(lag.milliseconds)} behind (${lagSource(lag)}, CloudWatch, at ${utcMinute(lag.at)})`,
      });
    }
  }
  return lines;
}

/** Where a lag was read: the stream's metric, or a function's event source mapping. */
function lagSource(lag: ConsumerLag): string {
  return lag.functionName === undefined
    ? lag.metric
    : `${lag.metric} of Lambda function ${lag.functionName}'s event source mappings`;
}
