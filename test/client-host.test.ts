// End to end against thrifthost's own worker (ThriftServer from src/worker/thrift-worker.ts, in this
// process), serving the demo handlers in services/.
import thrift from 'thrift';
import { afterEach, describe, expect, it } from 'vitest';
import { ThriftClient } from '../clients/index.js';
import { startServer } from './helpers/in-process-server.js';
import { GEN_DIR } from './helpers/servers.js';

type Hello = import('../gen/HelloWorld/HelloWorld.js').Client;
type Catalog = import('../gen/Catalog/Catalog.js').Client;

const hosts: { close(): void }[] = [];
afterEach(async () => {
  await ThriftClient.reset();
  for (const h of hosts.splice(0)) h.close();
});

describe('ThriftClient against a thrifthost worker', () => {
  for (const [protocol, transport] of [
    ['binary', 'buffered'],
    ['compact', 'framed'],
  ] as const) {
    it(`HelloWorld and Catalog over ${protocol}/${transport}`, async () => {
      const hello = await startServer({ service: 'HelloWorld', protocol, transport });
      const catalog = await startServer({ service: 'Catalog', protocol, transport });
      hosts.push(hello, catalog);
      const common = { protocol, transport, serviceDir: GEN_DIR, shareState: false };
      ThriftClient.config({
        HelloWorld: { addresses: [`127.0.0.1:${hello.port}`], ...common },
        Catalog: { addresses: [`127.0.0.1:${catalog.port}`], ...common },
      });
      const h = ThriftClient.instance<Hello>('HelloWorld');
      const c = ThriftClient.instance<Catalog>('Catalog');
      const ttypes = require('../gen/Catalog/Catalog_types.js');

      expect(await h.sayHello('TOM')).toMatch(/TOM/);
      const id = new thrift.Int64(42);
      expect(thrift.toBigInt(await c.put(new ttypes.Item({ id, title: 'hammer', tags: ['tool'] })))).toBe(
        42n,
      );
      expect((await c.get(id)).title).toBe('hammer');
      await expect(c.get(new thrift.Int64(7))).rejects.toBeInstanceOf(ttypes.NotFound);
      await expect(c.put(new ttypes.Item({ id, title: '' }))).rejects.toMatchObject({ field: 'title' });
      const internal = await c.fail('sync').catch((e: unknown) => e);
      expect(internal).toBeInstanceOf(thrift.Thrift.TApplicationException);
      expect((internal as Error).message).not.toMatch(/hunter2/);
      await expect(c.touch(id)).resolves.toBeUndefined();
      await expect(c.ping()).resolves.toBeUndefined();

      // Split calls, pipelined on one connection, collected out of order.
      c.asend_echo(Buffer.from('slow'), 30);
      c.asend_echo(Buffer.from('fast'), 0);
      expect(await c.arecv_echo(Buffer.from('fast'), 0)).toBe('fast');
      expect(await c.arecv_echo(Buffer.from('slow'), 30)).toBe('slow');

      const { results, errors } = await ThriftClient.multi({
        hello: () => h.sayHello('JERRY'),
        item: () => c.get(id),
        missing: () => c.get(new thrift.Int64(8)),
      });
      expect(results.hello).toMatch(/JERRY/);
      expect(results.item?.title).toBe('hammer');
      expect(errors.missing).toBeInstanceOf(ttypes.NotFound);
    });
  }

  it('a worker destroyed mid-call rejects the pending calls at once', async () => {
    const catalog = await startServer({ service: 'Catalog' });
    ThriftClient.config({
      Catalog: {
        addresses: [`127.0.0.1:${catalog.port}`],
        serviceDir: GEN_DIR,
        shareState: false,
        callTimeoutMs: 60_000,
      },
    });
    const c = ThriftClient.instance<Catalog>('Catalog');
    await c.ping();
    const pending = c.echo(Buffer.from('never'), 30_000);
    await new Promise((r) => setImmediate(r));
    catalog.close();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_CONNECTION_CLOSED' });
  });
});
