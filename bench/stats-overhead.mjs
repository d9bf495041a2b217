#!/usr/bin/env node
/**
 * What per-method statistics cost, two ways (needs `npx tsc -p .` first):
 *
 *   sockets (default)  two in-process ThriftServers (Catalog, framed binary), one with the real
 *                      counters, one whose counters are no-ops; a load generator in a child
 *                      process keeps a window of pipelined `ping` calls in flight on a few
 *                      connections. Per round: calls/s and this process's CPU µs per call.
 *   --micro            bench/micro.mjs (ServerConnections fed through in-memory streams, no
 *                      kernel): CPU ns per call with the counters on and off, fed in turns of
 *                      20 ms within one process. No sockets, no scheduler between the variants:
 *                      the way to look for a cost of ~100 ns.
 *
 * The two contenders alternate within each of `--rounds` rounds (order flipped every round); the
 * ratio on/off is taken per round and shown as median (min–max), judged against the target
 * (throughput on/off ≥ 0.97, or CPU per call on/off ≤ 1.03) on the whole interval
 * (bench/lib/stats.mjs). `--calibrate` compares counters off against counters off plus a busy
 * loop of `--calibrate-ns` ns (default 115, the cost docs/monitoring.md quotes) in each call's
 * counter, and reports whether the interval excludes 1 on the slower side and holds the ratio
 * that loop should give: whether this bench can see that cost.
 *
 *   node bench/stats-overhead.mjs [--rounds 5] [--seconds 2] [--connections 4] [--window 128]
 *                                 [--micro] [--calibrate] [--calibrate-ns 115]
 */
import { execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { finishRun, runLine, startRun } from './lib/run-info.mjs';
import { detects, fmtSpread, INTERVAL_NOTE, median, RUNS, spread, verdict } from './lib/stats.mjs';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '..');
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: String(RUNS) },
    seconds: { type: 'string', default: '2' },
    connections: { type: 'string', default: '4' },
    window: { type: 'string', default: '128' },
    micro: { type: 'boolean', default: false },
    calibrate: { type: 'boolean', default: false },
    'calibrate-ns': { type: 'string', default: '115' },
  },
});
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const SPIN_NS = values.calibrate ? Number(values['calibrate-ns']) : 0;
/** The two contenders: the figure of B over A is the ratio reported. */
const [A, B] = values.calibrate ? ['off', `off + ${SPIN_NS} ns`] : ['off', 'on'];

// --- internal ---

/**
 * Each round: one micro.mjs process that feeds both variants in turns of 20 ms (16 pipelined
 * calls per chunk, so that the event-loop turn is shared by 16 calls): CPU ns per call of each.
 */
async function microRounds() {
  const variants = { [A]: 'off', [B]: values.calibrate ? `spin:${SPIN_NS}` : 'on' };
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? [A, B] : [B, A];
    const out = execFileSync(
      process.execPath,
      [
        path.join(here, 'micro.mjs'),
        ...['--seconds', String(SECONDS), '--batch', '16'],
        ...['--variants', order.map((name) => variants[name]).join(',')],
      ],
      { encoding: 'utf8' },
    );
    const { nsPerCall } = JSON.parse(out.trim().split('\n').pop());
    const round = { rep: r, [A]: { nsPerCall: nsPerCall[variants[A]] }, [B]: { nsPerCall: nsPerCall[variants[B]] } };
    rounds.push(round);
    process.stderr.write(`round ${r + 1}/${ROUNDS}: ${A} ${round[A].nsPerCall} ns, ${B} ${round[B].nsPerCall} ns\n`);
  }
  return rounds;
}

/** Each round: the load generator against each server; calls/s and server CPU µs per call. */
async function socketRounds() {
  const { validateHostConfig } = require(path.join(ROOT, 'dist/src/config/config.js'));
  const { ThriftServer } = require(path.join(ROOT, 'dist/src/worker/thrift-worker.js'));
  const { spinner } = require('./lib/spin.cjs');
  const pino = require('pino');
  const config = validateHostConfig(
    { services: [{ service: 'Catalog', listen: '127.0.0.1:0', transport: 'framed', count: 1 }] },
    path.join(ROOT, 'rpc.config.json'),
  ).services[0];
  const log = pino({ level: 'silent' });
  const start = async (counting, spinNs) => {
    const server = new ThriftServer(config, log);
    if (!counting) {
      const spin = spinner(spinNs);
      const noop = spinNs ? { begin: () => (spin(), 0), end() {}, queued() {}, reject() {} } : { begin: () => 0, end() {}, queued() {}, reject() {} };
      for (const entry of server.table.methods.values()) entry.counter = noop;
    }
    const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
    return { server, port };
  };
  const servers = {
    [A]: await start(false, 0),
    [B]: values.calibrate ? await start(false, SPIN_NS) : await start(true, 0),
  };
  for (const s of Object.values(servers)) await load(s.port); // warm up both code paths
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? [A, B] : [B, A];
    const round = { rep: r };
    for (const name of order) {
      round[name] = await load(servers[name].port);
      // Let the server finish the calls still queued from the closed connections, and collect.
      await new Promise((res) => setTimeout(res, 500));
      globalThis.gc?.();
    }
    rounds.push(round);
    const f = (x) => `${Math.round(x.rps).toLocaleString('en-US')} calls/s, ${x.cpuUsPerCall.toFixed(2)} µs/call`;
    process.stderr.write(`round ${r + 1}/${ROUNDS}: ${A} ${f(round[A])}; ${B} ${f(round[B])}\n`);
  }
  for (const s of Object.values(servers)) s.server.destroy();
  return rounds;
}

// The load generator: one `ping` call encoded once (framed, strict binary), sent in batches.
// Prints "start" once every connection has had its warm-up, then the replies counted until "end".
const LOAD = `
const net = require('node:net');
const { port, connections, window, ms } = JSON.parse(process.argv[1]);
const name = Buffer.from('ping');
const body = Buffer.alloc(4 + 4 + name.length + 4 + 1);
let o = body.writeUInt32BE(0x80010001, 0);
o = body.writeInt32BE(name.length, o); o += name.copy(body, o); o = body.writeInt32BE(1, o); body[o] = 0;
const frame = Buffer.concat([Buffer.alloc(4), body]); frame.writeInt32BE(body.length, 0);
const batch = (n) => Buffer.concat(Array(n).fill(frame));
let replies = 0, stop = false;
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
}
setTimeout(() => {
  replies = 0;
  console.log('start');
  setTimeout(() => { stop = true; console.log(JSON.stringify({ replies })); process.exit(0); }, ms);
}, 300);
`;

/** One load window against `port`: calls/s, and this process's CPU per call over the window. */
function load(port) {
  const params = { port, connections: Number(values.connections), window: Number(values.window), ms: SECONDS * 1000 };
  const child = spawn(process.execPath, ['-e', LOAD, JSON.stringify(params)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let cpu0;
  let t0 = 0;
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      if (line === 'start') {
        cpu0 = process.cpuUsage();
        t0 = performance.now();
        return;
      }
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const { replies } = JSON.parse(line);
      resolve({ rps: replies / seconds, cpuUsPerCall: (cpu.user + cpu.system) / replies });
    });
    child.once('exit', (code) => reject(new Error(`load generator exited (${code}) without a result`)));
  });
}

/**
 * The ratio the calibration loop should give for `field`: it adds SPIN_NS to each call's CPU; a
 * CPU-bound server loses as much in calls/s.
 */
function calibrationExpected(field, rounds) {
  const base = (f) => median(rounds.map((r) => r[A][f]));
  if (field === 'nsPerCall') return (base(field) + SPIN_NS) / base(field);
  const cpu = base('cpuUsPerCall');
  const grown = (cpu + SPIN_NS / 1000) / cpu;
  return field === 'rps' ? 1 / grown : grown;
}

function report(rounds, info) {
  const figures = values.micro
    ? [{ field: 'nsPerCall', label: 'CPU ns per call (micro.mjs)', unit: 'ns', goal: 1.03, better: 'lower' }]
    : [
        { field: 'rps', label: 'calls/s', unit: 'calls/s', goal: 0.97, better: 'higher' },
        { field: 'cpuUsPerCall', label: 'server CPU µs per call', unit: 'µs', goal: 1.03, better: 'lower' },
      ];
  const out = { run: info, mode: values.micro ? 'micro' : 'sockets', rounds, contenders: [A, B], spinNs: SPIN_NS, figures: {} };
  console.log(`stats-overhead (${out.mode}): ${runLine(info)}; ${ROUNDS} interleaved rounds of ${SECONDS} s`);
  console.log(INTERVAL_NOTE);
  for (const f of figures) {
    const s = spread(rounds.map((r) => r[B][f.field] / r[A][f.field]));
    const m = (name) => median(rounds.map((r) => r[name][f.field]));
    const judged = values.calibrate
      ? detects(s, calibrationExpected(f.field, rounds)).mark
      : `${verdict(s, f.goal, f.better).mark} (target ${f.better === 'higher' ? '≥' : '≤'} ${f.goal})`;
    out.figures[f.field] = { [A]: m(A), [B]: m(B), ratio: s };
    const fmt = (x) => (f.unit === 'µs' ? x.toFixed(2) : Math.round(x).toLocaleString('en-US'));
    console.log(
      `${f.label}: ${A} ${fmt(m(A))} ${f.unit}, ${B} ${fmt(m(B))} ${f.unit} (medians); ` +
        `ratio ${B}/${A} ${fmtSpread(s, 3)}: ${judged}`,
    );
  }
  console.log(JSON.stringify(out));
}

const run = startRun();
const perRound = values.micro ? await microRounds() : await socketRounds();
report(perRound, finishRun(run));
process.exit(0);
