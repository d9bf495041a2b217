/**
 * A draining worker hands each idle connection to the master over IPC, one handle at a time
 * (Node sends the next handle only once the master acknowledged the previous one). It must not
 * exit while handles are still queued: those connections would be closed under their clients.
 *
 * Found by `npm run chaos` scenario 1 (rolling reloads under load): when the host stalled for a
 * few seconds (2 shared cores), a reload cut connections with ECONNRESET at the moment the old
 * worker exited, and a raw Apache client call hung (it never fails a call on a dead socket).
 * The worker exited 50 ms after asking to disconnect, whatever was still queued.
 *
 * Scripted here: this test plays the master (a plain fork of the worker entry, no cluster), sends
 * `drain`, then keeps its event loop busy for 300 ms, as a busy or descheduled master would, so
 * that no acknowledgement can go back meanwhile.
 */
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { validateHostConfig } from '../src/config/config.js';
import { WORKER_ENV, type WorkerBootstrap } from '../src/host/ipc.js';
import { freePort, REPO, rawClient, type RawClient } from './helpers/cli.js';
import { endChild } from './helpers/servers.js';

let child: ChildProcess | undefined;
const clients: RawClient[] = [];
afterEach(async () => {
  // The test waits for the worker's exit; this is for a failed run.
  if (child) await endChild(child, 'SIGTERM');
  child = undefined;
  for (const c of clients.splice(0)) c.close();
});

it('a draining worker exits only after every connection it hands off has reached the master', async () => {
  const port = await freePort();
  const config = validateHostConfig(
    {
      services: [
        {
          service: 'HelloWorld',
          handler: path.join(REPO, 'test/helpers/hello-port-handler.cjs'),
          listen: `127.0.0.1:${port}`,
          count: 1,
        },
      ],
    },
    path.join(REPO, 'rpc.config.json'),
  );
  const boot: WorkerBootstrap = {
    service: config.services[0]!,
    logLevel: 'silent',
    gracefulTimeoutMs: 5000,
    generation: 1,
  };
  const worker = fork(path.join(REPO, 'src/worker/thrift-worker-main.ts'), [], {
    execArgv: ['-r', path.join(REPO, 'test/helpers/ts-register.cjs')],
    env: { ...process.env, [WORKER_ENV]: JSON.stringify(boot) },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  child = worker;
  const handedOff: unknown[] = [];
  worker.on('message', (m: { t: string }, handle?: unknown) => {
    if (m.t === 'handoff' && handle) handedOff.push(handle);
  });
  await new Promise<void>((resolve) => worker.on('message', (m: { t: string }) => m.t === 'listening' && resolve()));

  // Idle connections the worker has accepted and served once.
  const CONNECTIONS = 20;
  for (let i = 0; i < CONNECTIONS; i++) clients.push(rawClient(port));
  await Promise.all(clients.map((c, i) => c.sayHello(`c${i}`)));

  const exited = new Promise((resolve) => worker.once('exit', resolve));
  worker.send({ t: 'drain' });
  const busyUntil = Date.now() + 300;
  while (Date.now() < busyUntil) {
    // a master too busy to acknowledge handles
  }
  await exited;
  for (const h of handedOff) (h as { destroy(): void }).destroy();
  expect(handedOff).toHaveLength(CONNECTIONS);
});
