/**
 * The keys one host writes into the registry, derived from its configuration: one per served
 * service (per bound service of a multiplexed listener) and one for its statistics listener.
 */
import { formatAddress, type HostPort } from '../common/address.js';
import {
  type HostRecord,
  hostKeyPrefix,
  type InstanceRecord,
  serviceKeyPrefix,
} from '../common/registry-record.js';
import type { HostConfig, RegistryConfig } from '../config/config.js';

/** One key and its JSON value. */
export interface RegistryEntry {
  key: string;
  value: string;
}

/**
 * Every key of this host. `stats` is the bound statistics address, when the host has one.
 * @example
 * hostEntries(config, config.registry, stats?.address)
 * // [{ key: '/thrifthost/services/HelloWorld/10.0.0.5:9090', value: '{"service":"HelloWorld",...}' }, ...]
 */
export function hostEntries(config: HostConfig, registry: RegistryConfig, stats?: HostPort): RegistryEntry[] {
  const statsAddress = stats ? formatAddress({ host: advertised(registry, stats.host), port: stats.port }) : undefined;
  const entries: RegistryEntry[] = [];
  const services: string[] = [];
  for (const s of config.services) {
    const address = formatAddress({ host: advertised(registry, s.listen.host), port: s.listen.port });
    for (const b of s.bindings) {
      services.push(b.service);
      const record: InstanceRecord = {
        service: b.service,
        address,
        protocol: s.protocol,
        transport: s.transport,
        multiplexed: s.multiplexed,
        weight: registry.weight,
        ...(registry.version === undefined ? {} : { version: registry.version }),
        hostId: registry.hostId,
        ...(statsAddress === undefined ? {} : { stats: statsAddress }),
      };
      entries.push({ key: `${serviceKeyPrefix(registry.prefix, b.service)}${address}`, value: JSON.stringify(record) });
    }
  }
  if (statsAddress !== undefined) {
    const record: HostRecord = { hostId: registry.hostId, stats: statsAddress, services };
    entries.push({ key: `${hostKeyPrefix(registry.prefix)}${statsAddress}`, value: JSON.stringify(record) });
  }
  return entries;
}

// --- internal ---

function advertised(registry: RegistryConfig, host: string): string {
  if (registry.advertise) return registry.advertise;
  return ['0.0.0.0', '::', ''].includes(host) ? '127.0.0.1' : host;
}
