/**
 * The schema-checked `stats` block turned into a {@link StatsConfig}: the statistics listener
 * and UDP report addresses parsed, and the remote admin settings with their defaults.
 */
import { type HostPort, parseAddress } from '../common/address.js';
import { DEFAULTS } from './config-defaults.js';
import type { Fail } from './config-error.js';
import type { AdminConfig, StatsConfig } from './config-types.js';
import type { Checked } from './schema-validator.js';
import { optional } from './optional-field.js';

/**
 * Resolves `stats`.
 * @throws ConfigError (through `fail`) naming the field
 */
export function resolveStats(o: Checked, fail: Fail): StatsConfig {
  const listen = parseAddress(o.listen as string);
  if (typeof listen === 'string') fail('stats.listen', listen);
  let udp: HostPort | undefined;
  if (o.udp !== undefined) {
    const parsed = parseAddress((o.udp as string).replace(/^udp:\/\//, ''));
    if (typeof parsed === 'string') fail('stats.udp', parsed);
    udp = parsed;
  }
  return {
    listen,
    ...optional('udp', udp),
    ...optional('user', o.user as string | undefined),
    ...optional('password', o.password as string | undefined),
    ...optional('admin', o.admin === undefined ? undefined : resolveAdmin(o.admin as Checked)),
  };
}

// --- internal ---

function resolveAdmin(o: Checked): AdminConfig {
  return {
    ...optional('token', o.token as string | undefined),
    allowRemote: (o.allowRemote as boolean | undefined) ?? DEFAULTS.adminAllowRemote,
  };
}
