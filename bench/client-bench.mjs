/**
 * Client side: thrifthost's ThriftClient against a raw Apache `thrift` connection, both calling
 * HelloWorld.sayHello on the same server, in this one Node process.
 *   sequential  one call at a time: round-trip latency (mean, p50, p99)
 *   in flight   `--inflight` callers each looping on await: throughput and this process's CPU
 * The two clients take turns in short slices so that a noisy neighbour hits both alike.
 * Prints one JSON line. ThriftClient is reported as skipped when clients/ is not built.
 *
 * Usage: node bench/client-bench.mjs --port P [--transport framed|buffered] [--seconds 6]
 *                                    [--inflight 256]
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    transport: { type: 'string', default: 'framed' },
    seconds: { type: 'string', default: '6' },
    inflight: { type: 'string', default: '256' },
  },
});
const port = Number(values.port);
const seconds = Number(values.seconds);
const inflight = Number(values.inflight);
const SLICES = 3;

const thrift = require('thrift');
const HelloWorld = require(path.join(root, 'gen/HelloWorld/HelloWorld.js'));

const clients = { raw: await rawClient() };
const clientEntry = path.join(root, 'dist/clients/index.js');
let skipped;
if (fs.existsSync(clientEntry)) {
  try {
    clients.thriftClient = await thriftClient(require(clientEntry));
  } catch (err) {
    skipped = `skipped: ThriftClient failed to start (${err.message})`;
  }
} else {
  skipped = 'skipped: clients/ not built';
}

const result = { transport: values.transport, inflight };
for (const name of Object.keys(clients))
  result[name] = { sequential: [], inFlight: { calls: 0, ms: 0, cpuMs: 0 } };
for (let s = 0; s < SLICES; s++) {
  for (const [name, c] of Object.entries(clients)) {
    result[name].sequential.push(...(await sequential(c.call, (seconds * 1000) / SLICES / 2)));
  }
  for (const [name, c] of Object.entries(clients)) {
    const r = await concurrent(c.call, (seconds * 1000) / SLICES / 2);
    const acc = result[name].inFlight;
    acc.calls += r.calls;
    acc.ms += r.ms;
    acc.cpuMs += r.cpuMs;
  }
}
for (const name of Object.keys(clients)) {
  const lat = result[name].sequential.sort((a, b) => a - b);
  const acc = result[name].inFlight;
  result[name] = {
    sequential: {
      calls: lat.length,
      meanUs: lat.reduce((a, b) => a + b, 0) / lat.length,
      p50Us: quantile(lat, 0.5),
      p99Us: quantile(lat, 0.99),
    },
    inFlight: { rps: (acc.calls / acc.ms) * 1000, cpuPct: (acc.cpuMs / acc.ms) * 100 },
  };
}
if (skipped) result.thriftClient = { skipped };
console.log(JSON.stringify(result));
await Promise.all(Object.values(clients).map((c) => c.close()));
process.exit(0);

// --- internal ---

async function rawClient() {
  const connection = thrift.createConnection('127.0.0.1', port, {
    transport: values.transport === 'framed' ? thrift.TFramedTransport : thrift.TBufferedTransport,
    protocol: thrift.TBinaryProtocol,
  });
  await new Promise((resolve, reject) => {
    connection.once('connect', resolve);
    connection.once('error', reject);
  });
  connection.on('error', (err) => console.error('raw client:', err.message));
  const client = thrift.createClient(HelloWorld.Client, connection);
  return { call: () => client.sayHello('world'), close: async () => connection.end() };
}

async function thriftClient({ ThriftClient }) {
  ThriftClient.config({
    HelloWorld: {
      addresses: [`127.0.0.1:${port}`],
      transport: values.transport,
      serviceDir: path.join(root, 'gen'),
      shareState: false,
      poolMax: 10,
    },
  });
  const hello = ThriftClient.instance('HelloWorld');
  await hello.sayHello('warm-up');
  return { call: () => hello.sayHello('world'), close: () => ThriftClient.destroy() };
}

async function sequential(call, ms) {
  const out = [];
  const end = performance.now() + ms;
  for (let i = 0; i < 200; i++) await call(); // warm the path before timing
  while (performance.now() < end) {
    const t0 = performance.now();
    await call();
    out.push((performance.now() - t0) * 1000);
  }
  return out;
}

async function concurrent(call, ms) {
  let calls = 0;
  let stop = false;
  const loop = async () => {
    while (!stop) {
      await call();
      calls++;
    }
  };
  const warm = Array.from({ length: inflight }, loop);
  await new Promise((r) => setTimeout(r, 200));
  calls = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const counted = calls;
  stop = true;
  await Promise.all(warm);
  return { calls: counted, ms: elapsed, cpuMs: (cpu.user + cpu.system) / 1000 };
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.round(q * (sorted.length - 1)))] ?? 0;
}
