/**
 * A method's recent latency distribution, for backup requests sent "after the p99": a
 * log-scale histogram (buckets 10 % apart, 0.05 ms to over a minute) over a sliding window of
 * two halves, so what is older than one to two windows is forgotten. The percentile is
 * recomputed at most every {@link RECOMPUTE_EVERY} samples, so a call pays one bucket increment.
 *
 * Pure: time is passed in; no timers.
 */

/** Recent latencies of one method. */
export class LatencyWindow {
  private current = new Uint32Array(BUCKETS);
  private previous = new Uint32Array(BUCKETS);
  private currentCount = 0;
  private previousCount = 0;
  private halfStart: number;
  /** The last percentile computed, and of which `q`. */
  private cached: number | undefined;
  private cachedQ = -1;
  private sinceCompute = 0;

  /**
   * @param windowMs how far back samples count (each half lasts `windowMs / 2`)
   * @param now the clock reading the window starts at
   */
  constructor(
    private readonly windowMs: number,
    now: number,
  ) {
    this.halfStart = now;
  }

  /** Adds one latency sample. */
  record(ms: number, now: number): void {
    this.rotate(now);
    this.current[bucketOf(ms)]!++;
    this.currentCount++;
    this.sinceCompute++;
  }

  /**
   * The latency under which `q` (e.g. 0.99) of the recent samples fell, as the upper edge of
   * its bucket; undefined while fewer than `minSamples` are known.
   */
  percentile(q: number, now: number, minSamples = MIN_SAMPLES): number | undefined {
    this.rotate(now);
    const total = this.currentCount + this.previousCount;
    if (total < minSamples) return undefined;
    if (this.cached !== undefined && this.cachedQ === q && this.sinceCompute < RECOMPUTE_EVERY) return this.cached;
    const rank = Math.ceil(q * total);
    let seen = 0;
    let i = 0;
    for (; i < BUCKETS - 1; i++) {
      seen += this.current[i]! + this.previous[i]!;
      if (seen >= rank) break;
    }
    this.cached = upperEdge(i);
    this.cachedQ = q;
    this.sinceCompute = 0;
    return this.cached;
  }

  /** Samples in the window now. */
  count(now: number): number {
    this.rotate(now);
    return this.currentCount + this.previousCount;
  }

  // --- internal ---

  private rotate(now: number): void {
    const half = this.windowMs / 2;
    if (now - this.halfStart < half) return;
    if (now - this.halfStart >= 2 * half) {
      this.previous.fill(0);
      this.previousCount = 0;
    } else {
      [this.previous, this.current] = [this.current, this.previous];
      this.previousCount = this.currentCount;
    }
    this.current.fill(0);
    this.currentCount = 0;
    this.halfStart = now;
    this.cached = undefined;
  }
}

// --- internal ---

/** Lower edge of bucket 0, in ms. */
const BASE_MS = 0.05;
/** Bucket width ratio. */
const GROWTH = 1.1;
const LOG_GROWTH = Math.log(GROWTH);
/** 0.05 ms × 1.1^160 ≈ 200 s: anything longer lands in the last bucket. */
const BUCKETS = 161;
/** Samples needed before a percentile means anything. */
const MIN_SAMPLES = 100;
const RECOMPUTE_EVERY = 64;

function bucketOf(ms: number): number {
  if (!(ms > BASE_MS)) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / BASE_MS) / LOG_GROWTH));
}

function upperEdge(bucket: number): number {
  return BASE_MS * GROWTH ** bucket;
}
