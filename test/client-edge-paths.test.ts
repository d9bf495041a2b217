/**
 * Client paths that only show under particular timing, each forced for real: a connect that
 * never completes (a listener whose accept queue is full), a reply that arrives after its call
 * timed out, and a large unframed reply that reaches the client in many reads.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { validateServiceOptions } from '../clients/client-config.js';
import { ServiceClient } from '../clients/service-client.js';
import { ROOT, startServer, waitFor } from './helpers/in-process-server.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function catalog(address: string, extra: Record<string, unknown> = {}) {
  const c = new ServiceClient(
    validateServiceOptions('Catalog', {
      addresses: [address],
      serviceDir: path.join(ROOT, 'gen'),
      shareState: false,
      retries: 0,
      ...extra,
    }),
  );
  cleanups.push(() => c.destroy());
  return c;
}

/** A listener that never accepts, with a backlog of 1: once its queue is full, SYNs go unanswered. */
async function fullBacklog(): Promise<number> {
  const py: ChildProcess = spawn(
    '/usr/bin/python3',
    [
      '-c',
      'import socket,sys,time\n' +
        's=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(0)\n' +
        'print(s.getsockname()[1], flush=True); time.sleep(60)',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  cleanups.push(() => py.kill('SIGKILL'));
  const port = await new Promise<number>((resolve) =>
    py.stdout!.once('data', (d: Buffer) => resolve(Number.parseInt(d.toString(), 10))),
  );
  // Fill the accept queue: the first connections complete the handshake and wait there; once the
  // queue (backlog 0: one connection) is full, later SYNs are dropped.
  let queued = 0;
  for (let i = 0; i < 4; i++) {
    const s = net.connect(port, '127.0.0.1', () => queued++);
    s.on('error', () => {});
    cleanups.push(() => s.destroy());
  }
  await waitFor(() => queued > 0, 5000, 'a connection in the accept queue');
  return port;
}

it('a connect that never completes fails after connectTimeoutMs with ERR_CONNECT_FAILED', async () => {
  const port = await fullBacklog();
  const client = catalog(`127.0.0.1:${port}`, { connectTimeoutMs: 300, callTimeoutMs: 5000 });
  const err = await client.call('ping', []).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'ERR_CONNECT_FAILED' });
  expect(String((err as Error).message)).toContain('connect timeout after 300 ms');
});

it('a reply arriving after its call timed out settles nothing, and the next call is answered', async () => {
  const host = await startServer({ service: 'Catalog' });
  cleanups.push(host.close);
  const address = `127.0.0.1:${host.port}`;
  const client = catalog(address, { callTimeoutMs: 5000 });
  const pool = client.pool(address);
  const conn = await pool.acquire();
  const echo = client.method('echo');
  // Two calls on one connection: the first times out; the second keeps the retired connection
  // open (it closes, with a reset, once nothing is pending) so the first's late reply reaches it.
  const late = conn.call(echo, { data: Buffer.from('late'), delayMs: 300 }, 100).catch((e: unknown) => e);
  const keep = conn.call(echo, { data: Buffer.from('keep'), delayMs: 900 }, 5000);
  pool.release(conn);
  expect(await late).toMatchObject({ code: 'ERR_CALL_TIMEOUT' });
  expect(conn.state).toBe('retired');
  let lateArrived = false;
  (conn as unknown as { socket: net.Socket }).socket.on('data', (d: Buffer) => {
    if (d.includes('late')) lateArrived = true;
  });
  await waitFor(() => lateArrived, 5000, 'the late reply to reach the client');
  expect(await keep).toBe('keep');
  await waitFor(() => conn.state === 'closed', 5000, 'the retired connection to close');
  expect(await client.call('echo', [Buffer.from('after'), 0])).toBe('after');
});

it.each(['binary', 'compact', 'json'] as const)(
  'a 2 MB unframed %s reply that arrives in many reads is decoded whole',
  async (protocol) => {
    const host = await startServer({ service: 'Catalog', protocol });
    cleanups.push(host.close);
    const client = catalog(`127.0.0.1:${host.port}`, { protocol });
    const big = 'x'.repeat(2 * 1024 * 1024 - 7) + 'the end';
    expect(await client.call('echo', [Buffer.from(big), 0])).toBe(big);
  },
);
