/**
 * The approval-token signing key, read from Secrets Manager once per cold start and kept in memory.
 * A failed read is not cached: the next request tries again.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { KeymendError } from '../commons/errors';
import type { SecretSource } from '../core/ports';

/** Shorter keys are refused: HMAC-SHA256 wants at least its output size of key material. */
export const MIN_SIGNING_KEY_BYTES = 32;

export class SecretsManagerSecret implements SecretSource {
  private cached: Promise<Uint8Array> | null = null;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
  ) {}

  signingKey(): Promise<Uint8Array> {
    if (!this.cached) {
      this.cached = this.read();
      this.cached.catch(() => {
        this.cached = null;
      });
    }
    return this.cached;
  }

  private async read(): Promise<Uint8Array> {
    const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
    const key =
      out.SecretBinary !== undefined
        ? new Uint8Array(out.SecretBinary)
        : new Uint8Array(Buffer.from(out.SecretString ?? '', 'utf8'));
    if (key.length < MIN_SIGNING_KEY_BYTES) {
      throw new KeymendError(
        `the signing secret ${this.secretId} holds ${key.length} bytes; at least ${MIN_SIGNING_KEY_BYTES} are needed`,
      );
    }
    return key;
  }
}
