/**
 * Headers a caller attaches to its calls (THeader transport only): per service in the client
 * config (`headers`), per call with {@link withHeaders}, and by client interceptors through
 * their context. Other transports have nowhere to put them and ignore them.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { InterceptorFn } from '../src/common/interceptor-chain.js';

/** What a client interceptor sees of one call. */
export interface ClientCallContext {
  readonly service: string;
  readonly method: string;
  /** Arguments in IDL order; replace them before `next()` to change what is sent. */
  args: unknown[];
  /** Headers to send (THeader transport): the service's `headers`, then {@link withHeaders}'. */
  readonly headers: Map<string, string>;
}

/** A client interceptor: `(context, next) => result`, run around every call of a service. */
export type ClientInterceptor = InterceptorFn<ClientCallContext>;

const scoped = new AsyncLocalStorage<ReadonlyMap<string, string>>();

/**
 * Runs `fn` with `headers` added to every call it makes (and the calls those make, across awaits).
 * @example
 * await withHeaders({ 'request-id': id }, () => users.get(42));
 */
export function withHeaders<T>(headers: Record<string, string>, fn: () => T): T {
  const merged = new Map(scoped.getStore());
  for (const [k, v] of Object.entries(headers)) merged.set(k, String(v));
  return scoped.run(merged, fn);
}

/** The headers {@link withHeaders} put in scope here, if any. */
export function scopedHeaders(): ReadonlyMap<string, string> | undefined {
  return scoped.getStore();
}
