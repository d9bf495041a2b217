/**
 * ThriftClient vs a raw Apache `thrift.createConnection` client, calling HelloWorld.sayHello on
 * the same server (Apache's, in a child process), each on exactly one connection (ThriftClient:
 * poolMin = poolMax = 1). Sequential latency (p50) and throughput with concurrent callers, for
 * several `maxInFlightPerConnection` settings; runs are interleaved, ratios against raw are taken
 * per run and shown as median (min–max) over `--runs` (bench/lib/stats.mjs). For N connections
 * each, see bench/client-bench.mjs. Needs `npx tsc -p .` first (uses dist/clients).
 *
 * Usage: node bench/client-latency.mjs [--runs 5] [--ms 1500] [--callers 64] [--depths 1,4,16]
 */
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { finishRun, startRun } from './lib/run-info.mjs';
import { RUNS, median, spread } from './lib/stats.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: String(RUNS) },
    ms: { type: 'string', default: '1500' },
    callers: { type: 'string', default: '64' },
    depths: { type: 'string', default: '1,4,16' },
  },
});
const runs = Number(values.runs);
const ms = Number(values.ms);
const callers = Number(values.callers);
const depths = values.depths.split(',').map(Number);

const thrift = require('thrift');
const HelloWorld = require(path.join(root, 'gen/HelloWorld/HelloWorld.js'));
const { ThriftClient } = require(path.join(root, 'dist/clients/index.js'));

const server = fork(path.join(root, 'test/helpers/hello-server-child.cjs'), ['0', path.join(root, 'gen')], {
  stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
});
const port = await new Promise((resolve) => server.once('message', (m) => resolve(m.port)));

const connection = thrift.createConnection('127.0.0.1', port, { max_attempts: 1 });
await new Promise((resolve) => connection.once('connect', resolve));
const raw = thrift.createClient(HelloWorld.Client, connection);
const clients = { raw: () => raw.sayHello('world') };
for (const depth of depths) {
  const name = `HelloWorld${depth}`;
  // One service entry per depth, all on the same server (service names are config keys).
  ThriftClient.config({
    HelloWorld: {
      addresses: [`127.0.0.1:${port}`],
      serviceDir: path.join(root, 'gen'),
      shareState: false,
      poolMin: 1,
      poolMax: 1,
      maxInFlightPerConnection: depth,
    },
  });
  const c = ThriftClient.instance('HelloWorld', true);
  clients[name] = () => c.sayHello('world');
}

const run = startRun();
const samples = Object.fromEntries(Object.keys(clients).map((k) => [k, { p50: [], rps: [] }]));
for (let r = 0; r < runs; r++) {
  for (const [name, call] of Object.entries(clients)) {
    samples[name].p50.push(await sequentialP50(call, ms));
    samples[name].rps.push(await throughput(call, ms));
  }
}
const out = {};
const ratios = (mine, raw) => {
  const s = spread(mine.map((x, i) => x / raw[i]));
  return s && `${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
};
for (const [name, s] of Object.entries(samples)) {
  out[name] = {
    p50Us: Math.round(median(s.p50)),
    p50Ratio: ratios(s.p50, samples.raw.p50),
    rps: Math.round(median(s.rps)),
    rpsRatio: ratios(s.rps, samples.raw.rps),
  };
}
console.log(JSON.stringify({ run: finishRun(run), runs, callers, connections: 1, ...out }, null, 1));
connection.end();
await ThriftClient.destroy();
server.kill();
process.exit(0);

// --- internal ---

async function sequentialP50(call, budgetMs) {
  for (let i = 0; i < 200; i++) await call();
  const lat = [];
  const end = performance.now() + budgetMs;
  while (performance.now() < end) {
    const t0 = performance.now();
    await call();
    lat.push((performance.now() - t0) * 1000);
  }
  return median(lat);
}

async function throughput(call, budgetMs) {
  let calls = 0;
  const end = performance.now() + budgetMs;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) {
        await call();
        calls++;
      }
    }),
  );
  return (calls / (performance.now() - t0)) * 1000;
}
