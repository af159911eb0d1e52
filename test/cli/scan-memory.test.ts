import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeLargeLogSet } from '../helpers/cloudtrail-logs';

const CHILD = path.resolve(__dirname, '../helpers/scan-child.ts');
const MiB = 1024 * 1024;
/**
 * Node with tsx and keymend loaded peaks at about 115 MiB streaming. Reading one of these 55 MiB
 * files whole and parsing it takes about 150 MiB more.
 */
const PEAK_RSS_BOUND = 180 * MiB;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'keymend-scan-memory-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('keymend scan memory', () => {
  it('stays flat over 100 MB of log files (peak RSS under a bound, in a child process)', async () => {
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
    const child = spawnSync(process.execPath, ['--import', 'tsx', CHILD, dir, '--json'], {
      encoding: 'utf8',
      maxBuffer: 16 * MiB,
      timeout: 120_000,
    });
    expect(child.status).toBe(0);
    const summary = JSON.parse(child.stdout);
    expect(summary).toMatchObject({ files: set.files.length, records: set.records, skipped: [] });
    expect(summary.problems).toHaveLength(2);
    const maxRss = Number(/maxRSS=(\d+)/.exec(child.stderr)?.[1]) * 1024;
    expect(maxRss).toBeGreaterThan(0);
    expect(maxRss).toBeLessThan(PEAK_RSS_BOUND);
  }, 120_000);
});
