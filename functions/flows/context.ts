/**
 * What every flow speaks: the ports with the flow's log, and how an error reads in an audit entry, a
 * log line or a result's reason.
 */
import type { FlowPorts } from '../core/ports';
import type { ActorContext } from '../core/proposal';
import type { WarmRepeats } from '../core/warm-repeats';

/** The logging the flows need (Powertools' Logger fits). */
export interface FlowLog {
  info(message: string, fields: Record<string, unknown>): void;
  warn(message: string, fields: Record<string, unknown>): void;
}

/** The ports, with an optional log. */
export interface FlowContext extends FlowPorts {
  log?: FlowLog;
  /**
   * What this execution environment remembers of live problems and the repeats it counted
   * (core/warm-repeats.ts); without it every denial asks the store.
   */
  warm?: WarmRepeats;
}

/** An error as one short text for the audit list, a log line or a result's reason. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Who acted through a link (the signed-in approver, when sign-in is on) and from where, for the audit trail. */
export type AuditContext = ActorContext;
