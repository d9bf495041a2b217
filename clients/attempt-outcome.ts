/**
 * What the outcome of one attempt means: for the health of the address it went to, and for
 * whether the call may go on to another address. One table, so that the breaker, the latency
 * estimate and the retry decision never disagree about an error.
 *
 * | outcome                                          | address health    | another address?    |
 * | ------------------------------------------------ | ----------------- | ------------------- |
 * | a result, a declared IDL exception               | success           | no (it is the answer) |
 * | connect refused / timed out                      | connect-failure   | yes (never written) |
 * | pool busy, connection dead before writing        | neutral           | yes (never written) |
 * | shed by the host (LOADSHEDDING)                  | shed              | yes (never run)     |
 * | deadline passed in the host's queue (TIMEOUT 12) | shed              | no (no time left)   |
 * | call timeout, connection lost after writing, reply undecodable | failure | idempotent only |
 * | TApplicationException INTERNAL_ERROR, UNKNOWN    | failure           | idempotent only     |
 * | any other TApplicationException                  | success           | no (same everywhere) |
 * | bad argument, client closed                      | neutral           | no                  |
 *
 * An undeclared server error of an idempotent method goes to another address (within the
 * retry budget): running it twice is safe by declaration, and such an error usually belongs to
 * one host (a bad deploy, a broken dependency, exhaustion) rather than to the request. When it
 * does belong to the request, the retry costs one more attempt, which the budget bounds.
 */
import thrift from 'thrift';
import type { AttemptHealth } from './address-manager.js';
import { CallTransportError, ConnectFailedError, ServerOverloadedError, ThriftHostError } from './errors.js';

/** Whether a call may go on to another address after an attempt failed this way. */
export type RetryRule = 'always' | 'idempotent' | 'never';

/** The meaning of one attempt's error. */
export interface AttemptVerdict {
  health: AttemptHealth;
  retry: RetryRule;
}

/** TApplicationException types (Apache's numbering; 11 and 12 are fbthrift's). */
const UNKNOWN = 0;
const INTERNAL_ERROR = 6;
const DEADLINE_EXCEEDED = 12;

/** Errors raised before anything reached the wire (a bad argument): nothing about the address. */
const localErrors = new WeakSet<object>();

/** Marks `err` as raised by this client before writing (it says nothing about the address). */
export function markLocal(err: unknown): unknown {
  if (typeof err === 'object' && err !== null) localErrors.add(err);
  return err;
}

/** What an attempt's error means for the address and for the call. */
export function classifyError(err: unknown): AttemptVerdict {
  if (err instanceof CallTransportError) {
    if (err instanceof ConnectFailedError) return { health: 'connect-failure', retry: 'always' };
    if (err instanceof ServerOverloadedError) return { health: 'shed', retry: 'always' };
    if (!err.requestSent) return { health: 'neutral', retry: 'always' };
    return { health: 'failure', retry: 'idempotent' };
  }
  if (err instanceof thrift.Thrift.TApplicationException) {
    if (err.type === INTERNAL_ERROR || err.type === UNKNOWN) return { health: 'failure', retry: 'idempotent' };
    if (err.type === DEADLINE_EXCEEDED) return { health: 'shed', retry: 'never' };
    return { health: 'success', retry: 'never' };
  }
  if (err instanceof ThriftHostError || (typeof err === 'object' && err !== null && localErrors.has(err))) {
    return { health: 'neutral', retry: 'never' };
  }
  // A declared exception: the host answered.
  return { health: 'success', retry: 'never' };
}
