/**
 * A call racing `ThriftClient.destroy()`: it fails as ERR_CLIENT_CLOSED, not as a connect
 * failure, and the address is not evicted for it.
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
  it('fails the racing calls with ERR_CLIENT_CLOSED and evicts nothing', async () => {
    const host = await startServer({ service: 'HelloWorld' });
    cleanups.push(host.close);
    ThriftClient.config({
      HelloWorld: { addresses: [`127.0.0.1:${host.port}`], serviceDir: GEN_DIR, shareState: false },
    });
    const hello = ThriftClient.instance<Hello>('HelloWorld');
    const engine = ThriftClient.serviceClientOf(hello)!;
    const calls = Array.from({ length: 20 }, (_, i) => hello.sayHello(`N${i}`).catch((e: { code?: string }) => e));
    await ThriftClient.destroy();
    const outcomes = await Promise.all(calls);
    const codes = new Set(outcomes.map((o) => (typeof o === 'string' ? 'ok' : o.code)));
    expect([...codes].filter((c) => c !== 'ok' && c !== 'ERR_CLIENT_CLOSED')).toEqual([]);
    expect(engine.addresses.evicted()).toEqual([]);
  });
});
