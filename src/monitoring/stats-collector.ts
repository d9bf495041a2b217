/**
 * Turns snapshots of the host into what the statistics endpoints serve: asks the
 * {@link StatsSource} for a snapshot, folds it into the totals and the history, and builds the
 * `/api/stats` view and the `/metrics` input from the result. Concurrent requests share one
 * snapshot; a timer keeps sampling between requests so the history has no holes.
 */
import type { MethodStats } from '../host/ipc.js';
import type { MetricsInput } from './prometheus.js';
import { quantileMs } from './stats.js';
import {
  completed,
  type FailureLine,
  type MasterSnapshot,
  ServerTotals,
  type ServiceFigures,
  type StatsSource,
  serviceFigures,
  splitKey,
  type WorkerSnapshot,
} from './stats-aggregate.js';
import { type HistoryPoint, type HistorySide, StatsHistory } from './stats-history.js';
import type { ClientCallCount, ClientFailoverFigures, ClientStats, UdpCounts } from './stats-udp.js';

/** One row of a per-method table. */
export interface MethodRow {
  /** `Service.method`. */
  key: string;
  service: string;
  method: string;
  /** Calls finished. */
  calls: number;
  successes: number;
  /** Failures by kind. */
  failures: Record<string, number>;
  /** successes / calls; null without calls. */
  successRate: number | null;
  inFlight: number;
  /** Between the last two samples. */
  callsPerSec: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  /** p99 of the time calls waited for admission in the workers (server side); null without data. */
  queueP99Ms: number | null;
}

/** A worker row of the dashboard (the snapshot without its per-method figures). */
export type WorkerRow = Omit<WorkerSnapshot, 'methods' | 'recentFailures' | 'custom'>;

/** What `/api/stats` answers. */
export interface StatsView {
  /** When the snapshot was taken, epoch ms. */
  at: number;
  master: MasterSnapshot;
  services: ServiceFigures[];
  workers: WorkerRow[];
  methods: MethodRow[];
  /**
   * Caller-side figures from UDP reports; null when no UDP receiver is configured. `attempts`:
   * every attempt by address and outcome; `failover`: per `Service.method`, retries, retry-budget
   * refusals and backup requests.
   */
  client: {
    methods: MethodRow[];
    calls: ClientCallCount[];
    attempts: ClientCallCount[];
    failover: Record<string, ClientFailoverFigures>;
    udp: UdpCounts;
  } | null;
  /** Per-minute points, keyed `Service.method`, plus `*` for all methods together. */
  history: Record<HistorySide, Record<string, HistoryPoint[]>>;
  /** Latest failures of both sides, newest first. */
  failures: FailureLine[];
}

/** Options of {@link StatsCollector}. */
export interface StatsCollectorOptions {
  /** Caller-side figures; none when no UDP receiver runs. */
  client?: ClientStats;
  /** Clock for the history (tests move it forward). @default Date.now */
  now?: () => number;
  /** @default 60 */
  historyMinutes?: number;
  /** Told once per handler metric whose definition differs between workers (see `custom-metrics-totals.ts`). */
  onCustomConflict?: (name: string) => void;
}

/** Snapshots in, views out. */
export class StatsCollector {
  private readonly totals = new ServerTotals();
  private readonly history: StatsHistory;
  private readonly now: () => number;
  private readonly conflictsTold = new Set<string>();
  private running: Promise<{ view: () => StatsView; metrics: MetricsInput }> | undefined;

  constructor(
    private readonly source: StatsSource,
    private readonly options: StatsCollectorOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.history = new StatsHistory({ minutes: options.historyMinutes ?? 60 });
  }

  /** Takes a fresh snapshot (or joins the one being taken) and returns both outputs. */
  refresh(): Promise<{ view: () => StatsView; metrics: MetricsInput }> {
    this.running ??= this.take().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  // --- internal ---

  private async take(): Promise<{ view: () => StatsView; metrics: MetricsInput }> {
    const snapshot = await this.source.collect();
    const at = this.now();
    const server = this.totals.update(snapshot, at);
    for (const name of this.totals.custom().conflicts) {
      if (this.conflictsTold.has(name)) continue;
      this.conflictsTold.add(name);
      this.options.onCustomConflict?.(name);
    }
    this.history.record('server', server, at);
    const client = this.options.client;
    const clientMethods = client?.byMethod();
    if (clientMethods) this.history.record('client', clientMethods, at);
    const services = serviceFigures(snapshot);
    const failures = [...this.totals.recentFailures(), ...(client?.recentFailures() ?? [])]
      .sort((a, b) => b.at - a.at)
      .slice(0, MAX_FAILURE_LINES);
    // Built only when asked for: /metrics, the most frequent request, does not need it.
    let built: StatsView | undefined;
    const view = (): StatsView => (built ??= {
      at,
      master: snapshot.master,
      services,
      workers: snapshot.workers.map(({ methods: _m, recentFailures: _f, custom: _c, ...row }) => row),
      methods: this.rows('server', server),
      client:
        client && clientMethods
          ? {
              methods: this.rows('client', clientMethods),
              calls: client.callCounts(),
              attempts: client.attemptCounts(),
              failover: client.failoverByMethod(),
              udp: { ...client.udp },
            }
          : null,
      history: { server: this.history.series('server', at), client: this.history.series('client', at) },
      failures,
    });
    const metrics: MetricsInput = {
      server,
      services,
      workers: snapshot.workers,
      master: snapshot.master,
      custom: this.totals.custom(),
      ...(client && clientMethods
        ? {
            client: {
              counts: client.callCounts(),
              attempts: client.attemptCounts(),
              failover: client.failoverByMethod(),
              byMethod: clientMethods,
              udp: { ...client.udp },
            },
          }
        : {}),
    };
    return { view, metrics };
  }

  private rows(side: HistorySide, totals: Record<string, MethodStats>): MethodRow[] {
    return Object.entries(totals)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, m]) => {
        const calls = completed(m);
        return {
          key,
          ...splitKey(key),
          calls,
          successes: m.successes,
          failures: m.failures,
          successRate: calls === 0 ? null : m.successes / calls,
          inFlight: m.inFlight,
          callsPerSec: round(this.history.rate(side, key)),
          meanMs: calls === 0 ? 0 : round(m.totalMs / calls),
          p50Ms: round(quantileMs(m.buckets, 0.5)),
          p99Ms: round(quantileMs(m.buckets, 0.99)),
          queueP99Ms: m.queueBuckets ? round(quantileMs(m.queueBuckets, 0.99)) : null,
        };
      });
  }
}

// --- internal ---

const MAX_FAILURE_LINES = 50;

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
