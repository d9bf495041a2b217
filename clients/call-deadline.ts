/**
 * One deadline per call: `callTimeoutMs` bounds the whole call, every attempt included, and a
 * call made while a thrifthost handler serves a call (with `callContext`) gets no more than
 * what is left of that call's deadline. On THeader connections the time left travels with
 * each attempt in the `client_timeout` key (fbthrift's name), so the host does not start a call
 * whose caller has stopped waiting.
 */
import type { AsyncLocalStorage } from 'node:async_hooks';

// The host's call-context store (src/worker/call-context.ts), found by its global key so that
// the client does not load server code: present only inside a worker serving a call.
const STORE_KEY = Symbol.for('thrifthost.callContext');

/**
 * The `Date.now()` by which the call that is being made must end: `timeoutMs` from now, or
 * sooner when made inside a served call whose deadline is sooner.
 */
export function callDeadline(timeoutMs: number, now = Date.now()): number {
  const own = now + timeoutMs;
  const store = (globalThis as Record<symbol, AsyncLocalStorage<{ deadline?: number }> | undefined>)[STORE_KEY];
  const inherited = store?.getStore()?.deadline;
  return inherited !== undefined && inherited < own ? inherited : own;
}
