/**
 * calls/s of `rpc status`: windows of one to two sampling intervals, measured against the newest
 * sample at least one interval old; totals survive a worker restart; the text table shows the
 * rate and the window. The quantiles of `rpc status` and of the statistics server come from one
 * locator.
 */
import { describe, expect, it } from 'vitest';
import { CallRates } from '../src/monitoring/call-rates.js';
import { formatStatus, percentile } from '../src/cli/status-format.js';
import type { MethodStats } from '../src/host/ipc.js';
import { quantileBucket, quantileMs } from '../src/monitoring/stats.js';
import type { HostSnapshot } from '../src/monitoring/stats-aggregate.js';
import type { HostStatus } from '../src/master/supervisor.js';

const T0 = 1_700_000_000_000;

function method(calls: number): MethodStats {
  const buckets = Array.from({ length: 18 }, () => 0);
  buckets[0] = calls;
  return { calls, successes: calls, failures: {}, totalMs: calls * 0.01, buckets, inFlight: 0 };
}

/** One snapshot: `workers` maps pid to the calls it has answered. */
function snapshot(workers: Record<number, number>): HostSnapshot {
  return {
    master: { pid: 1, startedAt: T0, rssBytes: 0 },
    workers: Object.entries(workers).map(([pid, calls]) => ({
      pid: Number(pid),
      service: 'HelloWorld',
      state: 'listening',
      generation: 1,
      restarts: 0,
      startedAt: T0,
      connections: 0,
      requests: calls,
      errors: 0,
      rssBytes: 0,
      methods: { 'HelloWorld.sayHello': method(calls) },
    })),
  };
}

describe('CallRates', () => {
  it('measures since the master started until a sample is one interval old', () => {
    const rates = new CallRates({ intervalMs: 5000 });
    const v = rates.sample(snapshot({ 10: 40 }), T0 + 2000);
    expect(v).toEqual({ windowMs: 2000, callsPerSec: { 'HelloWorld.sayHello': 20 } });
  });

  it('uses the newest sample at least one interval old as the base', () => {
    const rates = new CallRates({ intervalMs: 5000 });
    rates.sample(snapshot({ 10: 0 }), T0);
    rates.sample(snapshot({ 10: 100 }), T0 + 5000);
    rates.sample(snapshot({ 10: 600 }), T0 + 10_000);
    // 4 s after the last sample: base is the sample at T0 + 5000 (9 s old), not T0 + 10000.
    const v = rates.sample(snapshot({ 10: 1000 }), T0 + 14_000);
    expect(v.windowMs).toBe(9000);
    expect(v.callsPerSec['HelloWorld.sayHello']).toBe(100); // (1000 - 100) / 9 s
  });

  it('keeps counting across a worker restart (the calls of the old worker stay in the total)', () => {
    const rates = new CallRates({ intervalMs: 1000 });
    rates.sample(snapshot({ 10: 500 }), T0 + 1000);
    // pid 10 is gone, pid 11 replaced it and has answered 30 calls.
    const v = rates.sample(snapshot({ 11: 30 }), T0 + 3000);
    expect(v.callsPerSec['HelloWorld.sayHello']).toBe(15);
  });

  it('reports 0 for a method without new calls, never a negative rate', () => {
    const rates = new CallRates({ intervalMs: 1000 });
    rates.sample(snapshot({ 10: 7 }), T0 + 1000);
    expect(rates.sample(snapshot({ 10: 7 }), T0 + 3000).callsPerSec['HelloWorld.sayHello']).toBe(0);
  });
});

describe('rpc status text with rates', () => {
  it('shows CALLS/S per method and the window', () => {
    const status = {
      master: {
        pid: 1,
        version: '0.1.0',
        config: '/x/rpc.config.json',
        startedAt: 0,
        uptimeMs: 1000,
        loadavg: [0, 0, 0],
        rssBytes: 1,
        generation: 1,
        workers: { total: 1, listening: 1, starting: 0, draining: 0, expected: 1 },
      },
      workers: [
        {
          ...snapshot({ 10: 12 }).workers[0]!,
          listen: '127.0.0.1:9090',
          state: 'listening',
          uptimeMs: 1000,
        },
      ],
      rates: { windowMs: 6250, callsPerSec: { 'HelloWorld.sayHello': 1.92 } },
    } as HostStatus;
    const text = formatStatus(status);
    expect(text).toMatch(/METHOD +CALLS +OK% +P50 ms +P99 ms +IN FLIGHT +CALLS\/S +NOT RUN +QUEUE P99 ms\n/);
    expect(text).toMatch(/HelloWorld\.sayHello +12 +100\.0 +0\.05 +0\.05 +0 +1\.9 +0 +-\n/);
    expect(text).toContain('(calls/s over the last 6.3 s)');
    expect(formatStatus({ ...status, rates: undefined })).toMatch(/HelloWorld\.sayHello .* 0 +- +0 +-\n/);
  });
});

describe('one quantile locator', () => {
  it('rpc status percentiles and the interpolated quantiles find the same bucket', () => {
    const buckets = Array.from({ length: 18 }, () => 0);
    buckets[2] = 10; // 0.1 .. 0.25 ms
    buckets[6] = 10; // 2.5 .. 5 ms
    expect(quantileBucket(buckets, 0.5)).toEqual({ index: 2, fraction: 1 });
    expect(percentile(buckets, 0.5)).toBe('0.25');
    expect(quantileMs(buckets, 0.5)).toBeCloseTo(0.25);
    expect(quantileBucket(buckets, 0.75)).toEqual({ index: 6, fraction: 0.5 });
    expect(percentile(buckets, 0.75)).toBe('5');
    expect(quantileMs(buckets, 0.75)).toBeCloseTo(3.75);
    expect(
      quantileBucket(
        buckets.map(() => 0),
        0.5,
      ),
    ).toBeUndefined();
  });
});
