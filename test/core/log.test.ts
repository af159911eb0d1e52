import { capString, createLogger, formatLogLine, MAX_LOG_STRING } from '../../functions/core/log';

describe('formatLogLine', () => {
  it('writes level and message first, then the fields, on one line', () => {
    const line = formatLogLine('info', 'intake decision', { reason: 'not-kms', count: 2 });
    expect(line).toBe('{"level":"info","message":"intake decision","reason":"not-kms","count":2}');
  });

  it('caps long strings and says how much was cut', () => {
    const parsed = JSON.parse(formatLogLine('info', 'm', { arn: 'a'.repeat(MAX_LOG_STRING + 10) }));
    expect(parsed.arn).toBe(`${'a'.repeat(MAX_LOG_STRING)}...[10 more chars]`);
  });

  it.each([
    ['a newline', 'x\ny'],
    ['a carriage return', 'x\ry'],
    ['a line separator', 'x\u2028y'],
    ['a paragraph separator', 'x\u2029y'],
  ])('keeps %s inside the line', (_what, text) => {
    const line = formatLogLine('warn', 'm', { text });
    expect(line).not.toMatch(/[\n\r\u2028\u2029]/);
    expect(JSON.parse(line).text).toBe(text);
  });

  it.each([
    ['a right-to-left override', 'alice\u202Eexe.nimda'],
    ['a next-line control', 'x\u0085y'],
    ['a zero-width space', 'x\u200By'],
    ['DEL', 'x\u007Fy'],
    ['a surrogate pair', 'key \u{1F511}'],
    ['a lone surrogate', 'x\uD800y'],
    ['an escape sequence', 'x\u001b[31my'],
  ])('writes %s as a JSON escape, keeping the line printable ASCII', (_what, text) => {
    const line = formatLogLine('info', 'm', { text });
    expect(line).toMatch(/^[\x20-\x7e]+$/);
    expect(JSON.parse(line).text).toBe(text);
  });

  it('does not let a field overwrite level or message, nor set a prototype', () => {
    const fields = JSON.parse('{"level":"debug","message":"forged","__proto__":{"polluted":true}}');
    const parsed = JSON.parse(formatLogLine('error', 'real', fields));
    expect(parsed).toMatchObject({
      level: 'error',
      message: 'real',
      field_level: 'debug',
      field_message: 'forged',
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('bounds depth, size and cycles instead of throwing', () => {
    const cyclic: Record<string, unknown> = { name: 'c' };
    cyclic.self = cyclic;
    const deep = { a: { b: { c: { d: { e: { f: 1 } } } } } };
    const wide = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, i]));
    const parsed = JSON.parse(
      formatLogLine('info', 'm', { cyclic, deep, wide, list: Array(60).fill(0), n: Number.NaN, b: 1n }),
    );
    expect(parsed.cyclic.self).toBe('[cycle]');
    expect(parsed.deep.a.b.c.d).toBe('[object]');
    expect(parsed.wide._truncated).toBe('10 more keys');
    expect(parsed.list).toHaveLength(51);
    expect(parsed.n).toBe('NaN');
    expect(parsed.b).toBe('[bigint]');
  });

  it('logs an unreadable field set instead of throwing', () => {
    const hostile = {
      get boom(): string {
        throw new Error('getter');
      },
    };
    expect(JSON.parse(formatLogLine('info', 'm', hostile))).toEqual({
      level: 'info',
      message: 'm',
      fields: '[unloggable]',
    });
  });
});

describe('createLogger', () => {
  it('drops lines below the minimum level', () => {
    const lines: string[] = [];
    const logger = createLogger((line) => lines.push(line), 'warn');
    logger.info('quiet');
    logger.error('loud');
    expect(lines.map((l) => JSON.parse(l).message)).toEqual(['loud']);
  });

  it('capString leaves short strings alone', () => {
    expect(capString('short', 10)).toBe('short');
  });
});
