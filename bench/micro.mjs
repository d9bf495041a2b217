/**
 * Microbenchmark of the host's per-call JavaScript: one ServerConnection fed HelloWorld.sayHello
 * calls through an in-memory Duplex (no kernel, no event loop wake-ups), so that a change in
 * connection.ts, the read/write buffers or the handler wrapper shows up as ns per call without
 * the noise of a shared machine. Each call arrives in its own macrotask, as from a socket.
 *
 *   node bench/micro.mjs [--dist dist] [--transport framed|buffered|header] [--protocol binary|compact|json]
 *                        [--batch 1] [--seconds 2] [--split 1]
 *   --transport header   THeader frames carrying --headers (default what ThriftClient sends
 *                        with the least-loaded balancer: client_timeout=250,load=)
 *   --batch N   calls per incoming chunk (pipelining clients)
 *   --split N   each chunk delivered in N pieces (partial frames)
 *   --arg-bytes N   the string argument's size (default: "world"); with --chunk-bytes, the
 *                   pieces are that big, as a socket delivers a large message
 *   --interceptors N   N no-op server interceptors around every call; --context: callContext on
 *   --stats off    per-method counters replaced by no-ops
 *   --spin-ns N    with --stats off: the no-op counter burns N ns per call (its calibration)
 *   --variants on,off,spin:115   one connection per variant of the counters (real, no-op, no-op
 *                  burning 115 ns), fed in turns of --slice-ms (default 20) for --seconds: the
 *                  variants share every moment of a busy machine, so their ratio is steadier
 *                  than two separate runs' (bench/stats-overhead.mjs --micro). Prints nsPerCall
 *                  per variant.
 *   --calls N      a fixed count instead of times: 20,000 warm-up calls and empty turns, then N
 *                  measured calls. Two runs with different N under an instruction counter differ
 *                  only by the calls: (insn(3N) - insn(N)) / 2N is instructions per call, which a
 *                  busy machine does not move (valgrind --tool=cachegrind --cache-sim=no); V8's
 *                  tiering still moves it by about 10 % between runs of one build.
 * Compare two builds with --dist bench/out/dist-base and --dist dist, run alternately.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const { values } = parseArgs({
  options: {
    dist: { type: 'string', default: path.join(root, 'dist') },
    transport: { type: 'string', default: 'framed' },
    headers: { type: 'string', default: 'client_timeout=250,load=' },
    protocol: { type: 'string', default: 'binary' },
    batch: { type: 'string', default: '1' },
    split: { type: 'string', default: '1' },
    'arg-bytes': { type: 'string' },
    'chunk-bytes': { type: 'string' },
    seconds: { type: 'string', default: '2' },
    interceptors: { type: 'string', default: '0' },
    context: { type: 'boolean', default: false },
    stats: { type: 'string', default: 'on' },
    'spin-ns': { type: 'string', default: '0' },
    variants: { type: 'string' },
    'slice-ms': { type: 'string', default: '20' },
    calls: { type: 'string' },
  },
});
const dist = path.resolve(values.dist);
const require = createRequire(path.join(dist, 'src/worker/server-connection.js'));
const thrift = require('thrift');
const { validateHostConfig } = require(path.join(dist, 'src/config/config.js'));
const { loadServiceTable } = require(path.join(dist, 'src/worker/service-loader.js'));
const { StatsRegistry } = require(path.join(dist, 'src/monitoring/stats.js'));
const { ServerConnection } = require(path.join(dist, 'src/worker/server-connection.js'));
const { protocolClass } = require(path.join(dist, 'src/codec/protocols.js'));
// Builds since admission control pass the worker's CallScheduler to every connection.
const schedulerModule = path.join(dist, 'src/worker/call-scheduler.js');
const { CallScheduler } = fs.existsSync(schedulerModule) ? require(schedulerModule) : {};
const { WriteBuffer } = require(path.join(dist, 'src/codec/write-buffer.js'));

const header = values.transport === 'header';
const framed = values.transport === 'framed' || header;
const { buildTHeaderPrefix } = header ? require(path.join(dist, 'src/codec/theader.js')) : {};
const requestHeaders = new Map(
  header ? values.headers.split(',').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]) : [],
);
const config = validateHostConfig(
  {
    services: [
      {
        name: 'HelloWorld',
        listen: '127.0.0.1:0',
        count: 1,
        protocol: values.protocol,
        transport: values.transport,
        interceptors: Array.from({ length: Number(values.interceptors) }, () =>
          path.join(here, 'fixtures/noop-interceptor.cjs'),
        ),
        callContext: values.context,
      },
    ],
  },
  path.join(root, 'rpc.config.json'),
).services[0];
const { spinner } = createRequire(import.meta.url)('./lib/spin.cjs');
/** A service table whose counters are real (`on`), no-ops (`off`), or no-ops burning N ns (`spin:N`). */
function tableFor(variant) {
  const t = loadServiceTable(config, new StatsRegistry());
  if (variant === 'on') return t;
  const spin = spinner(variant.startsWith('spin:') ? Number(variant.slice(5)) : 0);
  const noop = { begin: () => (spin(), 0), end() {}, reject() {}, queued() {} };
  for (const entry of t.methods.values()) entry.counter = noop;
  return t;
}
const table = tableFor(values.stats === 'off' ? `spin:${values['spin-ns']}` : 'on');
const Protocol = protocolClass(config.protocol);
const log = { warn() {}, info() {}, debug() {}, error: console.error };

// The request bytes, encoded by the Apache protocol class itself.
const calls = [];
for (let i = 0; i < Number(values.batch); i++) {
  const w = new WriteBuffer(framed && !header, (m) =>
    calls.push(header ? Buffer.concat([buildTHeaderPrefix(config.protocol, i + 1, requestHeaders, m.length), m]) : Buffer.from(m)),
  );
  const p = new Protocol(w);
  p.writeMessageBegin('sayHello', thrift.Thrift.MessageType.CALL, i + 1);
  const name = values['arg-bytes'] ? 'w'.repeat(Number(values['arg-bytes'])) : 'world';
  new (table.methods.get('sayHello').info.Args)({ name }).write(p);
  p.writeMessageEnd();
  p.flush();
}
const chunk = Buffer.concat(calls);
const pieces = [];
const split = values['chunk-bytes']
  ? Math.ceil(chunk.length / Number(values['chunk-bytes']))
  : Number(values.split);
for (let i = 0; i < split; i++) {
  pieces.push(
    chunk.subarray(Math.floor((i * chunk.length) / split), Math.floor(((i + 1) * chunk.length) / split)),
  );
}

let replyBytes = 0;
const options = {
  framed,
  header,
  protocol: config.protocol,
  limits: config.limits,
  i64: config.i64,
  idleTimeoutMs: 0,
};
/** A ServerConnection over an in-memory socket that counts the reply bytes. */
function connect(t) {
  const socket = new Duplex({
    read() {},
    write(data, _enc, cb) {
      replyBytes += data.length;
      cb();
    },
    writev(list, cb) {
      for (const { chunk } of list) replyBytes += chunk.length;
      cb();
    },
  });
  Object.assign(socket, { setNoDelay() {}, setTimeout() {}, remoteAddress: '127.0.0.1', remotePort: 1 });
  const conn = CallScheduler
    ? new ServerConnection(socket, t, new StatsRegistry(), scheduler(), options, log, () => {})
    : new ServerConnection(socket, t, new StatsRegistry(), options, log, () => {});
  return { socket, conn };
}

/** The worker's admission control, with the config's settings, its loop-delay sampler running. */
function scheduler() {
  const s = new CallScheduler(
    {
      maxQueueMs: config.maxQueueMs,
      maxConcurrentCalls: config.maxConcurrentCalls,
      maxEventLoopDelayMs: config.maxEventLoopDelayMs,
    },
    log,
  );
  s.start();
  return s;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
/** Feeds calls to `socket` for `ms`; returns the count and this process's CPU time (less noisy than wall time). */
async function run(ms, socket, calls = Infinity) {
  let n = 0;
  const end = performance.now() + ms;
  const cpu0 = process.cpuUsage();
  while (n < calls && (calls !== Infinity || performance.now() < end)) {
    for (let i = 0; i < 64; i++) {
      if (socket) for (const p of pieces) socket.emit('data', p);
      n++;
      await tick();
    }
  }
  const cpu = process.cpuUsage(cpu0);
  return { n, ns: (cpu.user + cpu.system) * 1000 };
}

const describe = {
  dist: path.relative(root, dist) || '.',
  transport: values.transport,
  ...(header ? { headers: values.headers } : {}),
  protocol: values.protocol,
  batch: Number(values.batch),
  split,
  interceptors: Number(values.interceptors),
  context: values.context,
};
if (values.variants) {
  const variants = values.variants.split(',').map((v) => ({ name: v, ...connect(tableFor(v)), n: 0, ns: 0 }));
  const empty = { n: 0, ns: 0 };
  for (const v of variants) await run(300, v.socket); // warm up the JIT
  if (replyBytes === 0) throw new Error('no replies: the connection did not answer');
  const slice = Number(values['slice-ms']);
  const end = performance.now() + Number(values.seconds) * 1000;
  for (let turn = 0; performance.now() < end; turn++) {
    // Rotate the order so that no variant always follows the same one.
    const order = [...variants.slice(turn % variants.length), ...variants.slice(0, turn % variants.length)];
    for (const v of [...order, empty]) {
      const r = await run(slice, v.socket);
      v.n += r.n;
      v.ns += r.ns;
    }
  }
  const nsPerCall = Object.fromEntries(
    variants.map((v) => [v.name, Math.round((v.ns / v.n - empty.ns / empty.n) / Number(values.batch))]),
  );
  console.log(JSON.stringify({ ...describe, variants: values.variants, nsPerCall }));
  process.exit(0);
}

const { socket, conn } = connect(table);
// --calls N: fixed counts instead of times (20,000 warm-up and empty turns, N measured calls), so
// that two runs under an instruction counter (valgrind) differ only by the calls they make.
const fixedCalls = values.calls === undefined ? Infinity : Number(values.calls);
const fixed = fixedCalls === Infinity ? Infinity : 20_000;
await run(500, socket, fixed); // warm up the JIT
if (replyBytes === 0) throw new Error('no replies: the connection did not answer');
const empty = await run(500, undefined, fixed);
const full = await run(Number(values.seconds) * 1000, socket, fixedCalls);
const perChunk = full.ns / full.n - empty.ns / empty.n;
console.log(
  JSON.stringify({
    ...describe,
    stats: values.stats,
    spinNs: Number(values['spin-ns']),
    nsPerCall: Math.round(perChunk / Number(values.batch)),
    requests: conn.requests,
  }),
);
process.exit(0);
