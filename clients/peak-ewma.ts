/**
 * A latency estimate that jumps to a peak at once and comes down gradually (Finagle's and
 * Linkerd's Peak EWMA): a sample above the estimate replaces it; a sample below moves it by
 * {@link SAMPLE_WEIGHT} of the way; and time without samples decays it toward zero with the time
 * constant `decayMs`, so an address nobody picked for a while looks cheap again and gets a
 * call that measures it anew.
 *
 * Finagle weighs a sample by the time since the previous one only: at thousands of calls per
 * second one peak (a GC pause) then weighs on a fast address for seconds, and on a shared
 * machine such peaks are frequent. Here each sample also weighs at least {@link SAMPLE_WEIGHT},
 * so a busy address is back to its true latency a few dozen calls after a peak.
 *
 * Pure: time is passed in; no timers.
 */

/** Weight of one sample below the estimate. */
export const SAMPLE_WEIGHT = 0.1;

/** One address's latency estimate, in milliseconds. */
export class PeakEwma {
  private cost = 0;
  private stamp: number;
  /** Samples observed; 0 means nothing is known yet. */
  samples = 0;

  /**
   * @param decayMs time constant of the decay toward zero while no sample arrives
   * @param now the clock reading the estimate starts at
   */
  constructor(
    private readonly decayMs: number,
    now: number,
  ) {
    this.stamp = now;
  }

  /** Adds one latency sample taken at `now`. */
  observe(rttMs: number, now: number): void {
    this.decay(now);
    this.samples++;
    if (rttMs > this.cost) this.cost = rttMs;
    else this.cost += (rttMs - this.cost) * SAMPLE_WEIGHT;
  }

  /**
   * A lower bound of a latency (a call cancelled or timed out after `rttMs`): raises the
   * estimate when it is above it, and is otherwise no evidence at all.
   */
  observeAtLeast(rttMs: number, now: number): void {
    this.decay(now);
    if (rttMs > this.cost) {
      this.cost = rttMs;
      this.samples++;
    }
  }

  /** The estimate at `now`. */
  get(now: number): number {
    this.decay(now);
    return this.cost;
  }

  // --- internal ---

  private decay(now: number): void {
    const elapsed = now - this.stamp;
    if (elapsed <= 0) return;
    this.cost *= Math.exp(-elapsed / this.decayMs);
    this.stamp = now;
  }
}
