import {
  asciiJson,
  markdownCode,
  markdownText,
  plainValue,
  subjectText,
} from '../../functions/render/escape';

describe('plainValue', () => {
  it.each([
    ['a\nb', 'a\\u000ab'],
    ['a\r\nb', 'a\\u000d\\u000ab'],
    ['\u2028\u202e\u0000\u001b\u007f', '\\u2028\\u202e\\u0000\\u001b\\u007f'],
    ['caf\u00e9', 'caf\\u00e9'],
    ['back\\slash', 'back\\\\slash'],
    ['see https://evil.example and www.evil.example', 'see https[:]//evil.example and www[.]evil.example'],
    ['<b>*x*</b>', '<b>*x*</b>'],
  ])('%j is one visible line: %s', (input, expected) => {
    expect(plainValue(input)).toBe(expected);
  });

  it('caps long text and says how much was left out', () => {
    expect(plainValue('x'.repeat(30), 10)).toBe('xxxxxxxxxx... (20 more characters)');
  });

  it('an escape written into the input cannot pass for one keymend wrote', () => {
    expect(plainValue('\\u000a')).toBe('\\\\u000a');
  });
});

describe('subjectText', () => {
  it('keeps printable ASCII only, on one line, whitespace collapsed, URLs defanged', () => {
    expect(subjectText(' a\r\n\tb\u2028c \u00e9\u0000 https://x ')).toBe('a b c ?? https[:]//x');
  });
});

describe('markdown', () => {
  it('escapes every markup character in prose', () => {
    expect(markdownText('*b* _i_ ~s~ `c` [l](u) <u|l> # | & {x} \\')).toBe(
      '\\*b\\* \\_i\\_ \\~s\\~ \\u0060c\\u0060 \\[l\\](u) \\u003cu\\|l\\u003e \\# \\| \\u0026 \\{x\\} \\\\',
    );
  });

  it('a code span cannot be closed, and holds no link syntax or line break', () => {
    expect(markdownCode('a`b<c>&d\ne')).toBe('`a\\u0060b\\u003cc\\u003e\\u0026d\\u000ae`');
  });
});

describe('asciiJson', () => {
  it('is the same JSON value, in printable ASCII', () => {
    const value = { a: 'caf\u00e9\u2028\n`', b: [1, null] };
    const text = asciiJson(value, /`/g);
    expect(text).toMatch(/^[\x20-\x7e\n]+$/);
    expect(text).not.toContain('`');
    expect(JSON.parse(text)).toEqual(value);
  });
});
