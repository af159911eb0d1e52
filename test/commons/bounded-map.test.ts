import { setBounded } from '../../functions/commons/bounded-map';

describe('setBounded', () => {
  it('keeps the newest entries up to the limit, a key set again counting as new', () => {
    const map = new Map<string, number>();
    for (const [key, value] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ] as const)
      setBounded(map, key, value, 3);
    setBounded(map, 'a', 4, 3);
    setBounded(map, 'd', 5, 3);
    expect([...map]).toEqual([
      ['c', 3],
      ['a', 4],
      ['d', 5],
    ]);
  });

  it('shrinks a map already past a smaller limit', () => {
    const map = new Map([
      [1, 'x'],
      [2, 'y'],
      [3, 'z'],
    ]);
    setBounded(map, 4, 'w', 2);
    expect([...map.keys()]).toEqual([3, 4]);
  });
});
