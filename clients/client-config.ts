/**
 * Client configuration checked: untrusted `ThriftClient.config(...)` input validated field by
 * field and resolved against {@link CLIENT_DEFAULTS} in exactly one function
 * ({@link validateServiceOptions}). The original workerman-thrift key names (`thrift_protocol`,
 * `thrift_transport`, `service_dir`) are accepted as aliases. Over 400 lines because the one
 * resolving function takes every field in turn; the validators of the nested entries (registry,
 * tls, retryBudget, backupAfter) and the generated-code checks follow it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DECODE_LIMIT_RANGES, type I64Mode } from '../src/codec/decode-limits.js';
import { generatedFileCandidates, generatedI64Mode, generatedServiceNames } from '../src/codec/generated-service.js';
import { PROTOCOLS, parseProtocolName, parseTransportName, TRANSPORTS } from '../src/codec/protocols.js';
import { formatAddress, parseAddress } from '../src/common/address.js';
import { isTimerMs, timerRangeText } from '../src/common/timer-range.js';
// A pure function, shared with the host's config validator.
import { closestMatch } from '../src/config/did-you-mean.js';
import type { Balancer } from './address-policy.js';
import type { ClientTlsSettings } from './connection.js';
import { moduleFile, nearestGenDir } from './caller-dir.js';
import { ClientConfigError } from './errors.js';

import {
  BACKUP_PERCENTILES,
  type BackupAfter,
  type BackupPercentile,
  CLIENT_DEFAULTS,
  type ResolvedRegistryOptions,
  type ResolvedServiceOptions,
  type RetryBudgetConfig,
  type ServiceClientOptions,
} from './client-options.js';

const ALIASES: Record<string, keyof ServiceClientOptions> = {
  thrift_protocol: 'protocol',
  thrift_transport: 'transport',
  service_dir: 'serviceDir',
};

const KNOWN_KEYS = new Set<string>([
  'addresses',
  'registry',
  'protocol',
  'transport',
  'serviceDir',
  'generated',
  'tls',
  'connectTimeoutMs',
  'callTimeoutMs',
  'retries',
  'retryBudget',
  'idempotent',
  'backupAfter',
  'balancer',
  'slowStartMs',
  'latencyDecayMs',
  'poolMin',
  'poolMax',
  'poolIdleTimeoutMs',
  'maxInFlightPerConnection',
  'maxReplyBytes',
  'maxStringBytes',
  'maxContainerElements',
  'maxDepth',
  'i64',
  'interceptors',
  'headers',
  'detectRate',
  'evictAfterFailures',
  'evictBelowSuccessRate',
  'successRateWindow',
  'maxEvictedRatio',
  'backoffInitialMs',
  'backoffMaxMs',
  'backoffMultiplier',
  'backoffJitter',
  'shareState',
  'stateDir',
  'stateSyncMs',
]);

/**
 * Turns untrusted client config into resolved service entries.
 * @throws ClientConfigError naming the service, the field and the constraint.
 */
export function validateClientConfig(raw: unknown, baseDir = process.cwd()): Map<string, ResolvedServiceOptions> {
  if (!isRecord(raw))
    throw new ClientConfigError(
      'ThriftClient.config expects an object: { ServiceName: { addresses: [...] } }',
    );
  const services = new Map<string, ResolvedServiceOptions>();
  for (const [service, entry] of Object.entries(raw)) {
    services.set(service, validateServiceOptions(service, entry, baseDir));
  }
  return services;
}

/**
 * Validates one service entry and applies {@link CLIENT_DEFAULTS}: the only place defaults are resolved.
 * `generatedCode: false` skips the check that generated code exists (GenericClient works from the IDL).
 */
export function validateServiceOptions(
  service: string,
  raw: unknown,
  baseDir = process.cwd(),
  { generatedCode = true }: { generatedCode?: boolean } = {},
): ResolvedServiceOptions {
  const at = (field: string) => `ThriftClient.config: ${service}.${field}`;
  if (!isRecord(raw)) throw new ClientConfigError(`${at('')} must be an object with at least \`addresses\``);
  const o = canonicalKeys(service, raw);
  const d = CLIENT_DEFAULTS;

  const registry = o.registry === undefined ? undefined : validateRegistry(service, o.registry);
  if (o.addresses === undefined && registry) o.addresses = [];
  if (!Array.isArray(o.addresses) || (o.addresses.length === 0 && !registry)) {
    throw new ClientConfigError(
      `${at('addresses')} must be a non-empty array of "host:port" strings (or give \`registry\`)`,
    );
  }
  const addresses: string[] = [];
  for (const [i, a] of (o.addresses as unknown[]).entries()) {
    const parsed = typeof a === 'string' ? parseAddress(a, { allowPortZero: false }) : 'not a string';
    if (typeof parsed === 'string') throw new ClientConfigError(`${at(`addresses[${i}]`)}: ${parsed}`);
    const text = formatAddress(parsed);
    if (!addresses.includes(text)) addresses.push(text);
  }

  const protocolText = optional(
    o.protocol,
    d.protocol,
    (v) => typeof v === 'string',
    at('protocol'),
    'a string',
  );
  const protocol = parseProtocolName(protocolText);
  if (!protocol)
    throw new ClientConfigError(
      `${at('protocol')} "${protocolText}" is unknown (use one of ${PROTOCOLS.join(', ')})`,
    );
  const transportText = optional(
    o.transport,
    d.transport,
    (v) => typeof v === 'string',
    at('transport'),
    'a string',
  );
  const transport = parseTransportName(transportText);
  if (!transport) {
    throw new ClientConfigError(
      `${at('transport')} "${transportText}" is unknown (use one of ${[...TRANSPORTS, 'header'].join(', ')})`,
    );
  }
  if (transport === 'header' && protocol === 'json') {
    throw new ClientConfigError(`${at('protocol')} json cannot travel in THeader (use binary or compact)`);
  }

  const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
  const idempotent = optional(
    o.idempotent,
    [] as string[],
    (v) => Array.isArray(v) && v.every(isString),
    at('idempotent'),
    'an array of method names',
  );
  const generated = generatedFile(o.generated, baseDir, at('generated'));

  const int = (field: keyof typeof d & keyof ServiceClientOptions, min: number) =>
    optional(
      o[field],
      d[field] as number,
      (v) => Number.isInteger(v) && (v as number) >= min,
      at(field),
      `an integer >= ${min}`,
    );
  const limit = (field: keyof typeof DECODE_LIMIT_RANGES & keyof ServiceClientOptions) => {
    const [min, max] = DECODE_LIMIT_RANGES[field];
    return optional(
      o[field],
      d[field] as number,
      (v) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max,
      at(field),
      `an integer from ${min} to ${max}`,
    );
  };
  const ms = (field: keyof typeof d & keyof ServiceClientOptions, min: number) =>
    optional(o[field], d[field] as number, (v) => isTimerMs(v, min), at(field), timerRangeText(min));
  const num = (field: keyof typeof d & keyof ServiceClientOptions, min: number, max: number) =>
    optional(
      o[field],
      d[field] as number,
      (v) => typeof v === 'number' && v >= min && v <= max,
      at(field),
      `a number in [${min}, ${max}]`,
    );

  const resolved: ResolvedServiceOptions = {
    service,
    addresses,
    registry,
    protocol,
    transport,
    serviceDir:
      o.serviceDir === undefined
        ? nearestGenDir(baseDir)
        : path.resolve(baseDir, optional(o.serviceDir, d.serviceDir, isString, at('serviceDir'), 'a folder path')),
    generated,
    tls: validateTls(o.tls, baseDir, at('tls')),
    connectTimeoutMs: ms('connectTimeoutMs', 1),
    callTimeoutMs: ms('callTimeoutMs', 1),
    retries: int('retries', 0),
    retryBudget: validateRetryBudget(o.retryBudget, at('retryBudget')),
    idempotent: new Set(idempotent),
    backupAfter: validateBackupAfter(o.backupAfter, at('backupAfter')),
    balancer: optional(
      o.balancer,
      d.balancer,
      (v): v is Balancer => v === 'least-loaded' || v === 'random',
      at('balancer'),
      '"least-loaded" or "random"',
    ),
    slowStartMs: ms('slowStartMs', 0),
    latencyDecayMs: ms('latencyDecayMs', 1),
    poolMin: int('poolMin', 0),
    poolMax: int('poolMax', 1),
    poolIdleTimeoutMs: ms('poolIdleTimeoutMs', 1),
    maxInFlightPerConnection: int('maxInFlightPerConnection', 1),
    maxReplyBytes: int('maxReplyBytes', 1024),
    maxStringBytes: limit('maxStringBytes'),
    maxContainerElements: limit('maxContainerElements'),
    maxDepth: limit('maxDepth'),
    i64: optional(
      o.i64,
      d.i64 as I64Mode,
      (v): v is I64Mode => v === 'int64' || v === 'bigint',
      at('i64'),
      '"int64" or "bigint"',
    ),
    interceptors: optional(
      o.interceptors,
      d.interceptors,
      (v) => Array.isArray(v) && v.every((f) => typeof f === 'function'),
      at('interceptors'),
      'an array of functions (context, next) => result',
    ),
    headers: new Map(
      Object.entries(
        optional(
          o.headers,
          {} as Record<string, string>,
          (v) => isRecord(v) && Object.values(v).every((x) => typeof x === 'string'),
          at('headers'),
          'an object of string values',
        ),
      ),
    ),
    detectRate: num('detectRate', 0, 1),
    evictAfterFailures: int('evictAfterFailures', 0),
    evictBelowSuccessRate: num('evictBelowSuccessRate', 0, 1),
    successRateWindow: optional(
      o.successRateWindow,
      d.successRateWindow as number,
      (v) => Number.isInteger(v) && (v as number) >= 5 && (v as number) <= 10_000,
      at('successRateWindow'),
      'an integer from 5 to 10000',
    ),
    maxEvictedRatio: num('maxEvictedRatio', 0, 1),
    backoffInitialMs: ms('backoffInitialMs', 1),
    backoffMaxMs: ms('backoffMaxMs', 1),
    backoffMultiplier: num('backoffMultiplier', 1, 100),
    backoffJitter: num('backoffJitter', 0, 1),
    shareState: optional(
      o.shareState,
      d.shareState as boolean,
      (v) => typeof v === 'boolean',
      at('shareState'),
      'a boolean',
    ),
    stateDir: path.resolve(optional(o.stateDir, d.stateDir(), isString, at('stateDir'), 'a folder path')),
    stateSyncMs: ms('stateSyncMs', 0),
  };
  if (resolved.poolMin > resolved.poolMax) {
    throw new ClientConfigError(
      `${at('poolMin')} (${resolved.poolMin}) must not exceed poolMax (${resolved.poolMax})`,
    );
  }
  if (resolved.backupAfter !== undefined && resolved.idempotent.size === 0) {
    throw new ClientConfigError(
      `${at('backupAfter')} applies to the methods listed in idempotent, and idempotent is empty ` +
        '(a backup request runs a call twice: list the methods safe to run twice)',
    );
  }
  if (resolved.backoffInitialMs > resolved.backoffMaxMs) {
    throw new ClientConfigError(
      `${at('backoffInitialMs')} must not exceed backoffMaxMs (${resolved.backoffMaxMs})`,
    );
  }
  // A service described by its IDL at run time (GenericClient) has no generated code to find.
  if (!generatedCode) return resolved;
  checkGeneratedCodeExists(resolved);
  return withGeneratedI64(resolved, o.i64 !== undefined);
}

// --- internal ---

function validateRegistry(service: string, raw: unknown): ResolvedRegistryOptions {
  const at = (field: string) => `ThriftClient.config: ${service}.registry${field}`;
  if (!isRecord(raw)) throw new ClientConfigError(`${at('')} must be an object: { endpoints: ["http://host:2379"] }`);
  const known = ['endpoints', 'prefix', 'service', 'username', 'password', 'tls', 'requestTimeoutMs'];
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) {
      throw new ClientConfigError(`${at(`.${key}`)} is not a known option (known: ${known.join(', ')})`);
    }
  }
  if (!Array.isArray(raw.endpoints) || raw.endpoints.length === 0) {
    throw new ClientConfigError(
      `${at('.endpoints')} must be a non-empty array of etcd URLs, e.g. ["http://127.0.0.1:2379"]`,
    );
  }
  const endpoints = raw.endpoints.map((e, i) => {
    if (typeof e !== 'string' || !/^https?:\/\/[^/\s]+\/?$/.test(e)) {
      throw new ClientConfigError(`${at(`.endpoints[${i}]`)} must be "http(s)://host:port", got ${JSON.stringify(e)}`);
    }
    return e.replace(/\/$/, '');
  });
  const text = (field: string, fallback: string | undefined) => {
    const v = raw[field];
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || v === '') throw new ClientConfigError(`${at(`.${field}`)} must be a non-empty string`);
    return v;
  };
  const prefix = text('prefix', CLIENT_DEFAULTS.registryPrefix) as string;
  if (!prefix.endsWith('/')) throw new ClientConfigError(`${at('.prefix')} "${prefix}" must end with "/"`);
  let tls: { ca?: string; cert?: string; key?: string } | undefined;
  if (raw.tls !== undefined) {
    if (!isRecord(raw.tls)) {
      throw new ClientConfigError(`${at('.tls')} must be an object { ca?, cert?, key? } of PEM file paths`);
    }
    tls = {};
    for (const k of ['ca', 'cert', 'key'] as const) {
      const v = raw.tls[k];
      if (v === undefined) continue;
      if (typeof v !== 'string' || v === '') throw new ClientConfigError(`${at(`.tls.${k}`)} must be a file path`);
      tls[k] = path.resolve(v);
    }
  }
  const timeout = raw.requestTimeoutMs ?? CLIENT_DEFAULTS.registryRequestTimeoutMs;
  if (!isTimerMs(timeout, 1)) {
    throw new ClientConfigError(`${at('.requestTimeoutMs')} must be ${timerRangeText(1)}, got ${JSON.stringify(timeout)}`);
  }
  return {
    endpoints,
    prefix,
    service: text('service', service) as string,
    username: text('username', undefined),
    password: text('password', undefined),
    tls,
    requestTimeoutMs: timeout as number,
  };
}

/** `tls`: false/undefined for plain TCP, true for the system CAs, or PEM paths read now. */
function validateTls(raw: unknown, baseDir: string, field: string): ClientTlsSettings | undefined {
  if (raw === undefined || raw === false) return undefined;
  if (raw === true) return { rejectUnauthorized: true };
  if (!isRecord(raw)) throw new ClientConfigError(`${field} must be true or { ca?, cert?, key?, servername?, rejectUnauthorized? }`);
  const known = ['ca', 'cert', 'key', 'servername', 'rejectUnauthorized'];
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) throw new ClientConfigError(`${field}.${key} is not a known option (known: ${known.join(', ')})`);
  }
  const out: ClientTlsSettings = { rejectUnauthorized: raw.rejectUnauthorized !== false };
  if (raw.rejectUnauthorized !== undefined && typeof raw.rejectUnauthorized !== 'boolean') {
    throw new ClientConfigError(`${field}.rejectUnauthorized must be a boolean`);
  }
  if (raw.servername !== undefined) {
    if (typeof raw.servername !== 'string' || raw.servername === '') throw new ClientConfigError(`${field}.servername must be a host name`);
    out.servername = raw.servername;
  }
  for (const k of ['ca', 'cert', 'key'] as const) {
    const v = raw[k];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v === '') throw new ClientConfigError(`${field}.${k} must be a PEM file path`);
    const file = path.resolve(baseDir, v);
    try {
      out[k] = fs.readFileSync(file);
    } catch (err) {
      throw new ClientConfigError(`${field}.${k}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
  }
  if ((out.cert === undefined) !== (out.key === undefined)) {
    throw new ClientConfigError(`${field}: a client certificate needs both cert and key`);
  }
  return out;
}

function validateRetryBudget(raw: unknown, field: string): Required<RetryBudgetConfig> | undefined {
  const d = CLIENT_DEFAULTS.retryBudget;
  if (raw === undefined) return { ...d };
  if (raw === false) return undefined;
  if (!isRecord(raw)) {
    throw new ClientConfigError(`${field} must be false or an object { ratio?, minPerSec?, windowMs? }, got ${JSON.stringify(raw)}`);
  }
  const known = Object.keys(d);
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) throw new ClientConfigError(`${field}.${key} is not a known option (known: ${known.join(', ')})`);
  }
  return {
    ratio: optional(raw.ratio, d.ratio, (v) => typeof v === 'number' && v >= 0 && v <= 1, `${field}.ratio`, 'a number in [0, 1]'),
    minPerSec: optional(
      raw.minPerSec,
      d.minPerSec,
      (v) => typeof v === 'number' && v >= 0 && v <= 1_000_000,
      `${field}.minPerSec`,
      'a number from 0 to 1000000',
    ),
    windowMs: optional(
      raw.windowMs,
      d.windowMs,
      (v) => Number.isInteger(v) && (v as number) >= 1_000 && (v as number) <= 600_000,
      `${field}.windowMs`,
      'an integer from 1000 to 600000',
    ),
  };
}

function validateBackupAfter(raw: unknown, field: string): BackupAfter | undefined {
  if (raw === undefined || raw === false) return undefined;
  if (typeof raw === 'string' && Object.hasOwn(BACKUP_PERCENTILES, raw)) return raw as BackupPercentile;
  if (isTimerMs(raw, 1)) return raw as number;
  throw new ClientConfigError(
    `${field} must be false, a delay in ms (${timerRangeText(1)}) or one of ${Object.keys(BACKUP_PERCENTILES)
      .map((p) => `"${p}"`)
      .join(', ')}, got ${JSON.stringify(raw)}`,
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Maps alias keys to their canonical names; an unknown key or a key given twice is an error. */
function canonicalKeys(service: string, raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const name = ALIASES[key] ?? key;
    if (!KNOWN_KEYS.has(name)) {
      throw new ClientConfigError(
        `ThriftClient.config: ${service}.${key} is not a known option (known: ${[...KNOWN_KEYS, ...Object.keys(ALIASES)].join(', ')})`,
      );
    }
    if (name in out)
      throw new ClientConfigError(`ThriftClient.config: ${service}.${name} is given twice (once as ${key})`);
    out[name] = value;
  }
  return out;
}

function optional<T>(
  value: unknown,
  fallback: T,
  ok: (v: unknown) => boolean,
  field: string,
  expected: string,
): T {
  if (value === undefined) return fallback;
  if (!ok(value)) throw new ClientConfigError(`${field} must be ${expected}, got ${JSON.stringify(value)}`);
  return value as T;
}

/**
 * Refuses an entry whose generated code is not where the client will load it from on first
 * `instance()`: the entry's name is the IDL service's, so a misspelt one (`Ordrs`) ends here,
 * with the services that are generated there and the nearest of them. Only the file's presence
 * is checked; loading it stays with the first `instance()`.
 */
function checkGeneratedCodeExists(o: ResolvedServiceOptions): void {
  const at = `ThriftClient.config: ${o.service}`;
  if (o.generated !== undefined) {
    if (!fs.existsSync(o.generated)) throw new ClientConfigError(`${at}.generated: ${o.generated} does not exist`);
    return;
  }
  const tried = generatedFileCandidates(o.serviceDir, o.service);
  if (tried.some((f) => fs.existsSync(f))) return;
  const present = generatedServiceNames(o.serviceDir);
  const near = closestMatch(o.service, present);
  throw new ClientConfigError(
    `${at}: no generated code for service ${o.service} (none of ${tried.join(', ')} exists)` +
      (near ? `; did you mean ${near}?` : '') +
      ` Services generated in ${o.serviceDir}: ${present.length ? present.join(', ') : 'none'}. ` +
      `A service is configured under its IDL name; generate its code with \`npm run gen\` (or \`rpc gen\`), or point serviceDir or generated at it.`,
  );
}

/**
 * The options with the i64 representation of the generated code, when `rpc gen` says which it
 * generated: the default, and the only one an explicit `i64` may name (the generated types and
 * the values a call resolves with then agree).
 */
function withGeneratedI64(o: ResolvedServiceOptions, explicit: boolean): ResolvedServiceOptions {
  const file = o.generated ?? generatedFileCandidates(o.serviceDir, o.service).find((f) => fs.existsSync(f));
  const generated = file === undefined ? undefined : generatedI64Mode(file);
  if (generated === undefined || generated === o.i64) return o;
  if (explicit) {
    throw new ClientConfigError(
      `ThriftClient.config: ${o.service}.i64 is "${o.i64}", but ${file} was generated with i64 "${generated}": ` +
        'leave i64 out (it follows the generated code), or run `rpc gen` with the representation you want',
    );
  }
  return { ...o, i64: generated };
}

/** The generated file of a `generated` option: a path (resolved against `baseDir`) or a loaded module. */
function generatedFile(raw: unknown, baseDir: string, field: string): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw === 'string' && raw.length > 0) return path.resolve(baseDir, raw);
  const file = typeof raw === 'object' && raw !== null ? moduleFile(raw) : undefined;
  if (file === undefined) {
    throw new ClientConfigError(
      `${field} must be the path of the generated <Service>.js or that module as loaded (require('./gen/X/X.js')), got ${typeof raw}`,
    );
  }
  return file;
}
