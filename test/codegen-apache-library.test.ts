/**
 * The `Client` and `Processor` that `rpc gen` writes work with Apache's `thrift` library as
 * Apache's did (`thrift.createServer(Processor, handler)`, `thrift.createClient(Client, conn)`):
 * promise and callback handlers, declared and undeclared exceptions, struct results given as
 * plain objects, oneway calls; and where Apache's generated processor lost a result or a throw,
 * this one answers.
 */
import net from 'node:net';
import path from 'node:path';
import thrift from 'thrift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/in-process-server.js';

const Catalog = require(path.join(ROOT, 'gen/Catalog/Catalog.js'));
const types = require(path.join(ROOT, 'gen/Catalog/Catalog_types.js'));

const touched: bigint[] = [];
const handler = {
  ping() {},
  async get(id: thrift.Int64) {
    if (thrift.toBigInt(id) === 0n) throw new types.NotFound({ id, message: 'zero' });
    return { id, title: `item ${thrift.toBigInt(id)}`, tags: ['a'] };
  },
  // Callback style (one parameter more than the IDL's): Apache's processor dropped a result
  // passed with `undefined` as the error.
  add(a: thrift.Int64, b: thrift.Int64, done: (err: unknown, sum?: thrift.Int64) => void) {
    done(undefined, thrift.fromBigInt(thrift.toBigInt(a) + thrift.toBigInt(b)));
  },
  find(query: string) {
    return [{ id: thrift.fromBigInt(1n), title: query }, { id: thrift.fromBigInt(2n), title: query }];
  },
  touch(id: thrift.Int64) {
    touched.push(thrift.toBigInt(id));
  },
  echo() {
    throw new Error('thrown synchronously');
  },
  put() {
    return thrift.fromBigInt(1n);
  },
  index() {
    return {};
  },
  fail() {},
};

let server: net.Server;
let connection: thrift.Connection;
let client: any;

beforeAll(async () => {
  server = thrift.createServer(Catalog.Processor, handler, { transport: thrift.TFramedTransport, protocol: thrift.TBinaryProtocol });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  connection = thrift.createConnection('127.0.0.1', port, { transport: thrift.TFramedTransport, protocol: thrift.TBinaryProtocol, max_attempts: 1 });
  connection.on('error', () => {});
  client = thrift.createClient(Catalog.Client, connection);
});

afterAll(async () => {
  connection?.destroy();
  await new Promise((resolve) => server?.close(resolve));
});

describe("rpc gen's Client and Processor on Apache's library", () => {
  it('answer promise and callback handlers, struct results as plain objects, declared and undeclared exceptions, oneway', async () => {
    const item = await client.get(thrift.fromBigInt(5n));
    expect(item).toBeInstanceOf(types.Item);
    expect([thrift.toBigInt(item.id), item.title, item.tags, item.category]).toEqual([5n, 'item 5', ['a'], types.Category.BOOK]);
    expect(thrift.toBigInt(await client.add(thrift.fromBigInt(2n), thrift.fromBigInt(3n)))).toBe(5n);
    const found = await client.find('q');
    expect(found.map((i: { title: string }) => i.title)).toEqual(['q', 'q']);

    const notFound = await client.get(thrift.fromBigInt(0n)).catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(types.NotFound);
    expect(notFound.message).toBe('zero');
    const thrown = await client.echo(Buffer.from('x'), 0).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(thrift.Thrift.TApplicationException);
    expect(thrown.message).toBe('thrown synchronously');

    await client.touch(thrift.fromBigInt(9n));
    await client.ping(); // answered after the oneway call on the same connection
    expect(touched).toEqual([9n]);
  });
});
