/**
 * The range of a Node.js timer. `setTimeout` stores its delay as a 32-bit signed integer and
 * turns a larger one into 1 ms (with a `TimeoutOverflowWarning`): a grace period of 35 days would
 * expire at once. Every millisecond setting, host and client, is checked against this range
 * when the configuration is read.
 */

/** Longest delay a Node.js timer honours: 2^31 - 1 ms, about 24.8 days. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** What a millisecond setting must be, for messages: "an integer from 0 to 2147483647 ...". */
export function timerRangeText(min: number): string {
  return `an integer from ${min} to ${MAX_TIMER_MS} (milliseconds; a Node.js timer cannot wait longer, about 24.8 days)`;
}

/** True for an integer delay from `min` to {@link MAX_TIMER_MS}. */
export function isTimerMs(value: unknown, min: number): value is number {
  return Number.isInteger(value) && (value as number) >= min && (value as number) <= MAX_TIMER_MS;
}
