/**
 * Exponential back-off with jitter and a ceiling: how long an evicted address waits before it
 * gets its next probe. Pure: the random source is a parameter, so tests are deterministic.
 */

/** Back-off settings (resolved from the client options `backoff*`). */
export interface BackoffPolicy {
  /** Delay before the first probe. */
  initialMs: number;
  /** Ceiling of every delay, jitter included. */
  maxMs: number;
  /** Growth per failed probe. */
  multiplier: number;
  /** Relative jitter: 0.2 spreads each delay over ±20%. */
  jitter: number;
}

/**
 * Delay before probe number `attempt` (0 for the first probe after an eviction).
 * @param random a source in [0, 1); `Math.random` in production
 */
export function backoffDelayMs(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** Math.max(0, attempt));
  const spread = base * policy.jitter * (random() * 2 - 1);
  return Math.max(0, Math.min(policy.maxMs, Math.round(base + spread)));
}

/** The longest {@link backoffDelayMs} can return for `attempt`: the bound tests and docs quote. */
export function backoffBoundMs(policy: BackoffPolicy, attempt: number): number {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** Math.max(0, attempt));
  return Math.min(policy.maxMs, Math.ceil(base * (1 + policy.jitter)));
}
