// ThriftClient discovery against a real etcd (scripts/etcd.mjs): instances written under the
// registry prefix enter and leave the client's address set live; an etcd outage keeps the last
// list; mismatched instances are refused; a client started while etcd is down gets a clear
// error, or uses its static addresses.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ThriftClient } from '../clients/index.js';
import { validateServiceOptions } from '../clients/client-config.js';
import { etcdClient, type EtcdHandle, startEtcd } from './helpers/etcd.js';
import { startServer } from './helpers/in-process-server.js';
import { GEN_DIR } from './helpers/servers.js';
import { waitFor } from './helpers/cli.js';

type Hello = import('../gen/HelloWorld/HelloWorld.js').Client;

let PREFIX = '/test/0/';
let tests = 0;
let etcd: EtcdHandle;
const servers: { close(): void }[] = [];

beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.stop();
});
afterEach(async () => {
  // Each test reads and writes its own prefix.
  PREFIX = `/test/${++tests}/`;
  await ThriftClient.reset();
  for (const s of servers.splice(0)) s.close();
});

async function hello(): Promise<{ port: number; address: string }> {
  const s = await startServer({ service: 'HelloWorld' });
  servers.push(s);
  return { port: s.port, address: `127.0.0.1:${s.port}` };
}

function record(address: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    service: 'HelloWorld',
    address,
    protocol: 'binary',
    transport: 'buffered',
    multiplexed: false,
    weight: 1,
    hostId: 'test',
    ...extra,
  });
}

function configure(extra: Record<string, unknown> = {}, log?: (l: string, m: string) => void) {
  ThriftClient.config(
    {
      HelloWorld: {
        registry: { endpoints: [etcd.endpoint], prefix: PREFIX, requestTimeoutMs: 3000 },
        serviceDir: GEN_DIR,
        shareState: false,
        connectTimeoutMs: 500,
        ...extra,
      },
    },
    { log: log ?? (() => {}) },
  );
  return ThriftClient.instance<Hello>('HelloWorld');
}

describe('registry discovery in ThriftClient', () => {
  it('an entry may give a registry instead of addresses; endpoints must be URLs', () => {
    const o = validateServiceOptions('HelloWorld', { registry: { endpoints: ['http://127.0.0.1:2379/'] } });
    expect(o.addresses).toEqual([]);
    expect(o.registry).toMatchObject({ endpoints: ['http://127.0.0.1:2379'], prefix: '/thrifthost/services/', service: 'HelloWorld' });
    expect(() => validateServiceOptions('HelloWorld', { registry: { endpoints: ['127.0.0.1:2379'] } })).toThrow(
      /HelloWorld\.registry\.endpoints\[0\] must be "http\(s\):\/\/host:port"/,
    );
    expect(() => validateServiceOptions('HelloWorld', { registry: { endpoints: [], prefx: 1 } })).toThrow(/prefx is not a known option/);
  });

  it('instances entering and leaving the prefix enter and leave the address set; calls follow', async () => {
    const kv = etcdClient(etcd.endpoint);
    const a = await hello();
    const b = await hello();
    const lease = await kv.grantLease(30);
    await kv.put(`${PREFIX}HelloWorld/${a.address}`, record(a.address), lease);
    const client = configure();
    expect(await client.sayHello('TOM')).toMatch(/TOM/);
    expect(ThriftClient.discoveryStatus('HelloWorld')).toMatchObject({ state: 'watching', addresses: [a.address] });

    await kv.put(`${PREFIX}HelloWorld/${b.address}`, record(b.address));
    await waitFor(() => ThriftClient.discoveryStatus('HelloWorld')?.addresses.length === 2, 5000, 'b to enter');
    const engine = ThriftClient.serviceClientOf(client)!;
    expect([...engine.addresses.addresses].sort()).toEqual([a.address, b.address].sort());

    await kv.revokeLease(lease); // a's key goes with its lease
    await waitFor(() => ThriftClient.discoveryStatus('HelloWorld')?.addresses.join() === b.address, 5000, 'a to leave');
    for (let i = 0; i < 20; i++) await client.sayHello(`n${i}`);
    expect(engine.pool(b.address).stats.created).toBeGreaterThan(0);
    expect(engine.addresses.addresses).toEqual([b.address]);
    kv.close();
  });

  it('an instance of another protocol or transport is refused with a clear reason and never called', async () => {
    const kv = etcdClient(etcd.endpoint);
    const good = await hello();
    const framed = await hello();
    await kv.put(`${PREFIX}HelloWorld/${good.address}`, record(good.address));
    await kv.put(`${PREFIX}HelloWorld/${framed.address}`, record(framed.address, { transport: 'framed' }));
    const logs: string[] = [];
    const client = configure({}, (_level, message) => logs.push(message));
    for (let i = 0; i < 10; i++) await client.sayHello('x');
    const st = ThriftClient.discoveryStatus('HelloWorld')!;
    expect(st.addresses).toEqual([good.address]);
    expect(st.refused).toEqual([
      {
        key: `${PREFIX}HelloWorld/${framed.address}`,
        reason: expect.stringMatching(/serves binary\/framed but this client speaks binary\/buffered/),
      },
    ]);
    expect(logs.some((l) => l.includes(`refusing registry entry ${PREFIX}HelloWorld/${framed.address}`))).toBe(true);
    kv.close();
  });

  it('an etcd outage keeps the last known list, fails no call, and is counted; the watch resumes after', async () => {
    const kv = etcdClient(etcd.endpoint);
    const a = await hello();
    const b = await hello();
    const prefix = PREFIX;
    await kv.put(`${prefix}HelloWorld/${a.address}`, record(a.address));
    const logs: string[] = [];
    const client = configure({ registry: { endpoints: [etcd.endpoint], prefix, requestTimeoutMs: 3000 } }, (_l, m) =>
      logs.push(m),
    );
    expect(await client.sayHello('before')).toMatch(/before/);

    await etcd.kill();
    await waitFor(() => ThriftClient.discoveryStatus('HelloWorld')?.state === 'unreachable', 5000, 'outage seen');
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => client.sayHello(`during${i}`)));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(ThriftClient.discoveryStatus('HelloWorld')).toMatchObject({ addresses: [a.address], outages: 1 });
    expect(logs.some((l) => /keeping the last known 1 address/.test(l))).toBe(true);

    await etcd.restart();
    await waitFor(() => ThriftClient.discoveryStatus('HelloWorld')?.state === 'watching', 10_000, 'watch resumed');
    const kv2 = etcdClient(etcd.endpoint);
    await kv2.put(`${prefix}HelloWorld/${b.address}`, record(b.address));
    await waitFor(() => ThriftClient.discoveryStatus('HelloWorld')?.addresses.length === 2, 5000, 'b after restart');
    kv.close();
    kv2.close();
  });

  it('a client started while etcd is down fails its calls with ERR_REGISTRY_UNAVAILABLE, or uses its static addresses', async () => {
    const a = await hello();
    const dead = 'http://127.0.0.1:9'; // discard port: nothing listens
    configure({ registry: { endpoints: [dead], prefix: PREFIX, requestTimeoutMs: 300 } });
    const err = await ThriftClient.instance<Hello>('HelloWorld')
      .sayHello('x')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_REGISTRY_UNAVAILABLE' });
    expect((err as Error).message).toMatch(/HelloWorld\.sayHello: no address known yet: the registry at http:\/\/127\.0\.0\.1:9/);

    await ThriftClient.reset();
    const client = configure({
      addresses: [a.address],
      registry: { endpoints: [dead], prefix: PREFIX, requestTimeoutMs: 300 },
    });
    expect(await client.sayHello('fallback')).toMatch(/fallback/);
    expect(ThriftClient.discoveryStatus('HelloWorld')?.state).toBe('unreachable');
  });
});
