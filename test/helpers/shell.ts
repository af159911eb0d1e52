/**
 * Runs printed shell commands through a real POSIX shell with `aws` replaced by a function that prints
 * the arguments it receives: what a person copying the command would send, read back exactly.
 */
import { execFileSync } from 'node:child_process';

/** The arguments of each `aws` call `script` makes when sh runs it. */
export function awsCalls(script: string, env: Record<string, string> = {}): string[][] {
  const out = execFileSync('sh', ['-c', `aws() { printf '%s\\0' "$@"; printf '\\001'; }\n${script}`], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
  });
  // Each call: its arguments, each ended by NUL, then \x01.
  return out
    .split('\x01')
    .slice(0, -1)
    .map((call) => call.slice(0, -1).split('\0'));
}

/** The flags of one call as a map (`--key-id` -> its values). */
export function flags(argv: string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  let current: string | null = null;
  for (const word of argv) {
    if (word.startsWith('--')) {
      current = word;
      map.set(word, []);
    } else if (current) map.get(current)?.push(word);
  }
  return map;
}

/**
 * Every command in `text` that starts with `start` (after any indentation), with its `\` continuation
 * lines, as one script.
 */
export function commandsIn(text: string, start: string): string[] {
  const lines = text.split('\n');
  const found: string[] = [];
  lines.forEach((line, i) => {
    if (!line.trimStart().startsWith(start)) return;
    const command = [line];
    for (let j = i; lines[j]?.endsWith('\\') && j + 1 < lines.length; j++) command.push(lines[j + 1] ?? '');
    found.push(command.join('\n'));
  });
  return found;
}

/** The CreateGrant request an `aws kms create-grant` call sends, read back from its arguments. */
export function createGrantRequest(argv: string[]): Record<string, unknown> {
  if (argv[0] !== 'kms' || argv[1] !== 'create-grant') throw new Error(`not create-grant: ${argv.join(' ')}`);
  const f = flags(argv.slice(2));
  const single = (flag: string) => {
    const values = f.get(flag);
    if (values !== undefined && values.length !== 1) throw new Error(`${flag} has ${values.length} values`);
    return values?.[0];
  };
  const retiring = single('--retiring-principal');
  return {
    KeyId: single('--key-id'),
    GranteePrincipal: single('--grantee-principal'),
    ...(retiring ? { RetiringPrincipal: retiring } : {}),
    Operations: f.get('--operations'),
    Constraints: JSON.parse(single('--constraints') ?? 'null'),
    Name: single('--name'),
  };
}
