/**
 * Signing approval-link tokens (core/token.ts) with two keys: approve and reject links with the
 * decision key, revoke links with the revoke key. The remediate function (which parses event text)
 * is given the decision key only, so it cannot make a revoke link; the approval function has both.
 *
 * Deployed, the keys are KMS HMAC keys (`HMAC_256`, GenerateMac / VerifyMac): the key material never
 * leaves KMS, and the stack lets each role use only its keys (infra/iam.ts `signingStatements`).
 * `keymend local` and the tests use the same two-key separation with in-process keys.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { GenerateMacCommand, type KMSClient, VerifyMacCommand } from '@aws-sdk/client-kms';
import { KeymendError } from '../commons/errors';
import type { LinkSigner } from '../core/ports';
import {
  joinToken,
  type SigningKeyName,
  signingKeyFor,
  splitToken,
  type TokenCheck,
  type TokenClaims,
  tokenBody,
  unexpired,
} from '../core/token';

/** Asked to sign with a key this function does not hold (the remediate function and a revoke link). */
export class SigningKeyUnavailableError extends KeymendError {
  override readonly name: string = 'SigningKeyUnavailableError';
}

/** A MAC primitive over named keys. */
interface Macs {
  has(key: SigningKeyName): boolean;
  generate(key: SigningKeyName, message: string): Promise<Uint8Array>;
  verify(key: SigningKeyName, message: string, mac: Uint8Array): Promise<boolean>;
}

/** The LinkSigner over a MAC primitive: the key is the one the token's action needs. */
class TokenSigner implements LinkSigner {
  readonly keys: readonly SigningKeyName[];

  constructor(private readonly macs: Macs) {
    this.keys = (['decision', 'revoke'] as const).filter((key) => macs.has(key));
  }

  async sign(claims: TokenClaims): Promise<string> {
    const key = signingKeyFor(claims.action);
    if (!this.macs.has(key)) {
      throw new SigningKeyUnavailableError(
        `this function holds no ${key} key: it cannot sign a ${claims.action} link`,
      );
    }
    return joinToken(claims, await this.macs.generate(key, tokenBody(claims)));
  }

  async verify(token: unknown, nowSeconds: number): Promise<TokenCheck> {
    const split = splitToken(token);
    if (!split.ok) return split;
    const key = signingKeyFor(split.claims.action);
    if (!this.macs.has(key) || !(await this.macs.verify(key, split.body, split.mac))) {
      return { ok: false, problem: 'bad-signature' };
    }
    return unexpired(split.claims, nowSeconds);
  }
}

/** KMS's MAC algorithm for an HMAC_256 key. */
const MAC_ALGORITHM = 'HMAC_SHA_256';

/**
 * Tokens signed by KMS HMAC keys: `keys.decision` (every function) and `keys.revoke` (the approval
 * function only). A MAC KMS refuses (KMSInvalidMacException) is a bad signature; any other error
 * (throttling, access denied) is thrown.
 */
export function kmsLinkSigner(kms: KMSClient, keys: { decision: string; revoke?: string }): LinkSigner {
  const keyId = (key: SigningKeyName) => (key === 'decision' ? keys.decision : keys.revoke);
  return new TokenSigner({
    has: (key) => keyId(key) !== undefined,
    async generate(key, message) {
      const out = await kms.send(
        new GenerateMacCommand({
          KeyId: keyId(key),
          Message: Buffer.from(message, 'utf8'),
          MacAlgorithm: MAC_ALGORITHM,
        }),
      );
      if (!out.Mac) throw new KeymendError(`kms:GenerateMac with the ${key} key returned no Mac`);
      return out.Mac;
    },
    async verify(key, message, mac) {
      try {
        const out = await kms.send(
          new VerifyMacCommand({
            KeyId: keyId(key),
            Message: Buffer.from(message, 'utf8'),
            Mac: mac,
            MacAlgorithm: MAC_ALGORITHM,
          }),
        );
        return out.MacValid === true;
      } catch (error) {
        if ((error as Error)?.name === 'KMSInvalidMacException') return false;
        throw error;
      }
    },
  });
}

/** Shorter in-process keys are refused: HMAC-SHA256 wants at least 32 bytes. */
export const MIN_SIGNING_KEY_BYTES = 32;

/**
 * The in-process stand-in (`keymend local`, tests): HMAC-SHA256 with the given keys, the same
 * separation as KMS's (give the remediate side `{ decision }` only).
 */
export function inProcessLinkSigner(keys: { decision: Uint8Array; revoke?: Uint8Array }): LinkSigner {
  for (const [name, key] of Object.entries(keys)) {
    if (key !== undefined && key.length < MIN_SIGNING_KEY_BYTES) {
      throw new KeymendError(
        `the ${name} signing key has ${key.length} bytes; at least ${MIN_SIGNING_KEY_BYTES} are needed`,
      );
    }
  }
  const secret = (key: SigningKeyName) => (key === 'decision' ? keys.decision : keys.revoke);
  const hmac = (key: Uint8Array, message: string) => createHmac('sha256', key).update(message).digest();
  return new TokenSigner({
    has: (key) => secret(key) !== undefined,
    generate: async (key, message) => hmac(secret(key) as Uint8Array, message),
    async verify(key, message, mac) {
      const expected = hmac(secret(key) as Uint8Array, message);
      return mac.length === expected.length && timingSafeEqual(mac, expected);
    },
  });
}
