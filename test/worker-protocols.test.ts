/**
 * Every protocol x transport combination round-trips the Catalog service through a real
 * listener and the real Apache `thrift` client: structs, containers, i64, declared and
 * undeclared exceptions, void, oneway, unknown methods, pipelining.
 */
import path from 'node:path';
import thrift from 'thrift';
import { afterEach, describe, expect, it } from 'vitest';
import { PROTOCOLS, TRANSPORTS } from '../src/codec/protocols.js';
import { ROOT, rawClient, startServer, waitFor } from './helpers/in-process-server.js';

const types = require(path.join(ROOT, 'gen/Catalog/Catalog_types.js'));
const AppErr = thrift.Thrift.TApplicationExceptionType;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe.each(PROTOCOLS.flatMap((p) => TRANSPORTS.map((t) => [p, t] as const)))(
  '%s / %s',
  (protocol, transport) => {
    it('round-trips every kind of value and error', async () => {
      const host = await startServer({ service: 'Catalog', protocol, transport });
      cleanups.push(host.close);
      const { client, close } = rawClient('Catalog', host.port, protocol, transport);
      cleanups.push(close);

      await client.ping();
      const item = new types.Item({
        id: new thrift.Int64(1234567890123),
        title: 'Dune ✓',
        category: types.Category.MUSIC,
        price: 9.5,
        tags: ['sf', 'classic'],
        stock: { north: 3, south: 0 },
        related: [new thrift.Int64(7), new thrift.Int64(8)],
        thumbnail: Buffer.from([0, 1, 2, 255]),
        active: false,
      });
      const id = await client.put(item);
      expect(thrift.toBigInt(id)).toBe(1234567890123n);
      const got = await client.get(new thrift.Int64(1234567890123));
      expect(got.title).toBe('Dune ✓');
      expect(got.category).toBe(types.Category.MUSIC);
      expect(got.price).toBe(9.5);
      expect(got.tags).toEqual(['sf', 'classic']);
      expect(got.stock).toEqual({ north: 3, south: 0 });
      expect(got.related.map((r: thrift.Int64) => r.toNumber())).toEqual([7, 8]);
      expect(Buffer.from(got.thumbnail)).toEqual(Buffer.from([0, 1, 2, 255]));
      expect(got.active).toBe(false);

      const found = await client.find('Dune', 5);
      expect(found).toHaveLength(1);
      const index = await client.index(['sf', 'none']);
      expect(Object.keys(index).sort()).toEqual(['none', 'sf']);
      expect(index.sf.map((n: thrift.Int64) => n.toNumber())).toEqual([1234567890123]);
      const sum = await client.add(new thrift.Int64(2 ** 40), new thrift.Int64(2));
      expect(thrift.toBigInt(sum)).toBe(2n ** 40n + 2n);

      // Declared exception: arrives as the IDL type with its fields.
      const notFound = await client.get(new thrift.Int64(99)).catch((e: unknown) => e);
      expect(notFound).toBeInstanceOf(types.NotFound);
      expect(notFound.message).toBe('no item 99');
      // An IDL exception the method does not declare is still an internal error.
      const undeclared = await client.fail('declared').catch((e: unknown) => e);
      expect(undeclared).toBeInstanceOf(thrift.Thrift.TApplicationException);
      expect(undeclared.type).toBe(AppErr.INTERNAL_ERROR);

      // Undeclared failures: INTERNAL_ERROR, no internals leaked, connection still usable.
      for (const how of ['sync', 'async']) {
        const err = await client.fail(how).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(thrift.Thrift.TApplicationException);
        expect(err.type).toBe(AppErr.INTERNAL_ERROR);
        expect(err.message).not.toContain('hunter2');
      }
      const broken = await client.put(new types.Item({ id: 1, title: '' })).catch((e: unknown) => e);
      expect(broken).toBeInstanceOf(types.InvalidItem);

      // Oneway: no reply, but it runs.
      client.touch(new thrift.Int64(5));
      await client.ping();
      const handler = host.server.table.methods.get('touch');
      await waitFor(() => (handler?.counter.calls ?? 0) === 1, 2000, 'oneway call counted');

      // Pipelined calls on one connection: every reply matched, slow ones do not block order.
      const replies = await Promise.all(
        Array.from({ length: 50 }, (_, i) => client.echo(Buffer.from(`m${i}`), i % 5 === 0 ? 20 : 0)),
      );
      expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
      expect(await client.ping()).toBeUndefined();
      expect(host.server.snapshot().errors).toBe(3);
    });
  },
);

describe('multiplexed listener', () => {
  it('serves two services on one port by "Service:method" names', async () => {
    const host = await startServer({
      name: 'Both',
      multiplex: [
        { service: 'HelloWorld', handler: './services/HelloWorld/handler.js' },
        { service: 'Catalog', handler: './services/Catalog/handler.js' },
      ],
      transport: 'framed',
    });
    cleanups.push(host.close);
    const connection = thrift.createConnection('127.0.0.1', host.port, {
      transport: thrift.TFramedTransport,
      protocol: thrift.TBinaryProtocol,
    });
    cleanups.push(() => connection.destroy());
    const mp = new (thrift as any).Multiplexer();
    const hello = mp.createClient(
      'HelloWorld',
      require(path.join(ROOT, 'gen/HelloWorld/HelloWorld.js')),
      connection,
    );
    const catalog = mp.createClient(
      'Catalog',
      require(path.join(ROOT, 'gen/Catalog/Catalog.js')),
      connection,
    );
    expect(await hello.sayHello('TOM')).toBe('Hello TOM');
    expect(thrift.toBigInt(await catalog.add(new thrift.Int64(1), new thrift.Int64(2)))).toBe(3n);
  });
});

describe('unknown method', () => {
  it('answers UNKNOWN_METHOD and keeps serving the connection', async () => {
    const host = await startServer({ service: 'Catalog' });
    cleanups.push(host.close);
    // A HelloWorld client against the Catalog service calls a method Catalog lacks.
    const { client, connection } = rawClient('HelloWorld', host.port);
    cleanups.push(() => connection.destroy());
    const err = await client.sayHello('TOM').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(thrift.Thrift.TApplicationException);
    expect(err.type).toBe(AppErr.UNKNOWN_METHOD);
    expect(err.message).toContain('sayHello');
    const again = await client.sayHello('JERRY').catch((e: unknown) => e);
    expect(again.type).toBe(AppErr.UNKNOWN_METHOD);
  });
});
