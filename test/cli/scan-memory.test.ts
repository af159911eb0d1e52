import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeLargeLogSet } from '../helpers/cloudtrail-logs';

const CHILD = path.resolve(__dirname, '../helpers/scan-child.ts');
const MiB = 1024 * 1024;
/**
 * Node with tsx and keymend loaded peaks at about 115 MiB streaming (more on a busy machine, whose
 * garbage collector runs late). Reading one of these 55 MiB files whole and parsing it takes about
 * 150 MiB more.
 */
const PEAK_RSS_BOUND = 200 * MiB;
/** A heap this small holds what streaming needs; JSON.parse of one whole file runs out of it. */
const HEAP_MB = 48;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'keymend-scan-memory-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('keymend scan memory', () => {
  it('stays flat over 100 MB of log files (a child with a 48 MB heap, peak RSS under a bound)', async () => {
    const set = await writeLargeLogSet(dir, 100 * MiB, {
      recordsPerFile: 35_000,
      samples: [
        'consumer-decrypt-denied-no-invokedby.record.json',
        'consumer-decrypt-success.record.json',
        'producer-generatedatakey-denied.record.json',
        'consumer-decrypt-success.record.json',
      ],
    });
    expect(set.bytes).toBeGreaterThanOrEqual(100 * MiB);
    const child = spawnSync(
      process.execPath,
      [`--max-old-space-size=${HEAP_MB}`, '--import', 'tsx', CHILD, dir, '--json'],
      {
        encoding: 'utf8',
        maxBuffer: 16 * MiB,
        timeout: 120_000,
      },
    );
    expect([child.status, child.stderr.replace(/maxRSS=\d+\n/, '')]).toEqual([0, '']);
    const summary = JSON.parse(child.stdout);
    expect(summary).toMatchObject({ files: set.files.length, records: set.records, skipped: [] });
    expect(summary.problems).toHaveLength(2);
    const maxRss = Number(/maxRSS=(\d+)/.exec(child.stderr)?.[1]) * 1024;
    expect(maxRss).toBeGreaterThan(0);
    expect(maxRss).toBeLessThan(PEAK_RSS_BOUND);
  }, 120_000);
});
