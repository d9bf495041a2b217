// Scenario 2: SIGKILL of random workers every few hundred ms under load. Every call must either
// succeed or fail with a clear (coded) error within its bound; the host must end with `count`
// listening workers. Raw Apache clients (no call timeout of their own) run alongside: none may
// hang, i.e. every raw call gets a reply or sees its connection close within RAW_HANG_MS.
import { performance } from 'node:perf_hooks';
import { helloService, Host, sleep, waitFor } from '../lib/host.mjs';
import { helloCall, hostClient, rawLoops, round, runLoops, ThriftClient } from '../lib/load.mjs';
import { killPid } from '../lib/procs.mjs';
import { prng } from '../lib/seed.mjs';

const COUNT = 2;
const CALL_TIMEOUT_MS = 2000;
const CONNECT_TIMEOUT_MS = 1000;
// One attempt (retries: 0): pool wait + connect + reply, plus scheduling slack.
const BOUND_MS = CALL_TIMEOUT_MS + CONNECT_TIMEOUT_MS + CALL_TIMEOUT_MS + 1000;
// A raw call with neither a reply nor a close this long is hung: far past a respawn's first
// back-off steps and the master's hold limit for connections waiting for a worker (2 s).
const RAW_HANG_MS = 10_000;

export default {
  id: '2',
  title: 'SIGKILL random workers under load',
  limitMs: ({ quick }) => (quick ? 90_000 : 150_000),
  async run({ quick, seed, log }) {
    // Victims and intervals from the run's seed: `--seed` replays the same choices.
    const rng = prng(seed);
    const killForMs = quick ? 15_000 : 60_000;
    const host = await Host.create({
      label: 's2',
      services: [helloService(COUNT)],
    });
    try {
      await host.start();
      const hello = await hostClient(host, 'HelloWorld', {
        callTimeoutMs: CALL_TIMEOUT_MS,
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
        retries: 0,
      });
      const load = runLoops({
        label: 'ThriftClient',
        concurrency: 4,
        boundMs: BOUND_MS,
        call: helloCall(hello, 'k'),
      });
      const raw = rawLoops({
        label: 'raw thrift',
        port: host.ports.HelloWorld,
        connections: 4,
        timeoutMs: RAW_HANG_MS,
      });
      await sleep(1000);
      const masterSocketsBefore = host.masterSockets();
      const killed = new Set();
      const end = Date.now() + killForMs;
      let looks = 0;
      let noneAlive = 0;
      while (Date.now() < end) {
        const pids = host.liveWorkers();
        looks++;
        if (pids.length === 0) noneAlive++;
        const victim = rng.pick(pids);
        if (victim && killPid(victim)) killed.add(victim);
        await sleep(200 + rng.next() * 300);
      }
      const lastKill = performance.now();
      // Recovery: the master respawns with back-off (up to 10 s per slot after repeated deaths).
      const recovered = await waitFor(async () => {
        const s = await host.status();
        return s.workers.filter((w) => w.state === 'listening').length === COUNT;
      }, 30_000);
      const recoverMs = recovered ? performance.now() - lastKill : NaN;
      // Calls must succeed again once the workers are back.
      let firstOkAfter;
      const okAt = await waitFor(
        () => hello.sayHello('after').then((r) => r === 'Hello after' && performance.now()),
        15_000,
      );
      if (okAt) firstOkAfter = okAt - lastKill;
      await sleep(1000);
      const [t, r] = [await load.stop(), await raw.stop()];
      const rawHung = (r.codes.RAW_TIMEOUT ?? 0) + r.neverSettled;
      await ThriftClient.destroy();
      await sleep(500);
      const masterSocketsAfter = host.masterSockets();
      const status = await host.statusCli();
      const listening = status.workers.filter((w) => w.state === 'listening').length;
      const unexpected = host.unexpectedExits().filter((pid) => !killed.has(pid));
      const fatal = host.fatalLines();
      log(`${killed.size} workers killed; errors ${JSON.stringify(t.codes)}; max ${round(t.maxMs)} ms`);
      log(`raw thrift: ${r.calls} calls, errors ${JSON.stringify(r.codes)}, hung ${rawHung}`);
      const pass =
        t.unclear === 0 &&
        t.overBound === 0 &&
        t.wrong === 0 &&
        listening === COUNT &&
        unexpected.length === 0 &&
        fatal.length === 0;
      return {
        rows: [
          {
            scenario: `2 ${killed.size} worker SIGKILLs in ${killForMs / 1000} s`,
            calls: t.calls,
            failed: t.failed,
            lost: t.wrong + t.neverSettled,
            crashes: `${unexpected.length} (+${killed.size} killed)`,
            recover: `${round(recoverMs / 1000)} s to ${COUNT}/${COUNT} workers`,
            target: `clear errors, none > ${BOUND_MS / 1000} s, ${COUNT} workers at end`,
            pass,
            note: pass
              ? undefined
              : `unclear errors ${t.unclear}, over bound ${t.overBound}, wrong replies ${t.wrong}, listening ${listening}/${COUNT}, unexpected exits ${unexpected.length}, fatal log lines ${fatal.length}`,
          },
          {
            scenario: `2 ${killed.size} worker SIGKILLs: raw thrift`,
            calls: r.calls,
            failed: r.failed,
            lost: r.wrong + rawHung,
            crashes: `${unexpected.length} (+${killed.size} killed)`,
            recover: `${rawHung} hung`,
            target: `0 hung (reply or close within ${RAW_HANG_MS / 1000} s), 0 wrong replies`,
            pass: rawHung === 0 && r.wrong === 0,
            note: rawHung === 0 && r.wrong === 0 ? undefined : `hung ${rawHung}, wrong replies ${r.wrong}`,
          },
        ],
        details: {
          killForMs,
          workersKilled: killed.size,
          // Share of kill-loop looks that found no worker alive (all slots in respawn back-off).
          shareOfTimeNoWorker: round(noneAlive / looks, 2),
          boundMs: BOUND_MS,
          recoverToCountMs: round(recoverMs),
          firstSuccessAfterLastKillMs: round(firstOkAfter),
          listeningAtEnd: listening,
          // Sockets the master holds with the load stopped and the client closed, vs before the
          // kills: growth = connections handed to a worker that died before taking them (node:cluster
          // closes its copy only when the worker acknowledges the hand-off).
          masterSocketsBefore,
          masterSocketsAfter,
          restartsPerSlot: status.workers.map((w) => w.restarts),
          unexpectedExits: unexpected,
          fatalLogLines: fatal.slice(0, 5),
          load: t.summary(),
          rawLoad: { ...r.summary(), hung: rawHung },
        },
      };
    } finally {
      await ThriftClient.destroy();
      await host.dispose();
    }
  },
};
