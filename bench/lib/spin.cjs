// Calibration delay: a busy loop that costs a known amount of CPU per call, injected into one
// contender (`--calibrate`) to check that a bench can see a difference of that size. The loop
// runs a fixed number of iterations measured once at start-up (the fastest of several timings,
// after a JIT warm-up), not "spin until the clock says N ns": reading the clock costs ~50 ns, too
// coarse for the 115 ns a statistics counter costs, and a clock-based wait would also count time
// the process spent descheduled.
'use strict';

let sink = 0;

function loop(iterations) {
  let x = sink;
  for (let i = 0; i < iterations; i++) x = (x * 1103515245 + 12345) | 0;
  sink = x;
}

let perNs;

/**
 * Loop iterations per nanosecond on this machine: THRIFTHOST_BENCH_SPIN_PER_NS when the process
 * that started this one measured it (see {@link spinEnv}), else measured here, once.
 */
function iterationsPerNs() {
  if (perNs !== undefined) return perNs;
  const given = Number(process.env.THRIFTHOST_BENCH_SPIN_PER_NS);
  if (given > 0) return (perNs = given);
  const n = 2_000_000;
  for (let i = 0; i < 20; i++) loop(n / 10);
  let best = Infinity;
  for (let i = 0; i < 9; i++) {
    const t0 = process.hrtime.bigint();
    loop(n);
    best = Math.min(best, Number(process.hrtime.bigint() - t0));
  }
  perNs = n / best;
  return perNs;
}

/**
 * A function that burns about `ns` nanoseconds of CPU per call (a no-op for 0).
 * @param {number} ns
 * @returns {() => void}
 */
function spinner(ns) {
  if (!(ns > 0)) return () => {};
  const iterations = Math.max(1, Math.round(ns * iterationsPerNs()));
  return () => loop(iterations);
}

/**
 * Every method of `handler` (an object, or a class instantiated here) wrapped to call `spin`
 * first; a plain object, as the host and Apache's server both accept.
 */
function spinningHandler(handler, spin) {
  const target = typeof handler === 'function' ? new handler() : handler;
  const out = {};
  const names = new Set();
  for (let o = target; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) names.add(name);
  }
  for (const name of names) {
    if (name === 'constructor' || typeof target[name] !== 'function') continue;
    out[name] = (...args) => {
      spin();
      return target[name](...args);
    };
  }
  return out;
}

/**
 * The environment that makes a server's handler burn `ns` of CPU per call, with the loop's speed
 * measured here, once, for every process started with it. Measured in each worker instead, two
 * workers starting together on one core each timed the loop while the other ran, and burned
 * about 1.1 ms for a 2 ms setting; one that started alone burned 2 ms: the workers of one host
 * then differed in cost per call by up to 2x.
 * @param {number} ns
 */
function spinEnv(ns) {
  return { THRIFTHOST_BENCH_SPIN_NS: String(ns), THRIFTHOST_BENCH_SPIN_PER_NS: String(iterationsPerNs()) };
}

module.exports = { spinner, spinningHandler, iterationsPerNs, spinEnv };
