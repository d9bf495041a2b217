/**
 * The client of one configured service: its addresses (health and load), connection pools,
 * retry budget, backup-request delays and registry discovery. How a call goes from attempt to
 * attempt (retries, backup requests) is `failover-call.ts`; one attempt on one address is
 * `pooled-attempt.ts`; what each outcome means is `attempt-outcome.ts`.
 */
import { parseAddress } from '../src/common/address.js';
import { runChain } from '../src/common/interceptor-chain.js';
import { injectTraceContext, loadTraceContext } from '../src/common/trace-propagation.js';
import {
  type GeneratedService,
  loadGeneratedFile,
  loadGeneratedService,
  type MethodInfo,
  type ServiceDescription,
} from '../src/codec/generated-service.js';
import { AddressManager, type AddressStatus } from './address-manager.js';
import { LOAD_HEADER } from '../src/common/theader-keys.js';
import type { Balancer } from './address-policy.js';
import { type ClientCallContext, scopedHeaders } from './call-headers.js';
import { type CallObserver, reportCode } from './call-report.js';
import { BACKUP_PERCENTILES, type BackupAfter, type ResolvedServiceOptions } from './client-options.js';
import { ConnectionPool } from './connection-pool.js';
import {
  ClientClosedError,
  ConnectFailedError,
  NoAvailableAddressError,
  RegistryUnavailableError,
  UnknownMethodError,
  UnknownServiceError,
} from './errors.js';
import { FailoverCall, type FailoverCounters, type FailoverEngine } from './failover-call.js';
import { LatencyWindow } from './latency-window.js';
import { type AttemptSettings, attemptOnPool } from './pooled-attempt.js';
import type { DiscoveryLog, DiscoveryStatus, RegistryDiscovery } from './registry-discovery.js';
import { RetryBudget, type RetryBudgetStatus } from './retry-budget.js';
import { SplitCalls } from './split-calls.js';

/** Hooks injected by tests and by `ThriftClient.config(..., runtime)`. */
export interface ServiceClientRuntime {
  now?: () => number;
  random?: () => number;
  onCallDone?: CallObserver;
  /** Registry discovery notices (etcd outages, refused instances). @default process.emitWarning for warnings */
  log?: DiscoveryLog;
}

/** What {@link ServiceClient.status} tells: where a service's client stands. */
export interface ClientStatus {
  service: string;
  balancer: Balancer;
  /** Breaker, eviction and load of every address. */
  addresses: AddressStatus[];
  /** Undefined when `retryBudget` is false. */
  retryBudget: RetryBudgetStatus | undefined;
  /** Calls, retries, budget refusals and backup requests since the client was made. */
  counters: FailoverCounters;
  /** `backupAfter` and, per idempotent method, the delay it gives now (undefined: not enough samples yet). */
  backup: { after: BackupAfter; delayMs: Record<string, number | undefined> } | undefined;
  /** Where registry discovery stands; undefined without `registry`. */
  discovery: DiscoveryStatus | undefined;
}

/** Calls to one service across its addresses. */
export class ServiceClient implements FailoverEngine {
  readonly generated: ServiceDescription;
  readonly addresses: AddressManager;
  readonly split: SplitCalls;
  /** Undefined when `retryBudget` is false. */
  readonly budget: RetryBudget | undefined;
  /**
   * With a percentile `backupAfter`: backups may add at most `1 - p` of the calls (p99: 1 %),
   * Finagle's maxExtraLoad. Without it, the jitter of the client's own event loop around a tight
   * p99 sent backups for 9 % of calls in chaos scenario 11 (almost all lost).
   */
  readonly backupBudget: RetryBudget | undefined;
  readonly counters: FailoverCounters = { calls: 0, retries: 0, budgetExhausted: 0, backupsSent: 0, backupsWon: 0 };
  /** Recent latencies of the methods whose backup delay is a percentile. */
  private readonly latencies = new Map<string, LatencyWindow>();
  private readonly now: () => number;
  private readonly pools = new Map<string, ConnectionPool>();
  private closed = false;
  /** What every attempt needs of the settings: built once, not per attempt. */
  private readonly attemptSettings: AttemptSettings;
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
      evictBelowSuccessRate: options.evictBelowSuccessRate,
      successRateWindow: options.successRateWindow,
      maxEvictedRatio: options.maxEvictedRatio,
      balancer: options.balancer,
      slowStartMs: options.slowStartMs,
      latencyDecayMs: options.latencyDecayMs,
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
    this.now = runtime.now ?? Date.now;
    this.attemptSettings = {
      poolMax: options.poolMax,
      callTimeoutMs: options.callTimeoutMs,
      header: options.transport === 'header',
      askLoad: options.transport === 'header' && options.balancer === 'least-loaded',
      closed: () => this.closed,
    };
    // THeader calls carry the trace context: load OpenTelemetry (if installed) now, not on the first call.
    if (this.attemptSettings.header) loadTraceContext();
    this.budget = options.retryBudget && new RetryBudget({ ...options.retryBudget, now: this.now });
    if (typeof options.backupAfter === 'string') {
      for (const m of options.idempotent) this.latencies.set(m, new LatencyWindow(LATENCY_WINDOW_MS, this.now()));
      const ratio = 1 - BACKUP_PERCENTILES[options.backupAfter];
      this.backupBudget = new RetryBudget({ ratio, minPerSec: 0, windowMs: LATENCY_WINDOW_MS, now: this.now });
    }
    this.split = new SplitCalls(options.service, options.callTimeoutMs);
    if (options.registry) this.discoveryReady = this.startDiscovery();
  }

  /** Breakers, load, retry budget, backup requests and discovery of this service, for inspection. */
  status(): ClientStatus {
    const { backupAfter } = this.options;
    return {
      service: this.options.service,
      balancer: this.options.balancer,
      addresses: this.addresses.status(),
      retryBudget: this.budget?.status(),
      counters: { ...this.counters },
      backup:
        backupAfter === undefined
          ? undefined
          : {
              after: backupAfter,
              delayMs: Object.fromEntries([...this.options.idempotent].map((m) => [m, this.backupDelay(m)])),
            },
      discovery: this.discoveryStatus(),
    };
  }

  /** When a backup request of `method` goes out (ms after the first attempt); undefined = none. */
  backupDelay(method: string): number | undefined {
    const after = this.options.backupAfter;
    if (after === undefined || !this.options.idempotent.has(method)) return undefined;
    if (typeof after === 'number') return after;
    return this.latencies.get(method)?.percentile(BACKUP_PERCENTILES[after], this.now());
  }

  /** An attempt of `method` was answered after `ms` (feeds the backup delay's percentile). */
  answered(method: string, ms: number): void {
    this.latencies.get(method)?.record(ms, this.now());
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
    const payload: Record<string, unknown> = {};
    method.argNames.forEach((arg, i) => {
      payload[arg] = args[i];
    });
    // Only while no address is known: once the registry (or a static list) gave one, no wait.
    if (this.discoveryReady && this.addresses.addresses.length === 0) {
      try {
        await this.awaitFirstListing(name);
      } catch (err) {
        this.reportUnsent(name, err);
        throw err;
      }
    }
    return new FailoverCall(this, method, payload, headers, this.runtime.onCallDone).run();
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
        ...(o.transport === 'header' ? { onReplyHeaders: (h) => this.replyHeaders(address, h) } : {}),
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

  /**
   * One attempt on `address`: borrow a connection, write, await the reply. Throws a
   * CallTransportError (what failed and whether the request was written), the server's
   * answer (declared exception, TApplicationException), or, when `signal` aborted, its reason.
   */
  async attempt(
    address: string,
    method: MethodInfo,
    payload: Record<string, unknown>,
    headers: ReadonlyMap<string, string> | undefined,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<unknown> {
    if (this.options.registry && !this.addresses.addresses.includes(address)) {
      // It left the registry between the pick and now (deregistered, or expired): go elsewhere.
      throw new ConnectFailedError(
        `${this.options.service}.${method.name}: ${address} left the registry before the call was written`,
        { service: this.options.service, method: method.name, address },
      );
    }
    return attemptOnPool(
      this.pool(address),
      this.attemptSettings,
      method,
      payload,
      headers,
      timeoutMs,
      signal,
    );
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

  /** A host's reply headers: its `load` (calls running and waiting) feeds the least-loaded choice. */
  private replyHeaders(address: string, headers: ReadonlyMap<string, string>): void {
    const raw = headers.get(LOAD_HEADER);
    if (raw === undefined) return;
    const load = Number(raw);
    if (Number.isFinite(load) && load >= 0) this.addresses.load.reported(address, load, this.now());
  }

  /** Reports a call that failed before any attempt (no address known yet). */
  private reportUnsent(method: string, err: unknown): void {
    const observer = this.runtime.onCallDone;
    if (!observer) return;
    try {
      observer({
        service: this.options.service,
        method,
        ok: false,
        errorCode: reportCode(err),
        latencyMs: 0,
        address: undefined,
        attempts: 0,
        tries: [],
        budgetExhausted: false,
        backupSent: false,
        backupWon: false,
      });
    } catch {
      // An observer must not turn a call's outcome into another one.
    }
  }
}

// --- internal ---

/** How far back latencies count for a percentile backup delay (Finagle's BackupRequestFilter: 30 s). */
const LATENCY_WINDOW_MS = 30_000;

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
