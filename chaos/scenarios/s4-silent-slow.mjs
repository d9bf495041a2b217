// Scenario 4: three addresses: one accepts connections and never answers, one answers after
// 1.5 s (over the 0.5 s call timeout), one is healthy. Timeouts must fire, both bad addresses
// be evicted (evictAfterFailures), and the healthy one carry the load. Run twice: with the
// method declared idempotent, with backup requests (`callTimeoutMs` bounds the whole call, so
// only a backup gets a call past a silent host in time; one backup can still land on the other
// bad host until both are evicted: target 0 failures after that), and not idempotent (a
// timed-out call fails with ERR_CALL_TIMEOUT; after eviction only calls that probe an evicted
// address can, which `failedAfterEviction` counts). Two of the three addresses are bad, more
// than the default `maxEvictedRatio` (0.5: at most one of three evicted) lets the client evict,
// so the scenario allows evicting all of them: it tests eviction, not the cap.
import { fork } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { FIXTURES, helloService, Host, sleep } from '../lib/host.mjs';
import { helloCall, round, runLoops, ThriftClient, thriftClientFor } from '../lib/load.mjs';
import { killPid, onCleanup } from '../lib/procs.mjs';

const CALL_TIMEOUT_MS = 500;
const CONNECT_TIMEOUT_MS = 500;
const SLOW_MS = 1500;
const RETRIES = 2;
/** Backup requests of the idempotent phase: well inside the call's deadline. */
const BACKUP_AFTER_MS = 100;
const BOUND_MS = (RETRIES + 1) * (2 * CALL_TIMEOUT_MS + CONNECT_TIMEOUT_MS) + 500;

export default {
  id: '4',
  title: 'silent host and slow host',
  async run({ quick, log }) {
    const phaseMs = quick ? 8_000 : 20_000;
    const silent = await startSilent();
    const slow = await Host.create({
      label: 's4slow',
      services: [helloService(1)],
      env: { CHAOS_DELAY_MS: String(SLOW_MS) },
    });
    const good = await Host.create({
      label: 's4good',
      services: [helloService(1)],
    });
    try {
      await slow.start();
      await good.start();
      const addresses = { silent: silent.address, slow: slow.address(), healthy: good.address() };
      const phases = [];
      for (const idempotent of [true, false]) {
        phases.push(
          await phase({ addresses, idempotent, phaseMs, stateDir: idempotent ? slow.dir : good.dir }),
        );
        log(
          `${idempotent ? 'idempotent' : 'not idempotent'}: ${phases.at(-1).load.failed} failed, evicted after ${phases.at(-1).evictedAfterS} s`,
        );
      }
      const [a, b] = phases;
      const crashes = slow.unexpectedExits().length + good.unexpectedExits().length;
      const aPass =
        a.load.unclearErrors === 0 &&
        Object.keys(a.load.errorCodes).every((c) => c === 'ERR_CALL_TIMEOUT') &&
        a.failedAfterEviction === 0 &&
        a.load.overBound === 0 &&
        a.evictedAfterS !== null &&
        a.healthyShareAfterEviction >= 0.95;
      const bFailCodes = Object.keys(b.load.errorCodes);
      const bPass =
        b.load.unclearErrors === 0 &&
        b.load.overBound === 0 &&
        bFailCodes.every((c) => c === 'ERR_CALL_TIMEOUT') &&
        b.evictedAfterS !== null &&
        b.healthyShareAfterEviction >= 0.95;
      const row = (p, label, target, pass) => ({
        scenario: `4 silent+slow+healthy, ${label}`,
        calls: p.load.calls,
        failed: p.load.failed,
        lost: p.load.wrongReplies + p.load.neverSettled,
        crashes,
        recover: `both evicted after ${p.evictedAfterS ?? 'never'} s`,
        target,
        pass,
        note: pass
          ? undefined
          : `errors ${JSON.stringify(p.load.errorCodes)}, ${p.failedAfterEviction ?? '–'} after eviction, over bound ${p.load.overBound}, healthy share ${p.healthyShareAfterEviction}`,
      });
      return {
        rows: [
          row(a, `idempotent, backup after ${BACKUP_AFTER_MS} ms`, '0 failed once both bad addresses are evicted; before, only ERR_CALL_TIMEOUT', aPass),
          row(b, 'not idempotent', 'only ERR_CALL_TIMEOUT; healthy host carries the load', bPass),
        ],
        details: {
          callTimeoutMs: CALL_TIMEOUT_MS,
          slowHostDelayMs: SLOW_MS,
          evictAfterFailures: 2,
          boundMs: BOUND_MS,
          addresses,
          phases,
        },
      };
    } finally {
      await ThriftClient.destroy();
      await slow.dispose();
      await good.dispose();
      silent.close();
    }
  },
};

// --- internal ---

async function phase({ addresses, idempotent, phaseMs, stateDir }) {
  const byAddress = {};
  const retried = { calls: 0 };
  const hello = await thriftClientFor(
    'HelloWorld',
    {
      addresses: Object.values(addresses),
      idempotent: idempotent ? ['sayHello'] : [],
      // callTimeoutMs bounds the whole call, so a retry after a timed-out attempt has no time
      // left: an idempotent caller gets past a silent host with a backup request.
      ...(idempotent ? { backupAfter: BACKUP_AFTER_MS } : {}),
      callTimeoutMs: CALL_TIMEOUT_MS,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      retries: RETRIES,
      evictAfterFailures: 2,
      maxEvictedRatio: 1,
      stateDir,
      shareState: false,
    },
    {
      onCallDone: (r) => {
        if (r.attempts > 1) retried.calls++;
        if (!r.ok || !r.address) return;
        byAddress[r.address] ??= { before: 0, after: 0 };
        const slot = byAddress[r.address];
        if (evictedAt === undefined) slot.before++;
        else slot.after++;
      },
    },
  );
  const manager = ThriftClient.serviceClientOf(hello).addresses;
  let evictedAt;
  const start = performance.now();
  const load = runLoops({
    label: idempotent ? 'idempotent' : 'not idempotent',
    concurrency: 4,
    boundMs: BOUND_MS,
    call: helloCall(hello, 's'),
  });
  const end = start + phaseMs;
  while (performance.now() < end) {
    const evicted = manager.evicted();
    if (evictedAt === undefined && evicted.includes(addresses.silent) && evicted.includes(addresses.slow)) {
      evictedAt = performance.now();
    }
    await sleep(20);
  }
  const t = await load.stop();
  await ThriftClient.destroy();
  const after = Object.values(byAddress).reduce((n, s) => n + s.after, 0);
  const summary = t.summary();
  return {
    idempotent,
    evictedAfterS: evictedAt === undefined ? null : round((evictedAt - start) / 1000, 2),
    healthyShareAfterEviction: after ? round((byAddress[addresses.healthy]?.after ?? 0) / after, 3) : null,
    successesByAddress: byAddress,
    callsThatNeededRetries: retried.calls,
    // Failures once both were evicted: calls that probed an evicted address (back-off or detectRate).
    failedAfterEviction: evictedAt === undefined ? null : t.failTimes.filter((x) => x > evictedAt).length,
    load: summary,
  };
}

/** The never-answering server, in its own process (ended by pid). */
function startSilent() {
  const child = fork(path.join(FIXTURES, 'silent-server.mjs'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const close = onCleanup(() => killPid(child.pid));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', (m) => resolve({ address: `127.0.0.1:${m.port}`, close, pid: child.pid }));
  });
}
