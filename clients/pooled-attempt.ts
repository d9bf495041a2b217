/**
 * One attempt of a call on one address: borrow a pooled connection, write the call, await its
 * reply, and say precisely what failed: never written (connect failed, pool busy, client
 * closing, a bad argument), written and lost, or shed by the host without running it
 * (TApplicationException LOADSHEDDING becomes ServerOverloadedError). Whether and where to try
 * again is the caller's business (`failover-call.ts`).
 */
import thrift from 'thrift';
import type { MethodInfo } from '../src/codec/generated-service.js';
import { markLocal } from './attempt-outcome.js';
import { DEADLINE_HEADER, LOAD_HEADER } from '../src/common/theader-keys.js';
import type { Connection } from './connection.js';
import type { ConnectionPool } from './connection-pool.js';
import {
  CallTransportError,
  ClientClosedError,
  ConnectFailedError,
  PoolAcquireTimeoutError,
  ServerOverloadedError,
} from './errors.js';

/** What an attempt needs to know of its service's settings. */
export interface AttemptSettings {
  poolMax: number;
  callTimeoutMs: number;
  /** THeader: the time left travels with the call as `client_timeout`. */
  header: boolean;
  /** THeader with the least-loaded balancer: the call asks the host for its `load`. */
  askLoad: boolean;
  /** True once the client was closed (a refused borrow is then no fault of the address). */
  closed: () => boolean;
}

/** TApplicationException type of a call the server shed without running it (fbthrift's LOADSHEDDING). */
const LOADSHEDDING = 11;

/**
 * Runs one attempt on `pool`'s address within `timeoutMs`. Throws a CallTransportError, the
 * server's answer (declared exception, TApplicationException), ClientClosedError, a bad
 * argument's error (marked local), or, when `signal` aborted, its reason.
 */
export async function attemptOnPool(
  pool: ConnectionPool,
  settings: AttemptSettings,
  method: MethodInfo,
  payload: Record<string, unknown>,
  headers: ReadonlyMap<string, string> | undefined,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<unknown> {
  const { address, service } = pool.options;
  const target = { service, method: method.name, address };
  let conn: Connection;
  const waitStart = performance.now();
  try {
    conn = await pool.acquire();
  } catch (err) {
    // The pool refuses while draining: the client was closed meanwhile, the address is fine.
    if (settings.closed()) {
      throw new ClientClosedError(`${target.service}.${target.method}: the client is closed`, { cause: err });
    }
    if ((err as Error)?.name === 'TimeoutError') {
      throw new PoolAcquireTimeoutError(
        `${target.service}.${target.method}: all ${settings.poolMax} connections to ${address} stayed busy ` +
          `for ${settings.callTimeoutMs} ms (raise poolMax or maxInFlightPerConnection)`,
        target,
        { cause: err },
      );
    }
    throw new ConnectFailedError(
      `${target.service}.${target.method}: cannot connect to ${address} (${(err as Error).message})`,
      target,
      { cause: err },
    );
  }
  if (signal?.aborted) {
    // Cancelled while waiting for a connection: nothing was written.
    pool.release(conn);
    throw signal.reason;
  }
  // The wait for a connection came out of the call's time: the reply gets what is left, and so
  // does the deadline sent to the host.
  const waited = performance.now() - waitStart;
  if (waited >= timeoutMs) {
    pool.release(conn);
    throw new PoolAcquireTimeoutError(
      `${target.service}.${target.method}: waited ${Math.round(waited)} ms for a connection to ${address}, ` +
        'past the call\'s deadline (raise poolMax or maxInFlightPerConnection)',
      target,
    );
  }
  timeoutMs -= waited;
  if (settings.header) {
    // The host does not start a call whose caller will have stopped waiting.
    const sent = new Map(headers).set(DEADLINE_HEADER, String(Math.ceil(timeoutMs)));
    if (settings.askLoad && !sent.has(LOAD_HEADER)) sent.set(LOAD_HEADER, '');
    headers = sent;
  }
  let reply: Promise<unknown>;
  try {
    reply = conn.call(method, payload, timeoutMs, headers, signal);
  } catch (err) {
    // Not a transport error: the arguments did not encode, nothing left.
    throw err instanceof CallTransportError ? err : markLocal(err);
  } finally {
    pool.release(conn);
  }
  try {
    return await reply;
  } catch (err) {
    if (err instanceof thrift.Thrift.TApplicationException && err.type === LOADSHEDDING) {
      throw new ServerOverloadedError(
        `${target.service}.${target.method}: ${address} is overloaded and did not run the call (${err.message})`,
        target,
        { cause: err },
      );
    }
    throw err;
  }
}
