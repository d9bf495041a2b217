/**
 * createTestServer serves a handler object in this process with a worker's decoding, error
 * mapping and interceptors: the documented way to unit-test a handler with ThriftClient.
 */
import path from 'node:path';
import thrift from 'thrift';
import { afterEach, expect, it } from 'vitest';
import { validateServiceOptions } from '../clients/client-config.js';
import { ServiceClient } from '../clients/service-client.js';
import { getCallContext } from '../src/worker/call-context.js';
import { createTestServer } from '../src/worker/test-server.js';
import { ROOT } from './helpers/in-process-server.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('serves a handler object with interceptors and context, and maps errors like a worker', async () => {
  const seen: string[] = [];
  const server = await createTestServer({
    service: 'HelloWorld',
    genDir: path.join(ROOT, 'gen'),
    transport: 'framed',
    callContext: true,
    handler: {
      sayHello(name: string) {
        if (name === 'boom') throw new Error('secret detail');
        return `Hello ${name} from ${getCallContext().peer.address}`;
      },
    },
    interceptors: [
      async (ctx, next) => {
        seen.push(`${ctx.service}.${ctx.method}(${ctx.args[0]})`);
        return next();
      },
    ],
  });
  cleanups.push(() => server.close());
  expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
  const client = new ServiceClient(
    validateServiceOptions('HelloWorld', {
      addresses: [server.address],
      transport: 'framed',
      serviceDir: path.join(ROOT, 'gen'),
      shareState: false,
    }),
  );
  cleanups.push(() => client.destroy());
  expect(await client.call('sayHello', ['TOM'])).toBe('Hello TOM from 127.0.0.1');
  const err = await client.call('sayHello', ['boom']).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(thrift.Thrift.TApplicationException);
  expect((err as Error).message).toBe('Internal error in HelloWorld.sayHello');
  expect(seen).toEqual(['HelloWorld.sayHello(TOM)', 'HelloWorld.sayHello(boom)']);
  expect(server.server.stats.snapshot()['HelloWorld.sayHello']).toMatchObject({ calls: 2 });
});

it('refuses a handler that lacks a method of the IDL, naming it', async () => {
  await expect(
    createTestServer({ service: 'Catalog', genDir: path.join(ROOT, 'gen'), handler: { ping() {} } }),
  ).rejects.toThrow(/lacks method\(s\) get, put/);
});
