/**
 * The master accepts every connection of a service and hands it to a worker (see
 * src/connection-dispatcher.ts): connections are spread evenly, in turn, and the workers hold
 * them, not the master.
 */
import fs from 'node:fs';
import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { callOnce, cleanupHost, makeHost, rpc, statusJson, type TestHost } from './helpers/cli.js';

let host: TestHost | undefined;
afterEach(() => {
  cleanupHost(host);
  host = undefined;
});

it('spreads 64 connections 32/32 over 2 workers and keeps no copy in the master', { timeout: 30_000 }, async () => {
  host = await makeHost({ count: 2 });
  const h = host;
  expect((await rpc(['start', '-d'], h.dir)).code).toBe(0);
  const before = await statusJson(h);
  const masterSockets = socketCount(before.master.pid);

  const sockets = await Promise.all(Array.from({ length: 64 }, () => openAndCall(h.port)));
  try {
    const status = await statusJson(h);
    expect(status.workers.map((w) => w.connections)).toEqual([32, 32]);
    // Every hand-off was acknowledged and the master closed its copy.
    expect(socketCount(before.master.pid)).toBe(masterSockets);
  } finally {
    for (const s of sockets) s.destroy();
  }
  expect(await callOnce(h.port, 'X')).toBe('v1 Hello X');
  expect((await rpc(['stop'], h.dir)).code).toBe(0);
});

/** A connection that has been answered once (so a worker holds it). */
async function openAndCall(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  await new Promise((resolve) => {
    socket.once('data', resolve);
    socket.write(SAY_HELLO_TOM);
  });
  return socket;
}

/** sayHello("TOM") as one binary-protocol, unframed CALL with seqid 1. */
const SAY_HELLO_TOM = Buffer.concat([
  Buffer.from([0x80, 0x01, 0x00, 0x01]),
  Buffer.from([0, 0, 0, 8]),
  Buffer.from('sayHello'),
  Buffer.from([0, 0, 0, 1]),
  Buffer.from([0x0b, 0x00, 0x01, 0, 0, 0, 3]),
  Buffer.from('TOM'),
  Buffer.from([0x00]),
]);

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
