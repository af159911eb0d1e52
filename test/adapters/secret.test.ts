import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { SecretsManagerSecret } from '../../functions/adapters/secret';

const secrets = mockClient(SecretsManagerClient);
const KEY = 'k'.repeat(48);

beforeEach(() => secrets.reset());

describe('SecretsManagerSecret', () => {
  it('reads the secret once and serves it from memory after', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: 'arn:secret' }).resolves({ SecretString: KEY });
    const source = new SecretsManagerSecret(new SecretsManagerClient({}), 'arn:secret');
    const [a, b] = await Promise.all([source.signingKey(), source.signingKey()]);
    const c = await source.signingKey();
    expect(Buffer.from(a).toString()).toBe(KEY);
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('refuses a key shorter than 32 bytes', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'short' });
    const source = new SecretsManagerSecret(new SecretsManagerClient({}), 'arn:secret');
    await expect(source.signingKey()).rejects.toThrow('at least 32');
  });

  it('does not cache a failed read: the next request tries again', async () => {
    secrets.on(GetSecretValueCommand).rejectsOnce(new Error('throttled')).resolves({ SecretString: KEY });
    const source = new SecretsManagerSecret(new SecretsManagerClient({}), 'arn:secret');
    await expect(source.signingKey()).rejects.toThrow('throttled');
    expect(Buffer.from(await source.signingKey()).toString()).toBe(KEY);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });
});
