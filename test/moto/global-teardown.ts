/** Stops the moto server the global setup started. */
import { type MotoServer, stopMoto } from './server';

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as { __KEYMEND_MOTO__?: MotoServer }).__KEYMEND_MOTO__;
  if (server) await stopMoto(server);
}
