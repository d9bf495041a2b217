/**
 * With OpenTelemetry in the application (API, a W3C propagator and a context manager
 * registered), a ThriftClient call over THeader carries the active trace context and the
 * handler runs inside it: one trace spans caller and host.
 */
import path from 'node:path';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { validateServiceOptions } from '../clients/client-config.js';
import { ServiceClient } from '../clients/service-client.js';
import { createTestServer, type TestServer } from '../src/worker/test-server.js';
import { ROOT } from './helpers/in-process-server.js';

let server: TestServer;
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(async () => {
  context.setGlobalContextManager(contextManager.enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  server = await createTestServer({
    service: 'HelloWorld',
    genDir: path.join(ROOT, 'gen'),
    transport: 'header',
    callContext: true,
    handler: {
      async sayHello() {
        await new Promise((r) => setTimeout(r, 1));
        // The handler sees the caller's trace as its active context.
        return trace.getSpanContext(context.active())?.traceId ?? 'no trace';
      },
    },
  });
});
afterAll(async () => {
  await server.close();
  propagation.disable();
  context.disable();
});

it('carries the caller span into the handler over THeader', async () => {
  const client = new ServiceClient(
    validateServiceOptions('HelloWorld', {
      addresses: [server.address],
      transport: 'header',
      serviceDir: path.join(ROOT, 'gen'),
      shareState: false,
    }),
  );
  try {
    const tracer = new BasicTracerProvider().getTracer('test');
    const { traceId, seen } = await tracer.startActiveSpan('caller', async (span) => {
      const seenInHandler = await client.call('sayHello', ['x']);
      span.end();
      return { traceId: span.spanContext().traceId, seen: seenInHandler };
    });
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(seen).toBe(traceId);
    // Outside any span nothing is propagated.
    expect(await client.call('sayHello', ['y'])).toBe('no trace');
  } finally {
    await client.destroy();
  }
});
