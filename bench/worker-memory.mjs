/**
 * A worker's memory under small-call load, per Node version and per worker setting: `rpc start`
 * with one worker (bench/servers/host-server.cjs) for each variant in turn, the C++ load generator
 * at --conns connections, and at the end of its window the worker's RSS (as the bench samples it,
 * from /proc), the master's, CPU per request, and the worker's own breakdown (process.memoryUsage()
 * and V8's heap spaces, from lib/memory-probe.cjs). Variants run interleaved, round after round.
 *
 *   node bench/worker-memory.mjs [--rounds 4] [--conns 64] [--duration 3] [--node 22,24]
 *                                [--variants before,after] [--out FILE]
 *   before: semiSpaceMiB 0 and maglev true (V8's own settings); after: the defaults.
 * Needs bench/out/loadgen (built by bench/run.mjs, or bench/lib/build.mjs buildCpp). Writes one
 * JSON row per cell to --out (default bench/out/worker-memory.json) and prints per-round lines.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from './lib/free-port.mjs';
import { nodeBinaries } from './lib/node-versions.mjs';
import { cpuDelta, cpuSeconds, processTree, rssBytes, runTool, startServer, stopAll } from './lib/processes.mjs';
import { serverCommand } from './servers/server-args.cjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '4' },
    conns: { type: 'string', default: '64' },
    duration: { type: 'string', default: '3' },
    node: { type: 'string', default: '22,24' },
    variants: { type: 'string', default: 'before,after' },
    out: { type: 'string', default: path.join(here, 'out/worker-memory.json') },
  },
});
/** The service settings of each variant (merged into the service's config). */
const VARIANTS = { before: { semiSpaceMiB: 0, maglev: true }, after: {} };
const MiB = 2 ** 20;
const loadgen = path.join(here, 'out/loadgen');
if (!fs.existsSync(loadgen)) throw new Error(`${loadgen} is missing: run bench/run.mjs once, or buildCpp of bench/lib/build.mjs`);
const { nodes, skipped } = nodeBinaries(values.node.split(','));
for (const s of skipped) console.log(s);

const rows = [];
try {
  for (let round = 1; round <= Number(values.rounds); round++) {
    const line = [];
    for (const node of nodes) {
      for (const variant of values.variants.split(',')) {
        const row = { round, node: node.version, variant, ...(await cell(node.bin, VARIANTS[variant])) };
        rows.push(row);
        line.push(`${node.major}/${variant} ${row.workerRssMiB} MiB ${row.cpuUsPerReq} µs/req`);
      }
    }
    console.log(`round ${round}: ${line.join(' | ')}`);
  }
} finally {
  await stopAll();
}
fs.mkdirSync(path.dirname(values.out), { recursive: true });
fs.writeFileSync(values.out, `${JSON.stringify(rows, null, 1)}\n`);

/** One cell: a fresh host with `settings`, loaded for the window; its figures at the window's end. */
async function cell(bin, settings) {
  const port = await freePort();
  const probeDir = fs.mkdtempSync(path.join(here, 'out/memory-probe-'));
  const [cmd, ...args] = serverCommand('host-server.cjs', { node: bin, port, count: 1, extra: settings });
  const server = await startServer('host-1', cmd, args, {
    env: {
      ...process.env,
      MEMORY_PROBE_DIR: probeDir,
      THRIFTHOST_BENCH_WORKER_FLAGS: `--require=${path.join(here, 'lib/memory-probe.cjs')}`,
    },
  });
  let pids = [];
  let cpu0;
  let t0 = 0;
  let window;
  let result;
  try {
    const lgArgs = ['--port', String(port), '--conns', values.conns, '--transport', 'framed', '--warmup', '1', '--duration', values.duration];
    await runTool(loadgen, lgArgs, {
      onLine: (text) => {
        const msg = JSON.parse(text);
        if (msg.event === 'measure-start') {
          pids = processTree(server.pid);
          cpu0 = cpuSeconds(pids);
          t0 = performance.now();
        } else if (msg.event === 'measure-end') {
          const cpu = cpuDelta(cpu0, cpuSeconds(pids)).total;
          const byPid = rssBytes(pids);
          window = { cpu, seconds: (performance.now() - t0) / 1000, master: byPid.get(pids[0]) ?? 0, worker: Math.max(0, ...pids.slice(1).map((p) => byPid.get(p) ?? 0)) };
        } else if (msg.rps !== undefined) result = msg;
      },
    });
  } finally {
    await server.stop();
  }
  if (!window || !result) throw new Error(`load generator failed on port ${port}\n${server.stderr()}`);
  const probes = fs.readdirSync(probeDir).map((f) => JSON.parse(fs.readFileSync(path.join(probeDir, f), 'utf8')));
  fs.rmSync(probeDir, { recursive: true, force: true });
  const mib = (n) => Math.round((n / MiB) * 10) / 10;
  const probe = probes[0];
  return {
    rps: Math.round(result.rps),
    cpuUsPerReq: Math.round((window.cpu / (result.rps * window.seconds)) * 1e7) / 10,
    workerRssMiB: mib(window.worker),
    masterRssMiB: mib(window.master),
    ...(probe && {
      heapTotalMiB: mib(probe.memory.heapTotal),
      externalMiB: mib(probe.memory.external),
      arrayBuffersMiB: mib(probe.memory.arrayBuffers),
      spacesMiB: Object.fromEntries(Object.entries(probe.spaces).filter(([, v]) => v > 0).map(([k, v]) => [k, mib(v)])),
    }),
  };
}
