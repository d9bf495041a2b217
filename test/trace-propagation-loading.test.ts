/**
 * Loading OpenTelemetry takes tens of milliseconds of a thread: the host loads it only for a call
 * that carries a trace context, never for other THeader calls (loaded on the first THeader call,
 * it stalled every worker of a host at once: chaos scenario 10). Its own file, so that no other
 * test has loaded the package into this process.
 */
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestServer, type TestServer } from '../src/worker/test-server.js';
import { sayHelloCall } from './helpers/encoded-calls.js';
import { ROOT } from './helpers/in-process-server.js';

const require = createRequire(__filename);
const OTEL_ENTRY = require.resolve('@opentelemetry/api');
const otelLoaded = () => OTEL_ENTRY in require.cache;

let server: TestServer;
beforeAll(async () => {
  server = await createTestServer({
    service: 'HelloWorld',
    genDir: path.join(ROOT, 'gen'),
    transport: 'header',
    handler: { sayHello: (name: string) => `Hello ${name}` },
  });
});
afterAll(() => server.close());

/** Sends one call and resolves once some reply bytes came back. */
function call(bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, '127.0.0.1');
    socket.on('error', reject);
    socket.once('data', (chunk) => {
      socket.destroy();
      resolve(chunk);
    });
    socket.write(bytes);
  });
}

it('answers THeader calls with headers but no traceparent without loading @opentelemetry/api', async () => {
  expect(otelLoaded()).toBe(false);
  const reply = await call(sayHelloCall('plain', 1, new Map([['client_timeout', '5000'], ['x-request', 'a']])));
  expect(reply.includes(Buffer.from('Hello plain'))).toBe(true);
  expect(otelLoaded()).toBe(false);
});

it('loads @opentelemetry/api for the first call that carries a traceparent', async () => {
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const reply = await call(sayHelloCall('traced', 2, new Map([['traceparent', traceparent]])));
  expect(reply.includes(Buffer.from('Hello traced'))).toBe(true);
  expect(otelLoaded()).toBe(true);
});
