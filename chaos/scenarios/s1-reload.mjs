// Scenario 1: rolling `rpc reload`s while ThriftClient and raw Apache clients call in a loop,
// on long-lived connections (which a reload moves to the new workers) and on fresh ones: clients
// that connect, make one call and close, through the whole run (raw Apache connections, and a
// new ThriftClient engine, with its own pool, per call). Each kind is counted on its own row.
import { performance } from 'node:perf_hooks';
import { helloService, Host, sleep } from '../lib/host.mjs';
import { freshRawLoops, helloCall, hostClient, rawLoops, round, runLoops, ThriftClient } from '../lib/load.mjs';

export default {
  id: '1',
  title: 'rolling reloads under load',
  async run({ quick, log }) {
    const reloads = quick ? 5 : 20;
    const host = await Host.create({
      label: 's1',
      services: [helloService(2)],
    });
    try {
      await host.start();
      // Not idempotent: a reload must not need retries to be invisible.
      const hello = await hostClient(host, 'HelloWorld', {
        callTimeoutMs: 3000,
        connectTimeoutMs: 1000,
      });
      const tc = runLoops({
        label: 'ThriftClient',
        concurrency: 4,
        boundMs: 3500,
        call: helloCall(hello, 't'),
      });
      const raw = rawLoops({ label: 'raw thrift', port: host.ports.HelloWorld, connections: 4 });
      // Fresh connections opened while a reload runs: the point of those rows, so counted.
      let reloading = false;
      const opened = { raw: 0, thriftClient: 0 };
      const freshRaw = freshRawLoops({
        label: 'fresh raw',
        port: host.ports.HelloWorld,
        concurrency: 2,
        onCall: () => reloading && opened.raw++,
      });
      const freshTc = runLoops({
        label: 'fresh ThriftClient',
        concurrency: 2,
        boundMs: 3500,
        onCall: () => reloading && opened.thriftClient++,
        call: (loop, n) => {
          // forceNew: an engine with its own (empty) pool, so the call opens a new connection.
          const once = ThriftClient.instance('HelloWorld', true);
          const promise = once.sayHello(`n${loop}-${n}`).finally(() => ThriftClient.serviceClientOf(once).close());
          return { promise, expect: `Hello n${loop}-${n}` };
        },
      });
      await sleep(1000);
      const durations = [];
      const windows = [];
      let failedReloads = 0;
      for (let i = 0; i < reloads; i++) {
        const from = performance.now();
        reloading = true;
        const r = await host.reload();
        reloading = false;
        windows.push([from, performance.now()]);
        if (r.code !== 0) {
          failedReloads++;
          log(`reload ${i + 1} failed (${r.code}): ${r.stderr}`);
        } else durations.push(r.durationMs);
        await sleep(300);
      }
      await sleep(1000);
      const [t1, t2, t3, t4] = await Promise.all([tc.stop(), raw.stop(), freshRaw.stop(), freshTc.stop()]);
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
            scenario: `1 ${reloads} reloads: ThriftClient, pooled connections`,
            calls: t1.calls,
            failed: t1.failed,
            lost: lost(t1),
            crashes,
            recover,
            target: '0 failed',
            pass: t1.failed === 0 && lost(t1) === 0 && crashes === 0 && healthy,
          },
          {
            scenario: `1 ${reloads} reloads: raw thrift, long-lived connections`,
            calls: t2.calls,
            failed: t2.failed,
            lost: lost(t2),
            crashes,
            recover,
            target: '0 failed (docs/cli.md claim)',
            pass: t2.failed === 0 && lost(t2) === 0 && crashes === 0 && healthy,
          },
          ...[
            [t3, 'fresh raw connection per call', opened.raw],
            [t4, 'fresh ThriftClient engine per call', opened.thriftClient],
          ].map(([t, what, duringReloads]) => ({
            scenario: `1 ${reloads} reloads: ${what}`,
            calls: t.calls,
            failed: t.failed,
            lost: lost(t),
            crashes,
            recover,
            target: '0 failed; some opened while a reload ran',
            pass: t.failed === 0 && lost(t) === 0 && crashes === 0 && healthy && duringReloads > 0,
            note: `${duringReloads} opened while a reload ran${t.failed === 0 ? '' : `; ${failureNote(t, windows)}`}`,
          })),
        ],
        details: {
          reloads,
          failedReloads,
          reloadDurationsMs: durations,
          endGeneration: status.master.generation,
          listeningAtEnd: listening,
          thriftClient: t1.summary(),
          raw: t2.summary(),
          freshRaw: { ...t3.summary(), openedDuringReloads: opened.raw, failuresDuringReloads: during(t3, windows) },
          freshThriftClient: {
            ...t4.summary(),
            openedDuringReloads: opened.thriftClient,
            failuresDuringReloads: during(t4, windows),
          },
        },
      };
    } finally {
      await ThriftClient.destroy();
      await host.dispose();
    }
  },
};

// --- internal ---

/** Failures of `tally` (of the first 1000) that happened while an `rpc reload` ran. */
function during(tally, windows) {
  return tally.failTimes.filter((t) => windows.some(([from, to]) => t >= from && t <= to)).length;
}

function failureNote(tally, windows) {
  return `errors ${JSON.stringify(tally.codes)}, ${during(tally, windows)} of them while a reload ran; first: ${tally.samples[0]?.message ?? '?'}`;
}
