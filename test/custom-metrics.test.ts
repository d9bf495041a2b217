/**
 * The handlers' metrics API without processes: names and labels are checked against Prometheus
 * naming and thrifthost's own names, misuse is refused with a code, and the master's sums of two
 * workers' snapshots come out of the exposition as a real parser reads it.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { MAX_SERIES_PER_METRIC, MetricsError, MetricsRegistry, metrics } from '../src/monitoring/custom-metrics.js';
import { CustomTotals } from '../src/monitoring/custom-metrics-totals.js';
import { renderMetrics } from '../src/monitoring/prometheus.js';
import { StatsCollector } from '../src/monitoring/stats-collector.js';
import { Metrics } from './helpers/stats-host.js';

function refused(fn: () => unknown): MetricsError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MetricsError);
    return err as MetricsError;
  }
  throw new Error('expected a MetricsError');
}

describe('registering metrics', () => {
  it('refuses names that are not Prometheus names, with ERR_METRIC_NAME', () => {
    const r = new MetricsRegistry();
    for (const name of ['', '1st_total', 'has-dash', 'dotted.name', 'colon:name', 'spa ce']) {
      const err = refused(() => r.counter({ name, help: 'x' }));
      expect(err.code).toBe('ERR_METRIC_NAME');
      expect(err.message).toContain('not a valid Prometheus name');
    }
    expect(refused(() => r.counter({ name: 'ok_total', help: '' })).message).toContain('needs a "help"');
  });

  it("refuses thrifthost's own names, saying the prefix is reserved", () => {
    const r = new MetricsRegistry();
    for (const name of ['thrift_server_requests_total', 'thrift_mine', 'process_resident_memory_bytes']) {
      const err = refused(() => r.counter({ name, help: 'x' }));
      expect(err.code).toBe('ERR_METRIC_NAME');
      expect(err.message).toMatch(/reserved for thrifthost's built-in metrics/);
    }
  });

  it('refuses bad, reserved and repeated label names, and bad buckets', () => {
    const r = new MetricsRegistry();
    expect(refused(() => r.counter({ name: 'a_total', help: 'x', labelNames: ['service'] })).message).toMatch(
      /service .* reserved .* host adds/,
    );
    expect(refused(() => r.histogram({ name: 'h', help: 'x', labelNames: ['le'] })).code).toBe('ERR_METRIC_LABELS');
    expect(refused(() => r.counter({ name: 'b_total', help: 'x', labelNames: ['__x'] })).code).toBe(
      'ERR_METRIC_LABELS',
    );
    expect(refused(() => r.counter({ name: 'c_total', help: 'x', labelNames: ['k', 'k'] })).message).toContain(
      'appears twice',
    );
    expect(refused(() => r.histogram({ name: 'd', help: 'x', buckets: [1, 1] })).code).toBe('ERR_METRIC_BUCKETS');
    expect(refused(() => r.histogram({ name: 'e', help: 'x', buckets: [] })).code).toBe('ERR_METRIC_BUCKETS');
  });

  it('returns the same metric for the same definition and refuses a different one', () => {
    const r = new MetricsRegistry();
    const a = r.counter({ name: 'jobs_total', help: 'Jobs.', labelNames: ['kind'] });
    expect(r.counter({ name: 'jobs_total', help: 'Jobs.', labelNames: ['kind'] })).toBe(a);
    const err = refused(() => r.counter({ name: 'jobs_total', help: 'Jobs.', labelNames: ['type'] }));
    expect(err.code).toBe('ERR_METRIC_DUPLICATE');
    expect(err.message).toContain('already registered as a counter with labels [kind]');
    expect(refused(() => r.histogram({ name: 'jobs_total', help: 'Jobs.' })).code).toBe('ERR_METRIC_DUPLICATE');
  });

  it("refuses a name that one of a histogram's sample names already takes", () => {
    const r = new MetricsRegistry();
    r.histogram({ name: 'latency', help: 'x' });
    const err = refused(() => r.counter({ name: 'latency_count', help: 'x' }));
    expect(err.code).toBe('ERR_METRIC_DUPLICATE');
    expect(err.message).toContain('which metric latency already writes');
  });

  it('refuses wrong labels and values when counting', () => {
    const r = new MetricsRegistry();
    const c = r.counter({ name: 'x_total', help: 'x', labelNames: ['a'] });
    expect(refused(() => c.inc()).code).toBe('ERR_METRIC_LABELS');
    expect(refused(() => c.inc({ b: 1 })).message).toBe('Metric x_total takes labels [a], got {b}');
    expect(refused(() => c.inc({ a: 1, b: 2 })).code).toBe('ERR_METRIC_LABELS');
    expect(refused(() => c.inc({ a: 1 }, -1)).code).toBe('ERR_METRIC_VALUE');
    expect(refused(() => c.inc({ a: 1 }, Number.NaN)).code).toBe('ERR_METRIC_VALUE');
    const h = r.histogram({ name: 'y', help: 'y' });
    expect(refused(() => h.observe(Number.POSITIVE_INFINITY)).code).toBe('ERR_METRIC_VALUE');
    c.inc({ a: 'p' }, 2);
    c.labels({ a: 'p' }).inc();
    expect(r.snapshot()[0]!.series).toEqual([{ labels: ['p'], value: 3 }]);
  });

  it(`keeps at most ${MAX_SERIES_PER_METRIC} label combinations per metric and counts the rest as dropped`, () => {
    const r = new MetricsRegistry();
    const c = r.counter({ name: 'ids_total', help: 'x', labelNames: ['id'] });
    for (let i = 0; i < MAX_SERIES_PER_METRIC + 5; i++) c.inc({ id: i });
    expect(r.snapshot()[0]!.series).toHaveLength(MAX_SERIES_PER_METRIC);
    expect(r.dropped).toBe(5);
  });

  it('the shared registry is one per process, whichever copy of the module asks', () => {
    expect((globalThis as Record<symbol, unknown>)[Symbol.for('thrifthost.metrics')]).toBe(metrics);
  });
});

describe('summing workers', () => {
  it('adds counters and merges histogram buckets of two workers per service, for /metrics', () => {
    const worker = (n: number) => {
      const r = new MetricsRegistry();
      r.counter({ name: 'jobs_total', help: 'Jobs.', labelNames: ['kind'] }).inc({ kind: 'a' }, n);
      const h = r.histogram({ name: 'job_seconds', help: 'Job time.', buckets: [0.1, 1] });
      for (let i = 0; i < n; i++) h.observe(i * 0.5);
      return r.snapshot();
    };
    const totals = new CustomTotals().add('Jobs', worker(2)).add('Jobs', worker(3)).add('Other', worker(1));
    const text = renderMetrics({
      server: {},
      services: [],
      workers: [],
      master: { pid: 1, startedAt: 0, rssBytes: 1 },
      custom: totals,
    });
    const m = new Metrics(parsePrometheusTextFormat(text), text);
    expect(m.value('jobs_total', { service: 'Jobs', kind: 'a' })).toBe(5);
    expect(m.value('jobs_total', { service: 'Other', kind: 'a' })).toBe(1);
    // Observations 0, 0.5 (worker 1) and 0, 0.5, 1 (worker 2).
    const h = m.histogram('job_seconds', { service: 'Jobs' });
    expect(h).toEqual({ buckets: { '0.1': 2, '1': 5, '+Inf': 5 }, count: 5, sum: 2 });
  });

  it('leaves out a worker whose definition of a metric differs, and names the metric', () => {
    const a = new MetricsRegistry();
    a.counter({ name: 'jobs_total', help: 'Jobs.', labelNames: ['kind'] }).inc({ kind: 'a' });
    const b = new MetricsRegistry();
    b.counter({ name: 'jobs_total', help: 'Jobs.', labelNames: ['queue'] }).inc({ queue: 'q' });
    const totals = new CustomTotals().add('Jobs', a.snapshot()).add('Jobs', b.snapshot());
    expect([...totals.families.get('jobs_total')!.series.values()].map((s) => s.labels)).toEqual([['a']]);
    expect([...totals.conflicts]).toEqual(['jobs_total']);
  });

  it('tells the statistics server once about a metric whose definition differs between workers', async () => {
    const a = new MetricsRegistry();
    a.counter({ name: 'jobs_total', help: 'Jobs.', labelNames: ['kind'] }).inc({ kind: 'a' });
    const b = new MetricsRegistry();
    b.counter({ name: 'jobs_total', help: 'Jobs.', labelNames: ['queue'] }).inc({ queue: 'q' });
    const worker = (pid: number, custom: ReturnType<MetricsRegistry['snapshot']>) => ({
      pid,
      service: 'Jobs',
      state: 'listening',
      generation: 1,
      restarts: 0,
      startedAt: 1,
      connections: 0,
      requests: 0,
      errors: 0,
      rssBytes: 1,
      methods: {},
      custom,
    });
    const told: string[] = [];
    const collector = new StatsCollector(
      {
        collect: async () => ({
          master: { pid: 1, startedAt: 0, rssBytes: 1 },
          workers: [worker(10, a.snapshot()), worker(11, b.snapshot())],
        }),
      },
      { onCustomConflict: (name) => told.push(name) },
    );
    await collector.refresh();
    const { metrics: input } = await collector.refresh();
    expect(told).toEqual(['jobs_total']);
    expect(renderMetrics(input)).toContain('jobs_total{service="Jobs",kind="a"} 1\n');
  });
});
