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
import { HELD_HANDLER_SOURCE, holdOneQueueThree } from './helpers/held-handler.js';

const handlerSource = HELD_HANDLER_SOURCE;

let host: TestHost | undefined;
afterEach(async () => {
  await ThriftClient.reset();
  await cleanupHost(host);
  host = undefined;
});

it('answers the calls of a connection a reload was moving when the stop began', { timeout: 60_000 }, async () => {
  host = await makeHost({ count: 1, handlerSource, gracefulTimeoutMs: 10_000 });
  const h = host;
  const { workers, held, queued: settled } = await holdOneQueueThree(h, 20_000);
  const [old] = workers;

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
