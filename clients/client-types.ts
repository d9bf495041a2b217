/**
 * Types of the object `ThriftClient.instance()` returns, derived from the generated client's
 * `.d.ts`: every method of the service returning a Promise, plus `asend_X` / `arecv_X` per method.
 * The generated client declares each method twice (Promise and callback); only the Promise
 * overload is kept.
 */

/** The Promise-returning signature among a generated method's overloads. */
export type PromiseSignature<F> = F extends {
  (...args: infer A1): infer R1;
  (...args: infer A2): infer R2;
}
  ? R1 extends Promise<unknown>
    ? (...args: A1) => R1
    : R2 extends Promise<unknown>
      ? (...args: A2) => R2
      : never
  : F extends (...args: infer A) => infer R
    ? R extends Promise<unknown>
      ? (...args: A) => R
      : never
    : never;

/** Names of the methods of generated client `C`. */
export type MethodNames<C> = {
  [K in keyof C & string]: [PromiseSignature<C[K]>] extends [never] ? never : K;
}[keyof C & string];

/** Calls of a generated client `C`, each returning a Promise. */
export type ServiceMethods<C> = { [K in MethodNames<C>]: PromiseSignature<C[K]> };

/** `asend_X(...args)`: writes the call of X now; its reply is held for `arecv_X(...args)`. */
export type AsendMethods<C> = {
  [K in MethodNames<C> as `asend_${K}`]: (...args: Parameters<PromiseSignature<C[K]>>) => void;
};

/** `arecv_X(...args)`: the reply of the earlier `asend_X` with equal arguments. */
export type ArecvMethods<C> = {
  [K in MethodNames<C> as `arecv_${K}`]: PromiseSignature<C[K]>;
};

/**
 * What `ThriftClient.instance<C>()` returns for generated client type `C`.
 *
 * @example
 * type Hello = import('../gen/HelloWorld/HelloWorld.js').Client;
 * const client: ServiceProxy<Hello> = ThriftClient.instance<Hello>('HelloWorld');
 */
export type ServiceProxy<C> = ServiceMethods<C> & AsendMethods<C> & ArecvMethods<C>;

/** The shape used when no generated client type is given: any method, untyped. */
export type UntypedServiceProxy = Record<string, (...args: any[]) => any>;

/**
 * Maps service names to generated client types, filled in by declaration merging so that
 * `ThriftClient.instance('HelloWorld')` is typed without a type argument.
 *
 * @example
 * declare module 'thrifthost/client' {
 *   interface ThriftServiceMap { HelloWorld: import('./gen/HelloWorld/HelloWorld.js').Client }
 * }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by declaration merging
export interface ThriftServiceMap {}
