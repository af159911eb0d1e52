/**
 * The account, keys, streams and principals of the sample events and the demo snapshot
 * (events/accounts/demo.json), shared by the tests.
 */

/** The demo account, where keymend runs. */
export const ACCOUNT = '111122223333';
/** Another account (cross-account callers). */
export const OTHER_ACCOUNT = '444455556666';

/** The customer managed key of the `orders` stream. */
export const ORDERS_KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
/** The customer managed key of the `clicks` stream. */
export const CLICKS_KEY = 'arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321';
/** The AWS managed key `alias/aws/kinesis`. */
export const KINESIS_KEY = 'arn:aws:kms:us-east-1:111122223333:key/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111';

export const ORDERS = 'arn:aws:kinesis:us-east-1:111122223333:stream/orders';
export const CLICKS = 'arn:aws:kinesis:us-east-1:111122223333:stream/clicks';

/** The consumer role (with a path) of the `orders` stream, and one of its sessions. */
export const CONSUMER = 'arn:aws:iam::111122223333:role/service-role/orders-consumer';
export const CONSUMER_SESSION = 'arn:aws:sts::111122223333:assumed-role/orders-consumer/i-0abc123';
/** The producer role of the `orders` stream. */
export const PRODUCER = 'arn:aws:iam::111122223333:role/orders-producer';
/** An IAM user. */
export const ALICE = 'arn:aws:iam::111122223333:user/alice';
