/**
 * The one place a command's failure becomes a message and an exit code: 0 done; 2 bad usage or input
 * (UsageError, with a pointer to `--help`; InputError, SnapshotError, PolicyParseError); 1 any other of
 * keymend's errors (an AWS read that failed). Anything else is a bug and is thrown on.
 */
import { KeymendError, UsageError } from '../functions/commons/errors';
import { oneLine } from './input';
import type { CliIo } from './io';

/** keymend's errors that say the input is wrong, not that keymend failed. */
const INPUT_ERRORS: ReadonlySet<string> = new Set(['InputError', 'SnapshotError', 'PolicyParseError']);

/** Runs `body` for command `name`, writes what it returns to stdout, and returns the exit code. */
export async function runCommand(name: string, io: CliIo, body: () => Promise<string>): Promise<number> {
  try {
    io.stdout(await body());
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`keymend ${name}: ${oneLine(error)}. See 'keymend ${name} --help'.\n`);
      return 2;
    }
    if (error instanceof KeymendError) {
      io.stderr(`keymend ${name}: ${oneLine(error)}\n`);
      return INPUT_ERRORS.has(error.name) ? 2 : 1;
    }
    throw error;
  }
}
