/**
 * A/B for host changes: serves the same load from two builds of thrifthost side by side (one
 * worker each, under its master) and compares server CPU per request, which a busy machine
 * disturbs far less than req/s. The two builds alternate within each round; the ratio new/base
 * is taken per round and shown as median (min–max) over the rounds (bench/lib/stats.mjs).
 * Save the "before" build first:
 *
 *   npx tsc -p . && rm -rf bench/out/dist-base && cp -r dist bench/out/dist-base
 *   ...edit src/, npx tsc -p . ...
 *   node bench/compare.mjs [--base bench/out/dist-base] [--rounds 4] [--conns 8]
 *                          [--transport framed] [--protocol binary] [--seconds 3]
 *
 * Or one build with two sets of worker node flags (RSS at the end of each window is shown):
 *   node bench/compare.mjs --base dist --new-flags=--max-semi-space-size=1
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildCpp } from './lib/build.mjs';
import { fmtSpread, median, spread } from './lib/stats.mjs';
import {
  cpuDelta,
  cpuSeconds,
  loadgenArgs,
  processTree,
  rssBytes,
  runTool,
  startNodeServer,
  stopAll,
} from './lib/processes.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const { values } = parseArgs({
  options: {
    base: { type: 'string', default: path.join(here, 'out/dist-base') },
    rounds: { type: 'string', default: '4' },
    conns: { type: 'string', default: '8' },
    transport: { type: 'string', default: 'framed' },
    protocol: { type: 'string', default: 'binary' },
    seconds: { type: 'string', default: '3' },
    'base-flags': { type: 'string', default: '' },
    'new-flags': { type: 'string', default: '' },
  },
});

async function main() {
  const { loadgen, skipped } = buildCpp(root);
  if (!loadgen) throw new Error(skipped);
  const builds = { base: path.resolve(values.base), new: path.join(root, 'dist') };
  const flags = { base: values['base-flags'], new: values['new-flags'] };
  const servers = {};
  for (const [name, dist] of Object.entries(builds)) {
    const server = await startNodeServer(
      'host-server.cjs',
      name,
      { count: 1, transport: values.transport, protocol: values.protocol },
      { env: { THRIFTHOST_BENCH_DIST: dist, THRIFTHOST_BENCH_WORKER_FLAGS: flags[name] } },
    );
    servers[name] = { port: server.port, server, rounds: [], rssMiB: 0 };
  }
  for (let round = 0; round < Number(values.rounds); round++) {
    const order = round % 2 ? ['new', 'base'] : ['base', 'new'];
    for (const name of order) {
      const s = servers[name];
      const pids = processTree(s.server.pid);
      const r = { requests: 0, user: 0, sys: 0, seconds: 0 };
      s.rounds.push(r);
      let before;
      let t0 = 0;
      await runTool(
        loadgen,
        loadgenArgs({ port: s.port, conns: values.conns, transport: values.transport, protocol: values.protocol, warmup: 1, duration: values.seconds }),
        {
          onLine: (line) => {
            const msg = JSON.parse(line);
            if (msg.event === 'measure-start') {
              before = cpuSeconds(pids);
              t0 = performance.now();
            } else if (msg.event === 'measure-end') {
              const used = cpuDelta(before, cpuSeconds(pids));
              r.user = used.user;
              r.sys = used.sys;
              r.seconds = (performance.now() - t0) / 1000;
              const rss = rssBytes(pids.slice(1)); // the workers, not the master
              s.rssMiB = Math.max(0, ...rss.values()) / 2 ** 20;
            } else if (msg.rps !== undefined) {
              r.requests = msg.requests;
            }
          },
        },
      );
    }
  }
  // Per round: µs of CPU per request of each build, then the ratio new/base within the round.
  const perReq = (r, k) => (k === 'total' ? r.user + r.sys : r[k]) / r.requests * 1e6;
  for (const [name, s] of Object.entries(servers)) {
    const m = (k) => median(s.rounds.map((r) => perReq(r, k))).toFixed(2);
    const rps = median(s.rounds.map((r) => r.requests / r.seconds));
    console.log(
      `${name.padEnd(5)} ${Math.round(rps)} req/s  user ${m('user')} µs/req  sys ${m('sys')} µs/req  ` +
        `total ${m('total')} µs/req (medians over ${s.rounds.length} rounds)  worker RSS ${s.rssMiB.toFixed(1)} MiB${flags[name] ? `  (${flags[name]})` : ''}`,
    );
  }
  const ratio = (k) => fmtSpread(spread(servers.new.rounds.map((r, i) => perReq(r, k) / perReq(servers.base.rounds[i], k))), 3);
  console.log(`new/base per round, median (min–max): total ${ratio('total')}, user ${ratio('user')}, sys ${ratio('sys')}`);
}

main()
  .catch((err) => {
    console.error(`compare failed: ${err.stack ?? err}`);
    process.exitCode = 1;
  })
  .finally(stopAll);
