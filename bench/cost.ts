/**
 * What keymend costs in US dollars, from the figures the bench measured (requests counted, durations
 * timed) and AWS's public list prices for one Region on one date (PRICES; docs/cost.md cites each
 * page). List prices only: no free tier, no Savings Plans, no tiered discounts, no taxes. A Lambda
 * invocation is billed at least 1 ms, rounded up to the millisecond.
 */

/** AWS list prices, us-east-1, as published on the pages docs/cost.md names. */
export const PRICES = Object.freeze({
  region: 'us-east-1',
  /** The date the prices were read from AWS's pricing pages. */
  asOf: '2026-12-07',
  /** Lambda, Arm (keymend's functions are arm64): per request and per GB-second. */
  lambdaPerRequest: 0.2 / 1e6,
  lambdaArmPerGbSecond: 0.0000133334,
  /** DynamoDB on-demand, standard table class: per write and per read request unit. */
  dynamoPerWriteUnit: 0.625 / 1e6,
  dynamoPerReadUnit: 0.125 / 1e6,
  /** DynamoDB standard table storage per GB-month (the first 25 GB are in the free tier). */
  dynamoPerGbMonth: 0.25,
  /** KMS: per customer managed key per month, and per API request. */
  kmsPerKeyMonth: 1,
  kmsPerRequest: 0.03 / 10_000,
  /** SNS: per publish (64 KB chunk), standard topic. */
  snsPerPublish: 0.5 / 1e6,
  /** CloudWatch: per standard-resolution metric alarm per month. */
  cloudwatchPerAlarmMonth: 0.1,
});

/** The stack's remediate function (infra/keymend-remediation.ts): what a denial runs in. */
export const REMEDIATE_MEMORY_MB = 512;

/** What the stack keeps running with no denial at all (infra/keymend-remediation.ts). */
export const IDLE_RESOURCES = Object.freeze({
  /** The two HMAC keys that sign approval links, and the key that encrypts the notification topic. */
  kmsKeys: 3,
  /** Dead-letter queue, and errors and throttles of each of the two functions. */
  alarms: 5,
  /** Proposals and audit records: a few KB each; 1 MB stands for thousands of them. */
  tableGb: 0.001,
});

export interface CostInputs {
  /** Wall-clock milliseconds of one repeat (warm environment). */
  msPerRepeat: number;
  dynamoRequestsPerRepeat: number;
  /** Wall-clock milliseconds of one new problem, diagnosis and notification included. */
  msPerNewProblem: number;
  dynamoRequestsPerNew: number;
  /** AWS reads of one diagnosis; KMS's among them are billed per request. */
  kmsReadsPerNew: number;
  /** KMS GenerateMac calls signing a new proposal's links (approve and reject: 2). */
  kmsSignaturesPerNew: number;
  /** Publishes of one new problem (one per topic). */
  publishesPerNew: number;
}

export interface Cost {
  region: string;
  pricesAsOf: string;
  lambdaMemoryMb: number;
  /** The stack with no denial, per month: keys, secret, alarms, table storage. */
  idleMonthlyUsd: number;
  /** A million denials of problems already known (repeats), in a storm. */
  perMillionStormDenialsUsd: number;
  /** One new problem: its diagnosis, proposal and notification. */
  perNewProblemUsd: number;
}

const gbSeconds = (ms: number) => (REMEDIATE_MEMORY_MB / 1024) * (Math.ceil(ms) / 1000);

/**
 * DynamoDB requests are counted, not split into reads and writes: each is priced as a write (the
 * dearer unit, so the figure is an upper bound), of one unit (keymend's items are under 1 KB).
 */
export function costOf(inputs: CostInputs): Cost {
  const p = PRICES;
  const lambda = (ms: number) => p.lambdaPerRequest + gbSeconds(ms) * p.lambdaArmPerGbSecond;
  const repeat = lambda(inputs.msPerRepeat) + inputs.dynamoRequestsPerRepeat * p.dynamoPerWriteUnit;
  const newProblem =
    lambda(inputs.msPerNewProblem) +
    inputs.dynamoRequestsPerNew * p.dynamoPerWriteUnit +
    (inputs.kmsReadsPerNew + inputs.kmsSignaturesPerNew) * p.kmsPerRequest +
    inputs.publishesPerNew * p.snsPerPublish;
  const idle =
    IDLE_RESOURCES.kmsKeys * p.kmsPerKeyMonth +
    IDLE_RESOURCES.alarms * p.cloudwatchPerAlarmMonth +
    IDLE_RESOURCES.tableGb * p.dynamoPerGbMonth;
  const round = (usd: number, digits: number) => Number(usd.toFixed(digits));
  return {
    region: p.region,
    pricesAsOf: p.asOf,
    lambdaMemoryMb: REMEDIATE_MEMORY_MB,
    idleMonthlyUsd: round(idle, 2),
    perMillionStormDenialsUsd: round(repeat * 1e6, 2),
    perNewProblemUsd: round(newProblem, 6),
  };
}
