/**
 * A call racing `ThriftClient.destroy()`: it fails as ERR_CLIENT_CLOSED, not as a connect
 * failure, and the address is not evicted for it.
 *
 * The window is the pool's borrow: a call that passed the "closed?" check and waits in
 * `pool.acquire()` (its connection still connecting, or queued behind one) when `destroy()` lands
 * gets the pool's refusal, which used to be reported as ERR_CONNECT_FAILED and evicted the
 * address. The calls below start synchronously and `destroy()` runs in the same tick, so every one
 * is inside that window; the test checks that each did reach it (the refusal is the error's
 * `cause`, and connections were being opened), so it cannot pass on calls that settled before or
 * were refused before the window.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ThriftClient } from '../clients/index.js';
import { startServer } from './helpers/in-process-server.js';
import { GEN_DIR } from './helpers/servers.js';

type Hello = import('../gen/HelloWorld/HelloWorld.js').Client;

const cleanups: (() => void)[] = [];
afterEach(async () => {
  await ThriftClient.reset();
  for (const c of cleanups.splice(0)) c();
});

describe('closing while calls start', () => {
  it('fails the calls waiting in the pool with ERR_CLIENT_CLOSED and evicts nothing', async () => {
    const host = await startServer({ service: 'HelloWorld' });
    cleanups.push(host.close);
    const address = `127.0.0.1:${host.port}`;
    ThriftClient.config({ HelloWorld: { addresses: [address], serviceDir: GEN_DIR, shareState: false } });
    const hello = ThriftClient.instance<Hello>('HelloWorld');
    const engine = ThriftClient.serviceClientOf(hello)!;
    const calls = Array.from({ length: 20 }, (_, i) =>
      hello.sayHello(`N${i}`).then(
        (reply) => ({ reply }),
        (e: Error & { code?: string }) => ({ code: e.code, cause: (e.cause as Error | undefined)?.message }),
      ),
    );
    await ThriftClient.destroy();
    const outcomes = await Promise.all(calls);

    // Each call was inside the borrow: the pool's refusal (or its destroyed connection) is the cause.
    for (const outcome of outcomes) {
      expect(outcome).toEqual({ code: 'ERR_CLIENT_CLOSED', cause: expect.stringMatching(/pool destroyed|client destroyed/) });
    }
    // ... while connections to the address were being opened, which destroy() then closed.
    expect(engine.pool(address).stats.created).toBeGreaterThan(0);
    expect(engine.addresses.evicted()).toEqual([]);
  });
});
