/**
 * A connection adopted over IPC (a reload moved it here) must behave as one the worker accepted:
 * a peer that half-closes after its last call still gets the reply. Node creates a received
 * socket with allowHalfOpen false, which ends it as soon as the peer's FIN arrives.
 *
 * This test plays the master: it accepts a connection itself and hands it to a forked worker.
 */
import { type ChildProcess, fork } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import thrift from 'thrift';
import { afterEach, expect, it } from 'vitest';
import { loadGeneratedService } from '../src/codec/generated-service.js';
import { WriteBuffer } from '../src/codec/write-buffer.js';
import { validateHostConfig } from '../src/config/config.js';
import { WORKER_ENV, type WorkerBootstrap, type WorkerMessage, type WorkerStats } from '../src/host/ipc.js';
import { freePort, REPO, waitFor } from './helpers/cli.js';
import { endChild } from './helpers/servers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

it('an adopted connection answers a call its peer sent before half-closing', async () => {
  const config = validateHostConfig(
    { services: [{ service: 'Catalog', listen: `127.0.0.1:${await freePort()}`, count: 1 }] },
    path.join(REPO, 'rpc.config.json'),
  );
  const boot: WorkerBootstrap = {
    service: config.services[0]!,
    logLevel: 'silent',
    gracefulTimeoutMs: 5000,
    generation: 1,
  };
  const worker: ChildProcess = fork(path.join(REPO, 'src/worker/thrift-worker-main.ts'), [], {
    execArgv: ['-r', path.join(REPO, 'test/helpers/ts-register.cjs')],
    env: { ...process.env, [WORKER_ENV]: JSON.stringify(boot) },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  cleanups.push(() => endChild(worker, 'SIGTERM'));
  await new Promise<void>((resolve) => worker.on('message', (m: { t: string }) => m.t === 'listening' && resolve()));

  // The "master" accepts the connection and hands it to the worker, as after a reload.
  const master = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => {
    worker.send({ t: 'adopt', pending: '' }, socket);
  });
  cleanups.push(() => master.close());
  await new Promise<void>((r) => master.listen(0, '127.0.0.1', r));
  const { port } = master.address() as net.AddressInfo;

  const catalog = loadGeneratedService(path.join(REPO, 'gen'), 'Catalog');
  let call: Buffer | undefined;
  const wb = new WriteBuffer(false, (m) => {
    call = Buffer.from(m);
  });
  const proto = new thrift.TBinaryProtocol(wb as never);
  proto.writeMessageBegin('echo', thrift.Thrift.MessageType.CALL, 1);
  new (catalog.methods.get('echo')!.Args as any)({ data: Buffer.from('hi'), delayMs: 200 }).write(proto);
  proto.writeMessageEnd();
  proto.flush();

  const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  cleanups.push(() => client.destroy());
  client.on('error', () => {});
  const chunks: Buffer[] = [];
  client.on('data', (c) => chunks.push(c));
  await new Promise((r) => client.once('connect', r));
  // Ask the worker for its figures until it counts the connection: then it has adopted it.
  let statsId = 0;
  await waitFor(async () => (await workerStats(worker, ++statsId)).connections === 1, 5000, 'the adoption');
  client.end(call!);
  const how = await new Promise<'server ended' | 'timed out'>((resolve) => {
    const timer = setTimeout(() => resolve('timed out'), 3000);
    client.on('end', () => {
      clearTimeout(timer);
      resolve('server ended');
    });
  });
  // The worker answered, then ended its side of the half-closed connection itself.
  expect(how).toBe('server ended');
  // A REPLY to seqid 1 carrying "hi".
  expect(Buffer.concat(chunks).includes('hi')).toBe(true);
});

/** The worker's figures, asked for over IPC as the master does. */
function workerStats(worker: ChildProcess, id: number): Promise<WorkerStats> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to stats request ${id}`)), 5000);
    const onMessage = (m: WorkerMessage) => {
      if (m.t !== 'stats' || m.id !== id) return;
      clearTimeout(timer);
      worker.off('message', onMessage);
      resolve(m.stats);
    };
    worker.on('message', onMessage);
    worker.send({ t: 'stats', id });
  });
}
