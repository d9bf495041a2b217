/**
 * The master's registration in etcd: one lease per host, every key of the host attached to it
 * (so a host that dies disappears at once when the lease expires), renewed every third of the
 * TTL. Workers come and go underneath (reloads, restarts, recycling) without touching etcd: the
 * registration belongs to the master, so it never flaps. When etcd cannot be reached the host
 * keeps serving and keeps retrying; when etcd answers again the keys are written again (on a new
 * lease if the old one expired meanwhile). A graceful stop revokes the lease first, then waits
 * `deregisterDelayMs` so callers watching the prefix move away before the workers drain.
 */
import fs from 'node:fs';
import { EtcdGateway, type EtcdGatewayOptions } from '../common/etcd-gateway.js';
import { type HostRecord, hostKeyPrefix, parseHostRecord } from '../common/registry-record.js';
import type { HostPort } from '../common/address.js';
import type { HostConfig, RegistryConfig } from '../config/config.js';
import type { Logger } from '../host/logger.js';
import { hostEntries, type RegistryEntry } from './host-records.js';

/** Env var that supplies (and overrides) `registry.password`. */
export const ETCD_PASSWORD_ENV = 'THRIFTHOST_ETCD_PASSWORD';

/** Where a registration stands. */
export type RegistrationState = 'registering' | 'registered' | 'unreachable' | 'deregistered';

/** The `registry` part of `rpc status --json`. */
export interface RegistrationStatus {
  state: RegistrationState;
  endpoints: string[];
  prefix: string;
  hostId: string;
  ttlSeconds: number;
  /** Current lease id, when one is held. */
  lease: string | undefined;
  keys: string[];
  /** When the state last changed (epoch ms). */
  since: number;
  /** Times the keys were written on a fresh lease (1 after a clean start). */
  registrations: number;
  /** Times etcd became unreachable while registered. */
  outages: number;
  lastError: string | undefined;
}

/**
 * One host's registration.
 *
 * @example
 * const reg = new EtcdRegistration(config.registry, hostEntries(config, config.registry), logger);
 * await reg.start();        // first attempt; keeps retrying in the background if etcd is down
 * await reg.deregister();   // before draining the workers
 */
export class EtcdRegistration {
  private readonly etcd: EtcdGateway;
  private state: RegistrationState = 'registering';
  private since = Date.now();
  private lease: string | undefined;
  private registrations = 0;
  private outages = 0;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private needsRewrite = false;

  constructor(
    private readonly config: RegistryConfig,
    private readonly entries: RegistryEntry[],
    private readonly logger: Logger,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.etcd = new EtcdGateway(gatewayOptions(config, env));
  }

  /** Registers (one attempt, awaited) and starts renewing; never throws: failures are retried. */
  async start(): Promise<void> {
    await this.tick();
  }

  /** For `rpc status`. */
  status(): RegistrationStatus {
    return {
      state: this.state,
      endpoints: [...this.config.endpoints],
      prefix: this.config.prefix,
      hostId: this.config.hostId,
      ttlSeconds: this.config.ttlSeconds,
      lease: this.lease,
      keys: this.entries.map((e) => e.key),
      since: this.since,
      registrations: this.registrations,
      outages: this.outages,
      lastError: this.lastError,
    };
  }

  /**
   * The statistics listener of every registered host, for Prometheus discovery.
   * @throws RegistryError when etcd cannot be read
   */
  async fleet(): Promise<HostRecord[]> {
    const { kvs } = await this.etcd.range(hostKeyPrefix(this.config.prefix));
    const hosts: HostRecord[] = [];
    for (const kv of kvs) {
      const record = parseHostRecord(kv.value);
      if (typeof record === 'string') this.logger.warn({ key: kv.key }, `registry: ignoring host key: ${record}`);
      else hosts.push(record);
    }
    return hosts;
  }

  /**
   * Removes every key of this host (revokes the lease), then waits `deregisterDelayMs` so that
   * callers see the removal before the workers stop accepting. Bounded by the request timeout
   * when etcd is unreachable (the keys then vanish at lease expiry). Idempotent.
   */
  async deregister(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    const lease = this.lease;
    this.lease = undefined;
    if (lease) {
      try {
        await this.etcd.revokeLease(lease);
        this.logger.info({ lease }, `registry: deregistered ${this.entries.length} key(s)`);
        if (this.config.deregisterDelayMs > 0) await sleep(this.config.deregisterDelayMs);
      } catch (err) {
        this.logger.warn(
          { err: (err as Error).message },
          `registry: could not deregister; the keys vanish when lease ${lease} expires (${this.config.ttlSeconds} s)`,
        );
      }
    }
    this.setState('deregistered');
    this.etcd.close();
  }

  /** Stops renewing without deregistering (the keys expire with the lease). Idempotent. */
  close(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.etcd.close();
  }

  // --- internal ---

  private tick(): Promise<void> {
    this.running = this.renew()
      .then(
        () => {
          this.lastError = undefined;
          this.schedule(Math.max(500, (this.config.ttlSeconds * 1000) / 3));
        },
        (err: Error) => {
          this.lastError = err.message;
          if (this.state !== 'unreachable') {
            if (this.state === 'registered') this.outages++;
            this.logger.warn(
              { err: err.message },
              'registry: etcd unreachable; the host keeps serving and retries every second',
            );
          }
          this.needsRewrite = true;
          this.setState('unreachable');
          this.schedule(1_000);
        },
      )
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    if (this.lease && (await this.etcd.keepAlive(this.lease)) > 0) {
      // After an outage the keys are written again in case etcd lost them (a restore, a new member).
      if (this.needsRewrite) await this.writeAll(this.lease);
    } else {
      if (this.lease) this.logger.warn({ lease: this.lease }, 'registry: lease expired; registering again');
      const lease = await this.etcd.grantLease(this.config.ttlSeconds);
      await this.writeAll(lease);
      this.lease = lease;
      this.registrations++;
    }
    if (this.stopped) return;
    if (this.state !== 'registered') {
      this.logger.info(
        { lease: this.lease, keys: this.entries.length },
        `registry: registered ${this.entries.length} key(s) at ${this.config.endpoints.join(', ')}`,
      );
    }
    this.needsRewrite = false;
    this.setState('registered');
  }

  private async writeAll(lease: string): Promise<void> {
    for (const e of this.entries) await this.etcd.put(e.key, e.value, lease);
  }

  private setState(state: RegistrationState): void {
    if (state === this.state) return;
    this.state = state;
    this.since = Date.now();
  }
}

/** Resolves the gateway options of a host's registry config (reads the TLS files). */
export function gatewayOptions(config: RegistryConfig, env: NodeJS.ProcessEnv = process.env): EtcdGatewayOptions {
  const password = env[ETCD_PASSWORD_ENV] || config.password;
  const tls: { ca?: string; cert?: string; key?: string } = {};
  for (const k of ['ca', 'cert', 'key'] as const) {
    const file = config.tls?.[k];
    if (file) tls[k] = fs.readFileSync(file, 'utf8');
  }
  return {
    endpoints: config.endpoints,
    requestTimeoutMs: config.requestTimeoutMs,
    ...(config.username ? { username: config.username } : {}),
    ...(password ? { password } : {}),
    ...(config.tls ? { tls } : {}),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The master's entry point: registers every key of `config` (the statistics listener included
 * when `stats` is given) and keeps them alive. Resolves after the first attempt, whatever its
 * outcome; undefined when the config has no `registry`.
 */
export async function startHostRegistration(
  config: HostConfig,
  stats: HostPort | undefined,
  logger: Logger,
): Promise<EtcdRegistration | undefined> {
  if (!config.registry) return undefined;
  const registration = new EtcdRegistration(config.registry, hostEntries(config, config.registry, stats), logger);
  await registration.start();
  return registration;
}
