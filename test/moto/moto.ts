/**
 * What every moto test file shares: the server's address (from the global setup's AWS_ENDPOINT_URL),
 * a reset to an empty server, the switch for moto's request authorization, and SDK clients built the
 * way keymend builds its own (adapters/client-config.ts).
 */
import { clientConfig } from '../../functions/adapters/client-config';

export const REGION = 'us-east-1';
/** The account moto puts everything in when called with its default credentials. */
export const MOTO_ACCOUNT = '123456789012';

/** The moto server of this run. */
export function motoEndpoint(): string {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  if (!endpoint) throw new Error('AWS_ENDPOINT_URL is not set: run these tests with `npm run test:moto`');
  return endpoint;
}

/** Empties every service of the server: each test file starts from nothing. */
export async function resetMoto(): Promise<void> {
  const response = await fetch(`${motoEndpoint()}/moto-api/reset`, { method: 'POST' });
  if (!response.ok) throw new Error(`moto reset answered ${response.status}`);
}

/**
 * moto's request authorization: after `unauthenticated` more requests, every request must be signed
 * by an access key of an IAM user in moto and be allowed by that user's policies. `Infinity` turns
 * it off (the server's default).
 */
export async function setMotoAuthorization(unauthenticated: number): Promise<void> {
  const response = await fetch(`${motoEndpoint()}/moto-api/reset-auth`, {
    method: 'POST',
    body: Number.isFinite(unauthenticated) ? String(unauthenticated) : 'inf',
  });
  if (!response.ok) throw new Error(`moto reset-auth answered ${response.status}`);
}

/** keymend's client configuration for moto, optionally with other credentials. */
export function motoClientConfig(credentials?: { accessKeyId: string; secretAccessKey: string }) {
  return { ...clientConfig({ region: REGION, maxAttempts: 2 }), ...(credentials ? { credentials } : {}) };
}
