/**
 * `rpc stop` while a reload is draining a worker: that worker hands its connections back, and a
 * stopping master destroys what it gets (no worker adopts it), with the calls written meanwhile.
 * The stop turns the drain into one that closes them in the worker, answering what arrives.
 */
import fs from 'node:fs';
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

it('answers the calls of a connection a reload was moving when the stop began', { timeout: 60_000 }, async () => {
  host = await makeHost({ count: 1, handlerSource, gracefulTimeoutMs: 10_000 });
  const h = host;
  expect((await rpc(['start', '-d'], h.dir)).code).toBe(0);
  const [old] = (await statusJson(h)).workers;
  // One connection carrying one call at a time: the later calls wait in the client's queue.
  ThriftClient.config({
    HelloWorld: {
      addresses: [`127.0.0.1:${h.port}`],
      serviceDir: GEN_DIR,
      shareState: false,
      poolMax: 1,
      maxInFlightPerConnection: 1,
      callTimeoutMs: 20_000,
    },
  });
  const hello = ThriftClient.instance<Hello>('HelloWorld');
  const held = hello.sayHello('hold');
  await waitFor(() => fs.existsSync(path.join(h.dir, 'held')), 10_000, 'the slow call to reach the handler');
  const queued = ['q1', 'q2', 'q3'].map((name) => hello.sayHello(name));
  const settled = Promise.allSettled(queued);

  // The reload drains the old worker, whose connection waits for the held call to move.
  const reloaded = rpc(['reload'], h.dir);
  await waitFor(
    async () => (await statusJson(h)).workers.some((w) => w.pid === old!.pid && w.state === 'draining'),
    20_000,
    'the old worker to drain',
  );
  const stopped = rpc(['stop'], h.dir);
  await waitFor(
    () => fs.existsSync(h.log) && fs.readFileSync(h.log, 'utf8').includes('stop during a reload'),
    20_000,
    'the old worker to learn of the stop',
  );

  fs.writeFileSync(path.join(h.dir, 'release'), '');
  expect(await held).toBe('Hello hold');
  const outcomes = await settled;
  expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as { code?: string }).code))).toEqual([
    'Hello q1',
    'Hello q2',
    'Hello q3',
  ]);
  expect((await stopped).code).toBe(0);
  await reloaded; // interrupted by the stop or finished: either way it has returned
  expect(await portRefuses(h.port)).toBe(true);
});
