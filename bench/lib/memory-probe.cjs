// Loaded into a worker with --require (bench/worker-memory.mjs): every 250 ms it writes the
// worker's process.memoryUsage() and V8 heap spaces to $MEMORY_PROBE_DIR/<pid>.json, so that the
// bench can say which part of an RSS grew. The master (not a cluster worker) writes nothing.
'use strict';
const fs = require('node:fs');
const v8 = require('node:v8');

const dir = process.env.MEMORY_PROBE_DIR;
if (dir && require('node:cluster').isWorker) {
  const file = `${dir}/${process.pid}.json`;
  setInterval(() => {
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.physical_space_size]));
    fs.writeFileSync(file, JSON.stringify({ memory: process.memoryUsage(), spaces }));
  }, 250).unref();
}
