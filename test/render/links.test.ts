import { consoleLinks, safeUrl } from '../../functions/render/links';

const SCOPE = {
  accountId: '111122223333',
  region: 'us-east-1',
  principalArn: 'arn:aws:iam::111122223333:role/service-role/orders-consumer',
  operation: 'kms:Decrypt',
  keyArn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  streamArn: 'arn:aws:kinesis:us-east-1:111122223333:stream/orders',
};
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
