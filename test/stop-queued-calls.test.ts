/**
 * `rpc stop` answers every call made before it, also one that waited in ThriftClient for a free
 * slot behind a slow call and is written only when that call's reply arrives (chaos scenario 8:
 * the worker used to give the connection up the instant it went idle, just before that call).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ThriftClient } from '../clients/index.js';
import { cleanupHost, makeHost, portRefuses, rpc, statusJson, type TestHost, waitFor } from './helpers/cli.js';
import { GEN_DIR } from './helpers/servers.js';

type Hello = import('../gen/HelloWorld/HelloWorld.js').Client;

/** `sayHello('hold')` writes `held` next to the handler, then waits until `release` appears there. */
const handlerSource = `
const fs = require('node:fs');
const path = require('node:path');
exports.HelloWorldHandler = {
  async sayHello(name) {
    if (name === 'hold') {
      fs.writeFileSync(path.join(__dirname, 'held'), '');
      while (!fs.existsSync(path.join(__dirname, 'release'))) await new Promise((r) => setTimeout(r, 5));
    }
    return 'Hello ' + name;
  },
};
`;

let host: TestHost | undefined;
afterEach(async () => {
  await ThriftClient.reset();
  cleanupHost(host);
  host = undefined;
});

it('answers calls queued in ThriftClient behind a slow call when the stop began', { timeout: 30_000 }, async () => {
  host = await makeHost({ count: 1, handlerSource, gracefulTimeoutMs: 10_000 });
  const h = host;
  expect((await rpc(['start', '-d'], h.dir)).code).toBe(0);
  await statusJson(h); // remembers the pids for cleanup
  // One connection carrying one call at a time: every later call waits in the client's queue.
  ThriftClient.config({
    HelloWorld: {
      addresses: [`127.0.0.1:${h.port}`],
      serviceDir: GEN_DIR,
      shareState: false,
      poolMax: 1,
      maxInFlightPerConnection: 1,
      callTimeoutMs: 10_000,
    },
  });
  const hello = ThriftClient.instance<Hello>('HelloWorld');
  const held = hello.sayHello('hold');
  await waitFor(() => fs.existsSync(path.join(h.dir, 'held')), 10_000, 'the slow call to reach the handler');
  const queued = ['q1', 'q2', 'q3'].map((name) => hello.sayHello(name));
  const settled = Promise.allSettled(queued);

  // An answered, idle connection on the same worker: when the worker closes it, the stop has
  // reached the worker.
  const sentinel = await answeredConnection(h.port);
  const sentinelClosed = new Promise<void>((resolve) => sentinel.once('close', () => resolve()));
  const stopped = rpc(['stop'], h.dir);
  await sentinelClosed;

  fs.writeFileSync(path.join(h.dir, 'release'), '');
  expect(await held).toBe('Hello hold');
  const outcomes = await settled;
  expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as { code?: string }).code))).toEqual([
    'Hello q1',
    'Hello q2',
    'Hello q3',
  ]);
  expect((await stopped).code).toBe(0);
  expect(await portRefuses(h.port)).toBe(true);
});

// --- internal ---

/** A connection that has had one call answered (so a worker holds it), left open and idle. */
async function answeredConnection(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  await new Promise((resolve) => {
    socket.once('data', resolve);
    socket.write(SAY_HELLO_TOM);
  });
  socket.resume();
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
