/** What a command may touch of the outside world; tests pass their own. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Reads a whole file as bytes; `-` means standard input. */
  readInput(path: string): Promise<Buffer>;
}

/** A keymend subcommand. `run` returns the exit code: 0 done, 1 failed, 2 bad usage or input. */
export interface Command {
  name: string;
  summary: string;
  /** The full `--help` text. */
  help: string;
  run(argv: string[], io: CliIo): Promise<number>;
}
