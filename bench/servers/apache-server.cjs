// Contender: the plain Apache `thrift` Node server (thrift.createServer) with the same generated
// code and handler as thrifthost. `--count 1` is one process; `--count N` a node:cluster primary
// with N workers sharing the port. Prints "READY <port>" once every process listens.
//
// Usage: node apache-server.cjs --port P [--count 1] [--transport framed|buffered]
//                              [--protocol binary|compact] [--service HelloWorld]
//                              [--gen-dir DIR] [--handler FILE]
// --service with --gen-dir and --handler serves another service (the payload suite's Payload).
'use strict';
const cluster = require('node:cluster');
const path = require('node:path');
const { parseServerArgs } = require('./server-args.cjs');

const root = path.resolve(__dirname, '../..');
const values = parseServerArgs();
const port = Number(values.port);
const count = Number(values.count);

function serve(onListening) {
  const thrift = require(require.resolve('thrift', { paths: [root] }));
  const service = values.service;
  const genDir = path.resolve(values['gen-dir'] ?? path.join(root, 'gen'));
  const { Processor } = require(path.join(genDir, service, `${service}.js`));
  const handlerFile = path.resolve(values.handler ?? path.join(root, 'services', service, 'handler.js'));
  const Handler = require(handlerFile)[`${service}Handler`];
  const server = thrift.createServer(Processor, typeof Handler === 'function' ? new Handler() : Handler, {
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
