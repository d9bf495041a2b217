/**
 * A HelloWorld handler source for tests that need a call held in the handler until the test lets
 * it go: `sayHello('hold')` writes `held` next to the handler file, then waits until a file
 * `release` appears there; any other name is answered at once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { ThriftClient } from '../../clients/index.js';
import { rpc, statusJson, type TestHost, waitFor } from './cli.js';
import { GEN_DIR } from './servers.js';

type Hello = import('../../gen/HelloWorld/HelloWorld.js').Client;

export const HELD_HANDLER_SOURCE = `
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

/**
 * Starts the host in `h` (made with {@link HELD_HANDLER_SOURCE}), points ThriftClient at it with
 * one connection carrying one call at a time, holds `sayHello('hold')` in the handler, and
 * queues `sayHello('q1'..'q3')` behind it in the client. Returns the workers as `rpc status`
 * saw them after the start, the held call, and the queued calls' outcomes.
 */
export async function holdOneQueueThree(h: TestHost, callTimeoutMs: number) {
  expect((await rpc(['start', '-d'], h.dir)).code).toBe(0);
  const { workers } = await statusJson(h); // also remembers the pids for cleanup
  ThriftClient.config({
    HelloWorld: {
      addresses: [`127.0.0.1:${h.port}`],
      serviceDir: GEN_DIR,
      shareState: false,
      poolMax: 1,
      maxInFlightPerConnection: 1,
      callTimeoutMs,
    },
  });
  const hello = ThriftClient.instance<Hello>('HelloWorld');
  const held = hello.sayHello('hold');
  await waitFor(() => fs.existsSync(path.join(h.dir, 'held')), 10_000, 'the slow call to reach the handler');
  const queued = Promise.allSettled(['q1', 'q2', 'q3'].map((name) => hello.sayHello(name)));
  return { workers, held, queued };
}
