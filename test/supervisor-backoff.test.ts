/**
 * Respawn back-off: exponential, capped, jittered within bounds, reset by a long enough uptime.
 * Pure: randomness is injected, no timers.
 */
import { describe, expect, it } from 'vitest';
import { Backoff } from '../src/common/backoff.js';

describe('Backoff', () => {
  it('doubles from 100 ms up to the 10 s ceiling', () => {
    const backoff = new Backoff({ random: () => 0.5 }); // factor exactly 1
    const delays = Array.from({ length: 10 }, () => backoff.next(0));
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000, 10000]);
    expect(backoff.attempts).toBe(10);
  });

  it('keeps jitter within +-20% at both extremes of the random source', () => {
    const low = new Backoff({ random: () => 0 });
    const high = new Backoff({ random: () => 0.999999 });
    for (let i = 0; i < 9; i++) {
      const base = Math.min(10_000, 100 * 2 ** i);
      expect(low.next()).toBe(Math.round(base * 0.8));
      expect(high.next()).toBeLessThanOrEqual(Math.round(base * 1.2));
    }
  });

  it('never waits longer than the ceiling, jitter included (the client back-off rule)', () => {
    const high = new Backoff({ random: () => 0.999999 });
    const delays = Array.from({ length: 12 }, () => high.next());
    expect(Math.max(...delays)).toBe(10_000);
  });

  it('starts over once a worker stayed up for resetAfterMs', () => {
    const backoff = new Backoff({ random: () => 0.5, resetAfterMs: 10_000 });
    backoff.next(50);
    backoff.next(50);
    expect(backoff.next(9_999)).toBe(400);
    expect(backoff.next(10_000)).toBe(100);
    expect(backoff.next(0)).toBe(200);
    backoff.reset();
    expect(backoff.next(0)).toBe(100);
  });
});
