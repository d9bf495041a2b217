#!/usr/bin/env node
// What /metrics costs, thrifthost's hand-written exposition against prom-client's
// AggregatorRegistry, and what one counter increment costs in a worker.
//
// 1. Scrape cost. For each exposition and worker count (2 and 8), a primary process is started:
//    - thrifthost: the real master (startMaster) serving Catalog with the workers' own counters,
//      plus a handler that registers custom metrics (a counter with 10 label values, a histogram
//      with 5), on the real statistics listener;
//    - prom-client: a node:cluster primary whose workers hold the same series in prom-client
//      metrics (requests counter, duration histogram with the same 18 buckets, in-flight gauge
//      per method, per-worker process gauges, the same custom metrics), served by
//      AggregatorRegistry.clusterMetrics().
//    Then SCRAPES sequential GETs of /metrics; the primary's CPU (process.cpuUsage, asked over
//    stdin) and the workers' CPU (/proc/<pid>/stat, 10 ms ticks) are read before and after.
// 2. Call-path cost: ns per counter increment / histogram observation, in this process, for
//    thrifthost's registry and prom-client's, with a labels object per call and with the series
//    bound once (`labels(...)`). Best of 5 rounds of 2M operations.
//
// Needs `npx tsc -p .` first.   node bench/metrics-scrape.mjs [--scrapes 200] [--workers 2,8] [--json]
import { spawn } from 'node:child_process';
import cluster from 'node:cluster';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from './lib/free-port.mjs';

const require = createRequire(import.meta.url);
const SELF = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SELF), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const CUSTOM_KINDS = Array.from({ length: 10 }, (_, i) => `kind${i}`);
const LATENCY_BUCKETS_S = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

const role = process.env.METRICS_BENCH_ROLE;
if (role === 'thrifthost-primary') await thrifthostPrimary(Number(process.env.METRICS_BENCH_WORKERS));
else if (role === 'prom-primary' && cluster.isPrimary) await promPrimary(Number(process.env.METRICS_BENCH_WORKERS));
else if (role === 'prom-primary') promWorker();
else await main();

// --- the driver ---

async function main() {
  const scrapes = Number(arg('scrapes', 200));
  const counts = String(arg('workers', '2,8')).split(',').map(Number);
  const rows = [];
  for (const workers of counts) {
    for (const mode of ['thrifthost', 'prom-client']) {
      rows.push(await measureScrapes(mode, workers, scrapes));
    }
  }
  const calls = callPathCosts();
  const result = { machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model}`, node: process.version, scrapes, rows, calls };
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  console.log(`/metrics scrape cost, ${scrapes} sequential scrapes (${result.machine}, node ${result.node})`);
  console.log('exposition    workers  primary CPU ms/scrape  workers CPU ms/scrape  wall ms/scrape  bytes  samples');
  for (const r of rows) {
    console.log(
      `${r.mode.padEnd(13)} ${String(r.workers).padStart(7)}  ${r.primaryCpuMs.toFixed(3).padStart(21)}  ${r.workersCpuMs.toFixed(3).padStart(21)}  ${r.wallMs.toFixed(3).padStart(14)}  ${String(r.bytes).padStart(5)}  ${String(r.samples).padStart(7)}`,
    );
  }
  console.log('\ncall path, ns per operation (best of 5 rounds of 2M)');
  for (const [name, ns] of Object.entries(calls)) console.log(`${name.padEnd(52)} ${ns.toFixed(1).padStart(7)}`);
}

async function measureScrapes(mode, workers, scrapes) {
  const child = spawn(process.execPath, [SELF], {
    env: {
      ...process.env,
      METRICS_BENCH_ROLE: mode === 'thrifthost' ? 'thrifthost-primary' : 'prom-primary',
      METRICS_BENCH_WORKERS: String(workers),
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = readline.createInterface({ input: child.stdout });
  const replies = [];
  const waiters = [];
  lines.on('line', (line) => {
    const msg = JSON.parse(line);
    const w = waiters.shift();
    if (w) w(msg);
    else replies.push(msg);
  });
  const next = () => (replies.length ? Promise.resolve(replies.shift()) : new Promise((r) => waiters.push(r)));
  const ask = (what) => {
    child.stdin.write(`${what}\n`);
    return next();
  };
  try {
    const ready = await next();
    const url = `http://127.0.0.1:${ready.port}/metrics`;
    let body = '';
    for (let i = 0; i < 20; i++) body = await httpGet(url); // warm-up: JIT, lazily created series
    const cpu0 = await ask('cpu');
    const w0 = workersCpuMs(ready.workers);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < scrapes; i++) await httpGet(url);
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const cpu1 = await ask('cpu');
    const w1 = workersCpuMs(ready.workers);
    return {
      mode,
      workers,
      primaryCpuMs: (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / 1000 / scrapes,
      workersCpuMs: (w1 - w0) / scrapes,
      wallMs: wallMs / scrapes,
      bytes: Buffer.byteLength(body),
      samples: body.split('\n').filter((l) => l && !l.startsWith('#')).length,
    };
  } finally {
    child.stdin.write('stop\n');
    await new Promise((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, 15_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

function httpGet(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode} ${body.slice(0, 300)}`))));
      })
      .on('error', reject);
  });
}

/** utime + stime of `pids` from /proc, in ms (clock ticks of 10 ms). */
function workersCpuMs(pids) {
  let ticks = 0;
  for (const pid of pids) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks * 10;
}

/** Answers `cpu` with process.cpuUsage() and stops on `stop`. */
function serveControl(stop) {
  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', async (line) => {
    if (line === 'cpu') process.stdout.write(`${JSON.stringify(process.cpuUsage())}\n`);
    if (line === 'stop') {
      await stop();
      process.exit(0);
    }
  });
}

// --- thrifthost: the real master ---

async function thrifthostPrimary(workers) {
  const { validateHostConfig } = require(path.join(ROOT, 'dist/src/config/config.js'));
  const { startMaster } = require(path.join(ROOT, 'dist/src/master/master.js'));
  const pino = require('pino');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metrics-bench-'));
  const handler = path.join(dir, 'handler.js');
  fs.writeFileSync(
    handler,
    `const { metrics } = require(${JSON.stringify(path.join(ROOT, 'dist/src/monitoring/custom-metrics.js'))});
const jobs = metrics.counter({ name: 'bench_jobs_total', help: 'Jobs.', labelNames: ['kind'] });
const time = metrics.histogram({ name: 'bench_job_seconds', help: 'Job time.', labelNames: ['kind'] });
${JSON.stringify(CUSTOM_KINDS)}.forEach((kind, i) => { jobs.inc({ kind }, i + 1); if (i < 5) time.observe({ kind }, i / 100); });
module.exports = require(${JSON.stringify(path.join(ROOT, 'services/Catalog/handler.js'))});
`,
  );
  const statsPort = await freePort();
  const config = validateHostConfig(
    {
      pidFile: path.join(dir, 'rpc.pid'),
      logDir: dir,
      logLevel: 'warn',
      genDir: path.join(ROOT, 'gen'),
      stats: { listen: `127.0.0.1:${statsPort}` },
      services: [{ service: 'Catalog', listen: '127.0.0.1:0', count: workers, handler }],
    },
    path.join(dir, 'rpc.config.json'),
  );
  const master = await startMaster({ config, logger: pino({ level: 'warn' }, pino.destination(2)) });
  serveControl(async () => {
    await master.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  process.stdout.write(`${JSON.stringify({ port: statsPort, workers: master.supervisor.workerPids() })}\n`);
}

// --- prom-client: AggregatorRegistry over node:cluster ---

async function promPrimary(workers) {
  const { AggregatorRegistry } = require('prom-client');
  const registry = new AggregatorRegistry();
  const forked = [];
  for (let i = 0; i < workers; i++) forked.push(cluster.fork());
  await Promise.all(forked.map((w) => new Promise((resolve) => w.once('message', resolve))));
  const server = http.createServer(async (req, res) => {
    try {
      const body = await registry.clusterMetrics();
      res.writeHead(200, { 'Content-Type': registry.contentType });
      res.end(body);
    } catch (err) {
      res.writeHead(500);
      res.end(String(err));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  serveControl(async () => {
    server.close();
    for (const w of forked) w.kill();
  });
  process.stdout.write(
    `${JSON.stringify({ port: server.address().port, workers: forked.map((w) => w.process.pid) })}\n`,
  );
}

/** The series a thrifthost Catalog worker exposes, held in prom-client metrics. */
function promWorker() {
  const client = require('prom-client');
  // Constructing one is what makes a worker answer the primary's requests for its metrics.
  new client.AggregatorRegistry();
  const { monitorEventLoopDelay } = require('node:perf_hooks');
  const Catalog = require(path.join(ROOT, 'gen/Catalog/Catalog.js'));
  const methods = Object.getOwnPropertyNames(Catalog.Client.prototype)
    .filter((k) => k.startsWith('send_'))
    .map((k) => k.slice(5));
  const requests = new client.Counter({
    name: 'thrift_server_requests_total',
    help: 'Thrift calls answered by the workers, by result.',
    labelNames: ['service', 'method', 'result'],
  });
  const duration = new client.Histogram({
    name: 'thrift_server_request_duration_seconds',
    help: 'Time from a decoded call to its encoded reply, in the workers.',
    labelNames: ['service', 'method'],
    buckets: LATENCY_BUCKETS_S,
  });
  const inFlight = new client.Gauge({
    name: 'thrift_server_requests_in_flight',
    help: 'Calls being handled right now.',
    labelNames: ['service', 'method'],
  });
  for (const method of methods) {
    requests.inc({ service: 'Catalog', method, result: 'success' }, 0);
    duration.zero({ service: 'Catalog', method });
    inFlight.set({ service: 'Catalog', method }, 0);
  }
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const perWorker = (name, help, read) =>
    new client.Gauge({
      name,
      help,
      labelNames: ['service', 'pid'],
      // The default 'sum' keeps one series per pid label: one per worker, as thrifthost shows.
      collect() {
        this.set({ service: 'Catalog', pid: String(process.pid) }, read());
      },
    });
  perWorker('thrift_server_worker_resident_memory_bytes', 'RSS.', () => process.memoryUsage.rss());
  perWorker('thrift_server_worker_event_loop_delay_p99_seconds', 'Event-loop p99.', () => delay.percentile(99) / 1e9);
  perWorker('thrift_server_worker_heap_used_bytes', 'Heap used.', () => process.memoryUsage().heapUsed);
  perWorker('thrift_server_worker_gc_pause_seconds_total', 'GC pauses.', () => 0);
  const jobs = new client.Counter({ name: 'bench_jobs_total', help: 'Jobs.', labelNames: ['service', 'kind'] });
  const time = new client.Histogram({
    name: 'bench_job_seconds',
    help: 'Job time.',
    labelNames: ['service', 'kind'],
  });
  CUSTOM_KINDS.forEach((kind, i) => {
    jobs.inc({ service: 'Catalog', kind }, i + 1);
    if (i < 5) time.observe({ service: 'Catalog', kind }, i / 100);
  });
  process.send({ ready: true });
}

// --- call path ---

function callPathCosts() {
  const { MetricsRegistry } = require(path.join(ROOT, 'dist/src/monitoring/custom-metrics.js'));
  const prom = require('prom-client');
  const ours = new MetricsRegistry();
  const theirs = new prom.Registry();
  const c1 = ours.counter({ name: 'c_total', help: 'c', labelNames: ['kind'] });
  const c0 = ours.counter({ name: 'c0_total', help: 'c' });
  const h1 = ours.histogram({ name: 'h_seconds', help: 'h', labelNames: ['kind'] });
  const p1 = new prom.Counter({ name: 'c_total', help: 'c', labelNames: ['kind'], registers: [theirs] });
  const p0 = new prom.Counter({ name: 'c0_total', help: 'c', registers: [theirs] });
  const ph = new prom.Histogram({ name: 'h_seconds', help: 'h', labelNames: ['kind'], registers: [theirs] });
  const c1b = c1.labels({ kind: 'a' });
  const h1b = h1.labels({ kind: 'a' });
  const p1b = p1.labels({ kind: 'a' });
  const phb = ph.labels({ kind: 'a' });
  const N = 2_000_000;
  const cases = {
    'thrifthost counter.inc()  (no labels)': () => {
      for (let i = 0; i < N; i++) c0.inc();
    },
    'prom-client counter.inc()  (no labels)': () => {
      for (let i = 0; i < N; i++) p0.inc();
    },
    'thrifthost counter.inc({ kind })': () => {
      for (let i = 0; i < N; i++) c1.inc({ kind: 'a' });
    },
    'prom-client counter.inc({ kind })': () => {
      for (let i = 0; i < N; i++) p1.inc({ kind: 'a' });
    },
    'thrifthost counter.labels({ kind }) bound, .inc()': () => {
      for (let i = 0; i < N; i++) c1b.inc();
    },
    'prom-client counter.labels({ kind }) bound, .inc()': () => {
      for (let i = 0; i < N; i++) p1b.inc();
    },
    'thrifthost histogram.observe({ kind }, v)': () => {
      for (let i = 0; i < N; i++) h1.observe({ kind: 'a' }, (i & 1023) / 1e4);
    },
    'prom-client histogram.observe({ kind }, v)': () => {
      for (let i = 0; i < N; i++) ph.observe({ kind: 'a' }, (i & 1023) / 1e4);
    },
    'thrifthost histogram bound .observe(v)': () => {
      for (let i = 0; i < N; i++) h1b.observe((i & 1023) / 1e4);
    },
    'prom-client histogram bound .observe(v)': () => {
      for (let i = 0; i < N; i++) phb.observe((i & 1023) / 1e4);
    },
  };
  const best = {};
  for (let round = 0; round < 5; round++) {
    for (const [name, run] of Object.entries(cases)) {
      const t0 = process.hrtime.bigint();
      run();
      const ns = Number(process.hrtime.bigint() - t0) / N;
      best[name] = Math.min(best[name] ?? Number.POSITIVE_INFINITY, ns);
    }
  }
  return best;
}
