/**
 * Handlers' own metrics: counters and histograms a handler registers in its worker, which the
 * master sums over every worker of the service and serves on `/metrics` with a `service` label.
 * The worker keeps plain numbers per label combination; the figures travel to the master in the
 * same IPC snapshot as the call statistics (see `custom-metrics-totals.ts` for the master side).
 * Over 400 lines: the public API (counter, histogram, registry) with its validation and JSDoc,
 * which the package exports as `thrifthost/metrics` and is read as one page.
 *
 * @example
 * const { metrics } = require('thrifthost/metrics');
 * const hits = metrics.counter({ name: 'cache_hits_total', help: 'Cache hits.', labelNames: ['cache'] });
 * const lookup = metrics.histogram({ name: 'db_lookup_seconds', help: 'Lookup time.', buckets: [0.001, 0.01, 0.1] });
 * hits.inc({ cache: 'users' });
 * lookup.observe(0.004);
 */
import { ThriftHostError } from '../common/errors.js';

/** Label values of one observation, by label name. */
export type LabelValues = Readonly<Record<string, string | number>>;

/** Options of {@link MetricsRegistry.counter}. */
export interface CounterOptions {
  /** Prometheus metric name: `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `thrift_` or `process_`. */
  name: string;
  /** One line saying what is counted. */
  help: string;
  /** Label names (`service` is added by the host and cannot be used). @default [] */
  labelNames?: readonly string[];
}

/** Options of {@link MetricsRegistry.histogram}. */
export interface HistogramOptions extends CounterOptions {
  /** Upper bounds of the buckets, increasing (`+Inf` is added). @default DEFAULT_HISTOGRAM_BUCKETS */
  buckets?: readonly number[];
}

/** Default histogram buckets, in seconds (those of the Prometheus client libraries). */
export const DEFAULT_HISTOGRAM_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Most label combinations kept per metric; observations of further ones are dropped and counted. */
export const MAX_SERIES_PER_METRIC = 10_000;

/** Name prefixes that belong to thrifthost's own metrics. */
export const RESERVED_METRIC_PREFIXES = ['thrift_', 'process_'] as const;

/**
 * A metric definition was refused or a metric was used wrongly. Codes: `ERR_METRIC_NAME` (not a
 * valid Prometheus name, or a reserved one), `ERR_METRIC_DUPLICATE` (the name is taken by a
 * different definition), `ERR_METRIC_LABELS` (labels do not match `labelNames`),
 * `ERR_METRIC_VALUE` (not a finite number, or a negative counter increment), `ERR_METRIC_BUCKETS`.
 */
export class MetricsError extends ThriftHostError {}

/** A counter: only goes up. */
export class Counter {
  /** @internal */
  readonly series = new Map<string, CounterSeries>();
  private unlabelled: CounterSeries | undefined;

  /** @internal */
  constructor(
    readonly definition: MetricDefinition,
    private readonly registry: MetricsRegistry,
  ) {}

  /**
   * Adds `n` (default 1) to the series of `labels`; without labels, `inc(n)`.
   * @throws MetricsError `ERR_METRIC_LABELS`, `ERR_METRIC_VALUE`
   */
  inc(labels?: LabelValues | number, n = 1): void {
    if (typeof labels === 'number') {
      n = labels;
      labels = undefined;
    }
    if (!(n >= 0) || n === Number.POSITIVE_INFINITY) throw badValue(this.definition.name, 'inc', n);
    const series = this.seriesOf(labels);
    if (series) series.value += n;
  }

  /** The series of `labels`, bound: `bound.inc(n)` skips the label lookup on hot paths. */
  labels(labels: LabelValues): { inc(n?: number): void } {
    const series = this.seriesOf(labels);
    const name = this.definition.name;
    return {
      inc(n = 1) {
        if (!(n >= 0) || n === Number.POSITIVE_INFINITY) throw badValue(name, 'inc', n);
        if (series) series.value += n;
      },
    };
  }

  private seriesOf(labels: LabelValues | undefined): CounterSeries | undefined {
    if (labels === undefined && this.unlabelled) return this.unlabelled;
    const key = seriesKey(this.definition, labels);
    let s = this.series.get(key);
    if (!s) {
      if (this.registry.full(this.series.size)) return undefined;
      s = { labels: labelList(this.definition, labels), value: 0 };
      this.series.set(key, s);
      if (key === '' && this.definition.labelNames.length === 0) this.unlabelled = s;
    }
    return s;
  }
}

/** A histogram: counts observations per bucket, and their sum. */
export class Histogram {
  /** @internal */
  readonly series = new Map<string, HistogramSeries>();
  private unlabelled: HistogramSeries | undefined;
  private readonly bounds: readonly number[];

  /** @internal */
  constructor(
    readonly definition: MetricDefinition,
    private readonly registry: MetricsRegistry,
  ) {
    this.bounds = definition.buckets ?? DEFAULT_HISTOGRAM_BUCKETS;
  }

  /**
   * Records `value` in the series of `labels`; without labels, `observe(value)`.
   * @throws MetricsError `ERR_METRIC_LABELS`, `ERR_METRIC_VALUE`
   */
  observe(labels: LabelValues | number, value?: number): void {
    const given = typeof labels === 'number' ? undefined : labels;
    if (typeof labels === 'number') value = labels;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw badValue(this.definition.name, 'observe', value);
    }
    this.record(this.seriesOf(given), value);
  }

  /** The series of `labels`, bound: `bound.observe(v)` skips the label lookup on hot paths. */
  labels(labels: LabelValues): { observe(value: number): void } {
    const series = this.seriesOf(labels);
    return { observe: (value: number) => this.record(series, value) };
  }

  private record(series: HistogramSeries | undefined, value: number | undefined): void {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw badValue(this.definition.name, 'observe', value);
    }
    if (!series) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    series.counts[i]!++;
    series.sum += value;
  }

  private seriesOf(labels: LabelValues | undefined): HistogramSeries | undefined {
    if (labels === undefined && this.unlabelled) return this.unlabelled;
    const key = seriesKey(this.definition, labels);
    let s = this.series.get(key);
    if (!s) {
      if (this.registry.full(this.series.size)) return undefined;
      s = { labels: labelList(this.definition, labels), counts: new Array(this.bounds.length + 1).fill(0), sum: 0 };
      this.series.set(key, s);
      if (key === '' && this.definition.labelNames.length === 0) this.unlabelled = s;
    }
    return s;
  }
}

/** The metrics registered in one process. Use the shared {@link metrics}. */
export class MetricsRegistry {
  private readonly byName = new Map<string, Counter | Histogram>();
  /** Exposition sample names in use (a histogram takes `_bucket`, `_sum`, `_count` too). */
  private readonly sampleNames = new Map<string, string>();
  /** Observations dropped at {@link MAX_SERIES_PER_METRIC}. */
  dropped = 0;

  /**
   * Registers a counter, or returns the one already registered with the same definition.
   * @throws MetricsError `ERR_METRIC_NAME`, `ERR_METRIC_DUPLICATE`, `ERR_METRIC_LABELS`
   */
  counter(options: CounterOptions): Counter {
    return this.register('counter', options) as Counter;
  }

  /**
   * Registers a histogram, or returns the one already registered with the same definition.
   * @throws MetricsError `ERR_METRIC_NAME`, `ERR_METRIC_DUPLICATE`, `ERR_METRIC_LABELS`,
   *   `ERR_METRIC_BUCKETS`
   */
  histogram(options: HistogramOptions): Histogram {
    return this.register('histogram', options) as Histogram;
  }

  /** Copies every series out, for the master. */
  snapshot(): CustomMetricSnapshot[] {
    const out: CustomMetricSnapshot[] = [];
    for (const m of this.byName.values()) {
      const d = m.definition;
      const series: CustomSeriesSnapshot[] = [];
      if (m instanceof Counter) {
        for (const s of m.series.values()) series.push({ labels: s.labels, value: s.value });
      } else {
        for (const s of m.series.values()) series.push({ labels: s.labels, counts: [...s.counts], sum: s.sum });
      }
      out.push({
        name: d.name,
        help: d.help,
        type: d.type,
        labelNames: [...d.labelNames],
        ...(d.buckets ? { buckets: [...d.buckets] } : {}),
        series,
      });
    }
    return out;
  }

  /** @internal */
  full(size: number): boolean {
    if (size < MAX_SERIES_PER_METRIC) return false;
    this.dropped++;
    return true;
  }

  // --- internal ---

  private register(type: 'counter' | 'histogram', options: HistogramOptions): Counter | Histogram {
    const definition = validateDefinition(type, options);
    const existing = this.byName.get(definition.name);
    if (existing) {
      if (sameDefinition(existing.definition, definition)) return existing;
      throw new MetricsError(
        'ERR_METRIC_DUPLICATE',
        `Metric ${definition.name} is already registered as a ${existing.definition.type} with labels ` +
          `[${existing.definition.labelNames.join(', ')}]${existing.definition.buckets ? ` and buckets [${existing.definition.buckets.join(', ')}]` : ''}; ` +
          'register it once (or with the same definition) and share it',
      );
    }
    const names =
      type === 'histogram'
        ? [definition.name, `${definition.name}_bucket`, `${definition.name}_sum`, `${definition.name}_count`]
        : [definition.name];
    for (const n of names) {
      const owner = this.sampleNames.get(n);
      if (owner) {
        throw new MetricsError(
          'ERR_METRIC_DUPLICATE',
          `Metric ${definition.name} would write samples named ${n}, which metric ${owner} already writes; choose another name`,
        );
      }
    }
    for (const n of names) this.sampleNames.set(n, definition.name);
    const metric = type === 'counter' ? new Counter(definition, this) : new Histogram(definition, this);
    this.byName.set(definition.name, metric);
    return metric;
  }
}

/** The definition of a custom metric, as validated. */
export interface MetricDefinition {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  labelNames: readonly string[];
  /** Histograms only. */
  buckets?: readonly number[];
}

/** One label combination of a custom metric in a snapshot. */
export interface CustomSeriesSnapshot {
  /** Values in the order of `labelNames`. */
  labels: string[];
  /** Counters. */
  value?: number;
  /** Histograms: observations per bucket (not cumulative), the last one over every bound. */
  counts?: number[];
  sum?: number;
}

/** A custom metric as a worker reports it to the master. */
export interface CustomMetricSnapshot {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  labelNames: string[];
  buckets?: number[];
  series: CustomSeriesSnapshot[];
}

/**
 * The registry of this process, shared by every copy of thrifthost loaded in it (kept on
 * `globalThis`, so a handler that requires its own copy of the package still reaches the one
 * the worker reports).
 */
export const metrics: MetricsRegistry = ((globalThis as Record<symbol, unknown>)[
  Symbol.for('thrifthost.metrics')
] ??= new MetricsRegistry()) as MetricsRegistry;

/**
 * Checks a definition: the name and label names follow Prometheus naming, the name is not
 * thrifthost's, labels are distinct and not `service` (or `le` on a histogram), buckets increase.
 * @throws MetricsError
 */
export function validateDefinition(type: 'counter' | 'histogram', options: HistogramOptions): MetricDefinition {
  const { name, help } = options ?? ({} as HistogramOptions);
  if (typeof name !== 'string' || !METRIC_NAME.test(name)) {
    throw new MetricsError(
      'ERR_METRIC_NAME',
      `Metric name ${JSON.stringify(name)} is not a valid Prometheus name: use letters, digits and underscores, not starting with a digit (e.g. cache_hits_total)`,
    );
  }
  const reserved = RESERVED_METRIC_PREFIXES.find((p) => name.startsWith(p));
  if (reserved) {
    throw new MetricsError(
      'ERR_METRIC_NAME',
      `Metric name ${name} starts with ${reserved}, which is reserved for thrifthost's built-in metrics; choose another prefix (e.g. your service name)`,
    );
  }
  if (typeof help !== 'string' || help.trim() === '') {
    throw new MetricsError('ERR_METRIC_NAME', `Metric ${name} needs a "help" text saying what it measures`);
  }
  const labelNames = options.labelNames ?? [];
  if (!Array.isArray(labelNames)) {
    throw new MetricsError('ERR_METRIC_LABELS', `labelNames of metric ${name} must be an array of strings`);
  }
  const seen = new Set<string>();
  for (const l of labelNames) {
    if (typeof l !== 'string' || !LABEL_NAME.test(l) || l.startsWith('__')) {
      throw new MetricsError(
        'ERR_METRIC_LABELS',
        `Label name ${JSON.stringify(l)} of metric ${name} is not valid: letters, digits and underscores, not starting with a digit or "__"`,
      );
    }
    if (l === 'service' || (type === 'histogram' && l === 'le')) {
      throw new MetricsError(
        'ERR_METRIC_LABELS',
        `Label name ${l} of metric ${name} is reserved (${l === 'service' ? 'the host adds the service label' : 'le holds histogram bucket bounds'})`,
      );
    }
    if (seen.has(l)) throw new MetricsError('ERR_METRIC_LABELS', `Label name ${l} appears twice in metric ${name}`);
    seen.add(l);
  }
  const definition: MetricDefinition = { name, help, type, labelNames: [...labelNames] };
  if (type === 'histogram') {
    const buckets = options.buckets ?? DEFAULT_HISTOGRAM_BUCKETS;
    const ok =
      Array.isArray(buckets) &&
      buckets.length > 0 &&
      buckets.every((b, i) => typeof b === 'number' && Number.isFinite(b) && (i === 0 || b > buckets[i - 1]!));
    if (!ok) {
      throw new MetricsError(
        'ERR_METRIC_BUCKETS',
        `buckets of histogram ${name} must be a non-empty list of finite numbers in increasing order (+Inf is added)`,
      );
    }
    definition.buckets = [...buckets];
  }
  return definition;
}

/** True when two definitions would expose the same metric the same way. */
export function sameDefinition(a: MetricDefinition, b: MetricDefinition): boolean {
  return (
    a.type === b.type &&
    a.help === b.help &&
    sameList(a.labelNames, b.labelNames) &&
    sameList(a.buckets ?? [], b.buckets ?? [])
  );
}

// --- internal ---

const METRIC_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface CounterSeries {
  labels: string[];
  value: number;
}

interface HistogramSeries {
  labels: string[];
  counts: number[];
  sum: number;
}

/** The map key of a label combination; checks that `labels` has exactly the declared names. */
function seriesKey(d: MetricDefinition, labels: LabelValues | undefined): string {
  const names = d.labelNames;
  if (names.length === 0) {
    if (labels !== undefined && Object.keys(labels).length > 0) throw badLabels(d, labels);
    return '';
  }
  if (labels === undefined || labels === null) throw badLabels(d, labels);
  // Counted without Object.keys: no allocation on the call path.
  let given = 0;
  for (const k in labels) if (k !== undefined) given++;
  if (given !== names.length) throw badLabels(d, labels);
  let key = '';
  for (let i = 0; i < names.length; i++) {
    const v = labels[names[i]!];
    if (v === undefined) throw badLabels(d, labels);
    key += i === 0 ? String(v) : `\u0000${v}`;
  }
  return key;
}

function labelList(d: MetricDefinition, labels: LabelValues | undefined): string[] {
  return d.labelNames.map((n) => String(labels?.[n]));
}

function badLabels(d: MetricDefinition, labels: unknown): MetricsError {
  return new MetricsError(
    'ERR_METRIC_LABELS',
    `Metric ${d.name} takes labels [${d.labelNames.join(', ')}], got ${labels === undefined ? 'none' : `{${Object.keys(labels as object).join(', ')}}`}`,
  );
}

function badValue(name: string, op: string, value: unknown): MetricsError {
  return new MetricsError(
    'ERR_METRIC_VALUE',
    `${name}.${op}(${String(value)}): ${op === 'inc' ? 'a counter only goes up by a finite number ≥ 0' : 'the value must be a finite number'}`,
  );
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
