// Child process for the fuzzer: one thrifthost listener (Catalog) on 127.0.0.1:0 in this
// process. Reports its port over IPC, then answers {t:'rss'} with its RSS. Any crash ends the
// process, which is exactly what the fuzzer watches for.
const path = require('node:path');
const pino = require('pino');
const { validateHostConfig } = require('../dist/src/config/config.js');
const { ThriftServer } = require('../dist/src/worker/thrift-worker.js');

const [protocol, transport] = process.argv.slice(2);
const root = path.resolve(__dirname, '..');
const config = validateHostConfig(
  {
    services: [
      {
        service: 'Catalog',
        listen: '127.0.0.1:0',
        protocol,
        transport,
        maxFrameBytes: 1 << 20,
        idleTimeoutMs: 5000,
      },
    ],
  },
  path.join(root, 'rpc.config.json'),
);
const server = new ThriftServer(config.services[0], pino({ level: 'silent' }));
server.listen({ host: '127.0.0.1', port: 0 }).then(({ port }) => process.send({ t: 'port', port }));
process.on('message', (m) => {
  if (m.t === 'rss') {
    // Collect first when allowed, so the figure shows what is retained, not garbage not yet swept.
    global.gc?.();
    const { rss, heapUsed } = process.memoryUsage();
    process.send({ t: 'rss', rss, heapUsed, snapshot: server.snapshot() });
  }
});
process.on('disconnect', () => process.exit(0));
