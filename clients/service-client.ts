/**
 * The call engine of one configured service: picks an address, borrows a pooled connection,
 * writes the call, and fails over when that is safe. A request that was never written
 * (connect refused/timeout, pool exhausted, connection already gone) goes to another address;
 * one that may have reached a server is retried only for methods declared `idempotent`; one
 * the server shed without running it ("overloaded, not run") goes to another address whatever
 * the method. `callTimeoutMs` bounds the whole call: each attempt gets what is left.
 */
import { performance } from 'node:perf_hooks';
import thrift from 'thrift';
import { parseAddress } from '../src/common/address.js';
import { runChain } from '../src/common/interceptor-chain.js';
import { injectTraceContext } from '../src/common/trace-propagation.js';
import {
  type GeneratedService,
  loadGeneratedFile,
  loadGeneratedService,
  type MethodInfo,
  type ServiceDescription,
} from '../src/codec/generated-service.js';
import { AddressManager } from './address-manager.js';
import { type ClientCallContext, scopedHeaders } from './call-headers.js';
import type { CallObserver } from './call-report.js';
import type { ResolvedServiceOptions } from './client-options.js';
import type { Connection } from './connection.js';
import { callDeadline, DEADLINE_HEADER } from './call-deadline.js';
import { ConnectionPool } from './connection-pool.js';
import {
  CallTransportError,
  ClientClosedError,
  ConnectFailedError,
  NoAvailableAddressError,
  PoolAcquireTimeoutError,
  RegistryUnavailableError,
  ServerOverloadedError,
  ThriftHostError,
  UnknownMethodError,
  UnknownServiceError,
} from './errors.js';
import type { DiscoveryLog, DiscoveryStatus, RegistryDiscovery } from './registry-discovery.js';
import { SplitCalls } from './split-calls.js';

/** Hooks injected by tests and by `ThriftClient.config(..., runtime)`. */
export interface ServiceClientRuntime {
  now?: () => number;
  random?: () => number;
  onCallDone?: CallObserver;
  /** Registry discovery notices (etcd outages, refused instances). @default process.emitWarning for warnings */
  log?: DiscoveryLog;
}

/** Calls to one service across its addresses. */
export class ServiceClient {
  readonly generated: ServiceDescription;
  readonly addresses: AddressManager;
  readonly split: SplitCalls;
  private readonly pools = new Map<string, ConnectionPool>();
  private closed = false;
  /** Registry discovery, loaded lazily (only entries with `registry` pay for it). */
  private discovery: RegistryDiscovery | undefined;
  private discoveryReady: Promise<RegistryDiscovery | undefined> | undefined;

  /** `service`: the methods, when they come from the IDL at run time (GenericClient) rather than generated code. */
  constructor(
    readonly options: ResolvedServiceOptions,
    private readonly runtime: ServiceClientRuntime = {},
    service?: ServiceDescription,
  ) {
    this.generated = service ?? loadService(options);
    for (const m of options.idempotent) {
      if (!this.generated.methods.has(m)) {
        throw new UnknownMethodError(
          `ThriftClient.config: ${options.service}.idempotent lists ${m}, which ${options.service} does not declare ` +
            `(methods: ${[...this.generated.methods.keys()].join(', ')})`,
        );
      }
    }
    this.addresses = new AddressManager({
      service: options.service,
      addresses: options.addresses,
      detectRate: options.detectRate,
      evictAfterFailures: options.evictAfterFailures,
      backoff: {
        initialMs: options.backoffInitialMs,
        maxMs: options.backoffMaxMs,
        multiplier: options.backoffMultiplier,
        jitter: options.backoffJitter,
      },
      ...(options.registry
        ? {
            stateKey: [
              ...options.registry.endpoints,
              `${options.registry.prefix}${options.registry.service}/`,
              ...options.addresses,
            ],
          }
        : {}),
      stateDir: options.shareState ? options.stateDir : undefined,
      stateSyncMs: options.stateSyncMs,
      now: runtime.now,
      random: runtime.random,
    });
    this.split = new SplitCalls(options.service, options.callTimeoutMs);
    if (options.registry) this.discoveryReady = this.startDiscovery();
  }

  /** Where registry discovery stands; undefined for an entry without `registry` (or before it loaded). */
  discoveryStatus(): DiscoveryStatus | undefined {
    return this.discovery?.status();
  }

  /** The method's description. @throws UnknownMethodError */
  method(name: string): MethodInfo {
    const m = this.generated.methods.get(name);
    if (!m) {
      throw new UnknownMethodError(
        `${this.options.service} has no method ${name} (methods: ${[...this.generated.methods.keys()].join(', ')})`,
      );
    }
    return m;
  }

  /** Calls `name` with positional arguments through the interceptors, failing over as configured. */
  call(name: string, args: readonly unknown[]): Promise<unknown> {
    const { interceptors, headers } = this.options;
    const scoped = scopedHeaders();
    const header = this.options.transport === 'header';
    if (interceptors.length === 0) {
      let merged: Map<string, string> | ReadonlyMap<string, string> | undefined =
        scoped || header ? new Map([...headers, ...(scoped ?? [])]) : headers.size > 0 ? headers : undefined;
      // The caller's OpenTelemetry trace context travels with THeader calls.
      if (header) injectTraceContext(merged as Map<string, string>);
      if (merged?.size === 0) merged = undefined;
      return this.callWith(name, args, merged);
    }
    const context: ClientCallContext = {
      service: this.options.service,
      method: name,
      args: [...args],
      headers: new Map([...headers, ...(scoped ?? [])]),
    };
    if (header) injectTraceContext(context.headers);
    try {
      return Promise.resolve(runChain(interceptors, context, () => this.callWith(name, context.args, context.headers)));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private async callWith(
    name: string,
    args: readonly unknown[],
    headers: ReadonlyMap<string, string> | undefined,
  ): Promise<unknown> {
    const method = this.method(name);
    if (this.closed) throw new ClientClosedError(`${this.options.service}.${name}: the client is closed`);
    const observer = this.runtime.onCallDone;
    const start = observer ? performance.now() : 0;
    const payload: Record<string, unknown> = {};
    method.argNames.forEach((arg, i) => {
      payload[arg] = args[i];
    });

    const tried = new Set<string>();
    const deadline = callDeadline(this.options.callTimeoutMs);
    let address: string | undefined;
    let lastError: unknown;
    try {
      // Only while no address is known: once the registry (or a static list) gave one, no wait.
      if (this.discoveryReady && this.addresses.addresses.length === 0) await this.awaitFirstListing(name);
      for (let attempt = 0; attempt <= this.options.retries; attempt++) {
        const left = deadline - Date.now();
        // A retry never outlives the call's deadline: what failed last is the answer.
        if (attempt > 0 && left <= 0) throw lastError;
        try {
          address = this.addresses.pick(tried, lastError).address;
        } catch (err) {
          // Every address shed the call: say so, rather than that none is available.
          if (lastError instanceof ServerOverloadedError) throw lastError;
          throw err;
        }
        tried.add(address);
        try {
          const value = await this.attempt(address, method, payload, headers, Math.max(1, left));
          this.addresses.succeeded(address);
          if (observer) this.report(observer, name, start, address, tried.size, undefined);
          return value;
        } catch (err) {
          if (!(err instanceof CallTransportError)) {
            // The server answered (declared exception, TApplicationException) or the args did not encode.
            if (!(err instanceof ThriftHostError)) this.addresses.succeeded(address);
            throw err;
          }
          lastError = err;
          if (err instanceof ConnectFailedError) this.addresses.connectFailed(address);
          else if (err.requestSent) this.addresses.callFailed(address);
          if (err.requestSent && !this.options.idempotent.has(name)) throw err;
        }
      }
      throw lastError;
    } catch (err) {
      if (observer) this.report(observer, name, start, address, tried.size, err);
      throw err;
    }
  }

  /** `asend_X`: writes the call now and holds its reply for {@link receive}. */
  send(name: string, args: readonly unknown[]): void {
    this.method(name);
    this.split.hold(name, args, () => this.call(name, args));
  }

  /** `arecv_X`: the reply of the matching earlier {@link send}. */
  receive(name: string, args: readonly unknown[]): Promise<unknown> {
    this.method(name);
    return this.split.collect(name, args);
  }

  /** The pool of one address (created on first use). */
  pool(address: string): ConnectionPool {
    let pool = this.pools.get(address);
    if (!pool) {
      const { host, port } = parseAddress(address) as { host: string; port: number };
      const o = this.options;
      pool = new ConnectionPool({
        host,
        port,
        address,
        service: o.service,
        protocol: o.protocol,
        framed: o.transport !== 'buffered',
        header: o.transport === 'header',
        connectTimeoutMs: o.connectTimeoutMs,
        tls: o.tls,
        limits: {
          maxMessageBytes: o.maxReplyBytes,
          maxStringBytes: o.maxStringBytes,
          maxContainerElements: o.maxContainerElements,
          maxDepth: o.maxDepth,
        },
        i64: o.i64,
        min: o.poolMin,
        max: o.poolMax,
        idleTimeoutMs: o.poolIdleTimeoutMs,
        acquireTimeoutMs: o.callTimeoutMs,
        maxInFlightPerConnection: o.maxInFlightPerConnection,
      });
      this.pools.set(address, pool);
    }
    return pool;
  }

  /** Drains: no new calls; pending ones finish (bounded by the call timeout). Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopDiscovery();
    this.split.clear();
    await Promise.all([...this.pools.values()].map((p) => p.close()));
  }

  /** Aborts: pending calls are rejected now. Idempotent. */
  async destroy(): Promise<void> {
    this.closed = true;
    this.stopDiscovery();
    this.split.clear();
    await Promise.all([...this.pools.values()].map((p) => p.close(true)));
  }

  // --- internal ---

  private async startDiscovery(): Promise<RegistryDiscovery | undefined> {
    const { RegistryDiscovery } = await import('./registry-discovery.js');
    if (this.closed) return undefined;
    const o = this.options;
    const log = this.runtime.log ?? defaultLog;
    this.discovery = new RegistryDiscovery({
      service: o.service,
      registry: o.registry as NonNullable<typeof o.registry>,
      protocol: o.protocol,
      transport: o.transport,
      log,
      onChange: (found, added, removed) => {
        this.addresses.setAddresses([...new Set([...o.addresses, ...found])]);
        for (const a of removed) {
          if (o.addresses.includes(a)) continue;
          // Calls in flight on it finish; its idle connections close; none is lent again.
          const pool = this.pools.get(a);
          this.pools.delete(a);
          void pool?.close().catch(() => {});
        }
        if (added.length || removed.length) {
          log('info', `ThriftClient ${o.service}: registry: +[${added.join(', ')}] -[${removed.join(', ')}]`);
        }
      },
    });
    return this.discovery;
  }

  /**
   * The first call of a discovering client waits for the first listing (bounded by the
   * registry's request timeout); without any address then, it fails with a clear error.
   */
  private async awaitFirstListing(method: string): Promise<void> {
    const discovery = await this.discoveryReady;
    if (!discovery || this.addresses.addresses.length > 0) return;
    const timeout = new Promise<boolean>((resolve) => {
      setTimeout(resolve, this.options.registry?.requestTimeoutMs ?? 0, false).unref();
    });
    const listed = await Promise.race([discovery.firstListing, timeout]);
    if (this.addresses.addresses.length > 0) return;
    const st = discovery.status();
    if (listed) {
      const refused = st.refused.map((r) => `${r.key}: ${r.reason}`).join('; ');
      throw new NoAvailableAddressError(
        `No available address for service ${this.options.service}: the registry at ${st.endpoints.join(', ')} ` +
          `lists no usable instance under ${st.keyPrefix}${refused ? ` (refused: ${refused})` : ''}. ` +
          'Check that a host serving it runs with a "registry" block.',
        [],
        [],
      );
    }
    throw new RegistryUnavailableError(
      `${this.options.service}.${method}: no address known yet: the registry at ${st.endpoints.join(', ')} ` +
        `could not be read (${st.lastError ?? 'no answer in time'}). Start etcd, fix registry.endpoints, ` +
        'or give static addresses as a fallback.',
    );
  }

  private stopDiscovery(): void {
    this.discovery?.close();
    this.discoveryReady = undefined;
  }

  private async attempt(
    address: string,
    method: MethodInfo,
    payload: Record<string, unknown>,
    headers: ReadonlyMap<string, string> | undefined,
    timeoutMs: number,
  ): Promise<unknown> {
    if (this.options.registry && !this.addresses.addresses.includes(address)) {
      // It left the registry between the pick and now (deregistered, or expired): go elsewhere.
      throw new ConnectFailedError(
        `${this.options.service}.${method.name}: ${address} left the registry before the call was written`,
        { service: this.options.service, method: method.name, address },
      );
    }
    const pool = this.pool(address);
    let conn: Connection;
    try {
      conn = await pool.acquire();
    } catch (err) {
      const target = { service: this.options.service, method: method.name, address };
      // The pool refuses while draining: the client was closed meanwhile, the address is fine.
      if (this.closed) {
        throw new ClientClosedError(`${target.service}.${target.method}: the client is closed`, { cause: err });
      }
      if ((err as Error)?.name === 'TimeoutError') {
        throw new PoolAcquireTimeoutError(
          `${target.service}.${target.method}: all ${this.options.poolMax} connections to ${address} stayed busy ` +
            `for ${this.options.callTimeoutMs} ms (raise poolMax or maxInFlightPerConnection)`,
          target,
          { cause: err },
        );
      }
      throw new ConnectFailedError(
        `${target.service}.${target.method}: cannot connect to ${address} (${(err as Error).message})`,
        target,
        { cause: err },
      );
    }
    if (this.options.transport === 'header') {
      // The host does not start a call whose caller will have stopped waiting.
      headers = new Map(headers).set(DEADLINE_HEADER, String(Math.ceil(timeoutMs)));
    }
    let reply: Promise<unknown>;
    try {
      reply = conn.call(method, payload, timeoutMs, headers);
    } finally {
      pool.release(conn);
    }
    try {
      return await reply;
    } catch (err) {
      if (err instanceof thrift.Thrift.TApplicationException && err.type === LOADSHEDDING) {
        throw new ServerOverloadedError(
          `${this.options.service}.${method.name}: ${address} is overloaded and did not run the call (${err.message})`,
          { service: this.options.service, method: method.name, address },
          { cause: err },
        );
      }
      throw err;
    }
  }

  private report(
    observer: CallObserver,
    method: string,
    start: number,
    address: string | undefined,
    attempts: number,
    error: unknown,
  ): void {
    try {
      observer({
        service: this.options.service,
        method,
        ok: error === undefined,
        errorCode: error === undefined ? undefined : errorCode(error),
        latencyMs: performance.now() - start,
        address,
        attempts,
      });
    } catch {
      // An observer must not turn a call's outcome into another one.
    }
  }
}

// --- internal ---

/** TApplicationException type of a call the server shed without running it (fbthrift's LOADSHEDDING). */
const LOADSHEDDING = 11;

function loadService(o: ResolvedServiceOptions): GeneratedService {
  try {
    return o.generated
      ? loadGeneratedFile(o.generated, o.service)
      : loadGeneratedService(o.serviceDir, o.service);
  } catch (err) {
    throw new UnknownServiceError(
      `ThriftClient: cannot load the generated client of ${o.service}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function defaultLog(level: 'info' | 'warn', message: string): void {
  if (level === 'warn') process.emitWarning(message, { code: 'THRIFTHOST_REGISTRY' });
}

function errorCode(err: unknown): string {
  if (err instanceof ThriftHostError) return err.code;
  if (err instanceof thrift.Thrift.TApplicationException) return `TApplicationException:${err.type}`;
  return (err as Error)?.name ?? 'Error';
}
