/**
 * The master's rolling history: one point per minute for the last hour, per `Service.method`
 * and for all methods together (`*`), on the server side and the client side. It is fed with
 * cumulative totals at every sample and keeps only the differences, so a sample costs a few
 * additions per method and the memory is fixed: minutes x methods x five numbers, plus one open
 * histogram per method.
 */
import { LATENCY_BUCKETS_MS, type MethodStats } from '../host/ipc.js';
import { quantileMs } from './stats.js';
import { completed } from './stats-aggregate.js';

/** One minute of one method. */
export interface HistoryPoint {
  /** Start of the minute, epoch ms. */
  t: number;
  /** Calls finished in that minute. */
  calls: number;
  /** Of which failed (declared exceptions included). */
  failures: number;
  /** Latency quantiles of that minute's calls, ms (0 without calls). */
  p50Ms: number;
  p99Ms: number;
}

/** Key of the series summing every method of a side. */
export const ALL_METHODS = '*';

/** Options of {@link StatsHistory}. */
export interface StatsHistoryOptions {
  /**
   * Minutes kept.
   * @default 60
   */
  minutes?: number;
}

/** Which side of the calls a series describes. */
export type HistorySide = 'server' | 'client';

/** Per-minute points computed from successive cumulative totals. */
export class StatsHistory {
  private readonly minutes: number;
  private readonly sides = new Map<HistorySide, Side>();

  constructor(options: StatsHistoryOptions = {}) {
    this.minutes = options.minutes ?? DEFAULT_MINUTES;
  }

  /**
   * Takes the cumulative totals of one side at time `at` (epoch ms); what changed since the
   * previous call is added to the minute `at` falls in.
   */
  record(side: HistorySide, totals: Record<string, MethodStats>, at: number): void {
    let s = this.sides.get(side);
    if (!s) {
      s = { tracks: new Map(), lastAt: undefined };
      this.sides.set(side, s);
    }
    const minute = Math.floor(at / MINUTE_MS) * MINUTE_MS;
    const all = emptyDelta();
    for (const [key, cur] of Object.entries(totals)) {
      const track = this.track(s, key);
      const d = delta(cur, track.prev);
      track.prev = cur;
      this.add(track, d, minute, at, s.lastAt);
      all.calls += d.calls;
      all.failures += d.failures;
      for (let i = 0; i < all.buckets.length; i++) all.buckets[i]! += d.buckets[i]!;
    }
    this.add(this.track(s, ALL_METHODS), all, minute, at, s.lastAt);
    s.lastAt = at;
  }

  /** The points of every series of a side, oldest first; the last one is the running minute. */
  series(side: HistorySide, now: number): Record<string, HistoryPoint[]> {
    const out: Record<string, HistoryPoint[]> = {};
    const s = this.sides.get(side);
    if (!s) return out;
    const from = Math.floor(now / MINUTE_MS) * MINUTE_MS - (this.minutes - 1) * MINUTE_MS;
    for (const [key, track] of s.tracks) {
      const points = track.points.filter((p) => p.t >= from);
      if (track.open && track.open.t >= from) points.push(close(track.open));
      out[key] = points;
    }
    return out;
  }

  /** Calls per second of a series between the last two samples (0 before the second one). */
  rate(side: HistorySide, key: string): number {
    return this.sides.get(side)?.tracks.get(key)?.rate ?? 0;
  }

  // --- internal ---

  private track(s: Side, key: string): Track {
    let t = s.tracks.get(key);
    if (!t) {
      t = { prev: undefined, open: undefined, points: [], rate: 0 };
      s.tracks.set(key, t);
    }
    return t;
  }

  private add(track: Track, d: Delta, minute: number, at: number, lastAt: number | undefined): void {
    if (track.open && track.open.t !== minute) {
      track.points.push(close(track.open));
      // Minutes without a sample (master busy, no scrape) show as empty, not as missing.
      const first = Math.max(track.open.t + MINUTE_MS, minute - (this.minutes - 1) * MINUTE_MS);
      for (let t = first; t < minute; t += MINUTE_MS) {
        track.points.push({ t, calls: 0, failures: 0, p50Ms: 0, p99Ms: 0 });
      }
      track.open = undefined;
      const keep = this.minutes - 1;
      if (track.points.length > keep) track.points.splice(0, track.points.length - keep);
    }
    track.open ??= { t: minute, ...emptyDelta() };
    track.open.calls += d.calls;
    track.open.failures += d.failures;
    for (let i = 0; i < d.buckets.length; i++) track.open.buckets[i]! += d.buckets[i]!;
    track.rate = lastAt !== undefined && at > lastAt ? (d.calls * 1000) / (at - lastAt) : 0;
  }
}

// --- internal ---

const MINUTE_MS = 60_000;
const DEFAULT_MINUTES = 60;

interface Delta {
  calls: number;
  failures: number;
  buckets: number[];
}

interface Track {
  /** Cumulative totals at the previous sample. */
  prev: MethodStats | undefined;
  /** The running minute. */
  open: (Delta & { t: number }) | undefined;
  /** Closed minutes, oldest first. */
  points: HistoryPoint[];
  rate: number;
}

interface Side {
  tracks: Map<string, Track>;
  lastAt: number | undefined;
}

function emptyDelta(): Delta {
  return { calls: 0, failures: 0, buckets: new Array(LATENCY_BUCKETS_MS.length + 1).fill(0) };
}

function delta(cur: MethodStats, prev: MethodStats | undefined): Delta {
  const calls = completed(cur) - (prev ? completed(prev) : 0);
  // Totals never go down (see ServerTotals); if they did, start over from this sample.
  if (prev && calls < 0) return delta(cur, undefined);
  return {
    calls,
    failures: calls - (cur.successes - (prev?.successes ?? 0)),
    buckets: cur.buckets.map((n, i) => n - (prev?.buckets[i] ?? 0)),
  };
}

function close(open: Delta & { t: number }): HistoryPoint {
  return {
    t: open.t,
    calls: open.calls,
    failures: open.failures,
    p50Ms: round(quantileMs(open.buckets, 0.5)),
    p99Ms: round(quantileMs(open.buckets, 0.99)),
  };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
