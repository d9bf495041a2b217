/**
 * ThriftClient under partial failure, against real hosts on loopback (the worker's ThriftServer
 * through createTestServer) whose handlers are scripted to hold, fail or shed calls: the
 * least-loaded choice, the breakers, the retry budget, the deadline, backup requests and their
 * cancellation (no stray reply, no leaked connection), inspection, and config errors.
 */
import thrift from 'thrift';
import { afterEach, describe, expect, it } from 'vitest';
import { type CallReport, ThriftClient } from '../clients/index.js';
import { validateServiceOptions } from '../clients/client-config.js';
import { ServiceClient } from '../clients/service-client.js';
import type { ServerInterceptor } from '../src/worker/call-context.js';
import { createTestServer, type TestServer } from '../src/worker/test-server.js';
import { waitFor } from './helpers/in-process-server.js';
import { GEN_DIR, startSilentServer } from './helpers/servers.js';

const { TApplicationException } = thrift.Thrift;
const { CatalogHandler } = require('../services/Catalog/handler.js');
const LOADSHEDDING = 11;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A handler's calls held until the test releases them. */
function gate() {
  const waiting: (() => void)[] = [];
  return {
    hold: () => new Promise<void>((resolve) => waiting.push(resolve)),
    get held() {
      return waiting.length;
    },
    release: () => waiting.splice(0).forEach((r) => r()),
  };
}

async function serve(
  handler: object,
  { service = 'HelloWorld', transport = 'buffered', interceptors = [] as ServerInterceptor[] } = {},
): Promise<TestServer> {
  const server = await createTestServer({
    service,
    handler,
    genDir: GEN_DIR,
    transport: transport as 'buffered' | 'header',
    interceptors,
  });
  cleanups.push(() => server.close());
  return server;
}

/** A HelloWorld handler answering `Hello <name> from <label>`. */
const hello = (label: string) => ({ sayHello: (name: string) => `Hello ${name} from ${label}` });

/** Calls the server ran to the end, by outcome. */
function served(server: TestServer, key = 'HelloWorld.sayHello') {
  return server.server.stats.snapshot()[key] ?? { calls: 0, successes: 0, failures: {} as Record<string, number> };
}

/** A ServiceClient of `service` on `addresses`, destroyed after the test; `reports` collects its call reports. */
function client(addresses: string[], extra: Record<string, unknown> = {}, random = () => 0, service = 'HelloWorld') {
  const reports: CallReport[] = [];
  const c = new ServiceClient(
    validateServiceOptions(service, { addresses, serviceDir: GEN_DIR, shareState: false, detectRate: 0, ...extra }),
    { random, onCallDone: (r) => reports.push(r) },
  );
  cleanups.push(() => c.destroy());
  return { c, reports };
}

describe('least-loaded choice', () => {
  it('sends nothing to an address whose call is still out while another is idle; random does', async () => {
    const held = gate();
    const handler = {
      async sayHello(name: string) {
        if (name === 'hold') await held.hold();
        return `Hello ${name} from a`;
      },
    };
    const a = await serve(handler);
    const b = await serve(hello('b'));
    cleanups.push(() => held.release());
    for (const balancer of ['least-loaded', 'random'] as const) {
      // One call per connection: a host answers a connection's calls in order, so calls
      // pipelined behind the held one would wait for it.
      const { c } = client([a.address, b.address], { balancer, maxInFlightPerConnection: 1 });
      // random 0: the first address drawn is a, and a tie goes to it.
      const holding = c.call('sayHello', ['hold']);
      await waitFor(() => held.held === 1);
      const answers = [];
      for (let i = 0; i < 10; i++) answers.push(await c.call('sayHello', [`x${i}`]));
      const fromA = answers.filter((x) => String(x).endsWith('from a')).length;
      expect(fromA).toBe(balancer === 'least-loaded' ? 0 : 10);
      held.release();
      expect(await holding).toBe('Hello hold from a');
    }
  });

  it('a slow address gets the call that measures it, then none while the fast one keeps up', async () => {
    const slow = await serve({
      async sayHello(name: string) {
        await new Promise((r) => setTimeout(r, 300));
        return `Hello ${name} from slow`;
      },
    });
    const fast = await serve(hello('fast'));
    const { c } = client([slow.address, fast.address]);
    for (let i = 0; i < 30; i++) await c.call('sayHello', [`x${i}`]);
    expect(served(slow).successes).toBe(1);
    expect(served(fast).successes).toBe(29);
    const status = c.status().addresses;
    expect(status.find((s) => s.address === slow.address)!.latencyMs).toBeGreaterThan(250);
  });

  it("steers calls away from a host whose THeader replies report it loaded (reply key 'load')", async () => {
    const reporting =
      (load: string): ServerInterceptor =>
      (context, next) => {
        context.responseHeaders.set('load', load);
        return next();
      };
    const busy = await serve(hello('busy'), { transport: 'header', interceptors: [reporting('1000')] });
    const idle = await serve(hello('idle'), { transport: 'header', interceptors: [reporting('0')] });
    const { c } = client([busy.address, idle.address], { transport: 'header' });
    for (let i = 0; i < 20; i++) await c.call('sayHello', [`x${i}`]);
    expect(served(busy).successes).toBe(1);
    expect(c.status().addresses.find((s) => s.address === busy.address)).toMatchObject({ reportedLoad: 1000 });
  });
  it("a host reports its calls running and waiting to a least-loaded THeader caller, which asks (key 'load')", async () => {
    const held = gate();
    const host = await serve(
      {
        async sayHello(name: string) {
          if (name === 'hold') await held.hold();
          return `Hello ${name}`;
        },
      },
      { transport: 'header' },
    );
    cleanups.push(() => held.release());
    for (const balancer of ['least-loaded', 'random'] as const) {
      // One call per connection, so the answered call is not queued behind the held ones.
      const { c } = client([host.address], { transport: 'header', balancer, maxInFlightPerConnection: 1 });
      const holding = [0, 1, 2].map(() => c.call('sayHello', ['hold']));
      await waitFor(() => held.held === 3);
      expect(await c.call('sayHello', ['now'])).toBe('Hello now');
      // The random balancer does not ask, and the host sends no load it was not asked for.
      expect(c.status().addresses[0]!.reportedLoad).toBe(balancer === 'least-loaded' ? 3 : undefined);
      held.release();
      await Promise.all(holding);
    }
  });
});

describe('a timed-out call on a THeader connection', () => {
  /** A host that answers `slow` after 100 ms, holds `hold` until released, answers the rest at once. */
  async function host() {
    const held = gate();
    const server = await serve(
      {
        async sayHello(name: string) {
          if (name === 'slow') await new Promise((r) => setTimeout(r, 100));
          if (name === 'hold') await held.hold();
          return `Hello ${name}`;
        },
      },
      { transport: 'header' },
    );
    cleanups.push(() => held.release());
    return { server, held };
  }
  const options = { transport: 'header', poolMax: 1, retries: 0, callTimeoutMs: 300 };

  it('keeps its connection while the host answered within the timeout (the host drops expired calls itself)', async () => {
    const { server, held } = await host();
    const { c } = client([server.address], options);
    const slow = c.call('sayHello', ['slow']);
    const hold = c.call('sayHello', ['hold']).catch((e: unknown) => e);
    expect(await slow).toBe('Hello slow');
    expect(await hold).toMatchObject({ code: 'ERR_CALL_TIMEOUT' });
    const [conn] = c.pool(server.address).connections();
    expect(conn).toBeDefined();
    held.release();
    // Its late reply is read past; the same connection serves the next call.
    expect(await c.call('sayHello', ['next'])).toBe('Hello next');
    expect(c.pool(server.address).connections()).toEqual([conn]);
    expect(server.server.snapshot().connections).toBe(1);
  });

  it('resets a connection that stayed silent for a whole timeout', async () => {
    const { server } = await host();
    const { c } = client([server.address], options);
    expect(await c.call('sayHello', ['hold']).catch((e: unknown) => e)).toMatchObject({ code: 'ERR_CALL_TIMEOUT' });
    await waitFor(() => c.pool(server.address).connections().length === 0, 5000, 'the silent connection to close');
    await waitFor(() => server.server.snapshot().connections === 0, 5000, 'the host to see the reset');
  });
});

describe('breakers', () => {
  /** Fails every other call with an undeclared error (INTERNAL_ERROR). */
  function flaky(label: string) {
    let n = 0;
    return {
      sayHello(name: string) {
        if (n++ % 2 === 1) throw new Error('broken dependency');
        return `Hello ${name} from ${label}`;
      },
    };
  }

  it('evicts a host failing half its calls by its success rate; an idempotent call goes elsewhere and succeeds', async () => {
    const bad = await serve(flaky('bad'));
    const good = await serve(hello('good'));
    // 'random' with random 0: every first attempt goes to bad while it is in rotation.
    const { c, reports } = client([bad.address, good.address], {
      balancer: 'random',
      idempotent: ['sayHello'],
      evictAfterFailures: 0,
      // Judged from a fifth of the window on: after 10 calls.
      successRateWindow: 50,
    });
    for (let i = 0; i < 12; i++) expect(await c.call('sayHello', [`x${i}`])).toMatch(/^Hello x\d+ from (bad|good)$/);
    expect(served(bad)).toMatchObject({ successes: 5, failures: { INTERNAL_ERROR: 5 } });
    expect(c.addresses.evicted()).toEqual([bad.address]);
    // Before the eviction, each failure was retried on good; after it, good took the calls directly.
    expect(reports[1]!.tries).toEqual([
      expect.objectContaining({ address: bad.address, errorCode: 'TApplicationException:6', backup: false }),
      expect.objectContaining({ address: good.address, errorCode: undefined, backup: false }),
    ]);
    expect(reports.slice(10).map((r) => r.tries.map((t) => t.address))).toEqual([[good.address], [good.address]]);
    expect(c.status().addresses.find((s) => s.address === bad.address)).toMatchObject({ breaker: 'open' });
  });

  it('not idempotent: the undeclared error reaches the caller, and still counts against the host', async () => {
    const bad = await serve({
      sayHello() {
        throw new Error('always broken');
      },
    });
    const good = await serve(hello('good'));
    const { c } = client([bad.address, good.address], { balancer: 'random', evictAfterFailures: 2 });
    for (let i = 0; i < 2; i++) {
      const err = await c.call('sayHello', ['x']).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TApplicationException);
      expect((err as { type: number }).type).toBe(6);
    }
    expect(c.addresses.evicted()).toEqual([bad.address]);
    expect(served(good).calls).toBe(0);
  });

  it('declared exceptions and shed calls never trip a breaker', async () => {
    const catalog = await serve(new CatalogHandler(), { service: 'Catalog' });
    const { c } = client([catalog.address], { evictAfterFailures: 1, successRateWindow: 5 }, () => 0, 'Catalog');
    for (let i = 0; i < 6; i++) await expect(c.call('get', [99])).rejects.toMatchObject({ name: 'NotFound' });
    expect(c.addresses.evicted()).toEqual([]);

    const shedding = await serve({
      sayHello() {
        throw new TApplicationException(LOADSHEDDING, 'overloaded, not run');
      },
    });
    const { c: h } = client([shedding.address], { evictAfterFailures: 1 });
    for (let i = 0; i < 3; i++) await expect(h.call('sayHello', ['x'])).rejects.toMatchObject({ code: 'ERR_SERVER_OVERLOADED' });
    expect(h.addresses.evicted()).toEqual([]);
  });
});

describe('retry budget', () => {
  const shedAll = {
    sayHello() {
      throw new TApplicationException(LOADSHEDDING, 'overloaded, not run');
    },
  };

  it('with every host shedding, the budget bounds the extra attempts and the report says so', async () => {
    const a = await serve(shedAll);
    const b = await serve(shedAll);
    // No share of calls, 0.1 retry per second over 10 s: exactly one retry in the window.
    const { c, reports } = client([a.address, b.address], { retries: 2, retryBudget: { ratio: 0, minPerSec: 0.1 } });
    for (let i = 0; i < 3; i++) await expect(c.call('sayHello', ['x'])).rejects.toMatchObject({ code: 'ERR_SERVER_OVERLOADED' });
    expect(reports.map((r) => [r.attempts, r.budgetExhausted])).toEqual([
      [2, true],
      [1, true],
      [1, true],
    ]);
    expect(served(a).calls + served(b).calls).toBe(4);
    expect(c.status().retryBudget).toEqual({ available: 0, calls: 3, withdrawn: 1, refused: 3 });
    expect(c.status().counters).toMatchObject({ calls: 3, retries: 1, budgetExhausted: 3 });
  });

  it('retryBudget: false leaves only `retries` to bound them', async () => {
    const hosts = await Promise.all([serve(shedAll), serve(shedAll), serve(shedAll)]);
    const { c, reports } = client(
      hosts.map((h) => h.address),
      { retries: 2, retryBudget: false },
    );
    for (let i = 0; i < 3; i++) await expect(c.call('sayHello', ['x'])).rejects.toMatchObject({ code: 'ERR_SERVER_OVERLOADED' });
    expect(reports.map((r) => r.attempts)).toEqual([3, 3, 3]);
    expect(c.status().retryBudget).toBeUndefined();
  });

  it("a retry never outlives the call's deadline", async () => {
    const silent = await startSilentServer();
    cleanups.push(() => silent.close());
    const good = await serve(hello('good'));
    const { c, reports } = client([silent.address, good.address], {
      idempotent: ['sayHello'],
      callTimeoutMs: 100,
      retries: 2,
    });
    await expect(c.call('sayHello', ['x'])).rejects.toMatchObject({ code: 'ERR_CALL_TIMEOUT' });
    expect(reports[0]).toMatchObject({ attempts: 1, budgetExhausted: false });
    expect(served(good).calls).toBe(0);
  });
});

describe('backup requests', () => {
  it('a backup answers for a held call; the held attempt is cancelled, its late reply read past, its connection kept', async () => {
    const held = gate();
    const a = await serve({
      async sayHello(name: string) {
        if (name === 'x') await held.hold();
        return `Hello ${name} from a`;
      },
    });
    cleanups.push(() => held.release());
    const b = await serve(hello('b'));
    const { c, reports } = client([a.address, b.address], {
      balancer: 'random',
      idempotent: ['sayHello'],
      backupAfter: 20,
    });
    expect(await c.call('sayHello', ['x'])).toBe('Hello x from b');
    expect(reports[0]).toMatchObject({ attempts: 2, backupSent: true, backupWon: true, address: b.address });
    expect(reports[0]!.tries).toEqual([
      expect.objectContaining({ address: a.address, errorCode: 'CANCELLED', backup: false }),
      expect.objectContaining({ address: b.address, errorCode: undefined, backup: true }),
    ]);
    const [conn] = c.pool(a.address).connections();
    expect(conn).toMatchObject({ inFlight: 0 });
    held.release();
    // The host answers the call nobody waits for; the reply is read past, not handed to anyone.
    await waitFor(() => served(a).successes === 1, 5000, 'the held call to be answered');
    // The same connection serves the next call to a (random 0 draws a first): nothing was reset.
    expect(await c.call('sayHello', ['y'])).toBe('Hello y from a');
    expect(c.pool(a.address).connections()).toEqual([conn]);
    expect(a.server.snapshot().connections).toBe(1);
    expect(c.status().counters).toMatchObject({ backupsSent: 1, backupsWon: 1 });
    expect(c.status().addresses.find((s) => s.address === a.address)).toMatchObject({ inFlight: 0, breaker: 'closed' });
  });

  it("a cancelled attempt's late reply is read past: the call pipelined behind it on that connection gets its own", async () => {
    const echoGate = gate();
    const addGate = gate();
    const a = await serve(
      Object.assign(new CatalogHandler(), {
        async echo() {
          await echoGate.hold();
          return 'late echo from a';
        },
        async add(x: unknown, y: unknown) {
          await addGate.hold();
          return Number(x) + Number(y);
        },
      }),
      { service: 'Catalog' },
    );
    cleanups.push(() => (echoGate.release(), addGate.release()));
    const b = await serve(Object.assign(new CatalogHandler(), { echo: () => 'echo from b' }), { service: 'Catalog' });
    const { c } = client(
      [a.address, b.address],
      { balancer: 'random', idempotent: ['echo'], backupAfter: 20 },
      () => 0,
      'Catalog',
    );
    const echo = c.call('echo', [Buffer.from('x'), 0]);
    await waitFor(() => echoGate.held === 1);
    const add = c.call('add', [1, 2]);
    await waitFor(() => addGate.held === 1);
    expect(c.pool(a.address).connections()).toHaveLength(1);
    expect(await echo).toBe('echo from b');
    // The echo attempt on a is forgotten; add still waits on the same connection.
    expect(c.pool(a.address).connections()[0]!.inFlight).toBe(1);
    echoGate.release();
    await waitFor(() => served(a, 'Catalog.echo').successes === 1, 5000, "a's late echo reply to leave");
    addGate.release();
    expect(Number(await add)).toBe(3);
    // The same connection serves the next call.
    const again = c.call('add', [2, 2]);
    await waitFor(() => addGate.held === 1);
    expect(c.pool(a.address).connections()).toHaveLength(1);
    addGate.release();
    expect(Number(await again)).toBe(4);
  });

  it('backups after a percentile add at most 1 - p of the calls, however many calls outlast it', async () => {
    let slow = false;
    const held = gate();
    const a = await serve({
      async sayHello(name: string) {
        if (slow) await held.hold();
        return `Hello ${name} from a`;
      },
    });
    cleanups.push(() => held.release());
    const b = await serve(hello('b'));
    // random 0: every first attempt goes to a; its backups to b.
    const { c } = client([a.address, b.address], { balancer: 'random', idempotent: ['sayHello'], backupAfter: 'p90' });
    // The percentile is known after 100 answers.
    for (let i = 0; i < 100; i++) await c.call('sayHello', [`fast${i}`]);
    expect(c.status().backup!.delayMs.sayHello).toBeDefined();
    // Now every call outlasts the p90 and would want a backup: 10 % of the 160 calls may have
    // one (the retry budget alone would allow 32).
    slow = true;
    const calls = Array.from({ length: 60 }, (_, i) => c.call('sayHello', [`slow${i}`]));
    await waitFor(() => held.held === 60, 5000, 'every slow call out');
    setTimeout(() => held.release(), 200);
    const answers = await Promise.all(calls);
    expect(answers.filter((x) => String(x).endsWith('from b')).length).toBe(c.status().counters.backupsWon);
    expect(c.status().counters.backupsSent).toBeGreaterThanOrEqual(10);
    expect(c.status().counters.backupsSent).toBeLessThanOrEqual(16);
  });

  it('no backup before the percentile is known, and none once the budget is spent', async () => {
    const held = gate();
    const a = await serve({
      async sayHello(name: string) {
        await held.hold();
        return `Hello ${name} from a`;
      },
    });
    cleanups.push(() => held.release());
    const b = await serve(hello('b'));
    const p99 = client([a.address, b.address], { balancer: 'random', idempotent: ['sayHello'], backupAfter: 'p99' });
    expect(p99.c.status().backup).toEqual({ after: 'p99', delayMs: { sayHello: undefined } });

    const { c, reports } = client([a.address, b.address], {
      balancer: 'random',
      idempotent: ['sayHello'],
      backupAfter: 10,
      retryBudget: { ratio: 0, minPerSec: 0.1 },
    });
    expect(await c.call('sayHello', ['first'])).toBe('Hello first from b');
    const second = c.call('sayHello', ['second']);
    await waitFor(() => reports.length === 1 && held.held === 2);
    await waitFor(() => c.status().counters.budgetExhausted === 1, 5000, 'the refused backup');
    held.release();
    expect(await second).toBe('Hello second from a');
    expect(reports[1]).toMatchObject({ attempts: 1, backupSent: false, budgetExhausted: true });
    expect(served(b).successes).toBe(1);
  });
});

describe('inspection and configuration', () => {
  it('ThriftClient.inspect tells breakers, load, budget and counters of an instantiated service', async () => {
    const a = await serve(hello('a'));
    ThriftClient.config({ HelloWorld: { addresses: [a.address], serviceDir: GEN_DIR, shareState: false } });
    cleanups.push(() => ThriftClient.reset());
    expect(ThriftClient.inspect('HelloWorld')).toBeUndefined();
    const h = ThriftClient.instance<{ sayHello(n: string): Promise<string> }>('HelloWorld');
    await h.sayHello('x');
    expect(ThriftClient.inspect('HelloWorld')).toMatchObject({
      service: 'HelloWorld',
      balancer: 'least-loaded',
      addresses: [{ address: a.address, breaker: 'closed', consecutiveFailures: 0, successRate: 1, inFlight: 0, weight: 1 }],
      // A new client: one second's worth of the 10/s floor.
      retryBudget: { available: 10, calls: 1, withdrawn: 0, refused: 0 },
      counters: { calls: 1, retries: 0, budgetExhausted: 0, backupsSent: 0, backupsWon: 0 },
      backup: undefined,
      discovery: undefined,
    });
  });

  it.each([
    [{ balancer: 'fastest' }, /HelloWorld\.balancer must be "least-loaded" or "random", got "fastest"/],
    [{ retryBudget: { ratio: 2 } }, /HelloWorld\.retryBudget\.ratio must be a number in \[0, 1\]/],
    [{ retryBudget: { windowMs: 10 } }, /HelloWorld\.retryBudget\.windowMs must be an integer from 1000 to 600000/],
    [{ retryBudget: { perSecond: 1 } }, /HelloWorld\.retryBudget\.perSecond is not a known option/],
    [{ retryBudget: true }, /HelloWorld\.retryBudget must be false or an object/],
    [{ backupAfter: 'p42', idempotent: ['sayHello'] }, /HelloWorld\.backupAfter must be false, a delay in ms .* or one of "p90", "p95", "p99", "p999"/],
    [{ backupAfter: 20 }, /HelloWorld\.backupAfter applies to the methods listed in idempotent, and idempotent is empty/],
    [{ evictBelowSuccessRate: 1.5 }, /HelloWorld\.evictBelowSuccessRate must be a number in \[0, 1\]/],
    [{ successRateWindow: 2 }, /HelloWorld\.successRateWindow must be an integer from 5 to 10000/],
    [{ maxEvictedRatio: -1 }, /HelloWorld\.maxEvictedRatio must be a number in \[0, 1\]/],
    [{ slowStartMs: -5 }, /HelloWorld\.slowStartMs must be an integer from 0/],
    [{ latencyDecayMs: 0 }, /HelloWorld\.latencyDecayMs must be an integer from 1/],
  ])('%j is refused, naming the field', (extra, message) => {
    expect(() =>
      validateServiceOptions('HelloWorld', { addresses: ['127.0.0.1:9090'], serviceDir: GEN_DIR, ...extra }),
    ).toThrow(expect.objectContaining({ code: 'ERR_CLIENT_CONFIG', message: expect.stringMatching(message) }));
  });

  it('defaults: least-loaded, budget on, breakers on, no backup requests', () => {
    const o = validateServiceOptions('HelloWorld', { addresses: ['127.0.0.1:9090'], serviceDir: GEN_DIR });
    expect(o).toMatchObject({
      balancer: 'least-loaded',
      retryBudget: { ratio: 0.2, minPerSec: 10, windowMs: 10_000 },
      backupAfter: undefined,
      evictAfterFailures: 5,
      evictBelowSuccessRate: 0.8,
      successRateWindow: 100,
      maxEvictedRatio: 0.5,
      slowStartMs: 1_000,
      latencyDecayMs: 10_000,
    });
  });
});
