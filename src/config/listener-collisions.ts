/**
 * Listener addresses of one host config that cannot all be bound: every service listener,
 * `stats.listen` (which also serves `/admin/`) and `stats.udp`, checked when the config is read,
 * so a collision is a config error naming both fields instead of a bind failure after the
 * workers were forked.
 */
import { formatAddress, type HostPort } from '../common/address.js';

/** One address the host binds, with the config field it comes from. */
export interface Listener {
  /** Config field, e.g. `services[1].listen` or `stats.listen`. */
  field: string;
  /** TCP and UDP ports are separate: only listeners of one protocol collide. */
  protocol: 'tcp' | 'udp';
  address: HostPort;
}

/** Two listeners that would bind the same port. */
export interface Collision {
  /** The later listener in the file. */
  field: string;
  /** The earlier one it collides with. */
  other: string;
  address: string;
}

/**
 * The first pair of listeners that would bind one port, in file order; undefined when none.
 * Port 0 (any free port) never collides. A wildcard host (`0.0.0.0`, `::`) collides with every
 * host on the same port; two different named hosts are taken to be different addresses.
 */
export function findCollision(listeners: readonly Listener[]): Collision | undefined {
  for (let i = 1; i < listeners.length; i++) {
    const a = listeners[i]!;
    if (a.address.port === 0) continue;
    for (let j = 0; j < i; j++) {
      const b = listeners[j]!;
      if (b.protocol === a.protocol && b.address.port === a.address.port && hostsOverlap(a, b)) {
        return { field: a.field, other: b.field, address: formatAddress(b.address) };
      }
    }
  }
  return undefined;
}

// --- internal ---

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

function hostsOverlap(a: Listener, b: Listener): boolean {
  const x = a.address.host.toLowerCase();
  const y = b.address.host.toLowerCase();
  return x === y || WILDCARDS.has(x) || WILDCARDS.has(y);
}
