/**
 * The one logger of keymend's functions and of `keymend local`. Log fields often carry text from events
 * (ARNs, session names, AWS's messages), which is untrusted: every field is first made a bounded,
 * JSON-safe copy with its strings capped (core/log.ts `sanitizeFields`), and every string written is
 * printable ASCII, so hostile text can neither break a line, forge a field, nor hide in invisible or
 * bidi characters. A sink that fails (a closed stdout) never turns a result into an error: EventBridge
 * would retry the event, and there is nowhere left to report it.
 *
 * In Lambda the sink is Powertools Logger (level from POWERTOOLS_LOG_LEVEL; request id and cold start
 * through `injectLambdaContext(powertools)`); in `keymend local` it is a line writer.
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { printableAscii } from '../commons/text';
import { formatLogLine, type Logger, type LogLevel, sanitizeFields } from '../core/log';

export type { Logger };

/** keymend's Logger over `write`, which must sanitise the fields it is given. */
function guarded(
  write: (level: LogLevel, message: string, fields?: Record<string, unknown>) => void,
): Logger {
  const at = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    try {
      write(level, message, fields);
    } catch {
      // Logging never fails an invocation or a request (see the module comment).
    }
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export interface FunctionLogger {
  /** For `injectLambdaContext`, which adds the invocation's context to every line. */
  powertools: PowertoolsLogger;
  /** What the handler logs through. */
  logger: Logger;
}

/** The logger of a deployed function: Powertools Logger behind the sanitiser, one JSON line per entry. */
export function functionLogger(serviceName: string): FunctionLogger {
  const powertools = new PowertoolsLogger({
    serviceName,
    jsonReplacerFn: (_key, value) => (typeof value === 'string' ? printableAscii(value) : value),
  });
  return {
    powertools,
    logger: guarded((level, message, fields) => powertools[level](message, sanitizeFields(fields))),
  };
}

/** The logger of `keymend local`: the same sanitised entries, each one line of printable-ASCII JSON. */
export function lineLogger(write: (line: string) => void): Logger {
  // formatLogLine sanitises the fields itself (doing it twice would cut a capped string again).
  return guarded((level, message, fields) => write(formatLogLine(level, message, fields)));
}
