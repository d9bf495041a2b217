/**
 * A thrifthost worker listener (src/worker/thrift-worker.ts) serving HelloWorld (`hello-port-handler.cjs`),
 * in its own process, for tests that kill a host by pid. argv: <port (0 = any)>.
 * Reports { port } over IPC once listening; exits when the parent disconnects.
 * Run with `-r ./ts-register.cjs`.
 */
import path from 'node:path';
import pino from 'pino';
import { validateHostConfig } from '../../src/config/config.js';
import { ThriftServer } from '../../src/worker/thrift-worker.js';

const root = path.resolve(__dirname, '../..');
const port = Number(process.argv[2] ?? 0);
const config = validateHostConfig(
  {
    services: [
      {
        service: 'HelloWorld',
        handler: path.join(__dirname, 'hello-port-handler.cjs'),
        listen: `127.0.0.1:${port}`,
        count: 1,
      },
    ],
  },
  path.join(root, 'rpc.config.json'),
);
const server = new ThriftServer(config.services[0]!, pino({ level: 'silent' }));
void server.listen().then((addr) => {
  process.env.THRIFTHOST_TEST_PORT = String(addr.port);
  process.send?.({ port: addr.port });
});
process.on('disconnect', () => process.exit(0));
