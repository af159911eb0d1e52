/**
 * The one place a command's failure becomes a message and an exit code, for every command. The exit
 * codes are documented here once ({@link EXIT_STATUS_HELP}, printed by `keymend --help` and at the foot
 * of each command's help):
 *   0  done, and nothing found was refused;
 *   1  a failure (an input unreadable, empty or not CloudTrail, AWS unreachable or refusing, a file
 *      skipped), or a finding keymend refuses to fix (a `refuse` verdict, a refused apply or revoke);
 *   2  the command line is wrong (an unknown option, a missing or malformed value): nothing was done.
 * Errors are classified by class: UsageError is 2, any other KeymendError 1; anything else is a bug,
 * thrown on (the entry point prints it as an unexpected failure, exit 1).
 */
import { KeymendError, UsageError } from '../functions/commons/errors';
import { oneLine } from './input';
import type { CliIo } from './io';

/** The exit codes, by meaning. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit codes in words, the one text every help shows. */
export const EXIT_STATUS_HELP = `Exit status (every command):
  0  done, and nothing found was refused;
  1  a failure (an input unreadable, empty or holding no CloudTrail record; AWS
     unreachable or refusing; a file skipped), or a finding keymend refuses to
     fix (a "refuse" verdict, a refused apply or revoke);
  2  the command line is wrong (an unknown option, a missing or malformed
     value): nothing was done.`;

/**
 * Runs `body` for command `name` and returns its exit code: what the body returns (0 when nothing),
 * 2 on a UsageError (with a pointer to `--help`), 1 on any other of keymend's errors. Messages are one
 * printable line on stderr, prefixed by the command.
 */
export async function runCommand(
  name: string,
  io: CliIo,
  // biome-ignore lint/suspicious/noConfusingVoidType: a body that returns nothing succeeded (exit 0).
  body: () => Promise<ExitCode | void>,
): Promise<ExitCode> {
  try {
    return (await body()) ?? EXIT.ok;
  } catch (error) {
    if (error instanceof UsageError) {
      const message = oneLine(error);
      io.stderr(
        `keymend ${name}: ${message}${/[.?!]$/.test(message) ? '' : '.'} See 'keymend ${name} --help'.\n`,
      );
      return EXIT.usage;
    }
    if (error instanceof KeymendError) {
      io.stderr(`keymend ${name}: ${oneLine(error)}\n`);
      return EXIT.failed;
    }
    throw error;
  }
}

/**
 * Serves until SIGINT (Ctrl-C) or SIGTERM, then closes what was started and resolves: the command
 * then exits 0 through runCommand. The listeners are removed once either signal arrives.
 */
export function serveUntilSignal(close: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      close().then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
