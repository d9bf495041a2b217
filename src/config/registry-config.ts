/**
 * The schema-checked `registry` block turned into a {@link RegistryConfig}, with the checks
 * that need the rest of the file: every listener it announces must have a fixed port, and an
 * address callers can reach (else `advertise` is required).
 */
import path from 'node:path';
import { DEFAULTS } from './config-defaults.js';
import type { Fail } from './config-error.js';
import type { RegistryConfig, ServiceConfig, StatsConfig } from './config-types.js';
import type { Checked } from './schema-validator.js';
import { optional } from './optional-field.js';

/**
 * Resolves `registry` for a host with these listeners.
 * @param baseDir the config file's folder, for the TLS file paths
 * @throws ConfigError (through `fail`) naming the field
 */
export function resolveRegistry(
  o: Checked,
  services: readonly ServiceConfig[],
  stats: StatsConfig | undefined,
  baseDir: string,
  fail: Fail,
): RegistryConfig {
  const advertise = o.advertise as string | undefined;
  const listeners = services.map((s, i) => ({ field: `services[${i}]`, listen: s.listen }));
  if (stats) listeners.push({ field: 'stats', listen: stats.listen });
  for (const { field, listen } of listeners) {
    if (listen.port === 0) fail(`${field}.listen`, 'port 0 cannot be registered: give a fixed port');
    if (!advertise && ['0.0.0.0', '::', ''].includes(listen.host)) {
      fail(
        'registry.advertise',
        `is required: ${field} listens on ${listen.host || 'every address'}, which callers cannot ` +
          "connect to (give this machine's address)",
      );
    }
  }
  let tls: RegistryConfig['tls'];
  if (o.tls !== undefined) {
    const t = o.tls as Checked;
    tls = {};
    for (const k of ['ca', 'cert', 'key'] as const) {
      if (t[k] !== undefined) tls[k] = path.resolve(baseDir, t[k] as string);
    }
  }
  return {
    endpoints: (o.endpoints as string[]).map((e) => e.replace(/\/$/, '')),
    prefix: (o.prefix as string | undefined) ?? DEFAULTS.registryPrefix,
    ttlSeconds: (o.ttlSeconds as number | undefined) ?? DEFAULTS.registryTtlSeconds,
    hostId: (o.hostId as string | undefined) ?? DEFAULTS.registryHostId(),
    weight: (o.weight as number | undefined) ?? DEFAULTS.registryWeight,
    deregisterDelayMs: (o.deregisterDelayMs as number | undefined) ?? DEFAULTS.registryDeregisterDelayMs,
    requestTimeoutMs: (o.requestTimeoutMs as number | undefined) ?? DEFAULTS.registryRequestTimeoutMs,
    ...optional('advertise', advertise),
    ...optional('version', o.version as string | undefined),
    ...optional('username', o.username as string | undefined),
    ...optional('password', o.password as string | undefined),
    ...optional('tls', tls),
  };
}
