// Contender: the plain Apache `thrift` Node server (thrift.createServer) with the same generated
// code and handler as thrifthost. `--count 1` is one process; `--count N` a node:cluster primary
// with N workers sharing the port. Prints "READY <port>" once every process listens.
//
// Usage: node apache-server.cjs --port P [--count 1] [--transport framed|buffered]
//                              [--protocol binary|compact]
'use strict';
const cluster = require('node:cluster');
const path = require('node:path');
const { parseArgs } = require('node:util');

const root = path.resolve(__dirname, '../..');
const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    count: { type: 'string', default: '1' },
    transport: { type: 'string', default: 'framed' },
    protocol: { type: 'string', default: 'binary' },
  },
});
const port = Number(values.port);
const count = Number(values.count);

function serve(onListening) {
  const thrift = require(require.resolve('thrift', { paths: [root] }));
  const { Processor } = require(path.join(root, 'gen/HelloWorld/HelloWorld.js'));
  const { HelloWorldHandler } = require(path.join(root, 'services/HelloWorld/handler.js'));
  const server = thrift.createServer(Processor, HelloWorldHandler, {
    transport: values.transport === 'framed' ? thrift.TFramedTransport : thrift.TBufferedTransport,
    protocol: values.protocol === 'compact' ? thrift.TCompactProtocol : thrift.TBinaryProtocol,
  });
  server.on('error', (err) => console.error(err));
  server.listen(port, '127.0.0.1', onListening);
}

if (count <= 1) {
  serve(() => console.log(`READY ${port}`));
} else if (cluster.isPrimary) {
  let listening = 0;
  for (let i = 0; i < count; i++) {
    cluster.fork().on('message', (m) => {
      if (m === 'listening' && ++listening === count) console.log(`READY ${port}`);
    });
  }
  cluster.on('exit', (w, code, signal) => {
    if (!w.exitedAfterDisconnect) console.error(`apache worker ${w.process.pid} died (${signal ?? code})`);
  });
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
    process.exit(0);
  });
} else {
  serve(() => process.send('listening'));
}
