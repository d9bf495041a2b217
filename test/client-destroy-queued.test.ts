/**
 * `ThriftClient.destroy()` while calls wait for a connection: every connection to the address is
 * full (a server that reads requests and never answers), so most calls wait in the pool's queue.
 * destroy() must reject those at once, not after the acquire timeout, and open no connection
 * afterwards (generic-pool's drain used to serve each queued borrow with a new socket, which
 * then wrote the request).
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ThriftClient } from '../clients/index.js';
import { GEN_DIR } from './helpers/servers.js';

type Hello = import('../gen/HelloWorld/HelloWorld.js').Client;

const cleanups: (() => void)[] = [];
afterEach(async () => {
  await ThriftClient.reset();
  for (const c of cleanups.splice(0)) c();
});

/** A server that accepts and reads but never answers; counts connections and request bytes. */
async function silentServer() {
  const counts = { accepted: 0, bytes: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    counts.accepted++;
    sockets.add(socket);
    socket.on('data', (chunk) => {
      counts.bytes += chunk.length;
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { port: (server.address() as net.AddressInfo).port, counts };
}

describe('destroy() with calls queued for a connection', () => {
  it('rejects the queued calls with ERR_CLIENT_CLOSED at once and opens no connection afterwards', {
    // The acquire timeout (callTimeoutMs) is 10 minutes: a destroy() that waited for it fails here.
    timeout: 15_000,
  }, async () => {
    const server = await silentServer();
    ThriftClient.config({
      HelloWorld: {
        addresses: [`127.0.0.1:${server.port}`],
        serviceDir: GEN_DIR,
        shareState: false,
        retries: 0,
        poolMax: 10,
        maxInFlightPerConnection: 8,
        callTimeoutMs: 600_000,
      },
    });
    const hello = ThriftClient.instance<Hello>('HelloWorld');
    const calls = Array.from({ length: 200 }, (_, i) =>
      hello.sayHello(`N${i}`).then(
        () => 'answered',
        (e: { code?: string }) => e.code ?? 'other',
      ),
    );
    // 10 connections x 8 pipelined calls are written; the other 120 wait for a connection.
    const written = 80 * 'sayHello'.length;
    while (server.counts.accepted < 10 || server.counts.bytes < written) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(server.counts.accepted).toBe(10);

    await ThriftClient.destroy();
    const outcomes = await Promise.all(calls);
    expect(outcomes.filter((o) => o === 'ERR_CLIENT_CLOSED')).toHaveLength(120);
    expect(outcomes).not.toContain('answered');

    // Nothing is expected to happen now; give a late connect the time it would take to show.
    const bytesAtDestroy = server.counts.bytes;
    await new Promise((r) => setTimeout(r, 300));
    expect(server.counts.accepted).toBe(10);
    expect(server.counts.bytes).toBe(bytesAtDestroy);
  });
});
