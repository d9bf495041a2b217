/**
 * What a host writes into etcd and what clients and Prometheus discovery read back: the key
 * layout under the registry prefix and the JSON value of each key. Values come from the
 * network, so {@link parseInstanceRecord} checks every field before anything is used.
 *
 * Layout (prefix default `/thrifthost/services/`):
 *   <prefix><Service>/<host>:<port>   one served service instance  -> InstanceRecord
 *   <prefix>.hosts/<host>:<port>      one host's statistics listener -> HostRecord
 * A Thrift service name cannot start with a dot, so `.hosts/` never meets a service.
 */
import { formatAddress, parseAddress } from './address.js';
import { type ProtocolName, parseProtocolName, parseTransportName, type TransportName } from '../codec/protocols.js';

/** Default key prefix, shared by host and client configuration. */
export const DEFAULT_REGISTRY_PREFIX = '/thrifthost/services/';

/** The value of a service instance key. */
export interface InstanceRecord {
  service: string;
  /** `host:port` callers connect to. */
  address: string;
  protocol: ProtocolName;
  transport: TransportName;
  /** Served through TMultiplexedProtocol. */
  multiplexed: boolean;
  /** Relative share of calls the host asks for (informative; ThriftClient picks uniformly). */
  weight: number;
  /** Free-form version label of the deployment, e.g. a release tag. */
  version?: string;
  hostId: string;
  /** `host:port` of the host's statistics listener, when it has one. */
  stats?: string;
}

/** The value of a host's statistics key (Prometheus discovery). */
export interface HostRecord {
  hostId: string;
  /** `host:port` of the statistics listener. */
  stats: string;
  /** Names of the services this host serves. */
  services: string[];
}

/** The folder of one service's instances. */
export function serviceKeyPrefix(prefix: string, service: string): string {
  return `${prefix}${service}/`;
}

/** The folder of every host's statistics key. */
export function hostKeyPrefix(prefix: string): string {
  return `${prefix}.hosts/`;
}

/**
 * Parses an instance value read from etcd.
 * @returns the record, or a string saying what is wrong with it
 */
export function parseInstanceRecord(text: string): InstanceRecord | string {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return 'value is not JSON';
  }
  if (typeof o !== 'object' || o === null) return 'value is not a JSON object';
  const r = o as Record<string, unknown>;
  if (typeof r.service !== 'string' || !/^[A-Za-z_]\w*$/.test(r.service)) return 'service is not a Thrift service name';
  const address = typeof r.address === 'string' ? parseAddress(r.address, { allowPortZero: false }) : 'missing';
  if (typeof address === 'string') return `address ${address}`;
  const protocol = typeof r.protocol === 'string' ? parseProtocolName(r.protocol) : undefined;
  if (!protocol) return `protocol ${JSON.stringify(r.protocol)} is unknown`;
  const transport = typeof r.transport === 'string' ? parseTransportName(r.transport) : undefined;
  if (!transport) return `transport ${JSON.stringify(r.transport)} is unknown`;
  const weight = r.weight === undefined ? 1 : r.weight;
  if (typeof weight !== 'number' || !(weight >= 0)) return 'weight is not a number >= 0';
  return {
    service: r.service,
    address: formatAddress(address),
    protocol,
    transport,
    multiplexed: r.multiplexed === true,
    weight,
    ...(typeof r.version === 'string' ? { version: r.version } : {}),
    hostId: typeof r.hostId === 'string' ? r.hostId : '',
    ...(typeof r.stats === 'string' ? { stats: r.stats } : {}),
  };
}

/**
 * Parses a host value read from etcd.
 * @returns the record, or a string saying what is wrong with it
 */
export function parseHostRecord(text: string): HostRecord | string {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return 'value is not JSON';
  }
  if (typeof o !== 'object' || o === null) return 'value is not a JSON object';
  const r = o as Record<string, unknown>;
  const stats = typeof r.stats === 'string' ? parseAddress(r.stats, { allowPortZero: false }) : 'missing';
  if (typeof stats === 'string') return `stats ${stats}`;
  const services = Array.isArray(r.services) ? r.services.filter((s): s is string => typeof s === 'string') : [];
  return { hostId: typeof r.hostId === 'string' ? r.hostId : '', stats: formatAddress(stats), services };
}
