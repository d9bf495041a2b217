/**
 * The master accepts every connection of a service and hands it to a worker (see
 * src/master/connection-dispatcher.ts): connections are spread evenly, in turn, and the workers hold
 * them, not the master.
 */
import fs from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { callOnce, cleanupHost, makeHost, rpc, statusJson, type TestHost, waitFor } from './helpers/cli.js';
import { answeredConnection } from './helpers/raw-exchange.js';

let host: TestHost | undefined;
afterEach(async () => {
  await cleanupHost(host);
  host = undefined;
});

it('spreads 64 connections 32/32 over 2 workers and keeps no copy in the master', { timeout: 30_000 }, async () => {
  host = await makeHost({ count: 2 });
  const h = host;
  expect((await rpc(['start', '-d'], h.dir)).code).toBe(0);
  const before = await statusJson(h);
  const masterSockets = socketCount(before.master.pid);

  const sockets = await Promise.all(Array.from({ length: 64 }, () => answeredConnection(h.port)));
  try {
    const status = await statusJson(h);
    expect(status.workers.map((w) => w.connections)).toEqual([32, 32]);
    // Every hand-off was acknowledged and the master closed its copy. Polled: the connection
    // `rpc status` just made to the master may not be closed on the master's side yet.
    await waitFor(() => socketCount(before.master.pid) === masterSockets, 5_000, 'the master to hold no connection');
  } finally {
    for (const s of sockets) s.destroy();
  }
  expect(await callOnce(h.port, 'X')).toBe('v1 Hello X');
  expect((await rpc(['stop'], h.dir)).code).toBe(0);
});

/** Socket descriptors held by `pid` (Linux /proc). */
function socketCount(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
    } catch {
      return false;
    }
  }).length;
}
