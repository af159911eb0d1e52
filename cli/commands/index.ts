import type { Command } from '../io';

/** Every subcommand, in the order `keymend --help` lists them. Each lives in its own file here. */
export const commands: Command[] = [];
