/**
 * Host configuration: `rpc.config.json` (or `--config PATH`) turned into a validated
 * {@link HostConfig}. Every default lives in {@link DEFAULTS}; every check names the file and the
 * field. Nothing is forked until the whole file has passed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type HostPort, parseAddress } from '../common/address.js';
import {
  DECODE_LIMIT_RANGES,
  DEFAULT_DECODE_LIMITS,
  type DecodeLimits,
  type I64Mode,
} from '../codec/decode-limits.js';
import { ThriftHostError } from '../common/errors.js';
import { loadGeneratedService } from '../codec/generated-service.js';
import { isTimerMs, timerRangeText } from '../common/timer-range.js';
import { controlSocketPath, MAX_SOCKET_PATH_BYTES } from '../master/control.js';
import { findCollision, type Listener } from './listener-collisions.js';
import {
  ADMIN_KEYS,
  LOG_ROTATE_KEYS,
  MULTIPLEX_KEYS,
  REGISTRY_KEYS,
  SERVICE_KEYS,
  STATS_KEYS,
  TLS_KEYS,
  TOP_LEVEL_KEYS,
} from './config-schema.js';
import { findHandlerFile } from '../worker/handler-module.js';
import {
  type ProtocolName,
  parseProtocolName,
  parseTransportName,
  type TransportName,
} from '../codec/protocols.js';
import { DEFAULT_REGISTRY_PREFIX } from '../common/registry-record.js';

/** Default config file name, looked up in the working directory. */
export const DEFAULT_CONFIG_FILE = 'rpc.config.json';

/** Every default of the host configuration. */
export const DEFAULTS = {
  /** Workers per service: one per CPU core. */
  count: () => os.availableParallelism(),
  protocol: 'binary' as ProtocolName,
  transport: 'buffered' as TransportName,
  /**
   * What one call may hold: `maxMessageBytes` (framed or unframed; `maxFrameBytes` is its old
   * name), `maxStringBytes`, `maxContainerElements`, `maxDepth`. See `common/decode-limits.ts`.
   */
  limits: DEFAULT_DECODE_LIMITS,
  /** i64 values reach handlers as node-int64 `Int64` objects (`'bigint'`: as bigint). */
  i64: 'int64' as I64Mode,
  /** `getCallContext()` off: AsyncLocalStorage costs about a microsecond per call. */
  callContext: false,
  /** Close a connection with nothing in flight after this long without a byte. 0 = never. */
  idleTimeoutMs: 300_000,
  /** Recycle a worker after this many requests. 0 = never. */
  maxRequests: 0,
  maxQueueMs: 100,
  maxConcurrentCalls: 5000,
  maxEventLoopDelayMs: 500,
  /** Recycle a worker whose RSS exceeds this. 0 = never. */
  maxMemoryMB: 0,
  /** How long stop/reload wait for in-flight calls before forcing. */
  gracefulTimeoutMs: 10_000,
  pidFile: '.rpc/rpc.pid',
  logDir: 'logs',
  genDir: 'gen',
  logLevel: 'info',
  /** `stats.admin.allowRemote`: admin requests are answered for loopback peers only. */
  adminAllowRemote: false,
  /** Extra Node.js flags for worker processes, e.g. `--max-semi-space-size=1` for a smaller heap. */
  nodeArgs: [] as readonly string[],
  /**
   * Off: huge pages make large messages cheaper (see src/master/worker-env.ts) but raise the RSS of a
   * worker that holds many buffered replies (chaos scenario 6b: +129-168 MB instead of +96-109).
   */
  hugePages: false,
  /**
   * Conventional handler location, relative to the config file's folder, without its extension:
   * the first of `.ts`, `.mts`, `.cts`, `.js`, `.mjs`, `.cjs` that exists (`findHandlerFile`).
   */
  handler: (service: string) => `services/${service}/handler`,
  /** `logRotate.daily`, `.maxBytes` (0 = no size limit), `.keep` (rotated files kept). */
  logRotateDaily: false,
  logRotateMaxBytes: 0,
  logRotateKeep: 7,
  /** `registry.prefix`: etcd key prefix of service instances. */
  registryPrefix: DEFAULT_REGISTRY_PREFIX,
  /** `registry.ttlSeconds`: lease TTL; a killed host's keys vanish this long after its last renewal. */
  registryTtlSeconds: 10,
  /** `registry.weight` of every instance. */
  registryWeight: 1,
  /** `registry.deregisterDelayMs`: wait after deregistering before draining, so callers move away first. */
  registryDeregisterDelayMs: 1_000,
  /** `registry.requestTimeoutMs`: bound of one request to etcd. */
  registryRequestTimeoutMs: 2_000,
} as const;

/** Shortest admin token accepted (`stats.admin.token`): guessing it must not be practical. */
export const ADMIN_TOKEN_MIN_CHARS = 16;

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

/** A config file that cannot be used. The CLI exits with code 2. */
export class ConfigError extends ThriftHostError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CONFIG_INVALID', message, options);
  }
}

/**
 * Reads and validates a config file. `file` defaults to `./rpc.config.json`.
 * @throws ConfigError naming the file and the field.
 */
export function loadHostConfig(file = DEFAULT_CONFIG_FILE, { checkFiles = true } = {}): HostConfig {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (err) {
    const hint =
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? ' (create it, or pass --config PATH)' : '';
    throw new ConfigError(`Cannot read config file ${abs}: ${(err as Error).message}${hint}`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${abs}: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const config = validateHostConfig(raw, abs);
  if (checkFiles) checkServiceFiles(config);
  return config;
}

/**
 * Turns untrusted JSON into a {@link HostConfig}. Pure: touches no file.
 * @param file the config file's absolute path, used in messages and to resolve relative paths
 */
export function validateHostConfig(raw: unknown, file: string): HostConfig {
  const v = new Validator(file);
  const top = v.object(raw, '(top level)');
  v.keys(top, '(top level)', TOP_LEVEL_KEYS);
  const baseDir = path.dirname(file);
  const genDir = path.resolve(baseDir, v.optString(top.genDir, 'genDir') ?? DEFAULTS.genDir);
  const servicesRaw = top.services;
  if (!Array.isArray(servicesRaw) || servicesRaw.length === 0) {
    v.fail('services', 'must be a non-empty array of service entries');
  }
  const services = (servicesRaw as unknown[]).map((s, i) =>
    validateService(v, s, `services[${i}]`, baseDir, genDir),
  );
  const names = new Set<string>();
  services.forEach((s, i) => {
    if (names.has(s.name)) v.fail(`services[${i}].name`, `"${s.name}" is used twice; names must be unique`);
    names.add(s.name);
  });
  const stats = top.stats === undefined || top.stats === null ? undefined : validateStats(v, top.stats);
  checkListeners(v, services, stats);
  const pidFile = path.resolve(baseDir, v.optString(top.pidFile, 'pidFile') ?? DEFAULTS.pidFile);
  const socketBytes = Buffer.byteLength(controlSocketPath(pidFile));
  if (socketBytes > MAX_SOCKET_PATH_BYTES) {
    v.fail(
      'pidFile',
      `${pidFile} is too long: its control socket ${controlSocketPath(pidFile)} would take ${socketBytes} bytes, ` +
        `and a unix socket path holds at most ${MAX_SOCKET_PATH_BYTES}; choose a shorter path`,
    );
  }
  const logLevel = v.optString(top.logLevel, 'logLevel') ?? DEFAULTS.logLevel;
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    v.fail('logLevel', `"${logLevel}" is not one of fatal, error, warn, info, debug, trace, silent`);
  }
  return {
    file,
    baseDir,
    pidFile,
    logDir: path.resolve(baseDir, v.optString(top.logDir, 'logDir') ?? DEFAULTS.logDir),
    logLevel,
    gracefulTimeoutMs: v.optMs(top.gracefulTimeoutMs, 'gracefulTimeoutMs', 0) ?? DEFAULTS.gracefulTimeoutMs,
    stats,
    ...optional('logRotate', top.logRotate === undefined ? undefined : validateLogRotate(v, top.logRotate)),
    ...optional(
      'registry',
      top.registry === undefined ? undefined : validateRegistry(v, top.registry, services, stats, baseDir),
    ),
    services,
  };
}

/**
 * Checks what can be checked without running user code: every generated module exists and
 * defines its service, and every handler file exists.
 * @throws ConfigError
 */
export function checkServiceFiles(config: HostConfig): void {
  const v = new Validator(config.file);
  config.services.forEach((s, i) => {
    s.bindings.forEach((b, j) => {
      const field = s.multiplexed ? `services[${i}].multiplex[${j}]` : `services[${i}]`;
      try {
        loadGeneratedService(s.genDir, b.service);
      } catch (err) {
        v.fail(`${field}.service`, `cannot be served: ${(err as Error).message}`);
      }
      if (!resolvable(b.handler)) {
        v.fail(
          `${field}.handler`,
          `handler module ${b.handler} does not exist (write it, or set "handler" to its path relative to ${config.baseDir})`,
        );
      }
    });
  });
}

// --- internal ---


function validateService(
  v: Validator,
  raw: unknown,
  at: string,
  baseDir: string,
  hostGenDir: string,
): ServiceConfig {
  const o = v.object(raw, at);
  v.keys(o, at, SERVICE_KEYS);
  const genDir =
    o.genDir === undefined ? hostGenDir : path.resolve(baseDir, v.string(o.genDir, `${at}.genDir`));
  let bindings: ServiceBinding[];
  const multiplexed = o.multiplex !== undefined;
  if (multiplexed) {
    if (o.service !== undefined || o.handler !== undefined) {
      v.fail(at, 'has both "multiplex" and "service"/"handler"; use one or the other');
    }
    if (!Array.isArray(o.multiplex) || o.multiplex.length === 0) {
      v.fail(`${at}.multiplex`, 'must be a non-empty array of {"service", "handler"}');
    }
    bindings = (o.multiplex as unknown[]).map((m, j) => {
      const mo = v.object(m, `${at}.multiplex[${j}]`);
      v.keys(mo, `${at}.multiplex[${j}]`, MULTIPLEX_KEYS);
      return binding(v, mo, `${at}.multiplex[${j}]`, baseDir);
    });
  } else {
    if (o.service === undefined && o.name === undefined)
      v.fail(`${at}.service`, 'is required (the IDL service name)');
    bindings = [binding(v, { ...o, service: o.service ?? o.name }, at, baseDir)];
  }
  const name =
    o.name === undefined ? bindings.map((b) => b.service).join('+') : v.string(o.name, `${at}.name`);
  if (!/^[\w.-]+$/.test(name)) v.fail(`${at}.name`, `"${name}" may only contain letters, digits, _ . -`);
  if (o.listen === undefined) v.fail(`${at}.listen`, 'is required, e.g. "tcp://0.0.0.0:9090"');
  const listen = parseAddress(v.string(o.listen, `${at}.listen`));
  if (typeof listen === 'string') v.fail(`${at}.listen`, listen);
  const protocolRaw = v.optString(o.protocol, `${at}.protocol`);
  const protocol = protocolRaw === undefined ? DEFAULTS.protocol : parseProtocolName(protocolRaw);
  if (!protocol) v.fail(`${at}.protocol`, `"${protocolRaw}" is not one of binary, compact, json`);
  const transportRaw = v.optString(o.transport, `${at}.transport`);
  const transport = transportRaw === undefined ? DEFAULTS.transport : parseTransportName(transportRaw);
  if (!transport) v.fail(`${at}.transport`, `"${transportRaw}" is not one of buffered, framed, header`);
  if (transport === 'header' && protocol === 'json') {
    v.fail(`${at}.protocol`, 'THeader carries binary or compact messages (the caller picks per message); use one of those');
  }
  let tls: TlsConfig | undefined;
  if (o.tls !== undefined) {
    const t = v.object(o.tls, `${at}.tls`);
    v.keys(t, `${at}.tls`, TLS_KEYS);
    tls = {
      key: path.resolve(baseDir, v.string(t.key, `${at}.tls.key`)),
      cert: path.resolve(baseDir, v.string(t.cert, `${at}.tls.cert`)),
      ...(t.ca === undefined ? {} : { ca: path.resolve(baseDir, v.string(t.ca, `${at}.tls.ca`)) }),
    };
  }
  return {
    name,
    bindings,
    multiplexed,
    listen: listen as HostPort,
    count: v.optInt(o.count, `${at}.count`, 1, 1024) ?? DEFAULTS.count(),
    protocol: protocol as ProtocolName,
    transport: transport as TransportName,
    genDir,
    limits: decodeLimits(v, o, at),
    i64: i64Mode(v, o.i64, `${at}.i64`),
    interceptors: interceptorPaths(v, o.interceptors, `${at}.interceptors`, baseDir),
    callContext: v.optBool(o.callContext, `${at}.callContext`) ?? DEFAULTS.callContext,
    env: envMap(v, o.env, `${at}.env`),
    idleTimeoutMs: v.optMs(o.idleTimeoutMs, `${at}.idleTimeoutMs`, 0) ?? DEFAULTS.idleTimeoutMs,
    maxRequests: v.optInt(o.maxRequests, `${at}.maxRequests`, 0) ?? DEFAULTS.maxRequests,
    maxMemoryMB: v.optInt(o.maxMemoryMB, `${at}.maxMemoryMB`, 0) ?? DEFAULTS.maxMemoryMB,
    maxQueueMs: v.optInt(o.maxQueueMs, `${at}.maxQueueMs`, 0, 600_000) ?? DEFAULTS.maxQueueMs,
    maxConcurrentCalls: v.optInt(o.maxConcurrentCalls, `${at}.maxConcurrentCalls`, 1, 1_000_000) ?? DEFAULTS.maxConcurrentCalls,
    maxEventLoopDelayMs: v.optInt(o.maxEventLoopDelayMs, `${at}.maxEventLoopDelayMs`, 0, 600_000) ?? DEFAULTS.maxEventLoopDelayMs,
    nodeArgs: nodeArgs(v, o.nodeArgs, `${at}.nodeArgs`),
    hugePages: v.optBool(o.hugePages, `${at}.hugePages`) ?? DEFAULTS.hugePages,
    ...optional('user', v.optString(o.user, `${at}.user`)),
    ...optional('group', v.optString(o.group, `${at}.group`)),
    ...optional('tls', tls),
  };
}

/** The decode limits of a service entry; `maxFrameBytes` is accepted as `maxMessageBytes`. */
function decodeLimits(v: Validator, o: Record<string, unknown>, at: string): DecodeLimits {
  if (o.maxFrameBytes !== undefined && o.maxMessageBytes !== undefined) {
    v.fail(`${at}.maxFrameBytes`, 'is the old name of maxMessageBytes; set only one of them');
  }
  const limits = { ...DEFAULTS.limits };
  for (const key of Object.keys(DECODE_LIMIT_RANGES) as (keyof DecodeLimits)[]) {
    const rawKey = key === 'maxMessageBytes' && o.maxMessageBytes === undefined ? 'maxFrameBytes' : key;
    const [min, max] = DECODE_LIMIT_RANGES[key];
    const value = v.optInt(o[rawKey], `${at}.${rawKey}`, min, max);
    if (value !== undefined) limits[key] = value;
  }
  return limits;
}

function interceptorPaths(v: Validator, raw: unknown, at: string, baseDir: string): string[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) v.fail(at, 'must be an array of module paths');
  return (raw as unknown[]).map((p, i) => {
    const file = path.resolve(baseDir, v.string(p, `${at}[${i}]`));
    if (!fs.existsSync(file)) v.fail(`${at}[${i}]`, `module ${file} does not exist`);
    return file;
  });
}

function envMap(v: Validator, raw: unknown, at: string): Record<string, string> {
  if (raw === undefined) return {};
  const o = v.object(raw, at);
  for (const [key, value] of Object.entries(o)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) v.fail(`${at}.${key}`, 'is not an environment variable name');
    if (typeof value !== 'string') v.fail(`${at}.${key}`, `must be a string, got ${show(value)}`);
  }
  return o as Record<string, string>;
}

function i64Mode(v: Validator, raw: unknown, at: string): I64Mode {
  const mode = v.optString(raw, at) ?? DEFAULTS.i64;
  if (mode !== 'int64' && mode !== 'bigint') v.fail(at, `"${mode}" is not one of int64, bigint`);
  return mode;
}

function checkListeners(v: Validator, services: ServiceConfig[], stats: StatsConfig | undefined): void {
  const listeners: Listener[] = services.map((s, i) => ({
    field: `services[${i}].listen`,
    protocol: 'tcp',
    address: s.listen,
  }));
  if (stats) listeners.push({ field: 'stats.listen', protocol: 'tcp', address: stats.listen });
  if (stats?.udp) listeners.push({ field: 'stats.udp', protocol: 'udp', address: stats.udp });
  const collision = findCollision(listeners);
  if (collision) {
    const bothServices = collision.field.startsWith('services[') && collision.other.startsWith('services[');
    const hint = bothServices ? '; to serve several services on one port, list them in one entry\'s "multiplex"' : '';
    v.fail(collision.field, `${collision.address} is already used by ${collision.other}${hint}`);
  }
}

function binding(v: Validator, o: Record<string, unknown>, at: string, baseDir: string): ServiceBinding {
  const service = v.string(o.service, `${at}.service`);
  if (!/^[A-Za-z_]\w*$/.test(service)) v.fail(`${at}.service`, `"${service}" is not a Thrift service name`);
  const handler = v.optString(o.handler, `${at}.handler`);
  return {
    service,
    handler:
      handler === undefined
        ? findHandlerFile(path.resolve(baseDir, DEFAULTS.handler(service)))
        : path.resolve(baseDir, handler),
  };
}

function validateStats(v: Validator, raw: unknown): StatsConfig {
  const o = v.object(raw, 'stats');
  v.keys(o, 'stats', STATS_KEYS);
  const listen = parseAddress(v.string(o.listen, 'stats.listen'));
  if (typeof listen === 'string') v.fail('stats.listen', listen);
  let udp: HostPort | undefined;
  if (o.udp !== undefined) {
    const parsed = parseAddress(v.string(o.udp, 'stats.udp').replace(/^udp:\/\//, ''));
    if (typeof parsed === 'string') v.fail('stats.udp', parsed);
    udp = parsed as HostPort;
  }
  return {
    listen: listen as HostPort,
    ...optional('udp', udp),
    ...optional('user', v.optString(o.user, 'stats.user')),
    ...optional('password', v.optString(o.password, 'stats.password')),
    ...optional('admin', o.admin === undefined ? undefined : validateAdmin(v, o.admin)),
  };
}

function validateLogRotate(v: Validator, raw: unknown): LogRotateConfig {
  const o = v.object(raw, 'logRotate');
  v.keys(o, 'logRotate', LOG_ROTATE_KEYS);
  const rotate: LogRotateConfig = {
    daily: v.optBool(o.daily, 'logRotate.daily') ?? DEFAULTS.logRotateDaily,
    maxBytes: v.optInt(o.maxBytes, 'logRotate.maxBytes', 0) ?? DEFAULTS.logRotateMaxBytes,
    keep: v.optInt(o.keep, 'logRotate.keep', 1) ?? DEFAULTS.logRotateKeep,
  };
  if (!rotate.daily && rotate.maxBytes === 0) v.fail('logRotate', 'needs "daily": true or "maxBytes" > 0');
  return rotate;
}

function validateAdmin(v: Validator, raw: unknown): AdminConfig {
  const o = v.object(raw, 'stats.admin');
  v.keys(o, 'stats.admin', ADMIN_KEYS);
  const token = v.optString(o.token, 'stats.admin.token');
  if (token !== undefined && token.length < ADMIN_TOKEN_MIN_CHARS) {
    v.fail(
      'stats.admin.token',
      `must be at least ${ADMIN_TOKEN_MIN_CHARS} characters (it can stop the host)`,
    );
  }
  return {
    ...optional('token', token),
    allowRemote: v.optBool(o.allowRemote, 'stats.admin.allowRemote') ?? DEFAULTS.adminAllowRemote,
  };
}

function validateRegistry(
  v: Validator,
  raw: unknown,
  services: ServiceConfig[],
  stats: StatsConfig | undefined,
  baseDir: string,
): RegistryConfig {
  const at = 'registry';
  const o = v.object(raw, at);
  v.keys(o, at, REGISTRY_KEYS);
  if (!Array.isArray(o.endpoints) || o.endpoints.length === 0) {
    v.fail(`${at}.endpoints`, 'must be a non-empty array of etcd client URLs, e.g. ["http://10.0.0.1:2379"]');
  }
  const endpoints = (o.endpoints as unknown[]).map((e, i) => {
    const text = v.string(e, `${at}.endpoints[${i}]`);
    if (!/^https?:\/\/[^/\s]+\/?$/.test(text)) v.fail(`${at}.endpoints[${i}]`, `"${text}" is not http(s)://host:port`);
    return text.replace(/\/$/, '');
  });
  const prefix = v.optString(o.prefix, `${at}.prefix`) ?? DEFAULTS.registryPrefix;
  if (!prefix.endsWith('/')) v.fail(`${at}.prefix`, `"${prefix}" must end with "/"`);
  const advertise = v.optString(o.advertise, `${at}.advertise`);
  const listeners = services.map((s, i) => ({ field: `services[${i}]`, listen: s.listen }));
  if (stats) listeners.push({ field: 'stats', listen: stats.listen });
  for (const { field, listen } of listeners) {
    if (listen.port === 0) v.fail(`${field}.listen`, 'port 0 cannot be registered: give a fixed port');
    if (!advertise && ['0.0.0.0', '::', ''].includes(listen.host)) {
      v.fail(
        `${at}.advertise`,
        `is required: ${field} listens on ${listen.host || 'every address'}, which callers cannot ` +
          "connect to (give this machine's address)",
      );
    }
  }
  let tls: RegistryConfig['tls'];
  if (o.tls !== undefined) {
    const t = v.object(o.tls, `${at}.tls`);
    v.keys(t, `${at}.tls`, ['ca', 'cert', 'key']);
    tls = {};
    for (const k of ['ca', 'cert', 'key'] as const) {
      const file = v.optString(t[k], `${at}.tls.${k}`);
      if (file) tls[k] = path.resolve(baseDir, file);
    }
  }
  const weight = o.weight === undefined ? DEFAULTS.registryWeight : o.weight;
  if (typeof weight !== 'number' || !(weight >= 0)) v.fail(`${at}.weight`, `must be a number >= 0, got ${show(weight)}`);
  return {
    endpoints,
    prefix,
    ttlSeconds: v.optInt(o.ttlSeconds, `${at}.ttlSeconds`, 2, 3600) ?? DEFAULTS.registryTtlSeconds,
    hostId: v.optString(o.hostId, `${at}.hostId`) ?? os.hostname(),
    weight,
    deregisterDelayMs:
      v.optMs(o.deregisterDelayMs, `${at}.deregisterDelayMs`, 0) ?? DEFAULTS.registryDeregisterDelayMs,
    requestTimeoutMs:
      v.optMs(o.requestTimeoutMs, `${at}.requestTimeoutMs`, 1) ?? DEFAULTS.registryRequestTimeoutMs,
    ...optional('advertise', advertise),
    ...optional('version', v.optString(o.version, `${at}.version`)),
    ...optional('username', v.optString(o.username, `${at}.username`)),
    ...optional('password', v.optString(o.password, `${at}.password`)),
    ...optional('tls', tls),
  };
}

function nodeArgs(v: Validator, raw: unknown, field: string): string[] {
  if (raw === undefined) return [...DEFAULTS.nodeArgs];
  if (!Array.isArray(raw) || raw.some((a) => typeof a !== 'string' || !a.startsWith('--'))) {
    v.fail(field, `must be an array of Node.js flags such as ["--max-semi-space-size=1"], got ${show(raw)}`);
  }
  return [...(raw as string[])];
}

function optional<K extends string, T>(key: K, value: T | undefined): { [P in K]?: T } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: T };
}

function resolvable(file: string): boolean {
  try {
    require.resolve(file);
    return true;
  } catch {
    return false;
  }
}

/** Small typed readers that throw ConfigError naming the file and field. */
class Validator {
  constructor(private readonly file: string) {}

  fail(field: string, problem: string): never {
    throw new ConfigError(`${this.file}: ${field} ${problem}`);
  }

  object(raw: unknown, field: string): Record<string, unknown> {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) this.fail(field, 'must be an object');
    return raw as Record<string, unknown>;
  }

  keys(o: Record<string, unknown>, field: string, allowed: readonly string[]): void {
    for (const key of Object.keys(o)) {
      if (!allowed.includes(key)) {
        const near = allowed.find((a) => a.toLowerCase() === key.toLowerCase());
        this.fail(
          field,
          `has unknown key "${key}"${near ? ` (did you mean "${near}"?)` : ''}; allowed: ${allowed.join(', ')}`,
        );
      }
    }
  }

  string(raw: unknown, field: string): string {
    if (typeof raw !== 'string' || raw === '')
      this.fail(field, `must be a non-empty string, got ${show(raw)}`);
    return raw;
  }

  optString(raw: unknown, field: string): string | undefined {
    return raw === undefined ? undefined : this.string(raw, field);
  }

  optBool(raw: unknown, field: string): boolean | undefined {
    if (raw === undefined) return undefined;
    if (typeof raw !== 'boolean') this.fail(field, `must be true or false, got ${show(raw)}`);
    return raw;
  }

  optInt(raw: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    if (raw === undefined) return undefined;
    if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < min || raw > max) {
      this.fail(field, `must be an integer from ${min} to ${max}, got ${show(raw)}`);
    }
    return raw;
  }

  /** A millisecond setting: it ends up in a timer, so it must fit a timer's range. */
  optMs(raw: unknown, field: string, min: number): number | undefined {
    if (raw === undefined) return undefined;
    if (!isTimerMs(raw, min)) this.fail(field, `must be ${timerRangeText(min)}, got ${show(raw)}`);
    return raw;
  }
}

function show(raw: unknown): string {
  return raw === undefined ? 'nothing' : JSON.stringify(raw);
}
