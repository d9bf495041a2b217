// Load for the scenarios: call loops on ThriftClient or on raw Apache `thrift` connections,
// every reply checked against what the call asked for, every outcome tallied (success, failure
// by error code, wrong reply = data lost, no outcome within the bound = hung).
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { GEN_DIR, ROOT, sleep } from './host.mjs';

const require = createRequire(import.meta.url);
export const thrift = require('thrift');
export const { ThriftClient } = require(path.join(ROOT, 'dist/clients/index.js'));
const HelloWorld = require(path.join(GEN_DIR, 'HelloWorld/HelloWorld.js'));
const { TApplicationException } = thrift.Thrift;

/** Outcome counters of one load source. */
export class Tally {
  constructor(label) {
    this.label = label;
    this.calls = 0;
    this.ok = 0;
    this.failed = 0;
    /** Replies that did not match the request (a reply lost, swapped or corrupted). */
    this.wrong = 0;
    /** Calls that took longer than the bound (settled late or never). */
    this.overBound = 0;
    /** Calls with no outcome at all when the loop stopped. */
    this.neverSettled = 0;
    /** Failures without a stable error code (not a "clear error"). */
    this.unclear = 0;
    this.codes = {};
    this.samples = [];
    this.latencies = [];
    this.maxMs = 0;
    /** performance.now() of each failure (first 1000). */
    this.failTimes = [];
    /** The first calls over the bound: latency, start (s into the run), outcome. */
    this.overBoundSamples = [];
    this.startedAt = performance.now();
  }

  record(ms, err, wrong) {
    this.calls++;
    if (ms > this.maxMs) this.maxMs = ms;
    // Reservoir sample of 200k latencies: every call equally likely to be kept.
    if (this.latencies.length < 200_000) this.latencies.push(ms);
    else {
      const j = Math.floor(Math.random() * this.calls);
      if (j < 200_000) this.latencies[j] = ms;
    }
    if (wrong) {
      this.wrong++;
      this.failed++;
      this.note('WRONG_REPLY', wrong);
      return;
    }
    if (!err) {
      this.ok++;
      return;
    }
    this.failed++;
    if (this.failTimes.length < 1000) this.failTimes.push(performance.now());
    const code = errorCode(err);
    if (!code) this.unclear++;
    this.note(code ?? 'UNCLEAR', err?.message ?? String(err));
  }

  note(code, message) {
    this.codes[code] = (this.codes[code] ?? 0) + 1;
    if (this.samples.length < 8 && !this.samples.some((s) => s.code === code)) {
      this.samples.push({ code, message: String(message).slice(0, 300) });
    }
  }

  percentile(p) {
    if (this.latencies.length === 0) return 0;
    const sorted = Float64Array.from(this.latencies).sort();
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  }

  /** Plain summary for the JSON report. */
  summary() {
    return {
      calls: this.calls,
      ok: this.ok,
      failed: this.failed,
      wrongReplies: this.wrong,
      overBound: this.overBound,
      overBoundSamples: this.overBoundSamples,
      neverSettled: this.neverSettled,
      unclearErrors: this.unclear,
      errorCodes: this.codes,
      errorSamples: this.samples,
      p50Ms: round(this.percentile(50)),
      p99Ms: round(this.percentile(99)),
      maxMs: round(this.maxMs),
    };
  }
}

/** The stable code of an error, or undefined for one a caller could not match on. */
export function errorCode(err) {
  if (err instanceof TApplicationException) return `TApplicationException:${err.type}`;
  if (typeof err?.code === 'string' && err.code.length > 0) return err.code;
  return undefined;
}

/**
 * Runs `concurrency` loops, each calling `call(loop, n)` -> { promise, expect } back to back
 * (or paced at `ratePerSec` overall) until `stop()`. A call still unsettled after `hangMs` is
 * counted as over the bound and the loop moves on; `boundMs` is the latest acceptable outcome.
 */
export function runLoops({ label, concurrency, call, boundMs, hangMs = boundMs * 3, ratePerSec, onCall }) {
  const tally = new Tally(label);
  let running = true;
  const unsettled = new Set();
  const interval = ratePerSec ? (concurrency * 1000) / ratePerSec : 0;
  const loops = Array.from({ length: concurrency }, async (_, loop) => {
    let next = performance.now() + (interval * loop) / concurrency;
    for (let n = 0; running; n++) {
      if (interval) {
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        next += interval;
        if (!running) break;
      }
      const started = performance.now();
      let done = false;
      const entry = { started };
      unsettled.add(entry);
      let promise;
      let expect;
      try {
        ({ promise, expect } = call(loop, n));
      } catch (err) {
        promise = Promise.reject(err);
      }
      onCall?.(started);
      const outcome = promise.then(
        (value) => ({ value }),
        (err) => ({ err }),
      );
      let failedFast = false;
      outcome.then(({ value, err }) => {
        done = true;
        unsettled.delete(entry);
        const ms = performance.now() - started;
        if (ms > boundMs) {
          tally.overBound++;
          if (tally.overBoundSamples.length < 10) {
            tally.overBoundSamples.push({
              ms: round(ms),
              atS: round((started - tally.startedAt) / 1000, 2),
              outcome: err ? (errorCode(err) ?? 'UNCLEAR') : 'ok',
            });
          }
        }
        const wrong =
          !err && expect !== undefined && value !== expect ? `expected ${expect}, got ${value}` : undefined;
        tally.record(ms, err, wrong);
        failedFast = err !== undefined && ms < 5;
      });
      let timer;
      await Promise.race([outcome, new Promise((r) => (timer = setTimeout(r, hangMs)))]);
      clearTimeout(timer);
      // A stuck call is counted when (if) it settles; the loop goes on so that it cannot stall
      // the run. A call that failed at once (refused) must not turn the loop into a busy spin.
      if (!done || failedFast) await sleep(5);
    }
  });
  return {
    tally,
    async stop(graceMs = boundMs) {
      running = false;
      await Promise.race([Promise.all(loops), sleep(graceMs + 100)]);
      const deadline = performance.now() + graceMs;
      while (unsettled.size > 0 && performance.now() < deadline) await sleep(20);
      tally.neverSettled = unsettled.size;
      tally.overBound += unsettled.size;
      return tally;
    },
  };
}

/** A raw Apache `thrift` HelloWorld client on one connection (binary, buffered). */
export function rawClient(port, { transport = 'buffered' } = {}) {
  const conn = thrift.createConnection('127.0.0.1', port, {
    transport: transport === 'framed' ? thrift.TFramedTransport : thrift.TBufferedTransport,
    protocol: thrift.TBinaryProtocol,
    connect_timeout: 2000,
    max_attempts: 1,
  });
  let closed;
  // The Apache client leaves a call pending when its connection closes (and with max_attempts
  // it reconnects quietly, emitting 'reconnecting' instead of 'close'): the server closing the
  // connection is an outcome the caller can see, so it settles the calls in flight here.
  let onClosed;
  const whenClosed = new Promise((_, reject) => {
    onClosed = reject;
  });
  whenClosed.catch(() => {});
  conn.on('error', (err) => {
    closed ??= err;
  });
  const onClose = () => {
    closed ??= Object.assign(new Error('connection closed'), { code: 'RAW_CONNECTION_CLOSED' });
    onClosed(closed);
  };
  conn.on('close', onClose);
  conn.on('reconnecting', onClose);
  const client = thrift.createClient(HelloWorld, conn);
  const ready = new Promise((resolve) => {
    if (conn.connected) resolve();
    conn.once('connect', resolve);
    conn.once('error', resolve);
    conn.once('close', resolve);
  });
  return {
    ready,
    get closed() {
      return closed;
    },
    /**
     * Resolves the reply; rejects when the connection closes, or after `timeoutMs` without
     * either (the Apache client does neither).
     */
    sayHello(name, timeoutMs = 3000) {
      if (closed) return Promise.reject(closed);
      let timer;
      return Promise.race([
        client.sayHello(name),
        whenClosed,
        new Promise((_, reject) => {
          timer = setTimeout(
            () =>
              reject(Object.assign(new Error(`no reply within ${timeoutMs} ms`), { code: 'RAW_TIMEOUT' })),
            timeoutMs,
          );
        }),
      ]).finally(() => clearTimeout(timer));
    },
    close() {
      // destroy() alone makes the Apache connection try to reconnect (and log when it cannot).
      conn.forceClose = true;
      conn.destroy();
    },
  };
}

/**
 * `connections` raw clients calling sayHello back to back until stop(); a failed call's
 * connection is replaced. Replies are checked (`Hello <name>`).
 */
export function rawLoops({ label, port, connections, timeoutMs = 3000, prefix = 'Hello ' }) {
  const clients = Array.from({ length: connections }, () => rawClient(port));
  const stale = new Array(connections).fill(false);
  const handle = runLoops({
    label,
    concurrency: connections,
    boundMs: timeoutMs + 500,
    call(loop, n) {
      let c = clients[loop];
      if (c.closed || stale[loop]) {
        // A timed-out call may still be answered later on the old connection: start afresh.
        c.close();
        c = clients[loop] = rawClient(port);
        stale[loop] = false;
      }
      const name = `r${loop}-${n}`;
      const promise = c.ready.then(() => c.sayHello(name, timeoutMs));
      promise.catch(() => {
        stale[loop] = true;
      });
      return { promise, expect: `${prefix}${name}` };
    },
  });
  return {
    tally: handle.tally,
    async stop() {
      const t = await handle.stop();
      for (const c of clients) c.close();
      return t;
    },
  };
}

/**
 * `concurrency` loops that each open a new raw connection, make one checked call on it and close
 * it, until stop(): the path a client takes that connects for every call, or reconnects.
 */
export function freshRawLoops({ label, port, concurrency, timeoutMs = 3000, onCall }) {
  return runLoops({
    label,
    concurrency,
    onCall,
    boundMs: timeoutMs + 2500, // connect (2 s) + reply
    call(loop, n) {
      const name = `f${loop}-${n}`;
      const c = rawClient(port);
      const promise = c.ready.then(() => c.sayHello(name, timeoutMs)).finally(() => c.close());
      return { promise, expect: `Hello ${name}` };
    },
  });
}

/**
 * Configures ThriftClient for HelloWorld (or `service`) with `options` and returns the instance.
 * Shared client state lives in `stateDir` (the scenario's folder), never in the system tmp.
 */
export async function thriftClientFor(service, options, runtime) {
  await ThriftClient.reset();
  ThriftClient.config({ [service]: { serviceDir: GEN_DIR, ...options } }, runtime ?? {});
  return ThriftClient.instance(service);
}

/**
 * ThriftClient for `service` on `host` alone: its address, and the host's folder for the shared
 * client state; `options` adds to or overrides those.
 */
export function hostClient(host, service, options) {
  return thriftClientFor(service, { addresses: [host.address(service)], stateDir: host.dir, ...options });
}

/**
 * A `call` for runLoops: sayHello on `client` with a name of its own (`<prefix><loop>-<n>`),
 * whose reply must be `Hello <name>`.
 */
export function helloCall(client, prefix) {
  return (loop, n) => {
    const name = `${prefix}${loop}-${n}`;
    return { promise: client.sayHello(name), expect: `Hello ${name}` };
  };
}

/** Least-squares slope of ys over xs. */
export function slope(xs, ys) {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export const round = (x, digits = 1) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);
export const MB = 2 ** 20;
