/**
 * Koa/hono-style composition of `(context, next) => result` interceptors, shared by the host
 * (around a handler) and ThriftClient (around a call). An interceptor may run code before and
 * after `await next()`, change the context (arguments, headers), replace the result, or throw
 * to reject the call (a declared IDL exception or a TApplicationException reaches the caller
 * as such).
 */

/** One interceptor: call `next()` (once) to continue, or return / throw without it. */
export type InterceptorFn<C> = (context: C, next: () => Promise<unknown>) => unknown;

/**
 * Runs `interceptors` around `last` and settles with the outcome.
 * @throws (as a rejection) whatever an interceptor or `last` throws; `next()` called twice
 */
export function runChain<C>(
  interceptors: readonly InterceptorFn<C>[],
  context: C,
  last: () => unknown,
): Promise<unknown> {
  let index = -1;
  const step = (i: number): Promise<unknown> => {
    if (i <= index) return Promise.reject(new Error('an interceptor called next() more than once'));
    index = i;
    const fn = interceptors[i];
    try {
      return Promise.resolve(fn ? fn(context, () => step(i + 1)) : last());
    } catch (err) {
      return Promise.reject(err);
    }
  };
  return step(0);
}
