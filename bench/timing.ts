/**
 * What the throughput figures share: engines timed in interleaved rounds (a busy machine slows them
 * alike, so their ratio stays fair), medians, and a plain text table.
 */

export interface Engine {
  name: string;
  /** One pass over the work; returns how many operations it made. */
  pass(): Promise<number>;
  operations: number;
  seconds: number;
}

export function engine(name: string, pass: () => Promise<number>): Engine {
  return { name, pass, operations: 0, seconds: 0 };
}

/** Runs one engine for about `seconds`, whole passes at a time, adding to its totals. */
export async function round(target: Engine, seconds: number): Promise<void> {
  const start = process.hrtime.bigint();
  let elapsed = 0;
  do {
    target.operations += await target.pass();
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  } while (elapsed < seconds);
  target.seconds += elapsed;
}

/** Warms every engine up, forgets the warm-up, then runs them in turns for about `seconds` each. */
export async function interleave(engines: Engine[], seconds: number, roundSeconds = 0.25): Promise<void> {
  for (const e of engines) Object.assign(e, { operations: 0, seconds: 0 });
  for (let t = 0; t < seconds; t += roundSeconds) {
    for (const e of engines) await round(e, roundSeconds);
  }
}

export const rate = (e: Engine): number => e.operations / e.seconds;

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Columns padded to their widest cell; the first `left` columns (default 1) left-aligned, and any
 * after `right` (default all) too: the numbers between them right-aligned.
 */
export function table(
  header: string[],
  rows: string[][],
  align: { left?: number; right?: number } = {},
): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const numeric = (i: number) => i >= (align.left ?? 1) && i < (align.right ?? header.length);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

export const thousands = (n: number): string => Math.round(n).toLocaleString('en-US');
