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

/** Loop iterations per nanosecond on this machine (measured once). */
function iterationsPerNs() {
  if (perNs !== undefined) return perNs;
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

module.exports = { spinner, spinningHandler, iterationsPerNs };
