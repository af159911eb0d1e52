import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeLargeLogSet } from '../../bench/fixtures/cloudtrail-logs';

const CHILD = path.resolve(__dirname, '../helpers/scan-child.ts');
const MiB = 1024 * 1024;
/**
 * Node with tsx and keymend loaded peaks at about 115 MiB streaming a small file, somewhat more on a
 * busy machine whose garbage collector runs late. Reading one of the large set's 55 MiB files whole
 * and parsing it takes about 150 MiB more: the large scan may exceed the small one by far less.
 */
const PEAK_RSS_GROWTH_BOUND = 80 * MiB;
/** A heap this small holds what streaming needs; JSON.parse of one whole file runs out of it. */
const HEAP_MB = 48;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'keymend-scan-memory-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('keymend scan memory', () => {
  it('stays flat over 100 MB of log files (a child with a 48 MB heap, peak RSS barely above a small scan)', async () => {
    const set = await writeLargeLogSet(path.join(dir, 'large'), 100 * MiB, {
      recordsPerFile: 35_000,
      samples: [
        'consumer-decrypt-denied-no-invokedby.record.json',
        'consumer-decrypt-success.record.json',
        'producer-generatedatakey-denied.record.json',
        'consumer-decrypt-success.record.json',
      ],
    });
    expect(set.bytes).toBeGreaterThanOrEqual(100 * MiB);
    const small = await writeLargeLogSet(path.join(dir, 'small'), 4 * MiB, {
      recordsPerFile: 35_000,
      samples: ['consumer-decrypt-denied-no-invokedby.record.json'],
    });
    expect(small.files).toHaveLength(1);
    const scan = (target: string) =>
      spawnSync(
        process.execPath,
        [`--max-old-space-size=${HEAP_MB}`, '--import', 'tsx', CHILD, target, '--json'],
        {
          encoding: 'utf8',
          maxBuffer: 16 * MiB,
          timeout: 120_000,
        },
      );
    const baseline = scan(path.join(dir, 'small'));
    expect(baseline.status).toBe(0);
    const baselineRss = Number(/maxRSS=(\d+)/.exec(baseline.stderr)?.[1]) * 1024;
    expect(baselineRss).toBeGreaterThan(0);
    const child = scan(path.join(dir, 'large'));
    expect([child.status, child.stderr.replace(/maxRSS=\d+\n/, '')]).toEqual([0, '']);
    const summary = JSON.parse(child.stdout);
    expect(summary).toMatchObject({ files: set.files.length, records: set.records, skipped: [] });
    expect(summary.problems).toHaveLength(2);
    const maxRss = Number(/maxRSS=(\d+)/.exec(child.stderr)?.[1]) * 1024;
    expect(maxRss).toBeGreaterThan(0);
    expect(maxRss - baselineRss).toBeLessThan(PEAK_RSS_GROWTH_BOUND);
  }, 120_000);
});
