/**
 * The master's sums of the handlers' own metrics (see `custom-metrics.ts`): counters added up
 * and histogram buckets merged over every worker of a service, each series labelled with the
 * service entry's name. A metric whose definition differs between workers (a reload changed its
 * labels or buckets) keeps the first definition seen; the other workers' figures of it are left
 * out and the name is listed in {@link CustomTotals.conflicts}.
 */
import type { CustomMetricSnapshot } from './custom-metrics.js';

/** One custom metric summed over workers. */
export interface CustomFamily {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  /** The metric's own label names (the `service` label comes first on exposition). */
  labelNames: string[];
  buckets?: number[];
  /** Keyed by service and label values. */
  series: Map<string, CustomSeries>;
}

/** One label combination of one service, summed. */
export interface CustomSeries {
  service: string;
  labels: string[];
  /** Counters. */
  value: number;
  /** Histograms: per bucket, not cumulative, the last one over every bound. */
  counts: number[];
  sum: number;
}

/** Custom metrics by name, plus the names whose definitions disagreed. */
export class CustomTotals {
  readonly families = new Map<string, CustomFamily>();
  readonly conflicts = new Set<string>();

  /** Adds one worker's figures (of service entry `service`). */
  add(service: string, metrics: readonly CustomMetricSnapshot[] | undefined): this {
    if (!metrics) return this;
    for (const m of metrics) {
      let f = this.families.get(m.name);
      if (!f) {
        f = {
          name: m.name,
          help: m.help,
          type: m.type,
          labelNames: [...m.labelNames],
          ...(m.buckets ? { buckets: [...m.buckets] } : {}),
          series: new Map(),
        };
        this.families.set(m.name, f);
      } else if (!compatible(f, m)) {
        this.conflicts.add(m.name);
        continue;
      }
      for (const s of m.series) {
        const key = `${service}\u0000${s.labels.join('\u0000')}`;
        let into = f.series.get(key);
        if (!into) {
          into = { service, labels: [...s.labels], value: 0, counts: new Array((f.buckets?.length ?? 0) + 1).fill(0), sum: 0 };
          f.series.set(key, into);
        }
        into.value += s.value ?? 0;
        into.sum += s.sum ?? 0;
        if (s.counts) for (let i = 0; i < into.counts.length; i++) into.counts[i]! += s.counts[i] ?? 0;
      }
    }
    return this;
  }

  /** Adds every family of `other`. */
  addAll(other: CustomTotals): this {
    for (const f of other.families.values()) {
      const series = [...f.series.values()];
      const services = new Set(series.map((s) => s.service));
      for (const service of services) {
        this.add(service, [
          {
            name: f.name,
            help: f.help,
            type: f.type,
            labelNames: f.labelNames,
            ...(f.buckets ? { buckets: f.buckets } : {}),
            series: series
              .filter((s) => s.service === service)
              .map((s) => ({ labels: s.labels, value: s.value, counts: s.counts, sum: s.sum })),
          },
        ]);
      }
      if (!this.families.has(f.name)) this.families.set(f.name, { ...f, series: new Map() });
    }
    for (const c of other.conflicts) this.conflicts.add(c);
    return this;
  }
}

// --- internal ---

function compatible(f: CustomFamily, m: CustomMetricSnapshot): boolean {
  const same = (a: readonly unknown[], b: readonly unknown[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  return f.type === m.type && same(f.labelNames, m.labelNames) && same(f.buckets ?? [], m.buckets ?? []);
}
