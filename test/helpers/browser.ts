/**
 * The one way tests get a browser: the Chromium that `@sparticuz/chromium` carries brotli-packed in
 * node_modules (so `npm ci` alone provides it, at the version the lockfile pins), driven by
 * playwright-core. Nothing here looks for a browser installed on the machine.
 *
 * The package inflates its binary into `os.tmpdir()` and answers "already there" for any file of
 * that name, even one another process is still writing. Several test runs share this machine, so
 * the binary is inflated into a private staging folder and renamed into place (a rename is atomic),
 * under a folder named for the package's version.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sparticuz from '@sparticuz/chromium';
import { type Browser, chromium } from 'playwright-core';

// The package's exports hide its package.json: read it beside the entry point (build/cjs/index.cjs).
const ENTRY = require.resolve('@sparticuz/chromium');
const PACKAGE_VERSION: string = JSON.parse(
  readFileSync(path.join(path.dirname(ENTRY), '../../package.json'), 'utf8'),
).version;
const run = promisify(execFile);

/** Where the inflated browser lives: one folder per package version, shared by every run. */
export const CHROMIUM_HOME = path.join(tmpdir(), `keymend-chromium-${PACKAGE_VERSION}`);

/** Inflates the packed Chromium once (atomically) and returns the path of its binary. */
export async function chromiumExecutable(): Promise<string> {
  const binary = path.join(CHROMIUM_HOME, 'chromium');
  if (existsSync(binary)) return binary;
  const staging = mkdtempSync(`${CHROMIUM_HOME}.staging-`);
  // The package inflates into os.tmpdir(), which a jest test cannot redirect (its process.env is a
  // copy): a child Node process with TMPDIR set to the staging folder does the inflating.
  const { stdout } = await run(
    process.execPath,
    ['-e', 'require(process.argv[1]).executablePath().then((p) => process.stdout.write(p))', ENTRY],
    { env: { ...process.env, TMPDIR: staging }, timeout: 120_000 },
  );
  const inflated = stdout.trim();
  if (path.dirname(inflated) !== staging) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`@sparticuz/chromium inflated into ${inflated}, not into ${staging}`);
  }
  try {
    renameSync(staging, CHROMIUM_HOME);
  } catch (error) {
    // Another run renamed its copy first: use that one.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(binary)) throw error;
  }
  return binary;
}

/** Launches the packed Chromium headless. Close it in `afterAll`. */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: await chromiumExecutable(),
    // The package's serverless flags (headless shell, no sandbox, no zygote) minus --single-process,
    // which Chromium on a full Linux does not need and which makes a crashed page take the browser.
    args: [
      ...sparticuz.args.filter((arg) => arg !== '--single-process'),
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 60_000,
  });
}
