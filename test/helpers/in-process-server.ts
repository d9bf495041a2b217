/**
 * Test helper: a thrifthost listener in the test process (no cluster), on 127.0.0.1 port 0,
 * plus raw Apache `thrift` clients for it. Everything is closed by the returned `close()`.
 */
import path from 'node:path';
import pino from 'pino';
import thrift from 'thrift';
import { protocolClass, transportClass } from '../../src/codec/protocols.js';
import { validateHostConfig } from '../../src/config/config.js';
import { ThriftServer } from '../../src/worker/thrift-worker.js';

export const ROOT = path.resolve(__dirname, '../..');

/** Starts a listener for `service` with config overrides; returns it with its port. */
export async function startServer(
  entry: Record<string, unknown>,
  { configDir = ROOT, logLevel = 'silent' } = {},
): Promise<{ server: ThriftServer; port: number; close(): void; logs: string[] }> {
  const config = validateHostConfig(
    { services: [{ listen: '127.0.0.1:0', count: 1, ...entry }] },
    path.join(configDir, 'rpc.config.json'),
  );
  const logs: string[] = [];
  const logger = pino(
    { level: logLevel === 'silent' ? 'debug' : logLevel },
    { write: (line: string) => logs.push(line) },
  );
  const server = new ThriftServer(config.services[0]!, logger);
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  return { server, port, logs, close: () => server.destroy() };
}

/** A raw Apache client (`thrift.createConnection` + `createClient`) for a generated service. */
export function rawClient<T = any>(
  service: string,
  port: number,
  protocol: 'binary' | 'compact' | 'json' = 'binary',
  transport: 'buffered' | 'framed' = 'buffered',
): { client: T; connection: thrift.Connection; close(): void } {
  const connection = thrift.createConnection('127.0.0.1', port, {
    protocol: protocolClass(protocol),
    transport: transportClass(transport),
    max_attempts: 1,
  });
  connection.on('error', () => {});
  const client = thrift.createClient<T>(
    require(path.join(ROOT, 'gen', service, `${service}.js`)),
    connection,
  );
  return { client, connection, close: () => connection.destroy() };
}

/** Resolves once `fn()` is true, polling every 10 ms; rejects after `timeoutMs`. */
export async function waitFor(
  fn: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
