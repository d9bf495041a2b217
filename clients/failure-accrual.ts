/**
 * The breaker of one address (Finagle's failure accrual, hybrid policy): it trips after
 * `consecutiveFailures` failed calls in a row, or when fewer than `successRate` of its last
 * `window` calls succeeded, judged from a fifth of the window on (so that an address coming
 * back from an eviction and still failing half its calls leaves again after 20 calls, not 100). A trip is an eviction: the address manager takes the address out of
 * rotation and probes it back with its back-off, so eviction and breaking are one model.
 *
 * What counts as a failure is decided by the caller (`attempt-outcome.ts`): no answer in time, a
 * lost connection, an undeclared error (INTERNAL_ERROR, UNKNOWN). A declared IDL exception is an
 * answer, a success; a shed call is neither.
 *
 * Pure: no clock, no timers.
 */

/** Tuning of a {@link FailureAccrual}. */
export interface FailureAccrualOptions {
  /** Trip after this many failures in a row; 0 = never on this ground. */
  consecutiveFailures: number;
  /** Trip when the success rate of the last `window` calls is below this; 0 = never on this ground. */
  successRate: number;
  /** Calls the success rate is taken over (a fifth of them are needed before it can trip). */
  window: number;
}

/** What one recorded outcome means for the address. */
export type AccrualVerdict =
  /** Nothing changes. */
  | undefined
  /** Trip: evict the address. The accrual starts over. */
  | 'trip'
  /** A whole window passed since the last reset without a trip: the address has proven itself. */
  | 'proven';

/** Consecutive failures and success rate of one address. */
export class FailureAccrual {
  private consecutive = 0;
  private readonly ring: Uint8Array;
  private filled = 0;
  private pos = 0;
  private failures = 0;
  private sinceReset = 0;
  private readonly minCalls: number;

  constructor(private readonly options: FailureAccrualOptions) {
    this.ring = new Uint8Array(Math.max(1, options.window));
    this.minCalls = Math.max(1, Math.ceil(this.ring.length / 5));
  }

  /** Records one call's outcome for the address. */
  record(ok: boolean): AccrualVerdict {
    const { consecutiveFailures, successRate } = this.options;
    this.consecutive = ok ? 0 : this.consecutive + 1;
    if (this.filled === this.ring.length) this.failures -= this.ring[this.pos]!;
    else this.filled++;
    this.ring[this.pos] = ok ? 0 : 1;
    this.failures += ok ? 0 : 1;
    this.pos = (this.pos + 1) % this.ring.length;
    this.sinceReset++;
    // Only a failure trips: a success that finds the rate still low must not swallow the trip.
    if (!ok) {
      if (consecutiveFailures > 0 && this.consecutive >= consecutiveFailures) return this.trip();
      if (successRate > 0 && this.filled >= this.minCalls && 1 - this.failures / this.filled < successRate) {
        return this.trip();
      }
    }
    return this.sinceReset === this.ring.length ? 'proven' : undefined;
  }

  /** Starts over (the address was evicted, or came back). */
  reset(): void {
    this.consecutive = 0;
    this.ring.fill(0);
    this.filled = 0;
    this.pos = 0;
    this.failures = 0;
    this.sinceReset = 0;
  }

  /** Failures in a row now. */
  get consecutiveFailures(): number {
    return this.consecutive;
  }

  /** Success rate of the calls in the window so far; undefined before the first. */
  get successRate(): number | undefined {
    return this.filled === 0 ? undefined : 1 - this.failures / this.filled;
  }

  /** Calls the success rate is taken over so far (up to `window`). */
  get calls(): number {
    return this.filled;
  }

  // --- internal ---

  private trip(): AccrualVerdict {
    this.reset();
    return 'trip';
  }
}
