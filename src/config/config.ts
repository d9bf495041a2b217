/**
 * Host configuration: `rpc.config.json` (or `--config PATH`) turned into a validated
 * {@link HostConfig}. The file is first checked against its JSON Schema
 * (schema/rpc.config.schema.json: keys, types, bounds, patterns), then resolved: paths against
 * the file's folder, addresses parsed, defaults applied (config-defaults.ts, from the schema), and
 * the rules a schema cannot state checked (listener collisions, the control socket's path
 * length, rules between fields). Every mistake is one {@link ConfigError} naming the file and
 * the field. Nothing is forked until the whole file has passed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type GeneratedService, loadGeneratedService } from '../codec/generated-service.js';
import { controlSocketPath, MAX_SOCKET_PATH_BYTES } from '../master/control.js';
import { DEFAULT_CONFIG_FILE, DEFAULTS } from './config-defaults.js';
import { ConfigError, type Fail, failIn } from './config-error.js';
import { CONFIG_SCHEMA_NODE } from './config-schema.js';
import type { HostConfig, LogRotateConfig, ServiceConfig, StatsConfig } from './config-types.js';
import { findCollision, type Listener } from './listener-collisions.js';
import { optional } from './optional-field.js';
import { resolveRegistry } from './registry-config.js';
import { type Checked, findSchemaViolation } from './schema-validator.js';
import { resolveServiceEntry } from './service-entry.js';
import { resolveStats } from './stats-config.js';

export { ADMIN_TOKEN_MIN_CHARS, DEFAULT_CONFIG_FILE, DEFAULTS } from './config-defaults.js';
export { ConfigError } from './config-error.js';
export type {
  AdminConfig,
  HostConfig,
  LogRotateConfig,
  RegistryConfig,
  ServiceBinding,
  ServiceConfig,
  StatsConfig,
  TlsConfig,
} from './config-types.js';

/**
 * Reads and validates a config file. `file` defaults to `./rpc.config.json`.
 * @throws ConfigError naming the file and the field.
 * @example
 * const config = loadHostConfig('rpc.config.json');
 * console.log(config.services.map((s) => `${s.name} x${s.count}`));
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
 * Turns untrusted JSON into a {@link HostConfig}. Reads no file but interceptor modules' and
 * default handlers' existence.
 * @param file the config file's absolute path, used in messages and to resolve relative paths
 * @throws ConfigError naming the file and the field.
 */
export function validateHostConfig(raw: unknown, file: string): HostConfig {
  const fail = failIn(file);
  const violation = findSchemaViolation(CONFIG_SCHEMA_NODE, raw);
  if (violation) fail(violation.field, violation.problem);
  const top = raw as Checked;
  const baseDir = path.dirname(file);
  const genDir = path.resolve(baseDir, (top.genDir as string | undefined) ?? DEFAULTS.genDir);
  const services = (top.services as Checked[]).map((s, i) =>
    resolveServiceEntry(s, `services[${i}]`, { baseDir, genDir, fail }),
  );
  const names = new Set<string>();
  services.forEach((s, i) => {
    if (names.has(s.name)) fail(`services[${i}].name`, `"${s.name}" is used twice; names must be unique`);
    names.add(s.name);
  });
  const stats = top.stats === undefined ? undefined : resolveStats(top.stats as Checked, fail);
  checkListeners(services, stats, fail);
  const pidFile = path.resolve(baseDir, (top.pidFile as string | undefined) ?? DEFAULTS.pidFile);
  const socketBytes = Buffer.byteLength(controlSocketPath(pidFile));
  if (socketBytes > MAX_SOCKET_PATH_BYTES) {
    fail(
      'pidFile',
      `${pidFile} is too long: its control socket ${controlSocketPath(pidFile)} would take ${socketBytes} bytes, ` +
        `and a unix socket path holds at most ${MAX_SOCKET_PATH_BYTES}; choose a shorter path`,
    );
  }
  return {
    file,
    baseDir,
    pidFile,
    logDir: path.resolve(baseDir, (top.logDir as string | undefined) ?? DEFAULTS.logDir),
    logLevel: (top.logLevel as string | undefined) ?? DEFAULTS.logLevel,
    gracefulTimeoutMs: (top.gracefulTimeoutMs as number | undefined) ?? DEFAULTS.gracefulTimeoutMs,
    stats,
    ...optional('logRotate', top.logRotate === undefined ? undefined : logRotate(top.logRotate as Checked, fail)),
    ...optional(
      'registry',
      top.registry === undefined ? undefined : resolveRegistry(top.registry as Checked, services, stats, baseDir, fail),
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
  const fail = failIn(config.file);
  config.services.forEach((s, i) => {
    s.bindings.forEach((b, j) => {
      const field = s.multiplexed ? `services[${i}].multiplex[${j}]` : `services[${i}]`;
      let generated: GeneratedService | undefined;
      try {
        generated = loadGeneratedService(s.genDir, b.service);
      } catch (err) {
        fail(`${field}.service`, `cannot be served: ${(err as Error).message}`);
      }
      // The generated code holds one i64 representation: its types and the handler's values agree on it.
      if (generated?.i64 && generated.i64 !== s.i64) {
        fail(
          `services[${i}].i64`,
          `is "${s.i64}", but ${generated.file} was generated with i64 "${generated.i64}": run \`rpc gen\` again (it takes the config's "i64"), or remove the setting`,
        );
      }
      if (!resolvable(b.handler)) {
        fail(
          `${field}.handler`,
          `handler module ${b.handler} does not exist (write it, or set "handler" to its path relative to ${config.baseDir})`,
        );
      }
    });
  });
}

// --- internal ---

function checkListeners(services: ServiceConfig[], stats: StatsConfig | undefined, fail: Fail): void {
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
    fail(collision.field, `${collision.address} is already used by ${collision.other}${hint}`);
  }
}

function logRotate(o: Checked, fail: Fail): LogRotateConfig {
  const rotate: LogRotateConfig = {
    daily: (o.daily as boolean | undefined) ?? DEFAULTS.logRotateDaily,
    maxBytes: (o.maxBytes as number | undefined) ?? DEFAULTS.logRotateMaxBytes,
    keep: (o.keep as number | undefined) ?? DEFAULTS.logRotateKeep,
  };
  if (!rotate.daily && rotate.maxBytes === 0) fail('logRotate', 'needs "daily": true or "maxBytes" > 0');
  return rotate;
}

function resolvable(file: string): boolean {
  try {
    require.resolve(file);
    return true;
  } catch {
    return false;
  }
}
