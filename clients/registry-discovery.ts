/**
 * Follows one service's instances in etcd: lists the service's key prefix, then watches it from
 * the revision of that listing, and hands every change of the address set to the service's
 * {@link AddressManager} (through `onChange`). When etcd cannot be reached the last known list
 * stays in use (calls never fail because of the registry alone); the outage is logged once and
 * counted in {@link DiscoveryStatus}, and the listing starts over when etcd answers again.
 * An instance whose protocol or transport differs from the client's, or that is served
 * multiplexed, is refused: logged once, listed in the status, never called.
 * Loaded lazily by the service client, only for entries with a `registry`.
 */
import fs from 'node:fs';
import { EtcdGateway, type EtcdWatch, type EtcdWatchEvent } from '../src/common/etcd-gateway.js';
import { parseInstanceRecord, serviceKeyPrefix } from '../src/common/registry-record.js';
import type { ProtocolName, TransportName } from '../src/codec/protocols.js';
import type { ResolvedRegistryOptions } from './client-options.js';

/** Where discovery stands. */
export type DiscoveryState = 'connecting' | 'watching' | 'unreachable' | 'closed';

/** What {@link RegistryDiscovery.status} reports (also `ThriftClient.discoveryStatus`). */
export interface DiscoveryStatus {
  state: DiscoveryState;
  endpoints: string[];
  /** The key prefix watched: `<prefix><service>/`. */
  keyPrefix: string;
  /** Addresses learned from the registry and in use. */
  addresses: string[];
  /** Instances not used, with the reason. */
  refused: { key: string; reason: string }[];
  /** When the state last changed (epoch ms). */
  since: number;
  /** Times etcd became unreachable after having been read. */
  outages: number;
  /** Address set changes applied (instances entering or leaving). */
  changes: number;
  lastError: string | undefined;
}

/** Warnings and notices of discovery; `ThriftClient.config(..., { log })`. */
export type DiscoveryLog = (level: 'info' | 'warn', message: string) => void;

/** Settings of a {@link RegistryDiscovery}. */
export interface RegistryDiscoveryOptions {
  /** The configured service name (messages). */
  service: string;
  registry: ResolvedRegistryOptions;
  protocol: ProtocolName;
  transport: TransportName;
  /** The discovered address set changed. */
  onChange: (addresses: readonly string[], added: readonly string[], removed: readonly string[]) => void;
  log: DiscoveryLog;
}

/**
 * Retry delays after an etcd failure: first, and ceiling (doubling in between, ±20 % so that a
 * fleet of callers does not come back in step). A refused connect costs etcd nothing, so the
 * ceiling stays low: callers follow changes again soon after etcd is back.
 */
const RETRY_MS = { first: 250, max: 2_000, jitter: 0.2 } as const;

/** The watch of one service's instances. */
export class RegistryDiscovery {
  /** Resolves true after the first successful listing, false if the first attempt failed. */
  readonly firstListing: Promise<boolean>;
  private resolveFirst!: (ok: boolean) => void;
  private readonly etcd: EtcdGateway;
  private readonly keyPrefix: string;
  /** key -> address of the instances in use. */
  private readonly instances = new Map<string, string>();
  private readonly refused = new Map<string, string>();
  private current: string[] = [];
  private state: DiscoveryState = 'connecting';
  private since = Date.now();
  private outages = 0;
  private changes = 0;
  private lastError: string | undefined;
  private watch: EtcdWatch | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private wakeRetry: (() => void) | undefined;
  private closed = false;

  constructor(private readonly options: RegistryDiscoveryOptions) {
    const r = options.registry;
    this.keyPrefix = serviceKeyPrefix(r.prefix, r.service);
    this.firstListing = new Promise((resolve) => {
      this.resolveFirst = resolve;
    });
    this.etcd = new EtcdGateway({
      endpoints: r.endpoints,
      requestTimeoutMs: r.requestTimeoutMs,
      ...(r.username ? { username: r.username } : {}),
      ...(r.password ? { password: r.password } : {}),
      ...(r.tls ? { tls: readPem(r.tls) } : {}),
    });
    void this.run();
  }

  /** Addresses learned from the registry and in use. */
  get addresses(): readonly string[] {
    return this.current;
  }

  status(): DiscoveryStatus {
    return {
      state: this.state,
      endpoints: [...this.options.registry.endpoints],
      keyPrefix: this.keyPrefix,
      addresses: [...this.current],
      refused: [...this.refused].map(([key, reason]) => ({ key, reason })),
      since: this.since,
      outages: this.outages,
      changes: this.changes,
      lastError: this.lastError,
    };
  }

  /** Stops watching. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watch?.close();
    clearTimeout(this.retryTimer);
    this.wakeRetry?.();
    this.etcd.close();
    this.setState('closed');
    this.resolveFirst(false);
  }

  // --- internal ---

  private async run(): Promise<void> {
    let delay: number = RETRY_MS.first;
    while (!this.closed) {
      try {
        const { revision, kvs } = await this.etcd.range(this.keyPrefix);
        if (this.closed) return;
        this.instances.clear();
        this.refused.clear();
        for (const kv of kvs) this.apply({ type: 'put', kv });
        this.publish();
        if (this.state === 'unreachable') {
          this.options.log('info', `${this.who()}: etcd answers again; ${this.current.length} instance(s)`);
        }
        this.setState('watching');
        this.lastError = undefined;
        this.resolveFirst(true);
        delay = RETRY_MS.first;
        const ended = await new Promise<Error>((resolve) => {
          this.watch = this.etcd.watch(
            this.keyPrefix,
            (BigInt(revision) + 1n).toString(),
            (events) => {
              for (const e of events) this.apply(e);
              this.publish();
            },
            resolve,
          );
        });
        this.watch = undefined;
        this.failed(ended);
      } catch (err) {
        this.failed(err as Error);
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => {
        this.wakeRetry = resolve;
        this.retryTimer = setTimeout(resolve, delay * (1 - RETRY_MS.jitter + 2 * RETRY_MS.jitter * Math.random()));
        this.retryTimer.unref();
      });
      delay = Math.min(delay * 2, RETRY_MS.max);
    }
  }

  private failed(err: Error): void {
    if (this.closed) return;
    this.lastError = err.message;
    this.resolveFirst(false);
    if (this.state === 'unreachable') return;
    if (this.state === 'watching') this.outages++;
    this.setState('unreachable');
    this.options.log(
      'warn',
      `${this.who()}: ${err.message}; keeping the last known ${this.current.length} address(es) ` +
        `(${this.current.join(', ') || 'none'}) and retrying`,
    );
  }

  private apply(e: EtcdWatchEvent): void {
    const { key } = e.kv;
    if (e.type === 'delete') {
      this.instances.delete(key);
      this.refused.delete(key);
      return;
    }
    const reason = this.check(e.kv.value);
    if (reason === undefined) {
      const record = parseInstanceRecord(e.kv.value) as { address: string };
      this.instances.set(key, record.address);
      this.refused.delete(key);
      return;
    }
    this.instances.delete(key);
    if (this.refused.get(key) !== reason) {
      this.options.log('warn', `${this.who()}: refusing registry entry ${key}: ${reason}`);
    }
    this.refused.set(key, reason);
  }

  /** Why an instance value cannot be used by this client, or undefined when it can. */
  private check(value: string): string | undefined {
    const record = parseInstanceRecord(value);
    if (typeof record === 'string') return record;
    const { protocol, transport } = this.options;
    if (record.protocol !== protocol || record.transport !== transport) {
      return (
        `it serves ${record.protocol}/${record.transport} but this client speaks ${protocol}/${transport} ` +
        `(set protocol/transport of ${this.options.service} to match the host's config)`
      );
    }
    if (record.multiplexed) return 'it is served multiplexed (TMultiplexedProtocol), which ThriftClient does not speak';
    if (record.service !== this.options.registry.service) {
      return `it announces service ${record.service}, not ${this.options.registry.service}`;
    }
    return undefined;
  }

  /** Tells the service client when the address set changed. */
  private publish(): void {
    const next = [...new Set(this.instances.values())].sort();
    const before = new Set(this.current);
    const after = new Set(next);
    const added = next.filter((a) => !before.has(a));
    const removed = this.current.filter((a) => !after.has(a));
    if (added.length === 0 && removed.length === 0) return;
    this.current = next;
    this.changes++;
    this.options.onChange(next, added, removed);
  }

  private setState(state: DiscoveryState): void {
    if (state === this.state) return;
    this.state = state;
    this.since = Date.now();
  }

  private who(): string {
    const { service, registry } = this.options;
    return `ThriftClient ${service}: registry ${registry.endpoints.join(', ')} ${this.keyPrefix}`;
  }
}

// --- internal ---

function readPem(tls: { ca?: string; cert?: string; key?: string }): { ca?: string; cert?: string; key?: string } {
  const out: { ca?: string; cert?: string; key?: string } = {};
  for (const k of ['ca', 'cert', 'key'] as const) {
    const file = tls[k];
    if (file) out[k] = fs.readFileSync(file, 'utf8');
  }
  return out;
}
