// Contender: thrifthost as users run it: `rpc start` with an rpc.config.json in a temporary
// folder. This process runs the CLI's own entry (dist/src/cli/main.js main(argv), which is all
// that bin/rpc does), so it is the master: it accepts every connection and hands it to a worker
// (src/master/connection-dispatcher.ts), and the bench counts its CPU and RSS with the workers'.
// Ready when the CLI prints "thrifthost started: ..." (READY_LINE in server-args.cjs). The
// folder (config, pid file, control socket, logs) is removed when the process exits.
// Extra node flags for the workers (e.g. --cpu-prof) go in THRIFTHOST_BENCH_WORKER_FLAGS (the
// service's `nodeArgs`); another build of the host (for A/B, see bench/compare.mjs) in
// THRIFTHOST_BENCH_DIST. The workers run on the Node binary that runs this file.
//
// Usage: node host-server.cjs --port P [--count 1] [--transport framed|buffered]
//                             [--protocol binary|compact] [--service HelloWorld]
//                             [--gen-dir DIR] [--handler FILE] [--extra JSON]
// --service serves another service (Catalog, or the bench's own Payload with --gen-dir and
// --handler); --extra merges more keys into the service's config (e.g. decoding limits).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseServerArgs } = require('./server-args.cjs');

const root = path.resolve(__dirname, '../..');
const values = parseServerArgs({ extra: { type: 'string' } });
const dist = process.env.THRIFTHOST_BENCH_DIST || path.join(root, 'dist');
const flags = (process.env.THRIFTHOST_BENCH_WORKER_FLAGS ?? '').split(' ').filter(Boolean);
const service = values.service;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'thrifthost-bench-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
const config = {
  genDir: path.resolve(values['gen-dir'] ?? path.join(root, 'gen')),
  // `warn`, not the default `info`: no log line per worker event during a measured window.
  logLevel: 'warn',
  services: [
    {
      name: service,
      listen: `tcp://127.0.0.1:${values.port}`,
      count: Number(values.count),
      protocol: values.protocol,
      transport: values.transport,
      handler: path.resolve(values.handler ?? path.join(root, 'services', service, 'handler.js')),
      ...(values.extra ? JSON.parse(values.extra) : {}),
      ...(flags.length > 0 ? { nodeArgs: flags } : {}),
    },
  ],
};
const file = path.join(dir, 'rpc.config.json');
fs.writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
process.chdir(dir);
require(path.join(dist, 'src/cli/main.js')).main([process.execPath, 'rpc', 'start', '--config', file]);
