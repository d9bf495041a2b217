/**
 * Per-method call figures kept inside a worker: counters and a fixed-bucket latency histogram.
 * The hot path touches preallocated numbers only; snapshots are copied out on request.
 */
import { type FailureRecord, LATENCY_BUCKETS_MS, type MethodStats } from '../host/ipc.js';

/** Failure kinds that are not declared exceptions. */
export type FailureKind = 'INTERNAL_ERROR' | 'UNKNOWN_METHOD' | 'PROTOCOL_ERROR' | (string & {});

/** Mutable figures of one method. */
export class MethodCounter {
  calls = 0;
  successes = 0;
  inFlight = 0;
  totalMs = 0;
  readonly failures: Record<string, number> = {};
  readonly buckets: number[] = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
  /** Admission-queue waits of the calls that ran; made on first use. */
  queueBuckets: number[] | undefined;
  queueTotalMs = 0;

  /**
   * @param key `Service.method`, named in failure records
   * @param failureLog where failures are also written; none for a standalone counter
   */
  constructor(
    readonly key = '',
    private readonly failureLog?: FailureLog,
  ) {}

  /** Marks a call started; returns the start time to hand back to {@link end}. */
  begin(): number {
    this.calls++;
    this.inFlight++;
    return performance.now();
  }

  /**
   * Records a finished call: `failure` undefined means success. `error`, when given, lends its
   * message to the failure log.
   */
  end(startedAt: number, failure?: FailureKind, error?: unknown): void {
    const ms = performance.now() - startedAt;
    this.inFlight--;
    this.totalMs += ms;
    this.buckets[latencyBucket(ms)]!++;
    if (failure === undefined) this.successes++;
    else {
      this.failures[failure] = (this.failures[failure] ?? 0) + 1;
      this.failureLog?.add(this.key, failure, error);
    }
  }

  /** Records how long a call that is about to run waited for admission. */
  queued(ms: number): void {
    (this.queueBuckets ??= new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0))[latencyBucket(ms)]!++;
    this.queueTotalMs += ms;
  }

  /** Counts a call that failed before reaching a handler (unknown method, protocol error). */
  reject(failure: FailureKind): void {
    this.calls++;
    this.buckets[0]!++;
    this.failures[failure] = (this.failures[failure] ?? 0) + 1;
    this.failureLog?.add(this.key, failure, undefined);
  }

  snapshot(): MethodStats {
    return {
      calls: this.calls,
      successes: this.successes,
      failures: { ...this.failures },
      totalMs: this.totalMs,
      buckets: [...this.buckets],
      inFlight: this.inFlight,
      ...(this.queueBuckets ? { queueBuckets: [...this.queueBuckets], queueTotalMs: this.queueTotalMs } : {}),
    };
  }
}

/** The counters of every method a worker serves, keyed `Service.method`. */
export class StatsRegistry {
  /** The last failures of every method, for the dashboard. */
  readonly failureLog = new FailureLog();
  private readonly byKey = new Map<string, MethodCounter>();

  /** The counter for `key`, created on first use (at load time for known methods). */
  counter(key: string): MethodCounter {
    let c = this.byKey.get(key);
    if (!c) {
      c = new MethodCounter(key, this.failureLog);
      this.byKey.set(key, c);
    }
    return c;
  }

  snapshot(): Record<string, MethodStats> {
    const out: Record<string, MethodStats> = {};
    for (const [key, c] of this.byKey) out[key] = c.snapshot();
    return out;
  }
}

/**
 * A fixed-size ring of the latest failed calls. Written only on the failure path, so the
 * success path stays allocation-free.
 */
export class FailureLog {
  private readonly ring: (FailureRecord | undefined)[];
  private seq = 0;

  /** @param size records kept @default 32 */
  constructor(readonly size = 32) {
    this.ring = new Array(size);
  }

  add(method: string, kind: string, error: unknown): void {
    const message =
      error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error)
        ? String((error as { message: unknown }).message ?? '').slice(0, FAILURE_MESSAGE_CHARS)
        : '';
    this.ring[this.seq % this.size] = { at: Date.now(), seq: this.seq, method, kind, message };
    this.seq++;
  }

  /** The records kept, oldest first. */
  recent(): FailureRecord[] {
    const out: FailureRecord[] = [];
    for (let s = Math.max(0, this.seq - this.size); s < this.seq; s++) out.push(this.ring[s % this.size]!);
    return out;
  }
}

/**
 * Finds quantile `q` (0..1) in histogram buckets: the index of the bucket holding it (the last
 * index is the overflow bucket, over 10 s) and how far into that bucket's calls it falls (0..1];
 * undefined when the histogram is empty.
 */
export function quantileBucket(
  buckets: readonly number[],
  q: number,
): { index: number; fraction: number } | undefined {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i]!;
    if (seen + n >= rank && n > 0) return { index: i, fraction: (rank - seen) / n };
    seen += n;
  }
  return { index: buckets.length - 1, fraction: 1 };
}

/**
 * Estimates a quantile (0..1) from histogram buckets, in milliseconds: the upper bound of
 * the bucket holding the quantile, interpolated linearly inside it.
 */
export function quantileMs(buckets: readonly number[], q: number): number {
  const at = quantileBucket(buckets, q);
  if (!at) return 0;
  const lo = at.index === 0 ? 0 : LATENCY_BUCKETS_MS[at.index - 1]!;
  const hi = LATENCY_BUCKETS_MS[at.index] ?? lo * 2;
  return lo + (hi - lo) * at.fraction;
}

/** Index of the {@link LATENCY_BUCKETS_MS} bucket a latency falls in (the last one: over 10 s). */
export function latencyBucket(ms: number): number {
  // Linear scan: 17 bounds, and most calls land in the first few.
  let i = 0;
  while (i < LATENCY_BUCKETS_MS.length && ms > LATENCY_BUCKETS_MS[i]!) i++;
  return i;
}

/** Adds `b` into `a` (for aggregating workers). */
export function mergeMethodStats(a: MethodStats, b: MethodStats): MethodStats {
  const failures = { ...a.failures };
  for (const [k, v] of Object.entries(b.failures)) failures[k] = (failures[k] ?? 0) + v;
  return {
    calls: a.calls + b.calls,
    successes: a.successes + b.successes,
    failures,
    totalMs: a.totalMs + b.totalMs,
    buckets: a.buckets.map((n, i) => n + (b.buckets[i] ?? 0)),
    inFlight: a.inFlight + b.inFlight,
    ...mergeQueue(a, b),
  };
}

// --- internal ---

function mergeQueue(a: MethodStats, b: MethodStats): Pick<MethodStats, 'queueBuckets' | 'queueTotalMs'> {
  if (!a.queueBuckets && !b.queueBuckets) return {};
  const into = a.queueBuckets ?? new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  return {
    queueBuckets: into.map((n, i) => n + (b.queueBuckets?.[i] ?? 0)),
    queueTotalMs: (a.queueTotalMs ?? 0) + (b.queueTotalMs ?? 0),
  };
}

/** Failure messages are cut to this length: enough to recognise, too short to dump payloads. */
const FAILURE_MESSAGE_CHARS = 200;
