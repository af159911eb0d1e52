/**
 * moto's server mode (`python3 -m moto.server`), the AWS API emulator, on a free port of 127.0.0.1:
 * started by the moto suite's global setup (jest.moto.config.js), stopped by its teardown.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

export interface MotoServer {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  process: ChildProcess;
}

/** The Python that runs moto: `KEYMEND_MOTO_PYTHON`, else `python3` on the PATH. */
export const MOTO_PYTHON = process.env.KEYMEND_MOTO_PYTHON ?? 'python3';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts moto and waits until it answers. Throws, with moto's own output, when it cannot start (no
 * python3, no moto, or no answer within `timeoutMs`): the suite must fail, never skip.
 */
export async function startMoto(timeoutMs = 60_000): Promise<MotoServer> {
  const port = await freePort();
  const child = spawn(MOTO_PYTHON, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited with ${code ?? signal}`;
  });
  child.once('error', (error) => {
    exited = `could not be run: ${error.message}`;
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) break;
    try {
      const response = await fetch(`${endpoint}/moto-api/data.json`);
      if (response.ok) return { endpoint, process: child };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill('SIGKILL');
  throw new Error(
    `moto did not start (${MOTO_PYTHON} -m moto.server ${exited ?? `gave no answer in ${timeoutMs} ms`}). ` +
      `It needs Python 3 with moto[server] 5 ("pip install 'moto[server]>=5.2'"). Its output:\n${output}`,
  );
}

/** Stops moto and waits for it to exit. */
export async function stopMoto(server: MotoServer): Promise<void> {
  const child = server.process;
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
  });
}
