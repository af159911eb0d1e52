import {
  asciiJson,
  consoleLinks,
  markdownCode,
  markdownText,
  plainValue,
  safeUrl,
  subjectText,
} from '../../functions/render/text';

const SCOPE = {
  accountId: '111122223333',
  region: 'us-east-1',
  principalArn: 'arn:aws:iam::111122223333:role/service-role/orders-consumer',
  operation: 'kms:Decrypt',
  keyArn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  streamArn: 'arn:aws:kinesis:us-east-1:111122223333:stream/orders',
};

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

describe('safeUrl', () => {
  it.each([
    [
      'https://abc.lambda-url.us-east-1.on.aws/p/1?t=a.b',
      'https://abc.lambda-url.us-east-1.on.aws/p/1?t=a.b',
    ],
    ['http://127.0.0.1:8787/p/1?t=x', 'http://127.0.0.1:8787/p/1?t=x'],
    ['http://localhost:8787/p/1', 'http://localhost:8787/p/1'],
    ['https://x.example/a(b)c d', 'https://x.example/a%28b%29c%20d'],
    ['https://x.example/a]b[', 'https://x.example/a%5Db%5B'],
  ])('keeps %s as %s', (url, expected) => {
    expect(safeUrl(url)).toBe(expected);
  });

  it.each([
    'javascript:alert(1)',
    'data:text/html,x',
    'http://evil.example/',
    'https://user:pass@x.example/',
    'not a url',
    '',
  ])('refuses %s', (url) => {
    expect(safeUrl(url)).toBeNull();
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

describe('consoleLinks', () => {
  it('links the role, the key and the stream in their Region', () => {
    expect(consoleLinks(SCOPE)).toEqual({
      principal: 'https://us-east-1.console.aws.amazon.com/iam/home#/roles/details/orders-consumer',
      key: 'https://us-east-1.console.aws.amazon.com/kms/home?region=us-east-1#/kms/keys/1234abcd-12ab-34cd-56ef-1234567890ab',
      stream:
        'https://us-east-1.console.aws.amazon.com/kinesis/home?region=us-east-1#/streams/details/orders/monitoring',
    });
  });

  it('links a user, and uses the console of the China and GovCloud partitions', () => {
    const cn = {
      ...SCOPE,
      region: 'cn-north-1',
      principalArn: 'arn:aws-cn:iam::111122223333:user/alice',
      keyArn: 'arn:aws-cn:kms:cn-north-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      streamArn: 'arn:aws-cn:kinesis:cn-north-1:111122223333:stream/orders',
    };
    const links = consoleLinks(cn);
    expect(links.principal).toBe('https://console.amazonaws.cn/iam/home#/users/details/alice');
    expect(links.key).toMatch(/^https:\/\/console\.amazonaws\.cn\/kms\/home\?region=cn-north-1#/);
    const gov = consoleLinks({
      ...SCOPE,
      region: 'us-gov-west-1',
      keyArn: 'arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    });
    expect(gov.key).toMatch(/^https:\/\/console\.amazonaws-us-gov\.com\/kms\/home\?region=us-gov-west-1#/);
  });

  it('gives no link for a name that is not an ARN of its kind', () => {
    expect(consoleLinks({ ...SCOPE, streamArn: 'orders\nhttps://evil.example', keyArn: '' })).toMatchObject({
      key: null,
      stream: null,
    });
  });
});
