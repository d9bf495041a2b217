// Handler of the calibration contender (`--calibrate`): the handler named by
// THRIFTHOST_BENCH_SPIN_HANDLER (default: services/HelloWorld/handler.js), every method of
// every `*Handler` export made to burn THRIFTHOST_BENCH_SPIN_NS nanoseconds of CPU first
// (bench/lib/spin.cjs). Passed to host-server.cjs or apache-server.cjs with --handler; the
// server is otherwise the one it calibrates, so the known delay is the only difference.
'use strict';
const path = require('node:path');
const { spinner, spinningHandler } = require('../lib/spin.cjs');

const real = require(
  path.resolve(process.env.THRIFTHOST_BENCH_SPIN_HANDLER ?? path.join(__dirname, '../../services/HelloWorld/handler.js')),
);
const spin = spinner(Number(process.env.THRIFTHOST_BENCH_SPIN_NS ?? 0));
for (const [name, value] of Object.entries(real)) {
  exports[name] = name.endsWith('Handler') ? spinningHandler(value, spin) : value;
}
