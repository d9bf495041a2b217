/**
 * Host configuration: `rpc.config.json` (or `--config PATH`) turned into a validated
 * {@link HostConfig}. Every default lives in {@link DEFAULTS}; every check names the file and the
 * field. Nothing is forked until the whole file has passed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type HostPort, parseAddress } from './common/address.js';
import {
  DECODE_LIMIT_RANGES,
  DEFAULT_DECODE_LIMITS,
  type DecodeLimits,
  type I64Mode,
} from './common/decode-limits.js';
import { ThriftHostError } from './common/errors.js';
import { loadGeneratedService } from './common/generated-service.js';
import {
  type ProtocolName,
  parseProtocolName,
  parseTransportName,
  type TransportName,
} from './common/protocols.js';

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
  /** Conventional handler location, relative to the config file's folder. */
  handler: (service: string) => `services/${service}/handler.js`,
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
  /** @default 300000 */
  idleTimeoutMs: number;
  /** @default 0 (never) */
  maxRequests: number;
  /** @default 0 (never) */
  maxMemoryMB: number;
  user?: string;
  group?: string;
  tls?: TlsConfig;
  /** Node.js flags for this service's worker processes. @default [] */
  nodeArgs: string[];
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
  services: ServiceConfig[];
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
  v.keys(top, '(top level)', [
    'services',
    'pidFile',
    'logDir',
    'logLevel',
    'gracefulTimeoutMs',
    'genDir',
    'stats',
  ]);
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
  const ports = new Map<number, string>();
  services.forEach((s, i) => {
    if (names.has(s.name)) v.fail(`services[${i}].name`, `"${s.name}" is used twice; names must be unique`);
    names.add(s.name);
    const other = s.listen.port !== 0 ? ports.get(s.listen.port) : undefined;
    if (other) {
      v.fail(
        `services[${i}].listen`,
        `port ${s.listen.port} is already used by ${other}; to serve several services on one port, list them in one entry's "multiplex"`,
      );
    }
    ports.set(s.listen.port, s.name);
  });
  const logLevel = v.optString(top.logLevel, 'logLevel') ?? DEFAULTS.logLevel;
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    v.fail('logLevel', `"${logLevel}" is not one of fatal, error, warn, info, debug, trace, silent`);
  }
  return {
    file,
    baseDir,
    pidFile: path.resolve(baseDir, v.optString(top.pidFile, 'pidFile') ?? DEFAULTS.pidFile),
    logDir: path.resolve(baseDir, v.optString(top.logDir, 'logDir') ?? DEFAULTS.logDir),
    logLevel,
    gracefulTimeoutMs: v.optInt(top.gracefulTimeoutMs, 'gracefulTimeoutMs', 0) ?? DEFAULTS.gracefulTimeoutMs,
    stats: top.stats === undefined || top.stats === null ? undefined : validateStats(v, top.stats),
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

const SERVICE_KEYS = [
  'name',
  'service',
  'handler',
  'multiplex',
  'listen',
  'count',
  'protocol',
  'transport',
  'genDir',
  'maxMessageBytes',
  'maxFrameBytes',
  'maxStringBytes',
  'maxContainerElements',
  'maxDepth',
  'i64',
  'interceptors',
  'callContext',
  'idleTimeoutMs',
  'maxRequests',
  'maxMemoryMB',
  'user',
  'group',
  'tls',
  'nodeArgs',
];

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
      v.keys(mo, `${at}.multiplex[${j}]`, ['service', 'handler']);
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
    v.keys(t, `${at}.tls`, ['key', 'cert', 'ca']);
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
    idleTimeoutMs: v.optInt(o.idleTimeoutMs, `${at}.idleTimeoutMs`, 0) ?? DEFAULTS.idleTimeoutMs,
    maxRequests: v.optInt(o.maxRequests, `${at}.maxRequests`, 0) ?? DEFAULTS.maxRequests,
    maxMemoryMB: v.optInt(o.maxMemoryMB, `${at}.maxMemoryMB`, 0) ?? DEFAULTS.maxMemoryMB,
    nodeArgs: nodeArgs(v, o.nodeArgs, `${at}.nodeArgs`),
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

function i64Mode(v: Validator, raw: unknown, at: string): I64Mode {
  const mode = v.optString(raw, at) ?? DEFAULTS.i64;
  if (mode !== 'int64' && mode !== 'bigint') v.fail(at, `"${mode}" is not one of int64, bigint`);
  return mode;
}

function binding(v: Validator, o: Record<string, unknown>, at: string, baseDir: string): ServiceBinding {
  const service = v.string(o.service, `${at}.service`);
  if (!/^[A-Za-z_]\w*$/.test(service)) v.fail(`${at}.service`, `"${service}" is not a Thrift service name`);
  const handler = v.optString(o.handler, `${at}.handler`) ?? DEFAULTS.handler(service);
  return { service, handler: path.resolve(baseDir, handler) };
}

function validateStats(v: Validator, raw: unknown): StatsConfig {
  const o = v.object(raw, 'stats');
  v.keys(o, 'stats', ['listen', 'udp', 'user', 'password', 'admin']);
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

function validateAdmin(v: Validator, raw: unknown): AdminConfig {
  const o = v.object(raw, 'stats.admin');
  v.keys(o, 'stats.admin', ['token', 'allowRemote']);
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
}

function show(raw: unknown): string {
  return raw === undefined ? 'nothing' : JSON.stringify(raw);
}
