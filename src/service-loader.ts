/**
 * Service name -> what a worker needs to serve it: the generated method table and the user's
 * handler, wrapped so the connection code can call any method the same way whether the
 * handler returns a value, a promise, or takes a Node-style callback.
 */
import { createRequire } from 'node:module';
import thrift from 'thrift';
import type { ServerInterceptor } from './call-context.js';
import { ThriftHostError } from './common/errors.js';
import { type GeneratedService, loadGeneratedService, type MethodInfo } from './common/generated-service.js';
import type { ServiceBinding, ServiceConfig } from './config.js';
import type { MethodCounter, StatsRegistry } from './stats.js';

/** A handler module could not be loaded or does not implement its service. */
export class HandlerLoadError extends ThriftHostError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_HANDLER_LOAD', message, options);
  }
}

/** One callable method: generated description + user function + its counters. */
export interface MethodEntry {
  /** `Service.method`, the stats key. */
  readonly key: string;
  readonly service: string;
  readonly info: MethodInfo;
  readonly counter: MethodCounter;
  /** Calls the user's handler with the decoded args: a value, a promise, or a throw. */
  invoke(args: Record<string, unknown>): unknown;
  /** The decoded args in IDL order. */
  argv(args: Record<string, unknown>): unknown[];
  /** Calls the user's handler with positional arguments. */
  invokeArgv(argv: unknown[]): unknown;
  /** Server interceptors around this method (config first, then the handler module's). */
  readonly interceptors: readonly ServerInterceptor[];
  /** Whether calls run inside AsyncLocalStorage so `getCallContext()` works (`callContext`). */
  readonly callContext: boolean;
  /** The result struct for a thrown error when the IDL declares it for this method, else undefined. */
  declaredResult(err: unknown): { write(output: unknown): void } | undefined;
}

/** Method table of one listener, keyed by the name on the wire (`method` or `Service:method`). */
export interface ServiceTable {
  readonly multiplexed: boolean;
  readonly methods: ReadonlyMap<string, MethodEntry>;
  readonly services: readonly string[];
}

/**
 * Loads the generated code and handler of every service a listener serves.
 * @throws GeneratedCodeError when the generated code is missing or of the wrong shape
 * @throws HandlerLoadError when the handler module throws, is missing, or lacks methods
 */
export function loadServiceTable(config: ServiceConfig, stats: StatsRegistry): ServiceTable {
  const methods = new Map<string, MethodEntry>();
  const configured = config.interceptors.flatMap((file) => loadInterceptors(file, `service ${config.name}`));
  for (const binding of config.bindings) {
    const generated = loadGeneratedService(config.genDir, binding.service);
    const handler = loadHandler(binding, generated);
    const interceptors = [...configured, ...handlerInterceptors(binding)];
    for (const info of generated.methods.values()) {
      const wireName = config.multiplexed ? `${binding.service}:${info.name}` : info.name;
      methods.set(wireName, createEntry(binding.service, info, handler, stats, interceptors, config.callContext));
    }
  }
  return { multiplexed: config.multiplexed, methods, services: config.bindings.map((b) => b.service) };
}

/**
 * Requires a handler module and finds the handler in it: the export named `<Service>Handler`,
 * else `default`, else `handler`, else the module itself. A class is instantiated; a plain
 * function is called as a factory.
 */
export function loadHandler(binding: ServiceBinding, generated: GeneratedService): Record<string, unknown> {
  const where = `handler ${binding.handler} of service ${binding.service}`;
  let mod: Record<string, unknown>;
  try {
    mod = createRequire(binding.handler)(binding.handler);
  } catch (err) {
    throw new HandlerLoadError(`Loading ${where} failed: ${(err as Error).message}`, { cause: err });
  }
  let handler: unknown = mod[`${binding.service}Handler`] ?? mod.default ?? mod.handler ?? mod;
  if (typeof handler === 'function') {
    const fn = handler as Function & { prototype?: object };
    const isClass = /^class\b/.test(Function.prototype.toString.call(fn)) || hasOwnMethods(fn.prototype);
    try {
      handler = isClass ? new (fn as new () => unknown)() : (fn as () => unknown)();
    } catch (err) {
      throw new HandlerLoadError(`Constructing ${where} failed: ${(err as Error).message}`, { cause: err });
    }
  }
  if (typeof handler !== 'object' || handler === null) {
    throw new HandlerLoadError(
      `${where} exports no handler object: export \`${binding.service}Handler\` (an object or class with the service's methods)`,
    );
  }
  const h = handler as Record<string, unknown>;
  const missing = [...generated.methods.keys()].filter((m) => typeof h[m] !== 'function');
  if (missing.length > 0) {
    throw new HandlerLoadError(`${where} lacks method(s) ${missing.join(', ')} declared by the IDL`);
  }
  return h;
}

/** The exception a worker sends for an undeclared failure: no message, stack or type leaks. */
export function internalError(entry: MethodEntry): thrift.Thrift.TApplicationException {
  return new thrift.Thrift.TApplicationException(
    thrift.Thrift.TApplicationExceptionType.INTERNAL_ERROR,
    `Internal error in ${entry.key}`,
  );
}

// --- internal ---

/**
 * The interceptors a module exports: `default`, `interceptors` or `interceptor` (a function or
 * an array of functions), or the module itself when it is a function.
 */
function loadInterceptors(file: string, owner: string): ServerInterceptor[] {
  let mod: Record<string, unknown>;
  try {
    mod = createRequire(file)(file);
  } catch (err) {
    throw new HandlerLoadError(`Loading interceptor module ${file} of ${owner} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const found = typeof mod === 'function' ? mod : (mod.interceptors ?? mod.default ?? mod.interceptor);
  const list = Array.isArray(found) ? found : [found];
  if (list.length === 0 || list.some((f) => typeof f !== 'function')) {
    throw new HandlerLoadError(
      `Interceptor module ${file} of ${owner} exports no interceptor: export default (or \`interceptors\`) a function (context, next) => result, or an array of them`,
    );
  }
  return list as ServerInterceptor[];
}

/** Interceptors the handler module exports as `interceptors` (an array of functions), if any. */
function handlerInterceptors(binding: ServiceBinding): ServerInterceptor[] {
  const mod = createRequire(binding.handler)(binding.handler) as Record<string, unknown>;
  const list = mod.interceptors;
  if (list === undefined) return [];
  if (!Array.isArray(list) || list.some((f) => typeof f !== 'function')) {
    throw new HandlerLoadError(
      `handler ${binding.handler} of service ${binding.service} exports \`interceptors\` that is not an array of functions`,
    );
  }
  return list as ServerInterceptor[];
}

function createEntry(
  service: string,
  info: MethodInfo,
  handler: Record<string, unknown>,
  stats: StatsRegistry,
  interceptors: readonly ServerInterceptor[],
  callContext: boolean,
): MethodEntry {
  const fn = handler[info.name] as (...args: unknown[]) => unknown;
  const argNames = info.argNames;
  const argc = argNames.length;
  // Callback style when the function takes one more parameter than the IDL declares.
  const callbackStyle = fn.length === argc + 1;
  const { Result, exceptionFields } = info;
  const key = `${service}.${info.name}`;
  const invokeArgv = (argv: unknown[]): unknown => {
    if (!callbackStyle) return fn.apply(handler, argv);
    return new Promise((resolve, reject) => {
      fn.apply(handler, [
        ...argv.slice(0, argc),
        (err: unknown, value: unknown) => (err == null ? resolve(value) : reject(err)),
      ]);
    });
  };
  return {
    key,
    service,
    info,
    counter: stats.counter(key),
    interceptors,
    callContext,
    invokeArgv,
    argv(args) {
      const argv = new Array<unknown>(argc);
      for (let i = 0; i < argc; i++) argv[i] = args[argNames[i]!];
      return argv;
    },
    invoke(args) {
      const argv = new Array<unknown>(argc);
      for (let i = 0; i < argc; i++) argv[i] = args[argNames[i]!];
      if (!callbackStyle) return fn.apply(handler, argv);
      return new Promise((resolve, reject) => {
        argv.push((err: unknown, value: unknown) => (err == null ? resolve(value) : reject(err)));
        fn.apply(handler, argv);
      });
    },
    declaredResult(err) {
      if (exceptionFields.length === 0 || !(err instanceof thrift.Thrift.TException)) return undefined;
      // The generated result constructor files an exception into its field by instanceof.
      const result = new Result(err);
      return exceptionFields.some((f) => result[f] === err) ? result : undefined;
    },
  };
}

function hasOwnMethods(proto: object | undefined): boolean {
  return proto !== undefined && Object.getOwnPropertyNames(proto).some((k) => k !== 'constructor');
}
