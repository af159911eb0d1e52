import { readFile } from 'node:fs/promises';
import type { CliIo } from '../../cli/io';

/** A CliIo that records what a command prints; `stdin` stands in for standard input. */
export function captureIo(stdin = ''): CliIo & { out(): string; err(): string } {
  let out = '';
  let err = '';
  return {
    stdout: (text) => {
      out += text;
    },
    stderr: (text) => {
      err += text;
    },
    readInput: async (path) => (path === '-' ? Buffer.from(stdin) : readFile(path)),
    out: () => out,
    err: () => err,
  };
}
