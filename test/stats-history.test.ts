/**
 * The master's bookkeeping without sockets: totals that keep counting across worker restarts,
 * and per-minute history points from successive cumulative totals.
 */
import { describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_MS, type MethodStats } from '../src/host/ipc.js';
import {
  type HostSnapshot,
  ServerTotals,
  serviceFigures,
  type WorkerSnapshot,
} from '../src/monitoring/stats-aggregate.js';
import { ALL_METHODS, StatsHistory } from '../src/monitoring/stats-history.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const MIN = 60_000;

/** `ok` successes and `bad` INTERNAL_ERRORs, all in the 1 ms bucket (0.5..1 ms), plus `inFlight`. */
function stats(ok: number, bad = 0, inFlight = 0): MethodStats {
  const buckets = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
  buckets[LATENCY_BUCKETS_MS.indexOf(1)] = ok + bad;
  return {
    calls: ok + bad + inFlight,
    successes: ok,
    failures: bad ? { INTERNAL_ERROR: bad } : {},
    totalMs: (ok + bad) * 0.8,
    buckets,
    inFlight,
  };
}

function worker(
  pid: number,
  methods: Record<string, MethodStats>,
  extra: Partial<WorkerSnapshot> = {},
): WorkerSnapshot {
  return {
    pid,
    service: 'Catalog',
    state: 'listening',
    generation: 1,
    restarts: 0,
    startedAt: pid * 1000,
    connections: 1,
    requests: 0,
    errors: 0,
    rssBytes: 1,
    methods,
    ...extra,
  };
}

const host = (...workers: WorkerSnapshot[]): HostSnapshot => ({
  master: { pid: 1, startedAt: T0, rssBytes: 1 },
  workers,
});

describe('ServerTotals', () => {
  it('keeps a replaced worker’s calls in the totals, and in-flight only from live workers', () => {
    const totals = new ServerTotals();
    let t = totals.update(
      host(worker(10, { 'Catalog.add': stats(7, 1, 2) }), worker(11, { 'Catalog.add': stats(3) })),
      T0,
    );
    expect(t['Catalog.add']).toMatchObject({ successes: 10, failures: { INTERNAL_ERROR: 1 }, inFlight: 2 });
    // Worker 10 crashed and was replaced by worker 12, which starts from zero.
    t = totals.update(
      host(worker(12, { 'Catalog.add': stats(1) }), worker(11, { 'Catalog.add': stats(5) })),
      T0 + 1000,
    );
    expect(t['Catalog.add']).toMatchObject({ successes: 13, failures: { INTERNAL_ERROR: 1 }, inFlight: 0 });
    // A worker that did not answer keeps its last figures; nothing is counted twice.
    t = totals.update(
      host(worker(12, {}, { requests: null }), worker(11, { 'Catalog.add': stats(5) })),
      T0 + 2000,
    );
    expect(t['Catalog.add']!.successes).toBe(13);
    // Long gone processes are folded into the retired sum, still counted: 7 (worker 10) + 5 + 2.
    t = totals.update(
      host(worker(12, { 'Catalog.add': stats(1) }), worker(11, { 'Catalog.add': stats(5) })),
      T0 + 20 * MIN,
    );
    t = totals.update(
      host(worker(12, { 'Catalog.add': stats(2) }), worker(11, { 'Catalog.add': stats(5) })),
      T0 + 21 * MIN,
    );
    expect(t['Catalog.add']!.successes).toBe(14);
  });

  it('merges each worker’s failure ring once', () => {
    const totals = new ServerTotals();
    const f = (seq: number) => ({
      at: T0 + seq,
      seq,
      method: 'Catalog.fail',
      kind: 'INTERNAL_ERROR',
      message: `m${seq}`,
    });
    totals.update(host(worker(10, {}, { recentFailures: [f(0), f(1)] })), T0);
    totals.update(host(worker(10, {}, { recentFailures: [f(1), f(2)] })), T0 + 1);
    expect(totals.recentFailures().map((l) => l.message)).toEqual(['m0', 'm1', 'm2']);
  });

  it('counts restarts once per slot, also while a reload runs old and new workers side by side', () => {
    const figures = serviceFigures(
      host(
        worker(10, {}, { slot: 0, restarts: 2, state: 'draining' }),
        worker(11, {}, { slot: 0, restarts: 2 }),
        worker(12, {}, { slot: 1, restarts: 1 }),
      ),
    );
    expect(figures).toEqual([
      { service: 'Catalog', workers: { draining: 1, listening: 2 }, connections: 3, restarts: 3 },
    ]);
  });
});

describe('StatsHistory', () => {
  it('adds the differences between samples to the minute they fall in', () => {
    const h = new StatsHistory();
    h.record('server', { 'Catalog.add': stats(10) }, T0 + 5_000);
    h.record('server', { 'Catalog.add': stats(15, 1) }, T0 + 35_000);
    h.record('server', { 'Catalog.add': stats(20, 1), 'Catalog.get': stats(0, 2) }, T0 + MIN + 1_000);
    const s = h.series('server', T0 + MIN + 1_000);
    expect(s['Catalog.add']).toEqual([
      { t: T0, calls: 16, failures: 1, p50Ms: expect.any(Number), p99Ms: expect.any(Number) },
      { t: T0 + MIN, calls: 5, failures: 0, p50Ms: expect.any(Number), p99Ms: expect.any(Number) },
    ]);
    expect(s['Catalog.get']).toEqual([
      { t: T0 + MIN, calls: 2, failures: 2, p50Ms: expect.any(Number), p99Ms: expect.any(Number) },
    ]);
    expect(s[ALL_METHODS]!.map((p) => [p.calls, p.failures])).toEqual([
      [16, 1],
      [7, 2],
    ]);
    const p = s['Catalog.add']![0]!;
    expect(p.p50Ms).toBeGreaterThan(0.5);
    expect(p.p99Ms).toBeLessThanOrEqual(1);
    // 5 calls in the 26 s between the last two samples.
    expect(h.rate('server', 'Catalog.add')).toBeCloseTo(5 / 26, 5);
  });

  it('shows quiet minutes as zero and keeps only the last hour', () => {
    const h = new StatsHistory({ minutes: 60 });
    h.record('server', { 'A.b': stats(1) }, T0);
    h.record('server', { 'A.b': stats(3) }, T0 + 4 * MIN);
    expect(h.series('server', T0 + 4 * MIN)['A.b']!.map((p) => p.calls)).toEqual([1, 0, 0, 0, 2]);
    for (let m = 5; m <= 100; m++) h.record('server', { 'A.b': stats(3 + m) }, T0 + m * MIN);
    const points = h.series('server', T0 + 100 * MIN)['A.b']!;
    expect(points).toHaveLength(60);
    expect(points[0]!.t).toBe(T0 + 41 * MIN);
    expect(points.at(-1)).toMatchObject({ t: T0 + 100 * MIN, calls: 1 });
  });
});
