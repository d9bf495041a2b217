/**
 * `npm run bench`: starts each contender on 127.0.0.1, drives it with the same closed-loop load
 * generator, and prints req/s, latency, server CPU and RSS, ratios against the Apache Node
 * server, and the issue-5 targets. Writes bench/out/results.json and bench/out/RESULTS.md; a
 * full, unfiltered run also updates the committed bench/RESULTS.md and bench/results.json.
 *
 * Every cell runs 5 times, interleaved (the order rotates per round); ratios are taken per round
 * and reported as median (min–max), and a target counts as met only when the whole interval
 * clears it (bench/lib/stats.mjs). Every Node contender runs under Node 22 and Node 24
 * (`host-2@22`, `host-2@24`; lib/node-versions.mjs), in the same rounds. thrifthost is the real
 * `rpc start` (bench/servers/host-server.cjs), its master counted.
 *
 * Options:
 *   --pin                 generator on core 0, server on core 1 (taskset), single-process
 *                         contenders only: host-1, apache-1, cpp-nb-1 (lib/pinning.mjs); req/s
 *                         ratios then measure the servers. Writes results-pinned.json and
 *                         RESULTS-pinned.md; default suites small,payload
 *   --node 22,24          the Node majors of the Node contenders (default both)
 *   --quick               framed only, 0.5 s warm-up + 1.5 s per cell, small + payload (~6 min)
 *   --repeat N            interleaved runs per cell (default 5)
 *   --warmup S --duration S   per cell (default 1 + 3)
 *   --calibrate           run thrifthost ×2 against itself with a busy loop of --calibrate-us
 *                         µs of CPU per call in the handler (bench/servers/spin-handler.cjs), and
 *                         report whether each suite detects it (interval excludes 1); default
 *                         suites small (host-2 only, 8 conns unless --conns), client
 *   --calibrate-us N      the injected delay (default 2)
 *   --conns 1,8,64        --transports framed,buffered
 *   --only host-2,apache-2   contenders to run (ids below, all Node versions of each, or one:
 *                         host-2@22; cpp-threaded, cpp-nb-1 and host-2-intercepted run only
 *                         when named)
 *   --loadgen cpp|node    force a generator (default: the C++ one when it builds)
 *   --no-client           skip the ThriftClient vs raw thrift comparison
 *   --no-build            use dist/ and bench/out/ as they are
 *   --report FILE         run nothing: re-render the report of a saved results.json
 *   --suites small,payload,scaling,balancer   which suites run (default: all four; --quick:
 *                         small,payload,balancer) payload: bench/payload.mjs; scaling:
 *                         bench/decode-scaling.mjs; balancer: bench/balancer-choice.mjs (the
 *                         client's least-loaded choice against a random pick, CPU per call);
 *                         overload (only when named, ~14 min): bench/overload.mjs
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runBalancer } from './balancer-choice.mjs';
import { runScaling } from './decode-scaling.mjs';
import { apacheGen, buildCpp, buildHost } from './lib/build.mjs';
import { DEFAULT_NODES, nodeBinaries, perNode, selected } from './lib/node-versions.mjs';
import { canPin, LOADGEN_CPU, onCore, pinSelf, SERVER_CPU } from './lib/pinning.mjs';
import { measureCell } from './lib/measure.mjs';
import { freePort } from './lib/free-port.mjs';
import { loadgenArgs, runTool, startServer, stopAll } from './lib/processes.mjs';
import { runOverload } from './overload.mjs';
import { runPayload } from './payload.mjs';
import { finishRun, startRun } from './lib/run-info.mjs';
import { RUNS } from './lib/stats.mjs';
import { SUITE_OPTIONS } from './lib/suite-options.mjs';
import { serverCommand } from './servers/server-args.cjs';
import {
  aggregate,
  calibrationList,
  checkTargets,
  clientTable,
  generatorTable,
  renderMarkdown,
  resultsTable,
  targetList,
} from './lib/report.mjs';
const { spinEnv } = createRequire(import.meta.url)('./lib/spin.cjs');

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const outDir = path.join(here, 'out');

const { values: opts } = parseArgs({
  options: {
    ...SUITE_OPTIONS,
    conns: { type: 'string' },
    transports: { type: 'string' },
    loadgen: { type: 'string' },
    'no-client': { type: 'boolean', default: false },
    report: { type: 'string' },
    suites: { type: 'string' },
  },
});
const quick = opts.quick;
const calibrate = opts.calibrate;
const pin = opts.pin;
/** Suffix of the files a pinned run writes: its figures are not comparable with the others. */
const tag = pin ? '-pinned' : '';
const spinNs = calibrate ? Number(opts['calibrate-us']) * 1000 : 0;
const repeat = Number(opts.repeat ?? RUNS);
const warmup = Number(opts.warmup ?? (quick ? 0.5 : 1));
const duration = Number(opts.duration ?? (quick ? 1.5 : 3));
const connsList = (opts.conns ?? (calibrate ? '8' : '1,8,64')).split(',').map(Number);
const transports = (opts.transports ?? (quick || calibrate ? 'framed' : 'framed,buffered')).split(',');
const suites = (
  opts.suites ??
  (calibrate ? 'small' : pin ? 'small,payload' : quick ? 'small,payload,balancer' : 'small,payload,scaling,balancer')
).split(',');
const filtered = Boolean(
  opts.only || opts.conns || opts.transports || opts.loadgen || opts['no-client'] || opts.suites || opts.node || calibrate,
);

const node = process.execPath;
const { nodes, skipped: nodeSkips } = nodeBinaries((opts.node ?? DEFAULT_NODES).split(','));
const spinHandler = path.join(here, 'servers/spin-handler.cjs');
const host = (options) => serverCommand('host-server.cjs', options);
// The Apache contenders run Apache's generated code (gen/ holds rpc gen's), when the compiler is there.
const apacheGenDir = apacheGen(root, path.join(root, 'idl/HelloWorld.thrift'));
const apache = (options) => serverCommand('apache-server.cjs', { ...options, ...(apacheGenDir ? { genDir: apacheGenDir } : {}) });

/**
 * Every server the bench knows. `baseline`: the Apache server with the same process count.
 * `node`: runs once per Node version (lib/node-versions.mjs; `cmd` gets the version's binary).
 * `optIn`: only when named in --only. `pinned`: 'default' runs with --pin, 'allowed' runs with
 * --pin when named; the others never run pinned (more than one process or I/O thread).
 */
const CONTENDERS = [
  {
    id: 'host-1',
    label: 'thrifthost ×1',
    baseline: 'apache-1',
    node: true,
    pinned: 'default',
    cmd: (t, p, n) => host({ node: n.bin, count: 1, transport: t, port: p }),
  },
  {
    id: 'host-2',
    label: 'thrifthost ×2',
    baseline: 'apache-2',
    node: true,
    cmd: (t, p, n) => host({ node: n.bin, count: 2, transport: t, port: p }),
  },
  {
    // With --calibrate --pin: host-1 with a known CPU cost per call, to check the bench sees it.
    id: 'host-1-spin',
    label: 'thrifthost ×1 + calibration delay',
    baseline: 'host-1',
    node: true,
    optIn: true,
    pinned: 'allowed',
    env: () => spinEnv(spinNs),
    cmd: (t, p, n) => host({ node: n.bin, count: 1, transport: t, port: p, handler: spinHandler }),
  },
  {
    // With --calibrate: host-2 with a known CPU cost per call, to check the bench sees it.
    id: 'host-2-spin',
    label: 'thrifthost ×2 + calibration delay',
    baseline: 'host-2',
    node: true,
    optIn: true,
    env: () => spinEnv(spinNs),
    cmd: (t, p, n) => host({ node: n.bin, count: 2, transport: t, port: p, handler: spinHandler }),
  },
  {
    // Only with --only: what one no-op server interceptor costs, against host-2 (issue 11).
    id: 'host-2-intercepted',
    label: 'thrifthost ×2, one no-op interceptor',
    baseline: 'host-2',
    node: true,
    optIn: true,
    cmd: (t, p, n) =>
      host({ node: n.bin, count: 2, transport: t, port: p, extra: { interceptors: [path.join(here, 'fixtures/noop-interceptor.cjs')] } }),
  },
  {
    id: 'apache-1',
    label: 'Apache Node ×1',
    node: true,
    pinned: 'default',
    cmd: (t, p, n) => apache({ node: n.bin, count: 1, transport: t, port: p }),
  },
  {
    id: 'apache-2',
    label: 'Apache Node cluster ×2',
    node: true,
    cmd: (t, p, n) => apache({ node: n.bin, count: 2, transport: t, port: p }),
  },
  {
    id: 'cpp-nb',
    label: 'C++ TNonblockingServer (2 IO threads)',
    cpp: true,
    transports: ['framed'],
    cmd: (t, p) => [cppServer(), '--kind', 'nonblocking', '--io-threads', '2', '--transport', t, '--port', p],
  },
  {
    // The single-process C++ reference of --pin (unpinned only when named).
    id: 'cpp-nb-1',
    label: 'C++ TNonblockingServer (1 IO thread)',
    cpp: true,
    optIn: true,
    pinned: 'default',
    transports: ['framed'],
    cmd: (t, p) => [cppServer(), '--kind', 'nonblocking', '--io-threads', '1', '--transport', t, '--port', p],
  },
  {
    id: 'cpp-threaded',
    label: 'C++ TThreadedServer',
    cpp: true,
    transports: ['buffered'],
    // Only with --only: /proc reported its CPU frozen for whole windows on the bench machine.
    optIn: true,
    cmd: (t, p) => [cppServer(), '--kind', 'threaded', '--transport', t, '--port', p],
  },
];

/** CONTENDERS with one entry per Node version for the Node servers (`host-2@22`, `host-2@24`). */
const ALL = CONTENDERS.flatMap((c) => (c.node ? perNode(c, nodes) : [c]));

let cpp = {};
const notes = [];

/** The small-call suite: HelloWorld.sayHello against every contender. */
async function smallSuite() {
  const run = startRun();
  if (!opts['no-build'] && !buildHost(root))
    throw new Error('dist/ could not be built: run `npx tsc -p .` and look at the errors');
  cpp = opts['no-build'] ? existingCpp() : buildCpp(root);
  if (cpp.skipped) {
    console.log(cpp.skipped);
    notes.push(cpp.skipped);
  }
  const generator = opts.loadgen ?? (cpp.loadgen ? 'cpp' : 'node');
  if (generator === 'cpp' && !cpp.loadgen)
    throw new Error('--loadgen cpp: the C++ load generator is not built (see above)');
  if (generator === 'node' && !opts.loadgen)
    notes.push('C++ load generator unavailable: using bench/node-loadgen.mjs');
  for (const skip of nodeSkips) {
    console.log(skip);
    notes.push(skip);
  }
  if (pin) {
    const can = canPin();
    if (!can.ok) throw new Error(can.reason);
    pinSelf();
  }
  const only = opts.only?.split(',') ?? (calibrate ? (pin ? ['host-1', 'host-1-spin'] : ['host-2', 'host-2-spin']) : undefined);
  const contenders = ALL.filter((c) => {
    if (c.cpp && !cpp.server) return false;
    if (pin && !c.pinned) return false;
    if (only) return selected(c, only);
    return pin ? c.pinned === 'default' : !c.optIn;
  });
  if (contenders.length === 0) throw new Error(`no contender to run (--only ${opts.only ?? ''}${pin ? ', --pin' : ''})`);

  const rows = [];
  const calibration = [];
  const clients = [];
  const cells = transports.length * connsList.length * repeat * contenders.length;
  console.log(
    `bench: ${contenders.map((c) => c.id).join(', ')} × ${transports.join('/')} × conns ${connsList.join('/')} × ${repeat} run(s), ` +
      `${warmup}+${duration} s each (~${Math.ceil((cells * (warmup + duration + 0.4)) / 60)} min), generator: ${generator}; load ${run.loadStart.toFixed(2)}`,
  );
  for (const transport of transports) {
    const running = new Map();
    for (const c of contenders.filter((c) => !c.transports || c.transports.includes(transport))) {
      const port = await freePort();
      const command = c.cmd(transport, String(port), c.node);
      const [cmd, ...args] = pin ? onCore(SERVER_CPU, command) : command;
      running.set(c.id, {
        contender: c,
        port,
        server: await startServer(`${c.id} (${transport})`, cmd, args, { env: c.env?.() }),
      });
    }
    const ids = [...running.keys()];
    for (let rep = 0; rep < repeat; rep++) {
      for (const [ci, conns] of connsList.entries()) {
        // Rotate the order so that no contender always runs first (JIT warm-up) or last.
        const shift = (rep + ci) % ids.length;
        for (const id of [...ids.slice(shift), ...ids.slice(0, shift)]) {
          const { port, server } = running.get(id);
          const row = await measure({ generator, port, server, conns, transport });
          rows.push({ contender: id, transport, conns, rep, ...row });
          console.log(
            `  ${transport.padEnd(8)} ${String(conns).padStart(2)} conns  ${id.padEnd(12)} ${String(Math.round(row.rps)).padStart(7)} req/s  ` +
              `p99 ${Math.round(row.p99Us)} µs  server CPU ${row.serverCpuPct.toFixed(0)}%  RSS ${row.rssMiB.toFixed(0)} MiB  ` +
              `loadgen CPU ${row.loadgenCpuPct.toFixed(0)}%${row.errors ? `  ERRORS ${row.errors}` : ''}`,
          );
        }
      }
    }
    const generatorServer = [...running.keys()].find((id) => id.startsWith(pin ? 'host-1@' : 'host-2@'));
    if (transport === 'framed' && generatorServer && cpp.loadgen && !quick && !opts.loadgen && !calibrate) {
      // What each generator costs per request, against the same server.
      const { port, server } = running.get(generatorServer);
      for (const g of ['cpp', 'node']) {
        const row = await measure({ generator: g, port, server, conns: 8, transport });
        calibration.push({
          generator: g === 'cpp' ? 'C++ libthrift, thread per connection' : 'Node, pre-encoded calls',
          rps: row.rps,
          cpuPct: row.loadgenCpuPct,
        });
      }
    }
    for (const n of transport === transports[0] && !opts['no-client'] ? nodes : []) {
      // ThriftClient and raw thrift under each Node, against thrifthost under the same Node.
      const clientServer = running.get(`host-1@${n.major}`) ?? running.get(`host-2@${n.major}`);
      if (clientServer) clients.push({ node: n.major, ...(await clientBench(clientServer.port, transport, n)) });
    }
    await Promise.all([...running.values()].map((r) => r.server.stop()));
  }

  const agg = aggregate(rows, contenders);
  // A calibration run measures the bench, not the host: no target applies.
  const targets = calibrate ? [] : checkTargets(rows, clients, { pinned: pin });
  const meta = machine({ run: finishRun(run), generator });
  fs.mkdirSync(outDir, { recursive: true });
  const json = JSON.stringify(
    {
      meta,
      contenders: contenders.map(({ id, label, baseline }) => ({ id, label, baseline })),
      rows,
      aggregate: agg,
      targets,
      clients,
      calibration,
      notes,
      spinNs,
    },
    null,
    2,
  );
  const markdown = renderMarkdown({ meta, agg, contenders, targets, clients, calibration, notes, spinNs });
  fs.writeFileSync(path.join(outDir, `results${tag}.json`), `${json}\n`);
  fs.writeFileSync(path.join(outDir, `RESULTS${tag}.md`), markdown);
  console.log(
    `\n${resultsTable(agg, contenders)}\n\nTargets:\n${targetList(targets)}\n\nClients:\n${clients.map((c) => `Node ${c.node}:\n${clientTable(c)}`).join('\n') || '_not run_'}`,
  );
  if (spinNs) console.log(`\nCalibration (+${spinNs / 1000} µs per call):\n${calibrationList(agg, contenders, spinNs)}`);
  if (calibration.length) console.log(`\nLoad generators:\n${generatorTable(calibration)}`);
  console.log(`\nwrote ${path.relative(root, path.join(outDir, `results${tag}.json`))} and RESULTS${tag}.md`);
}

/**
 * The whole bench: the small-call suite, then the payload suite and the decoding-scaling table
 * (each also runnable alone: bench/payload.mjs, bench/decode-scaling.mjs), their sections
 * appended to bench/out/RESULTS.md (RESULTS-pinned.md with --pin).
 */
async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  if (opts.report) return rerender(opts.report);
  const report = path.join(outDir, `RESULTS${tag}.md`);
  if (suites.includes('small')) await smallSuite();
  else {
    if (!opts['no-build'] && !buildHost(root)) throw new Error('dist/ could not be built');
    fs.writeFileSync(report, '# Benchmark results\n\n');
  }
  const sections = [];
  if (suites.includes('payload')) {
    const only = opts.only?.split(',');
    const payload = await runPayload({
      quick,
      repeat,
      pin,
      nodes,
      ...(opts.warmup ? { warmup } : {}),
      ...(opts.duration ? { duration } : {}),
      ...(only ? { only } : {}),
      ...(calibrate ? { calibrateNs: spinNs } : {}),
    });
    if (payload.skipped) {
      console.log(payload.skipped);
      sections.push(`## Payload suite\n\n${payload.skipped}\n`);
    } else {
      console.log(`\nPayload suite:\n${payload.text}`);
      const { run, rows: payloadRows, summary, notes: payloadNotes } = payload;
      fs.writeFileSync(
        path.join(outDir, `payload${tag}.json`),
        `${JSON.stringify({ run, pinned: pin, rows: payloadRows, summary, notes: payloadNotes }, null, 2)}\n`,
      );
      sections.push(payload.markdown);
    }
  }
  if (suites.includes('scaling')) {
    const scaling = await runScaling({ repeat, nodes });
    console.log(`\nDecoding cost against message size:\n${scaling.text}`);
    fs.writeFileSync(path.join(outDir, 'scaling.json'), `${JSON.stringify({ run: scaling.run, rows: scaling.rows }, null, 2)}\n`);
    sections.push(scaling.markdown);
  }
  if (suites.includes('overload')) {
    const overload = await runOverload({ short: quick });
    fs.writeFileSync(path.join(outDir, 'overload.json'), `${JSON.stringify(overload.result, null, 2)}\n`);
    sections.push(overload.markdown);
  }
  if (suites.includes('balancer')) {
    const balancer = await runBalancer(quick ? { rounds: 3, calls: 100_000 } : { rounds: repeat > 5 ? repeat : 7 });
    console.log(`\nAddress choice, CPU per call:\n${balancer.text}`);
    fs.writeFileSync(path.join(outDir, 'balancer.json'), `${JSON.stringify({ run: balancer.run, rows: balancer.rows }, null, 2)}\n`);
    sections.push(balancer.markdown);
  }
  if (sections.length) fs.appendFileSync(report, `\n${sections.join('\n')}`);
  if (!quick && !filtered) {
    // The committed figures and the raw data behind them (bench/RESULTS.md points at the JSON).
    const files = [
      `RESULTS${tag}.md`,
      `results${tag}.json`,
      `payload${tag}.json`,
      ...(pin ? [] : ['scaling.json', 'balancer.json']),
    ];
    for (const f of files) if (fs.existsSync(path.join(outDir, f))) fs.copyFileSync(path.join(outDir, f), path.join(here, f));
    console.log(`updated ${files.map((f) => `bench/${f}`).join(', ')}`);
  }
}

/** Renders bench/out/RESULTS.md again from a saved results.json (after a change of the report). */
function rerender(file) {
  const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
  const savedTag = saved.meta.pinned ? '-pinned' : '';
  const { contenders } = saved;
  const agg = aggregate(saved.rows, contenders);
  // results.json saved one client comparison as `client` before they were run per Node version.
  const clients = saved.clients ?? saved.client;
  const targets = saved.spinNs ? [] : checkTargets(saved.rows, clients, { pinned: Boolean(saved.meta.pinned) });
  const { meta, calibration, notes, spinNs: savedSpin } = saved;
  fs.writeFileSync(
    path.join(outDir, `RESULTS${savedTag}.md`),
    renderMarkdown({ meta, agg, contenders, targets, clients, calibration, notes, spinNs: savedSpin }),
  );
  fs.writeFileSync(
    path.join(outDir, `results${savedTag}.json`),
    `${JSON.stringify({ ...saved, aggregate: agg, targets }, null, 2)}\n`,
  );
  console.log(`${resultsTable(agg, contenders)}\n\nTargets:\n${targetList(targets)}`);
  console.log(`\nwrote ${path.relative(root, path.join(outDir, `RESULTS${savedTag}.md`))} from ${file}`);
}

/** One cell: the generator against one server, with the server's CPU and RSS over the window. */
async function measure({ generator, port, server, conns, transport }) {
  const [command, ...base] = generator === 'cpp' ? [cpp.loadgen] : [node, path.join(here, 'node-loadgen.mjs')];
  const full = [command, ...base, ...loadgenArgs({ port, conns, transport, warmup, duration })];
  const [cmd, ...args] = pin ? onCore(LOADGEN_CPU, full) : full;
  return measureCell({ command: cmd, args, server, port, timeoutMs: (warmup + duration + 30) * 1000 });
}

/**
 * bench/client-bench.mjs in its own process under Node `n` (its CPU figure is that process's),
 * against `port`; on the generator's core with --pin.
 */
async function clientBench(port, transport, n) {
  let out;
  const ms = quick ? 400 : 800;
  const args = ['--port', String(port), '--transport', transport, '--runs', String(repeat), '--ms', String(ms)];
  if (calibrate) args.push('--calibrate', '--calibrate-us', String(spinNs / 1000));
  const full = [n.bin, path.join(here, 'client-bench.mjs'), ...args];
  const [cmd, ...rest] = pin ? onCore(LOADGEN_CPU, full) : full;
  const { code, stderr } = await runTool(cmd, rest, {
    timeoutMs: (repeat * 8 * ms) / 1000 + 60_000,
    onLine: (line) => {
      if (line.startsWith('{')) out = JSON.parse(line);
    },
  });
  if (!out) console.warn(`client bench failed (exit ${code}): ${stderr}`);
  else console.log(`  clients, Node ${n.major}:\n${clientTable(out)}`);
  return out;
}

function cppServer() {
  return cpp.server;
}

function existingCpp() {
  const loadgen = path.join(outDir, 'loadgen');
  const server = path.join(outDir, 'cpp-server');
  return {
    ...(fs.existsSync(loadgen) ? { loadgen } : {}),
    ...(fs.existsSync(server) ? { server } : {}),
    ...(fs.existsSync(server) ? {} : { skipped: 'C++ servers skipped: not built (run without --no-build)' }),
  };
}

function machine({ run, generator }) {
  const sh = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return 'unknown';
    }
  };
  const osRelease = fs.existsSync('/etc/os-release') ? fs.readFileSync('/etc/os-release', 'utf8') : '';
  const require = createRequire(path.join(root, 'package.json'));
  return {
    run,
    ...run,
    args: process.argv.slice(2).join(' '),
    quick,
    nodes: nodes.map(({ major, version }) => ({ major, version })),
    ...(pin ? { pinned: { loadgen: LOADGEN_CPU, server: SERVER_CPU } } : {}),
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    // The machine's, not this process's affinity (with --pin it is on one core by now).
    cores: os.cpus().length,
    memGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    os: /PRETTY_NAME="([^"]+)"/.exec(osRelease)?.[1] ?? os.type(),
    kernel: os.release(),
    thriftNpm: require('thrift/package.json').version,
    libthrift: sh('pkg-config', ['--modversion', 'thrift']),
    gxx: sh('g++', ['--version']).split('\n')[0],
    loadgen:
      generator === 'cpp'
        ? 'C++ libthrift (bench/loadgen/loadgen.cpp), one thread per connection'
        : 'Node (bench/node-loadgen.mjs)',
    repeat,
    warmup,
    duration,
  };
}

main()
  .catch((err) => {
    console.error(`bench failed: ${err.stack ?? err}`);
    process.exitCode = 1;
  })
  .finally(stopAll);
