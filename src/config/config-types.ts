/**
 * The validated host configuration: what `validateHostConfig` returns, every path absolute and
 * every default applied (defaults in config-defaults.ts).
 */
import type { HostPort } from '../common/address.js';
import type { DecodeLimits, I64Mode } from '../codec/decode-limits.js';
import type { ProtocolName, TransportName } from '../codec/protocols.js';

/** TLS key material for a service listener. */
export interface TlsConfig {
  key: string;
  cert: string;
  ca?: string;
}

/** One generated service served by a listener, with its handler module. */
export interface ServiceBinding {
  /** Service name as in the IDL (and under `gen/`). */
  service: string;
  /** Absolute path of the handler module. */
  handler: string;
  /** The handler module itself, already loaded (`createTestServer`); `handler` is then not read. */
  module?: Record<string, unknown>;
}

/** One listener and its worker group. */
export interface ServiceConfig {
  /** Unique label of this entry (defaults to the service name). */
  name: string;
  /** What this listener serves: one service, or several when `multiplexed`. */
  bindings: ServiceBinding[];
  /** Served through TMultiplexedProtocol names (`Service:method`). */
  multiplexed: boolean;
  listen: HostPort;
  /** @default one per CPU core */
  count: number;
  /** @default 'binary' */
  protocol: ProtocolName;
  /** @default 'buffered' */
  transport: TransportName;
  /** Absolute generated-code directory. @default '<config dir>/gen' */
  genDir: string;
  /** Largest message, string, container and nesting one call may hold. */
  limits: DecodeLimits;
  /** How i64 values reach the handler. @default 'int64' */
  i64: I64Mode;
  /** Absolute paths of interceptor modules run around every call, in order. @default [] */
  interceptors: string[];
  /** Run calls in AsyncLocalStorage so handlers can call `getCallContext()`. @default false */
  callContext: boolean;
  /** Environment variables set in this service's workers. @default {} */
  env: Record<string, string>;
  /** @default 300000 */
  idleTimeoutMs: number;
  /** @default 0 (never) */
  maxRequests: number;
  /** @default 0 (never) */
  maxMemoryMB: number;
  /** Longest wait in a worker before a call starts; longer waits are shed (0 = no limit). @default 100 */
  maxQueueMs: number;
  /** Most calls a worker runs at once; more wait in its queue. @default 5000 */
  maxConcurrentCalls: number;
  /** Shed calls while the worker's event loop is this far behind (0 = off). @default 500 */
  maxEventLoopDelayMs: number;
  user?: string;
  group?: string;
  tls?: TlsConfig;
  /** Node.js flags for this service's worker processes. @default [] */
  nodeArgs: string[];
  /**
   * Workers ask glibc's malloc for transparent huge pages (GLIBC_TUNABLES=glibc.malloc.hugetlb=1)
   * unless GLIBC_TUNABLES is set already. @default false
   */
  hugePages: boolean;
  /**
   * Largest semi-space of V8's young generation in a worker, in MiB (`--max-semi-space-size`);
   * 0 leaves V8's own sizing. @default 2
   */
  semiSpaceMiB: number;
  /** V8's Maglev compiler in the workers (off: `--no-maglev`). @default true */
  maglev: boolean;
}

/** The statistics/admin HTTP listener. */
export interface StatsConfig {
  listen: HostPort;
  /** UDP address where client call reports arrive. */
  udp?: HostPort;
  user?: string;
  password?: string;
  /** Remote admin under `/admin/`; off when absent. */
  admin?: AdminConfig;
}

/** `stats.admin`: the remote admin endpoints (status, reload, stop, restart of one worker). */
export interface AdminConfig {
  /**
   * Bearer token every admin request must carry (at least 16 characters). The environment
   * variable `THRIFTHOST_ADMIN_TOKEN` supplies or overrides it; one of the two is required.
   */
  token?: string;
  /** Answer admin requests from peers other than loopback. @default false */
  allowRemote: boolean;
}

/** `registry`: announce every service instance in etcd (docs/many-machines.md). */
export interface RegistryConfig {
  /** etcd client URLs, `http://host:port` or `https://host:port`. */
  endpoints: string[];
  /** @default '/thrifthost/services/' */
  prefix: string;
  /** Lease TTL in seconds. @default 10 */
  ttlSeconds: number;
  /** Host callers connect to; required when a listener binds 0.0.0.0 or ::. @default each listener's host */
  advertise?: string;
  /** Identifies this host in the registry. @default os.hostname() */
  hostId: string;
  /** @default 1 */
  weight: number;
  /** Version label written into every instance. */
  version?: string;
  /** etcd user; the password may come from `THRIFTHOST_ETCD_PASSWORD` instead. */
  username?: string;
  password?: string;
  /** PEM paths for https endpoints (absolute). */
  tls?: { ca?: string; cert?: string; key?: string };
  /** @default 1000 */
  deregisterDelayMs: number;
  /** @default 2000 */
  requestTimeoutMs: number;
}

/** The whole validated host configuration. */
export interface HostConfig {
  /** Absolute path of the file this came from. */
  file: string;
  /** Folder relative paths resolve against. */
  baseDir: string;
  pidFile: string;
  logDir: string;
  logLevel: string;
  gracefulTimeoutMs: number;
  stats?: StatsConfig;
  /** Rotation of `<logDir>/rpc.log` (`rpc start -d`); off when absent. */
  logRotate?: LogRotateConfig;
  /** Service registry; off when absent. */
  registry?: RegistryConfig;
  services: ServiceConfig[];
}

/** `logRotate`: when `rpc.log` is rotated (either condition), and how many old files stay. */
export interface LogRotateConfig {
  /** Rotate at the first check after midnight (local time). @default false */
  daily: boolean;
  /** Rotate once the file reaches this size. 0 = no size limit. @default 0 */
  maxBytes: number;
  /** Rotated files kept (older ones are deleted). @default 7 */
  keep: number;
}
