/**
 * Exponential back-off with jitter and a ceiling, shared by the host (how long a crashed worker
 * slot waits before its respawn) and the client (how long an evicted address waits for its next
 * probe). Pure: the random source is a parameter and time comes from the caller, so tests need
 * no timers.
 */

/** Back-off tuning. */
export interface BackoffPolicy {
  /** Delay of the first attempt. */
  initialMs: number;
  /** Ceiling of every delay, jitter included. */
  maxMs: number;
  /** Growth per attempt. */
  multiplier: number;
  /** Relative jitter: 0.2 spreads each delay over ±20%. */
  jitter: number;
}

/**
 * Delay of attempt number `attempt` (0 for the first): `initialMs * multiplier^attempt`, capped at
 * `maxMs`, spread by ±`jitter`, and never above `maxMs`.
 * @param random a source in [0, 1); `Math.random` in production
 */
export function backoffDelayMs(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const base = baseMs(policy, attempt);
  const spread = base * policy.jitter * (random() * 2 - 1);
  return Math.max(0, Math.min(policy.maxMs, Math.round(base + spread)));
}

/** The longest {@link backoffDelayMs} can return for `attempt`: the bound tests and docs quote. */
export function backoffBoundMs(policy: BackoffPolicy, attempt: number): number {
  return Math.min(policy.maxMs, Math.ceil(baseMs(policy, attempt) * (1 + policy.jitter)));
}

/** Options of {@link Backoff}: a policy plus when the sequence starts over. */
export interface BackoffOptions extends Partial<BackoffPolicy> {
  /** A worker that stayed up this long resets the sequence. @default 10000 */
  resetAfterMs?: number;
  /** Random source in [0, 1). @default Math.random */
  random?: () => number;
}

/** Defaults of {@link BackoffOptions} (the host's worker respawn). */
export const BACKOFF_DEFAULTS = {
  initialMs: 100,
  maxMs: 10_000,
  multiplier: 2,
  jitter: 0.2,
  resetAfterMs: 10_000,
} as const;

/**
 * The delay sequence of one worker slot: 100, 200, 400, ... 10000 ms (each ±20%, never above
 * the ceiling), back to the start once a worker has stayed up for `resetAfterMs`.
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
    if (upForMs >= this.options.resetAfterMs) this.attempt = 0;
    return backoffDelayMs(this.options, this.attempt++, this.options.random);
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

// --- internal ---

function baseMs(policy: BackoffPolicy, attempt: number): number {
  return Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** Math.max(0, attempt));
}
