import {
  AwsReadError,
  awsRead,
  collectPages,
  decodePolicyDocument,
  mapConcurrent,
} from '../../functions/adapters/aws-read';
import { KeymendError } from '../../functions/commons/errors';

const named = (name: string, message = name) => Object.assign(new Error(message), { name });

describe('decodePolicyDocument', () => {
  const doc = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Read Orders',
        Effect: 'Allow',
        Action: 'kinesis:GetRecords',
        Resource: 'arn:aws:kinesis:us-east-1:111122223333:stream/orders',
        Condition: { StringEquals: { 'aws:PrincipalTag/team': 'a+b c%d' } },
      },
    ],
  };

  it.each<[string, string]>([
    // What IAM returns: RFC 3986 percent-encoding (spaces %20, plus %2B).
    ['percent-encoded', encodeURIComponent(JSON.stringify(doc, null, 4))],
    // Some encoders leave `+` bare: it is a literal plus, never a space.
    ['bare plus', encodeURIComponent(JSON.stringify(doc)).replaceAll('%2B', '+')],
    ['already decoded JSON', JSON.stringify(doc)],
    ['decoded with leading whitespace', `\n  ${JSON.stringify(doc)}`],
  ])('decodes a %s document', (_name, text) => {
    expect(decodePolicyDocument(text, 'iam:GetRolePolicy r/p')).toEqual(doc);
  });

  it('sees %7B as an encoded brace', () => {
    expect(
      decodePolicyDocument('%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D', 'x'),
    ).toEqual({
      Version: '2012-10-17',
      Statement: [],
    });
  });

  it.each<[string, string, RegExp]>([
    ['bad escape', '%7B%E0%A4%A', /iam:GetRolePolicy r\/p: the policy document is not valid URL encoding/],
    ['not JSON', '%7Bnope', /iam:GetRolePolicy r\/p: the policy document is not JSON/],
  ])('names the call when the document is unreadable (%s)', (_name, text, message) => {
    expect(() => decodePolicyDocument(text, 'iam:GetRolePolicy r/p')).toThrow(message);
    expect(() => decodePolicyDocument(text, 'iam:GetRolePolicy r/p')).toThrow(AwsReadError);
  });
});

describe('awsRead', () => {
  it('returns null for the listed not-found errors', async () => {
    await expect(
      awsRead('iam:GetRole x', async () => Promise.reject(named('NoSuchEntityException')), {
        notFound: ['NoSuchEntityException'],
      }),
    ).resolves.toBeNull();
  });

  it('wraps other errors in an AwsReadError naming the call and keeping the cause', async () => {
    const denied = named('AccessDeniedException', 'User: x is not authorized to perform: iam:GetRole');
    const error = await awsRead('iam:GetRole x', async () => Promise.reject(denied)).catch((e) => e);
    expect(error).toBeInstanceOf(AwsReadError);
    expect(error).toBeInstanceOf(KeymendError);
    expect(error.name).toBe('AwsReadError');
    expect(error.message).toBe(
      'cannot read iam:GetRole x: AccessDeniedException: User: x is not authorized to perform: iam:GetRole',
    );
    expect(error.cause).toBe(denied);
  });
});

describe('collectPages', () => {
  it('follows markers to the last page', async () => {
    const pages: Record<string, { items: number[]; next: string | undefined }> = {
      start: { items: [1, 2], next: 'm1' },
      m1: { items: [3], next: 'm2' },
      m2: { items: [], next: 'm3' },
      m3: { items: [4], next: undefined },
    };
    const asked: (string | undefined)[] = [];
    const items = await collectPages(async (marker) => {
      asked.push(marker);
      return pages[marker ?? 'start'] as { items: number[]; next: string | undefined };
    });
    expect(items).toEqual([1, 2, 3, 4]);
    expect(asked).toEqual([undefined, 'm1', 'm2', 'm3']);
  });

  it('stops on a marker it has already seen instead of looping', async () => {
    await expect(collectPages(async () => ({ items: [1], next: 'same' }))).rejects.toThrow(
      /repeated marker same/,
    );
  });
});

describe('mapConcurrent', () => {
  it('keeps order and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const results = await mapConcurrent([5, 1, 4, 2, 3, 0], 2, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setImmediate(resolve));
      running--;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30, 0]);
    expect(peak).toBe(2);
  });

  it('handles an empty list', async () => {
    await expect(mapConcurrent([], 4, async () => 1)).resolves.toEqual([]);
  });
});
