// A HelloWorld Thrift server in its own process, for tests that kill a server by pid.
// argv: <port (0 = any)> <gen dir>. Reports { port } over IPC once listening.
const path = require('node:path');
const thrift = require('thrift');

const [port = '0', genDir] = process.argv.slice(2);
const { Processor } = require(path.join(genDir, 'HelloWorld', 'HelloWorld.js'));
let actualPort = 0;
const server = thrift.createServer(
  Processor,
  { sayHello: async (name) => `Hello ${name} from ${actualPort}` },
  { protocol: thrift.TBinaryProtocol, transport: thrift.TBufferedTransport },
);
server.listen(Number(port), '127.0.0.1', () => {
  actualPort = server.address().port;
  process.send({ port: actualPort });
});
// Exit with the parent: a test that dies must not leave servers behind.
process.on('disconnect', () => process.exit(0));
