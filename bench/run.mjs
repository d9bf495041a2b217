/**
 * `npm run bench`: starts each contender on 127.0.0.1, drives it with the same closed-loop load
 * generator, and prints req/s, latency, server CPU and RSS, ratios against the Apache Node
 * server, and the issue-5 targets. Writes bench/out/results.json and bench/out/RESULTS.md; a
 * full, unfiltered run also updates the committed bench/RESULTS.md and bench/results.json.
 *
 * Every cell runs 5 times, interleaved (the order rotates per round); ratios are taken per round
 * and reported as median (min–max), and a target counts as met only when the whole interval
 * clears it (bench/lib/stats.mjs). The full run takes about 26 minutes (small-call suite ~10,
 * payload ~8, scaling ~8; measured at 3d0d0a7 on 2 shared cores).
 *
 * Options:
 *   --quick               framed only, 0.5 s warm-up + 1.5 s per cell, small + payload (~6 min)
 *   --repeat N            interleaved runs per cell (default 5)
 *   --warmup S --duration S   per cell (default 1 + 3)
 *   --calibrate           run thrifthost ×2 against itself with a busy loop of --calibrate-us
 *                         µs of CPU per call in the handler (bench/servers/spin-handler.cjs), and
 *                         report whether each suite detects it (interval excludes 1); default
 *                         suites small (host-2 only, 8 conns unless --conns), client
 *   --calibrate-us N      the injected delay (default 2)
 *   --conns 1,8,64        --transports framed,buffered
 *   --only host-2,apache-2   contenders to run (ids below; cpp-threaded and host-2-intercepted
 *                         run only when named)
 *   --loadgen cpp|node    force a generator (default: the C++ one when it builds)
 *   --no-client           skip the ThriftClient vs raw thrift comparison
 *   --no-build            use dist/ and bench/out/ as they are
 *   --report FILE         run nothing: re-render the report of a saved results.json
 *   --suites small,payload,scaling   which suites run (default: all three; --quick: small,payload)
 *                         payload: bench/payload.mjs; scaling: bench/decode-scaling.mjs;
 *                         overload (only when named, ~14 min): bench/overload.mjs
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runScaling } from './decode-scaling.mjs';
import { buildCpp, buildHost } from './lib/build.mjs';
import { measureCell } from './lib/measure.mjs';
import { freePort, loadgenArgs, runTool, startServer, stopAll } from './lib/processes.mjs';
import { runOverload } from './overload.mjs';
import { runPayload } from './payload.mjs';
import { finishRun, startRun } from './lib/run-info.mjs';
import { RUNS } from './lib/stats.mjs';
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

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const outDir = path.join(here, 'out');

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    repeat: { type: 'string' },
    warmup: { type: 'string' },
    duration: { type: 'string' },
    conns: { type: 'string' },
    transports: { type: 'string' },
    only: { type: 'string' },
    loadgen: { type: 'string' },
    'no-client': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    report: { type: 'string' },
    suites: { type: 'string' },
    calibrate: { type: 'boolean', default: false },
    'calibrate-us': { type: 'string', default: '2' },
  },
});
const quick = opts.quick;
const calibrate = opts.calibrate;
const spinNs = calibrate ? Number(opts['calibrate-us']) * 1000 : 0;
const repeat = Number(opts.repeat ?? RUNS);
const warmup = Number(opts.warmup ?? (quick ? 0.5 : 1));
const duration = Number(opts.duration ?? (quick ? 1.5 : 3));
const connsList = (opts.conns ?? (calibrate ? '8' : '1,8,64')).split(',').map(Number);
const transports = (opts.transports ?? (quick || calibrate ? 'framed' : 'framed,buffered')).split(',');
const suites = (opts.suites ?? (calibrate ? 'small' : quick ? 'small,payload' : 'small,payload,scaling')).split(',');
const filtered = Boolean(
  opts.only || opts.conns || opts.transports || opts.loadgen || opts['no-client'] || opts.suites || calibrate,
);

const node = process.execPath;
const hostServer = path.join(here, 'servers/host-server.cjs');
const apacheServer = path.join(here, 'servers/apache-server.cjs');
const spinHandler = path.join(here, 'servers/spin-handler.cjs');

/** Every server the bench knows. `baseline`: the Apache server with the same process count. */
const CONTENDERS = [
  {
    id: 'host-1',
    label: 'thrifthost ×1',
    baseline: 'apache-1',
    cmd: (t, p) => [node, hostServer, '--count', '1', '--transport', t, '--port', p],
  },
  {
    id: 'host-2',
    label: 'thrifthost ×2',
    baseline: 'apache-2',
    cmd: (t, p) => [node, hostServer, '--count', '2', '--transport', t, '--port', p],
  },
  {
    // With --calibrate: host-2 with a known CPU cost per call, to check the bench sees it.
    id: 'host-2-spin',
    label: 'thrifthost ×2 + calibration delay',
    baseline: 'host-2',
    optIn: true,
    env: () => ({ THRIFTHOST_BENCH_SPIN_NS: String(spinNs) }),
    cmd: (t, p) => [node, hostServer, '--count', '2', '--transport', t, '--port', p, '--handler', spinHandler],
  },
  {
    // Only with --only: what one no-op server interceptor costs, against host-2 (issue 11).
    id: 'host-2-intercepted',
    label: 'thrifthost ×2, one no-op interceptor',
    baseline: 'host-2',
    optIn: true,
    cmd: (t, p) => [
      node,
      hostServer,
      '--count',
      '2',
      '--transport',
      t,
      '--port',
      p,
      '--extra',
      JSON.stringify({ interceptors: [path.join(here, 'fixtures/noop-interceptor.cjs')] }),
    ],
  },
  {
    id: 'apache-1',
    label: 'Apache Node ×1',
    cmd: (t, p) => [node, apacheServer, '--count', '1', '--transport', t, '--port', p],
  },
  {
    id: 'apache-2',
    label: 'Apache Node cluster ×2',
    cmd: (t, p) => [node, apacheServer, '--count', '2', '--transport', t, '--port', p],
  },
  {
    id: 'cpp-nb',
    label: 'C++ TNonblockingServer (2 IO threads)',
    cpp: true,
    transports: ['framed'],
    cmd: (t, p) => [cppServer(), '--kind', 'nonblocking', '--io-threads', '2', '--transport', t, '--port', p],
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
  const only = opts.only?.split(',') ?? (calibrate ? ['host-2', 'host-2-spin'] : undefined);
  const contenders = CONTENDERS.filter(
    (c) => (only ? only.includes(c.id) : !c.optIn) && (!c.cpp || cpp.server),
  );

  const rows = [];
  const calibration = [];
  let client;
  const cells = transports.length * connsList.length * repeat * contenders.length;
  console.log(
    `bench: ${contenders.map((c) => c.id).join(', ')} × ${transports.join('/')} × conns ${connsList.join('/')} × ${repeat} run(s), ` +
      `${warmup}+${duration} s each (~${Math.ceil((cells * (warmup + duration + 0.4)) / 60)} min), generator: ${generator}; load ${run.loadStart.toFixed(2)}`,
  );
  for (const transport of transports) {
    const running = new Map();
    for (const c of contenders.filter((c) => !c.transports || c.transports.includes(transport))) {
      const port = await freePort();
      const [cmd, ...args] = c.cmd(transport, String(port));
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
    if (transport === 'framed' && running.has('host-2') && cpp.loadgen && !quick && !opts.loadgen && !calibrate) {
      // What each generator costs per request, against the same server.
      const { port, server } = running.get('host-2');
      for (const g of ['cpp', 'node']) {
        const row = await measure({ generator: g, port, server, conns: 8, transport });
        calibration.push({
          generator: g === 'cpp' ? 'C++ libthrift, thread per connection' : 'Node, pre-encoded calls',
          rps: row.rps,
          cpuPct: row.loadgenCpuPct,
        });
      }
    }
    const clientServer = running.get('host-1') ?? running.get('host-2');
    if (transport === transports[0] && clientServer && !opts['no-client']) {
      const { port } = clientServer;
      client = await clientBench(port, transport);
    }
    await Promise.all([...running.values()].map((r) => r.server.stop()));
  }

  const agg = aggregate(rows, contenders);
  // A calibration run measures the bench, not the host: no target applies.
  const targets = calibrate ? [] : checkTargets(rows, client);
  const meta = machine({ run: finishRun(run), generator });
  fs.mkdirSync(outDir, { recursive: true });
  const json = JSON.stringify(
    {
      meta,
      contenders: contenders.map(({ id, label, baseline }) => ({ id, label, baseline })),
      rows,
      aggregate: agg,
      targets,
      client,
      calibration,
      notes,
      spinNs,
    },
    null,
    2,
  );
  const markdown = renderMarkdown({ meta, agg, contenders, targets, client, calibration, notes, spinNs });
  fs.writeFileSync(path.join(outDir, 'results.json'), `${json}\n`);
  fs.writeFileSync(path.join(outDir, 'RESULTS.md'), markdown);
  console.log(
    `\n${resultsTable(agg, contenders)}\n\nTargets:\n${targetList(targets)}\n\nClients:\n${clientTable(client)}`,
  );
  if (spinNs) console.log(`\nCalibration (+${spinNs / 1000} µs per call):\n${calibrationList(agg, contenders, spinNs)}`);
  if (calibration.length) console.log(`\nLoad generators:\n${generatorTable(calibration)}`);
  console.log(`\nwrote ${path.relative(root, path.join(outDir, 'results.json'))} and RESULTS.md`);
}

/**
 * The whole bench: the small-call suite, then the payload suite and the decoding-scaling table
 * (each also runnable alone: bench/payload.mjs, bench/decode-scaling.mjs), their sections
 * appended to bench/out/RESULTS.md.
 */
async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  if (opts.report) return rerender(opts.report);
  if (suites.includes('small')) await smallSuite();
  else {
    if (!opts['no-build'] && !buildHost(root)) throw new Error('dist/ could not be built');
    fs.writeFileSync(path.join(outDir, 'RESULTS.md'), '# Benchmark results\n\n');
  }
  const sections = [];
  if (suites.includes('payload')) {
    const only = opts.only?.split(',');
    const payload = await runPayload({
      quick,
      repeat,
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
        path.join(outDir, 'payload.json'),
        `${JSON.stringify({ run, rows: payloadRows, summary, notes: payloadNotes }, null, 2)}\n`,
      );
      sections.push(payload.markdown);
    }
  }
  if (suites.includes('scaling')) {
    const scaling = await runScaling({ repeat });
    console.log(`\nDecoding cost against message size:\n${scaling.text}`);
    fs.writeFileSync(path.join(outDir, 'scaling.json'), `${JSON.stringify({ run: scaling.run, rows: scaling.rows }, null, 2)}\n`);
    sections.push(scaling.markdown);
  }
  if (suites.includes('overload')) {
    const overload = await runOverload({ short: quick });
    fs.writeFileSync(path.join(outDir, 'overload.json'), `${JSON.stringify(overload.result, null, 2)}\n`);
    sections.push(overload.markdown);
  }
  if (sections.length) fs.appendFileSync(path.join(outDir, 'RESULTS.md'), `\n${sections.join('\n')}`);
  if (!quick && !filtered) {
    fs.copyFileSync(path.join(outDir, 'RESULTS.md'), path.join(here, 'RESULTS.md'));
    fs.copyFileSync(path.join(outDir, 'results.json'), path.join(here, 'results.json'));
    for (const f of ['payload.json', 'scaling.json'])
      if (fs.existsSync(path.join(outDir, f))) fs.copyFileSync(path.join(outDir, f), path.join(here, f));
    console.log('updated bench/RESULTS.md, results.json, payload.json and scaling.json');
  }
}

/** Renders bench/out/RESULTS.md again from a saved results.json (after a change of the report). */
function rerender(file) {
  const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
  const contenders = CONTENDERS.filter((c) => saved.contenders.some((s) => s.id === c.id));
  const agg = aggregate(saved.rows, contenders);
  const targets = saved.spinNs ? [] : checkTargets(saved.rows, saved.client);
  const { meta, client, calibration, notes, spinNs: savedSpin } = saved;
  fs.writeFileSync(
    path.join(outDir, 'RESULTS.md'),
    renderMarkdown({ meta, agg, contenders, targets, client, calibration, notes, spinNs: savedSpin }),
  );
  fs.writeFileSync(
    path.join(outDir, 'results.json'),
    `${JSON.stringify({ ...saved, aggregate: agg, targets }, null, 2)}\n`,
  );
  console.log(`${resultsTable(agg, contenders)}\n\nTargets:\n${targetList(targets)}`);
  console.log(`\nwrote ${path.relative(root, path.join(outDir, 'RESULTS.md'))} from ${file}`);
}

/** One cell: the generator against one server, with the server's CPU and RSS over the window. */
async function measure({ generator, port, server, conns, transport }) {
  const [command, ...base] = generator === 'cpp' ? [cpp.loadgen] : [node, path.join(here, 'node-loadgen.mjs')];
  const args = [...base, ...loadgenArgs({ port, conns, transport, warmup, duration })];
  return measureCell({ command, args, server, port, timeoutMs: (warmup + duration + 30) * 1000 });
}

/** bench/client-bench.mjs in its own process (its CPU figure is that process's), against `port`. */
async function clientBench(port, transport) {
  let out;
  const ms = quick ? 400 : 800;
  const args = ['--port', String(port), '--transport', transport, '--runs', String(repeat), '--ms', String(ms)];
  if (calibrate) args.push('--calibrate', '--calibrate-us', String(spinNs / 1000));
  const { code, stderr } = await runTool(node, [path.join(here, 'client-bench.mjs'), ...args], {
    timeoutMs: (repeat * 8 * ms) / 1000 + 60_000,
    onLine: (line) => {
      if (line.startsWith('{')) out = JSON.parse(line);
    },
  });
  if (!out) console.warn(`client bench failed (exit ${code}): ${stderr}`);
  else console.log(`  clients:\n${clientTable(out)}`);
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
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
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
