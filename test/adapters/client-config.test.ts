/**
 * The one SDK client configuration, tried against a local endpoint as a real client would use it: the
 * SDK's own retry takes a throttled call to success, and an endpoint that accepts connections and
 * never answers fails the call instead of hanging it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { clientConfig, InvocationDeadline, withDeadline } from '../../functions/adapters/client-config';
import { ORDERS_KEY as KEY } from '../helpers/arns';

const credentials = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'example' };

/** A local HTTP server answering each request with `answer`; the sockets it holds are closed after. */
async function serve(answer: (req: IncomingMessage, res: ServerResponse) => void) {
  const sockets = new Set<Socket>();
  const server: Server = createServer(answer);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function kms(endpoint: string, options: Parameters<typeof clientConfig>[0]) {
  return new KMSClient({ ...clientConfig({ region: 'us-east-1', ...options }), endpoint, credentials });
}

describe('clientConfig', () => {
  it('retries a throttled call (the SDK adaptive retry), then succeeds', async () => {
    let calls = 0;
    const server = await serve((_req, res) => {
      calls++;
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      if (calls === 1) {
        res.statusCode = 400;
        res.end(JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }));
        return;
      }
      res.end(JSON.stringify({ KeyMetadata: { KeyId: 'k', Arn: KEY, KeyState: 'Enabled' } }));
    });
    const client = kms(server.endpoint, {});
    try {
      const out = await client.send(new DescribeKeyCommand({ KeyId: KEY }));
      expect(out.KeyMetadata?.Arn).toBe(KEY);
      expect(calls).toBe(2);
    } finally {
      client.destroy();
      await server.close();
    }
  });

  it('fails a call to an endpoint that accepts the connection and never answers', async () => {
    let calls = 0;
    const server = await serve(() => {
      calls++;
    });
    const client = kms(server.endpoint, { maxAttempts: 2, requestTimeoutMs: 200 });
    try {
      await expect(client.send(new DescribeKeyCommand({ KeyId: KEY }))).rejects.toMatchObject({
        name: 'TimeoutError',
      });
      expect(calls).toBe(2);
    } finally {
      client.destroy();
      await server.close();
    }
  });
});

describe('the invocation deadline', () => {
  it('cuts off a call, retries included, when the invocation`s remaining time (less the margin) is up', async () => {
    let calls = 0;
    const server = await serve(() => {
      calls++;
    });
    // Retries and per-request timeouts that, alone, would wait far longer than the invocation has.
    const deadline = new InvocationDeadline(1_000);
    const client = withDeadline(kms(server.endpoint, { maxAttempts: 5, requestTimeoutMs: 60_000 }), deadline);
    try {
      deadline.begin(1_300);
      const error = await client.send(new DescribeKeyCommand({ KeyId: KEY })).catch((e: unknown) => e);
      expect((error as Error).name).toBe('AbortError');
      expect(deadline.current()?.aborted).toBe(true);
      // No retry after the deadline (the one attempt may not have reached the server on a busy machine).
      expect(calls).toBeLessThanOrEqual(1);
    } finally {
      client.destroy();
      await server.close();
    }
  });

  it('gives each invocation its own deadline, and leaves a call outside any invocation alone', async () => {
    const server = await serve((_req, res) => {
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      res.end(JSON.stringify({ KeyMetadata: { KeyId: 'k', Arn: KEY, KeyState: 'Enabled' } }));
    });
    const deadline = new InvocationDeadline(1_000);
    const client = withDeadline(kms(server.endpoint, {}), deadline);
    try {
      expect(deadline.current()).toBeUndefined();
      expect((await client.send(new DescribeKeyCommand({ KeyId: KEY }))).KeyMetadata?.Arn).toBe(KEY);
      deadline.begin(1_001);
      const first = deadline.current();
      deadline.begin(60_000);
      expect(deadline.current()).not.toBe(first);
      expect((await client.send(new DescribeKeyCommand({ KeyId: KEY }))).KeyMetadata?.Arn).toBe(KEY);
    } finally {
      client.destroy();
      await server.close();
    }
  });
});
