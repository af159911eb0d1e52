/**
 * An in-process DynamoDB (dynalite) for tests and `keymend local`-style runs: the real store code
 * against the real DynamoDB API, on a free port of 127.0.0.1, with nothing on disk.
 */
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { countRequests } from '../../functions/adapters/request-counter';
import { createTable } from '../../functions/adapters/store';

export interface Dynalite {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  /** A client of this server whose requests are counted in `requests()`. */
  client: DynamoDBClient;
  /** Requests `client` has sent so far, as the caller sees them (the SDK's retries not counted twice). */
  requests(): number;
  /** Requests per operation name (`PutItem`, `UpdateItem`, ...). */
  requestsByOperation(): Record<string, number>;
  /** Creates a table as the stack does (see `createTable`) and returns its name. */
  createTable(name?: string): Promise<string>;
  stop(): Promise<void>;
}

interface DynaliteServer {
  listen(port: number, host: string, callback: (error?: Error) => void): void;
  address(): AddressInfo;
  close(callback: (error?: Error) => void): void;
}

let tables = 0;

/** Starts dynalite in memory; tables are created and deleted at once. Stop it in `afterAll`. */
export async function startDynalite(): Promise<Dynalite> {
  // dynalite ships no types.
  const dynalite = require('dynalite') as (options: Record<string, number>) => DynaliteServer;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) =>
    server.listen(0, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
  );
  const endpoint = `http://127.0.0.1:${server.address().port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const counter = countRequests(client);
  return {
    endpoint,
    client,
    requests: counter.total,
    requestsByOperation: counter.byOperation,
    async createTable(name = `keymend-test-${++tables}`) {
      await createTable(client, name);
      return name;
    },
    async stop() {
      client.destroy();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
