#!/usr/bin/env node
/**
 * Load generator of the overload suite (bench/overload.mjs, chaos scenario 10), run in its own
 * process, on its own CPU when the caller pins it. Calls HelloWorld.sayHello on one port with one
 * kind of client and prints one JSON line per phase.
 *
 * Open loop: each phase starts calls on a Poisson schedule at its rate, whether or not earlier
 * calls were answered, as independent callers do. A call counts as goodput only when it is
 * answered successfully within the caller's timeout, measured from the moment the driver made
 * it; every call is attributed to the phase it started in. A phase marked `recovery` directly
 * follows a burst (no gap) and also reports when the first call started in it was answered in
 * time, and the share answered in time from then on.
 *
 * Client kinds:
 * - `header`: ThriftClient over THeader: its remaining time travels in `client_timeout`;
 * - `framed`: ThriftClient, framed: no deadline on the wire;
 * - `apache`: the plain Apache `thrift` Node client, framed. It has no call timeout, so the driver
 *   adds one as a user would: a timer races each call and, when it fires, the call is abandoned
 *   and its connection destroyed (`connection.destroy()`: a FIN; the connection cannot be reused
 *   while a reply may still arrive on it). Connections are pooled one call at a time (an idle one
 *   is reused, else a new one opened, up to `maxConnections`).
 * ThriftClient callers keep the client's defaults except `callTimeoutMs`: `callers` instances
 * (default 16), each with its own pool (10 connections x 8 pipelined calls), stand for that many
 * calling processes, and the calls are spread over them in turn.
 *
 * Usage: node overload-driver.mjs '<JSON spec>'
 *   { port, kind, timeoutMs, seed, callers?, maxConnections?, genDir, clientDist,
 *     closed?: { concurrency, warmupS, seconds },       // capacity: closed loop, prints {event:'capacity'}
 *     phases?: [{ name, rate, seconds, gapMs?, recovery? }] }  // open loop, prints {event:'phase'} each
 * Last line: { event: 'done' }.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const spec = JSON.parse(process.argv[2] ?? '{}');
const TIMEOUT = spec.timeoutMs ?? 250;
/** Width of a timeline bin of a recovery phase or a phase marked `binned`. */
const BIN_MS = 100;
/** TApplicationException types of calls not run (fbthrift numbering, as the host answers). */
const LOADSHEDDING = 11;
const DEADLINE_EXCEEDED = 12;

const emit = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Mulberry32: the schedule of a run is replayable from its seed. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A caller of the chosen kind: `call(name, done)` makes one call and reports exactly once,
 * `done(err, value)`, within about the timeout.
 */
async function makeCaller(kind) {
  if (kind === 'apache') return apacheCaller();
  const { ThriftClient } = require(spec.clientDist);
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'overload-driver-'));
  process.on('exit', () => fs.rmSync(stateDir, { recursive: true, force: true }));
  ThriftClient.config({
    HelloWorld: {
      addresses: [`127.0.0.1:${spec.port}`],
      transport: kind === 'header' ? 'header' : 'framed',
      callTimeoutMs: TIMEOUT,
      serviceDir: spec.genDir,
      stateDir,
    },
  });
  const callers = Array.from({ length: spec.callers ?? 16 }, () => ThriftClient.instance('HelloWorld', true));
  let next = 0;
  return {
    call(name, done) {
      const caller = callers[next];
      next = (next + 1) % callers.length;
      caller.sayHello(name).then(
        (v) => done(undefined, v),
        (err) => done(err),
      );
    },
    stats: () => ({}),
    close: () => ThriftClient.destroy(),
  };
}

/** The plain Apache client with a driver-side timeout (see the header). */
function apacheCaller() {
  const thrift = require(require.resolve('thrift', { paths: [path.dirname(spec.clientDist)] }));
  const HelloWorld = require(path.join(spec.genDir, 'HelloWorld/HelloWorld.js'));
  const max = spec.maxConnections ?? 4000;
  const idle = [];
  let open = 0;
  let opened = 0;
  let destroyed = 0;
  const connect = () => {
    open++;
    opened++;
    const conn = thrift.createConnection('127.0.0.1', spec.port, {
      transport: thrift.TFramedTransport,
      protocol: thrift.TBinaryProtocol,
    });
    conn.dead = false;
    conn.on('error', () => {
      conn.dead = true;
    });
    conn.on('close', () => {
      conn.dead = true;
      open--;
    });
    conn.client = thrift.createClient(HelloWorld, conn);
    return conn;
  };
  const all = new Set();
  return {
    call(name, done) {
      let conn;
      while ((conn = idle.pop()) && conn.dead);
      if (!conn) {
        if (open >= max) {
          done(Object.assign(new Error('driver connection limit'), { code: 'DRIVER_CONNECTION_LIMIT' }));
          return;
        }
        conn = connect();
        all.add(conn);
        conn.on('close', () => all.delete(conn));
      }
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        conn.dead = true;
        destroyed++;
        conn.destroy();
        done(Object.assign(new Error(`no reply within ${TIMEOUT} ms`), { code: 'DRIVER_TIMEOUT' }));
      }, TIMEOUT);
      // The generated es6 client returns a promise (and ignores a callback).
      const settle = (err, value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (!conn.dead) idle.push(conn);
        done(err, value);
      };
      conn.client.sayHello(name).then(
        (value) => settle(undefined, value),
        (err) => settle(err ?? new Error('rejected with nothing')),
      );
    },
    stats: () => ({ connectionsOpened: opened, destroyedOnTimeout: destroyed }),
    close() {
      for (const c of all) c.destroy();
    },
  };
}

/** What became of a call: 'good' | 'late' | 'shed' | 'expired' | 'timeout' | 'error', and a code. */
function classify(err, value, expected, elapsedMs) {
  if (!err) {
    if (value !== expected) return ['error', 'WRONG_REPLY'];
    return elapsedMs <= TIMEOUT ? ['good'] : ['late', 'LATE_SUCCESS'];
  }
  const type = err.type ?? err.cause?.type;
  if (err.code === 'ERR_SERVER_OVERLOADED' || (err.name === 'TApplicationException' && type === LOADSHEDDING))
    return ['shed', err.code ?? 'TApplicationException:11'];
  if (err.name === 'TApplicationException' && type === DEADLINE_EXCEEDED) return ['expired', 'TApplicationException:12'];
  const code = err.code ?? (err.name === 'TApplicationException' ? `TApplicationException:${type}` : err.name);
  if (code === 'ERR_CALL_TIMEOUT' || code === 'DRIVER_TIMEOUT' || code === 'ERR_POOL_ACQUIRE_TIMEOUT')
    return ['timeout', code];
  return ['error', code ?? 'UNKNOWN'];
}

/** Counters of one phase. */
function newPhase(p, index) {
  return {
    ...p,
    index,
    started: 0,
    settled: 0,
    counts: { good: 0, late: 0, shed: 0, expired: 0, timeout: 0, error: 0 },
    codes: {},
    goodMs: [],
    slipMs: [],
    calls: p.recovery || p.binned ? [] : undefined,
  };
}

function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const round = (x, d = 1) => (x === null || x === undefined ? x : Number(x.toFixed(d)));

/** The phase's line: rates, latencies, and for a recovery phase when calls succeeded again. */
function summarize(ph, cpuPct) {
  const per = (n) => round(n / ph.seconds, 1);
  const out = {
    event: 'phase',
    index: ph.index,
    name: ph.name,
    rate: ph.rate,
    seconds: ph.seconds,
    offered: per(ph.started),
    goodput: per(ph.counts.good),
    shed: per(ph.counts.shed),
    expired: per(ph.counts.expired),
    timeouts: per(ph.counts.timeout),
    late: per(ph.counts.late),
    errors: per(ph.counts.error),
    counts: { started: ph.started, ...ph.counts },
    codes: ph.codes,
    p50Ms: round(percentile(ph.goodMs, 50)),
    p99Ms: round(percentile(ph.goodMs, 99)),
    slipP99Ms: round(percentile(ph.slipMs, 99)),
    slipMaxMs: round(ph.slipMs.length ? Math.max(...ph.slipMs) : null),
    driverCpuPct: round(cpuPct),
  };
  if (ph.calls) out.bins = bins(ph);
  if (ph.recovery) out.recovery = recovery(ph);
  return out;
}

/**
 * Per BIN_MS of start time: calls started, answered in time, shed/expired, timed out or failed,
 * and the longest any of them took to settle (ms).
 */
function bins(ph) {
  const n = Math.ceil((ph.seconds * 1000) / BIN_MS);
  const zeros = () => new Array(n).fill(0);
  const out = { binMs: BIN_MS, started: zeros(), good: zeros(), refused: zeros(), failed: zeros(), slowestMs: zeros() };
  for (const c of ph.calls) {
    const i = Math.min(n - 1, Math.floor(c.start / BIN_MS));
    out.started[i]++;
    out.slowestMs[i] = Math.max(out.slowestMs[i], Math.round(c.end - c.start));
    if (c.outcome === 'good') out.good[i]++;
    else if (c.outcome === 'shed' || c.outcome === 'expired') out.refused[i]++;
    else out.failed[i]++;
  }
  return out;
}

/**
 * From the drop (the phase's start): when the first call started after it was answered in
 * time, and the share of the calls started from then on answered in time.
 */
function recovery(ph) {
  let first;
  for (const c of ph.calls) if (c.outcome === 'good' && (!first || c.end < first.end)) first = c;
  if (!first) return { firstGoodMs: null, shareAfter: 0, callsAfter: 0 };
  const after = ph.calls.filter((c) => c.start >= first.end);
  const good = after.filter((c) => c.outcome === 'good').length;
  return {
    firstGoodMs: round(first.end, 1),
    shareAfter: after.length ? round(good / after.length, 4) : null,
    callsAfter: after.length,
  };
}

/** Open loop over the phases. */
async function openLoop(caller) {
  const random = prng(spec.seed ?? 1);
  let outstanding = 0;
  let seq = 0;
  for (const [index, p] of spec.phases.entries()) {
    if (p.gapMs) await sleep(p.gapMs);
    const ph = newPhase(p, index);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const end = t0 + p.seconds * 1000;
    let nextAt = t0;
    const launch = (scheduledAt) => {
      const now = performance.now();
      ph.started++;
      ph.slipMs.push(now - scheduledAt);
      outstanding++;
      const name = `c${seq++}`;
      const expected = `Hello ${name}`;
      caller.call(name, (err, value) => {
        const done = performance.now();
        const elapsed = done - now;
        const [outcome, code] = classify(err, value, expected, elapsed);
        ph.counts[outcome]++;
        ph.settled++;
        if (code) ph.codes[code] = (ph.codes[code] ?? 0) + 1;
        if (outcome === 'good') ph.goodMs.push(elapsed);
        ph.calls?.push({ start: now - t0, end: done - t0, outcome });
        outstanding--;
      });
    };
    await new Promise((resolve) => {
      const tick = () => {
        const now = performance.now();
        while (nextAt <= now && nextAt < end) {
          launch(nextAt);
          // Exponential gaps: a Poisson process at `rate` calls/s.
          nextAt += (-Math.log(1 - random()) * 1000) / p.rate;
        }
        if (nextAt >= end) {
          setTimeout(resolve, Math.max(0, end - performance.now()));
          return;
        }
        setTimeout(tick, Math.max(0, nextAt - performance.now()));
      };
      tick();
    });
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    // Settled later: the line goes out once its calls are all answered or timed out.
    void settledOf(ph).then(() => emit(summarize(ph, ((cpu.user + cpu.system) / 1000 / wall) * 100)));
  }
  // Every call ends within about twice the timeout (a ThriftClient pool wait, then the call).
  const deadline = performance.now() + 4 * TIMEOUT + 2000;
  while (outstanding > 0 && performance.now() < deadline) await sleep(20);
  await sleep(50);
}

/** Resolves when every call of the phase has settled (or after a bound). */
async function settledOf(ph) {
  const deadline = performance.now() + 4 * TIMEOUT + 2000;
  while (ph.settled < ph.started && performance.now() < deadline) await sleep(20);
}

/** Closed loop: `concurrency` callers back to back; what the server completes per second. */
async function closedLoop(caller) {
  const { concurrency, warmupS, seconds } = spec.closed;
  let measuring = false;
  let stop = false;
  let good = 0;
  let failed = 0;
  const lat = [];
  let seq = 0;
  const loop = () =>
    new Promise((resolve) => {
      const one = () => {
        if (stop) return resolve();
        const name = `k${seq++}`;
        const t = performance.now();
        caller.call(name, (err, value) => {
          const [outcome] = classify(err, value, `Hello ${name}`, performance.now() - t);
          if (measuring) {
            if (outcome === 'good') {
              good++;
              lat.push(performance.now() - t);
            } else failed++;
          }
          one();
        });
      };
      one();
    });
  const loops = Array.from({ length: concurrency }, loop);
  await sleep(warmupS * 1000);
  measuring = true;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await sleep(seconds * 1000);
  measuring = false;
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  stop = true;
  await Promise.all(loops);
  emit({
    event: 'capacity',
    rps: round(good / wall, 1),
    failed,
    p50Ms: round(percentile(lat, 50), 2),
    p99Ms: round(percentile(lat, 99), 2),
    concurrency,
    seconds,
    driverCpuPct: round(((cpu.user + cpu.system) / 1000 / (wall * 1000)) * 100),
  });
}

const caller = await makeCaller(spec.kind);
if (spec.closed) await closedLoop(caller);
if (spec.phases) await openLoop(caller);
emit({ event: 'done', client: caller.stats() });
await caller.close();
process.exit(0);
