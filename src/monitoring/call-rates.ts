/**
 * Calls per second of every method, for `rpc status`: the master samples the workers' figures
 * every few seconds and compares the totals of a status request with the newest sample at least
 * one interval old. Totals come from {@link ServerTotals}, so a worker restart or a reload does
 * not read as a drop in calls.
 */
import { completed, type HostSnapshot, ServerTotals } from './stats-aggregate.js';

/** Calls per second of every `Service.method`, over the window that ends at the snapshot. */
export interface CallRatesView {
  /** Length of the window the rates were measured over, ms. */
  windowMs: number;
  /** Finished calls per second, keyed `Service.method`, rounded to 0.01. */
  callsPerSec: Record<string, number>;
}

/** Options of {@link CallRates}. */
export interface CallRatesOptions {
  /**
   * Shortest window a rate is measured over (the timer samples this often, so windows run from
   * one to two intervals).
   * @default 5000
   */
  intervalMs?: number;
}

/** Default of {@link CallRatesOptions.intervalMs}. */
export const DEFAULT_RATE_INTERVAL_MS = 5_000;

/**
 * Keeps the samples that rates are measured against.
 *
 * @example
 * const rates = new CallRates();
 * const timer = setInterval(async () => rates.sample(await supervisor.status(), Date.now()), 5000);
 * const status = await supervisor.status();
 * const view = rates.sample(status, Date.now()); // { windowMs, callsPerSec }
 */
export class CallRates {
  readonly intervalMs: number;
  private readonly totals = new ServerTotals();
  /** Finished calls per method at each kept sample, oldest first. */
  private samples: Sample[] = [];

  constructor(options: CallRatesOptions = {}) {
    this.intervalMs = options.intervalMs ?? DEFAULT_RATE_INTERVAL_MS;
  }

  /** Takes a snapshot in and returns the rates from the base sample to it. */
  sample(snapshot: HostSnapshot, at: number): CallRatesView {
    const calls = new Map<string, number>();
    for (const [key, m] of Object.entries(this.totals.update(snapshot, at))) calls.set(key, completed(m));
    const base = this.base(at) ?? { at: snapshot.master.startedAt, calls: new Map() };
    const windowMs = Math.max(0, at - base.at);
    const callsPerSec: Record<string, number> = {};
    for (const [key, n] of calls) {
      const d = n - (base.calls.get(key) ?? 0);
      callsPerSec[key] = windowMs > 0 && d > 0 ? Math.round((d * 100_000) / windowMs) / 100 : 0;
    }
    this.keep({ at, calls });
    return { windowMs, callsPerSec };
  }

  // --- internal ---

  /** The newest sample at least one interval old, else the oldest one. */
  private base(at: number): Sample | undefined {
    for (let i = this.samples.length - 1; i >= 0; i--) {
      if (at - this.samples[i]!.at >= this.intervalMs) return this.samples[i];
    }
    return this.samples[0];
  }

  private keep(sample: Sample): void {
    const last = this.samples[this.samples.length - 1];
    // Status requests in a burst add nothing a window could use: keep one per tenth of an interval.
    if (last && sample.at - last.at < this.intervalMs / 10) return;
    this.samples.push(sample);
    // Everything older than the newest sample that could still serve as a base goes.
    const base = this.base(sample.at);
    if (base) this.samples = this.samples.slice(this.samples.indexOf(base));
  }
}

// --- internal ---

interface Sample {
  at: number;
  calls: Map<string, number>;
}

/** A status source that adds {@link CallRatesView} rates to every status. */
export interface RatedStatus<S extends HostSnapshot> {
  /** The host's status with `rates` set. */
  status(): Promise<S & { rates: CallRatesView }>;
  /** Stops sampling. Idempotent. */
  close(): void;
}

/**
 * Samples `collect` every {@link CallRates.intervalMs} (unref'd timer) so that a status asked at
 * any time has a base sample one to two intervals old.
 *
 * @example
 * const rated = trackCallRates(() => supervisor.status());
 * const { rates } = await rated.status(); // rates.callsPerSec['HelloWorld.sayHello']
 */
export function trackCallRates<S extends HostSnapshot>(
  collect: () => Promise<S>,
  options: CallRatesOptions = {},
): RatedStatus<S> {
  const rates = new CallRates(options);
  const timer = setInterval(() => {
    collect().then(
      (status) => rates.sample(status, Date.now()),
      () => {}, // a missed sample only widens the next window
    );
  }, rates.intervalMs);
  timer.unref();
  return {
    async status() {
      const status = await collect();
      return { ...status, rates: rates.sample(status, Date.now()) };
    },
    close: () => clearInterval(timer),
  };
}
