/**
 * The `keymend` command: `keymend COMMAND [options]` once installed (`npx keymend`, `npm i -g keymend`),
 * or `npm run --silent keymend -- COMMAND [options]` in a clone. `npm run build` bundles this entry
 * into `dist/keymend.cjs` (the package's bin), which runs on plain Node.js.
 */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { version } from '../package.json';
import { commands } from './commands';
import { oneLine } from './input';
import type { CliIo } from './io';
import type { StreamingIo } from './log-input';
import { EXIT, EXIT_STATUS_HELP, type ExitCode } from './run-command';

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

/** `keymend --version`: the package's version. */
export const VERSION = version;

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `Usage: keymend COMMAND [options]
       keymend --version | --help

Diagnoses KMS permission denials on encrypted Kinesis Data Streams and plans the
least-privilege fix, with its proof.

Commands:
${lines.join('\n')}

Options every command takes:
  --output FORMAT  json, jsonl or text; each command's help says which it writes
                   and which is its default.
  -h, --help       the command's options.

${EXIT_STATUS_HELP}

Run 'keymend COMMAND --help' for a command's options.
`;
}

/** Runs one command line and returns its exit code. */
export async function main(argv: string[], cliIo: CliIo = io): Promise<ExitCode> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    cliIo.stdout(`keymend ${VERSION}\n`);
    return EXIT.ok;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    cliIo.stdout(usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    cliIo.stderr(
      `keymend: unknown command '${oneLine(name)}'. Commands: ${commands.map((c) => c.name).join(', ')}. See 'keymend --help'.\n`,
    );
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    cliIo.stdout(command.help);
    return EXIT.ok;
  }
  return (await command.run(rest, cliIo)) as ExitCode;
}

/**
 * The directory relative paths are meant against. `npm run keymend` (in a clone, or `npm --prefix DIR
 * run keymend`) runs in the package's directory, and npm keeps the user's directory in INIT_CWD; any
 * other way of starting keymend (installed, npx, node) already runs where the user is.
 */
export function userDirectory(env: NodeJS.ProcessEnv, cwd: string): string {
  const fromOwnScript = env.npm_package_name === 'keymend' && env.npm_lifecycle_event !== undefined;
  return fromOwnScript && env.INIT_CWD ? env.INIT_CWD : cwd;
}

if (require.main === module) {
  process.chdir(userDirectory(process.env, process.cwd()));
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`keymend: unexpected failure: ${oneLine(error)}\n`);
      process.exitCode = EXIT.failed;
    },
  );
}
