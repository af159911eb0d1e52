/**
 * The approval-token signing key from Secrets Manager: read once (GetSecretValue) and cached for the
 * life of the execution environment. A failed read is not cached, so the next invocation tries again.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { KeymendError } from '../commons/errors';
import type { SecretSource } from '../core/ports';

/** Shorter keys are refused: HMAC-SHA256 wants at least 32 bytes of secret. */
export const MIN_SIGNING_KEY_BYTES = 32;

export class SecretsManagerSecret implements SecretSource {
  private key: Promise<Uint8Array> | undefined;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
  ) {}

  signingKey(): Promise<Uint8Array> {
    this.key ??= this.read().catch((error: unknown) => {
      this.key = undefined;
      throw error;
    });
    return this.key;
  }

  private async read(): Promise<Uint8Array> {
    const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
    const bytes = out.SecretBinary
      ? Buffer.from(out.SecretBinary)
      : out.SecretString !== undefined
        ? Buffer.from(out.SecretString, 'utf8')
        : Buffer.alloc(0);
    if (bytes.length < MIN_SIGNING_KEY_BYTES) {
      throw new KeymendError(
        `the signing secret ${this.secretId} holds ${bytes.length} bytes; at least ${MIN_SIGNING_KEY_BYTES} are needed`,
      );
    }
    return bytes;
  }
}
