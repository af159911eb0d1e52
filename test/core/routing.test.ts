/** The routing map's choice (issue 25): account first, then the first OU of the map above the account. */
import { parseRoutes, routedTopic, routeFor, routesNeedUnits } from '../../functions/core/routing';

const EMAIL = 'arn:aws:sns:eu-west-1:999900001111:Keymend-EmailTopic-ABC';
const routes = parseRoutes(
  [
    '111122223333=payments',
    'ou-ab12-22222222=arn:aws:sns:eu-west-1:444455556666:data-team',
    'ou-ab12-11111111=platform',
  ].join(','),
  EMAIL,
);

describe('parseRoutes', () => {
  it('keeps the order, resolves names beside the e-mail topic and keeps ARNs', () => {
    expect(routes).toEqual([
      { key: '111122223333', topicArn: 'arn:aws:sns:eu-west-1:999900001111:payments' },
      { key: 'ou-ab12-22222222', topicArn: 'arn:aws:sns:eu-west-1:444455556666:data-team' },
      { key: 'ou-ab12-11111111', topicArn: 'arn:aws:sns:eu-west-1:999900001111:platform' },
    ]);
    expect(parseRoutes('', EMAIL)).toEqual([]);
    expect(parseRoutes(' , ', EMAIL)).toEqual([]);
  });

  it.each([
    ['11112222333=x', /12 digits/],
    ['r-ab12=x', /root/],
    ['team=x', /neither a 12-digit account id nor an OU id/],
    ['111122223333', /not KEY=TOPIC/],
    ['111122223333=alerts.fifo', /neither a topic ARN nor a topic name/],
    ['111122223333=arn:aws:sqs:eu-west-1:111122223333:q', /not a standard SNS topic ARN/],
    ['111122223333=a,111122223333=b', /routed twice/],
  ])('refuses %p', (value, why) => {
    expect(() => parseRoutes(value, EMAIL)).toThrow(why);
  });
});

describe('routeFor', () => {
  it.each([
    ['an account routed by itself, whatever its OUs', '111122223333', ['ou-ab12-22222222'], '111122223333'],
    [
      'the nearest OU when the map lists it first',
      '777788889999',
      ['ou-ab12-22222222', 'ou-ab12-11111111'],
      'ou-ab12-22222222',
    ],
    [
      'the OU above, when only it is routed',
      '777788889999',
      ['ou-ab12-33333333', 'ou-ab12-11111111'],
      'ou-ab12-11111111',
    ],
    ['nothing for an account in no routed OU', '777788889999', ['ou-ab12-33333333'], null],
    ['nothing when the OUs are not known', '777788889999', null, null],
  ])('%s', (_what, account, units, expected) => {
    expect(routeFor(routes, account, units)?.key ?? null).toBe(expected);
  });

  it('takes the first OU in the map order, not the nearest, when both hold the account', () => {
    const parentFirst = parseRoutes('ou-ab12-11111111=top,ou-ab12-22222222=near', EMAIL);
    expect(routeFor(parentFirst, '777788889999', ['ou-ab12-22222222', 'ou-ab12-11111111'])?.key).toBe(
      'ou-ab12-11111111',
    );
  });

  it('says when OUs are worth reading', () => {
    expect(routesNeedUnits(routes)).toBe(true);
    expect(routesNeedUnits(parseRoutes('111122223333=payments', EMAIL))).toBe(false);
  });
});

describe('routedTopic', () => {
  it('follows the route the proposal kept while the map has it', () => {
    expect(routedTopic(routes, '777788889999', 'ou-ab12-22222222')).toBe(
      'arn:aws:sns:eu-west-1:444455556666:data-team',
    );
  });

  it('falls back to the account route, then to none, when the kept route is gone', () => {
    expect(routedTopic(routes, '111122223333', 'ou-ab12-99999999')).toBe(
      'arn:aws:sns:eu-west-1:999900001111:payments',
    );
    expect(routedTopic(routes, '777788889999', 'ou-ab12-99999999')).toBeNull();
    expect(routedTopic(routes, '777788889999', undefined)).toBeNull();
  });

  it("never sends one account's messages to another account's route", () => {
    expect(routedTopic(routes, '777788889999', '111122223333')).toBeNull();
  });
});
