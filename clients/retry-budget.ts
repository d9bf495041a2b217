/**
 * The retry budget of one service, after Finagle's `RetryBudget`: over a sliding window
 * (`windowMs`, 10 s by default), extra attempts may add at most `ratio` of the calls made (20 %),
 * or `minPerSec` per second (10/s) when that is more, so that a quiet client can still fail over.
 * Every extra attempt the client makes draws from it: the retry of a call that was never written,
 * of an idempotent call, of a call the host shed, and a backup request. When every host fails,
 * the load they see grows by at most that much instead of by `retries + 1` times.
 *
 * Finagle adds the floor to the ratio; here it is a floor. Added, it lets a client making 100
 * calls/s to a fleet that is down send 1.3 attempts per call, and the storm grows the fewer calls
 * it makes; as a floor, a client making more than `minPerSec / ratio` calls/s (50/s by default)
 * never exceeds `1 + ratio` attempts per call over a window. A new client's floor fills at
 * `minPerSec` from one second's worth (at least one retry) up to a window's worth, so that a
 * client started into a storm does not get a window's worth of retries before its calls have
 * earned any.
 *
 * Pure: time comes from an injected clock; no timers.
 */

/** Tuning of a {@link RetryBudget}. */
export interface RetryBudgetOptions {
  /** Share of the calls in the window that may be retried, in [0, 1]. */
  ratio: number;
  /** Retries allowed per second when `ratio` of the calls is fewer, whatever the traffic. */
  minPerSec: number;
  /** How far back calls and retries count. */
  windowMs: number;
  /** Milliseconds clock. @default Date.now */
  now?: () => number;
}

/** What the budget holds and has done, for inspection. */
export interface RetryBudgetStatus {
  /** Extra attempts it would allow now. */
  available: number;
  /** Calls deposited since the client started. */
  calls: number;
  /** Extra attempts it allowed since the client started. */
  withdrawn: number;
  /** Extra attempts it refused since the client started. */
  refused: number;
}

/** One service's budget of extra attempts. */
export class RetryBudget {
  /** Per slice of the window: what the calls earned, and what extra attempts spent. */
  private readonly earned = new Float64Array(SLICES);
  private readonly spent = new Float64Array(SLICES);
  private readonly sliceMs: number;
  private slice = 0;
  private earnedSum = 0;
  private spentSum = 0;
  /** The floor once the client is a window old, and its rate, in budget units. */
  private readonly reserve: number;
  private readonly reservePerMs: number;
  private readonly createdAt: number;
  private readonly deposit1: number;
  private readonly now: () => number;
  private calls = 0;
  private withdrawn = 0;
  private refused = 0;

  constructor(options: RetryBudgetOptions) {
    this.now = options.now ?? Date.now;
    this.sliceMs = Math.max(1, options.windowMs / SLICES);
    // Whole numbers (Finagle's scale factor): 0.2 added five times is exactly one retry.
    this.deposit1 = Math.round(options.ratio * SCALE);
    this.reserve = Math.round(options.minPerSec * (options.windowMs / 1000) * SCALE);
    this.reservePerMs = (options.minPerSec * SCALE) / 1000;
    this.createdAt = this.now();
    this.slice = Math.floor(this.createdAt / this.sliceMs);
  }

  /** A call is made: it earns `ratio` of a retry for the window. */
  deposit(): void {
    this.advance();
    this.calls++;
    this.earned[this.slice % SLICES]! += this.deposit1;
    this.earnedSum += this.deposit1;
  }

  /** True (and spends one) when an extra attempt is allowed now. */
  tryWithdraw(): boolean {
    if (!this.canWithdraw()) {
      this.refused++;
      return false;
    }
    this.withdrawn++;
    this.spent[this.slice % SLICES]! += SCALE;
    this.spentSum += SCALE;
    return true;
  }

  /** True when an extra attempt would be allowed now (nothing is spent). */
  canWithdraw(): boolean {
    return this.balance() >= SCALE;
  }

  status(): RetryBudgetStatus {
    this.advance();
    return {
      available: Math.max(0, Math.floor(this.balance() / SCALE)),
      calls: this.calls,
      withdrawn: this.withdrawn,
      refused: this.refused,
    };
  }

  // --- internal ---

  /** What may still be spent in the window, in budget units: the larger allowance minus what was spent. */
  private balance(): number {
    this.advance();
    const age = Math.max(ONE_SECOND_MS, this.now() - this.createdAt);
    const floor = Math.min(this.reserve, Math.max(SCALE, Math.round(age * this.reservePerMs)));
    return Math.max(floor, this.earnedSum) - this.spentSum;
  }

  /** Forgets the slices that fell out of the window. */
  private advance(): void {
    const current = Math.floor(this.now() / this.sliceMs);
    if (current <= this.slice) return;
    const expired = Math.min(SLICES, current - this.slice);
    for (let i = 1; i <= expired; i++) {
      const k = (this.slice + i) % SLICES;
      this.earnedSum -= this.earned[k]!;
      this.spentSum -= this.spent[k]!;
      this.earned[k] = 0;
      this.spent[k] = 0;
    }
    this.slice = current;
  }
}

// --- internal ---

/** The window moves in tenths (Finagle's WindowedAdder). */
const SLICES = 10;
/** One retry, in budget units. */
const SCALE = 1000;
/** A new client's floor starts at one second's worth of `minPerSec`. */
const ONE_SECOND_MS = 1000;
