/**
 * destroy() and a connection the pool already let go of: its pending call is still rejected
 * (real sockets on 127.0.0.1).
 */
import { afterEach, expect, it } from 'vitest';
import { ThriftClient } from '../clients/index.js';
import { waitFor } from './helpers/in-process-server.js';
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
      callTimeoutMs: 20_000,
    },
  });
  const client = ThriftClient.instance<Catalog>('Catalog');
  const pool = ThriftClient.serviceClientOf(client)!.pool(s.address);
  // The connection goes back to the pool as soon as the call is written (pipelining), so the
  // idle eviction retires it while the call is still pending. The reply would come after 10 s.
  let settled = false;
  const slow = client.echo(Buffer.from('late'), 10_000).then(
    () => 'resolved',
    () => 'rejected',
  );
  void slow.finally(() => {
    settled = true;
  });
  await waitFor(
    () => pool.stats.destroyed === 1 && pool.connections().some((c) => c.state === 'retired'),
    5000,
    'the idle eviction to retire the connection',
  );
  expect(settled).toBe(false);
  await ThriftClient.destroy();
  expect(await slow).toBe('rejected');
});
