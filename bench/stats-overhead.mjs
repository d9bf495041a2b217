#!/usr/bin/env node
// Throughput with per-method statistics on vs off: two in-process ThriftServers (Catalog,
// framed binary) side by side, one with the real counters, one whose counters are no-ops.
// A load generator in a worker thread keeps a window of pipelined `ping` calls in flight on a
// few connections; rounds alternate between the two servers so drift hits both equally.
// Prints calls/s of each and the ratio on/off (target >= 0.97). Needs `npx tsc -p .` first.
//
//   node bench/stats-overhead.mjs [--rounds 6] [--seconds 2] [--connections 4] [--window 128]
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const ROUNDS = arg('rounds', 10);
const SECONDS = arg('seconds', 2);
const CONNECTIONS = arg('connections', 4);
const WINDOW = arg('window', 128);

const { validateHostConfig } = require(path.join(ROOT, 'dist/src/config.js'));
const { ThriftServer } = require(path.join(ROOT, 'dist/src/thrift-worker.js'));
const pino = require('pino');

const config = validateHostConfig(
  { services: [{ service: 'Catalog', listen: '127.0.0.1:0', transport: 'framed', count: 1 }] },
  path.join(ROOT, 'rpc.config.json'),
).services[0];
const log = pino({ level: 'silent' });

async function start(counting) {
  const server = new ThriftServer(config, log);
  if (!counting) {
    const noop = { begin: () => 0, end() {}, reject() {} };
    for (const entry of server.table.methods.values()) entry.counter = noop;
  }
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  return { server, port };
}

// The load generator: one `ping` call encoded once (framed, strict binary), sent in batches.
const LOAD = `
const net = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');
const { port, connections, window, ms } = workerData;
const name = Buffer.from('ping');
const body = Buffer.alloc(4 + 4 + name.length + 4 + 1);
let o = body.writeUInt32BE(0x80010001, 0);
o = body.writeInt32BE(name.length, o); o += name.copy(body, o); o = body.writeInt32BE(1, o); body[o] = 0;
const frame = Buffer.concat([Buffer.alloc(4), body]); frame.writeInt32BE(body.length, 0);
const batch = (n) => Buffer.concat(Array(n).fill(frame));
let replies = 0, stop = false, open = connections;
for (let c = 0; c < connections; c++) {
  const s = net.connect(port, '127.0.0.1', () => s.write(batch(window)));
  s.setNoDelay(true);
  let pending = Buffer.alloc(0);
  s.on('data', (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let pos = 0, n = 0;
    while (pending.length - pos >= 4) {
      const len = pending.readInt32BE(pos);
      if (pending.length - pos < 4 + len) break;
      pos += 4 + len; n++;
    }
    pending = pending.subarray(pos);
    replies += n;
    if (!stop && n > 0) s.write(batch(n));
  });
  s.on('error', () => {});
  s.on('close', () => { if (--open === 0) parentPort.postMessage(replies); });
}
setTimeout(() => { stop = true; const r = replies; parentPort.postMessage(r); process.exit(0); }, ms);
`;

function load(port) {
  return new Promise((resolve, reject) => {
    const w = new Worker(LOAD, {
      eval: true,
      workerData: { port, connections: CONNECTIONS, window: WINDOW, ms: SECONDS * 1000 },
    });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

const on = await start(true);
const off = await start(false);
await load(on.port); // warm-up both code paths
await load(off.port);
const rates = { on: [], off: [] };
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
  for (const which of order) {
    const n = await load((which === 'on' ? on : off).port);
    rates[which].push(n / SECONDS);
    // Let the server finish the calls still queued from the closed connections, and collect.
    await new Promise((r) => setTimeout(r, 500));
    globalThis.gc?.();
  }
}
on.server.destroy();
off.server.destroy();
console.log(JSON.stringify(rates));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const calls = on.server.stats.snapshot()['Catalog.ping']?.calls ?? 0;
const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log(
  `statistics on : ${fmt(median(rates.on))} calls/s (median of ${ROUNDS}; ${fmt(calls)} calls counted)`,
);
console.log(`statistics off: ${fmt(median(rates.off))} calls/s (median of ${ROUNDS})`);
console.log(`ratio on/off  : ${(median(rates.on) / median(rates.off)).toFixed(3)} (target >= 0.97)`);
process.exit(0);
