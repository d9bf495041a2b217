/**
 * A real etcd for registry tests: `scripts/etcd.mjs` (Debian's etcd-server on free loopback
 * ports, temporary data directory, ended by pid), plus a gateway client to read and write keys.
 */
import { EtcdGateway } from '../../src/common/etcd-gateway.js';

/** A running etcd: endpoint, pid, kill / restart (same ports and data) / stop. */
export interface EtcdHandle {
  readonly endpoint: string;
  readonly dataDir: string;
  readonly pid: number | undefined;
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts etcd on free 127.0.0.1 ports; resolves once it is healthy. */
export async function startEtcd(): Promise<EtcdHandle> {
  const script = await import('../../scripts/etcd.mjs');
  return script.startEtcd();
}

/** An etcd client for assertions and for writing test registrations. */
export function etcdClient(endpoint: string): EtcdGateway {
  return new EtcdGateway({ endpoints: [endpoint], requestTimeoutMs: 2000 });
}
