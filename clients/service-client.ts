/**
 * The call engine of one configured service: picks an address, borrows a pooled connection,
 * writes the call, and fails over when that is safe. A request that was never written
 * (connect refused/timeout, pool exhausted, connection already gone) goes to another address;
 * one that may have reached a server is retried only for methods declared `idempotent`.
 */
import { performance } from 'node:perf_hooks';
import thrift from 'thrift';
import { parseAddress } from '../src/common/address.js';
import { runChain } from '../src/common/interceptor-chain.js';
import {
  type GeneratedService,
  loadGeneratedFile,
  loadGeneratedService,
  type MethodInfo,
} from '../src/common/generated-service.js';
import { AddressManager } from './address-manager.js';
import { type ClientCallContext, scopedHeaders } from './call-headers.js';
import type { CallObserver } from './call-report.js';
import type { ResolvedServiceOptions } from './client-options.js';
import type { Connection } from './connection.js';
import { ConnectionPool } from './connection-pool.js';
import {
  CallTransportError,
  ClientClosedError,
  ConnectFailedError,
  PoolAcquireTimeoutError,
  ThriftHostError,
  UnknownMethodError,
  UnknownServiceError,
} from './errors.js';
import { SplitCalls } from './split-calls.js';

/** Hooks injected by tests and by `ThriftClient.config(..., runtime)`. */
export interface ServiceClientRuntime {
  now?: () => number;
  random?: () => number;
  onCallDone?: CallObserver;
}

/** Calls to one service across its addresses. */
export class ServiceClient {
  readonly generated: GeneratedService;
  readonly addresses: AddressManager;
  readonly split: SplitCalls;
  private readonly pools = new Map<string, ConnectionPool>();
  private closed = false;

  constructor(
    readonly options: ResolvedServiceOptions,
    private readonly runtime: ServiceClientRuntime = {},
  ) {
    this.generated = loadService(options);
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
      stateDir: options.shareState ? options.stateDir : undefined,
      stateSyncMs: options.stateSyncMs,
      now: runtime.now,
      random: runtime.random,
    });
    this.split = new SplitCalls(options.service, options.callTimeoutMs);
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
    if (interceptors.length === 0) {
      const merged = scoped ? new Map([...headers, ...scoped]) : headers.size > 0 ? headers : undefined;
      return this.callWith(name, args, merged);
    }
    const context: ClientCallContext = {
      service: this.options.service,
      method: name,
      args: [...args],
      headers: new Map([...headers, ...(scoped ?? [])]),
    };
    return runChain(interceptors, context, () => this.callWith(name, context.args, context.headers));
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
    let address: string | undefined;
    let lastError: unknown;
    try {
      for (let attempt = 0; attempt <= this.options.retries; attempt++) {
        address = this.addresses.pick(tried, lastError).address;
        tried.add(address);
        try {
          const value = await this.attempt(address, method, payload, headers);
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
    this.split.clear();
    await Promise.all([...this.pools.values()].map((p) => p.close()));
  }

  /** Aborts: pending calls are rejected now. Idempotent. */
  async destroy(): Promise<void> {
    this.closed = true;
    this.split.clear();
    await Promise.all([...this.pools.values()].map((p) => p.close(true)));
  }

  // --- internal ---

  private async attempt(
    address: string,
    method: MethodInfo,
    payload: Record<string, unknown>,
    headers: ReadonlyMap<string, string> | undefined,
  ): Promise<unknown> {
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
    let reply: Promise<unknown>;
    try {
      reply = conn.call(method, payload, this.options.callTimeoutMs, headers);
    } finally {
      pool.release(conn);
    }
    return reply;
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

function errorCode(err: unknown): string {
  if (err instanceof ThriftHostError) return err.code;
  if (err instanceof thrift.Thrift.TApplicationException) return `TApplicationException:${err.type}`;
  return (err as Error)?.name ?? 'Error';
}
