/**
 * A ThriftClient in its own process, driven over IPC by multi-process tests:
 * `{ cmd: 'config', config }`, `{ cmd: 'calls', n }` (answers hit counts per address and
 * failures), `{ cmd: 'evicted' }`. Run with `-r ./ts-register.cjs`.
 */
import { ThriftClient } from '../../clients/index.js';

type Request =
  | { id: number; cmd: 'config'; config: Parameters<typeof ThriftClient.config>[0] }
  | { id: number; cmd: 'calls'; n: number }
  | { id: number; cmd: 'evicted' };

process.on('message', async (req: Request) => {
  try {
    if (req.cmd === 'config') {
      ThriftClient.config(req.config);
      process.send?.({ id: req.id, ok: true });
    } else if (req.cmd === 'calls') {
      const client = ThriftClient.instance<import('../../gen/HelloWorld/HelloWorld.js').Client>('HelloWorld');
      const hits: Record<string, number> = {};
      let failures = 0;
      for (let i = 0; i < req.n; i++) {
        try {
          const reply = await client.sayHello('child');
          const port = reply.split(' from ')[1] as string;
          hits[port] = (hits[port] ?? 0) + 1;
        } catch {
          failures++;
        }
      }
      process.send?.({ id: req.id, hits, failures });
    } else if (req.cmd === 'evicted') {
      const client = ThriftClient.instance('HelloWorld');
      process.send?.({ id: req.id, evicted: ThriftClient.serviceClientOf(client)?.addresses.evicted() });
    }
  } catch (err) {
    process.send?.({ id: req.id, error: String(err) });
  }
});
process.on('disconnect', () => {
  void ThriftClient.destroy().finally(() => process.exit(0));
});
process.send?.({ ready: true });
