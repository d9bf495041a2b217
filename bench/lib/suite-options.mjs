/**
 * The flags a bench suite takes whether it runs inside `npm run bench` (bench/run.mjs, which
 * hands them on to the payload suite) or alone (bench/payload.mjs): node:util parseArgs options.
 * Each suite resolves its own defaults (a --quick cell is shorter in one than in the other).
 */

/** --quick --repeat --warmup --duration --only --calibrate --calibrate-us --no-build --pin --node. */
export const SUITE_OPTIONS = {
  quick: { type: 'boolean', default: false },
  repeat: { type: 'string' },
  warmup: { type: 'string' },
  duration: { type: 'string' },
  only: { type: 'string' },
  calibrate: { type: 'boolean', default: false },
  'calibrate-us': { type: 'string', default: '2' },
  'no-build': { type: 'boolean', default: false },
  // Generator on one core, server on the other, single-process contenders (lib/pinning.mjs).
  pin: { type: 'boolean', default: false },
  // Node majors each Node contender runs under (lib/node-versions.mjs): 22,24 by default.
  node: { type: 'string' },
};
