/**
 * `ThriftClient`: the entry point of the client library, after workerman-thrift's PHP client.
 * `config()` registers services and their addresses, `instance()` returns a cached, typed client
 * object per service, `multi()` runs several calls at once and reports each outcome by key.
 */
import type { CallObserver } from './call-report.js';
import { callerDir } from './caller-dir.js';
import { validateClientConfig } from './client-config.js';
import type { ClientConfig, ResolvedServiceOptions, ServiceClientOptions } from './client-options.js';
import type { ServiceProxy, ThriftServiceMap, UntypedServiceProxy } from './client-types.js';
import { ClientConfigError, UnknownServiceError } from './errors.js';
import type { DiscoveryLog, DiscoveryStatus } from './registry-discovery.js';
import { type ClientStatus, ServiceClient } from './service-client.js';
import { createStatsReporter, type StatsReporter } from './stats-reporter.js';

/** Process-wide hooks, the second argument of {@link ThriftClient.config}. */
export interface ClientRuntimeOptions {
  /** Called once per finished call (success or failure); the monitoring hook. @default undefined */
  onCallDone?: CallObserver;
  /** Epoch-milliseconds clock used for eviction and back-off. @default Date.now */
  now?: () => number;
  /** Random source in [0, 1) used to pick addresses and jitter back-off. @default Math.random */
  random?: () => number;
  /**
   * Ship a report of every call (service, method, outcome, latency, address) to a thrifthost
   * statistics listener, fire and forget, e.g. `'udp://127.0.0.1:55656'` (the host's `stats.udp`).
   * @default undefined (no reports)
   */
  statistics?: string;
  /**
   * Registry discovery notices: etcd unreachable / back, instances refused, instances entering
   * and leaving ('info'). @default warnings go to `process.emitWarning`, notices are dropped
   */
  log?: DiscoveryLog;
}

/** What {@link ThriftClient.multi} accepts: a call (a function returning a Promise) or a Promise per key. */
export type MultiCalls = Record<string, (() => PromiseLike<unknown>) | PromiseLike<unknown>>;

/** Outcome of {@link ThriftClient.multi}: every key is in exactly one of `results` and `errors`. */
export interface MultiResult<T extends MultiCalls> {
  results: { [K in keyof T]?: Awaited<T[K] extends () => infer R ? R : T[K]> };
  errors: { [K in keyof T]?: unknown };
}

/**
 * The names `instance()` accepts without a type argument: any while {@link ThriftServiceMap} is
 * empty (untyped), else only its keys, so that a misspelt service name fails to compile.
 */
export type UnregisteredName = [keyof ThriftServiceMap] extends [never] ? string : keyof ThriftServiceMap;

/**
 * What {@link ThriftClient.config} accepts: any service names while {@link ThriftServiceMap} is
 * empty, else only its keys, so that a misspelt service name fails to compile (an object literal
 * with a name outside the map is refused; a config typed `ClientConfig` is not checked).
 */
export type ServicesConfig = [keyof ThriftServiceMap] extends [never]
  ? ClientConfig
  : { [K in keyof ThriftServiceMap]?: ServiceClientOptions };

const SERVICE_CLIENT = Symbol('thrifthost.serviceClient');

/**
 * The failover Thrift client.
 *
 * @example
 * ThriftClient.config({ HelloWorld: { addresses: ['127.0.0.1:9090', '127.0.0.1:9191'] } });
 * const hello = ThriftClient.instance<import('./gen/HelloWorld/HelloWorld.js').Client>('HelloWorld');
 * await hello.sayHello('TOM');
 * hello.asend_sayHello('JERRY');
 * await hello.arecv_sayHello('JERRY');
 */
export class ThriftClient {
  private static services = new Map<string, ResolvedServiceOptions>();
  private static runtime: ClientRuntimeOptions = {};
  private static instances = new Map<string, ServiceClient>();
  private static reporter: StatsReporter | undefined;
  /** Every instance handed out, cached or not: what close()/destroy() shut down. */
  private static everyInstance = new Set<ServiceClient>();

  private constructor() {}

  /**
   * Registers services (merged with earlier calls; a service given again replaces its entry).
   * The next {@link instance} call of a re-registered service builds a new client; objects
   * handed out before keep working with the old entry until {@link close}. Each service's
   * generated code must be where the first `instance()` will load it from: a misspelt service
   * name is refused here, with a "did you mean".
   * @throws ClientConfigError naming the service, the field and the constraint.
   */
  static config(config: ServicesConfig, runtime?: ClientRuntimeOptions): void {
    // Relative paths (serviceDir, generated) resolve like an import in the calling file.
    const resolved = validateClientConfig(config, callerDir());
    if (runtime !== undefined) {
      if (typeof runtime !== 'object' || runtime === null)
        throw new ClientConfigError('ThriftClient.config: runtime options must be an object');
      const reporter = runtime.statistics === undefined ? undefined : createStatsReporter(runtime.statistics);
      void ThriftClient.reporter?.close();
      ThriftClient.reporter = reporter;
      ThriftClient.runtime = {
        ...runtime,
        onCallDone: chainObservers(runtime.onCallDone, reporter?.observe),
      };
      for (const name of [...ThriftClient.instances.keys()]) ThriftClient.dropInstance(name);
    }
    for (const [name, options] of resolved) {
      ThriftClient.services.set(name, options);
      ThriftClient.dropInstance(name);
    }
  }

  /**
   * The client of a configured service: cached per name; `forceNew` builds a fresh one (own
   * pools) and caches it instead (the previous one keeps working for whoever holds it). Typed
   * from {@link ThriftServiceMap} (filled in by the `services.d.ts` that `rpc gen` writes: a
   * name missing from it is then a type error), or from the generated client given as `C`.
   * @throws UnknownServiceError when the service is not configured or its generated code is missing.
   */
  static instance<K extends keyof ThriftServiceMap>(
    name: K,
    forceNew?: boolean,
  ): ServiceProxy<ThriftServiceMap[K]>;
  static instance<C = never>(
    name: [C] extends [never] ? UnregisteredName : string,
    forceNew?: boolean,
  ): [C] extends [never] ? UntypedServiceProxy : ServiceProxy<C>;
  static instance(name: string, forceNew = false): unknown {
    let client = forceNew ? undefined : ThriftClient.instances.get(name);
    if (!client) {
      const options = ThriftClient.services.get(name);
      if (!options) {
        const known = [...ThriftClient.services.keys()];
        throw new UnknownServiceError(
          `ThriftClient.instance: service ${name} is not configured ` +
            `(configured: ${known.length ? known.join(', ') : 'none'}); add it with ThriftClient.config({ ${name}: { addresses: [...] } })`,
        );
      }
      client = new ServiceClient(options, ThriftClient.runtime);
      ThriftClient.instances.set(name, client);
      ThriftClient.everyInstance.add(client);
    }
    return proxyOf(client);
  }

  /**
   * Runs calls concurrently, possibly on different services; never rejects. Each key lands in
   * `results` or in `errors`.
   *
   * @example
   * const { results, errors } = await ThriftClient.multi({
   *   hello: () => hello.sayHello('TOM'),
   *   item: () => catalog.get(id),
   * });
   */
  static async multi<T extends MultiCalls>(calls: T): Promise<MultiResult<T>> {
    const keys = Object.keys(calls) as (keyof T & string)[];
    const settled = await Promise.allSettled(
      keys.map((k) => {
        const call = calls[k];
        try {
          return typeof call === 'function' ? call() : call;
        } catch (err) {
          return Promise.reject(err);
        }
      }),
    );
    const out: MultiResult<T> = { results: {}, errors: {} };
    settled.forEach((s, i) => {
      const key = keys[i] as keyof T;
      if (s.status === 'fulfilled') out.results[key] = s.value as never;
      else out.errors[key] = s.reason;
    });
    return out;
  }

  /** The engine behind an instance: pools, address state, split calls. For diagnostics and tests. */
  static serviceClientOf(instance: object): ServiceClient | undefined {
    return (instance as { [SERVICE_CLIENT]?: ServiceClient })[SERVICE_CLIENT];
  }

  /**
   * Where registry discovery of a service stands (state, addresses in use, refused instances,
   * outages): undefined for a service without `registry` or not instantiated yet.
   */
  static discoveryStatus(name: string): DiscoveryStatus | undefined {
    return ThriftClient.instances.get(name)?.discoveryStatus();
  }

  /**
   * Where the client of a service stands: per address its breaker (closed, open, half-open),
   * eviction and back-off, failures in a row, success rate, calls in flight, latency estimate,
   * reported load and slow-start share; the retry budget; retries, budget refusals and backup
   * requests sent and won; registry discovery. Undefined for a service not instantiated yet.
   *
   * @example
   * const { addresses, retryBudget } = ThriftClient.inspect('HelloWorld')!;
   * for (const a of addresses) console.log(a.address, a.breaker, a.latencyMs, a.inFlight);
   */
  static inspect(name: string): ClientStatus | undefined {
    return ThriftClient.instances.get(name)?.status();
  }

  /** Drains every instance handed out: pending calls finish, connections close. Config is kept. Idempotent. */
  static async close(): Promise<void> {
    await Promise.all(ThriftClient.takeAll().map((c) => c.close()));
  }

  /** Aborts every instance handed out: pending calls are rejected, sockets destroyed. Idempotent. */
  static async destroy(): Promise<void> {
    await Promise.all(ThriftClient.takeAll().map((c) => c.destroy()));
  }

  /** Forgets all configuration and closes every instance (mainly for tests). */
  static async reset(): Promise<void> {
    ThriftClient.services.clear();
    ThriftClient.runtime = {};
    await ThriftClient.reporter?.close();
    ThriftClient.reporter = undefined;
    await ThriftClient.destroy();
  }

  // --- internal ---

  private static dropInstance(name: string): void {
    ThriftClient.instances.delete(name);
  }

  private static takeAll(): ServiceClient[] {
    const all = [...ThriftClient.everyInstance];
    ThriftClient.everyInstance.clear();
    ThriftClient.instances.clear();
    return all;
  }
}

// --- internal ---

function chainObservers(a?: CallObserver, b?: CallObserver): CallObserver | undefined {
  if (!a || !b) return a ?? b;
  return (report) => {
    a(report);
    b(report);
  };
}

const proxies = new WeakMap<ServiceClient, object>();

/** A plain object with one function per method and per `asend_`/`arecv_` pair (no Proxy). */
function proxyOf(client: ServiceClient): object {
  let proxy = proxies.get(client);
  if (proxy) return proxy;
  const target: Record<string, unknown> = {};
  for (const name of client.generated.methods.keys()) {
    target[name] = (...args: unknown[]) => client.call(name, args);
    target[`asend_${name}`] = (...args: unknown[]) => client.send(name, args);
    target[`arecv_${name}`] = (...args: unknown[]) => client.receive(name, args);
  }
  Object.defineProperty(target, SERVICE_CLIENT, { value: client });
  proxy = Object.freeze(target);
  proxies.set(client, proxy);
  return proxy;
}
