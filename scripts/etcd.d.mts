// Types of scripts/etcd.mjs for the TypeScript tests (test/helpers/etcd.ts).
export declare const ETCD_BIN: string;
export declare function etcdAvailable(): boolean;
export interface EtcdHandle {
  readonly endpoint: string;
  readonly dataDir: string;
  readonly pid: number | undefined;
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}
export declare function startEtcd(options?: { host?: string; readyTimeoutMs?: number }): Promise<EtcdHandle>;
