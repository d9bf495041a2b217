// Contender: thrifthost. A node:cluster primary forking `--count` copies of the real worker entry
// (dist/src/worker/thrift-worker-main.js) through the supervisor's own ManagedWorker.fork (so that the
// fork options the host ships with apply), with a ServiceConfig built by the real config
// validator. Prints "READY <port>" once every worker listens.
// Extra node flags for the workers (e.g. --cpu-prof) go in THRIFTHOST_BENCH_WORKER_FLAGS; another
// build of the host (for A/B, see bench/compare.mjs) in THRIFTHOST_BENCH_DIST.
//
// Usage: node host-server.cjs --port P [--count 1] [--transport framed|buffered]
//                             [--protocol binary|compact] [--service HelloWorld]
//                             [--gen-dir DIR] [--handler FILE] [--extra JSON]
// --service serves another service (Catalog, or the bench's own Payload with --gen-dir and
// --handler); --extra merges more keys into the service's config (e.g. decoding limits).
'use strict';
const cluster = require('node:cluster');
const fs = require('node:fs');
const path = require('node:path');
const { parseServerArgs } = require('./server-args.cjs');

const root = path.resolve(__dirname, '../..');
const values = parseServerArgs({ extra: { type: 'string' } });
const count = Number(values.count);
const dist = process.env.THRIFTHOST_BENCH_DIST || path.join(root, 'dist');

const { validateHostConfig } = require(path.join(dist, 'src/config/config.js'));
const flags = (process.env.THRIFTHOST_BENCH_WORKER_FLAGS ?? '').split(' ').filter(Boolean);
const { WORKER_ENV } = require(path.join(dist, 'src/host/ipc.js'));
const config = validateHostConfig(
  {
    ...(values['gen-dir'] ? { genDir: path.resolve(values['gen-dir']) } : {}),
    services: [
      {
        name: values.service,
        listen: `127.0.0.1:${values.port}`,
        count,
        protocol: values.protocol,
        transport: values.transport,
        ...(values.handler ? { handler: path.resolve(values.handler) } : {}),
        ...(values.extra ? JSON.parse(values.extra) : {}),
        // ManagedWorker.fork sets the workers' execArgv from nodeArgs (builds that have it).
        ...(flags.length > 0 && fs.existsSync(path.join(dist, 'src/master/managed-worker.js')) ? { nodeArgs: flags } : {}),
      },
    ],
  },
  path.join(root, 'rpc.config.json'),
);
const service = config.services[0];
const boot = { service, logLevel: 'warn', gracefulTimeoutMs: 5000, generation: 1 };

const exec = path.join(dist, 'src/worker/thrift-worker-main.js');
// ManagedWorker.fork's own setupPrimary call merges with this: the extra flags stay.
cluster.setupPrimary({ exec, execArgv: [...process.execArgv, ...flags] });
const managed = path.join(dist, 'src/master/managed-worker.js');
const forkOne = (slot) => {
  if (fs.existsSync(managed)) {
    const { ManagedWorker } = require(managed);
    const w = ManagedWorker.fork({ exec, ...boot, slot, restarts: 0 });
    return w.listening.catch((err) => console.error(`worker failed: ${err.message}`));
  }
  // Builds from before the supervisor: fork the way it does.
  const worker = cluster.fork({ [WORKER_ENV]: JSON.stringify(boot) });
  return new Promise((resolve) => {
    worker.on('message', (m) => {
      if (m?.t === 'listening') resolve();
      if (m?.t === 'fatal') console.error(`worker failed: ${m.code} ${m.message}`);
    });
  });
};
Promise.all(Array.from({ length: count }, (_, slot) => forkOne(slot))).then(() =>
  console.log(`READY ${values.port}`),
);
cluster.on('exit', (w, code, signal) => {
  if (!stopping) console.error(`host worker ${w.process.pid} died (${signal ?? code})`);
});
let stopping = false;
process.on('SIGTERM', () => {
  // SIGTERM lets the workers drain and exit on their own (and write a --cpu-prof profile).
  stopping = true;
  for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
  const timer = setTimeout(() => process.exit(0), 3000);
  cluster.on('exit', () => {
    if (Object.keys(cluster.workers ?? {}).length === 0) {
      clearTimeout(timer);
      process.exit(0);
    }
  });
});
