/**
 * Healthy and evicted addresses of one service. Calls ask {@link AddressManager.pick} where to go
 * and report back how it went; the manager evicts addresses that fail, schedules back-off probes
 * and keeps the evicted list in the state file every client process on the host shares.
 * The decision itself is {@link pickAddress}, a pure function.
 */

import { type EvictionEntry, type Pick, pickAddress } from './address-policy.js';
import { AddressStateFile, addressConfigHash } from './address-state-file.js';
import { type BackoffPolicy, backoffDelayMs } from '../src/common/backoff.js';
import { NoAvailableAddressError } from './errors.js';

/** Settings of an {@link AddressManager}. */
export interface AddressManagerOptions {
  service: string;
  addresses: readonly string[];
  /**
   * What keys the shared state file instead of `addresses`, for address sets that change at run
   * time (registry discovery): e.g. the registry endpoints and prefix. @default addresses
   */
  stateKey?: readonly string[];
  /** @default 0.0005 (from client options) */
  detectRate: number;
  backoff: BackoffPolicy;
  /** Evict after this many consecutive failed calls; 0 = only connect failures evict. */
  evictAfterFailures: number;
  /** Folder of the shared state file; undefined keeps the state in this process only. */
  stateDir: string | undefined;
  /** Re-read the shared file at most this often. */
  stateSyncMs: number;
  /** Epoch-milliseconds clock. @default Date.now */
  now?: () => number;
  /** Source in [0, 1). @default Math.random */
  random?: () => number;
}

/** Failover state of one service's addresses. */
export class AddressManager {
  private current: readonly string[];
  /** The shared state file, when sharing is on. */
  readonly stateFile: AddressStateFile | undefined;
  private evictedMap = new Map<string, EvictionEntry>();
  private readonly failures = new Map<string, number>();
  private lastSync = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: AddressManagerOptions) {
    this.current = options.addresses;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.stateFile =
      options.stateDir === undefined
        ? undefined
        : new AddressStateFile(
            options.stateDir,
            options.service,
            addressConfigHash(options.service, options.stateKey ?? options.addresses),
          );
  }

  /** The addresses calls are spread over. */
  get addresses(): readonly string[] {
    return this.current;
  }

  /**
   * Replaces the address set (registry discovery). Addresses that enter start healthy: their
   * host has just announced itself, so an old eviction of the same address is forgotten.
   */
  setAddresses(next: readonly string[]): void {
    const entering = next.filter((a) => !this.current.includes(a));
    this.current = [...next];
    for (const a of entering) this.failures.delete(a);
    if (entering.some((a) => this.sync(this.now()).has(a))) {
      this.update((map) => {
        for (const a of entering) map.delete(a);
      });
    }
  }

  /**
   * Where the next attempt of a call goes. A probe pick pushes that address's next probe out by
   * one back-off step first, so concurrent calls (and other processes) do not all probe at once.
   * @param cause the error of this call's previous attempt, attached to a NoAvailableAddressError
   * @throws NoAvailableAddressError when `exclude` covers every address.
   */
  pick(exclude?: ReadonlySet<string>, cause?: unknown): Pick {
    const now = this.now();
    const evicted = this.sync(now);
    const pick = pickAddress({
      addresses: this.addresses,
      evicted,
      exclude,
      now,
      detectRate: this.options.detectRate,
      random: this.random,
    });
    if (!pick) {
      const bad = this.evicted();
      throw new NoAvailableAddressError(
        `No available address for service ${this.options.service}: tried ${[...(exclude ?? [])].join(', ')} ` +
          `(addresses: ${this.addresses.join(', ')}; evicted: ${bad.length ? bad.join(', ') : 'none'}). ` +
          'Check that the service is running and reachable.',
        this.addresses,
        bad,
        { cause },
      );
    }
    if (pick.reason !== 'healthy') {
      this.update((map) => {
        const e = map.get(pick.address);
        if (e)
          map.set(pick.address, {
            ...e,
            attempts: e.attempts + 1,
            retryAt: now + this.delay(e.attempts + 1),
          });
      });
    }
    return pick;
  }

  /** A call on `address` succeeded: it is healthy again. */
  succeeded(address: string): void {
    this.failures.delete(address);
    if (this.sync(this.now()).has(address)) this.update((map) => map.delete(address));
  }

  /** Connecting to `address` failed (refused, timeout, reset): evict it now. */
  connectFailed(address: string): void {
    this.failures.delete(address);
    this.evict(address);
  }

  /** A written call on `address` failed (timeout, connection lost): evicts after N in a row, if configured. */
  callFailed(address: string): void {
    const n = this.options.evictAfterFailures;
    if (n <= 0) return;
    const count = (this.failures.get(address) ?? 0) + 1;
    this.failures.set(address, count);
    if (count >= n) {
      this.failures.delete(address);
      this.evict(address);
    }
  }

  /** Addresses currently evicted (as this process last saw the shared state). */
  evicted(): string[] {
    return [...this.sync(this.now()).keys()].filter((a) => this.addresses.includes(a));
  }

  /** The entry of an evicted address, for diagnostics and tests. */
  entry(address: string): EvictionEntry | undefined {
    return this.sync(this.now()).get(address);
  }

  // --- internal ---

  private evict(address: string): void {
    const now = this.now();
    this.update((map) => {
      // Already evicted (a failed probe, or a concurrent call): its back-off is already scheduled.
      if (!map.has(address)) map.set(address, { evictedAt: now, attempts: 0, retryAt: now + this.delay(0) });
    });
  }

  private delay(attempt: number): number {
    return backoffDelayMs(this.options.backoff, attempt, this.random);
  }

  /** The current evicted map, refreshed from the shared file at most every `stateSyncMs`. */
  private sync(now: number): Map<string, EvictionEntry> {
    if (this.stateFile && now - this.lastSync >= this.options.stateSyncMs) {
      this.lastSync = now;
      this.evictedMap = this.stateFile.read();
    }
    return this.evictedMap;
  }

  /** Read-modify-write against the freshest shared state, so other processes' changes survive. */
  private update(change: (map: Map<string, EvictionEntry>) => void): void {
    const map = new Map(this.stateFile ? this.stateFile.read() : this.evictedMap);
    change(map);
    this.evictedMap = map;
    this.lastSync = this.now();
    this.stateFile?.write(map);
  }
}
