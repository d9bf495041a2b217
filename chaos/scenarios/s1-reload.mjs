// Scenario 1: rolling `rpc reload`s while ThriftClient and raw Apache clients call in a loop.
import path from 'node:path';
import { FIXTURES, Host, sleep } from '../lib/host.mjs';
import { rawLoops, round, runLoops, ThriftClient, thriftClientFor } from '../lib/load.mjs';

export default {
  id: '1',
  title: 'rolling reloads under load',
  async run({ quick, log }) {
    const reloads = quick ? 5 : 20;
    const host = await Host.create({
      label: 's1',
      services: [{ name: 'HelloWorld', count: 2, handler: path.join(FIXTURES, 'hello-handler.js') }],
    });
    try {
      await host.start();
      // Not idempotent: a reload must not need retries to be invisible.
      const hello = await thriftClientFor('HelloWorld', {
        addresses: [host.address()],
        callTimeoutMs: 3000,
        connectTimeoutMs: 1000,
        stateDir: host.dir,
      });
      const tc = runLoops({
        label: 'ThriftClient',
        concurrency: 4,
        boundMs: 3500,
        call: (loop, n) => ({ promise: hello.sayHello(`t${loop}-${n}`), expect: `Hello t${loop}-${n}` }),
      });
      const raw = rawLoops({ label: 'raw thrift', port: host.ports.HelloWorld, connections: 4 });
      await sleep(1000);
      const durations = [];
      let failedReloads = 0;
      for (let i = 0; i < reloads; i++) {
        const r = await host.reload();
        if (r.code !== 0) {
          failedReloads++;
          log(`reload ${i + 1} failed (${r.code}): ${r.stderr}`);
        } else durations.push(r.durationMs);
        await sleep(300);
      }
      await sleep(1000);
      const [t1, t2] = [await tc.stop(), await raw.stop()];
      await ThriftClient.destroy();
      const status = await host.statusCli();
      const listening = status.workers.filter((w) => w.state === 'listening').length;
      const crashes = host.unexpectedExits().length;
      durations.sort((a, b) => a - b);
      const median = durations[Math.floor(durations.length / 2)] ?? NaN;
      const recover = `reload median ${round(median / 1000)} s, max ${round((durations.at(-1) ?? NaN) / 1000)} s`;
      const healthy = failedReloads === 0 && listening === 2 && status.master.generation === reloads + 1;
      const lost = (t) => t.wrong + t.neverSettled;
      return {
        rows: [
          {
            scenario: `1 ${reloads} reloads: ThriftClient`,
            calls: t1.calls,
            failed: t1.failed,
            lost: lost(t1),
            crashes,
            recover,
            target: '0 failed',
            pass: t1.failed === 0 && lost(t1) === 0 && crashes === 0 && healthy,
          },
          {
            scenario: `1 ${reloads} reloads: raw thrift`,
            calls: t2.calls,
            failed: t2.failed,
            lost: lost(t2),
            crashes,
            recover,
            target: '0 failed (docs/cli.md claim)',
            pass: t2.failed === 0 && lost(t2) === 0 && crashes === 0 && healthy,
          },
        ],
        details: {
          reloads,
          failedReloads,
          reloadDurationsMs: durations,
          endGeneration: status.master.generation,
          listeningAtEnd: listening,
          thriftClient: t1.summary(),
          raw: t2.summary(),
        },
      };
    } finally {
      await ThriftClient.destroy();
      await host.dispose();
    }
  },
};
