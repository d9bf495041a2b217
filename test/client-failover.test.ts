import { afterEach, describe, expect, it } from 'vitest';
import { type ServiceClientOptions, ThriftClient } from '../clients/index.js';
import {
  freePort,
  GEN_DIR,
  startHelloServer,
  startScriptedServer,
  startSilentServer,
  type TestServer,
} from './helpers/servers.js';

type Hello = import('../gen/HelloWorld/HelloWorld.js').Client;

const servers: TestServer[] = [];
afterEach(async () => {
  await ThriftClient.reset();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function track<T extends TestServer>(s: Promise<T>): Promise<T> {
  const server = await s;
  servers.push(server);
  return server;
}

function configure(addresses: string[], extra: Partial<ServiceClientOptions> = {}) {
  ThriftClient.config({
    HelloWorld: { addresses, serviceDir: GEN_DIR, shareState: false, detectRate: 0, ...extra },
  });
  const client = ThriftClient.instance<Hello>('HelloWorld');
  return { client, engine: ThriftClient.serviceClientOf(client)! };
}

describe('timeouts and dead connections', () => {
  it('a server that accepts and never answers fails the call with ERR_CALL_TIMEOUT', async () => {
    const silent = await track(startSilentServer());
    const { client } = configure([silent.address], { callTimeoutMs: 150 });
    const err = await client.sayHello('TOM').catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'ERR_CALL_TIMEOUT',
      target: { service: 'HelloWorld', method: 'sayHello', address: silent.address },
    });
    expect((err as Error).message).toMatch(`HelloWorld.sayHello on ${silent.address}`);
  });

  it('a server dying mid-call rejects every pending call at once, naming service, method and address', async () => {
    // Dies once it has read the first request bytes; the calls' own deadline is far away.
    const dying = await track(startScriptedServer((socket) => socket.destroy()));
    const { client } = configure([dying.address], { callTimeoutMs: 60_000, maxInFlightPerConnection: 8 });
    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => client.sayHello(`n${i}`)));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const reason = (r as PromiseRejectedResult).reason;
      expect(reason.code).toBe('ERR_CONNECTION_CLOSED');
      expect(reason.requestSent).toBe(true);
      expect(reason.message).toMatch(`HelloWorld.sayHello on ${dying.address}: connection lost`);
    }
  });

  for (const [name, garbage] of [
    ['a bad version', Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])],
    ['text that reads as a huge length', Buffer.from('not thrift at all, sorry')],
  ] as const) {
    it(`a reply with ${name} fails with ERR_REPLY_DECODE and the connection is discarded`, async () => {
      const server = await track(startScriptedServer((socket) => socket.write(garbage)));
      const { client, engine } = configure([server.address], { callTimeoutMs: 60_000, maxReplyBytes: 1024 });
      await expect(client.sayHello('TOM')).rejects.toMatchObject({ code: 'ERR_REPLY_DECODE' });
      await expect.poll(() => engine.pool(server.address).connections().length).toBe(0);
      // The broken connection is destroyed on the next borrow, never reused.
      await expect(client.sayHello('again')).rejects.toMatchObject({ code: 'ERR_REPLY_DECODE' });
      expect(server.accepted).toBe(2);
      expect(engine.pool(server.address).stats.destroyed).toBeGreaterThanOrEqual(1);
    });
  }
});

describe('failover', () => {
  it('a refused connection is retried on another address and the refused one is evicted', async () => {
    const good = await track(startHelloServer());
    const dead = `127.0.0.1:${await freePort()}`;
    const { client, engine } = configure([dead, good.address]);
    for (let i = 0; i < 20; i++) expect(await client.sayHello(`c${i}`)).toBe(`Hello c${i} from ${good.port}`);
    expect(engine.addresses.evicted()).toEqual([dead]);
  });

  it('with every address refusing, ERR_NO_AVAILABLE_ADDRESS lists the addresses and the evicted ones', async () => {
    const a = `127.0.0.1:${await freePort()}`;
    const b = `127.0.0.1:${await freePort()}`;
    const { client } = configure([a, b]);
    const err = (await client.sayHello('TOM').catch((e: unknown) => e)) as Error & Record<string, unknown>;
    expect(err).toMatchObject({ code: 'ERR_NO_AVAILABLE_ADDRESS', addresses: [a, b] });
    expect([...(err.evicted as string[])].sort()).toEqual([a, b].sort());
    expect(err.message).toMatch(`addresses: ${a}, ${b}`);
    expect((err.cause as { code: string }).code).toBe('ERR_CONNECT_FAILED');
  });

  it('a call that may have reached a server is not retried unless idempotent', async () => {
    const dying = await track(startScriptedServer((socket) => socket.destroy()));
    const good = await track(startHelloServer());
    // random 0 picks the first healthy address: the dying one.
    const first = () => 0;
    ThriftClient.config(
      {
        HelloWorld: {
          addresses: [dying.address, good.address],
          serviceDir: GEN_DIR,
          shareState: false,
          detectRate: 0,
        },
      },
      { random: first },
    );
    await expect(ThriftClient.instance<Hello>('HelloWorld').sayHello('TOM')).rejects.toMatchObject({
      code: 'ERR_CONNECTION_CLOSED',
    });
    expect(good.accepted).toBe(0);

    ThriftClient.config(
      {
        HelloWorld: {
          addresses: [dying.address, good.address],
          serviceDir: GEN_DIR,
          shareState: false,
          detectRate: 0,
          idempotent: ['sayHello'],
        },
      },
      { random: first },
    );
    const reports: { attempts: number; address?: string }[] = [];
    ThriftClient.config({}, { random: first, onCallDone: (r) => reports.push(r) });
    expect(await ThriftClient.instance<Hello>('HelloWorld').sayHello('TOM')).toBe(
      `Hello TOM from ${good.port}`,
    );
    expect(reports).toMatchObject([{ attempts: 2, address: good.address }]);
  });

  it('evictAfterFailures evicts an address after N consecutive failed calls', async () => {
    const silent = await track(startSilentServer());
    const { client, engine } = configure([silent.address], { callTimeoutMs: 50, evictAfterFailures: 2 });
    await expect(client.sayHello('a')).rejects.toMatchObject({ code: 'ERR_CALL_TIMEOUT' });
    expect(engine.addresses.evicted()).toEqual([]);
    await expect(client.sayHello('b')).rejects.toMatchObject({ code: 'ERR_CALL_TIMEOUT' });
    expect(engine.addresses.evicted()).toEqual([silent.address]);
  });
});

describe('connection pool', () => {
  it('reuses connections: sequential calls share one, concurrency opens at most max/inFlight', async () => {
    const s = await track(startHelloServer());
    const { client, engine } = configure([s.address], { maxInFlightPerConnection: 4, poolMax: 10 });
    for (let i = 0; i < 50; i++) await client.sayHello(`s${i}`);
    expect(s.accepted).toBe(1);
    await Promise.all(Array.from({ length: 40 }, (_, i) => client.sayHello(`p${i}`)));
    expect(s.accepted).toBeLessThanOrEqual(10);
    const before = s.accepted;
    await Promise.all(Array.from({ length: 8 }, (_, i) => client.sayHello(`q${i}`)));
    expect(s.accepted).toBe(before);
    expect(engine.pool(s.address).stats.destroyed).toBe(0);
  });

  it('a connection broken while idle is discarded, never reused, and the next call succeeds', async () => {
    const s = await track(startHelloServer());
    const { client, engine } = configure([s.address]);
    await client.sayHello('one');
    const pool = engine.pool(s.address);
    const [first] = pool.connections();
    expect(first?.state).toBe('open');
    // The server drops the connection behind the pool's back.
    s.close();
    await expect.poll(() => first?.state).toBe('closed');
    const again = await track(startHelloServer({}, s.port));
    expect(await client.sayHello('two')).toBe(`Hello two from ${again.port}`);
    expect(pool.stats.destroyed).toBe(1);
    expect(pool.connections()).not.toContain(first);
    expect(again.accepted).toBe(1);
  });

  it('a borrow that finds every connection busy until the call deadline fails with ERR_POOL_ACQUIRE_TIMEOUT, never written', async () => {
    const silent = await track(startSilentServer());
    const { client } = configure([silent.address], {
      callTimeoutMs: 100,
      poolMax: 1,
      maxInFlightPerConnection: 1,
    });
    // Settled as soon as it fails: it times out while the test still awaits the second call.
    const first = client.sayHello('holds the only connection').catch((e: unknown) => e);
    const second = (await client.sayHello('waits').catch((e: unknown) => e)) as Error & {
      cause?: { code?: string };
    };
    // The wait took the whole call's deadline (callTimeoutMs bounds every attempt together): no retry.
    expect(second).toMatchObject({ code: 'ERR_POOL_ACQUIRE_TIMEOUT' });
    expect(await first).toMatchObject({ code: 'ERR_CALL_TIMEOUT' });
    // The first call's timeout resets its connection; the pool may open another for the waiting
    // borrow just as its deadline passes, and then writes nothing on it.
    expect(silent.accepted).toBeLessThanOrEqual(2);
  });

  it('close() drains pending calls; calls after close are refused', async () => {
    const s = await track(startHelloServer());
    const { client } = configure([s.address]);
    const pending = client.sayHello('last');
    await ThriftClient.close();
    expect(await pending).toBe(`Hello last from ${s.port}`);
    await expect(client.sayHello('late')).rejects.toMatchObject({ code: 'ERR_CLIENT_CLOSED' });
  });
});
