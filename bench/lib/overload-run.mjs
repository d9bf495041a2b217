/**
 * The overload measurement shared by the bench suite (bench/overload.mjs) and chaos scenario 10:
 * a contender (thrifthost started with the real `rpc start -d`, or Apache's Node server as a
 * node:cluster of 2) serving HelloWorld with a handler that burns a fixed amount of CPU per call;
 * its capacity measured closed loop; then, per client kind, one load-generator process
 * (overload-driver.mjs) offering load in steps from below to far above that capacity, open loop,
 * with a drop back to 0.5x after the bursts to see how fast calls succeed again.
 *
 * On a machine with 2 or more CPUs (and taskset), the driver runs on CPU 0 and the servers on
 * the others, so that the load generator's own work at 4x does not eat into the capacity it
 * measures. The servers are pinned by pinning this process while it starts them (children
 * inherit the affinity), then restoring it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Host } from '../../chaos/lib/host.mjs';
import { freePort } from './free-port.mjs';
import { runTool, startServer } from './processes.mjs';

/** Upper bounds (ms) of the host's latency and queue-wait buckets (src/host/ipc.ts). */
const LATENCY_BUCKETS_MS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const DRIVER = path.join(here, 'overload-driver.mjs');
const SPIN_HANDLER = path.join(root, 'bench/servers/overload-handler.cjs');
const APACHE_SERVER = path.join(root, 'bench/servers/apache-server.cjs');
const require = createRequire(import.meta.url);
const { spinEnv } = require('./spin.cjs');

/** The servers compared, and the client kinds each is driven with. */
export const CONTENDERS = {
  host: {
    label: 'thrifthost ×2 (rpc start, THeader listener)',
    short: 'thrifthost',
    drivers: ['header', 'framed', 'apache'],
  },
  apache: {
    label: 'Apache Node server, node:cluster ×2 (framed)',
    short: 'Apache Node',
    drivers: ['framed', 'apache'],
  },
};

/** Client kinds (overload-driver.mjs says how each behaves). */
export const DRIVERS = {
  header: 'ThriftClient, THeader (deadline sent)',
  framed: 'ThriftClient, framed (no deadline sent)',
  apache: 'plain Apache client, framed, timeout in the driver',
};

/** Defaults of a full measurement (the issue's setup). */
export const FULL = {
  levels: [0.5, 0.8, 1, 1.5, 2, 3, 4],
  recoveryAfter: [2, 4],
  seconds: 15,
  recoverySeconds: 10,
  gapMs: 1000,
  timeoutMs: 250,
  spinMs: 2,
  capacitySeconds: 5,
};

/** A short run for development and smoke tests. */
export const SHORT = { ...FULL, levels: [0.8, 2, 4], seconds: 3, recoverySeconds: 3, capacitySeconds: 2 };

/**
 * The issue's targets, against thrifthost only (Apache's server is the reference). `driver`
 * lists the client kinds a target applies to.
 */
export const TARGETS = [
  { id: 'goodput-2x', what: 'ThriftClient at 2×: goodput ≥ 0.8× capacity', drivers: ['header', 'framed'], level: 2, min: 0.8 },
  { id: 'goodput-4x', what: 'ThriftClient at 4×: goodput ≥ 0.6× capacity', drivers: ['header', 'framed'], level: 4, min: 0.6 },
  { id: 'apache-2x', what: 'plain Apache client at 2×: goodput ≥ 0.7× capacity', drivers: ['apache'], level: 2, min: 0.7 },
  { id: 'no-shed-0.8x', what: 'below capacity (0.5× and 0.8×): no call shed (nor expired)', drivers: ['header', 'framed', 'apache'], levels: [0.5, 0.8] },
  { id: 'recovery', what: 'after 4× and 2×, back at 0.5×: first call in time ≤ 1 s after the drop, then ≥ 95 % in time', drivers: ['header', 'framed', 'apache'] },
];
export const RECOVERY_FIRST_MS = 1000;
export const RECOVERY_SHARE = 0.95;

/**
 * The CPUs of the driver and of the servers, or undefined when not pinning (one CPU, no taskset,
 * or not asked).
 */
export function pinning(enabled = true) {
  const cpus = os.availableParallelism();
  if (!enabled || cpus < 2 || spawnSync('taskset', ['-V']).status !== 0) return undefined;
  return { driver: '0', servers: cpus === 2 ? '1' : `1-${cpus - 1}` };
}

/** The phases of one driver run: each level, and a drop to 0.5× right after each burst in `recoveryAfter`. */
export function planPhases({ levels, recoveryAfter, seconds, recoverySeconds, gapMs }, capacity) {
  const phases = [];
  for (const level of levels) {
    // Below capacity any refusal misses a target: its timeline tells when in the phase it came.
    phases.push({ name: `${level}x`, level, rate: level * capacity, seconds, gapMs, ...(level < 1 ? { binned: true } : {}) });
    if (recoveryAfter.includes(level)) {
      phases.push({ name: `0.5x after ${level}x`, level: 0.5, after: level, rate: 0.5 * capacity, seconds: recoverySeconds, recovery: true });
    }
  }
  return phases;
}

/**
 * Starts a contender with its handler burning `spinMs` of CPU per call; resolves
 * `{ port, figures(), stop() }` (`figures`: the server's own counts of the method, thrifthost only).
 */
export async function startContender(id, { spinMs, pin, settings = {} }) {
  const spinNs = Math.round(spinMs * 1e6);
  return withAffinity(pin?.servers, async () => {
    if (id === 'host') {
      const host = await Host.create({
        label: 'overload',
        services: [
          {
            name: 'HelloWorld',
            count: 2,
            transport: 'header',
            handler: SPIN_HANDLER,
            env: spinEnv(spinNs),
            ...settings,
          },
        ],
      });
      try {
        await host.start();
      } catch (err) {
        await host.dispose({ graceful: false });
        throw err;
      }
      return {
        port: host.ports.HelloWorld,
        figures: async () => methodFigures(await host.statusCli()),
        /** Unexpected worker exits and the host's warnings (overload notices among them). */
        events: () => ({
          unexpectedExits: host.unexpectedExits().length,
          warnings: host.logLines().filter((l) => l.level >= 40).map((l) => l.msg),
        }),
        stop: () => host.dispose(),
      };
    }
    const port = await freePort();
    const server = await startServer(
      'apache-2 (overload)',
      process.execPath,
      [APACHE_SERVER, '--count', '2', '--transport', 'framed', '--port', String(port), '--handler', SPIN_HANDLER],
      { env: spinEnv(spinNs) },
    );
    return { port, figures: async () => undefined, events: () => undefined, stop: () => server.stop() };
  });
}

/** Closed-loop capacity of a running contender: calls/s with 8 plain clients back to back. */
export async function measureCapacity({ port, seconds, pin, seed }) {
  const lines = await drive({
    pin,
    spec: { port, kind: 'apache', timeoutMs: 5000, seed, closed: { concurrency: 8, warmupS: 1, seconds } },
    timeoutMs: (seconds + 30) * 1000,
  });
  const cap = lines.find((l) => l.event === 'capacity');
  if (!cap) throw new Error(`capacity run on port ${port} printed no result`);
  return cap;
}

/**
 * One driver run: the planned phases against `port`, open loop. Resolves the phases (with
 * goodput ÷ capacity) in plan order and the driver's client figures.
 */
export async function runDriver({ port, kind, phases, capacity, timeoutMs, pin, seed }) {
  const total = phases.reduce((s, p) => s + p.seconds + (p.gapMs ?? 0) / 1000, 0);
  const lines = await drive({
    pin,
    spec: { port, kind, timeoutMs, seed, phases },
    timeoutMs: (total + 60) * 1000,
  });
  const byIndex = new Map(lines.filter((l) => l.event === 'phase').map((l) => [l.index, l]));
  const out = phases.map((p, i) => {
    const l = byIndex.get(i);
    if (!l) throw new Error(`driver ${kind}: no result for phase ${p.name}`);
    const rest = { ...l };
    delete rest.event;
    delete rest.index;
    return {
      ...rest,
      level: p.level,
      ...(p.after ? { after: p.after } : {}),
      offeredRatio: round(l.offered / capacity, 3),
      goodputRatio: round(l.goodput / capacity, 3),
    };
  });
  return { phases: out, client: lines.find((l) => l.event === 'done')?.client };
}

/**
 * After a driver run: how long until a call on a new connection is answered within `timeoutMs`
 * (tried every 100 ms, up to `limitMs`); null if never. The next run starts only then, so that
 * it does not inherit the last one's backlog.
 */
export async function untilAnswered(port, { timeoutMs, limitMs = 30_000 }) {
  const thrift = require(require.resolve('thrift', { paths: [root] }));
  const HelloWorld = require(path.join(root, 'gen/HelloWorld/HelloWorld.js'));
  const t0 = performance.now();
  while (performance.now() - t0 < limitMs) {
    const conn = thrift.createConnection('127.0.0.1', port, { transport: thrift.TFramedTransport, protocol: thrift.TBinaryProtocol });
    conn.on('error', () => {});
    const client = thrift.createClient(HelloWorld, conn);
    const ok = await Promise.race([
      client.sayHello('probe').then(
        () => true,
        () => false,
      ),
      new Promise((r) => setTimeout(r, timeoutMs, false)),
    ]);
    conn.destroy();
    if (ok) return round(performance.now() - t0, 0);
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}

/** Which targets a contender's runs meet. `runs`: [{ driver, phases }]. */
export function checkTargets(runs) {
  const out = [];
  for (const t of TARGETS) {
    for (const run of runs.filter((r) => t.drivers.includes(r.driver))) {
      if (t.id === 'recovery') {
        for (const ph of run.phases.filter((p) => p.recovery)) {
          const r = ph.recovery;
          const pass = r.firstGoodMs !== null && r.firstGoodMs <= RECOVERY_FIRST_MS && r.shareAfter >= RECOVERY_SHARE;
          out.push({
            id: t.id,
            driver: run.driver,
            what: `${DRIVERS[run.driver]}: after ${ph.after}× → 0.5×`,
            value: `first in time after ${fmtMs(r.firstGoodMs)}, then ${pct(r.shareAfter)} in time`,
            pass,
          });
        }
        continue;
      }
      if (t.levels) {
        // Every below-capacity level the run had, each judged on its own.
        for (const ph of run.phases.filter((p) => t.levels.includes(p.level) && !p.recovery)) {
          const refused = ph.counts.shed + ph.counts.expired;
          const when = ph.bins ? ph.bins.refused.flatMap((n, i) => (n > 0 ? [`${((i * ph.bins.binMs) / 1000).toFixed(1)} s`] : [])) : [];
          const value = `${ph.name}: ${refused} of ${ph.counts.started} refused${when.length ? ` (started ${when.slice(0, 4).join(', ')} into the phase)` : ''}`;
          out.push({ id: t.id, driver: run.driver, what: `${DRIVERS[run.driver]}: ${t.what}`, value, pass: refused === 0 });
        }
        continue;
      }
      const ph = run.phases.find((p) => p.level === t.level && !p.recovery);
      if (!ph) continue;
      out.push({
        id: t.id,
        driver: run.driver,
        what: `${DRIVERS[run.driver]}: ${t.what}`,
        value: `${ph.goodputRatio.toFixed(2)}× (${Math.round(ph.goodput)}/s)`,
        ratio: ph.goodputRatio,
        pass: ph.goodputRatio >= t.min,
      });
    }
  }
  return out;
}

/** The machine's state for a report: load averages and uptime's own line. */
export function machineLoad() {
  let uptime = '';
  try {
    uptime = execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {}
  return { loadavg: os.loadavg().map((x) => round(x, 2)), uptime };
}

export const round = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? x : Number(x.toFixed(d)));
const pct = (x) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)} %`);
const fmtMs = (ms) => (ms === null || ms === undefined ? 'never' : `${Math.round(ms)} ms`);

// --- internal ---

/** Runs the driver (pinned when asked) and collects its JSON lines. */
async function drive({ pin, spec, timeoutMs }) {
  const full = {
    genDir: path.join(root, 'gen'),
    clientDist: path.join(root, 'dist/clients/index.js'),
    ...spec,
  };
  const args = [DRIVER, JSON.stringify(full)];
  const [cmd, ...rest] = pin ? ['taskset', '-c', pin.driver, process.execPath, ...args] : [process.execPath, ...args];
  const lines = [];
  const { code, stderr } = await runTool(cmd, rest, {
    timeoutMs,
    onLine: (line) => {
      try {
        lines.push(JSON.parse(line));
      } catch {
        // not a result line
      }
    },
  });
  if (!lines.some((l) => l.event === 'done')) throw new Error(`overload driver (${spec.kind}) failed (exit ${code}): ${stderr}`);
  return lines;
}

/** Runs `fn` with this process (all its threads) on `cpus`, so that what it starts inherits them. */
async function withAffinity(cpus, fn) {
  if (!cpus) return fn();
  const pid = String(process.pid);
  const before = execFileSync('taskset', ['-cp', pid], { encoding: 'utf8' }).split(':').pop().trim();
  execFileSync('taskset', ['-a', '-cp', cpus, pid], { stdio: 'ignore' });
  try {
    return await fn();
  } finally {
    execFileSync('taskset', ['-a', '-cp', before, pid], { stdio: 'ignore' });
  }
}

/** The host's own counts of HelloWorld.sayHello from `rpc status --json`, summed over its workers. */
function methodFigures(status) {
  const sum = { calls: 0, successes: 0, failures: {}, queueWait: {}, queueTotalMs: 0, workers: [] };
  for (const w of status?.workers ?? []) {
    sum.workers.push({ pid: w.pid, restarts: w.restarts, requests: w.requests, state: w.state });
    const m = w.methods?.['HelloWorld.sayHello'];
    if (!m) continue;
    sum.calls += m.calls;
    sum.successes += m.successes;
    for (const [k, v] of Object.entries(m.failures ?? {})) sum.failures[k] = (sum.failures[k] ?? 0) + v;
    (m.queueBuckets ?? []).forEach((n, i) => {
      const le = i < LATENCY_BUCKETS_MS.length ? `≤${LATENCY_BUCKETS_MS[i]}ms` : `>${LATENCY_BUCKETS_MS.at(-1)}ms`;
      if (n) sum.queueWait[le] = (sum.queueWait[le] ?? 0) + n;
    });
    sum.queueTotalMs += m.queueTotalMs ?? 0;
  }
  return sum;
}

/** What the host counted between two {@link methodFigures}: calls run, and not run by reason. */
export function figuresDelta(before, after) {
  if (!before || !after) return undefined;
  // A worker whose IPC channel is busy (connections queued for hand-off) reports no figures.
  const silent = after.workers.filter((w) => w.requests === null).length;
  if (silent > 0) return { unavailable: `rpc status had no figures from ${silent} worker(s)` };
  const failures = {};
  for (const [k, v] of Object.entries(after.failures)) {
    const d = v - (before.failures[k] ?? 0);
    if (d) failures[k] = d;
  }
  const queueWait = {};
  for (const [k, v] of Object.entries(after.queueWait)) {
    const d = v - (before.queueWait[k] ?? 0);
    if (d) queueWait[k] = d;
  }
  const ran = Object.values(queueWait).reduce((a, b) => a + b, 0);
  return {
    calls: after.calls - before.calls,
    successes: after.successes - before.successes,
    failures,
    queueWait,
    queueMeanMs: ran ? round((after.queueTotalMs - before.queueTotalMs) / ran, 2) : null,
  };
}
