import { editDistance, nearest } from '../../functions/commons/nearest';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['kms:Decrypt', 'kms:Decrypt', 0],
    ['kms:Decrpyt', 'kms:Decrypt', 2],
    ['orders-consumr', 'orders-consumer', 1],
    ['', 'abc', 3],
    ['abc', '', 3],
  ])('%j to %j is %d', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });
});

describe('nearest', () => {
  const names = ['--output', '--account', '--event'];

  it('prefers a name equal but for case, whatever the limit', () => {
    expect(nearest('--OUTPUT', names, 1)).toBe('--output');
    expect(nearest('', [''], 0)).toBe('');
  });

  it('takes the fewest edits below the limit, and nothing at or beyond it', () => {
    expect(nearest('--outptu', names, 3)).toBe('--output');
    expect(nearest('--outptu', names, 2)).toBeNull();
    expect(nearest('--zzz', names, 3)).toBeNull();
  });

  it('compares the name nameOf gives', () => {
    const roles = ['role/service-role/orders-consumer', 'role/admin'] as const;
    const short = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1);
    expect(nearest('orders-consumr', roles, 3, short)).toBe('role/service-role/orders-consumer');
  });
});
