/**
 * A key KMS will not let keymend read (its key policy admits neither keymend's role nor IAM policies)
 * is a refusal that names the key policy and what to add, not a failure that is retried.
 */
import { KeyUnreadableError } from '../../functions/commons/errors';
import type { AccountReader } from '../../functions/core/account';
import { diagnose } from '../../functions/core/diagnose';
import { gatherState } from '../../functions/core/gather';
import { intake } from '../../functions/core/intake';
import { snapshotReader } from '../helpers/accounts';
import { loadEvent } from '../helpers/events';

const ORDERS_KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function request() {
  const read = intake(loadEvent('consumer-decrypt-denied-service-role.eventbridge.json'));
  if (!read.match) throw new Error('sample does not match');
  return read.request;
}

/** The demo account, except that reading a key fails with `error`. */
function failingKeyReader(error: Error): AccountReader {
  const demo = snapshotReader('demo');
  return {
    accountId: demo.accountId,
    region: demo.region,
    getPrincipal: (arn) => demo.getPrincipal(arn),
    getStream: (arn) => demo.getStream(arn),
    getOrganization: () => demo.getOrganization(),
    getKey: async () => {
      throw error;
    },
  };
}

describe('an unreadable key', () => {
  it('becomes key-unreadable, naming the key, the denied call and the statement to add', async () => {
    const state = await gatherState(
      failingKeyReader(new KeyUnreadableError(ORDERS_KEY, 'kms:GetKeyPolicy')),
      request(),
    );
    expect(state.key).toBeNull();
    expect(state.unreadableKey).toEqual({ key: ORDERS_KEY, call: 'kms:GetKeyPolicy' });
    const result = diagnose(request(), state);
    expect(result).toMatchObject({ verdict: 'refuse', code: 'key-unreadable' });
    expect(result.reason).toContain(
      `keymend may not read the key ${ORDERS_KEY}: KMS denied kms:GetKeyPolicy`,
    );
    expect(result.reason).toContain('kms:DescribeKey, kms:GetKeyPolicy and kms:ListGrants');
    expect(result.reason).toContain('arn:aws:iam::111122223333:root');
  });

  it('any other read failure still fails the invocation (it is retried)', async () => {
    await expect(gatherState(failingKeyReader(new Error('throttled')), request())).rejects.toThrow(
      'throttled',
    );
  });
});
