/**
 * The master's view of the workers' figures: what a snapshot of the host looks like
 * ({@link HostSnapshot}, the shape of the supervisor's `status()`), and totals that keep
 * counting across worker restarts ({@link ServerTotals}).
 *
 * A worker's counters start at zero when it is forked. Summing only the live workers would
 * make `thrift_server_requests_total` drop at every respawn or reload, which Prometheus reads
 * as a counter reset and turns into a spike. So the master remembers the last figures of every
 * worker process it has seen and keeps them in the total after the process is gone.
 */
import type { CustomMetricSnapshot } from './custom-metrics.js';
import { CustomTotals } from './custom-metrics-totals.js';
import type { FailureRecord, MethodStats } from '../host/ipc.js';
import type { ProcessFigures } from './process-figures.js';
import { mergeMethodStats } from './stats.js';

/** The master process, as the supervisor reports it. */
export interface MasterSnapshot {
  pid: number;
  startedAt: number;
  rssBytes: number;
  generation?: number;
  version?: string;
}

/**
 * One worker, as the supervisor reports it: its life-cycle state plus the figures it sent back
 * (null or absent when it did not answer in time).
 */
export interface WorkerSnapshot {
  pid: number;
  service: string;
  listen?: string;
  state: string;
  generation: number;
  restarts: number;
  startedAt: number;
  /** Position in its service's group; lets restarts be counted once per slot during a reload. */
  slot?: number;
  connections: number | null;
  requests: number | null;
  errors: number | null;
  rssBytes: number | null;
  methods: Record<string, MethodStats>;
  recentFailures?: FailureRecord[];
  /** Event-loop delay, heap and GC of the process (absent when it did not answer). */
  process?: ProcessFigures;
  /** The handlers' own metrics. */
  custom?: CustomMetricSnapshot[];
}

/** Everything the statistics server reads from the master, at one moment. */
export interface HostSnapshot {
  master: MasterSnapshot;
  workers: WorkerSnapshot[];
}

/** Where the statistics server gets its figures; the supervisor's `status()` fits. */
export interface StatsSource {
  collect(): Promise<HostSnapshot>;
}

/** A failure line for the dashboard, from a worker or from a client report. */
export interface FailureLine {
  at: number;
  /** `server` (a worker answered with a failure) or `client` (a caller reported one). */
  side: 'server' | 'client';
  /** Worker pid, or the address the client called. */
  where: string;
  method: string;
  kind: string;
  message: string;
}

/** Per-service figures derived from one snapshot. */
export interface ServiceFigures {
  service: string;
  workers: Record<string, number>;
  connections: number;
  restarts: number;
}

/**
 * Totals per `Service.method` over every worker process the master has seen, and a merged log
 * of the latest failures.
 */
export class ServerTotals {
  /** Last figures of every worker process seen, keyed `pid:startedAt` (pids are reused). */
  private readonly lastSeen = new Map<
    string,
    {
      methods: Record<string, MethodStats>;
      service: string;
      custom: CustomMetricSnapshot[] | undefined;
      absentSince: number;
    }
  >();
  /** Figures of processes forgotten after {@link FORGET_AFTER_MS}. */
  private retired: Record<string, MethodStats> = {};
  private readonly retiredCustom = new CustomTotals();
  private customTotals = new CustomTotals();
  private readonly failureSeq = new Map<string, number>();
  private readonly failures: FailureLine[] = [];

  constructor(private readonly maxFailures = 50) {}

  /**
   * Takes a new snapshot in; returns the totals per method. `inFlight` is the live workers'
   * current figure, everything else counts since the master started.
   */
  update(snapshot: HostSnapshot, now: number): Record<string, MethodStats> {
    const present = new Set<string>();
    for (const w of snapshot.workers) {
      const id = `${w.pid}:${w.startedAt}`;
      present.add(id);
      // A worker that did not answer keeps its last figures.
      if (w.requests !== null) {
        this.lastSeen.set(id, { methods: w.methods, service: w.service, custom: w.custom, absentSince: 0 });
      }
      this.takeFailures(id, w);
    }
    for (const [id, seen] of this.lastSeen) {
      if (present.has(id)) continue;
      if (seen.absentSince === 0) seen.absentSince = now;
      else if (now - seen.absentSince > FORGET_AFTER_MS) {
        this.retired = addAll(this.retired, seen.methods, false);
        this.retiredCustom.add(seen.service, seen.custom);
        this.lastSeen.delete(id);
        this.failureSeq.delete(id);
      }
    }
    let totals: Record<string, MethodStats> = {};
    for (const key of Object.keys(this.retired)) totals[key] = { ...this.retired[key]!, inFlight: 0 };
    for (const [id, seen] of this.lastSeen) totals = addAll(totals, seen.methods, present.has(id));
    const custom = new CustomTotals().addAll(this.retiredCustom);
    for (const seen of this.lastSeen.values()) custom.add(seen.service, seen.custom);
    this.customTotals = custom;
    return totals;
  }

  /**
   * The handlers' own metrics summed per service over every worker process seen, as of the last
   * {@link update}; like the call counts, they keep counting across restarts.
   */
  custom(): CustomTotals {
    return this.customTotals;
  }

  /** The latest failures of every worker, newest last. */
  recentFailures(): FailureLine[] {
    return [...this.failures];
  }

  // --- internal ---

  private takeFailures(id: string, w: WorkerSnapshot): void {
    if (!w.recentFailures) return;
    const last = this.failureSeq.get(id) ?? -1;
    let next = last;
    for (const f of w.recentFailures) {
      if (f.seq <= last) continue;
      next = Math.max(next, f.seq);
      this.failures.push({
        at: f.at,
        side: 'server',
        where: `${w.service} pid ${w.pid}`,
        method: f.method,
        kind: f.kind,
        message: f.message,
      });
    }
    this.failureSeq.set(id, next);
    if (this.failures.length > this.maxFailures) {
      this.failures.sort((a, b) => a.at - b.at);
      this.failures.splice(0, this.failures.length - this.maxFailures);
    }
  }
}

/** Workers per state, open connections and restarts of every service in a snapshot. */
export function serviceFigures(snapshot: HostSnapshot): ServiceFigures[] {
  const byService = new Map<string, ServiceFigures & { slotRestarts: Map<string, number> }>();
  for (const w of snapshot.workers) {
    let s = byService.get(w.service);
    if (!s) {
      s = { service: w.service, workers: {}, connections: 0, restarts: 0, slotRestarts: new Map() };
      byService.set(w.service, s);
    }
    s.workers[w.state] = (s.workers[w.state] ?? 0) + 1;
    s.connections += w.connections ?? 0;
    if (w.state === 'exited') continue;
    // A slot's restarts travel with the worker filling it: count each slot once. Without slot
    // numbers, leave out draining workers, whose successor carries the same count.
    if (w.slot !== undefined) {
      const slot = String(w.slot);
      s.slotRestarts.set(slot, Math.max(s.slotRestarts.get(slot) ?? 0, w.restarts));
    } else if (w.state !== 'draining') {
      s.slotRestarts.set(`pid ${w.pid}`, w.restarts);
    }
  }
  return [...byService.values()].map(({ slotRestarts, ...s }) => ({
    ...s,
    restarts: [...slotRestarts.values()].reduce((a, b) => a + b, 0),
  }));
}

/** Splits a `Service.method` key. */
export function splitKey(key: string): { service: string; method: string } {
  const dot = key.indexOf('.');
  return dot < 0 ? { service: key, method: '' } : { service: key.slice(0, dot), method: key.slice(dot + 1) };
}

/** Calls that have finished (successes and failures), as counted by the histogram. */
export function completed(m: MethodStats): number {
  let n = m.successes;
  for (const k in m.failures) n += m.failures[k]!;
  return n;
}

// --- internal ---

/** A worker process absent from this many ms of snapshots is folded into the retired totals. */
const FORGET_AFTER_MS = 10 * 60_000;

function addAll(
  into: Record<string, MethodStats>,
  from: Record<string, MethodStats>,
  live: boolean,
): Record<string, MethodStats> {
  for (const [key, m] of Object.entries(from)) {
    const add = live ? m : { ...m, inFlight: 0 };
    const have = into[key];
    into[key] = have
      ? mergeMethodStats(have, add)
      : {
          ...add,
          failures: { ...add.failures },
          buckets: [...add.buckets],
          ...(add.queueBuckets ? { queueBuckets: [...add.queueBuckets] } : {}),
        };
  }
  return into;
}
