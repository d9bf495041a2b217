/**
 * Client side, like for like: thrifthost's ThriftClient with a pool of exactly N connections
 * (poolMin = poolMax = N) against N raw Apache `thrift` connections, both calling
 * HelloWorld.sayHello on the same server, in this one Node process, for each N of `--conns`.
 *   latency     N callers, one call at a time each (raw: caller i on connection i): p50, mean, p99
 *   throughput  `--inflight` callers looping on await, spread over the N connections (raw: round
 *               robin; ThriftClient: up to inflight/N pipelined per connection, the same depth):
 *               req/s and this process's CPU
 * The two clients alternate within each of `--runs` rounds, in 8 slices of ms/8 each (the order
 * flips every slice), so that both meet the same moments of a shared machine; each ratio
 * ThriftClient/raw is taken within a round, then summarised as median (min–max).
 * `--calibrate` replaces ThriftClient with the raw client plus a busy loop of `--calibrate-us` µs
 * before every call: whether the bench detects that known difference (interval excludes 1).
 * Prints one JSON line. ThriftClient is reported as skipped when clients/ is not built.
 *
 * Usage: node bench/client-bench.mjs [--port P] [--transport framed|buffered] [--conns 1,8]
 *          [--runs 5] [--ms 800] [--inflight 64] [--calibrate] [--calibrate-us 2]
 * Without --port it starts its own server (bench/servers/host-server.cjs, one worker).
 * Takes about runs × conns × 2 clients × (2 × ms + 0.4 s) (5 × 2 × 2 × 2 s: about 40 s).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startNodeServer, stopAll } from './lib/processes.mjs';
import { finishRun, startRun } from './lib/run-info.mjs';
import { RUNS, spread } from './lib/stats.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const require = createRequire(path.join(root, 'package.json'));
const { spinner } = require(path.join(here, 'lib/spin.cjs'));

/** The figures of one client in one round, and which ratio ThriftClient/raw each gives. */
const FIGURES = ['p50Us', 'meanUs', 'p99Us', 'rps', 'cpuUsPerCall'];
/** Slices per round and figure: the two clients take turns this many times. */
const SLICES = 8;

/**
 * Runs the comparison against a HelloWorld server on `port`.
 * @returns {Promise<object>} the JSON this script prints
 */
export async function runClientBench({ port, transport = 'framed', conns = [1, 8], runs = RUNS, ms = 800, inflight = 64, calibrateUs }) {
  const info = startRun();
  const thrift = require('thrift');
  const HelloWorld = require(path.join(root, 'gen/HelloWorld/HelloWorld.js'));
  const clientEntry = path.join(root, 'dist/clients/index.js');
  const calibrate = calibrateUs !== undefined;
  const result = { transport, runs, ms, inflight, ...(calibrate ? { calibrateUs } : {}), cells: [] };
  if (!calibrate && !fs.existsSync(clientEntry)) return { ...result, skipped: 'skipped: clients/ not built' };
  const { ThriftClient } = calibrate ? {} : require(clientEntry);
  const names = calibrate ? ['raw', 'rawSpin'] : ['raw', 'thriftClient'];

  for (const n of conns) {
    const raw = await rawClients(thrift, HelloWorld, port, transport, n);
    const clients = { raw: raw.calls };
    let close = [raw.close];
    if (calibrate) {
      const spin = spinner(calibrateUs * 1000);
      clients.rawSpin = raw.calls.map((call) => () => {
        spin();
        return call();
      });
    } else {
      const tc = await thriftClient(ThriftClient, port, transport, n, Math.ceil(inflight / n));
      clients.thriftClient = Array.from({ length: n }, () => tc.call);
      close = [...close, tc.close];
    }
    const perRun = Object.fromEntries(names.map((k) => [k, []]));
    for (const name of names) for (const call of clients[name]) for (let i = 0; i < 200; i++) await call();
    for (let rep = 0; rep < runs; rep++) {
      const lat = Object.fromEntries(names.map((k) => [k, []]));
      const thr = Object.fromEntries(names.map((k) => [k, { calls: 0, ms: 0, cpuUs: 0 }]));
      for (let slice = 0; slice < SLICES; slice++) {
        const order = (rep + slice) % 2 === 0 ? names : [...names].reverse();
        for (const name of order) lat[name].push(...(await latency(clients[name], ms / SLICES)));
        for (const name of order) {
          const t = await throughput(clients[name], ms / SLICES, inflight);
          thr[name].calls += t.calls;
          thr[name].ms += t.ms;
          thr[name].cpuUs += t.cpuUs;
        }
      }
      for (const name of names) {
        const sorted = lat[name].sort((x, y) => x - y);
        const { calls, ms: spent, cpuUs } = thr[name];
        perRun[name].push({
          rep,
          p50Us: quantile(sorted, 0.5),
          meanUs: sorted.reduce((x, y) => x + y, 0) / sorted.length,
          p99Us: quantile(sorted, 0.99),
          rps: (calls / spent) * 1000,
          cpuUsPerCall: cpuUs / calls,
        });
      }
    }
    await Promise.all(close.map((c) => c()));
    const [a, b] = names;
    const ratios = Object.fromEntries(
      FIGURES.map((f) => [f, spread(perRun[b].map((r, i) => r[f] / perRun[a][i][f]))]),
    );
    result.cells.push({ conns: n, [a]: perRun[a], [b]: perRun[b], ratios });
  }
  return { ...result, run: finishRun(info) };
}

// --- internal ---

/** N raw Apache connections; `calls[i]` calls on connection i. */
async function rawClients(thrift, HelloWorld, port, transport, n) {
  const connections = [];
  const calls = [];
  for (let i = 0; i < n; i++) {
    const connection = thrift.createConnection('127.0.0.1', port, {
      transport: transport === 'framed' ? thrift.TFramedTransport : thrift.TBufferedTransport,
      protocol: thrift.TBinaryProtocol,
      max_attempts: 1,
    });
    await new Promise((resolve, reject) => {
      connection.once('connect', resolve);
      connection.once('error', reject);
    });
    connection.on('error', (err) => console.error('raw client:', err.message));
    const client = thrift.createClient(HelloWorld.Client, connection);
    connections.push(connection);
    calls.push(() => client.sayHello('world'));
  }
  return { calls, close: async () => connections.forEach((c) => c.end()) };
}

async function thriftClient(ThriftClient, port, transport, n, depth) {
  ThriftClient.config({
    HelloWorld: {
      addresses: [`127.0.0.1:${port}`],
      transport,
      serviceDir: path.join(root, 'gen'),
      shareState: false,
      poolMin: n,
      poolMax: n,
      maxInFlightPerConnection: depth,
    },
  });
  const hello = ThriftClient.instance('HelloWorld', true);
  await hello.sayHello('warm-up');
  return { call: () => hello.sayHello('world'), close: () => ThriftClient.destroy() };
}

/** One caller per connection, each making one call at a time, for `ms`: every latency in µs. */
async function latency(calls, ms) {
  const lat = [];
  const one = async (call) => {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      const t0 = performance.now();
      await call();
      lat.push((performance.now() - t0) * 1000);
    }
  };
  await Promise.all(calls.map(one));
  return lat;
}

/** `inflight` callers, caller i on `calls[i % n]`, for `ms`: calls, ms and this process's CPU µs. */
async function throughput(calls, ms, inflight) {
  let count = 0;
  let stop = false;
  const loop = async (call) => {
    while (!stop) {
      await call();
      count++;
    }
  };
  const loops = Array.from({ length: inflight }, (_, i) => loop(calls[i % calls.length]));
  await new Promise((r) => setTimeout(r, Math.min(50, ms / 4)));
  count = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const counted = count;
  stop = true;
  await Promise.all(loops);
  return { calls: counted, ms: elapsed, cpuUs: cpu.user + cpu.system };
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.round(q * (sorted.length - 1)))] ?? NaN;
}

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      transport: { type: 'string', default: 'framed' },
      conns: { type: 'string', default: '1,8' },
      runs: { type: 'string', default: String(RUNS) },
      ms: { type: 'string', default: '800' },
      inflight: { type: 'string', default: '64' },
      calibrate: { type: 'boolean', default: false },
      'calibrate-us': { type: 'string', default: '2' },
    },
  });
  let port = Number(values.port);
  if (!values.port) {
    ({ port } = await startNodeServer('host-server.cjs', 'host-1', { count: 1, transport: values.transport }));
  }
  const out = await runClientBench({
    port,
    transport: values.transport,
    conns: values.conns.split(',').map(Number),
    runs: Number(values.runs),
    ms: Number(values.ms),
    inflight: Number(values.inflight),
    ...(values.calibrate ? { calibrateUs: Number(values['calibrate-us']) } : {}),
  });
  console.log(JSON.stringify(out));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main()
    .catch((err) => {
      console.error(`client bench failed: ${err.stack ?? err}`);
      process.exitCode = 1;
    })
    .finally(async () => {
      await stopAll();
      process.exit();
    });
}
