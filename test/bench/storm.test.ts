/**
 * The storm figure's accounting on a tiny storm (the bench itself runs apart from the tests): every
 * problem diagnosed once, reads and publishes counted per problem, repeats costing DynamoDB only.
 */
import { longestChain } from '../../bench/round-trips';
import { stormBench } from '../../bench/storm';

// Two hundred events through dynalite take a few seconds: a generous bound, not a timing assertion.
jest.setTimeout(120_000);

describe('stormBench', () => {
  it('counts 200 denials of 5 problems: 5 diagnoses, their reads, 5 publishes per topic', async () => {
    const storm = await stormBench({ events: 200, distinct: 5, batch: 50 });
    expect(storm).toMatchObject({ events: 200, distinct: 5, outcomes: { proposed: 5, repeat: 195 } });
    expect(storm.readsPerDiagnosis).toBeGreaterThan(0);
    expect(storm.accountReads).toBe(5 * storm.readsPerDiagnosis);
    expect(storm.publishesByTopic).toEqual({ email: 5, chat: 5 });
    expect(storm.publishes).toBe(5);
    // The warm function counts repeats in memory: the write-back of each problem's count at the end
    // is what they cost (5 requests over 195 repeats), whatever raced the diagnoses.
    expect(storm.dynamoRequestsPerRepeat).toBeGreaterThan(0);
    expect(storm.dynamoRequestsPerRepeat).toBeLessThanOrEqual(5 / 195);
  });
});

describe('longestChain', () => {
  it('counts calls overlapping in time once, and calls one after another each', () => {
    const calls = [
      { name: 'a', start: 0, end: 10 },
      { name: 'b1', start: 10, end: 20 },
      { name: 'b2', start: 11, end: 25 },
      { name: 'c', start: 25, end: 30 },
      { name: 'd', start: 5, end: 28 },
    ];
    expect(longestChain(calls).map((c) => c.name)).toEqual(['a', 'b2', 'c']);
    expect(longestChain([])).toEqual([]);
  });
});
