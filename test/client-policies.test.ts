/**
 * The client's resilience policies as pure functions of state, without sockets: power of two
 * choices, the Peak EWMA estimate, the cost it feeds (in flight, reported load, slow start),
 * the retry budget's arithmetic, the breaker's trips, the latency window behind percentile
 * backup delays, and what each attempt outcome means. Clocks and random sources are scripted.
 */
import thrift from 'thrift';
import { describe, expect, it } from 'vitest';
import { AddressLoad } from '../clients/address-load.js';
import { AddressManager, type AddressManagerOptions } from '../clients/address-manager.js';
import { pickAddress, pickTwo } from '../clients/address-policy.js';
import { classifyError, markLocal } from '../clients/attempt-outcome.js';
import {
  CallTimeoutError,
  ClientClosedError,
  ConnectFailedError,
  ConnectionClosedError,
  PoolAcquireTimeoutError,
  ServerOverloadedError,
} from '../clients/errors.js';
import { FailureAccrual } from '../clients/failure-accrual.js';
import { LatencyWindow } from '../clients/latency-window.js';
import { PeakEwma, SAMPLE_WEIGHT } from '../clients/peak-ewma.js';
import { RetryBudget } from '../clients/retry-budget.js';

const A = '10.0.0.1:9090';
const B = '10.0.0.2:9090';
const C = '10.0.0.3:9090';
const { TApplicationException } = thrift.Thrift;
const target = { service: 'S', method: 'm', address: A };

/** A scripted random source cycling through `values`. */
function seq(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe('power of two choices', () => {
  const cost = (table: Record<string, number>) => (a: string) => table[a] ?? 0;

  it('draws two distinct addresses and keeps the cheaper; a tie keeps the first drawn', () => {
    // random 0 then 0: i = 0 (A), j = 0 -> bumped past i -> 1 (B).
    expect(pickTwo([A, B, C], cost({ A: 1, [B]: 1 }), seq(0, 0))).toBe(A);
    expect(pickTwo([A, B, C], cost({ [A]: 5, [B]: 1 }), seq(0, 0))).toBe(B);
    // i = 2 (C), j = 0.99 * 2 -> 1 (B).
    expect(pickTwo([A, B, C], cost({ [B]: 3, [C]: 2 }), seq(0.99, 0.99))).toBe(C);
    expect(pickTwo([A, B, C], cost({ [B]: 1, [C]: 2 }), seq(0.99, 0.99))).toBe(B);
  });

  it('never compares an address with itself, and over many draws every pair comes up', () => {
    const pairs = new Set<string>();
    let r = 0.123;
    const random = () => (r = (r * 9301 + 49297) % 233280) / 233280;
    for (let k = 0; k < 300; k++) {
      const drawn: string[] = [];
      pickTwo([A, B, C], (a) => (drawn.push(a), 0), random);
      expect(new Set(drawn).size).toBe(2);
      pairs.add([...drawn].sort().join(' '));
    }
    expect(pairs.size).toBe(3);
  });

  it('the costliest of three addresses is never picked', () => {
    let r = 0.5;
    const random = () => (r = (r * 9301 + 49297) % 233280) / 233280;
    const picked = new Set<string>();
    for (let k = 0; k < 200; k++) picked.add(pickTwo([A, B, C], cost({ [A]: 1, [B]: 2, [C]: 100 }), random));
    expect(picked).toEqual(new Set([A, B]));
  });

  it('pickAddress uses it for healthy addresses only with least-loaded, and still probes evicted ones', () => {
    const costs = cost({ [A]: 9, [B]: 1 });
    const input = { addresses: [A, B], evicted: new Map(), now: 0, detectRate: 0, random: seq(0, 0), cost: costs };
    expect(pickAddress({ ...input, balancer: 'least-loaded' })).toEqual({ address: B, reason: 'healthy' });
    expect(pickAddress({ ...input, balancer: 'random' })).toEqual({ address: A, reason: 'healthy' });
    const evicted = new Map([[C, { evictedAt: 0, attempts: 0, retryAt: 0 }]]);
    expect(pickAddress({ ...input, addresses: [A, B, C], evicted, balancer: 'least-loaded' })).toEqual({
      address: C,
      reason: 'backoff-probe',
    });
  });
});

describe('Peak EWMA', () => {
  it('jumps to a peak at once and comes down by a fixed share per lower sample', () => {
    const e = new PeakEwma(10_000, 0);
    e.observe(2, 0);
    expect(e.get(0)).toBe(2);
    e.observe(30, 0);
    expect(e.get(0)).toBe(30);
    e.observe(2, 0);
    expect(e.get(0)).toBeCloseTo(30 - 28 * SAMPLE_WEIGHT, 9);
    // A few dozen fast calls later, the peak is gone.
    for (let i = 0; i < 40; i++) e.observe(2, 0);
    expect(e.get(0)).toBeLessThan(2.5);
  });

  it('decays toward zero with its time constant while no sample arrives', () => {
    const e = new PeakEwma(1_000, 0);
    e.observe(20, 0);
    expect(e.get(1_000)).toBeCloseTo(20 / Math.E, 9);
    expect(e.get(3_000)).toBeCloseTo(20 / Math.E ** 3, 9);
  });

  it('a lower bound raises the estimate only when above it', () => {
    const e = new PeakEwma(10_000, 0);
    e.observe(10, 0);
    e.observeAtLeast(3, 0);
    expect(e.get(0)).toBe(10);
    e.observeAtLeast(50, 0);
    expect(e.get(0)).toBe(50);
  });
});

describe('address cost', () => {
  it('is latency × (in flight + 1); an unmeasured address is free while idle, prohibitive while busy', () => {
    const load = new AddressLoad({ decayMs: 10_000, slowStartMs: 0 });
    expect(load.cost(A, 0)).toBe(0);
    load.start(A, 0);
    expect(load.cost(A, 0)).toBeGreaterThan(1e9);
    load.end(A, 4, 0, 'sample');
    expect(load.cost(A, 0)).toBe(4);
    load.start(A, 0);
    load.start(A, 0);
    expect(load.cost(A, 0)).toBe(12);
  });

  it("takes the host's reported load when it exceeds this client's own calls in flight, while fresh", () => {
    const load = new AddressLoad({ decayMs: 1e12, slowStartMs: 0 });
    load.start(A, 0);
    load.end(A, 2, 0, 'sample');
    load.reported(A, 9, 0);
    expect(load.cost(A, 500)).toBeCloseTo(20, 6);
    expect(load.status(A, 500)).toMatchObject({ reportedLoad: 9, inFlight: 0 });
    // Stale after a second: own figures only.
    expect(load.cost(A, 1_001)).toBeCloseTo(2, 6);
  });

  it('slow start: a recovered address is drawn a tenth as often at first, ramping linearly to a full share; its cost stays its own', () => {
    const load = new AddressLoad({ decayMs: 1e12, slowStartMs: 1_000 });
    load.end(A, 2, 0, 'sample');
    load.warmUp(A, 0);
    expect(load.anyWarming(0)).toBe(true);
    expect(load.weight(A, 0)).toBeCloseTo(0.1, 9);
    expect(load.weight(A, 500)).toBeCloseTo(0.55, 9);
    expect(load.cost(A, 500)).toBeCloseTo(2, 6);
    expect(load.weight(B, 500)).toBe(1);
    expect(load.weight(A, 1_000)).toBe(1);
    expect(load.anyWarming(1_000)).toBe(false);
    expect(load.status(A, 2_000).weight).toBe(1);
  });

  it('weighted draws: a warming address is drawn in proportion to its weight, and loses no pair it is drawn into on cost alone', () => {
    const weight = (a: string) => (a === A ? 0.1 : 1);
    const cheapA = (a: string) => (a === A ? 1 : 5);
    // Total 2.1: r * 2.1 < 0.1 draws A first (then B or C); beyond, B or C.
    expect(pickTwo([A, B, C], cheapA, seq(0.04, 0), weight)).toBe(A);
    // r 0.5: B first; r 0.99 over the 1.1 left: C; a tie keeps the first drawn.
    expect(pickTwo([A, B, C], cheapA, seq(0.5, 0.99), weight)).toBe(B);
    let r = 0.77;
    const random = () => (r = (r * 9301 + 49297) % 233280) / 233280;
    const drawn = new Map<string, number>();
    for (let k = 0; k < 20_000; k++) {
      pickTwo([A, B, C], (a) => (drawn.set(a, (drawn.get(a) ?? 0) + 1), 0), random, weight);
    }
    // Without weights every address is in 2/3 of the pairs; A, weighing 0.1, is in 0.1/2.1 (drawn
    // first) + 2 × 1/2.1 × 0.1/1.1 (drawn second) = 13.4 % of them.
    expect(drawn.get(A)! / 20_000).toBeGreaterThan(0.12);
    expect(drawn.get(A)! / 20_000).toBeLessThan(0.15);
  });

  it('a shed doubles the estimate; a failure at once or a connect failure does not lower it', () => {
    const load = new AddressLoad({ decayMs: 1e12, slowStartMs: 0 });
    load.end(A, 3, 0, 'sample');
    load.penalize(A, 0);
    expect(load.cost(A, 0)).toBe(6);
    load.end(A, 0.1, 0, 'at-least');
    load.end(A, 0.1, 0, 'none');
    expect(load.cost(A, 0)).toBe(6);
  });
});

describe('retry budget', () => {
  it("with no traffic, a new client may retry minPerSec times at once, gaining minPerSec a second up to a window's worth", () => {
    let now = 0;
    const budget = new RetryBudget({ ratio: 0.2, minPerSec: 2, windowMs: 10_000, now: () => now });
    expect([budget.tryWithdraw(), budget.tryWithdraw(), budget.tryWithdraw()]).toEqual([true, true, false]);
    // The floor grows at 2/s from a second on: at 1.5 s it is 3, one more than spent.
    now = 1_499;
    expect(budget.canWithdraw()).toBe(false);
    now = 1_500;
    expect(budget.status().available).toBe(1);
    now = 2_000;
    expect(budget.status().available).toBe(2);
    // A window old: the floor is a window's worth (20), less what the window still holds (2).
    now = 9_999;
    expect(budget.status().available).toBe(17);
    // Withdrawals older than the window are forgotten.
    now = 20_000;
    expect(budget.status().available).toBe(20);
    for (let i = 0; i < 20; i++) expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(false);
  });

  it('adds ratio of a retry per call, exactly: 0.2 × 5 calls is one retry', () => {
    const budget = new RetryBudget({ ratio: 0.2, minPerSec: 0, windowMs: 10_000, now: () => 0 });
    expect(budget.canWithdraw()).toBe(false);
    for (let i = 0; i < 4; i++) budget.deposit();
    expect(budget.canWithdraw()).toBe(false);
    budget.deposit();
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(false);
    expect(budget.status()).toEqual({ available: 0, calls: 5, withdrawn: 1, refused: 1 });
  });

  it('over a long run, retries stay within ratio × calls once the calls earn more than the floor', () => {
    let now = 0;
    const budget = new RetryBudget({ ratio: 0.2, minPerSec: 10, windowMs: 10_000, now: () => now });
    let retries = 0;
    const calls = 60_000;
    // 1000 calls/s for 60 s, every call wanting two retries.
    for (let i = 0; i < calls; i++) {
      now = i;
      budget.deposit();
      if (budget.tryWithdraw()) retries++;
      if (budget.tryWithdraw()) retries++;
    }
    expect(retries).toBeLessThanOrEqual(0.2 * calls);
    expect(retries).toBeGreaterThan(0.19 * calls);
  });

  it('the per-second floor is a floor, not added to the ratio: 100 calls/s get 20 retries/s, not 30', () => {
    let now = 0;
    const budget = new RetryBudget({ ratio: 0.2, minPerSec: 10, windowMs: 10_000, now: () => now });
    let retries = 0;
    // 100 calls/s for 60 s, every call wanting two retries (Finagle's sum would allow 1,800).
    for (let i = 0; i < 6_000; i++) {
      now = i * 10;
      budget.deposit();
      if (budget.tryWithdraw()) retries++;
      if (budget.tryWithdraw()) retries++;
    }
    expect(retries).toBeLessThanOrEqual(1_200);
    expect(retries).toBeGreaterThan(1_100);
  });

  it('a client making fewer calls than the floor needs still gets minPerSec retries per second', () => {
    let now = 0;
    const budget = new RetryBudget({ ratio: 0.2, minPerSec: 10, windowMs: 10_000, now: () => now });
    let retries = 0;
    // 5 calls/s for 60 s, every call wanting a retry: the ratio alone would allow 60, the floor
    // (10/s) allows every one.
    for (let i = 0; i < 300; i++) {
      now = i * 200;
      budget.deposit();
      if (budget.tryWithdraw()) retries++;
    }
    expect(retries).toBe(300);
  });

  it('a new client started into a storm gets no more than ratio × calls, plus one second of the floor', () => {
    let now = 0;
    const budget = new RetryBudget({ ratio: 0.2, minPerSec: 10, windowMs: 10_000, now: () => now });
    let retries = 0;
    // 335 calls/s for 12 s (chaos scenario 11's storm rate), every call wanting two retries. A
    // full window's floor at once (100) is spent in the first 50 calls, which earned 10; once
    // that second leaves the window, the overdraft is forgotten: 0.2 × calls + 33.
    const calls = 4_020;
    for (let i = 0; i < calls; i++) {
      now = Math.floor((i * 1000) / 335);
      budget.deposit();
      if (budget.tryWithdraw()) retries++;
      if (budget.tryWithdraw()) retries++;
    }
    expect(retries).toBeLessThanOrEqual(0.2 * calls + 10);
    expect(retries).toBeGreaterThanOrEqual(0.2 * calls - 1);
  });
});

describe('breaker (failure accrual)', () => {
  it('trips after N failures in a row; a success in between starts the count over', () => {
    const f = new FailureAccrual({ consecutiveFailures: 3, successRate: 0, window: 10 });
    expect([f.record(false), f.record(false), f.record(true), f.record(false), f.record(false)]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(f.record(false)).toBe('trip');
    expect(f.consecutiveFailures).toBe(0);
  });

  it('trips when the success rate falls below the threshold, judged from a fifth of the window on', () => {
    const f = new FailureAccrual({ consecutiveFailures: 0, successRate: 0.8, window: 100 });
    // Half the calls fail, alternating: never two in a row.
    const verdicts = Array.from({ length: 20 }, (_, i) => f.record(i % 2 === 0));
    expect(verdicts.slice(0, 19).every((v) => v === undefined)).toBe(true);
    expect(verdicts[19]).toBe('trip');
    // The same, the 20th call a success: only the next failure trips (a success never does).
    const g = new FailureAccrual({ consecutiveFailures: 0, successRate: 0.8, window: 100 });
    const more = Array.from({ length: 21 }, (_, i) => g.record(i % 2 === 1));
    expect(more.slice(0, 20).every((v) => v === undefined)).toBe(true);
    expect(more[20]).toBe('trip');
    // One failure out of the first two is not yet a verdict.
    expect([f.record(false), f.record(true)]).toEqual([undefined, undefined]);
  });

  it('a window of 80 % successes holds, and proves the address once whole', () => {
    const f = new FailureAccrual({ consecutiveFailures: 0, successRate: 0.8, window: 10 });
    // Success first: 1 of the first 2 failing (50 %) would trip at the fifth of the window.
    const verdicts = Array.from({ length: 10 }, (_, i) => f.record(i % 5 !== 4));
    expect(verdicts.slice(0, 9).every((v) => v === undefined)).toBe(true);
    expect(verdicts[9]).toBe('proven');
    expect(f.successRate).toBe(0.8);
  });

  it('the address manager evicts on a trip with growing back-off for repeat offenders, within maxEvictedRatio', () => {
    let now = 1_000_000;
    const options: AddressManagerOptions = {
      service: 'S',
      addresses: [A, B, C],
      detectRate: 0,
      backoff: { initialMs: 1_000, maxMs: 60_000, multiplier: 2, jitter: 0 },
      evictAfterFailures: 2,
      maxEvictedRatio: 0.5,
      stateDir: undefined,
      stateSyncMs: 0,
      now: () => now,
      random: () => 0.5,
    };
    const m = new AddressManager(options);
    m.callFailed(A);
    expect(m.evicted()).toEqual([]);
    m.callFailed(A);
    expect(m.entry(A)).toMatchObject({ attempts: 0, retryAt: now + 1_000 });
    // One of three may be evicted for failures: B keeps serving, however it fails.
    for (let i = 0; i < 4; i++) m.callFailed(B);
    expect(m.evicted()).toEqual([A]);
    expect(m.status().find((s) => s.address === B)?.breaker).toBe('closed');
    // A's probe succeeds (it is back, in slow start), then it trips again: it waits longer.
    now += 1_000;
    expect(m.status().find((s) => s.address === A)?.breaker).toBe('half-open');
    m.succeeded(A);
    expect(m.evicted()).toEqual([]);
    expect(m.status().find((s) => s.address === A)?.weight).toBe(1); // slowStartMs 0 here
    m.callFailed(A);
    m.callFailed(A);
    expect(m.entry(A)).toMatchObject({ attempts: 1, retryAt: now + 2_000 });
    expect(m.status().find((s) => s.address === A)?.breaker).toBe('open');
    // A call that was already out when A was evicted is no probe: its success does not revive A.
    m.succeeded(A, now - 1);
    expect(m.evicted()).toEqual([A]);
    now += 2_000;
    m.succeeded(A, now);
    expect(m.evicted()).toEqual([]);
  });
});

describe('latency window', () => {
  it('knows no percentile before 100 samples, then the bucket edge at or above it (10 % buckets)', () => {
    const w = new LatencyWindow(30_000, 0);
    for (let i = 0; i < 99; i++) w.record(1, 0);
    expect(w.percentile(0.99, 0)).toBeUndefined();
    w.record(1, 0);
    const p99 = w.percentile(0.99, 0)!;
    expect(p99).toBeGreaterThanOrEqual(1);
    expect(p99).toBeLessThan(1.1);
  });

  it('p99 of 990 fast and 10 slow samples is fast; p999 is slow', () => {
    const w = new LatencyWindow(30_000, 0);
    for (let i = 0; i < 990; i++) w.record(2, 0);
    for (let i = 0; i < 10; i++) w.record(40, 0);
    expect(w.percentile(0.99, 0)).toBeLessThan(2.2);
    expect(w.percentile(0.999, 0)).toBeGreaterThanOrEqual(40);
  });

  it('forgets samples older than one to two windows', () => {
    const w = new LatencyWindow(1_000, 0);
    for (let i = 0; i < 100; i++) w.record(5, 0);
    expect(w.count(600)).toBe(100);
    expect(w.count(1_100)).toBe(0);
  });
});

describe('what an attempt outcome means', () => {
  it.each([
    ['connect failure', new ConnectFailedError('x', target), 'connect-failure', 'always'],
    ['shed by the host', new ServerOverloadedError('x', target), 'shed', 'always'],
    ['pool busy', new PoolAcquireTimeoutError('x', target), 'neutral', 'always'],
    ['connection dead before writing', new ConnectionClosedError('x', target, false), 'neutral', 'always'],
    ['connection lost after writing', new ConnectionClosedError('x', target, true), 'failure', 'idempotent'],
    ['call timeout', new CallTimeoutError('x', target), 'failure', 'idempotent'],
    ['INTERNAL_ERROR', new TApplicationException(6, 'x'), 'failure', 'idempotent'],
    ['UNKNOWN', new TApplicationException(0, 'x'), 'failure', 'idempotent'],
    ['deadline passed in the queue', new TApplicationException(12, 'x'), 'shed', 'never'],
    ['UNKNOWN_METHOD', new TApplicationException(1, 'x'), 'success', 'never'],
    ['a declared exception', Object.assign(new thrift.Thrift.TException('nope'), { name: 'NotFound' }), 'success', 'never'],
    ['client closed', new ClientClosedError('x'), 'neutral', 'never'],
    ['a bad argument', markLocal(new TypeError('not a string')), 'neutral', 'never'],
  ])('%s: health %s, another address %s', (_, err, health, retry) => {
    expect(classifyError(err)).toEqual({ health, retry });
  });
});
