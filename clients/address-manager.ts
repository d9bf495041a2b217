/**
 * The one health model of a service's addresses. Calls ask {@link AddressManager.pick} where to
 * go and report back how each attempt went; the manager keeps every address's breaker (failure
 * accrual: consecutive failures, success rate) and load (calls in flight, latency, the host's
 * reported load, slow start). A tripped breaker is an eviction: the address leaves rotation and
 * gets back-off probes (a probe is the breaker's half-open state), and the evicted list lives in
 * the state file every client process on the host shares. The decision itself is
 * {@link pickAddress}, a pure function.
 */

import { AddressLoad, type AddressLoadStatus } from './address-load.js';
import { type Balancer, type EvictionEntry, type Pick, pickAddress } from './address-policy.js';
import { AddressStateFile, addressConfigHash } from './address-state-file.js';
import { type BackoffPolicy, backoffDelayMs } from '../src/common/backoff.js';
import { FailureAccrual } from './failure-accrual.js';
import { NoAvailableAddressError } from './errors.js';

/** What one attempt on an address says about its health (see `attempt-outcome.ts`). */
export type AttemptHealth =
  /** The host answered (a result or a declared exception). */
  | 'success'
  /** No answer in time, a lost connection, an undeclared server error. */
  | 'failure'
  /** Connecting failed: evict now. */
  | 'connect-failure'
  /** The host said it is full (shed the call, or let its deadline pass in its queue). */
  | 'shed'
  /** The attempt was cancelled: its backup answered first. */
  | 'cancelled'
  /** Nothing about the host (never written: pool busy, client closing, bad argument). */
  | 'neutral';

/** The breaker of an address: closed (in rotation), open (evicted), half-open (evicted, a probe is due). */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** Everything known about one address, for inspection. */
export interface AddressStatus extends AddressLoadStatus {
  address: string;
  breaker: BreakerState;
  /** Failed calls in a row now. */
  consecutiveFailures: number;
  /** Success rate over the calls counted so far (up to `successRateWindow`); undefined before any. */
  successRate: number | undefined;
  /** While evicted: since when, back-off steps taken, and when the next probe is due (epoch ms). */
  evictedAt?: number;
  backoffSteps?: number;
  retryAt?: number;
}

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
  /** Evict after this many consecutive failed calls; 0 = never on this ground. */
  evictAfterFailures: number;
  /** Evict when the last `successRateWindow` calls succeeded less often than this; 0 = never. @default 0 */
  evictBelowSuccessRate?: number;
  /** @default 100 */
  successRateWindow?: number;
  /** Failed calls evict at most this share of the addresses (at least one). @default 1 */
  maxEvictedRatio?: number;
  /** @default 'random' */
  balancer?: Balancer;
  /** @default 0 (no slow start) */
  slowStartMs?: number;
  /** @default 10000 */
  latencyDecayMs?: number;
  /** Folder of the shared state file; undefined keeps the state in this process only. */
  stateDir: string | undefined;
  /** Re-read and write the shared file at most this often (0: on every look and change). */
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
  private readonly accruals = new Map<string, FailureAccrual>();
  /** Evictions of an address not yet forgiven (by a whole window of calls without a trip). */
  private readonly strikes = new Map<string, number>();
  /** Calls in flight, latency and slow start of every address. */
  readonly load: AddressLoad;
  private lastSync = Number.NEGATIVE_INFINITY;
  /** Changes made here and not yet written to the shared file (see {@link update}). */
  private readonly unwritten: ((map: Map<string, EvictionEntry>) => void)[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly balancer: Balancer;

  constructor(private readonly options: AddressManagerOptions) {
    this.current = options.addresses;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.balancer = options.balancer ?? 'random';
    this.load = new AddressLoad({
      decayMs: options.latencyDecayMs ?? 10_000,
      slowStartMs: options.slowStartMs ?? 0,
    });
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
    for (const a of this.current) {
      if (next.includes(a)) continue;
      this.accruals.delete(a);
      this.strikes.delete(a);
      this.load.forget(a);
    }
    this.current = [...next];
    const now = this.now();
    for (const a of entering) {
      this.accruals.get(a)?.reset();
      this.strikes.delete(a);
      this.load.warmUp(a, now);
    }
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
      balancer: this.balancer,
      cost: (a) => this.load.cost(a, now),
      weight: this.load.anyWarming(now) ? (a) => this.load.weight(a, now) : undefined,
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
      const e = evicted.get(pick.address);
      if (e) {
        const pushed = { ...e, attempts: e.attempts + 1, retryAt: now + this.delay(e.attempts + 1) };
        this.update((map) => {
          if (map.has(pick.address)) map.set(pick.address, pushed);
        });
      }
    }
    return pick;
  }

  /**
   * An attempt on `address` starts now (it counts as in flight until {@link attemptEnded}).
   * @returns the clock reading to hand back to {@link attemptEnded}
   */
  attemptStarted(address: string): number {
    const now = this.now();
    this.load.start(address, now);
    return now;
  }

  /** An attempt on `address` started at `startedAt` ended after `rttMs`, with `health`. */
  attemptEnded(address: string, health: AttemptHealth, rttMs: number, startedAt?: number): void {
    const now = this.now();
    this.load.end(address, rttMs, now, LATENCY_EVIDENCE[health]);
    if (health === 'success') this.succeeded(address, startedAt);
    else if (health === 'failure') this.callFailed(address);
    else if (health === 'connect-failure') this.connectFailed(address);
    else if (health === 'shed') this.load.penalize(address, now);
  }

  /**
   * A call on `address` succeeded: it counts for its breaker, and an evicted address is back (in
   * slow start), unless the call started before the eviction: a call already out when its
   * address was evicted is no probe, and a host failing half its calls would otherwise be
   * revived by its next success at once.
   * @param startedAt when the call started, on the manager's clock (undefined: count it as a probe)
   */
  succeeded(address: string, startedAt?: number): void {
    if (this.accrual(address).record(true) === 'proven') this.strikes.delete(address);
    const entry = this.sync(this.now()).get(address);
    if (entry && (startedAt === undefined || startedAt > entry.evictedAt)) {
      this.update((map) => map.delete(address));
      this.accrual(address).reset();
      this.load.warmUp(address, this.now());
    }
  }

  /** Connecting to `address` failed (refused, timeout, reset): evict it now. */
  connectFailed(address: string): void {
    this.accruals.get(address)?.reset();
    this.evict(address);
  }

  /**
   * A written call on `address` failed (no answer in time, connection lost, undeclared server
   * error): counts for its breaker, which evicts the address when it trips, unless the
   * addresses evicted already reach `maxEvictedRatio`.
   */
  callFailed(address: string): void {
    if (this.accrual(address).record(false) !== 'trip') return;
    const ratio = this.options.maxEvictedRatio ?? 1;
    const allowed = Math.max(1, Math.floor(this.addresses.length * ratio));
    const evicted = this.evicted();
    if (evicted.includes(address) || evicted.length < allowed) this.evict(address);
  }

  /** Addresses currently evicted (as this process last saw the shared state). */
  evicted(): string[] {
    return [...this.sync(this.now()).keys()].filter((a) => this.addresses.includes(a));
  }

  /** The entry of an evicted address, for diagnostics and tests. */
  entry(address: string): EvictionEntry | undefined {
    return this.sync(this.now()).get(address);
  }

  /** Breaker, load and eviction of every address, for inspection. */
  status(): AddressStatus[] {
    const now = this.now();
    const evicted = this.sync(now);
    return this.addresses.map((address) => {
      const accrual = this.accruals.get(address);
      const e = evicted.get(address);
      return {
        address,
        breaker: !e ? 'closed' : e.retryAt <= now ? 'half-open' : 'open',
        consecutiveFailures: accrual?.consecutiveFailures ?? 0,
        successRate: accrual?.successRate,
        ...this.load.status(address, now),
        ...(e ? { evictedAt: e.evictedAt, backoffSteps: e.attempts, retryAt: e.retryAt } : {}),
      };
    });
  }

  // --- internal ---

  private accrual(address: string): FailureAccrual {
    let a = this.accruals.get(address);
    if (!a) {
      a = new FailureAccrual({
        consecutiveFailures: this.options.evictAfterFailures,
        successRate: this.options.evictBelowSuccessRate ?? 0,
        window: this.options.successRateWindow ?? 100,
      });
      this.accruals.set(address, a);
    }
    return a;
  }

  private evict(address: string): void {
    // Already evicted (a failed probe, or a concurrent call): its back-off is already scheduled.
    if (this.sync(this.now()).has(address)) return;
    const now = this.now();
    // An address evicted again soon after it came back starts further up the back-off.
    const steps = this.strikes.get(address) ?? 0;
    this.strikes.set(address, steps + 1);
    const entry = { evictedAt: now, attempts: steps, retryAt: now + this.delay(steps) };
    this.update((map) => {
      // Another process may have evicted it meanwhile: its entry stands.
      if (!map.has(address)) map.set(address, entry);
    });
  }

  private delay(attempt: number): number {
    return backoffDelayMs(this.options.backoff, attempt, this.random);
  }

  /**
   * The current evicted map, refreshed from the shared file at most every `stateSyncMs` (and
   * this process's unwritten changes written then).
   */
  private sync(now: number): Map<string, EvictionEntry> {
    if (this.stateFile && now - this.lastSync >= this.options.stateSyncMs) this.flush(now);
    return this.evictedMap;
  }

  /**
   * Changes the evicted map here at once, and in the shared file at the next sync: at once when
   * `stateSyncMs` is 0, else within `stateSyncMs`. Each write is a synchronous write and rename,
   * so a client whose calls all fail (every pick a last resort, every few calls an eviction)
   * writes a few times a second, not on every call. `change` must be safe to apply twice: it
   * is applied here, then again to the freshest shared state, so that other processes' changes
   * survive.
   */
  private update(change: (map: Map<string, EvictionEntry>) => void): void {
    const map = new Map(this.evictedMap);
    change(map);
    if (sameEntries(map, this.evictedMap)) return;
    this.evictedMap = map;
    if (!this.stateFile) return;
    this.unwritten.push(change);
    if (this.options.stateSyncMs === 0) this.flush(this.now());
    else
      this.flushTimer ??= setTimeout(() => {
        this.flushTimer = undefined;
        if (this.unwritten.length > 0) this.flush(this.now());
      }, this.options.stateSyncMs).unref();
  }

  /** Reads the shared file, applies this process's unwritten changes to it, and writes it back if they changed it. */
  private flush(now: number): void {
    const file = this.stateFile!;
    this.lastSync = now;
    const shared = file.read();
    if (this.unwritten.length === 0) {
      this.evictedMap = shared;
      return;
    }
    const map = new Map(shared);
    for (const change of this.unwritten.splice(0)) change(map);
    this.evictedMap = map;
    if (!sameEntries(map, shared)) file.write(map);
  }
}

// --- internal ---

/** What an attempt's duration says about the host's latency, by its outcome. */
const LATENCY_EVIDENCE: Record<AttemptHealth, 'sample' | 'at-least' | 'none'> = {
  success: 'sample',
  // A timeout took at least that long; a failure at once says nothing of the host's speed.
  failure: 'at-least',
  'connect-failure': 'none',
  shed: 'none',
  cancelled: 'at-least',
  neutral: 'none',
};

/** True when two evicted maps hold the same addresses with the same entries. */
function sameEntries(a: ReadonlyMap<string, EvictionEntry>, b: ReadonlyMap<string, EvictionEntry>): boolean {
  if (a.size !== b.size) return false;
  for (const [address, x] of a) {
    const y = b.get(address);
    if (!y || x.evictedAt !== y.evictedAt || x.attempts !== y.attempts || x.retryAt !== y.retryAt) return false;
  }
  return true;
}
