/**
 * Published CloudTrail records (AWS documentation, real captures, detection-rule fixtures) that are
 * not KMS calls Kinesis made for a principal and that were denied: the intake must match none of
 * them. The folder lives beside the checkout (../shared), as in CI, and is not part of the repository:
 * `npm run test:public` (jest.public.config.js) runs this file, and fails when the folder is missing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { intake } from '../functions/core/intake';
import { lineLogger } from '../functions/handlers/logger';
import { makeHandler, type RemediateEvent } from '../functions/handlers/remediate';
import { flowFixture, TEST_CONFIG } from './helpers/flow-ports';

const FOLDER = path.resolve(__dirname, '../../shared/reference/cloudtrail-public');
const MIN_FILES = 40;

function listFiles(): string[] {
  try {
    return readdirSync(FOLDER)
      .filter((name) => name.endsWith('.json'))
      .sort();
  } catch (error) {
    throw new Error(
      `npm run test:public needs the published CloudTrail records at ${FOLDER} (../shared beside the clone): ${String(error)}`,
    );
  }
}

/** Each file's records: the file itself, and each element when it is a log file `{"Records": [...]}`. */
function recordsOf(name: string): { label: string; value: unknown }[] {
  const parsed: unknown = JSON.parse(readFileSync(path.join(FOLDER, name), 'utf8'));
  const records = (parsed as { Records?: unknown }).Records;
  const out = [{ label: name, value: parsed }];
  if (Array.isArray(records)) {
    records.forEach((value, i) => {
      out.push({ label: `${name} Records[${i}]`, value });
    });
  }
  return out;
}

const files = listFiles();

describe('published CloudTrail records', () => {
  it(`the folder holds at least ${MIN_FILES} JSON files`, () => {
    if (files.length < MIN_FILES) {
      throw new Error(`expected at least ${MIN_FILES} .json files in ${FOLDER}, found ${files.length}`);
    }
    expect(files.length).toBeGreaterThanOrEqual(MIN_FILES);
  });

  const cases = files.flatMap(recordsOf).map(({ label, value }) => [label, value] as const);

  it.each(cases)('%s: no match, no exception', (_label, value) => {
    const result = intake(value);
    expect(result).toMatchObject({ match: false });
  });

  it('the log files were unwrapped (the Records cases exist)', () => {
    expect(cases.filter(([label]) => label.includes('Records[')).length).toBeGreaterThanOrEqual(3);
  });

  it('the remediate handler ignores each, logging one line for it', async () => {
    const lines: string[] = [];
    const f = flowFixture();
    const logger = lineLogger((line) => lines.push(line));
    const run = makeHandler({ config: TEST_CONFIG, logger, ports: f.ports });
    for (const [, value] of cases) expect((await run(value as RemediateEvent)).outcome).toBe('ignored');
    expect(lines).toHaveLength(cases.length);
    expect(lines.every((line) => JSON.parse(line).outcome === 'ignored')).toBe(true);
    expect(f.writes).toEqual([]);
  });
});
