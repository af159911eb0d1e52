import type { Command } from '../io';
import { applyCommand } from './apply';
import { demoCommand } from './demo';
import { diagnoseCommand } from './diagnose';
import { evaluateCommand } from './evaluate';
import { listCommand } from './list';
import { localCommand } from './local';
import { parseCommand } from './parse';
import { revokeCommand } from './revoke';
import { scanCommand } from './scan';
import { selfTestCommand } from './selftest';
import { snapshotCommand } from './snapshot';

/** Every subcommand, in the order `keymend --help` lists them. Each lives in its own file here. */
export const commands: Command[] = [
  parseCommand,
  diagnoseCommand,
  evaluateCommand,
  scanCommand,
  snapshotCommand,
  listCommand,
  applyCommand,
  revokeCommand,
  localCommand,
  demoCommand,
  selfTestCommand,
];
