/**
 * Exponential back-off with jitter and a ceiling, for respawning workers that crash in a loop.
 * Pure: time and randomness come from the caller, so tests need no timers.
 */

/** Back-off tuning. */
export interface BackoffOptions {
  /** First delay. @default 100 */
  initialMs?: number;
  /** Ceiling of the delay before jitter. @default 10000 */
  maxMs?: number;
  /** Growth factor per attempt. @default 2 */
  multiplier?: number;
  /** Spread: each delay is scaled by a random factor in [1 - jitter, 1 + jitter]. @default 0.2 */
  jitter?: number;
  /** A worker that stayed up this long resets the sequence. @default 10000 */
  resetAfterMs?: number;
  /** Random source in [0, 1). @default Math.random */
  random?: () => number;
}

/** Defaults of {@link BackoffOptions}. */
export const BACKOFF_DEFAULTS = {
  initialMs: 100,
  maxMs: 10_000,
  multiplier: 2,
  jitter: 0.2,
  resetAfterMs: 10_000,
} as const;

/**
 * The delay sequence of one worker slot: 100, 200, 400, ... 10000 ms (each +-20%), back to
 * the start once a worker has stayed up for `resetAfterMs`.
 *
 * @example
 * const backoff = new Backoff();
 * setTimeout(respawn, backoff.next(upForMs));
 */
export class Backoff {
  private readonly options: Required<BackoffOptions>;
  private attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.options = { ...BACKOFF_DEFAULTS, random: Math.random, ...options };
  }

  /**
   * The delay before the next respawn.
   * @param upForMs how long the worker that just died had been running
   */
  next(upForMs = 0): number {
    const { initialMs, maxMs, multiplier, jitter, resetAfterMs, random } = this.options;
    if (upForMs >= resetAfterMs) this.attempt = 0;
    const base = Math.min(maxMs, initialMs * multiplier ** this.attempt);
    this.attempt++;
    const factor = 1 - jitter + 2 * jitter * random();
    return Math.round(base * factor);
  }

  /** How many delays were handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** Starts the sequence over. */
  reset(): void {
    this.attempt = 0;
  }
}
