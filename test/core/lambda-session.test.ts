import { lambdaFunctionCandidate } from '../../functions/core/lambda-session';

const session = (name: string) => `arn:aws:sts::111122223333:assumed-role/orders-consumer/${name}`;

describe('lambdaFunctionCandidate', () => {
  it.each([
    ['orders-consumer-fn', 'orders-consumer-fn'],
    ['Orders_Consumer_2', 'Orders_Consumer_2'],
    ['jane.doe@example.com', null],
    ['a=b', null],
    ['x'.repeat(64), 'x'.repeat(64)],
  ])('a consumer session named %s: %s', (name, expected) => {
    expect(
      lambdaFunctionCandidate({
        operation: 'kms:Decrypt',
        principalType: 'AssumedRole',
        sessionArn: session(name),
      }),
    ).toBe(expected);
  });

  it('is null for a producer and for a user', () => {
    expect(
      lambdaFunctionCandidate({
        operation: 'kms:GenerateDataKey',
        principalType: 'AssumedRole',
        sessionArn: session('orders-producer-fn'),
      }),
    ).toBeNull();
    expect(
      lambdaFunctionCandidate({
        operation: 'kms:Decrypt',
        principalType: 'IAMUser',
        sessionArn: 'arn:aws:iam::111122223333:user/analyst',
      }),
    ).toBeNull();
  });
});
