/**
 * Koa/hono-style composition of `(context, next) => result` interceptors, shared by the host
 * (around a handler) and ThriftClient (around a call). An interceptor may run code before and
 * after `await next()`, change the context (arguments, headers), replace the result, or throw
 * to reject the call (a declared IDL exception or a TApplicationException reaches the caller
 * as such).
 *
 * `next()` returns what the rest of the chain returns, a value or a promise (`await` takes
 * both): a chain of synchronous interceptors around a synchronous handler stays synchronous,
 * so an interceptor that only passes the call on costs no promise and no microtask.
 */

/** One interceptor: call `next()` (once) to continue, or return / throw without it. */
export type InterceptorFn<C> = (context: C, next: () => unknown) => unknown;

/**
 * Runs `interceptors` around `last`; returns the outcome (a value or a promise) or throws.
 * @throws whatever an interceptor or `last` throws synchronously; `next()` called twice
 */
export function runChain<C>(interceptors: readonly InterceptorFn<C>[], context: C, last: () => unknown): unknown {
  let index = -1;
  const step = (i: number): unknown => {
    if (i <= index) throw new Error('an interceptor called next() more than once');
    index = i;
    const fn = interceptors[i];
    return fn ? fn(context, () => step(i + 1)) : last();
  };
  return step(0);
}
