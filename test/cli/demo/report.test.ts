import { abbreviate, wrapLine } from '../../../cli/demo/report';

describe('the demo text', () => {
  it.each([
    ['orders-consumer', 21, 'orders-consumer'],
    ['kinesis-analytics-orders-flink-us-east-1', 21, 'kinesis-a...us-east-1'],
    ['orders-processor-role-x1y2z3', 21, 'orders-pr...le-x1y2z3'],
  ])('abbreviates %j to %i characters as %j', (text, width, expected) => {
    const out = abbreviate(text, width);
    expect(out).toBe(expected);
    expect(out.length).toBeLessThanOrEqual(width);
  });

  it('leaves a short line alone and drops its trailing spaces', () => {
    expect(wrapLine('  Key:      ')).toEqual(['  Key:']);
  });

  it('wraps a long line at word boundaries, continuing two spaces further in', () => {
    const line = `  ${'word '.repeat(30).trim()}`;
    const lines = wrapLine(line, 40);
    expect(lines.every((l) => l.length <= 40)).toBe(true);
    expect(lines[0]?.startsWith('  word')).toBe(true);
    expect(lines.slice(1).every((l) => l.startsWith('    word'))).toBe(true);
    expect(lines.join(' ').split(/\s+/).filter(Boolean)).toHaveLength(30);
  });

  it('keeps a link whole, on its own line, with as much of the indent as fits', () => {
    const link = `http://127.0.0.1:8787/p/abc?a=approve&t=${'x'.repeat(60)}`;
    expect(wrapLine(`  Review and approve: ${link}`, 80)).toEqual(['  Review and approve:', link]);
    const arn = '"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",';
    expect(wrapLine(`    "keyArn": ${arn}`, 80)).toEqual(['    "keyArn":', `  ${arn}`]);
  });
});
