/**
 * Figures about the worker process itself, for `/metrics`: event-loop delay (p99), heap used,
 * total GC pause time and RSS. Sampled by Node's own instruments (`monitorEventLoopDelay`, a
 * `PerformanceObserver` on `gc` entries), so nothing runs on the call path.
 */
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

/** What a worker reports about its process (see {@link WorkerStats.process}). */
export interface ProcessFigures {
  /**
   * p99 of the event-loop delay beyond the sampling timer's own period, in milliseconds, over the
   * last completed window of {@link EVENT_LOOP_WINDOW_MS} (the window so far during the first one).
   */
  eventLoopDelayP99Ms: number;
  heapUsedBytes: number;
  /** Sum of every GC pause since the worker started, in milliseconds. */
  gcPauseMs: number;
  rssBytes: number;
}

/** Period of the event-loop delay sampling timer. */
export const EVENT_LOOP_RESOLUTION_MS = 10;
/** Length of the window the reported p99 covers. */
export const EVENT_LOOP_WINDOW_MS = 10_000;

/** Watches this process from {@link start} until {@link stop}. */
export class ProcessMonitor {
  private readonly delay = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  private readonly gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) this.gcPauseMs += entry.duration;
  });
  private gcPauseMs = 0;
  private lastWindowP99Ns: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  /** Starts sampling. Idempotent. */
  start(): this {
    if (this.timer) return this;
    this.delay.enable();
    this.gc.observe({ entryTypes: ['gc'] });
    this.timer = setInterval(() => {
      if (this.delay.count > 0) this.lastWindowP99Ns = this.delay.percentile(99);
      this.delay.reset();
    }, EVENT_LOOP_WINDOW_MS);
    this.timer.unref();
    return this;
  }

  /** Stops sampling. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.delay.disable();
    this.gc.disconnect();
  }

  /** The current figures. */
  snapshot(): ProcessFigures {
    const p99Ns = this.lastWindowP99Ns ?? (this.delay.count > 0 ? this.delay.percentile(99) : 0);
    const memory = process.memoryUsage();
    return {
      // The histogram records whole timer periods; the delay is what exceeds the period.
      eventLoopDelayP99Ms: Math.max(0, p99Ns / 1e6 - EVENT_LOOP_RESOLUTION_MS),
      heapUsedBytes: memory.heapUsed,
      gcPauseMs: this.gcPauseMs,
      rssBytes: memory.rss,
    };
  }
}
