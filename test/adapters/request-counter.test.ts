import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { countRequests } from '../../functions/adapters/request-counter';
import { type Dynalite, startDynalite } from '../helpers/dynalite';

let db: Dynalite;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.stop();
});

describe('countRequests', () => {
  it('counts each command once, by operation, on a real endpoint', async () => {
    const table = await db.createTable();
    const client = new DynamoDBClient({
      endpoint: db.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const counter = countRequests(client);
    await client.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'a' } } }));
    await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'a' } } }));
    await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'b' } } }));
    expect(counter.byOperation()).toEqual({ PutItem: 1, GetItem: 2 });
    expect(counter.total()).toBe(3);
    client.destroy();
  });

  it('counts a refused request too', async () => {
    const table = await db.createTable();
    const client = new DynamoDBClient({
      endpoint: db.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const counter = countRequests(client);
    const put = new PutItemCommand({
      TableName: table,
      Item: { pk: { S: 'a' } },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    await client.send(put);
    await expect(client.send(put)).rejects.toThrow(/conditional request failed/i);
    expect(counter.byOperation()).toEqual({ PutItem: 2 });
    client.destroy();
  });
});
