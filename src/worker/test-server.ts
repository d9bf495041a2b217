/**
 * `createTestServer`: one service served in this process on 127.0.0.1 and a free port, with
 * exactly the worker's decoding, limits, error mapping, interceptors and call context, so a
 * handler can be unit-tested with ThriftClient (or any Thrift client) without the CLI, a
 * config file or child processes.
 */
import path from 'node:path';
import pino from 'pino';
import type { ServerInterceptor } from './call-context.js';
import { validateHostConfig } from '../config/config.js';
import type { Logger } from '../host/logger.js';
import { ThriftServer } from './thrift-worker.js';

/** What {@link createTestServer} serves. */
export interface TestServerOptions {
  /** IDL service name; its generated code is looked up under `genDir`. */
  service: string;
  /** The handler: an object (or class instance) with a function per IDL method. */
  handler: object;
  /** @default 'binary' */
  protocol?: 'binary' | 'compact' | 'json';
  /** @default 'buffered' */
  transport?: 'buffered' | 'framed' | 'header';
  /** Generated-code folder. @default './gen' (from the working directory) */
  genDir?: string;
  /** Server interceptors, run as a worker runs them. @default [] */
  interceptors?: ServerInterceptor[];
  /** Enable `getCallContext()` in the handler. @default false */
  callContext?: boolean;
  /** Any other service setting of rpc.config.json (limits, i64, idleTimeoutMs, ...). */
  settings?: Record<string, unknown>;
  /** Where the server logs. @default silent */
  log?: Logger;
}

/** A running {@link createTestServer}. */
export interface TestServer {
  host: string;
  port: number;
  /** `127.0.0.1:<port>`, for `ThriftClient.config({ X: { addresses: [server.address] } })`. */
  address: string;
  /** The underlying server (its `stats` hold per-method figures). */
  server: ThriftServer;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/**
 * Serves `handler` for `service` on 127.0.0.1 and a free port.
 * @throws GeneratedCodeError / HandlerLoadError / ConfigError as a worker start would
 * @example
 * const server = await createTestServer({ service: 'HelloWorld', handler: { sayHello: (n) => `Hi ${n}` } });
 * ThriftClient.config({ HelloWorld: { addresses: [server.address] } });
 * expect(await ThriftClient.instance('HelloWorld').sayHello('TOM')).toBe('Hi TOM');
 * await server.close();
 */
export async function createTestServer(options: TestServerOptions): Promise<TestServer> {
  const { service } = options;
  const config = validateHostConfig(
    {
      services: [
        {
          ...options.settings,
          service,
          listen: '127.0.0.1:0',
          count: 1,
          protocol: options.protocol ?? 'binary',
          transport: options.transport ?? 'buffered',
          callContext: options.callContext ?? false,
          ...(options.genDir ? { genDir: path.resolve(options.genDir) } : {}),
        },
      ],
    },
    path.resolve('rpc.config.json'),
  );
  const serviceConfig = config.services[0]!;
  serviceConfig.bindings[0]!.module = {
    [`${service}Handler`]: options.handler,
    interceptors: options.interceptors ?? [],
  };
  const server = await ThriftServer.create(serviceConfig, options.log ?? pino({ level: 'silent' }));
  await server.init();
  const { host, port } = await server.listen();
  return {
    host,
    port,
    address: `${host}:${port}`,
    server,
    close: () => server.drain(0).then(() => server.close(10_000)),
  };
}
