/**
 * The OpenID Connect client secret from Secrets Manager (sign-in, issue 21): read once, on first use,
 * and kept for the life of the execution environment; a failed read is not kept, so the next request
 * tries again. The secret's string is the client secret itself.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { KeymendError } from '../commons/errors';

/** A function that returns the secret's string, reading it at most once while it succeeds. */
export function clientSecretReader(client: SecretsManagerClient, secretArn: string): () => Promise<string> {
  let value: Promise<string> | undefined;
  const read = async () => {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
    const secret = out.SecretString?.trim() ?? '';
    if (secret === '') throw new KeymendError(`the OIDC client secret ${secretArn} holds no string`);
    return secret;
  };
  return () => {
    value ??= read().catch((error: unknown) => {
      value = undefined;
      throw error;
    });
    return value;
  };
}
