/**
 * Where `rpc call` sends a call and how: the target is `host:port`, or the name of a service in
 * the nearest rpc.config.json (its listen address, protocol, transport, multiplexing and TLS
 * become the defaults), or, when the config has a `registry` block, a name registered in etcd.
 * Flags given on the command line win over what the config says.
 */
import fs from 'node:fs';
import type { ServiceClientOptions } from '../../clients/client-options.js';
import { formatAddress, parseAddress } from '../common/address.js';
import { didYouMean } from '../common/nearest-names.js';
import { loadHostConfig } from '../config/config.js';
import type { HostConfig, RegistryConfig, ServiceConfig } from '../config/config-types.js';
import { EtcdGateway } from '../common/etcd-gateway.js';
import { type InstanceRecord, parseInstanceRecord, serviceKeyPrefix } from '../common/registry-record.js';
import { RegistryUnavailableError } from '../../clients/errors.js';
import { CallTargetError } from './call-errors.js';

/** What the call needs to reach its target. */
export interface CallTarget {
  /** Connection options for GenericClient (addresses or registry, protocol, transport, tls). */
  client: ServiceClientOptions;
  /** The multiplexed name the config gives the service, if it is served multiplexed. */
  multiplexed?: string;
  /** The IDL service a configured entry serves (when the method is given without `Service.`). */
  service?: string;
  /** For messages: `127.0.0.1:9090`, `HelloWorld (rpc.config.json: 127.0.0.1:9090)`, `registry ...`. */
  description: string;
}

/**
 * Resolves `target`; `configFile` is the config to look names up in (it may not exist). A name
 * found in neither the address syntax nor the config is looked up in the config's registry.
 * @param idlService the service named in `Service.method`, to pick the binding of a multiplexed entry
 * @throws CallTargetError naming the nearest configured or registered names; ConfigError for a
 *   broken config; RegistryUnavailableError when etcd cannot be read
 */
export async function resolveCallTarget(
  target: string,
  configFile: string | undefined,
  idlService: string | undefined,
): Promise<CallTarget> {
  const address = parseAddress(target, { allowPortZero: false });
  if (typeof address !== 'string') {
    const text = formatAddress(address);
    return { client: { addresses: [text] }, description: text };
  }
  if (!configFile || !fs.existsSync(configFile)) {
    throw new CallTargetError(
      `"${target}" is not host:port, and there is no rpc.config.json here or above to look the name up in ` +
        '(give an address such as 127.0.0.1:9090, or --config)',
    );
  }
  const config = loadHostConfig(configFile, { checkFiles: false });
  const entry = findEntry(config, target);
  if (entry) return fromEntry(config, entry, target, idlService);
  if (config.registry) return fromRegistry(config.registry, target);
  const names = config.services.flatMap((s) => [s.name, ...s.bindings.map((b) => b.service)]);
  throw new CallTargetError(
    `"${target}" is not host:port nor a service of ${config.file}${didYouMean(target, names)} ` +
      `(services: ${[...new Set(names)].join(', ')})`,
  );
}

// --- internal ---

/**
 * A name registered in etcd: its instances' protocol, transport and multiplexing (from the first
 * valid record) become the defaults, and the call follows the registry as ThriftClient does.
 */
async function fromRegistry(r: RegistryConfig, target: string): Promise<CallTarget> {
  const password = r.password ?? process.env.THRIFTHOST_ETCD_PASSWORD;
  const etcd = new EtcdGateway({
    endpoints: r.endpoints,
    requestTimeoutMs: r.requestTimeoutMs,
    ...(r.username ? { username: r.username } : {}),
    ...(password ? { password } : {}),
    ...(r.tls ? { tls: readPem(r.tls) } : {}),
  });
  const where = `the registry at ${r.endpoints.join(', ')}`;
  let records: InstanceRecord[];
  let services: string[];
  try {
    const listed = await etcd.range(r.prefix);
    const parsed = listed.kvs
      .filter((kv) => kv.key.startsWith(serviceKeyPrefix(r.prefix, target)))
      .map((kv) => parseInstanceRecord(kv.value));
    records = parsed.filter((p): p is InstanceRecord => typeof p !== 'string');
    services = [...new Set(listed.kvs.map((kv) => kv.key.slice(r.prefix.length).split('/')[0]!).filter((n) => n && !n.startsWith('.')))];
  } catch (err) {
    throw new RegistryUnavailableError(`${target}: ${where} could not be read (${(err as Error).message})`, { cause: err });
  } finally {
    etcd.close();
  }
  const first = records[0];
  if (!first) {
    throw new CallTargetError(
      `"${target}" is not host:port, not a service of the config, and ${where} lists no instance of it under ` +
        `${serviceKeyPrefix(r.prefix, target)}${didYouMean(target, services)} (registered: ${services.join(', ') || 'none'})`,
    );
  }
  return {
    client: {
      registry: {
        endpoints: r.endpoints,
        prefix: r.prefix,
        service: target,
        ...(r.username ? { username: r.username } : {}),
        ...(password ? { password } : {}),
        ...(r.tls ? { tls: r.tls } : {}),
        requestTimeoutMs: r.requestTimeoutMs,
      },
      protocol: first.protocol,
      transport: first.transport,
    },
    ...(first.multiplexed ? { multiplexed: first.service } : {}),
    service: first.service,
    description: `${target} (${where}: ${records.map((x) => x.address).join(', ')})`,
  };
}

function readPem(tls: { ca?: string; cert?: string; key?: string }): { ca?: string; cert?: string; key?: string } {
  const out: { ca?: string; cert?: string; key?: string } = {};
  for (const k of ['ca', 'cert', 'key'] as const) if (tls[k]) out[k] = fs.readFileSync(tls[k], 'utf8');
  return out;
}

/** The entry named `target`, else the one serving an IDL service of that name. */
function findEntry(config: HostConfig, target: string): ServiceConfig | undefined {
  return (
    config.services.find((s) => s.name === target) ??
    config.services.find((s) => s.bindings.some((b) => b.service === target))
  );
}

function fromEntry(config: HostConfig, entry: ServiceConfig, target: string, idlService: string | undefined): CallTarget {
  // A listener on every interface is reached on loopback from this machine.
  const host = entry.listen.host === '0.0.0.0' || entry.listen.host === '' ? '127.0.0.1' : entry.listen.host === '::' ? '::1' : entry.listen.host;
  const address = formatAddress({ host, port: entry.listen.port });
  const binding =
    entry.bindings.find((b) => b.service === (idlService ?? target)) ?? (entry.bindings.length === 1 ? entry.bindings[0] : undefined);
  const client: ServiceClientOptions = { addresses: [address], protocol: entry.protocol, transport: entry.transport };
  if (entry.tls) client.tls = { ca: entry.tls.ca ?? entry.tls.cert };
  return {
    client,
    ...(entry.multiplexed && binding ? { multiplexed: binding.service } : {}),
    ...(binding ? { service: binding.service } : {}),
    description: `${target} (${config.file}: ${address}, ${entry.protocol}/${entry.transport}${entry.multiplexed ? ', multiplexed' : ''})`,
  };
}
