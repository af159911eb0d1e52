#!/usr/bin/env -S npx tsx
/**
 * The `keymend` command: `npm run --silent keymend -- COMMAND [options]`.
 */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { commands } from './commands';
import { oneLine } from './input';
import type { CliIo } from './io';
import type { StreamingIo } from './log-input';

async function readInput(path: string): Promise<Buffer> {
  if (path !== '-') return readFile(path);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const io: StreamingIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readInput,
  // Streaming commands read standard input as it comes, under their size limits.
  openStdin: () => process.stdin,
  drain: async () => {
    if (process.stdout.writableNeedDrain) await once(process.stdout, 'drain');
  },
};

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `Usage: keymend COMMAND [options]\n\nCommands:\n${lines.join('\n')}\n\nRun 'keymend COMMAND --help' for a command's options.\n`;
}

/** Runs one command line and returns its exit code. */
export async function main(argv: string[], cliIo: CliIo = io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    cliIo.stdout(usage());
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    cliIo.stderr(
      `keymend: unknown command '${oneLine(name)}'. Commands: ${commands.map((c) => c.name).join(', ')}\n`,
    );
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    cliIo.stdout(command.help);
    return 0;
  }
  return command.run(rest, cliIo);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`keymend: unexpected failure: ${oneLine(error)}\n`);
      process.exitCode = 1;
    },
  );
}
