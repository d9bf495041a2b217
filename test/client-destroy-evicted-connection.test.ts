/**
 * destroy() and a connection the pool already let go of: its pending call is still rejected
 * (real sockets on 127.0.0.1).
 */
import { afterEach, expect, it } from 'vitest';
import { ThriftClient } from '../clients/index.js';
import { GEN_DIR, startThriftServer, type TestServer } from './helpers/servers.js';

type Catalog = import('../gen/Catalog/Catalog.js').Client;

const servers: TestServer[] = [];
afterEach(async () => {
  await ThriftClient.reset();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

it('destroy() rejects a pending call on a connection the pool has already evicted', async () => {
  const s = await startThriftServer('Catalog', {
    echo: (data: Buffer, delayMs: number) =>
      new Promise((r) => setTimeout(() => r(data.toString()), delayMs)),
  });
  servers.push(s);
  ThriftClient.config({
    Catalog: {
      addresses: [s.address],
      serviceDir: GEN_DIR,
      shareState: false,
      poolIdleTimeoutMs: 50,
      callTimeoutMs: 5000,
    },
  });
  const client = ThriftClient.instance<Catalog>('Catalog');
  // The connection goes back to the pool as soon as the call is written (pipelining), so the
  // idle eviction retires it while the call is still pending.
  const slow = client.echo(Buffer.from('late'), 1500).then(
    () => 'resolved',
    () => 'rejected',
  );
  await new Promise((r) => setTimeout(r, 400));
  const t0 = Date.now();
  await ThriftClient.destroy();
  const outcome = await Promise.race([slow, new Promise((r) => setTimeout(() => r('still pending'), 300))]);
  expect(outcome).toBe('rejected');
  expect(Date.now() - t0).toBeLessThan(1000);
});
