/**
 * `rpc stop` answers every call made before it, also one that waited in ThriftClient for a free
 * slot behind a slow call and is written only when that call's reply arrives (chaos scenario 8:
 * the worker used to give the connection up the instant it went idle, just before that call).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ThriftClient } from '../clients/index.js';
import { cleanupHost, makeHost, portRefuses, rpc, type TestHost } from './helpers/cli.js';
import { HELD_HANDLER_SOURCE, holdOneQueueThree } from './helpers/held-handler.js';
import { answeredConnection } from './helpers/raw-exchange.js';

const handlerSource = HELD_HANDLER_SOURCE;

let host: TestHost | undefined;
afterEach(async () => {
  await ThriftClient.reset();
  await cleanupHost(host);
  host = undefined;
});

it('answers calls queued in ThriftClient behind a slow call when the stop began', { timeout: 30_000 }, async () => {
  host = await makeHost({ count: 1, handlerSource, gracefulTimeoutMs: 10_000 });
  const h = host;
  const { held, queued: settled } = await holdOneQueueThree(h, 10_000);

  // An answered, idle connection on the same worker: when the worker closes it, the stop has
  // reached the worker.
  const sentinel = await answeredConnection(h.port);
  sentinel.resume();
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
