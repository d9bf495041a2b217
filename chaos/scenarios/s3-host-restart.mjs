// Scenario 3: three hosts (`rpc start -d` each); one is crashed (SIGKILL of its master and
// worker) under load and restarted on the same port. Caller-visible failures with ThriftClient
// and an idempotent method (target 0), and seconds until the restarted host takes traffic.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { FIXTURES, Host, sleep, waitFor } from '../lib/host.mjs';
import { round, runLoops, ThriftClient, thriftClientFor } from '../lib/load.mjs';

export default {
  id: '3',
  title: '1 of 3 hosts killed and restarted',
  limitMs: ({ quick }) => (quick ? 90_000 : 180_000),
  async run({ quick, log }) {
    const cycles = quick ? 1 : 3;
    const downMs = 3000;
    const hosts = [];
    try {
      for (const label of ['s3a', 's3b', 's3c']) {
        const h = await Host.create({
          label,
          services: [{ name: 'HelloWorld', count: 1, handler: path.join(FIXTURES, 'hello-handler.js') }],
        });
        hosts.push(h);
        await h.start();
      }
      // Traffic per address, from the client's own report of every call.
      const okAt = new Map(hosts.map((h) => [h.address(), []]));
      const hello = await thriftClientFor(
        'HelloWorld',
        {
          addresses: hosts.map((h) => h.address()),
          idempotent: ['sayHello'],
          callTimeoutMs: 2000,
          connectTimeoutMs: 1000,
          stateDir: hosts[0].dir,
        },
        {
          onCallDone: (r) => {
            if (r.ok && r.address) okAt.get(r.address)?.push(performance.now());
          },
        },
      );
      const load = runLoops({
        label: 'ThriftClient',
        concurrency: 4,
        boundMs: 3 * (2000 + 1000) + 1000,
        call: (loop, n) => ({ promise: hello.sayHello(`h${loop}-${n}`), expect: `Hello h${loop}-${n}` }),
      });
      await sleep(2000);
      const events = [];
      for (let c = 0; c < cycles; c++) {
        const victim = hosts[c % hosts.length];
        const { master, workers } = victim.crash();
        const killedAt = performance.now();
        await sleep(downMs);
        const restart = await victim.start();
        const upAt = performance.now();
        const back = await waitFor(() => okAt.get(victim.address()).find((t) => t > upAt), 30_000, 50);
        events.push({
          host: victim.address(),
          killed: { master, workers },
          downMs: round(upAt - killedAt),
          startCliMs: restart.ms,
          staleNotice: /stale|removed/i.test(restart.stderr + restart.stdout),
          trafficBackAfterRestartS: back ? round((back - upAt) / 1000, 2) : null,
        });
        log(
          `killed ${victim.address()}; traffic again ${events.at(-1).trafficBackAfterRestartS} s after restart`,
        );
        await sleep(2000);
      }
      const t = await load.stop();
      await ThriftClient.destroy();
      const backs = events.map((e) => e.trafficBackAfterRestartS);
      const crashes = hosts.reduce((n, h) => n + h.unexpectedExits().length, 0);
      const pass = t.failed === 0 && t.wrong === 0 && t.overBound === 0 && backs.every((b) => b !== null);
      return {
        rows: [
          {
            scenario: `3 host killed+restarted x${cycles}`,
            calls: t.calls,
            failed: t.failed,
            lost: t.wrong + t.neverSettled,
            crashes,
            recover: `traffic back ${backs.map((b) => b ?? 'never').join(', ')} s after restart`,
            target: '0 failed; restarted host used again',
            pass,
            note: pass ? undefined : `errors ${JSON.stringify(t.codes)}, over bound ${t.overBound}`,
          },
        ],
        details: {
          downMs,
          clientBackoff: 'default: first probe 1 s after eviction, x2 per failed probe, +-20 %',
          events,
          load: t.summary(),
        },
      };
    } finally {
      await ThriftClient.destroy();
      for (const h of hosts) await h.dispose();
    }
  },
};
