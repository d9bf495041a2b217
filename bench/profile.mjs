/**
 * Profiles a thrifthost worker under load: starts the host with one worker under
 * `node --cpu-prof`, drives it with the C++ load generator, stops it, and prints the functions
 * with the most self time (and the callers of the top ones). The .cpuprofile is kept in
 * bench/out/profiles/ for Chrome DevTools or speedscope.
 *
 * Usage: node bench/profile.mjs [--conns 8] [--transport framed|buffered] [--protocol binary|compact]
 *                               [--seconds 8] [--top 30] [--workload list|insanity|string|small]
 * --workload profiles a payload-suite workload (bench/payload.mjs) instead of HelloWorld.sayHello.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildCpp, buildHost, buildPayload } from './lib/build.mjs';
import { loadgenArgs, runTool, startNodeServer, stopAll } from './lib/processes.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const { values } = parseArgs({
  options: {
    conns: { type: 'string', default: '8' },
    transport: { type: 'string', default: 'framed' },
    protocol: { type: 'string', default: 'binary' },
    seconds: { type: 'string', default: '8' },
    top: { type: 'string', default: '30' },
    workload: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
  },
});

async function main() {
  if (!values['no-build']) buildHost(root);
  const workload = values.workload;
  const payload = workload ? buildPayload(root) : undefined;
  const cpp = workload ? payload : buildCpp(root);
  if (!cpp.loadgen) throw new Error(cpp.skipped ?? 'no C++ load generator');
  const service = workload
    ? { service: 'Payload', genDir: payload.genDir, handler: path.join(here, 'servers/payload-handler.js') }
    : {};
  const dir = path.join(here, 'out/profiles', new Date().toISOString().replace(/[:.]/g, '-'));
  fs.mkdirSync(dir, { recursive: true });
  const server = await startNodeServer(
    'host-server.cjs',
    'host',
    { count: 1, transport: values.transport, protocol: values.protocol, ...service },
    { env: { THRIFTHOST_BENCH_WORKER_FLAGS: `--cpu-prof --cpu-prof-dir=${dir}` } },
  );
  let result;
  await runTool(
    cpp.loadgen,
    [
      ...loadgenArgs({ port: server.port, conns: values.conns, transport: values.transport, protocol: values.protocol, warmup: 1, duration: values.seconds }),
      ...(workload ? ['--workload', workload] : []),
    ],
    {
      onLine: (l) => {
        if (l.includes('"rps"')) result = JSON.parse(l);
      },
    },
  );
  await server.stop();
  console.log(
    `${Math.round(result?.rps ?? 0)} req/s under the profiler (${workload ?? 'sayHello'}, ${values.conns} conns, ${values.transport}, ${values.protocol})`,
  );
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile written in ${dir}`);
  summarize(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')), Number(values.top));
  console.log(`\nprofile: ${path.relative(root, path.join(dir, file))}`);
}

/** Prints self time per function and, for the heaviest, who calls them. */
function summarize(profile, top) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const hits = new Map();
  for (const s of profile.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
  const total = profile.samples.length;
  const self = new Map();
  const callers = new Map();
  for (const [id, n] of hits) {
    const node = byId.get(id);
    const key = frameName(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + n);
    const p = byId.get(parent.get(id));
    if (p) {
      const m = callers.get(key) ?? new Map();
      m.set(frameName(p.callFrame), (m.get(frameName(p.callFrame)) ?? 0) + n);
      callers.set(key, m);
    }
  }
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
  console.log(`\nself time (${total} samples)`);
  for (const [key, n] of rows) {
    const from = [...(callers.get(key) ?? [])].sort((a, b) => b[1] - a[1]).slice(0, 2);
    console.log(
      `${((n / total) * 100).toFixed(1).padStart(5)}%  ${key}${from.length ? `   <- ${from.map(([k]) => k).join(', ')}` : ''}`,
    );
  }
}

function frameName(f) {
  const file = f.url ? path.basename(f.url.replace(/^file:\/\//, '')) : '';
  return `${f.functionName || '(anonymous)'}${file ? ` ${file}:${f.lineNumber + 1}` : ''}`;
}

main()
  .catch((err) => {
    console.error(`profile failed: ${err.stack ?? err}`);
    process.exitCode = 1;
  })
  .finally(stopAll);
