import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { SecretsManagerSecret } from '../../functions/adapters/secret';

const sm = mockClient(SecretsManagerClient);
const SECRET_ID = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:keymend-AbCdEf';

describe('SecretsManagerSecret', () => {
  beforeEach(() => sm.reset());

  it('reads the secret once and caches it', async () => {
    sm.on(GetSecretValueCommand, { SecretId: SECRET_ID }).resolves({ SecretString: 'k'.repeat(40) });
    const secret = new SecretsManagerSecret(new SecretsManagerClient({ region: 'us-east-1' }), SECRET_ID);
    const [a, b] = await Promise.all([secret.signingKey(), secret.signingKey()]);
    expect(Buffer.from(a).toString()).toBe('k'.repeat(40));
    expect(await secret.signingKey()).toBe(b);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('refuses a short key and tries again on the next call', async () => {
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: 'short' })
      .resolves({ SecretBinary: new Uint8Array(32).fill(9) });
    const secret = new SecretsManagerSecret(new SecretsManagerClient({ region: 'us-east-1' }), SECRET_ID);
    await expect(secret.signingKey()).rejects.toThrow(/5 bytes; at least 32/);
    expect(Array.from(await secret.signingKey())).toEqual(new Array(32).fill(9));
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });
});
