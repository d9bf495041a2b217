// Scenario 9: many machines. A real etcd (scripts/etcd.mjs) and hosts bound to 127.0.0.2, .3
// and .4 (standing for three machines; `rpc start -d` each, with a `registry` block), called by
// two discovering ThriftClient engines under load: one whose method is idempotent, one whose is
// not. Then, one after the other: a fourth host (127.0.0.5) starts; one host is stopped with
// `rpc stop`; one is SIGKILLed (and later restarted); etcd is SIGKILLed and restarted; every
// live host is reloaded in turn. Per step: calls, failures per caller, seconds until the change
// is seen.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort } from '../../bench/lib/free-port.mjs';
import { startEtcd } from '../../scripts/etcd.mjs';
import { GEN_DIR, helloService, Host, ROOT, sleep, waitFor } from '../lib/host.mjs';
import { round, runLoops } from '../lib/load.mjs';
import { killPid, onCleanup } from '../lib/procs.mjs';

const require = createRequire(import.meta.url);
const { ServiceClient } = require(path.join(ROOT, 'dist/clients/service-client.js'));
const { validateServiceOptions } = require(path.join(ROOT, 'dist/clients/client-config.js'));
const { EtcdGateway } = require(path.join(ROOT, 'dist/src/common/etcd-gateway.js'));

const PREFIX = '/chaos/services/';
const CONCURRENCY = 4;

export default {
  id: '9',
  title: 'many machines: etcd registry and discovery',
  limitMs: ({ quick }) => (quick ? 150_000 : 240_000),
  async run({ quick, log }) {
    const ttlSeconds = quick ? 3 : 5;
    const etcdDownMs = quick ? 3_000 : 6_000;
    const etcd = await startEtcd();
    const etcdCleanup = onCleanup(() => {
      killPid(etcd.pid);
      fs.rmSync(etcd.dataDir, { recursive: true, force: true });
    });
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chaos-s9-clients-'));
    const kv = new EtcdGateway({ endpoints: [etcd.endpoint], requestTimeoutMs: 2000 });
    const hosts = [];
    const clients = [];
    try {
      const makeHost = async (label, bind) => {
        const stats = `${bind}:${await freePort()}`;
        const h = await Host.create({
          label,
          bind,
          services: [helloService(1)],
          config: {
            stats: { listen: stats },
            registry: {
              endpoints: [etcd.endpoint],
              prefix: PREFIX,
              ttlSeconds,
              hostId: label,
              deregisterDelayMs: 1000,
              requestTimeoutMs: 1000,
            },
          },
        });
        h.statsAddress = stats;
        hosts.push(h);
        return h;
      };
      const [a, b, c] = [
        await makeHost('s9-a', '127.0.0.2'),
        await makeHost('s9-b', '127.0.0.3'),
        await makeHost('s9-c', '127.0.0.4'),
      ];
      for (const h of [a, b, c]) await h.start();

      // Successful calls per address, as the clients report them.
      const okAt = new Map();
      const failures = [];
      const notices = [];
      const runtime = {
        onCallDone: (r) => {
          if (!r.ok && failures.length < 1000) {
            failures.push({ at: performance.now(), address: r.address, code: r.errorCode });
          }
          if (!r.ok || !r.address) return;
          let list = okAt.get(r.address);
          if (!list) okAt.set(r.address, (list = []));
          list.push(performance.now());
        },
        log: (level, message) => notices.push({ atS: round(performance.now() / 1000, 2), level, message }),
      };
      const common = {
        serviceDir: GEN_DIR,
        registry: { endpoints: [etcd.endpoint], prefix: PREFIX, requestTimeoutMs: 1000 },
        callTimeoutMs: 2000,
        connectTimeoutMs: 1000,
        stateDir,
      };
      const idem = new ServiceClient(
        validateServiceOptions('HelloWorld', { ...common, idempotent: ['sayHello'] }),
        runtime,
      );
      const plain = new ServiceClient(validateServiceOptions('HelloWorld', common), runtime);
      clients.push(idem, plain);
      const load = (label, engine) =>
        runLoops({
          label,
          concurrency: CONCURRENCY,
          boundMs: 3 * 3000 + 1000,
          call: (loop, n) => {
            const name = `${label[0]}${loop}-${n}`;
            return { promise: engine.call('sayHello', [name]), expect: `Hello ${name}` };
          },
        });
      const loads = { idempotent: load('idempotent', idem), plain: load('plain', plain) };
      const known = () => idem.discoveryStatus()?.addresses ?? [];
      const knownByAll = (addr, present) =>
        [idem, plain].every((e) => (e.discoveryStatus()?.addresses ?? []).includes(addr) === present);
      await waitFor(() => known().length === 3, 10_000, 50);
      await sleep(1500);

      const snap = () =>
        Object.fromEntries(
          Object.entries(loads).map(([k, l]) => [k, { calls: l.tally.calls, failed: l.tally.failed, codes: { ...l.tally.codes } }]),
        );
      const delta = (before, after) =>
        Object.fromEntries(
          Object.keys(after).map((k) => [
            k,
            {
              calls: after[k].calls - before[k].calls,
              failed: after[k].failed - before[k].failed,
              codes: Object.fromEntries(
                Object.entries(after[k].codes)
                  .map(([code, n]) => [code, n - (before[k].codes[code] ?? 0)])
                  .filter(([, n]) => n > 0),
              ),
            },
          ]),
        );
      /** Key changes under the prefix from now on, with the time each was seen. */
      const watchKeys = async () => {
        const events = [];
        const from = BigInt((await kv.range(PREFIX)).revision) + 1n;
        const w = kv.watch(PREFIX, String(from), (evs) => {
          for (const e of evs) events.push({ type: e.type, key: e.kv.key, at: performance.now() });
        }, () => {});
        return {
          events,
          when: (type, key) => events.find((e) => e.type === type && e.key === key)?.at,
          close: () => w.close(),
        };
      };
      const keyOf = (h) => `${PREFIX}HelloWorld/${h.address()}`;
      const secs = (from, to) => (from === undefined || to === undefined ? null : round((to - from) / 1000, 2));
      const steps = [];
      const step = async (name, fn) => {
        const before = snap();
        const t0 = performance.now();
        const facts = await fn();
        const d = delta(before, snap());
        steps.push({ step: name, seconds: round((performance.now() - t0) / 1000, 1), ...facts, load: d });
        log(`${name}: ${JSON.stringify(facts)} ${JSON.stringify(d)}`);
      };

      // 1. A fourth machine joins.
      const d = await makeHost('s9-d', '127.0.0.5');
      await step('4th host started', async () => {
        const keys = await watchKeys();
        const t0 = performance.now();
        await d.start();
        const ready = performance.now();
        const first = await waitFor(() => okAt.get(d.address())?.find((t) => t > t0), 15_000, 10);
        const registered = keys.when('put', keyOf(d));
        keys.close();
        return {
          startCliS: secs(t0, ready),
          firstCallAfterRegisteredS: secs(registered, first),
          firstCallAfterCliReturnedS: secs(ready, first),
          target: 'calls reach it <= 2 s after it registered',
          ok: first !== undefined && registered !== undefined && first - registered <= 2000,
        };
      });
      await sleep(1000);

      // 2. A graceful stop: deregistered first, then drained.
      await step('`rpc stop` of one host', async () => {
        const keys = await watchKeys();
        const t0 = performance.now();
        const stopping = a.stop();
        const gone = await waitFor(() => knownByAll(a.address(), false) && performance.now(), 10_000, 10);
        const res = await stopping;
        const stopped = performance.now();
        const deleted = keys.when('delete', keyOf(a));
        keys.close();
        await sleep(1000);
        return {
          deregisteredAfterS: secs(t0, deleted),
          leftCallersAfterDeleteS: secs(deleted, gone ?? undefined),
          stopReturnedAfterS: secs(t0, stopped),
          stopExit: res.code,
          target: '0 failed calls, both callers',
        };
      });

      // 3. A crash: idempotent callers retry elsewhere; the key expires with the lease.
      let crashFacts;
      await step('SIGKILL of one host', async () => {
        const t0 = performance.now();
        const failedBefore = failures.length;
        b.crash();
        const gone = await waitFor(() => knownByAll(b.address(), false) && performance.now(), (ttlSeconds + 5) * 1000, 20);
        const key = `${PREFIX}HelloWorld/${b.address()}`;
        const keyLeft = (await kv.range(PREFIX)).kvs.some((k) => k.key === key);
        await sleep(1000);
        const failed = failures.slice(failedBefore);
        crashFacts = {
          failedOnIt: failed.filter((f) => f.address === b.address()).length,
          failedElsewhere: failed.filter((f) => f.address !== b.address()).length,
          failedLaterThan1sS: failed.filter((f) => f.at - t0 > 1000).length,
          keyGoneAfterS: gone ? round((gone - t0) / 1000, 2) : null,
          ttlSeconds,
          keyLeft,
          target: 'idempotent 0 failed; non-idempotent only calls in flight on it; key gone within the TTL',
        };
        return crashFacts;
      });
      await step('killed host restarted', async () => {
        const keys = await watchKeys();
        const t0 = performance.now();
        await b.start();
        const first = await waitFor(() => okAt.get(b.address())?.find((t) => t > t0), 15_000, 10);
        const registered = keys.when('put', keyOf(b));
        keys.close();
        return { firstCallAfterRegisteredS: secs(registered, first) };
      });
      await sleep(1000);

      // 4. etcd itself fails and comes back.
      const live = [b, c, d];
      await step('etcd killed and restarted', async () => {
        await etcd.kill();
        const killed = performance.now();
        await waitFor(() => idem.discoveryStatus()?.state === 'unreachable', 10_000, 20);
        const outageSeenS = round((performance.now() - killed) / 1000, 2);
        await sleep(Math.max(0, etcdDownMs - (performance.now() - killed)));
        await etcd.restart();
        const back = performance.now();
        const backEpoch = Date.now();
        const watching = await waitFor(
          () => clients.every((e) => e.discoveryStatus()?.state === 'watching') && performance.now(),
          20_000,
          20,
        );
        // A host is registered again when it says so and its key is in the restarted etcd: it may
        // have made a new lease, or kept its old one (etcd restores leases on restart and extends
        // their TTL, so a host whose keepalives never failed keeps its key).
        let renewed = 0;
        const registered = await waitFor(async () => {
          const states = await Promise.all(live.map((h) => h.status().then((s) => s.registry)));
          const present = new Set((await kv.range(PREFIX)).kvs.map((k) => k.key));
          renewed = states.filter((r) => r?.since >= backEpoch).length;
          return (
            states.every((r) => r?.state === 'registered') &&
            live.every((h) => present.has(keyOf(h))) &&
            performance.now()
          );
        }, 20_000, 100);
        const keys = (await kv.range(PREFIX)).kvs.map((k) => k.key);
        await sleep(1000);
        return {
          downS: round((back - killed) / 1000, 1),
          outageSeenByClientS: outageSeenS,
          clientsWatchingAgainAfterS: watching ? round((watching - back) / 1000, 2) : null,
          hostsReRegisteredAfterS: registered ? round((registered - back) / 1000, 2) : null,
          hostsWithNewLease: renewed,
          keysAfter: keys.length,
          addressesKeptDuringOutage: known().length,
          target: '0 failed calls; every host registered again',
        };
      });

      // 5. A rolling reload of every live host: no deregistration.
      await step('rolling `rpc reload` of every host', async () => {
        const keys = await watchKeys();
        const codes = [];
        for (const h of live) {
          codes.push((await h.reload()).code);
          await sleep(500);
        }
        keys.close();
        const deregistrations = keys.events.filter((e) => e.type === 'delete').length;
        return { reloadExits: codes, deregistrations, target: '0 failed calls, 0 keys deleted' };
      });

      // Prometheus discovery lists the live fleet.
      const sd = await (await fetch(`http://${c.statsAddress}/sd/prometheus`)).json();

      const totals = {};
      for (const [k, l] of Object.entries(loads)) totals[k] = (await l.stop()).summary();
      const crashes = hosts.reduce((n, h) => n + h.unexpectedExits().length, 0);
      const rows = steps.map((s) => {
        const { idempotent: i, plain: p } = s.load;
        let pass = i.failed === 0;
        let recover = '';
        if (s.step === '4th host started') {
          pass &&= p.failed === 0 && s.ok;
          recover = `first call ${s.firstCallAfterRegisteredS} s after it registered (start took ${s.startCliS} s)`;
        } else if (s.step === '`rpc stop` of one host') {
          pass &&= p.failed === 0 && s.stopExit === 0;
          recover = `deregistered ${s.deregisteredAfterS} s after \`rpc stop\` began; out of the callers' lists ${s.leftCallersAfterDeleteS} s later`;
        } else if (s.step === 'SIGKILL of one host') {
          // Calls written to it before its death was seen; nothing later, nothing elsewhere.
          const other = Object.keys(p.codes).filter((code) => code !== 'ERR_CONNECTION_CLOSED');
          pass &&=
            other.length === 0 &&
            s.failedElsewhere === 0 &&
            s.failedLaterThan1sS === 0 &&
            s.keyGoneAfterS !== null &&
            // etcd checks lease expiry every 500 ms, and the watch event has to arrive.
            s.keyGoneAfterS <= ttlSeconds + 1 &&
            !s.keyLeft;
          recover = `${s.failedOnIt} calls in flight on it failed; key gone ${s.keyGoneAfterS} s after the kill (TTL ${ttlSeconds} s)`;
        } else if (s.step === 'killed host restarted') {
          pass &&= p.failed === 0 && s.firstCallAfterRegisteredS !== null;
          recover = `first call ${s.firstCallAfterRegisteredS} s after it registered again`;
        } else if (s.step === 'etcd killed and restarted') {
          pass &&= p.failed === 0 && s.hostsReRegisteredAfterS !== null && s.clientsWatchingAgainAfterS !== null;
          recover = `down ${s.downS} s; callers watching ${s.clientsWatchingAgainAfterS} s, hosts registered ${s.hostsReRegisteredAfterS} s after restart (${s.hostsWithNewLease} with a new lease, the others kept theirs)`;
        } else {
          pass &&= p.failed === 0 && s.deregistrations === 0 && s.reloadExits.every((x) => x === 0);
          recover = `${s.deregistrations} keys deleted`;
        }
        return {
          scenario: `9 registry: ${s.step}`,
          calls: i.calls + p.calls,
          failed: `${i.failed} / ${p.failed}`,
          lost: 0,
          crashes: 0,
          recover,
          target: s.target ?? '0 failed calls',
          pass,
          note: pass ? undefined : JSON.stringify(s),
        };
      });
      const lost = totals.idempotent.wrongReplies + totals.plain.wrongReplies;
      rows.push({
        scenario: '9 registry: whole run (idempotent / not)',
        calls: totals.idempotent.calls + totals.plain.calls,
        failed: `${totals.idempotent.failed} / ${totals.plain.failed}`,
        lost,
        crashes,
        recover: `/sd/prometheus lists ${sd.length} hosts`,
        target: 'no wrong reply; no hung call; fleet listed',
        pass: lost === 0 && totals.idempotent.overBound + totals.plain.overBound === 0 && sd.length === live.length,
      });
      return {
        rows,
        details: {
          columns: 'failed = idempotent caller / non-idempotent caller',
          ttlSeconds,
          etcdDownMs,
          steps,
          prometheusSd: sd,
          totals,
          discovery: { idempotent: idem.discoveryStatus(), plain: plain.discoveryStatus() },
          notices: notices.slice(0, 40),
          crash: crashFacts,
        },
      };
    } finally {
      for (const e of clients) await e.destroy();
      kv.close();
      for (const h of hosts) await h.dispose({ graceful: false });
      await etcd.stop();
      etcdCleanup();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  },
};
