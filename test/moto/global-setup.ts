/**
 * The moto suite's global setup: one moto server for the whole run (the suite runs its files one at a
 * time, each starting from a reset server). The SDK clients of the code under test find it through
 * AWS_ENDPOINT_URL, with dummy credentials, as they would find AWS.
 */
import { startMoto } from './server';

export default async function globalSetup(): Promise<void> {
  const server = await startMoto();
  (globalThis as { __KEYMEND_MOTO__?: unknown }).__KEYMEND_MOTO__ = server;
  process.env.AWS_ENDPOINT_URL = server.endpoint;
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_DEFAULT_REGION = 'us-east-1';
  // The suite must never reach a real account: no shared config or credentials file is read.
  process.env.AWS_CONFIG_FILE = '/dev/null';
  process.env.AWS_SHARED_CREDENTIALS_FILE = '/dev/null';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
}
