/**
 * Service name -> what a worker needs to serve it: the generated method table and the user's
 * handler, wrapped so the connection code can call any method the same way whether the
 * handler returns a value, a promise, or takes a Node-style callback; with the handler module's
 * interceptors and `init` / `close` hooks.
 */
import thrift from 'thrift';
import type { ServerInterceptor } from './call-context.js';
import { ThriftHostError } from '../common/errors.js';
import { type GeneratedService, loadGeneratedService, type MethodInfo } from '../codec/generated-service.js';
import type { ServiceBinding, ServiceConfig } from '../config/config.js';
import { HandlerLoadError, importHandlerModule, pickHandlerExport, requireHandlerModule } from './handler-module.js';
import type { MethodCounter, StatsRegistry } from '../monitoring/stats.js';

export { HandlerLoadError } from './handler-module.js';

/** A handler module's `init()` threw: the worker does not start (a reload keeps the old workers). */
export class HandlerInitError extends ThriftHostError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_HANDLER_INIT', message, options);
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
  /** `init` / `close` exported by the handler modules, in binding order. */
  readonly lifecycle: readonly LifecycleHooks[];
}

/** What a handler module's `init(context)` receives. */
export interface InitContext {
  /** IDL service name. */
  readonly service: string;
  /** The validated service entry of rpc.config.json. */
  readonly config: ServiceConfig;
  /** The worker's logger. */
  readonly log: import('../host/logger.js').Logger;
}

/** The lifecycle functions one handler module exports. */
export interface LifecycleHooks {
  readonly service: string;
  readonly handler: string;
  /** Awaited before the worker listens: open pools, warm caches. A throw fails the start or reload. */
  readonly init?: (context: InitContext) => unknown;
  /** Awaited when the worker drains or stops (bounded by gracefulTimeoutMs): close what init opened. */
  readonly close?: () => unknown;
}

/**
 * Loads the generated code, handler, interceptors and hooks of every service a listener serves,
 * importing each module with `import()` (ESM, CommonJS, TypeScript, top-level await). What
 * workers use.
 * @throws GeneratedCodeError when the generated code is missing or of the wrong shape
 * @throws HandlerLoadError when a module throws, is missing, or lacks methods
 */
export async function importServiceTable(config: ServiceConfig, stats: StatsRegistry): Promise<ServiceTable> {
  const modules: Record<string, unknown>[] = [];
  for (const binding of config.bindings) {
    modules.push(binding.module ?? (await importHandlerModule(binding.handler, describe(binding))));
  }
  const interceptorModules: Record<string, unknown>[] = [];
  for (const file of config.interceptors) {
    interceptorModules.push(await importHandlerModule(file, interceptorOwner(file, config)));
  }
  return buildTable(config, stats, modules, interceptorModules);
}

/**
 * {@link importServiceTable} with `require()` instead of `import()`: the synchronous path of
 * `new ThriftServer()` in-process. Everything but an ES module with top-level await loads.
 */
export function loadServiceTable(config: ServiceConfig, stats: StatsRegistry): ServiceTable {
  const modules = config.bindings.map((b) => b.module ?? requireHandlerModule(b.handler, describe(b)));
  const interceptorModules = config.interceptors.map((file) => requireHandlerModule(file, interceptorOwner(file, config)));
  return buildTable(config, stats, modules, interceptorModules);
}

/** Requires a handler module and returns its handler, as {@link handlerFromModule} finds it. */
export function loadHandler(binding: ServiceBinding, generated: GeneratedService): Record<string, unknown> {
  return handlerFromModule(
    binding.module ?? requireHandlerModule(binding.handler, describe(binding)),
    binding,
    generated,
  );
}

/**
 * Finds the handler in a loaded module: the export named `<Service>Handler`, else `default`,
 * else `handler`, else the module itself. A class is instantiated; a plain function is called
 * as a factory.
 * @throws HandlerLoadError when there is no handler object or it lacks a method of the IDL
 */
export function handlerFromModule(
  mod: Record<string, unknown>,
  binding: ServiceBinding,
  generated: GeneratedService,
): Record<string, unknown> {
  const where = describe(binding);
  let handler: unknown = pickHandlerExport(mod, binding.service);
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

function describe(binding: ServiceBinding): string {
  return `handler ${binding.handler} of service ${binding.service}`;
}

function interceptorOwner(file: string, config: ServiceConfig): string {
  return `interceptor module ${file} of service ${config.name}`;
}

function buildTable(
  config: ServiceConfig,
  stats: StatsRegistry,
  modules: readonly Record<string, unknown>[],
  interceptorModules: readonly Record<string, unknown>[],
): ServiceTable {
  const configured = interceptorModules.flatMap((mod, i) => interceptorsOf(mod, config.interceptors[i]!, config));
  const methods = new Map<string, MethodEntry>();
  const lifecycle: LifecycleHooks[] = [];
  config.bindings.forEach((binding, i) => {
    const mod = modules[i]!;
    const generated = loadGeneratedService(config.genDir, binding.service);
    const handler = handlerFromModule(mod, binding, generated);
    const interceptors = [...configured, ...handlerInterceptors(mod, binding)];
    lifecycle.push(lifecycleHooks(mod, binding));
    for (const info of generated.methods.values()) {
      const wireName = config.multiplexed ? `${binding.service}:${info.name}` : info.name;
      methods.set(wireName, createEntry(binding.service, info, handler, stats, interceptors, config.callContext));
    }
  });
  return { multiplexed: config.multiplexed, methods, services: config.bindings.map((b) => b.service), lifecycle };
}

/** An export of a module loaded either way (import() of CommonJS puts module.exports in `default`). */
function exported(mod: Record<string, unknown>, name: string): unknown {
  if (mod[name] !== undefined) return mod[name];
  const cjs = mod.default;
  return cjs !== null && typeof cjs === 'object' ? (cjs as Record<string, unknown>)[name] : undefined;
}

/**
 * The interceptors a module exports: `interceptors`, `default` or `interceptor` (a function or
 * an array of functions), or the module itself when it is a function.
 */
function interceptorsOf(mod: Record<string, unknown>, file: string, config: ServiceConfig): ServerInterceptor[] {
  const found = typeof mod === 'function' ? mod : (exported(mod, 'interceptors') ?? mod.default ?? exported(mod, 'interceptor'));
  const list = Array.isArray(found) ? found : [found];
  if (list.length === 0 || list.some((f) => typeof f !== 'function')) {
    throw new HandlerLoadError(
      `${interceptorOwner(file, config)} exports no interceptor: export default (or \`interceptors\`) a function (context, next) => result, or an array of them`,
    );
  }
  return list as ServerInterceptor[];
}

/** The `init` and `close` functions a handler module exports, if any. */
function lifecycleHooks(mod: Record<string, unknown>, binding: ServiceBinding): LifecycleHooks {
  const init = exported(mod, 'init');
  const close = exported(mod, 'close');
  for (const [name, fn] of [['init', init], ['close', close]] as const) {
    if (fn !== undefined && typeof fn !== 'function') {
      throw new HandlerLoadError(`${describe(binding)} exports \`${name}\` that is not a function`);
    }
  }
  return {
    service: binding.service,
    handler: binding.handler,
    ...(init ? { init: init as LifecycleHooks['init'] } : {}),
    ...(close ? { close: close as LifecycleHooks['close'] } : {}),
  };
}

/** Interceptors the handler module exports as `interceptors` (an array of functions), if any. */
function handlerInterceptors(mod: Record<string, unknown>, binding: ServiceBinding): ServerInterceptor[] {
  const list = exported(mod, 'interceptors');
  if (list === undefined) return [];
  if (!Array.isArray(list) || list.some((f) => typeof f !== 'function')) {
    throw new HandlerLoadError(`${describe(binding)} exports \`interceptors\` that is not an array of functions`);
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
