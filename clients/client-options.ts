/**
 * Client configuration: what `ThriftClient.config(...)` accepts (the types of a service entry and
 * of what it resolves to) and every default, in {@link CLIENT_DEFAULTS}. Validation lives in
 * `client-config.ts`.
 */
import os from 'node:os';
import { DEFAULT_DECODE_LIMITS, type I64Mode } from '../src/codec/decode-limits.js';
import type { ProtocolName, TransportName } from '../src/codec/protocols.js';
import { DEFAULT_REGISTRY_PREFIX } from '../src/common/registry-record.js';
import type { Balancer } from './address-policy.js';
import type { ClientInterceptor } from './call-headers.js';
import type { ClientTlsSettings } from './connection.js';


/** Every default of a service entry. */
export const CLIENT_DEFAULTS = {
  protocol: 'binary' as ProtocolName,
  transport: 'buffered' as TransportName,
  serviceDir: 'gen',
  connectTimeoutMs: 3_000,
  callTimeoutMs: 5_000,
  retries: 2,
  poolMin: 0,
  poolMax: 10,
  poolIdleTimeoutMs: 30_000,
  maxInFlightPerConnection: 8,
  maxReplyBytes: DEFAULT_DECODE_LIMITS.maxMessageBytes,
  maxStringBytes: DEFAULT_DECODE_LIMITS.maxStringBytes,
  maxContainerElements: DEFAULT_DECODE_LIMITS.maxContainerElements,
  maxDepth: DEFAULT_DECODE_LIMITS.maxDepth,
  i64: 'int64' as I64Mode,
  interceptors: [] as readonly ClientInterceptor[],
  detectRate: 0.0005,
  balancer: 'least-loaded' as Balancer,
  slowStartMs: 1_000,
  latencyDecayMs: 10_000,
  /** `retryBudget`: Finagle's defaults. */
  retryBudget: { ratio: 0.2, minPerSec: 10, windowMs: 10_000 },
  backupAfter: false as BackupAfter | false,
  evictAfterFailures: 5,
  evictBelowSuccessRate: 0.8,
  successRateWindow: 100,
  maxEvictedRatio: 0.5,
  backoffInitialMs: 1_000,
  backoffMaxMs: 60_000,
  backoffMultiplier: 2,
  backoffJitter: 0.2,
  shareState: true,
  stateDir: () => os.tmpdir(),
  stateSyncMs: 200,
  /** `registry.prefix`: the host's default, so both sides agree without configuration. */
  registryPrefix: DEFAULT_REGISTRY_PREFIX,
  /** `registry.requestTimeoutMs`: bound of one request to etcd (and of the first listing a call waits for). */
  registryRequestTimeoutMs: 2_000,
} as const;

/** `backupAfter`: a fixed delay in ms, or a recent latency percentile of the method. */
export type BackupAfter = number | BackupPercentile;

/** The percentiles `backupAfter` accepts. */
export const BACKUP_PERCENTILES = { p90: 0.9, p95: 0.95, p99: 0.99, p999: 0.999 } as const;
export type BackupPercentile = keyof typeof BACKUP_PERCENTILES;

/** `retryBudget` of a service entry: how many extra attempts calls may add. */
export interface RetryBudgetConfig {
  /** Share of the calls in the window that may be retried (or backed up), in [0, 1]. @default 0.2 */
  ratio?: number;
  /** Extra attempts per second allowed on top of `ratio`. @default 10 */
  minPerSec?: number;
  /** How far back calls and retries count, 1000 to 600000 ms. @default 10000 */
  windowMs?: number;
}

/** `registry` of a service entry: follow the instances hosts announce in etcd. */
export interface RegistryClientOptions {
  /** etcd client URLs, `http://host:port` or `https://host:port`. */
  endpoints: string[];
  /** Key prefix the hosts register under. @default '/thrifthost/services/' */
  prefix?: string;
  /** Service name in the registry, when it differs from the configured name. @default the configured name */
  service?: string;
  /** etcd user and password, when etcd runs with authentication. */
  username?: string;
  password?: string;
  /** PEM file paths for https endpoints. */
  tls?: { ca?: string; cert?: string; key?: string };
  /** @default 2000 */
  requestTimeoutMs?: number;
}

/** A validated `registry`. */
export interface ResolvedRegistryOptions {
  readonly endpoints: readonly string[];
  readonly prefix: string;
  readonly service: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** Absolute paths. */
  readonly tls: { ca?: string; cert?: string; key?: string } | undefined;
  readonly requestTimeoutMs: number;
}

/** One service entry of `ThriftClient.config({ [service]: options })`. */
export interface ServiceClientOptions {
  /** `host:port` addresses of the service (at least one, unless `registry` is given). */
  addresses?: string[];
  /**
   * Follow the instances hosts register in etcd; static `addresses`, if any, are used as well
   * (and alone while etcd has never been read). @default undefined
   */
  registry?: RegistryClientOptions;
  /** `binary` | `compact` | `json`, or `TBinaryProtocol`... Alias: `thrift_protocol`. @default 'binary' */
  protocol?: string;
  /** `buffered` | `framed`, or `TFramedTransport`... Alias: `thrift_transport`. @default 'buffered' */
  transport?: string;
  /**
   * Where `<Service>/<Service>.js` is generated; a relative path resolves against the folder of
   * the file calling `ThriftClient.config()`. Alias: `service_dir`.
   * @default the nearest `gen/` folder at or above that file
   */
  serviceDir?: string;
  /**
   * The generated `<Service>.js`: its path (relative as `serviceDir`), or the module itself
   * (`require('./gen/X/X.js')`, `import * as X from './gen/X/X.js'`); overrides `serviceDir`.
   * @default undefined
   */
  generated?: string | object;
  /**
   * Connect with TLS: `true` trusts the system's CAs; an object gives PEM file paths (`ca` to
   * trust, `cert` and `key` for a client certificate; relative as `serviceDir`), the server name
   * to verify, and `rejectUnauthorized: false` to skip verification. @default undefined (plain TCP)
   */
  tls?: boolean | { ca?: string; cert?: string; key?: string; servername?: string; rejectUnauthorized?: boolean };
  /** TCP connect timeout. @default 3000 */
  connectTimeoutMs?: number;
  /** Time a call may wait for its reply, and the lifetime of an uncollected `asend_`. @default 5000 */
  callTimeoutMs?: number;
  /**
   * Extra attempts, each on another address, for a call that may be retried; backup requests
   * count among them. Each one also needs the retry budget's consent. @default 2
   */
  retries?: number;
  /**
   * Bound on extra attempts (retries and backup requests) over all calls of the service:
   * `ratio` of the calls plus `minPerSec`, over `windowMs` (Finagle's retry budget); `false` =
   * only `retries` bounds them. @default { ratio: 0.2, minPerSec: 10, windowMs: 10000 }
   */
  retryBudget?: RetryBudgetConfig | false;
  /**
   * Methods safe to run twice: retried on another address even after the request was written
   * (or after an undeclared server error), and eligible for backup requests. @default []
   */
  idempotent?: string[];
  /**
   * Backup requests for `idempotent` methods: when a call has no answer after this many ms (or
   * after the method's recent `'p90'`/`'p95'`/`'p99'`/`'p999'` latency), a second attempt goes
   * to another address; the first answer wins and the other attempt is cancelled. @default false
   */
  backupAfter?: BackupAfter | false;
  /**
   * How a healthy address is chosen: `'least-loaded'` (power of two choices by calls in flight
   * and a Peak EWMA latency) or `'random'` (workerman-thrift's). @default 'least-loaded'
   */
  balancer?: Balancer;
  /** An address that enters or comes back is drawn a tenth as often at first, as often as the others after this; 0 = at once. @default 1000 */
  slowStartMs?: number;
  /** Time constant of the latency estimate's decay toward zero while an address gets no call. @default 10000 */
  latencyDecayMs?: number;
  /** Connections kept open per address even when idle. @default 0 */
  poolMin?: number;
  /** Most connections per address. @default 10 */
  poolMax?: number;
  /** Close a connection idle for this long. @default 30000 */
  poolIdleTimeoutMs?: number;
  /** Calls pipelined on one connection before the pool opens another (1 = no pipelining). @default 8 */
  maxInFlightPerConnection?: number;
  /** Largest reply accepted; a bigger (or garbage) length fails the connection's calls with ERR_REPLY_DECODE. @default 16 MiB */
  maxReplyBytes?: number;
  /** Largest string or binary in a reply. @default 16 MiB */
  maxStringBytes?: number;
  /** Most elements of one list, set or map in a reply. @default 1,048,576 */
  maxContainerElements?: number;
  /** Deepest nesting of structs and containers in a reply. @default 64 */
  maxDepth?: number;
  /**
   * i64 values in replies as node-int64 `Int64` (`'int64'`) or as `bigint`; code from `rpc gen` holds one,
   * and this may only name that one. @default the generated code's, else 'int64'
   */
  i64?: 'int64' | 'bigint';
  /** `(context, next) => result` functions run around every call, in order. @default [] */
  interceptors?: ClientInterceptor[];
  /** Headers sent with every call; only the THeader transport (`transport: 'header'`) carries them. @default {} */
  headers?: Record<string, string>;
  /** Chance that a call probes an evicted address instead of a healthy one. @default 0.0005 */
  detectRate?: number;
  /**
   * Evict an address after this many consecutive failed calls (timeouts, lost connections,
   * undeclared server errors); 0 = never on this ground. @default 5
   */
  evictAfterFailures?: number;
  /** Evict an address whose last `successRateWindow` calls succeeded less than this often; 0 = never. @default 0.8 */
  evictBelowSuccessRate?: number;
  /** Calls per address the success rate is taken over. @default 100 */
  successRateWindow?: number;
  /**
   * Failed calls never evict more than this share of the addresses (at least one): with every
   * address failing alike, the fault is rarely the addresses'. Connect failures always evict. @default 0.5
   */
  maxEvictedRatio?: number;
  /** First back-off before an evicted address gets a probe. @default 1000 */
  backoffInitialMs?: number;
  /** Back-off ceiling. @default 60000 */
  backoffMaxMs?: number;
  /** Back-off growth per failed probe. @default 2 */
  backoffMultiplier?: number;
  /** Relative jitter applied to each back-off (0.2 = ±20%). @default 0.2 */
  backoffJitter?: number;
  /** Share the evicted list with every client process on this host through a state file. @default true */
  shareState?: boolean;
  /** Folder of the shared state file. @default os.tmpdir() */
  stateDir?: string;
  /** Re-read the shared state file at most this often (it is only re-parsed when it changed). @default 200 */
  stateSyncMs?: number;
}

/** The `ThriftClient.config` argument: service name → options. */
export type ClientConfig = Record<string, ServiceClientOptions>;

/** A service entry with every default applied and every value checked. */
export interface ResolvedServiceOptions {
  readonly service: string;
  /** Normalised `host:port` strings, deduplicated, in config order (static ones only). */
  readonly addresses: readonly string[];
  /** Discovery through etcd, when configured. */
  readonly registry: ResolvedRegistryOptions | undefined;
  readonly protocol: ProtocolName;
  readonly transport: TransportName;
  /** Absolute. */
  readonly serviceDir: string;
  /** Absolute, when given. */
  readonly generated: string | undefined;
  /** TLS settings with the PEM files read; undefined for plain TCP. */
  readonly tls: ClientTlsSettings | undefined;
  readonly connectTimeoutMs: number;
  readonly callTimeoutMs: number;
  readonly retries: number;
  /** Undefined when off. */
  readonly retryBudget: Required<RetryBudgetConfig> | undefined;
  readonly idempotent: ReadonlySet<string>;
  /** Undefined when off. */
  readonly backupAfter: BackupAfter | undefined;
  readonly balancer: Balancer;
  readonly slowStartMs: number;
  readonly latencyDecayMs: number;
  readonly poolMin: number;
  readonly poolMax: number;
  readonly poolIdleTimeoutMs: number;
  readonly maxInFlightPerConnection: number;
  readonly maxReplyBytes: number;
  readonly maxStringBytes: number;
  readonly maxContainerElements: number;
  readonly maxDepth: number;
  readonly i64: I64Mode;
  /** Client interceptors, in order. */
  readonly interceptors: readonly ClientInterceptor[];
  /** Headers sent with every call (THeader transport). */
  readonly headers: ReadonlyMap<string, string>;
  readonly detectRate: number;
  readonly evictAfterFailures: number;
  readonly evictBelowSuccessRate: number;
  readonly successRateWindow: number;
  readonly maxEvictedRatio: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly backoffMultiplier: number;
  readonly backoffJitter: number;
  readonly shareState: boolean;
  readonly stateDir: string;
  readonly stateSyncMs: number;
}
