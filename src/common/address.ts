/**
 * Address parsing shared by host config (`tcp://0.0.0.0:9090`) and client config
 * (`127.0.0.1:9090`).
 */

/** A parsed TCP address. */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * Parses `host:port`, `tcp://host:port` or `[v6]:port`. Returns an error string instead of
 * throwing so callers can name the field that held the bad value.
 */
export function parseAddress(input: string, { allowPortZero = true } = {}): HostPort | string {
  const text = input.startsWith('tcp://') ? input.slice('tcp://'.length) : input;
  const match = /^(?:\[([^\]]+)\]|([^:[\]/]+)):(\d{1,5})$/.exec(text);
  if (!match) return `"${input}" is not host:port (e.g. "127.0.0.1:9090" or "tcp://0.0.0.0:9090")`;
  const host = (match[1] ?? match[2]) as string;
  const port = Number(match[3]);
  if (port > 65535 || (port === 0 && !allowPortZero)) return `port ${port} in "${input}" is out of range`;
  return { host, port };
}

/** `host:port`, with brackets for IPv6. */
export function formatAddress({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
