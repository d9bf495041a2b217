/**
 * `rpc stop` while a reload is draining a worker: that worker hands its connections back, and a
 * stopping master destroys what it gets (no worker adopts it), with the calls written meanwhile.
 * The stop turns the drain into one that closes them in the worker, answering what arrives.
 *
 * The order of events is scripted from the host's log: the master says it drains the old worker,
 * the worker says it learnt of the stop, and only then is the held call released. One bound is
 * the product's own: a connection closing when idle waits for its client's next call (here the
 * queued ones, written when the held call's reply arrives) only until half of `gracefulTimeoutMs`
 * after its worker began to drain, and in a stop during a reload that is the reload's drain, not
 * the stop. A loaded machine took more than the default's 5 s from that drain to the release (an
 * `rpc stop` process starting, `rpc status` polled), so `gracefulTimeoutMs` is 60 s here, the log
 * is read instead of `rpc status`, and the wait for the stop ends with that half: a machine too
 * slow for it fails naming the wait, not with lost calls.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ThriftClient } from '../clients/index.js';
import { cleanupHost, makeHost, portRefuses, rpc, type TestHost, waitFor } from './helpers/cli.js';
import { HELD_HANDLER_SOURCE, holdOneQueueThree } from './helpers/held-handler.js';

const handlerSource = HELD_HANDLER_SOURCE;
const GRACEFUL_TIMEOUT_MS = 60_000;
/** What the old worker's connection waits for a next call, counted from its drain (CLOSE_LINGER_SHARE). */
const LINGER_MS = GRACEFUL_TIMEOUT_MS / 2;

let host: TestHost | undefined;
afterEach(async () => {
  await ThriftClient.reset();
  await cleanupHost(host);
  host = undefined;
});

it('answers the calls of a connection a reload was moving when the stop began', { timeout: 150_000 }, async () => {
  host = await makeHost({ count: 1, handlerSource, gracefulTimeoutMs: GRACEFUL_TIMEOUT_MS });
  const h = host;
  // The client's deadline covers the whole scripted sequence: it is not what is tested here.
  const { workers, held, queued: settled } = await holdOneQueueThree(h, 2 * GRACEFUL_TIMEOUT_MS);
  const [old] = workers;

  // The reload drains the old worker, whose connection waits for the held call to move.
  const reloaded = rpc(['reload'], h.dir, GRACEFUL_TIMEOUT_MS + 15_000);
  const draining = await waitFor(
    () => logRecords(h).find((r) => r.oldPid === old!.pid && r.msg.endsWith(`draining ${old!.pid}`)),
    60_000,
    'the reload to drain the old worker',
  );
  if (typeof draining.newPid === 'number') h.pids.add(draining.newPid);
  const lingerEnds = draining.time + LINGER_MS;

  const stopped = rpc(['stop'], h.dir, GRACEFUL_TIMEOUT_MS + 15_000);
  await waitFor(
    () => logRecords(h).some((r) => r.pid === old!.pid && r.msg.startsWith('stop during a reload')),
    lingerEnds - Date.now(),
    `the old worker to log "stop during a reload" within ${LINGER_MS} ms of its drain (later, its connection would close before the queued calls)`,
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

/** A record of the host's JSON log (master and workers). */
interface LogRecord {
  time: number;
  pid: number;
  msg: string;
  oldPid?: number;
  newPid?: number;
}

function logRecords(h: TestHost): LogRecord[] {
  if (!fs.existsSync(h.log)) return [];
  const records: LogRecord[] = [];
  for (const line of fs.readFileSync(h.log, 'utf8').split('\n')) {
    try {
      const r = JSON.parse(line) as LogRecord;
      if (typeof r.msg === 'string') records.push(r);
    } catch {
      // not JSON, or the last line half written
    }
  }
  return records;
}
