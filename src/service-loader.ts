/**
 * Service name -> what a worker needs to serve it: the generated method table and the user's
 * handler, wrapped so the connection code can call any method the same way whether the
 * handler returns a value, a promise, or takes a Node-style callback.
 */
import thrift from 'thrift';
import { type GeneratedService, loadGeneratedService, type MethodInfo } from './common/generated-service.js';
import type { ServiceBinding, ServiceConfig } from './config.js';
import { HandlerLoadError, importHandlerModule, pickHandlerExport, requireHandlerModule } from './handler-module.js';
import type { MethodCounter, StatsRegistry } from './stats.js';

export { HandlerLoadError } from './handler-module.js';

/** One callable method: generated description + user function + its counters. */
export interface MethodEntry {
  /** `Service.method`, the stats key. */
  readonly key: string;
  readonly service: string;
  readonly info: MethodInfo;
  readonly counter: MethodCounter;
  /** Calls the user's handler with the decoded args: a value, a promise, or a throw. */
  invoke(args: Record<string, unknown>): unknown;
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
 * Loads the generated code and handler of every service a listener serves, importing each
 * handler with `import()` (ESM, CommonJS, TypeScript, top-level await). What workers use.
 * @throws GeneratedCodeError when the generated code is missing or of the wrong shape
 * @throws HandlerLoadError when the handler module throws, is missing, or lacks methods
 */
export async function importServiceTable(config: ServiceConfig, stats: StatsRegistry): Promise<ServiceTable> {
  const handlers: Record<string, unknown>[] = [];
  for (const binding of config.bindings) {
    const generated = loadGeneratedService(config.genDir, binding.service);
    const mod = await importHandlerModule(binding.handler, describe(binding));
    handlers.push(handlerFromModule(mod, binding, generated));
  }
  return buildTable(config, stats, handlers);
}

/**
 * {@link importServiceTable} with `require()` instead of `import()`: the synchronous path of
 * `new ThriftServer()` in-process. Everything but an ES module with top-level await loads.
 */
export function loadServiceTable(config: ServiceConfig, stats: StatsRegistry): ServiceTable {
  const handlers = config.bindings.map((binding) => loadHandler(binding, loadGeneratedService(config.genDir, binding.service)));
  return buildTable(config, stats, handlers);
}

/** Requires a handler module and returns its handler, as {@link handlerFromModule} finds it. */
export function loadHandler(binding: ServiceBinding, generated: GeneratedService): Record<string, unknown> {
  return handlerFromModule(requireHandlerModule(binding.handler, describe(binding)), binding, generated);
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

function buildTable(
  config: ServiceConfig,
  stats: StatsRegistry,
  handlers: readonly Record<string, unknown>[],
): ServiceTable {
  const methods = new Map<string, MethodEntry>();
  config.bindings.forEach((binding, i) => {
    const generated = loadGeneratedService(config.genDir, binding.service);
    for (const info of generated.methods.values()) {
      const wireName = config.multiplexed ? `${binding.service}:${info.name}` : info.name;
      methods.set(wireName, createEntry(binding.service, info, handlers[i]!, stats));
    }
  });
  return { multiplexed: config.multiplexed, methods, services: config.bindings.map((b) => b.service) };
}

function createEntry(
  service: string,
  info: MethodInfo,
  handler: Record<string, unknown>,
  stats: StatsRegistry,
): MethodEntry {
  const fn = handler[info.name] as (...args: unknown[]) => unknown;
  const argNames = info.argNames;
  const argc = argNames.length;
  // Callback style when the function takes one more parameter than the IDL declares.
  const callbackStyle = fn.length === argc + 1;
  const { Result, exceptionFields } = info;
  const key = `${service}.${info.name}`;
  return {
    key,
    service,
    info,
    counter: stats.counter(key),
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
