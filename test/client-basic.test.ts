import thrift from 'thrift';
import { afterEach, describe, expect, it } from 'vitest';
import { validateServiceOptions } from '../clients/client-config.js';
import { CLIENT_DEFAULTS, type ClientConfig } from '../clients/client-options.js';
import { ThriftClient } from '../clients/index.js';
import { GEN_DIR, startHelloServer, startThriftServer, type TestServer } from './helpers/servers.js';

type Hello = import('../gen/HelloWorld/HelloWorld.js').Client;
type Catalog = import('../gen/Catalog/Catalog.js').Client;

const servers: TestServer[] = [];
afterEach(async () => {
  await ThriftClient.reset();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function hello(wire: Parameters<typeof startHelloServer>[0] = {}) {
  const s = await startHelloServer(wire);
  servers.push(s);
  return s;
}

describe('ThriftClient basics', () => {
  for (const [protocol, transport] of [
    ['binary', 'buffered'],
    ['binary', 'framed'],
    ['compact', 'buffered'],
    ['json', 'framed'],
  ] as const) {
    it(`calls sayHello over ${protocol}/${transport}`, async () => {
      const s = await hello({ protocol, transport });
      ThriftClient.config({
        HelloWorld: { addresses: [s.address], protocol, transport, serviceDir: GEN_DIR, shareState: false },
      });
      const client = ThriftClient.instance<Hello>('HelloWorld');
      expect(await client.sayHello('TOM')).toBe(`Hello TOM from ${s.port}`);
      // Pipelined calls on the same connection come back matched to their callers.
      const names = Array.from({ length: 20 }, (_, i) => `n${i}`);
      expect(await Promise.all(names.map((n) => client.sayHello(n)))).toEqual(
        names.map((n) => `Hello ${n} from ${s.port}`),
      );
    });
  }

  it('accepts the original key names (thrift_protocol, thrift_transport, service_dir)', async () => {
    const s = await hello({ transport: 'framed' });
    ThriftClient.config({
      HelloWorld: {
        addresses: [s.address],
        thrift_protocol: 'TBinaryProtocol',
        thrift_transport: 'TFramedTransport',
        service_dir: GEN_DIR,
        shareState: false,
      } as never,
    });
    expect(await ThriftClient.instance<Hello>('HelloWorld').sayHello('JERRY')).toBe(
      `Hello JERRY from ${s.port}`,
    );
  });

  it('caches instances; instance(name, true) builds a new one', async () => {
    const s = await hello();
    ThriftClient.config({ HelloWorld: { addresses: [s.address], serviceDir: GEN_DIR, shareState: false } });
    const a = ThriftClient.instance<Hello>('HelloWorld');
    expect(ThriftClient.instance<Hello>('HelloWorld')).toBe(a);
    const b = ThriftClient.instance<Hello>('HelloWorld', true);
    expect(b).not.toBe(a);
    expect(ThriftClient.instance<Hello>('HelloWorld')).toBe(b);
    expect(await b.sayHello('KID')).toBe(`Hello KID from ${s.port}`);
    // The replaced instance keeps working for whoever holds it.
    expect(await a.sayHello('OLD')).toBe(`Hello OLD from ${s.port}`);
  });

  it('passes structs, i64, containers, void and oneway, and throws declared exceptions', async () => {
    const ttypes = require('../gen/Catalog/Catalog_types.js');
    const touched: string[] = [];
    const handler = {
      ping: async () => undefined,
      get: async (id: thrift.Int64) => {
        if (id.toNumber() === 404) throw new ttypes.NotFound({ id, message: 'no such item' });
        return new ttypes.Item({ id, title: `item ${id.toNumber()}`, tags: ['a', 'b'], stock: { x: 3 } });
      },
      add: async (a: thrift.Int64, b: thrift.Int64) => new thrift.Int64(a.toNumber() + b.toNumber()),
      touch: async (id: thrift.Int64) => {
        touched.push(String(id.toNumber()));
      },
      fail: async (how: string) => {
        throw new Error(`boom ${how}`);
      },
    };
    const s = await startThriftServer('Catalog', handler);
    servers.push(s);
    ThriftClient.config({ Catalog: { addresses: [s.address], serviceDir: GEN_DIR, shareState: false } });
    const catalog = ThriftClient.instance<Catalog>('Catalog');
    await expect(catalog.ping()).resolves.toBeUndefined();
    const item = await catalog.get(new thrift.Int64(7));
    expect(item.title).toBe('item 7');
    expect(item.tags).toEqual(['a', 'b']);
    expect((await catalog.add(new thrift.Int64(2), new thrift.Int64(40))).toNumber()).toBe(42);
    const err = await catalog.get(new thrift.Int64(404)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ttypes.NotFound);
    expect((err as { message: string }).message).toBe('no such item');
    await expect(catalog.touch(new thrift.Int64(5))).resolves.toBeUndefined();
    await catalog.ping(); // the oneway touch was written before this call
    await expect.poll(() => touched).toEqual(['5']);
    const failed = await catalog.fail('hard').catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(thrift.Thrift.TApplicationException);
  });

  it('multi() returns results and errors by key without rejecting the batch', async () => {
    const s = await hello();
    ThriftClient.config({ HelloWorld: { addresses: [s.address], serviceDir: GEN_DIR, shareState: false } });
    const client = ThriftClient.instance<Hello>('HelloWorld');
    const { results, errors } = await ThriftClient.multi({
      a: () => client.sayHello('A'),
      b: client.sayHello('B'),
      bad: () => Promise.reject(new Error('nope')),
      throws: () => {
        throw new Error('sync');
      },
    });
    expect(results).toEqual({ a: `Hello A from ${s.port}`, b: `Hello B from ${s.port}` });
    expect(Object.keys(errors).sort()).toEqual(['bad', 'throws']);
    expect((errors.bad as Error).message).toBe('nope');
  });

  it('reports every call to onCallDone', async () => {
    const s = await hello();
    const reports: unknown[] = [];
    ThriftClient.config(
      { HelloWorld: { addresses: [s.address], serviceDir: GEN_DIR, shareState: false } },
      { onCallDone: (r) => reports.push(r) },
    );
    await ThriftClient.instance<Hello>('HelloWorld').sayHello('TOM');
    expect(reports).toEqual([
      expect.objectContaining({
        service: 'HelloWorld',
        method: 'sayHello',
        ok: true,
        address: s.address,
        attempts: 1,
      }),
    ]);
  });
});

describe('ThriftClient config errors', () => {
  const cases: [string, unknown, RegExp][] = [
    [
      'empty address list',
      { HelloWorld: { addresses: [] } },
      /HelloWorld\.addresses must be a non-empty array/,
    ],
    ['malformed address', { HelloWorld: { addresses: ['localhost'] } }, /addresses\[0\].*not host:port/],
    [
      'unknown option',
      { HelloWorld: { addresses: ['127.0.0.1:1'], adresses: [] } },
      /HelloWorld\.adresses is not a known option/,
    ],
    [
      'unknown protocol',
      { HelloWorld: { addresses: ['127.0.0.1:1'], protocol: 'xml' } },
      /protocol "xml" is unknown/,
    ],
    [
      'alias given twice',
      { HelloWorld: { addresses: ['127.0.0.1:1'], protocol: 'binary', thrift_protocol: 'binary' } },
      /given twice/,
    ],
    [
      'bad number',
      { HelloWorld: { addresses: ['127.0.0.1:1'], detectRate: 2 } },
      /detectRate must be a number in \[0, 1\]/,
    ],
  ];
  for (const [name, config, message] of cases) {
    it(`rejects ${name} with ERR_CLIENT_CONFIG`, () => {
      expect(() => ThriftClient.config(config as never)).toThrow(
        expect.objectContaining({ code: 'ERR_CLIENT_CONFIG', message: expect.stringMatching(message) }),
      );
    });
  }

  it('rejects every *Ms option beyond a Node.js timer (2^31 - 1 ms), naming it', () => {
    // registry* defaults belong to the nested `registry` option, checked below.
    const msKeys = Object.keys(CLIENT_DEFAULTS).filter((k) => k.endsWith('Ms') && !k.startsWith('registry'));
    expect(msKeys).toContain('callTimeoutMs');
    for (const key of msKeys) {
      // backoffInitialMs must not exceed backoffMaxMs: raise both to the limit.
      const ok = { addresses: ['127.0.0.1:1'], backoffMaxMs: 2 ** 31 - 1, [key]: 2 ** 31 - 1 };
      expect(() => validateServiceOptions('HelloWorld', ok), key).not.toThrow();
      expect(() => ThriftClient.config({ HelloWorld: { ...ok, [key]: 3_000_000_000 } } as never), key).toThrow(
        expect.objectContaining({
          code: 'ERR_CLIENT_CONFIG',
          message: expect.stringContaining(`HelloWorld.${key} must be an integer from`),
        }),
      );
    }
    const registry = (requestTimeoutMs: number) => ({
      HelloWorld: { registry: { endpoints: ['http://127.0.0.1:2379'], requestTimeoutMs } },
    });
    expect(() => validateServiceOptions('HelloWorld', registry(2 ** 31 - 1).HelloWorld)).not.toThrow();
    expect(() => ThriftClient.config(registry(3_000_000_000) as never)).toThrow(
      expect.objectContaining({ message: expect.stringContaining('HelloWorld.registry.requestTimeoutMs must be an integer from') }),
    );
  });

  it('rejects an unconfigured service with ERR_UNKNOWN_SERVICE', () => {
    // @ts-expect-error a service missing from the generated services map does not compile
    expect(() => ThriftClient.instance('Nope')).toThrow(
      expect.objectContaining({ code: 'ERR_UNKNOWN_SERVICE' }),
    );
  });

  it('refuses at config() a service whose generated code is not there, with the nearest generated name', () => {
    const entry = { addresses: ['127.0.0.1:1'], serviceDir: GEN_DIR, shareState: false };
    // @ts-expect-error a name missing from the generated services map does not compile
    expect(() => ThriftClient.config({ Catalgo: entry })).toThrow(
      expect.objectContaining({
        code: 'ERR_CLIENT_CONFIG',
        message: expect.stringMatching(
          new RegExp(
            `^ThriftClient.config: Catalgo: no generated code for service Catalgo \\(none of ${GEN_DIR}/Catalgo/Catalgo.js, .* exists\\); ` +
              `did you mean Catalog\\? Services generated in ${GEN_DIR}: Catalog, HelloWorld\\. .*npm run gen`,
          ),
        ),
      }),
    );
    // Nothing near: no guess. A typed-out ClientConfig is not checked by tsc, only at run time.
    const config: ClientConfig = { Missing: entry };
    expect(() => ThriftClient.config(config)).toThrow(/no generated code for service Missing \(.*exists\) Services generated/);
    expect(() => ThriftClient.config({ HelloWorld: { ...entry, generated: `${GEN_DIR}/Nope.js` } })).toThrow(
      `ThriftClient.config: HelloWorld.generated: ${GEN_DIR}/Nope.js does not exist`,
    );
    // A refused config registers nothing.
    expect(() => ThriftClient.instance<unknown>('Catalgo')).toThrow(
      expect.objectContaining({ code: 'ERR_UNKNOWN_SERVICE', message: expect.stringMatching(/not configured \(configured: none\)/) }),
    );
  });

  it('rejects an idempotent method the service does not declare', () => {
    ThriftClient.config({
      HelloWorld: {
        addresses: ['127.0.0.1:1'],
        serviceDir: GEN_DIR,
        idempotent: ['sayHi'],
        shareState: false,
      },
    });
    expect(() => ThriftClient.instance('HelloWorld')).toThrow(/idempotent lists sayHi/);
  });
});
