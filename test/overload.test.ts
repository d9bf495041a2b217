/**
 * Admission control and deadlines against real listeners (the worker's ThriftServer on
 * loopback) and real clients: calls of callers that are gone are not run, expired deadlines are
 * not dispatched, a handler's signal fires on deadline and disconnect, nested calls inherit the
 * deadline, shed calls go elsewhere, and each setting holds at its boundary.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ThriftClient } from '../clients/index.js';
import { validateServiceOptions } from '../clients/client-config.js';
import { ServiceClient } from '../clients/service-client.js';
import { validateHostConfig } from '../src/config/config.js';
import { getCallContext } from '../src/worker/call-context.js';
import { CallScheduler, type CallRunner, type ScheduledCall } from '../src/worker/call-scheduler.js';
import { createTestServer, type TestServer } from '../src/worker/test-server.js';
import { cleanupHost, freePort, makeHost, rpc, statusJson, type TestHost } from './helpers/cli.js';
import { HELD_HANDLER_SOURCE } from './helpers/held-handler.js';
import { sayHelloCall } from './helpers/encoded-calls.js';
import { waitFor } from './helpers/in-process-server.js';
import { GEN_DIR } from './helpers/servers.js';

const { CatalogHandler } = require('../services/Catalog/handler.js');
const LOADSHEDDING = 11;
const TIMEOUT = 12;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A HelloWorld handler whose `sayHello('hold…')` calls wait until the test releases them. */
function gatedHello() {
  const seen: string[] = [];
  const gates: (() => void)[] = [];
  const handler = {
    async sayHello(name: string) {
      seen.push(name);
      if (name.startsWith('hold')) await new Promise<void>((r) => gates.push(r));
      return `Hello ${name}`;
    },
  };
  return { handler, seen, gates, releaseAll: () => gates.splice(0).forEach((g) => g()) };
}

async function serve(handler: object, settings: Record<string, unknown> = {}, transport: 'buffered' | 'header' = 'buffered') {
  const { callContext, ...rest } = settings;
  const server = await createTestServer({
    service: 'HelloWorld',
    handler,
    genDir: GEN_DIR,
    transport,
    callContext: callContext === true,
    settings: rest,
  });
  cleanups.push(() => server.close());
  return server;
}


/** A raw socket that sends `bytes` and collects what comes back. */
async function rawCall(port: number, bytes: Buffer) {
  const socket = net.connect(port, '127.0.0.1');
  cleanups.push(() => socket.destroy());
  socket.on('error', () => {});
  const chunks: Buffer[] = [];
  socket.on('data', (c) => chunks.push(c));
  await new Promise((r) => socket.once('connect', r));
  socket.write(bytes);
  return { socket, received: () => Buffer.concat(chunks) };
}

function counter(server: TestServer) {
  return server.server.stats.snapshot()['HelloWorld.sayHello']!;
}

describe('calls of callers that are gone', () => {
  it('a call whose connection closes while it waits never reaches its handler', async () => {
    const g = gatedHello();
    const server = await serve(g.handler, { maxConcurrentCalls: 1 });
    await rawCall(server.port, sayHelloCall('hold', 1));
    await waitFor(() => g.seen.length === 1, 5000, 'the held call to start');
    const b = await rawCall(server.port, sayHelloCall('never', 2));
    await waitFor(() => server.server.scheduler.queued === 1, 5000, 'the second call to wait');
    // A reset: the caller gave up (a FIN alone may be a half-close still waiting for replies).
    b.socket.resetAndDestroy();
    await waitFor(() => server.server.snapshot().connections === 1, 5000, 'the server to see the reset');
    g.releaseAll();
    await waitFor(() => server.server.scheduler.queued === 0 && counter(server).successes === 1);
    expect(g.seen).toEqual(['hold']);
    expect(counter(server).failures).toEqual({ ABANDONED: 1 });
  });

  it('a reply whose caller disconnected while the handler ran is not encoded, and the call counts as CALLER_GONE', async () => {
    const g = gatedHello();
    const server = await serve(g.handler);
    const a = await rawCall(server.port, sayHelloCall('hold', 1));
    await waitFor(() => g.seen.length === 1);
    a.socket.resetAndDestroy();
    await waitFor(() => server.server.snapshot().connections === 0);
    g.releaseAll();
    await waitFor(() => counter(server).failures.CALLER_GONE === 1);
    expect(counter(server).successes).toBe(0);
  });

  it('ThriftClient resets a connection whose call timed out, so the host drops what that caller still had waiting', async () => {
    const g = gatedHello();
    const server = await serve(g.handler, { maxConcurrentCalls: 1 });
    await rawCall(server.port, sayHelloCall('hold', 1));
    await waitFor(() => g.seen.length === 1);
    const client = new ServiceClient(
      validateServiceOptions('HelloWorld', {
        addresses: [server.address],
        serviceDir: GEN_DIR,
        shareState: false,
        callTimeoutMs: 50,
        retries: 0,
      }),
    );
    cleanups.push(() => client.destroy());
    await expect(client.call('sayHello', ['gave up'])).rejects.toMatchObject({ code: 'ERR_CALL_TIMEOUT' });
    await waitFor(() => server.server.snapshot().connections === 1, 5000, 'the reset to reach the host');
    g.releaseAll();
    await waitFor(() => counter(server).failures.ABANDONED === 1);
    expect(g.seen).toEqual(['hold']);
  });
});

describe('deadlines', () => {
  it('a call whose client_timeout passed while it waited is answered TIMEOUT and not run', async () => {
    const g = gatedHello();
    const server = await serve(g.handler, { maxConcurrentCalls: 1 }, 'header');
    await rawCall(server.port, sayHelloCall('hold', 1, new Map()));
    await waitFor(() => g.seen.length === 1);
    const b = await rawCall(server.port, sayHelloCall('late', 2, new Map([['client_timeout', '30']])));
    await waitFor(() => server.server.scheduler.queued === 1);
    const queuedAt = performance.now();
    await waitFor(() => performance.now() - queuedAt > 60, 5000, 'the deadline to pass');
    g.releaseAll();
    await waitFor(() => b.received().length > 0, 5000, 'the answer to the late call');
    const reply = b.received();
    expect(reply.toString('latin1')).toContain('deadline exceeded before the call started, not run');
    expect(reply.includes(Buffer.from([0x08, 0x00, 0x02, 0x00, 0x00, 0x00, TIMEOUT]))).toBe(true); // type field = 12
    expect(g.seen).toEqual(['hold']);
    expect(counter(server).failures).toEqual({ EXPIRED: 1 });
  });

  it("the handler's signal fires when the deadline passes, and when the caller disconnects", async () => {
    const reasons: string[] = [];
    const handler = {
      async sayHello(name: string) {
        const { signal, deadline } = getCallContext();
        if (name === 'deadline') expect(deadline).toBeGreaterThan(Date.now());
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        reasons.push(`${name}: ${(signal.reason as Error).message}`);
        return 'too late';
      },
    };
    const server = await createTestServer({
      service: 'HelloWorld',
      handler,
      genDir: GEN_DIR,
      transport: 'header',
      callContext: true,
    });
    cleanups.push(() => server.close());
    const timed = await rawCall(server.port, sayHelloCall('deadline', 1, new Map([['client_timeout', '300']])));
    await waitFor(() => reasons.length === 1, 5000, 'the deadline abort');
    // The handler ran on after the abort and its (late) reply still went out.
    await waitFor(() => timed.received().toString('latin1').includes('too late'));
    const gone = await rawCall(server.port, sayHelloCall('disconnect', 1, new Map()));
    await waitFor(() => counter(server).inFlight === 1, 5000, "the second call to start");
    gone.socket.resetAndDestroy();
    await waitFor(() => reasons.length === 2, 5000, 'the disconnect abort');
    expect(reasons).toEqual([
      "deadline: HelloWorld.sayHello: the call's deadline has passed",
      'disconnect: HelloWorld.sayHello: the caller disconnected',
    ]);
  });

  it('a ThriftClient call made inside a handler gets no more time than the call being served has left', async () => {
    let innerTimeout: number | undefined;
    const inner = await serve(
      {
        sayHello() {
          innerTimeout = Number(getCallContext().headers.get('client_timeout'));
          return 'inner';
        },
      },
      { callContext: true },
      'header',
    );
    const outer = await createTestServer({
      service: 'Catalog',
      genDir: GEN_DIR,
      transport: 'header',
      callContext: true,
      handler: {
        // Catalog's other methods, as the demo serves them.
        ...Object.fromEntries(
          Object.getOwnPropertyNames(CatalogHandler.prototype).map((m) => [m, CatalogHandler.prototype[m]]),
        ),
        async echo() {
          const hello = ThriftClient.instance<{ sayHello(n: string): Promise<string> }>('HelloWorld');
          return hello.sayHello('nested');
        },
      },
    });
    cleanups.push(() => outer.close());
    ThriftClient.config({
      Catalog: { addresses: [outer.address], transport: 'header', serviceDir: GEN_DIR, shareState: false, callTimeoutMs: 300 },
      HelloWorld: { addresses: [inner.address], transport: 'header', serviceDir: GEN_DIR, shareState: false, callTimeoutMs: 60_000 },
    });
    cleanups.push(() => ThriftClient.close());
    const catalog = ThriftClient.instance<{ echo(data: Buffer, delayMs: number): Promise<string> }>('Catalog');
    expect(await catalog.echo(Buffer.from('x'), 0)).toBe('inner');
    expect(innerTimeout).toBeGreaterThan(0);
    expect(innerTimeout).toBeLessThanOrEqual(300);
  });
});

describe('shedding', () => {
  it('a call shed by an overloaded host is retried on another address, even not idempotent, and counted as SHED', async () => {
    const busy = gatedHello();
    const a = await serve(busy.handler, { maxConcurrentCalls: 1, maxQueueMs: 20 });
    const b = await serve({ sayHello: (n: string) => `Hello ${n} from b` });
    // a: one call running, one waiting that found the queue empty (never shed for its wait).
    await rawCall(a.port, sayHelloCall('hold', 1));
    await rawCall(a.port, sayHelloCall('first', 2));
    await waitFor(() => a.server.scheduler.queued === 1);
    const reports: { attempts: number; address?: string }[] = [];
    const client = new ServiceClient(
      validateServiceOptions('HelloWorld', {
        addresses: [a.address, b.address],
        serviceDir: GEN_DIR,
        shareState: false,
        callTimeoutMs: 5000,
      }),
      { random: () => 0, onCallDone: (r) => reports.push(r) },
    );
    cleanups.push(() => client.destroy());
    expect(await client.call('sayHello', ['x'])).toBe('Hello x from b');
    expect(reports).toEqual([expect.objectContaining({ attempts: 2, address: b.address, ok: true })]);
    expect(counter(a).failures).toEqual({ SHED: 1 });
    busy.releaseAll();
    await waitFor(() => counter(a).successes === 2);
    expect(busy.seen).toEqual(['hold', 'first']);
  });

  it('with every address overloaded the call fails with ERR_SERVER_OVERLOADED, never run', async () => {
    const busy = gatedHello();
    const a = await serve(busy.handler, { maxConcurrentCalls: 1, maxQueueMs: 20 });
    await rawCall(a.port, sayHelloCall('hold', 1));
    await rawCall(a.port, sayHelloCall('first', 2));
    await waitFor(() => a.server.scheduler.queued === 1);
    const client = new ServiceClient(
      validateServiceOptions('HelloWorld', { addresses: [a.address], serviceDir: GEN_DIR, shareState: false }),
    );
    cleanups.push(() => client.destroy());
    const err = await client.call('sayHello', ['x']).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_SERVER_OVERLOADED', target: { address: a.address } });
    expect((err as Error).message).toContain(`${a.address} is overloaded and did not run the call`);
    expect((err as { cause: { type: number } }).cause.type).toBe(LOADSHEDDING);
    // The host's answer was read without capturing a stack of the client's reader.
    expect((err as { cause: Error }).cause.stack).not.toContain('\n    at ');
    // The address stays healthy: an overloaded host is alive.
    expect(client.addresses.evicted()).toEqual([]);
    busy.releaseAll();
  });
});

describe('settings at their boundaries', () => {
  it('maxConcurrentCalls: N calls run at once, call N+1 waits for one to finish', async () => {
    const g = gatedHello();
    const server = await serve(g.handler, { maxConcurrentCalls: 2 });
    for (const [i, name] of ['hold1', 'hold2', 'hold3'].entries()) await rawCall(server.port, sayHelloCall(name, i + 1));
    await waitFor(() => g.seen.length === 2 && server.server.scheduler.queued === 1);
    g.gates.shift()!();
    await waitFor(() => g.seen.length === 3);
    expect(g.seen).toEqual(['hold1', 'hold2', 'hold3']);
    g.releaseAll();
  });

  it.each([
    [0, 'run, however long it waited'],
    [15, 'shed once it waited longer than maxQueueMs'],
  ])('maxQueueMs %i: a call behind a waiting call is %s', async (maxQueueMs) => {
    const g = gatedHello();
    const server = await serve(g.handler, { maxConcurrentCalls: 1, maxQueueMs });
    await rawCall(server.port, sayHelloCall('hold', 1));
    await rawCall(server.port, sayHelloCall('first', 2));
    const third = await rawCall(server.port, sayHelloCall('third', 3));
    await waitFor(() => server.server.scheduler.queued === 2, 5000, 'two calls waiting');
    if (maxQueueMs === 0) {
      const since = performance.now();
      await waitFor(() => performance.now() - since > 40, 5000, 'a wait long enough to shed at 15 ms');
    } else {
      await waitFor(() => third.received().length > 0, 5000, 'the shed answer');
    }
    g.releaseAll();
    await waitFor(() => third.received().length > 0 && counter(server).successes >= 2);
    if (maxQueueMs === 0) {
      expect(g.seen).toEqual(['hold', 'first', 'third']);
      expect(third.received().toString('latin1')).toContain('Hello third');
    } else {
      // 'first' found nobody waiting: not shed for its wait, whatever it was.
      expect(g.seen).toEqual(['hold', 'first']);
      expect(third.received().toString('latin1')).toContain('server overloaded, not run (safe to retry)');
      expect(counter(server).failures).toEqual({ SHED: 1 });
    }
  });

  it('bad values of each setting are refused at start, naming the field', () => {
    const start = (extra: Record<string, unknown>) => () =>
      validateHostConfig({ services: [{ name: 'HelloWorld', listen: '127.0.0.1:9090', ...extra }] }, '/x/rpc.config.json');
    expect(start({ maxQueueMs: -1 })).toThrow(/services\[0\]\.maxQueueMs/);
    expect(start({ maxQueueMs: 600_001 })).toThrow(/services\[0\]\.maxQueueMs/);
    expect(start({ maxConcurrentCalls: 0 })).toThrow(/services\[0\]\.maxConcurrentCalls/);
    expect(start({ maxConcurrentCalls: 1.5 })).toThrow(/services\[0\]\.maxConcurrentCalls/);
    expect(start({ maxEventLoopDelayMs: 'fast' })).toThrow(/services\[0\]\.maxEventLoopDelayMs/);
    expect(start({ maxQueueMs: 0, maxConcurrentCalls: 1, maxEventLoopDelayMs: 0 })).not.toThrow();
  });
});

describe('the scheduler policy (no sockets)', () => {
  function runner() {
    const ran: string[] = [];
    const refused: string[] = [];
    const r: CallRunner & { ran: string[]; refused: string[] } = {
      gone: false,
      ran,
      refused,
      run: (c) => ran.push((c as ScheduledCall & { name: string }).name),
      refuse: (c, reason) => refused.push(`${(c as ScheduledCall & { name: string }).name}:${reason}`),
    };
    return r;
  }
  const call = (pipeline: CallRunner, name: string) => ({ pipeline, name, arrivedAt: 0, deadline: undefined });
  const silent = { warn() {} } as never;

  it('maxEventLoopDelayMs: sheds every call while the loop is that far behind, none below it; 0 never sheds', () => {
    let delay = 0;
    const s = new CallScheduler({ maxQueueMs: 100, maxConcurrentCalls: 100, maxEventLoopDelayMs: 50 }, silent, () => delay);
    const r = runner();
    s.submit(call(r, 'a'));
    delay = 49.9;
    s.submit(call(r, 'b'));
    delay = 50;
    s.submit(call(r, 'c'));
    expect(r.refused).toEqual(['c:SHED']);
    expect(s.figures()).toMatchObject({ shed: 1 });
    const off = new CallScheduler({ maxQueueMs: 100, maxConcurrentCalls: 100, maxEventLoopDelayMs: 0 }, silent, () => 10_000);
    const r2 = runner();
    off.submit(call(r2, 'd'));
    expect(r2.refused).toEqual([]);
  });

  it('runs a call in the tick that decoded it while nothing waits and the loop keeps up', () => {
    const s = new CallScheduler({ maxQueueMs: 100, maxConcurrentCalls: 1, maxEventLoopDelayMs: 0 }, silent, () => 0);
    const r = runner();
    s.submit(call(r, 'now'));
    expect(r.ran).toEqual(['now']);
    s.submit(call(r, 'later'));
    expect(r.ran).toEqual(['now']);
    expect(s.queued).toBe(1);
  });

  it('drops, without an answer, a waiting call whose connection closed', async () => {
    const s = new CallScheduler({ maxQueueMs: 100, maxConcurrentCalls: 1, maxEventLoopDelayMs: 0 }, silent, () => 0);
    const r = runner();
    const gone = { ...runner(), gone: true };
    s.submit(call(r, 'running'));
    s.submit(call(gone, 'left'));
    s.done();
    await new Promise((resolve) => setImmediate(resolve));
    expect(gone.refused).toEqual(['left:ABANDONED']);
    expect(gone.ran).toEqual([]);
  });
});

describe('seen in monitoring, on a real host', () => {
  let host: TestHost | undefined;
  afterEach(async () => {
    await cleanupHost(host);
    host = undefined;
  });

  it('rpc status counts a shed call as NOT RUN with its queue wait, and /metrics exposes SHED and the queue-wait histogram', async () => {
    const statsPort = await freePort();
    host = await makeHost({
      count: 1,
      handlerSource: HELD_HANDLER_SOURCE,
      service: { maxConcurrentCalls: 1, maxQueueMs: 20 },
    });
    const config = JSON.parse(fs.readFileSync(host.config, 'utf8'));
    fs.writeFileSync(host.config, JSON.stringify({ ...config, stats: { listen: `127.0.0.1:${statsPort}` } }));
    expect((await rpc(['start', '-d'], host.dir)).code).toBe(0);
    await statusJson(host);
    await rawCall(host.port, sayHelloCall('hold', 1));
    await waitFor(() => fs.existsSync(path.join(host!.dir, 'held')), 10_000, 'the held call');
    await rawCall(host.port, sayHelloCall('first', 2));
    const shed = await rawCall(host.port, sayHelloCall('shed', 3));
    await waitFor(() => shed.received().length > 0, 10_000, 'the shed answer');
    expect(shed.received().toString('latin1')).toContain('server overloaded, not run');
    fs.writeFileSync(path.join(host.dir, 'release'), '');
    let method: { failures: Record<string, number>; queueBuckets?: number[] } | undefined;
    await waitFor(async () => {
      const worker = (await statusJson(host!)).workers[0] as unknown as { methods?: Record<string, typeof method> };
      method = worker?.methods?.['HelloWorld.sayHello'];
      return (method?.queueBuckets?.reduce((a, b) => a + b, 0) ?? 0) === 2;
    }, 10_000, 'both run calls counted');
    expect(method!.failures).toEqual({ SHED: 1 });
    const text = await rpc(['status'], host.dir);
    expect(text.stdout).toMatch(/NOT RUN +QUEUE P99 ms/);
    expect(text.stdout).toMatch(/HelloWorld\.sayHello +3 +66\.7 .* 1 +\S+\n/);
    const metrics = await get(`http://127.0.0.1:${statsPort}/metrics`);
    expect(metrics).toContain('thrift_server_requests_total{service="HelloWorld",method="sayHello",result="SHED"} 1');
    expect(metrics).toMatch(/thrift_server_queue_wait_seconds_count\{service="HelloWorld",method="sayHello"\} 2\n/);
  });
});

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}
