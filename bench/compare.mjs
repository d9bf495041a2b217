/**
 * A/B for host changes: serves the same load from two builds of thrifthost side by side (one
 * worker each) and compares server CPU per request, which a busy machine disturbs far less than
 * req/s. Save the "before" build first:
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
    servers[name] = { port: server.port, server, requests: 0, user: 0, sys: 0, seconds: 0, rssMiB: 0 };
  }
  for (let round = 0; round < Number(values.rounds); round++) {
    const order = round % 2 ? ['new', 'base'] : ['base', 'new'];
    for (const name of order) {
      const s = servers[name];
      const pids = processTree(s.server.pid);
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
              s.user += used.user;
              s.sys += used.sys;
              s.seconds += (performance.now() - t0) / 1000;
              const rss = rssBytes(pids.slice(1)); // the workers, not the cluster primary
              s.rssMiB = Math.max(0, ...rss.values()) / 2 ** 20;
            } else if (msg.rps !== undefined) {
              s.requests += msg.requests;
            }
          },
        },
      );
    }
  }
  for (const [name, s] of Object.entries(servers)) {
    const per = (x) => ((x / s.requests) * 1e6).toFixed(2);
    console.log(
      `${name.padEnd(5)} ${Math.round(s.requests / s.seconds)} req/s  user ${per(s.user)} µs/req  sys ${per(s.sys)} µs/req  ` +
        `total ${per(s.user + s.sys)} µs/req  worker RSS ${s.rssMiB.toFixed(1)} MiB${flags[name] ? `  (${flags[name]})` : ''}`,
    );
  }
  const ratio = (k) => servers.new[k] / servers.new.requests / (servers.base[k] / servers.base.requests);
  console.log(`new/base: user ${ratio('user').toFixed(3)}, sys ${ratio('sys').toFixed(3)}`);
}

main()
  .catch((err) => {
    console.error(`compare failed: ${err.stack ?? err}`);
    process.exitCode = 1;
  })
  .finally(stopAll);
