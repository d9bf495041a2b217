/**
 * Server interceptors run in order (configured modules, then the handler module's), can reject
 * a call with a declared exception or a TApplicationException, change arguments and reply
 * headers; with `"callContext": true` a handler reads its context across awaits.
 */
import path from 'node:path';
import thrift from 'thrift';
import { afterEach, describe, expect, it } from 'vitest';
import { getCallContext } from '../src/worker/call-context.js';
import { ROOT, rawClient, startServer } from './helpers/in-process-server.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  (globalThis as { __order?: string[] }).__order = [];
});

const handler = path.join(ROOT, 'test/fixtures/handlers/context-catalog.cjs');
const audit = path.join(ROOT, 'test/fixtures/interceptors/audit.cjs');

describe('call context and server interceptors', () => {
  it('runs configured then handler interceptors around the handler, which sees its context', async () => {
    const host = await startServer({ service: 'Catalog', handler, interceptors: [audit], callContext: true }, {});
    cleanups.push(host.close);
    const { client, close } = rawClient('Catalog', host.port);
    cleanups.push(close);
    const seen = JSON.parse(await client.echo(Buffer.from('hi'), 0));
    expect(seen).toMatchObject({
      data: 'hi!', // changed by the handler-level interceptor
      service: 'Catalog',
      method: 'echo',
      peer: { address: '127.0.0.1' },
      elapsed: true,
      order: ['audit>echo', 'handler-level>echo'],
    });
    expect(seen.seqid).toBeGreaterThan(0);
    expect(seen.peer.port).toBeGreaterThan(0);
    expect(seen.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect((globalThis as { __order?: string[] }).__order).toEqual([
      'audit>echo',
      'handler-level>echo',
      'handler-level<echo',
      'audit<echo',
    ]);
    // The context's logger carries the request id.
    expect(host.logs.some((l) => l.includes('echo called') && l.includes(seen.requestId))).toBe(true);
  });

  it('lets an interceptor reject with a declared exception or a TApplicationException', async () => {
    const host = await startServer({ service: 'Catalog', handler, interceptors: [audit], callContext: true });
    cleanups.push(host.close);
    const { client, close } = rawClient('Catalog', host.port);
    cleanups.push(close);
    const declared = await client.put({ id: 1, title: 'forbidden' }).catch((e: unknown) => e);
    expect(declared).toMatchObject({ name: 'InvalidItem', message: 'forbidden by audit' });
    const app = await client.echo(Buffer.from('app-error'), 0).catch((e: unknown) => e);
    expect(app).toBeInstanceOf(thrift.Thrift.TApplicationException);
    expect(app.message).toBe('refused by interceptor');
    // The connection serves on.
    expect(JSON.parse(await client.echo(Buffer.from('ok'), 0)).data).toBe('ok!');
  });

  it('gives no context outside a call, and none when the service leaves callContext off', async () => {
    expect(() => getCallContext()).toThrow(/callContext/);
    const host = await startServer({ service: 'Catalog', handler });
    cleanups.push(host.close);
    const { client, close } = rawClient('Catalog', host.port);
    cleanups.push(close);
    const err = await client.echo(Buffer.from('x'), 0).catch((e: unknown) => e);
    expect(err).toMatchObject({ message: 'Internal error in Catalog.echo' });
    expect(host.logs.join('\n')).toContain('ERR_NO_CALL_CONTEXT');
  });

  it('refuses an interceptor module that exports no function, naming it', async () => {
    await expect(
      startServer({ service: 'Catalog', interceptors: [path.join(ROOT, 'test/fixtures/handlers/bigint-catalog.cjs')] }),
    ).rejects.toThrow(/bigint-catalog.cjs of service Catalog exports no interceptor/);
  });
});
